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
 * for taps t in [0, kernel); positions outside [0, in) are padding.
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

/*
 * The taps of one window that fall inside the input, visited as rows
 * along the last spatial dim: rt_window_taps_next returns one row at a
 * time, its input offset, its kernel offset and its length.  Along a row
 * the input offset grows by the last dilation and the kernel offset by 1.
 */
struct rt_window_taps {
    const struct rt_window *w;
    int64_t lo[RT_WINDOW_MAX_DIMS], hi[RT_WINDOW_MAX_DIMS];
    int64_t first[RT_WINDOW_MAX_DIMS], t[RT_WINDOW_MAX_DIMS];
    int done;
};

/*
 * Start visiting the taps of the window at output position o (n
 * coordinates).  Returns 0 when no tap falls inside the input.
 */
static inline int
rt_window_taps_begin(struct rt_window_taps *it, const struct rt_window *w,
                     const int64_t *o)
{
    it->w = w;
    it->done = 0;
    for (int i = 0; i < w->n; i++) {
        it->first[i] = o[i] * w->stride[i] - w->pad_begin[i];
        rt_window_taps_between(it->first[i], w->dilation[i], w->kernel[i], 0,
                               w->in[i], &it->lo[i], &it->hi[i]);
        if (it->hi[i] <= it->lo[i])
            return 0;
        it->t[i] = it->lo[i];
    }
    return 1;
}

static inline int
rt_window_taps_next(struct rt_window_taps *it, int64_t *in_off, int64_t *k_off,
                    int64_t *count)
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
    *in_off = in + it->first[last] + it->lo[last] * w->dilation[last];
    *k_off = k + it->lo[last];
    *count = it->hi[last] - it->lo[last];
    int i = last - 1;
    while (i >= 0 && ++it->t[i] == it->hi[i]) {
        it->t[i] = it->lo[i];
        i--;
    }
    it->done = i < 0;
    return 1;
}

int rt_kernel_conv(struct rt_ctx *ctx, const struct rt_node *node,
                   void *const *bufs);
int rt_kernel_max_pool(struct rt_ctx *ctx, const struct rt_node *node,
                       void *const *bufs);
int rt_kernel_average_pool(struct rt_ctx *ctx, const struct rt_node *node,
                           void *const *bufs);

#endif
