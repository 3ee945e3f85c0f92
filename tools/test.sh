#!/bin/sh
# Install the dependencies, build onnxc and run every test, then build it
# again with AddressSanitizer and UBSan and run the tests once more.
# Set ONNXC_SKIP_SANITIZE=1 to skip the sanitizer build.
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
