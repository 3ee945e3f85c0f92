/*
 * The ONNX frontend: loads a ModelProto into an IR graph in the one form the
 * passes expect, whatever opset the model was written against, and reads
 * TensorProto files such as the ONNX backend test data.  Only the frontend's
 * .c files see protobuf-c; this header needs only the IR.
 */
#ifndef ONNXC_FRONTEND_H
#define ONNXC_FRONTEND_H

#include <stddef.h>
#include <stdint.h>

#include "../ir/ir.h"

/*
 * The newest IR version and default-domain opset that onnxc accepts (those
 * of ONNX 1.20).  A newer model is rejected, not guessed at, because a
 * newer opset can change what an op means.
 */
#define FE_MAX_IR_VERSION 13
#define FE_MAX_OPSET 25

/*
 * Load an ONNX model file into a new IR graph.  External data is read
 * relative to the file's folder.  Returns NULL after printing an error.
 */
struct ir_graph *fe_load_model(const char *path);

/* The length of the sequence graph input called name. */
struct fe_seq_len {
    const char *name;
    int64_t len;
};

/* A tensor graph input to load as a constant with this data (copied). */
struct fe_constant {
    const char *name;
    enum ir_dtype dtype;
    struct ir_shape shape;
    const void *data;
    size_t nbytes;
};

/*
 * Load options: the compile-time structure of sequence and optional
 * graph inputs.  Each sequence input needs a length, and becomes one tensor
 * input per element, named "x[0]", "x[1]", ...  An optional input is
 * present, with its value as input, unless absent lists its name.
 * constants turns tensor inputs into constants, for inputs that sequence
 * ops read as positions while loading.
 */
struct fe_options {
    const struct fe_seq_len *seq_lens;
    int n_seq_lens;
    const char *const *absent;
    int n_absent;
    const struct fe_constant *constants;
    int n_constants;
};

/* fe_load_model with options; NULL options are the same as none. */
struct ir_graph *fe_load_model_with(const char *path,
                                    const struct fe_options *opts);

/* The kind of an ONNX value, as a graph input or output declares it. */
enum fe_value_kind {
    FE_KIND_TENSOR,
    FE_KIND_SEQUENCE,          /* a sequence of tensors */
    FE_KIND_OPTIONAL_TENSOR,   /* an optional tensor */
    FE_KIND_OPTIONAL_SEQUENCE, /* an optional sequence of tensors */
    FE_KIND_OTHER,             /* a map, sparse tensor or deeper nesting */
};

/* A graph input or output: its name (malloc'd) and declared kind. */
struct fe_io {
    char *name;
    enum fe_value_kind kind;
};

/*
 * Read the graph inputs (leaving out those with an initializer) and the
 * graph outputs that the model at path declares, without building a
 * graph.  Returns 0, or -1 after an error.  Free the lists with
 * fe_io_free.
 */
int fe_model_io(const char *path, struct fe_io **inputs, int *n_inputs,
                struct fe_io **outputs, int *n_outputs);
void fe_io_free(struct fe_io *io, int n);

/* A tensor read from a data file. */
struct fe_tensor {
    enum ir_dtype dtype;
    struct ir_shape shape;
    void *data; /* malloc'd, row-major, native byte order */
    size_t nbytes;
};

/*
 * Read a SequenceProto file (kind FE_KIND_SEQUENCE) or an OptionalProto
 * file (FE_KIND_OPTIONAL_*) of tensors.  Sets *elems to a malloc'd array
 * of *n tensors and *present to whether an optional contains a value.  An
 * absent optional has no tensors, and an optional tensor has one.
 * Returns 0, or -1 after an error.
 */
int fe_load_value_file(const char *path, enum fe_value_kind kind,
                       struct fe_tensor **elems, int *n, bool *present);

/*
 * Load a model from memory.  base_dir is the folder that external data
 * paths are relative to, or NULL to reject models with external data.
 * display_name names the model in messages.  Returns NULL after an error.
 */
struct ir_graph *fe_load_model_buffer(const uint8_t *data, size_t size,
                                      const char *base_dir,
                                      const char *display_name);

/*
 * Read a TensorProto file.  Returns 0 and sets dtype, shape, data (malloc'd,
 * row-major, native byte order) and nbytes, or returns -1 after an error.
 * name_out, unless NULL, receives a malloc'd copy of TensorProto.name or
 * NULL when the tensor has no name.
 */
int fe_load_tensor_file(const char *path, enum ir_dtype *dtype,
                        struct ir_shape *shape, void **data, size_t *nbytes,
                        char **name_out);

#endif
