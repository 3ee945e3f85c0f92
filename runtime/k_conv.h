/*
 * Kernels of the convolution group: Conv (k_conv.c), MaxPool and
 * AveragePool (k_pool.c).  All three slide a window over the spatial dims
 * of an [N, C, D1, ..., Dn] tensor, and their parameters start with the
 * same block that describes that window (see struct rt_window).
 */
#ifndef ONNXC_K_CONV_H
#define ONNXC_K_CONV_H

#include "rt.h"

enum {
    RT_WINDOW_MAX_DIMS = RT_MAX_RANK - 2, /* spatial dims after N and C */
    RT_WINDOW_DIM_INTS = 7,               /* ints per spatial dim */
};

/*
 * The window geometry, as the first 1 + 7 n ints of a kernel's
 * parameters: n, then for each spatial dim i the input size, output size,
 * kernel size, stride, dilation, begin pad and end pad.  Output position
 * o along dim i reads the input at o * stride - pad_begin + t * dilation
 * for taps t in [0, kernel).  Positions outside [0, in) are padding.
 */
struct rt_window {
    int n;
    int64_t in[RT_WINDOW_MAX_DIMS];
    int64_t out[RT_WINDOW_MAX_DIMS];
    int64_t kernel[RT_WINDOW_MAX_DIMS];
    int64_t stride[RT_WINDOW_MAX_DIMS];
    int64_t dilation[RT_WINDOW_MAX_DIMS];
    int64_t pad_begin[RT_WINDOW_MAX_DIMS];
    int64_t pad_end[RT_WINDOW_MAX_DIMS];
    int64_t in_step[RT_WINDOW_MAX_DIMS]; /* row-major steps of a plane */
    int64_t k_step[RT_WINDOW_MAX_DIMS];  /* row-major steps of a kernel */
    int64_t in_size;  /* elements of one input plane (product of in) */
    int64_t out_size; /* elements of one output plane */
    int64_t k_size;   /* taps of one window (product of kernel) */
};

/*
 * Read the window block at the start of node->ints into w.  Returns the
 * number of ints it used, or -1 when the block is malformed.
 */
int rt_window_read(const struct rt_node *node, struct rt_window *w);

/*
 * The taps t in [0, k) whose positions first + t * d lie in [a, b), as
 * [*lo, *hi); *hi <= *lo when there are none.  d > 0.
 */
static inline void
rt_window_taps_between(int64_t first, int64_t d, int64_t k, int64_t a,
                       int64_t b, int64_t *lo, int64_t *hi)
{
    /* Windows away from the edges take the branches without a division. */
    *lo = first >= a ? 0 : (a - first + d - 1) / d;
    if (first + (k - 1) * d < b)
        *hi = k;
    else
        *hi = first >= b ? 0 : (b - first + d - 1) / d;
}

enum {
    RT_WINDOW_CHUNK = 256, /* outputs along the last dim computed at once */
};

/*
 * The kernel rows of the windows of one output row: the taps of the outer
 * spatial dims (all but the last) that fall inside the input, visited one
 * combination at a time by rt_window_rows_next.  Every output of the row
 * shares them, so the kernels sweep each tap of the last dim across the
 * whole row.  With one spatial dim there is a single kernel row.
 */
struct rt_window_rows {
    const struct rt_window *w;
    int64_t lo[RT_WINDOW_MAX_DIMS], hi[RT_WINDOW_MAX_DIMS];
    int64_t first[RT_WINDOW_MAX_DIMS], t[RT_WINDOW_MAX_DIMS];
    int done;
};

/*
 * Start visiting the kernel rows of output row o (the first n - 1
 * coordinates are read).  Returns 0 when none falls inside the input.
 */
static inline int
rt_window_rows_begin(struct rt_window_rows *it, const struct rt_window *w,
                     const int64_t *o)
{
    it->w = w;
    it->done = 0;
    for (int i = 0; i < w->n - 1; i++) {
        it->first[i] = o[i] * w->stride[i] - w->pad_begin[i];
        rt_window_taps_between(it->first[i], w->dilation[i], w->kernel[i], 0,
                               w->in[i], &it->lo[i], &it->hi[i]);
        if (it->hi[i] <= it->lo[i])
            return 0;
        it->t[i] = it->lo[i];
    }
    return 1;
}

/*
 * The next kernel row: the offset of its input row in the plane and of
 * its kernel row in the kernel.  Returns 0 after the last one.
 */
static inline int
rt_window_rows_next(struct rt_window_rows *it, int64_t *in_off, int64_t *k_off)
{
    if (it->done)
        return 0;
    const struct rt_window *w = it->w;
    int last = w->n - 1;
    int64_t in = 0, k = 0;
    for (int i = 0; i < last; i++) {
        in += (it->first[i] + it->t[i] * w->dilation[i]) * w->in_step[i];
        k += it->t[i] * w->k_step[i];
    }
    *in_off = in;
    *k_off = k;
    int i = last - 1;
    while (i >= 0 && ++it->t[i] == it->hi[i]) {
        it->t[i] = it->lo[i];
        i--;
    }
    it->done = i < 0;
    return 1;
}

/*
 * The outputs in [o0, o1) along the last dim whose tap t falls inside the
 * input, as [*lo, *hi) (empty when *hi <= *lo), and the input position
 * that output 0 would read for it, *first.
 */
static inline void
rt_window_last_range(const struct rt_window *w, int64_t t, int64_t o0,
                     int64_t o1, int64_t *lo, int64_t *hi, int64_t *first)
{
    int last = w->n - 1;
    int64_t s = w->stride[last];
    *first = t * w->dilation[last] - w->pad_begin[last];
    /* Output o reads *first + o * s, inside the input for o in
     * [ceil(-first / s), ceil((in - first) / s)). */
    int64_t a = *first >= 0 ? 0 : (-*first + s - 1) / s;
    int64_t b = w->in[last] - *first;
    b = b <= 0 ? 0 : (b + s - 1) / s;
    *lo = a > o0 ? a : o0;
    *hi = b < o1 ? b : o1;
}

/*
 * The number of tasks of the row-wise kernels.  A task covers the output
 * rows of one plane that share output position o[0], or the whole plane
 * when there is one spatial dim.
 */
static inline int64_t
rt_window_task_count(const struct rt_window *w, int64_t planes)
{
    return w->n > 1 ? planes * w->out[0] : planes;
}

/*
 * Set *plane and o (all n coordinates, o[n - 1] = 0) to the first output
 * row of task, and return the number of rows and in *first_row the index
 * of that row among the plane's rows.
 */
static inline int64_t
rt_window_task_rows(const struct rt_window *w, int64_t task, int64_t *plane,
                    int64_t *o, int64_t *first_row)
{
    for (int i = 0; i < RT_WINDOW_MAX_DIMS; i++)
        o[i] = 0;
    if (w->n == 1) {
        *plane = task;
        *first_row = 0;
        return 1;
    }
    int64_t rows = w->out_size / w->out[0] / w->out[w->n - 1];
    *plane = task / w->out[0];
    o[0] = task % w->out[0];
    *first_row = o[0] * rows;
    return rows;
}

/* Advance o to the next output row: dims 1 to n - 2, row-major. */
static inline void
rt_window_next_row(const struct rt_window *w, int64_t *o)
{
    for (int i = w->n - 2; i >= 1; i--) {
        if (++o[i] < w->out[i])
            return;
        o[i] = 0;
    }
}

/*
 * Sweep one tap across outputs [lo, hi) of a chunk: STEP(V, LOAD, acc,
 * src, j, S) updates acc[j] with the input src[j * S], and V and LOAD are
 * passed through to it.  The pool calls each task through a pointer, so
 * the stride is not a constant in the task.  Strides 1 and 2 get loops of
 * their own with S a constant, which LLVM vectorises.
 */
#define RT_WINDOW_SWEEP(STEP, V, LOAD, acc, src, lo, hi, s)                    \
    do {                                                                       \
        if ((s) == 1)                                                          \
            for (int64_t j_ = (lo); j_ < (hi); j_++)                           \
                STEP(V, LOAD, acc, src, j_, 1);                                \
        else if ((s) == 2)                                                     \
            for (int64_t j_ = (lo); j_ < (hi); j_++)                           \
                STEP(V, LOAD, acc, src, j_, 2);                                \
        else                                                                   \
            for (int64_t j_ = (lo); j_ < (hi); j_++)                           \
                STEP(V, LOAD, acc, src, j_, s);                                \
    } while (0)

int rt_kernel_conv_transpose(struct rt_ctx *ctx, const struct rt_node *node,
                             void *const *bufs);
int rt_kernel_conv(struct rt_ctx *ctx, const struct rt_node *node,
                   void *const *bufs);
int rt_kernel_max_pool(struct rt_ctx *ctx, const struct rt_node *node,
                       void *const *bufs);
int rt_kernel_average_pool(struct rt_ctx *ctx, const struct rt_node *node,
                           void *const *bufs);

#endif
