/*
 * What both fuzz targets do with one input: load it as a model, bind every
 * symbolic dim and run the pass pipeline.  When the pipeline reports
 * success but leaves an invalid graph or a value without a static shape,
 * the target aborts, because code generation would trust that IR.
 */
#ifndef ONNXC_FUZZ_COMMON_H
#define ONNXC_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* Size every symbolic dim is bound to: small, so kernels fold quickly. */
#define FUZZ_DIM 2

/* Compile data up to the end of the passes.  Aborts on a broken result. */
void fuzz_compile_model(const uint8_t *data, size_t size);

#endif
