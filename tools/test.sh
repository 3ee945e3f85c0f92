#!/bin/sh
# Install the dependencies, build onnxc and run every test, then build it
# again with AddressSanitizer and UBSan and run the tests once more, and
# last run each libFuzzer target for 30 seconds.  Set ONNXC_SKIP_SANITIZE=1
# or ONNXC_SKIP_FUZZ=1 to skip those stages.
set -eu
cd "$(dirname "$0")/.."
sh tools/install-deps.sh
jobs="$(nproc)"

sh tools/check-format.sh

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs")

if [ "${ONNXC_SKIP_SANITIZE:-0}" != 1 ]; then
    cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DONNXC_SANITIZE=ON \
        > /dev/null
    cmake --build build-asan -j"$jobs"
    (cd build-asan && ASAN_OPTIONS=detect_leaks=1 \
        ctest --output-on-failure -j"$jobs")
fi

if [ "${ONNXC_SKIP_FUZZ:-0}" != 1 ]; then
    CC=clang-19 cmake -S . -B build-fuzz -DONNXC_FUZZ=ON > /dev/null
    cmake --build build-fuzz -j"$jobs" --target fuzz_load fuzz_mutate
    (cd build-fuzz && ctest --output-on-failure -L fuzz)
fi
