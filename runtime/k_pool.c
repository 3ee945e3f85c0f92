/*
 * MaxPool and AveragePool over the spatial dims of [N, C, D1, ..., Dn],
 * and the window geometry that they share with Conv.  A task computes the
 * output rows of one plane (n, c) that share their first spatial index.
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

/* True when d has rank n + 2 and the spatial dims given. */
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

/* ---- MaxPool ---- */

struct max_pool_job {
    struct rt_window w;
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

/* Keep the larger of acc[j] and the input, or the first NaN. */
#define MAX_STEP(V, LOAD, acc, src, j, S)                                      \
    do {                                                                       \
        V v_ = LOAD(src, (j) * (S));                                           \
        V a_ = acc[j];                                                         \
        acc[j] = ((v_ > a_) | ((v_ != v_) & (a_ == a_))) ? v_ : a_;            \
    } while (0)

/*
 * One task of MaxPool for element type T, compared as LOAD(x, i) returns
 * it.  Each tap of the last dim is swept across a chunk of the output
 * row, with the kernel rows of the outer dims in row-major order, so an
 * output keeps the first of equal maxima in row-major tap order.  A NaN
 * is the maximum of any window that contains one, as in PyTorch.  A
 * window with no tap inside the input gives LOWEST and index -1.
 */
#define DEFINE_MAX_POOL(NAME, T, V, LOAD, STORE, LOAD_LOWEST, LOWEST)          \
    static void NAME(void *arg, int64_t task)                                  \
    {                                                                          \
        const struct max_pool_job *job = arg;                                  \
        const struct rt_window *w = &job->w;                                   \
        int last = w->n - 1;                                                   \
        int64_t plane, row, o[RT_WINDOW_MAX_DIMS];                             \
        int64_t rows = rt_window_task_rows(w, task, &plane, o, &row);          \
        const T *x = (const T *)job->x + plane * w->in_size;                   \
        int64_t s = w->stride[last], width = w->out[last];                     \
        for (int64_t r = 0; r < rows; r++, rt_window_next_row(w, o)) {         \
            int64_t y0 = plane * w->out_size + (row + r) * width;              \
            for (int64_t o0 = 0; o0 < width; o0 += RT_WINDOW_CHUNK) {          \
                int64_t o1 = o0 + RT_WINDOW_CHUNK < width                      \
                                 ? o0 + RT_WINDOW_CHUNK                        \
                                 : width;                                      \
                V best[RT_WINDOW_CHUNK];                                       \
                int64_t at[RT_WINDOW_CHUNK];                                   \
                for (int64_t j = 0; j < o1 - o0; j++) {                        \
                    best[j] = LOAD_LOWEST;                                     \
                    at[j] = -1;                                                \
                }                                                              \
                struct rt_window_rows it;                                      \
                int64_t in_row, k_row;                                         \
                int any = rt_window_rows_begin(&it, w, o);                     \
                while (any && rt_window_rows_next(&it, &in_row, &k_row)) {     \
                    for (int64_t t = 0; t < w->kernel[last]; t++) {            \
                        int64_t lo, hi, first;                                 \
                        rt_window_last_range(w, t, o0, o1, &lo, &hi, &first);  \
                        const T *src = x + in_row + first + o0 * s;            \
                        if (!job->indices) {                                   \
                            RT_WINDOW_SWEEP(MAX_STEP, V, LOAD, best, src,      \
                                            lo - o0, hi - o0, s);              \
                            continue;                                          \
                        }                                                      \
                        for (int64_t j = lo; j < hi; j++) {                    \
                            int64_t off = in_row + first + j * s;              \
                            V v = LOAD(x, off), b = best[j - o0];              \
                            int take = (at[j - o0] < 0) | (v > b) |            \
                                       ((v != v) & (b == b));                  \
                            best[j - o0] = take ? v : b;                       \
                            at[j - o0] = take ? off : at[j - o0];              \
                        }                                                      \
                    }                                                          \
                }                                                              \
                for (int64_t j = o0; j < o1; j++) {                            \
                    int64_t off = at[j - o0];                                  \
                    if (!job->indices) {                                       \
                        ((T *)job->y)[y0 + j] = STORE(best[j - o0]);           \
                        continue;                                              \
                    }                                                          \
                    ((T *)job->y)[y0 + j] = off >= 0 ? x[off] : LOWEST;        \
                    if (off >= 0 && job->column_major)                         \
                        off = column_major_index(w, off);                      \
                    job->indices[y0 + j] =                                     \
                        off >= 0 ? plane * w->in_size + off : -1;              \
                }                                                              \
            }                                                                  \
        }                                                                      \
    }

#define LOAD_PLAIN(x, i) ((x)[i])
#define STORE_PLAIN(v) (v)
#define F16_NEG_INF 0xfc00

DEFINE_MAX_POOL(max_pool_f32, float, float, LOAD_PLAIN, STORE_PLAIN, -INFINITY,
                -INFINITY)
DEFINE_MAX_POOL(max_pool_f64, double, double, LOAD_PLAIN, STORE_PLAIN,
                -INFINITY, -INFINITY)
DEFINE_MAX_POOL(max_pool_f16, uint16_t, double, load_f16, rt_f16_from_double,
                -INFINITY, F16_NEG_INF)
DEFINE_MAX_POOL(max_pool_i8, int8_t, int8_t, LOAD_PLAIN, STORE_PLAIN, INT8_MIN,
                INT8_MIN)
DEFINE_MAX_POOL(max_pool_u8, uint8_t, uint8_t, LOAD_PLAIN, STORE_PLAIN, 0, 0)

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

/* The task function of a pool for one dtype. */
struct pool_task {
    int32_t dtype;
    void (*fn)(void *job, int64_t task);
};

/* Run the task of tasks (ended by dtype 0) for X's dtype on the pool. */
static int
run_pool(struct rt_ctx *ctx, const struct rt_node *node,
         const struct pool_task *tasks, const struct rt_window *w,
         int64_t planes, void *job)
{
    int32_t dtype = node->descs[0].dtype;
    while (tasks->dtype != 0 && tasks->dtype != dtype)
        tasks++;
    if (tasks->dtype == 0)
        return rt_fail(ctx, node, RT_ERR_SHAPE, "dtype %d is not supported",
                       (int)dtype);
    if (w->out_size > 0)
        rt_parallel_for(ctx->pool, rt_window_task_count(w, planes), tasks->fn,
                        job);
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
    job.x = bufs[0];
    job.y = bufs[1];
    job.indices = node->n_outputs > 1 ? bufs[2] : NULL;
    job.column_major = order == 1;
    if (job.indices && node->descs[2].dtype != RT_INT64)
        return rt_fail(ctx, node, RT_ERR_SHAPE, "Indices must be int64");
    static const struct pool_task tasks[] = {
        {RT_FLOAT, max_pool_f32},   {RT_DOUBLE, max_pool_f64},
        {RT_FLOAT16, max_pool_f16}, {RT_INT8, max_pool_i8},
        {RT_UINT8, max_pool_u8},    {0, NULL},
    };
    return run_pool(ctx, node, tasks, &job.w, planes, &job);
}

/* ---- AveragePool ---- */

struct average_pool_job {
    struct rt_window w;
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

/* Add the input to acc[j]. */
#define SUM_STEP(S, LOAD, acc, src, j, STRIDE)                                 \
    do {                                                                       \
        acc[j] += (S)LOAD(src, (j) * (STRIDE));                                \
    } while (0)

/* The taps of the last dim inside the input for output j of that dim. */
static int64_t
last_taps(const struct rt_window *w, int64_t j)
{
    int i = w->n - 1;
    int64_t lo, hi;
    rt_window_taps_between(j * w->stride[i] - w->pad_begin[i], w->dilation[i],
                           w->kernel[i], 0, w->in[i], &lo, &hi);
    return hi > lo ? hi - lo : 0;
}

/*
 * One task of AveragePool for element type T, summed in type S, sweeping
 * the taps across chunks of output rows as MaxPool does.  Every kernel
 * row that the iterator visits is inside the input for all the outputs of
 * the row, so an output's taps inside the input number kernel_rows times
 * its taps of the last dim.  The divisor is
 * the number of taps inside the input, or inside the padded input with
 * count_include_pad.  A window with no tap to count gives NaN.
 */
#define DEFINE_AVERAGE_POOL(NAME, T, S, LOAD, STORE)                           \
    static void NAME(void *arg, int64_t task)                                  \
    {                                                                          \
        const struct average_pool_job *job = arg;                              \
        const struct rt_window *w = &job->w;                                   \
        int last = w->n - 1;                                                   \
        int64_t plane, row, o[RT_WINDOW_MAX_DIMS];                             \
        int64_t rows = rt_window_task_rows(w, task, &plane, o, &row);          \
        const T *x = (const T *)job->x + plane * w->in_size;                   \
        int64_t s = w->stride[last], width = w->out[last];                     \
        for (int64_t r = 0; r < rows; r++, rt_window_next_row(w, o)) {         \
            T *y = (T *)job->y + plane * w->out_size + (row + r) * width;      \
            for (int64_t o0 = 0; o0 < width; o0 += RT_WINDOW_CHUNK) {          \
                int64_t o1 = o0 + RT_WINDOW_CHUNK < width                      \
                                 ? o0 + RT_WINDOW_CHUNK                        \
                                 : width;                                      \
                S sum[RT_WINDOW_CHUNK];                                        \
                for (int64_t j = 0; j < o1 - o0; j++)                          \
                    sum[j] = 0;                                                \
                struct rt_window_rows it;                                      \
                int64_t in_row, k_row, kernel_rows = 0;                        \
                int any = rt_window_rows_begin(&it, w, o);                     \
                while (any && rt_window_rows_next(&it, &in_row, &k_row)) {     \
                    kernel_rows++;                                             \
                    for (int64_t t = 0; t < w->kernel[last]; t++) {            \
                        int64_t lo, hi, first;                                 \
                        rt_window_last_range(w, t, o0, o1, &lo, &hi, &first);  \
                        const T *src = x + in_row + first + o0 * s;            \
                        RT_WINDOW_SWEEP(SUM_STEP, S, LOAD, sum, src, lo - o0,  \
                                        hi - o0, s);                           \
                    }                                                          \
                }                                                              \
                for (int64_t j = o0; j < o1; j++) {                            \
                    o[last] = j;                                               \
                    int64_t n = job->count_pad                                 \
                                    ? padded_count(w, o)                       \
                                    : kernel_rows * last_taps(w, j);           \
                    y[j] = STORE(n > 0 ? sum[j - o0] / (S)n : (S)NAN);         \
                }                                                              \
                o[last] = 0;                                                   \
            }                                                                  \
        }                                                                      \
    }

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
    job.x = bufs[0];
    job.y = bufs[1];
    job.count_pad = count_pad != 0;
    static const struct pool_task tasks[] = {
        {RT_FLOAT, average_pool_f32},
        {RT_DOUBLE, average_pool_f64},
        {RT_FLOAT16, average_pool_f16},
        {0, NULL},
    };
    return run_pool(ctx, node, tasks, &job.w, planes, &job);
}
