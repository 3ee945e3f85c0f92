#!/bin/sh
# Run one fuzz target for a fixed time on one core.
#
#   sh tests/fuzz/run.sh TARGET SECONDS [LIBFUZZER_FLAG...]
#
# TARGET is fuzz_load or fuzz_mutate.  The corpus lives in
# $ONNXC_FUZZ_WORK/corpus-TARGET and is seeded by seed.sh the first time;
# crashes go to $ONNXC_FUZZ_WORK/artifacts-TARGET/.  ONNXC_FUZZ_BIN is the
# folder of the built targets (build-fuzz/tests/fuzz by default).  Exits 0
# when the time ran out without a crash, non-zero otherwise.
set -eu

if [ $# -lt 2 ]; then
    echo "usage: run.sh TARGET SECONDS [LIBFUZZER_FLAG...]" >&2
    exit 2
fi
target=$1
seconds=$2
shift 2

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${ONNXC_FUZZ_BIN:-$root/build-fuzz/tests/fuzz}
work=${ONNXC_FUZZ_WORK:-$root/build-fuzz/fuzz-work}
corpus=$work/corpus-$target
artifacts=$work/artifacts-$target

if [ ! -x "$bin/$target" ]; then
    echo "run.sh: no fuzz target '$bin/$target'; build it with" \
         "-DONNXC_FUZZ=ON first" >&2
    exit 2
fi
mkdir -p "$corpus" "$artifacts"
if [ -z "$(ls -A "$corpus")" ]; then
    sh "$here/seed.sh" "$corpus"
fi

# allocator_may_return_null: a model that claims a huge tensor must get an
# error from onnxc's own checks, which a NULL from malloc also reaches.
export ASAN_OPTIONS="${ASAN_OPTIONS:-allocator_may_return_null=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
exec "$bin/$target" "$corpus" \
    -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 \
    -max_len=262144 -dict="$here/onnx.dict" \
    -artifact_prefix="$artifacts/" -print_final_stats=1 "$@"
