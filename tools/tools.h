/*
 * The onnxc command-line tool: shared declarations of its commands and of
 * tensor file input and output.
 */
#ifndef ONNXC_TOOLS_H
#define ONNXC_TOOLS_H

#include "../ir/ir.h"

/* A tensor read from or written to a file. */
struct tool_tensor {
    enum ir_dtype dtype;
    struct ir_shape shape; /* static */
    void *data;            /* malloc'd, row-major */
    size_t nbytes;
};

/* ---- npy.c ---- */

/* Read a .npy file (or an ONNX TensorProto .pb file by its extension). */
int tool_read_tensor(const char *path, struct tool_tensor *t);
int tool_write_npy(const char *path, const struct tool_tensor *t);
void tool_tensor_free(struct tool_tensor *t);

/*
 * Compare got with want: |got - want| <= atol + rtol * |want| per element,
 * NaN matching NaN and infinities matching exactly; integers and booleans
 * exactly.  Prints the first mismatches under label and returns 0 when all
 * match.  max_err receives the largest absolute difference.
 */
int tool_compare(const char *label, const struct tool_tensor *got,
                 const struct tool_tensor *want, double rtol, double atol,
                 double *max_err);

/* ---- the commands ---- */

int tool_compile_main(int argc, char **argv);
int tool_run_main(int argc, char **argv);
int tool_test_onnx_main(int argc, char **argv);
int tool_opt_main(int argc, char **argv);

/* ---- compile.c: shared by compile and test-onnx ---- */

struct tool_dim {
    const char *name;
    int64_t value;
};

#endif
