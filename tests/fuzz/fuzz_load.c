/*
 * libFuzzer target: arbitrary bytes as an ONNX model file.  Finds crashes
 * in protobuf decoding, the frontend and the passes on inputs that are
 * barely models at all.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_compile_model(data, size);
    return 0;
}
