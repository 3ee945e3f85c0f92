/*
 * What both fuzz targets do with one input: load it as a model, bind every
 * symbolic dim, run the pass pipeline, and abort when a run that reported
 * success left the IR in a state that code generation would trust but
 * should not (an invalid graph or a value without a static shape).
 */
#ifndef ONNXC_FUZZ_COMMON_H
#define ONNXC_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* Size every symbolic dim is bound to: small, so kernels fold quickly. */
#define FUZZ_DIM 2

/* Compile data up to the end of the passes; every failure is a clean one. */
void fuzz_compile_model(const uint8_t *data, size_t size);

#endif
