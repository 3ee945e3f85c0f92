/*
 * Normalisations along one axis: Softmax, LogSoftmax, Hardmax,
 * LayerNormalization, and the running sum CumSum.  Each views its input
 * as [outer, n, inner] with the normalised axis in the middle, and splits
 * rows (or chunks of columns) over the thread pool.
 */
#include "k_math.h"

#include <math.h>

enum {
    CHUNK = 64,         /* columns of a strided softmax handled together */
    ROW_WORK = 1 << 14, /* elements a softmax or LayerNorm task aims at */
    SCAN_CHUNK = 1024,  /* columns of a CumSum task */
};

/* A view [outer, n, inner] of one normalisation and its buffers. */
struct axis_job {
    int32_t dtype;
    int64_t outer, n, inner;
    int mode;
    int64_t rows_per_task, chunks;
    const void *x;
    void *y;
};

static float
max_f32(const float *x, int64_t n)
{
    float m = -INFINITY;
    for (int64_t j = 0; j < n; j++)
        m = x[j] > m ? x[j] : m;
    return m;
}

/*
 * Softmax of one contiguous float row.  An all -inf row, a +inf or a NaN
 * makes the row NaN, as exp(x - max) / sum does in the ONNX reference.
 */
static void
softmax_row_f32(const float *restrict x, float *restrict y, int64_t n, int mode)
{
    if (mode == RT_HARDMAX) {
        int64_t best = 0;
        for (int64_t j = 1; j < n; j++)
            if (x[j] > x[best])
                best = j;
        for (int64_t j = 0; j < n; j++)
            y[j] = j == best ? 1.0f : 0.0f;
        return;
    }
    float m = max_f32(x, n);
    for (int64_t j = 0; j < n; j++)
        y[j] = rt_exp_f32(x[j] - m);
    float s = rt_sum_f32(y, n);
    if (mode == RT_LOG_SOFTMAX) {
        float shift = m + logf(s);
        for (int64_t j = 0; j < n; j++)
            y[j] = x[j] - shift;
        return;
    }
    float inv = 1.0f / s;
    for (int64_t j = 0; j < n; j++)
        y[j] *= inv;
}

/* Softmax of one contiguous double row, in the same way. */
static void
softmax_row_f64(const double *restrict x, double *restrict y, int64_t n,
                int mode)
{
    int64_t best = 0;
    double m = -INFINITY, s = 0;
    for (int64_t j = 0; j < n; j++) {
        if (x[j] > x[best])
            best = j;
        m = x[j] > m ? x[j] : m;
    }
    if (mode == RT_HARDMAX) {
        for (int64_t j = 0; j < n; j++)
            y[j] = j == best ? 1.0 : 0.0;
        return;
    }
    for (int64_t j = 0; j < n; j++) {
        y[j] = exp(x[j] - m);
        s += y[j];
    }
    for (int64_t j = 0; j < n; j++)
        y[j] = mode == RT_LOG_SOFTMAX ? x[j] - m - log(s) : y[j] / s;
}

/*
 * Softmax over the middle axis of x[n, inner] for columns c0..c0+w, which
 * are strided by inner; y gets the same layout.  Works on w columns at once
 * so that the inner loops run over contiguous memory.
 */
static void
softmax_cols(const struct axis_job *p, const char *x, char *y, int64_t w)
{
    double m[CHUNK], s[CHUNK];
    int64_t best[CHUNK];
    for (int64_t c = 0; c < w; c++) {
        m[c] = -INFINITY;
        s[c] = 0;
        best[c] = 0;
    }
    for (int64_t k = 0; k < p->n; k++) {
        for (int64_t c = 0; c < w; c++) {
            double v = rt_load_f64(x, p->dtype, k * p->inner + c);
            if (v > rt_load_f64(x, p->dtype, best[c] * p->inner + c))
                best[c] = k;
            m[c] = v > m[c] ? v : m[c];
        }
    }
    for (int64_t k = 0; k < p->n; k++) {
        for (int64_t c = 0; c < w; c++) {
            int64_t i = k * p->inner + c;
            double e = exp(rt_load_f64(x, p->dtype, i) - m[c]);
            s[c] += e;
            if (p->mode == RT_HARDMAX)
                e = k == best[c] ? 1.0 : 0.0;
            math_store_f64(y, p->dtype, i, e);
        }
    }
    if (p->mode == RT_HARDMAX)
        return;
    for (int64_t k = 0; k < p->n; k++) {
        for (int64_t c = 0; c < w; c++) {
            int64_t i = k * p->inner + c;
            double v = p->mode == RT_LOG_SOFTMAX
                           ? rt_load_f64(x, p->dtype, i) - m[c] - log(s[c])
                           : rt_load_f64(y, p->dtype, i) / s[c];
            math_store_f64(y, p->dtype, i, v);
        }
    }
}

static void
softmax_task(void *arg, int64_t t)
{
    const struct axis_job *p = arg;
    size_t es = rt_dtype_size(p->dtype);

    if (p->inner == 1) {
        int64_t r0 = t * p->rows_per_task;
        int64_t r1 = r0 + p->rows_per_task;
        if (r1 > p->outer)
            r1 = p->outer;
        for (int64_t r = r0; r < r1; r++) {
            if (p->dtype == RT_FLOAT)
                softmax_row_f32((const float *)p->x + r * p->n,
                                (float *)p->y + r * p->n, p->n, p->mode);
            else
                softmax_row_f64((const double *)p->x + r * p->n,
                                (double *)p->y + r * p->n, p->n, p->mode);
        }
        return;
    }
    int64_t o = t / p->chunks;
    int64_t c0 = t % p->chunks * CHUNK;
    int64_t w = p->inner - c0 < CHUNK ? p->inner - c0 : CHUNK;
    int64_t off = (o * p->n * p->inner + c0) * (int64_t)es;
    softmax_cols(p, (const char *)p->x + off, (char *)p->y + off, w);
}

/*
 * Softmax, LogSoftmax and Hardmax over the middle axis of [outer, n,
 * inner].  ints: outer, n, inner, mode (enum rt_softmax_mode).  Opset < 13
 * models flatten to [outer, n] with inner 1; later ones normalise one
 * axis.  Input and output are float or double.
 */
int
rt_kernel_softmax(struct rt_ctx *ctx, const struct rt_node *node,
                  void *const *bufs)
{
    if (node->n_ints != 4)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT, "bad parameters");
    struct axis_job p = {
        .dtype = node->descs[0].dtype,
        .outer = node->ints[0],
        .n = node->ints[1],
        .inner = node->ints[2],
        .mode = (int)node->ints[3],
        .x = bufs[0],
        .y = bufs[1],
    };
    if (!math_is_float(p.dtype))
        return rt_fail(ctx, node, RT_ERR_SHAPE, "dtype %d is not supported",
                       (int)p.dtype);
    if (p.outer == 0 || p.n == 0 || p.inner == 0)
        return RT_OK;

    int64_t tasks;
    if (p.inner == 1) {
        p.rows_per_task = ROW_WORK / p.n > 0 ? ROW_WORK / p.n : 1;
        tasks = (p.outer + p.rows_per_task - 1) / p.rows_per_task;
    } else {
        p.chunks = (p.inner + CHUNK - 1) / CHUNK;
        tasks = p.outer * p.chunks;
    }
    rt_parallel_for(ctx->pool, tasks, softmax_task, &p);
    return RT_OK;
}

/* A LayerNormalization over rows of n elements. */
struct layer_norm_job {
    int32_t dtype, stat_dtype;
    int64_t rows, n, rows_per_task;
    int64_t scale_step, bias_step; /* 1 per element, or 0 for a scalar */
    double epsilon;
    const void *x, *scale, *bias;
    void *y, *mean, *inv_std;
};

/* Normalise one float row; returns its mean and 1 / sqrt(var + eps). */
static void
layer_norm_row_f32(const struct layer_norm_job *p, const float *restrict x,
                   float *restrict y, float *mean_out, float *inv_out)
{
    const float *scale = p->scale;
    const float *bias = p->bias;
    int64_t n = p->n;
    float mean = rt_sum_f32(x, n) / (float)n;
    /* Two passes keep the variance accurate when |mean| >> stddev. */
    for (int64_t j = 0; j < n; j++)
        y[j] = (x[j] - mean) * (x[j] - mean);
    float var = rt_sum_f32(y, n) / (float)n;
    float inv = 1.0f / sqrtf(var + (float)p->epsilon);
    if (p->scale_step == 1 && bias && p->bias_step == 1) {
        for (int64_t j = 0; j < n; j++)
            y[j] = (x[j] - mean) * inv * scale[j] + bias[j];
    } else {
        for (int64_t j = 0; j < n; j++) {
            float v = (x[j] - mean) * inv * scale[j * p->scale_step];
            y[j] = bias ? v + bias[j * p->bias_step] : v;
        }
    }
    *mean_out = mean;
    *inv_out = inv;
}

/* Normalise one row of another float dtype, computing in double. */
static void
layer_norm_row_any(const struct layer_norm_job *p, int64_t r, double *mean_out,
                   double *inv_out)
{
    int64_t n = p->n, base = r * n;
    double mean = 0, var = 0;
    for (int64_t j = 0; j < n; j++)
        mean += rt_load_f64(p->x, p->dtype, base + j);
    mean /= (double)n;
    for (int64_t j = 0; j < n; j++) {
        double d = rt_load_f64(p->x, p->dtype, base + j) - mean;
        var += d * d;
    }
    var /= (double)n;
    double inv = 1.0 / sqrt(var + p->epsilon);
    for (int64_t j = 0; j < n; j++) {
        double v = (rt_load_f64(p->x, p->dtype, base + j) - mean) * inv;
        v *= rt_load_f64(p->scale, p->dtype, j * p->scale_step);
        if (p->bias)
            v += rt_load_f64(p->bias, p->dtype, j * p->bias_step);
        math_store_f64(p->y, p->dtype, base + j, v);
    }
    *mean_out = mean;
    *inv_out = inv;
}

static void
layer_norm_task(void *arg, int64_t t)
{
    const struct layer_norm_job *p = arg;
    int64_t r0 = t * p->rows_per_task;
    int64_t r1 =
        r0 + p->rows_per_task < p->rows ? r0 + p->rows_per_task : p->rows;
    for (int64_t r = r0; r < r1; r++) {
        double mean, inv;
        if (p->dtype == RT_FLOAT) {
            float fm, fi;
            layer_norm_row_f32(p, (const float *)p->x + r * p->n,
                               (float *)p->y + r * p->n, &fm, &fi);
            mean = fm;
            inv = fi;
        } else {
            layer_norm_row_any(p, r, &mean, &inv);
        }
        if (p->mean)
            math_store_f64(p->mean, p->stat_dtype, r, mean);
        if (p->inv_std)
            math_store_f64(p->inv_std, p->stat_dtype, r, inv);
    }
}

/*
 * LayerNormalization (opset 17) over the trailing dims from axis on,
 * viewed as [rows, n].  ints: rows, n, scale step, bias step (1 when Scale
 * or B has n elements, 0 when it has one).  floats: epsilon.  Inputs X,
 * Scale, optional B; outputs Y and the optional Mean and InvStdDev, each
 * [rows] in their own float dtype.  Float input is computed in float
 * (stash_type 1); double input in double.
 */
int
rt_kernel_layer_norm(struct rt_ctx *ctx, const struct rt_node *node,
                     void *const *bufs)
{
    if (node->n_ints != 4 || node->n_floats != 1 || node->n_inputs < 2)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT, "bad parameters");
    int ni = node->n_inputs, no = node->n_outputs;
    struct layer_norm_job p = {
        .dtype = node->descs[0].dtype,
        .rows = node->ints[0],
        .n = node->ints[1],
        .scale_step = node->ints[2],
        .bias_step = node->ints[3],
        .epsilon = node->floats[0],
        .x = bufs[0],
        .scale = bufs[1],
        .bias = ni > 2 ? bufs[2] : NULL,
        .y = bufs[ni],
        .mean = no > 1 ? bufs[ni + 1] : NULL,
        .inv_std = no > 2 ? bufs[ni + 2] : NULL,
    };
    if (!math_is_float(p.dtype))
        return rt_fail(ctx, node, RT_ERR_SHAPE, "dtype %d is not supported",
                       (int)p.dtype);
    if (no > 1 && node->descs[ni + 1].dtype)
        p.stat_dtype = node->descs[ni + 1].dtype;
    else if (no > 2)
        p.stat_dtype = node->descs[ni + 2].dtype;
    if (p.n == 0) {
        /* NOTE: mean and variance of an empty row are NaN, as in numpy. */
        for (int64_t r = 0; r < p.rows; r++) {
            if (p.mean)
                math_store_f64(p.mean, p.stat_dtype, r, NAN);
            if (p.inv_std)
                math_store_f64(p.inv_std, p.stat_dtype, r, NAN);
        }
        return RT_OK;
    }
    if (p.rows == 0)
        return RT_OK;
    p.rows_per_task = ROW_WORK / p.n > 0 ? ROW_WORK / p.n : 1;
    rt_parallel_for(ctx->pool, (p.rows + p.rows_per_task - 1) / p.rows_per_task,
                    layer_norm_task, &p);
    return RT_OK;
}

/*
 * Running sums down the middle axis for columns c0..c1 of one outer index.
 * exclusive leaves out the element itself; reverse runs from the end.
 * Integers wrap around on overflow.
 */
#define DEFINE_SCAN(name, T, U)                                                \
    static void name(const T *x, T *y, int64_t n, int64_t inner, int64_t c0,   \
                     int64_t c1, int exclusive, int reverse)                   \
    {                                                                          \
        int64_t first = reverse ? n - 1 : 0;                                   \
        for (int64_t c = c0; c < c1; c++)                                      \
            y[first * inner + c] = exclusive ? (T)0 : x[first * inner + c];    \
        for (int64_t s = 1; s < n; s++) {                                      \
            int64_t k = reverse ? n - 1 - s : s;                               \
            int64_t prev = reverse ? k + 1 : k - 1;                            \
            T *restrict yk = y + k * inner;                                    \
            const T *restrict yp = y + prev * inner;                           \
            const T *restrict xs = x + (exclusive ? prev : k) * inner;         \
            for (int64_t c = c0; c < c1; c++)                                  \
                yk[c] = (T)((U)yp[c] + (U)xs[c]);                              \
        }                                                                      \
    }

DEFINE_SCAN(scan_f32, float, float)
DEFINE_SCAN(scan_f64, double, double)
DEFINE_SCAN(scan_i32, int32_t, uint32_t)
DEFINE_SCAN(scan_u32, uint32_t, uint32_t)
DEFINE_SCAN(scan_i64, int64_t, uint64_t)
DEFINE_SCAN(scan_u64, uint64_t, uint64_t)

static void
cumsum_task(void *arg, int64_t t)
{
    const struct axis_job *p = arg;
    int64_t o = t / p->chunks;
    int64_t c0 = t % p->chunks * SCAN_CHUNK;
    int64_t c1 = c0 + SCAN_CHUNK < p->inner ? c0 + SCAN_CHUNK : p->inner;
    int64_t off = o * p->n * p->inner;
    int excl = p->mode & 1, rev = p->mode >> 1 & 1;
    switch (p->dtype) {
    case RT_FLOAT:
        scan_f32((const float *)p->x + off, (float *)p->y + off, p->n, p->inner,
                 c0, c1, excl, rev);
        break;
    case RT_DOUBLE:
        scan_f64((const double *)p->x + off, (double *)p->y + off, p->n,
                 p->inner, c0, c1, excl, rev);
        break;
    case RT_INT32:
        scan_i32((const int32_t *)p->x + off, (int32_t *)p->y + off, p->n,
                 p->inner, c0, c1, excl, rev);
        break;
    case RT_UINT32:
        scan_u32((const uint32_t *)p->x + off, (uint32_t *)p->y + off, p->n,
                 p->inner, c0, c1, excl, rev);
        break;
    case RT_INT64:
        scan_i64((const int64_t *)p->x + off, (int64_t *)p->y + off, p->n,
                 p->inner, c0, c1, excl, rev);
        break;
    case RT_UINT64:
        scan_u64((const uint64_t *)p->x + off, (uint64_t *)p->y + off, p->n,
                 p->inner, c0, c1, excl, rev);
        break;
    default:
        break;
    }
}

/*
 * CumSum.  ints: exclusive, reverse.  Inputs x and the axis (an int32 or
 * int64 scalar, read here because it may be run-time data); output y like
 * x.  float, double, int32, uint32, int64, uint64.
 */
int
rt_kernel_cumsum(struct rt_ctx *ctx, const struct rt_node *node,
                 void *const *bufs)
{
    if (node->n_ints != 2 || node->n_inputs != 2)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT, "bad parameters");
    const struct rt_desc *xd = &node->descs[0], *ad = &node->descs[1];
    if (rt_numel(ad) != 1 || (ad->dtype != RT_INT32 && ad->dtype != RT_INT64))
        return rt_fail(ctx, node, RT_ERR_SHAPE,
                       "the axis must be one int32 or int64 value");
    int64_t axis = rt_load_i64(bufs[1], ad->dtype, 0);
    if (axis < -xd->rank || axis >= xd->rank)
        return rt_fail(ctx, node, RT_ERR_RUNTIME,
                       "axis %lld is out of range for rank %d", (long long)axis,
                       (int)xd->rank);
    if (axis < 0)
        axis += xd->rank;

    struct axis_job p = {
        .dtype = xd->dtype,
        .outer = 1,
        .n = xd->dims[axis],
        .inner = 1,
        .mode = (int)((node->ints[0] != 0) | (node->ints[1] != 0) << 1),
        .x = bufs[0],
        .y = bufs[node->n_inputs],
    };
    for (int i = 0; i < xd->rank; i++) {
        if (i < axis)
            p.outer *= xd->dims[i];
        else if (i > axis)
            p.inner *= xd->dims[i];
    }
    switch (p.dtype) {
    case RT_FLOAT:
    case RT_DOUBLE:
    case RT_INT32:
    case RT_UINT32:
    case RT_INT64:
    case RT_UINT64:
        break;
    default:
        return rt_fail(ctx, node, RT_ERR_SHAPE, "dtype %d is not supported",
                       (int)p.dtype);
    }
    if (p.outer == 0 || p.n == 0 || p.inner == 0)
        return RT_OK;
    p.chunks = (p.inner + SCAN_CHUNK - 1) / SCAN_CHUNK;
    rt_parallel_for(ctx->pool, p.outer * p.chunks, cumsum_task, &p);
    return RT_OK;
}

/* One BatchNormalization or InstanceNormalization over [N, C, D]. */
struct batch_norm_job {
    int32_t dtype;
    int64_t n, c, d;
    int mode;
    double epsilon, momentum;
    const void *x, *scale, *bias, *mean, *var;
    int32_t scale_dtype, bias_dtype, mean_dtype, var_dtype, out_stat_dtype;
    void *y, *running_mean, *running_var;
};

/* Mean and population variance of x[n, c, :] for n in [n0, n1), in double. */
static void
channel_stats(const struct batch_norm_job *p, int64_t c, int64_t n0, int64_t n1,
              double *mean, double *var)
{
    double sum = 0, count = (double)((n1 - n0) * p->d);
    for (int64_t n = n0; n < n1; n++)
        for (int64_t j = 0; j < p->d; j++)
            sum += rt_load_f64(p->x, p->dtype, (n * p->c + c) * p->d + j);
    *mean = sum / count;
    double sq = 0;
    for (int64_t n = n0; n < n1; n++)
        for (int64_t j = 0; j < p->d; j++) {
            double v =
                rt_load_f64(p->x, p->dtype, (n * p->c + c) * p->d + j) - *mean;
            sq += v * v;
        }
    *var = sq / count;
}

/* y[n, c, :] = x * a + b for n in [n0, n1). */
static void
scale_channel(const struct batch_norm_job *p, int64_t c, int64_t n0, int64_t n1,
              double mean, double var)
{
    double a =
        rt_load_f64(p->scale, p->scale_dtype, c) / sqrt(var + p->epsilon);
    double b = rt_load_f64(p->bias, p->bias_dtype, c) - mean * a;
    for (int64_t n = n0; n < n1; n++) {
        int64_t at = (n * p->c + c) * p->d;
        if (p->dtype == RT_FLOAT) {
            const float *x = (const float *)p->x + at;
            float *y = (float *)p->y + at;
            float fa = (float)a, fb = (float)b;
            for (int64_t j = 0; j < p->d; j++)
                y[j] = x[j] * fa + fb;
        } else {
            const double *x = (const double *)p->x + at;
            double *y = (double *)p->y + at;
            for (int64_t j = 0; j < p->d; j++)
                y[j] = x[j] * a + b;
        }
    }
}

/* Task i: channel i for the batch modes, (n, c) = divmod(i, C) otherwise. */
static void
batch_norm_task(void *arg, int64_t i)
{
    const struct batch_norm_job *p = arg;
    double mean, var;
    if (p->mode == RT_NORM_INSTANCE) {
        int64_t n = i / p->c, c = i % p->c;
        channel_stats(p, c, n, n + 1, &mean, &var);
        scale_channel(p, c, n, n + 1, mean, var);
        return;
    }
    int64_t c = i;
    if (p->mode == RT_NORM_BATCH_TRAINING) {
        channel_stats(p, c, 0, p->n, &mean, &var);
        double keep = p->momentum, take = 1 - p->momentum;
        if (p->running_mean)
            math_store_f64(p->running_mean, p->out_stat_dtype, c,
                           rt_load_f64(p->mean, p->mean_dtype, c) * keep +
                               mean * take);
        if (p->running_var)
            math_store_f64(p->running_var, p->out_stat_dtype, c,
                           rt_load_f64(p->var, p->var_dtype, c) * keep +
                               var * take);
    } else {
        mean = rt_load_f64(p->mean, p->mean_dtype, c);
        var = rt_load_f64(p->var, p->var_dtype, c);
    }
    scale_channel(p, c, 0, p->n, mean, var);
}

/*
 * BatchNormalization and InstanceNormalization over x viewed as [N, C, D]:
 * y = scale[c] * (x - mean) / sqrt(var + epsilon) + bias[c].  The mode
 * (enum rt_norm_mode) selects where mean and var come from.  In training
 * mode the optional outputs 1 and 2 receive the running statistics
 * input * momentum + batch * (1 - momentum), with the population variance
 * of the batch.  Statistics are taken in double, two-pass.
 * ints: [N, C, D, mode].  floats: [epsilon, momentum].
 * descs: x, scale, bias, [mean, var,] y, [running_mean, running_var].
 */
int
rt_kernel_batch_norm(struct rt_ctx *ctx, const struct rt_node *node,
                     void *const *bufs)
{
    int ni = node->n_inputs, no = node->n_outputs;
    if (node->n_ints != 4 || node->n_floats != 2 || ni < 3 || no < 1)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT, "bad parameters");
    const struct rt_desc *d = node->descs;
    struct batch_norm_job p = {
        .dtype = d[0].dtype,
        .n = node->ints[0],
        .c = node->ints[1],
        .d = node->ints[2],
        .mode = (int)node->ints[3],
        .epsilon = node->floats[0],
        .momentum = node->floats[1],
        .x = bufs[0],
        .scale = bufs[1],
        .bias = bufs[2],
        .mean = ni > 3 ? bufs[3] : NULL,
        .var = ni > 4 ? bufs[4] : NULL,
        .scale_dtype = d[1].dtype,
        .bias_dtype = d[2].dtype,
        .mean_dtype = ni > 3 ? d[3].dtype : 0,
        .var_dtype = ni > 4 ? d[4].dtype : 0,
        .y = bufs[ni],
        .running_mean = no > 1 ? bufs[ni + 1] : NULL,
        .running_var = no > 2 ? bufs[ni + 2] : NULL,
    };
    if (!math_is_float(p.dtype))
        return rt_fail(ctx, node, RT_ERR_SHAPE, "dtype %d is not supported",
                       (int)p.dtype);
    if (p.mode != RT_NORM_INSTANCE && (!p.mean || !p.var))
        return rt_fail(ctx, node, RT_ERR_ARGUMENT,
                       "the mean and variance inputs are missing");
    if (no > 1 && d[ni + 1].dtype)
        p.out_stat_dtype = d[ni + 1].dtype;
    else if (no > 2)
        p.out_stat_dtype = d[ni + 2].dtype;
    int64_t tasks = p.mode == RT_NORM_INSTANCE ? p.n * p.c : p.c;
    if (p.d == 0 || p.n == 0) {
        /* NOTE: statistics of no elements are NaN, as in numpy. */
        if (p.mode != RT_NORM_BATCH_TRAINING)
            return RT_OK;
        tasks = 0;
        for (int64_t c = 0; c < p.c; c++) {
            if (p.running_mean)
                math_store_f64(p.running_mean, p.out_stat_dtype, c, NAN);
            if (p.running_var)
                math_store_f64(p.running_var, p.out_stat_dtype, c, NAN);
        }
    }
    rt_parallel_for(ctx->pool, tasks, batch_norm_task, &p);
    return RT_OK;
}

/*
 * LRN over x viewed as [N, C, D]: y = x / (bias + alpha / size * s)^beta,
 * s being the sum of squares over the channels c - floor((size - 1) / 2)
 * to c + ceil((size - 1) / 2) that exist.  Sums are taken in double.
 * ints: [N, C, D, size].  floats: [alpha, beta, bias].  descs: x, y.
 */
int
rt_kernel_lrn(struct rt_ctx *ctx, const struct rt_node *node, void *const *bufs)
{
    if (node->n_ints != 4 || node->n_floats != 3)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT, "bad parameters");
    int32_t dtype = node->descs[0].dtype;
    if (!math_is_float(dtype))
        return rt_fail(ctx, node, RT_ERR_SHAPE, "dtype %d is not supported",
                       (int)dtype);
    int64_t n_count = node->ints[0], c_count = node->ints[1];
    int64_t d_count = node->ints[2], size = node->ints[3];
    double alpha = node->floats[0], beta = node->floats[1];
    double bias = node->floats[2];
    int64_t before = (size - 1) / 2, after = size - 1 - before;
    for (int64_t n = 0; n < n_count; n++) {
        for (int64_t c = 0; c < c_count; c++) {
            int64_t lo = c - before < 0 ? 0 : c - before;
            int64_t hi = c + after >= c_count ? c_count - 1 : c + after;
            for (int64_t d = 0; d < d_count; d++) {
                double s = 0;
                for (int64_t k = lo; k <= hi; k++) {
                    double v = rt_load_f64(bufs[0], dtype,
                                           (n * c_count + k) * d_count + d);
                    s += v * v;
                }
                int64_t i = (n * c_count + c) * d_count + d;
                double x = rt_load_f64(bufs[0], dtype, i);
                math_store_f64(bufs[1], dtype, i,
                               x / pow(bias + alpha / (double)size * s, beta));
            }
        }
    }
    return RT_OK;
}
