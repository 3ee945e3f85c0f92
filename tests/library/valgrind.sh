#!/bin/sh
# Run one end-to-end compile and run of examples/tiny under valgrind's
# memcheck.  Any invalid read or write, use of uninitialised memory, or
# definite, indirect or possible leak fails it.  Blocks still reachable at
# exit, such as LLVM's static objects, are not reported.
#
# With TEST_LIBRARY, the path of the built test_library, helgrind then
# checks its sessions on two threads for data races.
# NOTE: helgrind does not model C11 atomics, so it can report the thread
# pool's lock-free spin on its job counter as a race; read such reports
# against runtime/pool.c.  That run uses the
# library compiled under memcheck, where LLVM detects valgrind's virtual
# CPU.  That CPU lacks AVX-512, which valgrind 3.19 cannot run.
#
#   sh tests/library/valgrind.sh ONNXC TINY_MODEL_DIR WORK_DIR [TEST_LIBRARY]
set -eu

if [ $# -ne 3 ] && [ $# -ne 4 ]; then
    echo "usage: valgrind.sh ONNXC TINY_MODEL_DIR WORK_DIR [TEST_LIBRARY]" >&2
    exit 2
fi
onnxc=$1
tiny=$2
work=$3
test_library=${4:-}
mkdir -p "$work"

memcheck() {
    valgrind --quiet --error-exitcode=1 --leak-check=full \
        --show-leak-kinds=definite,indirect,possible \
        --errors-for-leak-kinds=definite,indirect,possible "$@"
}

# -O0 skips LLVM's optimisation pipeline, which is LLVM's code, not
# onnxc's: natively it cuts the compile from about 4.8 s to 0.5 s of CPU.
memcheck "$onnxc" compile "$tiny/model.onnx" -o "$work/libtiny.so" \
    --name tiny --dim batch=1 --dim seq_len=8 -O0
memcheck "$onnxc" run "$work/libtiny.so" \
    -i "input_ids=$tiny/input_ids.npy" \
    -i "attention_mask=$tiny/attention_mask.npy" -o "$work/out"
echo "valgrind: compile and run of examples/tiny are clean"

if [ -n "$test_library" ]; then
    # test_library finds libtiny.so through its RUNPATH, which
    # LD_LIBRARY_PATH overrides.
    LD_LIBRARY_PATH="$work" valgrind --quiet --tool=helgrind \
        --error-exitcode=1 "$test_library" "$tiny"
    echo "valgrind: helgrind found no data race in test_library"
fi
