/*
 * Kernels of the shape and data-movement ops (Reshape, Transpose, Concat,
 * Slice, Gather, Pad, ...) and the generators (Range, EyeLike, ...).  Each
 * kernel documents its ints/floats layout above its definition.
 */
#ifndef ONNXC_K_SHAPE_H
#define ONNXC_K_SHAPE_H

#include "rt.h"

/* k_shape.c: copies, views and padding. */
int rt_kernel_shape_copy(struct rt_ctx *ctx, const struct rt_node *node,
                         void *const *bufs);
int rt_kernel_transpose(struct rt_ctx *ctx, const struct rt_node *node,
                        void *const *bufs);
int rt_kernel_depth_to_space(struct rt_ctx *ctx, const struct rt_node *node,
                             void *const *bufs);

/* The layout of rt_kernel_depth_to_space, its ints[0]. */
enum rt_depth_mode {
    RT_DEPTH_TO_SPACE_DCR = 0, /* depth, column, row: the default */
    RT_DEPTH_TO_SPACE_CRD = 1, /* column, row, depth */
    RT_SPACE_TO_DEPTH = 2,
};
int rt_kernel_concat(struct rt_ctx *ctx, const struct rt_node *node,
                     void *const *bufs);
int rt_kernel_split(struct rt_ctx *ctx, const struct rt_node *node,
                    void *const *bufs);
int rt_kernel_slice(struct rt_ctx *ctx, const struct rt_node *node,
                    void *const *bufs);
int rt_kernel_expand(struct rt_ctx *ctx, const struct rt_node *node,
                     void *const *bufs);
int rt_kernel_tile(struct rt_ctx *ctx, const struct rt_node *node,
                   void *const *bufs);
int rt_kernel_pad(struct rt_ctx *ctx, const struct rt_node *node,
                  void *const *bufs);

/* k_shape_index.c: ops driven by index tensors. */
int rt_kernel_gather(struct rt_ctx *ctx, const struct rt_node *node,
                     void *const *bufs);
int rt_kernel_gather_elements(struct rt_ctx *ctx, const struct rt_node *node,
                              void *const *bufs);
int rt_kernel_gather_nd(struct rt_ctx *ctx, const struct rt_node *node,
                        void *const *bufs);
int rt_kernel_scatter_elements(struct rt_ctx *ctx, const struct rt_node *node,
                               void *const *bufs);
int rt_kernel_scatter_nd(struct rt_ctx *ctx, const struct rt_node *node,
                         void *const *bufs);
int rt_kernel_one_hot(struct rt_ctx *ctx, const struct rt_node *node,
                      void *const *bufs);

/* k_shape_gen.c: tensors made from shapes, scalars and attributes. */
int rt_kernel_shape(struct rt_ctx *ctx, const struct rt_node *node,
                    void *const *bufs);
int rt_kernel_size(struct rt_ctx *ctx, const struct rt_node *node,
                   void *const *bufs);
int rt_kernel_constant_of_shape(struct rt_ctx *ctx, const struct rt_node *node,
                                void *const *bufs);
int rt_kernel_range(struct rt_ctx *ctx, const struct rt_node *node,
                    void *const *bufs);
int rt_kernel_trilu(struct rt_ctx *ctx, const struct rt_node *node,
                    void *const *bufs);
int rt_kernel_eye_like(struct rt_ctx *ctx, const struct rt_node *node,
                       void *const *bufs);
int rt_kernel_window(struct rt_ctx *ctx, const struct rt_node *node,
                     void *const *bufs);
int rt_kernel_reverse_sequence(struct rt_ctx *ctx, const struct rt_node *node,
                               void *const *bufs);

/* The window of rt_kernel_window, its ints[0]. */
enum rt_window {
    RT_WINDOW_HANN = 0,
    RT_WINDOW_HAMMING = 1,
    RT_WINDOW_BLACKMAN = 2,
};

/* Reduction codes of ScatterElements and ScatterND (their second int). */
enum rt_scatter_reduction {
    RT_SCATTER_NONE = 0,
    RT_SCATTER_ADD = 1,
    RT_SCATTER_MUL = 2,
    RT_SCATTER_MAX = 3,
    RT_SCATTER_MIN = 4,
};

/* Pad modes (Pad's first int). */
enum rt_pad_mode {
    RT_PAD_CONSTANT = 0,
    RT_PAD_REFLECT = 1,
    RT_PAD_EDGE = 2,
    RT_PAD_WRAP = 3,
};

/* Write n copies of the esize-byte element at elem to dst. */
void rt_shape_fill(void *dst, const void *elem, size_t esize, int64_t n);

/* Bytes a copy task should move at least, so waking a thread pays off. */
#define RT_SHAPE_TASK_BYTES (128 * 1024)

/*
 * The number of tasks, at most max_tasks, to split a copy of bytes into
 * on pool: 1 without a pool, else up to 4 per thread.
 */
int64_t rt_shape_tasks(struct rt_pool *pool, int64_t bytes, int64_t max_tasks);

#endif
