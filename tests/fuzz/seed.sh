#!/bin/sh
# Fill a fuzz corpus folder with real models: examples/tiny, the trap cases
# in ../shared/cases (or $ONNXC_CASES_DIR), and every fourth model of at
# most 8 KiB from the ONNX backend node tests, if they are installed.
#
#   sh tests/fuzz/seed.sh CORPUS_DIR
set -eu

if [ $# -ne 1 ]; then
    echo "usage: seed.sh CORPUS_DIR" >&2
    exit 2
fi
out=$1
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cases=${ONNXC_CASES_DIR:-$root/../shared/cases}
node_tests=${ONNXC_NODE_TESTS:-/usr/share/libonnx-testdata/data/node}
mkdir -p "$out"

cp "$root/examples/tiny/model.onnx" "$out/tiny.onnx"
for model in "$cases"/*/model.onnx; do
    [ -f "$model" ] || continue
    name=$(basename "$(dirname "$model")")
    cp "$model" "$out/case-$name.onnx"
done
i=0
for model in "$node_tests"/*/model.onnx; do
    [ -f "$model" ] || continue
    i=$((i + 1))
    [ $((i % 4)) -eq 0 ] || continue
    [ "$(wc -c < "$model")" -le 8192 ] || continue
    name=$(basename "$(dirname "$model")")
    cp "$model" "$out/node-$name.onnx"
done
echo "seed.sh: $(ls "$out" | wc -l) models in $out"
