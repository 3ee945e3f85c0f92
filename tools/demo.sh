#!/bin/sh
# Install the dependencies, build onnxc, compile the small model shipped in
# examples/tiny and run it on its sample inputs, checking the outputs
# against PyTorch's.
set -eu
cd "$(dirname "$0")/.."
sh tools/install-deps.sh
cmake -S . -B build > /dev/null
cmake --build build -j"$(nproc)" --target onnxc
set -x
./build/onnxc compile examples/tiny/model.onnx -o build/tiny/libtiny.so \
    --dim batch=1 --dim seq_len=8
./build/onnxc run build/tiny/libtiny.so \
    -i input_ids=examples/tiny/input_ids.npy \
    -i attention_mask=examples/tiny/attention_mask.npy \
    -o build/tiny/out \
    --expect last_hidden_state=examples/tiny/last_hidden_state.npy \
    --expect pooler_output=examples/tiny/pooler_output.npy
