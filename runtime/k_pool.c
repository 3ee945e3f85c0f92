/*
 * MaxPool and AveragePool over the spatial dims of [N, C, D1, ..., Dn],
 * and the window geometry that they share with Conv.  A task computes one
 * row of outputs along the first spatial dim of one plane (n, c).
 */
#include "k_conv.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

int
rt_window_read(const struct rt_node *node, struct rt_window *w)
{
    if (node->n_ints < 1)
        return -1;
    int64_t n = node->ints[0];
    if (n < 1 || n > RT_WINDOW_MAX_DIMS ||
        node->n_ints < 1 + RT_WINDOW_DIM_INTS * n)
        return -1;
    memset(w, 0, sizeof(*w));
    w->n = (int)n;
    w->in_size = w->out_size = w->k_size = 1;
    for (int i = 0; i < w->n; i++) {
        const int64_t *d = node->ints + 1 + RT_WINDOW_DIM_INTS * i;
        w->in[i] = d[0];
        w->out[i] = d[1];
        w->kernel[i] = d[2];
        w->stride[i] = d[3];
        w->dilation[i] = d[4];
        w->pad_begin[i] = d[5];
        w->pad_end[i] = d[6];
        if (d[0] < 0 || d[1] < 0 || d[2] < 1 || d[3] < 1 || d[4] < 1 ||
            d[5] < 0 || d[6] < 0)
            return -1;
        w->in_size *= d[0];
        w->out_size *= d[1];
        w->k_size *= d[2];
    }
    int64_t in_step = 1, k_step = 1;
    for (int i = w->n - 1; i >= 0; i--) {
        w->in_step[i] = in_step;
        w->k_step[i] = k_step;
        in_step *= w->in[i];
        k_step *= w->kernel[i];
    }
    return 1 + RT_WINDOW_DIM_INTS * w->n;
}

/* Check that descriptor d is [planes / C, C, in...] or [.., out...]. */
static bool
window_shape_ok(const struct rt_window *w, const struct rt_desc *d,
                const int64_t *spatial)
{
    if (d->rank != w->n + 2)
        return false;
    for (int i = 0; i < w->n; i++)
        if (d->dims[2 + i] != spatial[i])
            return false;
    return true;
}

/* Split task t into its plane and its row along the first spatial dim. */
static void
task_row(const struct rt_window *w, int64_t t, int64_t *plane, int64_t *o)
{
    int64_t rows = w->out[0] > 0 ? w->out[0] : 1;
    *plane = t / rows;
    memset(o, 0, sizeof(int64_t) * RT_WINDOW_MAX_DIMS);
    o[0] = t % rows;
}

/* Advance output position o along dims 1.. in row-major order. */
static void
next_position(const struct rt_window *w, int64_t *o)
{
    for (int i = w->n - 1; i >= 1; i--) {
        if (++o[i] < w->out[i])
            return;
        o[i] = 0;
    }
}

/* ---- MaxPool ---- */

struct max_pool_job {
    struct rt_window w;
    int32_t dtype;
    const void *x;
    void *y;
    int64_t *indices; /* NULL when the op has no Indices output */
    int column_major; /* storage_order 1 */
};

/* The flat index of row-major offset off within a plane, in the plane's
 * column-major order (the first spatial dim varies fastest). */
static int64_t
column_major_index(const struct rt_window *w, int64_t off)
{
    int64_t index = 0, step = 1;
    for (int i = 0; i < w->n; i++) {
        index += off / w->in_step[i] % w->in[i] * step;
        step *= w->in[i];
    }
    return index;
}

static double
load_f16(const uint16_t *x, int64_t i)
{
    return rt_f16_to_double(x[i]);
}

/*
 * One task of MaxPool for element type T, compared as LOAD(x, i) returns
 * it.  The maximum is the first of equal values in row-major tap order.
 * A window with no tap inside the input gives LOWEST and index -1.
 */
#define DEFINE_MAX_POOL(NAME, T, V, LOAD, LOWEST)                              \
    static void NAME(void *arg, int64_t task)                                  \
    {                                                                          \
        const struct max_pool_job *job = arg;                                  \
        const struct rt_window *w = &job->w;                                   \
        int64_t plane, o[RT_WINDOW_MAX_DIMS];                                  \
        task_row(w, task, &plane, o);                                          \
        const T *x = (const T *)job->x + plane * w->in_size;                   \
        int64_t row = w->out_size / w->out[0];                                 \
        int64_t y0 = plane * w->out_size + o[0] * row;                         \
        for (int64_t j = 0; j < row; j++, next_position(w, o)) {               \
            struct rt_window_taps it;                                          \
            int64_t best_off = -1, in_off, k_off, count;                       \
            V best = 0;                                                        \
            T best_raw = LOWEST;                                               \
            if (rt_window_taps_begin(&it, w, o)) {                             \
                while (rt_window_taps_next(&it, &in_off, &k_off, &count)) {    \
                    int64_t d = w->dilation[w->n - 1];                         \
                    for (int64_t k = 0; k < count; k++, in_off += d) {         \
                        V v = LOAD(x, in_off);                                 \
                        if (best_off < 0 || v > best) {                        \
                            best = v;                                          \
                            best_off = in_off;                                 \
                        }                                                      \
                    }                                                          \
                }                                                              \
            }                                                                  \
            if (best_off >= 0)                                                 \
                best_raw = x[best_off];                                        \
            ((T *)job->y)[y0 + j] = best_raw;                                  \
            if (!job->indices)                                                 \
                continue;                                                      \
            int64_t index = -1;                                                \
            if (best_off >= 0)                                                 \
                index = plane * w->in_size +                                   \
                        (job->column_major ? column_major_index(w, best_off)   \
                                           : best_off);                        \
            job->indices[y0 + j] = index;                                      \
        }                                                                      \
    }

#define LOAD_PLAIN(x, i) ((x)[i])
#define F16_NEG_INF 0xfc00

DEFINE_MAX_POOL(max_pool_f32, float, float, LOAD_PLAIN, -INFINITY)
DEFINE_MAX_POOL(max_pool_f64, double, double, LOAD_PLAIN, -INFINITY)
DEFINE_MAX_POOL(max_pool_f16, uint16_t, double, load_f16, F16_NEG_INF)
DEFINE_MAX_POOL(max_pool_i8, int8_t, int8_t, LOAD_PLAIN, INT8_MIN)
DEFINE_MAX_POOL(max_pool_u8, uint8_t, uint8_t, LOAD_PLAIN, 0)

/* Read the window block and the ints that follow it: planes (N * C) and
 * one more op-specific int.  Checks X and Y against them. */
static int
read_pool(struct rt_ctx *ctx, const struct rt_node *node, struct rt_window *w,
          int64_t *planes, int64_t *extra)
{
    int used = rt_window_read(node, w);
    if (used < 0 || node->n_ints != used + 2 || node->n_inputs != 1 ||
        node->n_outputs < 1)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT, "bad parameters");
    *planes = node->ints[used];
    *extra = node->ints[used + 1];
    const struct rt_desc *x = &node->descs[0], *y = &node->descs[1];
    if (!window_shape_ok(w, x, w->in) || !window_shape_ok(w, y, w->out) ||
        x->dims[0] * x->dims[1] != *planes || y->dtype != x->dtype)
        return rt_fail(ctx, node, RT_ERR_SHAPE,
                       "input or output does not match the pool's "
                       "parameters");
    return RT_OK;
}

/*
 * MaxPool: ints are the window block (struct rt_window), N * C and the
 * storage order (0 row-major, 1 column-major) of the Indices output.
 * Input X; outputs Y and, optionally, Indices (int64), the flat index of
 * each maximum in X.  float32, float64, float16, int8 and uint8.
 */
int
rt_kernel_max_pool(struct rt_ctx *ctx, const struct rt_node *node,
                   void *const *bufs)
{
    struct max_pool_job job;
    int64_t planes, order;
    int rc = read_pool(ctx, node, &job.w, &planes, &order);
    if (rc != RT_OK)
        return rc;
    job.dtype = node->descs[0].dtype;
    job.x = bufs[0];
    job.y = bufs[1];
    job.indices = node->n_outputs > 1 ? bufs[2] : NULL;
    job.column_major = order == 1;
    if (job.indices && node->descs[2].dtype != RT_INT64)
        return rt_fail(ctx, node, RT_ERR_SHAPE, "Indices must be int64");
    void (*task)(void *, int64_t);
    switch (job.dtype) {
    case RT_FLOAT:
        task = max_pool_f32;
        break;
    case RT_DOUBLE:
        task = max_pool_f64;
        break;
    case RT_FLOAT16:
        task = max_pool_f16;
        break;
    case RT_INT8:
        task = max_pool_i8;
        break;
    case RT_UINT8:
        task = max_pool_u8;
        break;
    default:
        return rt_fail(ctx, node, RT_ERR_SHAPE, "dtype %d is not supported",
                       (int)job.dtype);
    }
    if (job.w.out_size == 0)
        return RT_OK;
    rt_parallel_for(ctx->pool, planes * job.w.out[0], task, &job);
    return RT_OK;
}

/* ---- AveragePool ---- */

struct average_pool_job {
    struct rt_window w;
    int32_t dtype;
    const void *x;
    void *y;
    int count_pad; /* count_include_pad */
};

/*
 * The divisor of the window at o with count_include_pad: its taps inside
 * the padded input [-pad_begin, in + pad_end).  Taps past the end pad,
 * which ceil_mode can add, do not count.
 */
static int64_t
padded_count(const struct rt_window *w, const int64_t *o)
{
    int64_t count = 1;
    for (int i = 0; i < w->n; i++) {
        int64_t lo, hi;
        rt_window_taps_between(o[i] * w->stride[i] - w->pad_begin[i],
                               w->dilation[i], w->kernel[i], -w->pad_begin[i],
                               w->in[i] + w->pad_end[i], &lo, &hi);
        count *= hi > lo ? hi - lo : 0;
    }
    return count;
}

/*
 * One task of AveragePool for element type T, summed in type S.  The
 * divisor is the number of taps inside the input, or inside the padded
 * input with count_include_pad.  A window with no tap to count gives NaN.
 */
#define DEFINE_AVERAGE_POOL(NAME, T, S, LOAD, STORE)                           \
    static void NAME(void *arg, int64_t task)                                  \
    {                                                                          \
        const struct average_pool_job *job = arg;                              \
        const struct rt_window *w = &job->w;                                   \
        int64_t plane, o[RT_WINDOW_MAX_DIMS];                                  \
        task_row(w, task, &plane, o);                                          \
        const T *x = (const T *)job->x + plane * w->in_size;                   \
        int64_t row = w->out_size / w->out[0];                                 \
        T *y = (T *)job->y + plane * w->out_size + o[0] * row;                 \
        int64_t d = w->dilation[w->n - 1];                                     \
        for (int64_t j = 0; j < row; j++, next_position(w, o)) {               \
            struct rt_window_taps it;                                          \
            int64_t in_off, k_off, count, n = 0;                               \
            S sum = 0;                                                         \
            if (rt_window_taps_begin(&it, w, o)) {                             \
                while (rt_window_taps_next(&it, &in_off, &k_off, &count)) {    \
                    for (int64_t k = 0; k < count; k++, in_off += d)           \
                        sum += LOAD(x, in_off);                                \
                    n += count;                                                \
                }                                                              \
            }                                                                  \
            if (job->count_pad)                                                \
                n = padded_count(w, o);                                        \
            y[j] = STORE(n > 0 ? sum / (S)n : (S)NAN);                         \
        }                                                                      \
    }

#define STORE_PLAIN(v) (v)

static uint16_t
store_f16(float v)
{
    return rt_f16_from_double(v);
}

static float
load_f16_float(const uint16_t *x, int64_t i)
{
    return (float)rt_f16_to_double(x[i]);
}

DEFINE_AVERAGE_POOL(average_pool_f32, float, float, LOAD_PLAIN, STORE_PLAIN)
DEFINE_AVERAGE_POOL(average_pool_f64, double, double, LOAD_PLAIN, STORE_PLAIN)
DEFINE_AVERAGE_POOL(average_pool_f16, uint16_t, float, load_f16_float,
                    store_f16)

/*
 * AveragePool: ints are the window block (struct rt_window), N * C and
 * count_include_pad (0 or 1).  Input X; output Y.  float32, float64 and
 * float16 (summed in float32).
 */
int
rt_kernel_average_pool(struct rt_ctx *ctx, const struct rt_node *node,
                       void *const *bufs)
{
    struct average_pool_job job;
    int64_t planes, count_pad;
    int rc = read_pool(ctx, node, &job.w, &planes, &count_pad);
    if (rc != RT_OK)
        return rc;
    job.dtype = node->descs[0].dtype;
    job.x = bufs[0];
    job.y = bufs[1];
    job.count_pad = count_pad != 0;
    void (*task)(void *, int64_t);
    switch (job.dtype) {
    case RT_FLOAT:
        task = average_pool_f32;
        break;
    case RT_DOUBLE:
        task = average_pool_f64;
        break;
    case RT_FLOAT16:
        task = average_pool_f16;
        break;
    default:
        return rt_fail(ctx, node, RT_ERR_SHAPE, "dtype %d is not supported",
                       (int)job.dtype);
    }
    if (job.w.out_size == 0)
        return RT_OK;
    rt_parallel_for(ctx->pool, planes * job.w.out[0], task, &job);
    return RT_OK;
}
