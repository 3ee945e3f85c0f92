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
 * of ONNX 1.17).  A newer model is rejected, not guessed at, because a
 * newer opset can change what an op means.
 */
#define FE_MAX_IR_VERSION 10
#define FE_MAX_OPSET 22

/*
 * Load an ONNX model file into a new IR graph.  External data is read
 * relative to the file's folder.  Returns NULL after printing an error.
 */
struct ir_graph *fe_load_model(const char *path);

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
