/*
 * Kernels that make tensors from shapes, scalars and attributes: Shape,
 * Size, ConstantOfShape, Range, Trilu and EyeLike.  Shape and Size are
 * normally folded at compile time; their kernels exist so that every op
 * of the group can also run.
 */
#include "k_shape.h"
#include "k_elementwise.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

/*
 * Shape.  ints: [start, end], already clamped to [0, rank]; the output
 * contains input dims start..end-1 as int64.
 */
int
rt_kernel_shape(struct rt_ctx *ctx, const struct rt_node *node,
                void *const *bufs)
{
    const struct rt_desc *in = &node->descs[0];
    if (node->n_ints != 2 || node->ints[0] < 0 || node->ints[1] > in->rank)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT,
                       "the start and end parameters are missing or out of "
                       "range");
    int64_t *out = bufs[1];
    for (int64_t i = node->ints[0]; i < node->ints[1]; i++)
        out[i - node->ints[0]] = in->dims[i];
    return RT_OK;
}

/* Size.  No ints or floats; the output is an int64 scalar. */
int
rt_kernel_size(struct rt_ctx *ctx, const struct rt_node *node,
               void *const *bufs)
{
    (void)ctx;
    *(int64_t *)bufs[1] = rt_numel(&node->descs[0]);
    return RT_OK;
}

/*
 * ConstantOfShape.  ints: [value], the fill value's bytes in the low
 * rt_dtype_size(output dtype) bytes of the int64, in memory order.
 */
int
rt_kernel_constant_of_shape(struct rt_ctx *ctx, const struct rt_node *node,
                            void *const *bufs)
{
    const struct rt_desc *out = &node->descs[node->n_inputs];
    if (node->n_ints != 1)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT,
                       "the value parameter is missing");
    rt_shape_fill(bufs[node->n_inputs], &node->ints[0],
                  rt_dtype_size(out->dtype), rt_numel(out));
    return RT_OK;
}

/* Integer ranges wrap around instead of overflowing. */
#define RANGE_INT(T)                                                           \
    do {                                                                       \
        T s = *(const T *)bufs[0], d = *(const T *)bufs[2];                    \
        T *restrict o = (T *)dst;                                              \
        for (int64_t i = 0; i < n; i++)                                        \
            o[i] = (T)((uint64_t)s + (uint64_t)i * (uint64_t)d);               \
    } while (0)

#define RANGE_FLOAT(T)                                                         \
    do {                                                                       \
        T s = *(const T *)bufs[0], d = *(const T *)bufs[2];                    \
        T *restrict o = (T *)dst;                                              \
        for (int64_t i = 0; i < n; i++)                                        \
            o[i] = s + (T)i * d;                                               \
    } while (0)

/*
 * Range.  No ints or floats.  Inputs are the scalars start, limit and
 * delta; output[i] = start + i * delta, computed in the dtype, for the
 * count of elements that the output dims give.
 */
int
rt_kernel_range(struct rt_ctx *ctx, const struct rt_node *node,
                void *const *bufs)
{
    const struct rt_desc *out = &node->descs[node->n_inputs];
    int64_t n = rt_numel(out);
    char *dst = bufs[node->n_inputs];
    switch (out->dtype) {
    case RT_FLOAT:
        RANGE_FLOAT(float);
        break;
    case RT_DOUBLE:
        RANGE_FLOAT(double);
        break;
    case RT_INT16:
        RANGE_INT(int16_t);
        break;
    case RT_INT32:
        RANGE_INT(int32_t);
        break;
    case RT_INT64:
        RANGE_INT(int64_t);
        break;
    default:
        return rt_fail(ctx, node, RT_ERR_ARGUMENT, "dtype %d is not supported",
                       (int)out->dtype);
    }
    return RT_OK;
}

static int64_t
clamp64(int64_t x, int64_t lo, int64_t hi)
{
    if (x < lo)
        return lo;
    if (x > hi)
        return hi;
    return x;
}

/*
 * Trilu.  ints: [upper (0 or 1)].  Optional input 1 is the int64 (or
 * int32) scalar k.  Over the last two dims (rows i, columns j), upper
 * keeps j - i >= k and lower keeps j - i <= k; the rest become zero.
 */
int
rt_kernel_trilu(struct rt_ctx *ctx, const struct rt_node *node,
                void *const *bufs)
{
    const struct rt_desc *in = &node->descs[0];
    const struct rt_desc *out = &node->descs[node->n_inputs];
    if (node->n_ints != 1 || in->rank < 2)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT,
                       "expected the upper parameter and a rank >= 2 input");
    int64_t k = 0;
    if (node->n_inputs > 1 && bufs[1] && node->descs[1].dtype != 0)
        k = node->descs[1].dtype == RT_INT32 ? *(const int32_t *)bufs[1]
                                             : *(const int64_t *)bufs[1];
    bool upper = node->ints[0] != 0;
    size_t esize = rt_dtype_size(in->dtype);
    int64_t rows = in->dims[in->rank - 2], cols = in->dims[in->rank - 1];
    int64_t count = rt_numel(out) / (rows * cols > 0 ? rows * cols : 1);
    if (rows * cols == 0)
        return RT_OK;
    /* Beyond these bounds k keeps everything or nothing. */
    k = clamp64(k, -rows, cols);
    const char *src = bufs[0];
    char *dst = bufs[node->n_inputs];
    size_t row_bytes = (size_t)cols * esize;
    for (int64_t m = 0; m < count * rows; m++) {
        int64_t i = m % rows;
        const char *s = src + (size_t)m * row_bytes;
        char *d = dst + (size_t)m * row_bytes;
        /* Columns [0, split) and [split, cols) get opposite treatment. */
        int64_t split = clamp64(upper ? i + k : i + k + 1, 0, cols);
        size_t head = (size_t)split * esize;
        if (upper) {
            memset(d, 0, head);
            memcpy(d + head, s + head, row_bytes - head);
        } else {
            memcpy(d, s, head);
            memset(d + head, 0, row_bytes - head);
        }
    }
    return RT_OK;
}

/* Write the value 1 of dtype to out; false for an unknown dtype. */
static bool
one_value(int32_t dtype, void *out)
{
    float f = 1.0f;
    double d = 1.0;
    uint16_t h = dtype == RT_FLOAT16 ? 0x3c00 : 0x3f80;
    switch (dtype) {
    case RT_FLOAT:
        memcpy(out, &f, sizeof(f));
        return true;
    case RT_DOUBLE:
        memcpy(out, &d, sizeof(d));
        return true;
    case RT_FLOAT16:
    case RT_BFLOAT16:
        memcpy(out, &h, sizeof(h));
        return true;
    default:
        break;
    }
    size_t size = rt_dtype_size(dtype);
    if (size == 0)
        return false;
    /* Integers and bool: the value 1 in the dtype's width. */
    uint8_t u8 = 1;
    uint16_t u16 = 1;
    uint32_t u32 = 1;
    uint64_t u64 = 1;
    const void *src = size == 1   ? (const void *)&u8
                      : size == 2 ? (const void *)&u16
                      : size == 4 ? (const void *)&u32
                                  : (const void *)&u64;
    memcpy(out, src, size);
    return true;
}

/*
 * EyeLike.  ints: [k].  The 2-D output is zero except for ones at
 * (i, i + k); the output desc gives the dtype.
 */
int
rt_kernel_eye_like(struct rt_ctx *ctx, const struct rt_node *node,
                   void *const *bufs)
{
    const struct rt_desc *out = &node->descs[node->n_inputs];
    uint64_t one = 0;
    if (node->n_ints != 1 || out->rank != 2 || !one_value(out->dtype, &one))
        return rt_fail(ctx, node, RT_ERR_ARGUMENT,
                       "expected the k parameter and a 2-D output of a "
                       "known dtype");
    size_t esize = rt_dtype_size(out->dtype);
    int64_t rows = out->dims[0], cols = out->dims[1];
    char *dst = bufs[node->n_inputs];
    if (rows * cols == 0)
        return RT_OK;
    memset(dst, 0, (size_t)(rows * cols) * esize);
    int64_t k = clamp64(node->ints[0], -rows, cols);
    for (int64_t i = 0; i < rows; i++) {
        int64_t j = i + k;
        if (j >= 0 && j < cols)
            memcpy(dst + (size_t)(i * cols + j) * esize, &one, esize);
    }
    return RT_OK;
}

/*
 * The cosine-sum windows HannWindow, HammingWindow and BlackmanWindow:
 *   w[n] = a0 - a1 cos(2 pi n / N) + a2 cos(4 pi n / N)
 * with N = size when periodic, else size - 1, and (a0, a1, a2) = (0.5,
 * 0.5, 0), (25/46, 21/46, 0) and (0.42, 0.5, 0.08).  Computed in double
 * and converted as Cast does.  NOTE: a symmetric window of size 1 (N = 0)
 * is [1], as numpy's hanning(1) is; the ONNX function body divides by 0.
 * ints: [window (enum rt_window), periodic].  descs: size, w.
 */
int
rt_kernel_window(struct rt_ctx *ctx, const struct rt_node *node,
                 void *const *bufs)
{
    const struct rt_desc *w = &node->descs[1];
    if (node->n_ints != 2 || w->rank != 1)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT, "bad parameters");
    static const double coef[3][3] = {
        {0.5, 0.5, 0}, {25.0 / 46, 21.0 / 46, 0}, {0.42, 0.5, 0.08}};
    int64_t kind = node->ints[0];
    if (kind < 0 || kind > 2)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT, "unknown window %lld",
                       (long long)kind);
    const double *a = coef[kind];
    int64_t size = w->dims[0];
    double n_den = (double)(node->ints[1] ? size : size - 1);
    size_t esize = rt_dtype_size(w->dtype);
    for (int64_t n = 0; n < size; n++) {
        double v = 1;
        if (n_den > 0) {
            double t = 2 * 3.14159265358979323846 * (double)n / n_den;
            v = a[0] - a[1] * cos(t) + a[2] * cos(2 * t);
        }
        rt_cast_from_double(&v, w->dtype, (char *)bufs[1] + (size_t)n * esize);
    }
    return RT_OK;
}
