/*
 * Row normalisations made by the fusion passes: RMSNorm (T5's LayerNorm
 * without centring) and SkipLayerNorm (a residual Add followed by
 * LayerNormalization).  Both view their input as [rows, n] and split rows
 * over the thread pool.  float32 only, computed in float32 as the
 * unfused ops compute it.
 */
#include "k_fused.h"
#include "k_math.h"

#include <math.h>

enum {
    ROW_WORK = 1 << 14, /* elements a task aims at */
};

/* The sum of (x[j] - c)^2 over [0, n), in eight lanes. */
static float
sum_sq8(const float *restrict x, int64_t n, float c)
{
    float lane[8] = {0};
    int64_t j = 0;
    for (; j + 8 <= n; j += 8)
        for (int l = 0; l < 8; l++)
            lane[l] += (x[j + l] - c) * (x[j + l] - c);
    float s = 0;
    for (; j < n; j++)
        s += (x[j] - c) * (x[j] - c);
    for (int l = 0; l < 8; l++)
        s += lane[l];
    return s;
}

/* One normalisation over rows of n elements and its buffers. */
struct norm_job {
    int64_t rows, n, rows_per_task;
    int64_t scale_step, bias_step; /* 1 per element, or 0 for a scalar */
    float epsilon;
    const float *x, *skip, *scale, *bias;
    float *y, *sum;
};

static int64_t
task_count(struct norm_job *p)
{
    p->rows_per_task = ROW_WORK / p->n > 0 ? ROW_WORK / p->n : 1;
    return (p->rows + p->rows_per_task - 1) / p->rows_per_task;
}

static void
rms_norm_task(void *arg, int64_t t)
{
    const struct norm_job *p = arg;
    int64_t r0 = t * p->rows_per_task;
    int64_t r1 =
        r0 + p->rows_per_task < p->rows ? r0 + p->rows_per_task : p->rows;
    int64_t n = p->n;
    for (int64_t r = r0; r < r1; r++) {
        const float *restrict x = p->x + r * n;
        float *restrict y = p->y + r * n;
        float ms = sum_sq8(x, n, 0.0f) / (float)n;
        float inv = 1.0f / sqrtf(ms + p->epsilon);
        if (p->scale_step == 1) {
            for (int64_t j = 0; j < n; j++)
                y[j] = x[j] * inv * p->scale[j];
        } else {
            for (int64_t j = 0; j < n; j++)
                y[j] = x[j] * inv * p->scale[0];
        }
    }
}

/*
 * RMSNorm over the last axis, viewed as [rows, n]: y = x / sqrt(mean(x^2)
 * + epsilon) * scale.  ints: rows, n, scale step (1 when Scale has n
 * elements, 0 when it has one).  floats: epsilon.  Inputs X, Scale;
 * output Y.
 */
int
rt_kernel_rms_norm(struct rt_ctx *ctx, const struct rt_node *node,
                   void *const *bufs)
{
    if (node->n_ints != 3 || node->n_floats != 1 || node->n_inputs != 2)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT, "bad parameters");
    if (node->descs[0].dtype != RT_FLOAT || node->descs[1].dtype != RT_FLOAT)
        return rt_fail(ctx, node, RT_ERR_SHAPE,
                       "dtype %d is not supported (float32 is)",
                       (int)node->descs[0].dtype);
    struct norm_job p = {
        .rows = node->ints[0],
        .n = node->ints[1],
        .scale_step = node->ints[2],
        .epsilon = (float)node->floats[0],
        .x = bufs[0],
        .scale = bufs[1],
        .y = bufs[2],
    };
    if (p.rows == 0 || p.n == 0)
        return RT_OK;
    rt_parallel_for(ctx->pool, task_count(&p), rms_norm_task, &p);
    return RT_OK;
}

static void
skip_layer_norm_task(void *arg, int64_t t)
{
    const struct norm_job *p = arg;
    int64_t r0 = t * p->rows_per_task;
    int64_t r1 =
        r0 + p->rows_per_task < p->rows ? r0 + p->rows_per_task : p->rows;
    int64_t n = p->n;
    for (int64_t r = r0; r < r1; r++) {
        const float *restrict a = p->x + r * n;
        const float *restrict b = p->skip + r * n;
        float *restrict y = p->y + r * n;
        /* y contains the sum until the last loop normalises it in place. */
        for (int64_t j = 0; j < n; j++)
            y[j] = a[j] + b[j];
        if (p->sum) {
            float *restrict s = p->sum + r * n;
            for (int64_t j = 0; j < n; j++)
                s[j] = y[j];
        }
        float mean = rt_sum_f32(y, n) / (float)n;
        float var = sum_sq8(y, n, mean) / (float)n;
        float inv = 1.0f / sqrtf(var + p->epsilon);
        for (int64_t j = 0; j < n; j++) {
            float v = (y[j] - mean) * inv * p->scale[j * p->scale_step];
            y[j] = p->bias ? v + p->bias[j * p->bias_step] : v;
        }
    }
}

/*
 * SkipLayerNorm: s = A + B, then LayerNormalization of s over the last
 * axis, viewed as [rows, n].  ints: rows, n, scale step, bias step (1
 * when Scale or Bias has n elements, 0 when it has one).  floats: epsilon.
 * Inputs A, B (both [rows, n]), Scale, optional Bias; outputs Y and the
 * optional sum s.
 */
int
rt_kernel_skip_layer_norm(struct rt_ctx *ctx, const struct rt_node *node,
                          void *const *bufs)
{
    int ni = node->n_inputs, no = node->n_outputs;
    if (node->n_ints != 4 || node->n_floats != 1 || ni < 3 || ni > 4 ||
        no < 1 || no > 2)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT, "bad parameters");
    for (int i = 0; i < ni; i++)
        if (node->descs[i].dtype != RT_FLOAT && node->descs[i].dtype != 0)
            return rt_fail(ctx, node, RT_ERR_SHAPE,
                           "input %d has dtype %d; only float32 is "
                           "supported",
                           i, (int)node->descs[i].dtype);
    struct norm_job p = {
        .rows = node->ints[0],
        .n = node->ints[1],
        .scale_step = node->ints[2],
        .bias_step = node->ints[3],
        .epsilon = (float)node->floats[0],
        .x = bufs[0],
        .skip = bufs[1],
        .scale = bufs[2],
        .bias = ni > 3 ? bufs[3] : NULL,
        .y = bufs[ni],
        .sum = no > 1 ? bufs[ni + 1] : NULL,
    };
    if (p.rows == 0 || p.n == 0)
        return RT_OK;
    rt_parallel_for(ctx->pool, task_count(&p), skip_layer_norm_task, &p);
    return RT_OK;
}
