#!/bin/sh
# Compile the tiny model twice under two prefixes and link both libraries
# into one C program, which runs each.
# Usage: check_two_models.sh ONNXC MODEL SOURCE WORK_DIR
set -eu
onnxc=$1 model=$2 source=$3 work=$4
mkdir -p "$work"
"$onnxc" compile "$model" -o "$work/libfirst.so" --name first \
    --dim batch=1 --dim seq_len=8
"$onnxc" compile "$model" -o "$work/libsecond.so" --name second \
    --dim batch=1 --dim seq_len=5
cc -Wall -Wextra -Werror -I"$work" -o "$work/two_models" "$source" \
    -L"$work" -lfirst -lsecond -Wl,-rpath,"$work"
"$work/two_models"
