#!/bin/sh
# Install what onnxc needs to build and test, from Debian 12's archive.
set -eu
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
    cmake make gcc libc6-dev \
    llvm-19-dev llvm-19-tools clang-19 clang-format-19 \
    libprotobuf-c-dev protobuf-c-compiler libonnx-dev libonnx-testdata \
    python3 python3-numpy python3-onnx python3-torch \
    valgrind libclang-rt-19-dev \
    > /dev/null
