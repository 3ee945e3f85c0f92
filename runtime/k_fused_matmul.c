/*
 * MatMul with an epilogue: y = act(x W + bias) [+ residual], for a
 * constant 2-D W.  The product is the Gemm kernel's; the epilogue runs on
 * each block of rows right after the block's product, while it is still
 * in cache.  When there are too few rows to give every thread a block,
 * one Gemm uses the whole pool and the epilogue follows over rows.
 */
#include "k_fused.h"
#include "k_math.h"

#include <math.h>

enum {
    ROWS_PER_TASK = 48, /* block rows; a multiple of the Gemm tile rows */
};

struct fused_matmul_job {
    const struct rt_node *node;
    char *error;
    int64_t m, k, n;
    int act;
    const float *x, *w, *bias, *residual;
    float *y;
    int failed;
};

static void
epilogue_rows(const struct fused_matmul_job *p, int64_t r0, int64_t r1)
{
    for (int64_t r = r0; r < r1; r++) {
        float *restrict y = p->y + r * p->n;
        switch (p->act) {
        case RT_FUSED_ACT_RELU:
            for (int64_t j = 0; j < p->n; j++)
                y[j] = y[j] < 0 ? 0.0f : y[j];
            break;
        case RT_FUSED_ACT_GELU:
            for (int64_t j = 0; j < p->n; j++)
                y[j] = 0.5f * y[j] *
                       (1.0f + erff(y[j] * 0.70710678118654752f));
            break;
        case RT_FUSED_ACT_GELU_TANH:
            for (int64_t j = 0; j < p->n; j++) {
                float v = y[j];
                y[j] = 0.5f * v *
                       (1.0f + tanhf(0.79788456080286536f *
                                     (v + 0.044715f * v * v * v)));
            }
            break;
        default:
            break;
        }
        if (p->residual) {
            const float *restrict res = p->residual + r * p->n;
            for (int64_t j = 0; j < p->n; j++)
                y[j] += res[j];
        }
    }
}

/* y[r0..r1) = x[r0..r1) W + bias with the Gemm kernel. */
static int
gemm_rows(const struct fused_matmul_job *p, struct rt_pool *pool,
          int64_t r0, int64_t r1)
{
    int64_t rows = r1 - r0;
    struct rt_desc descs[4] = {
        {RT_FLOAT, 2, {rows, p->k}},
        {RT_FLOAT, 2, {p->k, p->n}},
        {RT_FLOAT, 1, {p->n}},
        {RT_FLOAT, 2, {rows, p->n}},
    };
    /* Gemm ints: M, K, N, transA, transB, C row step, C column step. */
    int64_t ints[7] = {rows, p->k, p->n, 0, 0, 0, 1};
    double floats[2] = {1.0, 1.0};
    struct rt_node gemm = {
        .name = p->node->name,
        .op_type = p->node->op_type,
        .n_inputs = 3,
        .n_outputs = 1,
        .n_ints = 7,
        .n_floats = 2,
        .descs = descs,
        .ints = ints,
        .floats = floats,
    };
    void *bufs[4] = {(void *)(p->x + r0 * p->k), (void *)p->w,
                     (void *)p->bias, p->y + r0 * p->n};
    struct rt_ctx ctx = {.pool = pool, .error = p->error};
    return rt_kernel_gemm(&ctx, &gemm, bufs);
}

static void
block_task(void *arg, int64_t t)
{
    struct fused_matmul_job *p = arg;
    int64_t r0 = t * ROWS_PER_TASK;
    int64_t r1 = r0 + ROWS_PER_TASK < p->m ? r0 + ROWS_PER_TASK : p->m;
    /* NOTE: the Gemm kernel fails only on a bad dtype, which the caller
     * checked, so failed stays 0 in practice. */
    if (gemm_rows(p, NULL, r0, r1) != RT_OK) {
        p->failed = 1;
        return;
    }
    epilogue_rows(p, r0, r1);
}

static void
epilogue_task(void *arg, int64_t t)
{
    const struct fused_matmul_job *p = arg;
    int64_t r0 = t * ROWS_PER_TASK;
    int64_t r1 = r0 + ROWS_PER_TASK < p->m ? r0 + ROWS_PER_TASK : p->m;
    epilogue_rows(p, r0, r1);
}

/*
 * FusedMatMul: Y = act(X W + bias) [+ residual].  ints: M (rows of X
 * after folding its leading dims), K, N, activation (enum
 * rt_fused_activation), 1 if a residual is given.  Inputs X [M, K], W [K,
 * N], bias [N], optional residual [M, N]; output Y [M, N].  float32 only.
 */
int
rt_kernel_fused_matmul(struct rt_ctx *ctx, const struct rt_node *node,
                       void *const *bufs)
{
    if (node->n_ints != 5 || node->n_inputs < 3 || node->n_inputs > 4)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT, "bad parameters");
    for (int i = 0; i < node->n_inputs; i++)
        if (node->descs[i].dtype != RT_FLOAT)
            return rt_fail(ctx, node, RT_ERR_SHAPE,
                           "input %d has dtype %d; only float32 is "
                           "supported", i, (int)node->descs[i].dtype);
    struct fused_matmul_job p = {
        .node = node,
        .error = ctx->error,
        .m = node->ints[0],
        .k = node->ints[1],
        .n = node->ints[2],
        .act = (int)node->ints[3],
        .x = bufs[0],
        .w = bufs[1],
        .bias = bufs[2],
        .residual = node->ints[4] && node->n_inputs > 3 ? bufs[3] : NULL,
        .y = bufs[node->n_inputs],
    };
    if (p.m == 0 || p.n == 0)
        return RT_OK;
    int64_t blocks = (p.m + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
    if (blocks >= 2 * (int64_t)rt_pool_size(ctx->pool)) {
        rt_parallel_for(ctx->pool, blocks, block_task, &p);
        if (p.failed)
            return RT_ERR_RUNTIME;
        return RT_OK;
    }
    int rc = gemm_rows(&p, ctx->pool, 0, p.m);
    if (rc != RT_OK)
        return rc;
    rt_parallel_for(ctx->pool, blocks, epilogue_task, &p);
    return RT_OK;
}
