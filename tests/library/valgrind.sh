#!/bin/sh
# Run one end-to-end compile and run of examples/tiny under valgrind's
# memcheck: any invalid read or write, use of uninitialised memory, or
# definite or indirect leak fails it.  "Possibly lost" blocks are listed
# but do not fail it, because LLVM keeps static objects alive until exit.
#
#   sh tests/library/valgrind.sh ONNXC TINY_MODEL_DIR WORK_DIR
set -eu

if [ $# -ne 3 ]; then
    echo "usage: valgrind.sh ONNXC TINY_MODEL_DIR WORK_DIR" >&2
    exit 2
fi
onnxc=$1
tiny=$2
work=$3
mkdir -p "$work"

memcheck() {
    valgrind --quiet --error-exitcode=1 --leak-check=full \
        --show-leak-kinds=definite,indirect,possible \
        --errors-for-leak-kinds=definite,indirect "$@"
}

# -O0 skips LLVM's optimisation pipeline, which is LLVM's code, not
# onnxc's, and takes nine tenths of the time under valgrind.
memcheck "$onnxc" compile "$tiny/model.onnx" -o "$work/libtiny.so" \
    --name tiny --dim batch=1 --dim seq_len=8 -O0
memcheck "$onnxc" run "$work/libtiny.so" \
    -i "input_ids=$tiny/input_ids.npy" \
    -i "attention_mask=$tiny/attention_mask.npy" -o "$work/out"
echo "valgrind: compile and run of examples/tiny are clean"
