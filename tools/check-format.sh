#!/bin/sh
# Fail when a C source file differs from what clang-format makes of it.
set -eu
cd "$(dirname "$0")/.."
format="$(command -v clang-format-19 || command -v clang-format)"
status=0
for f in $(git ls-files '*.c' '*.h'); do
    if ! "$format" --style=file "$f" | cmp -s - "$f"; then
        echo "not formatted: $f (run $format -i $f)"
        status=1
    fi
done
exit $status
