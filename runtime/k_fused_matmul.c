/*
 * MatMul with an epilogue: y = act(x W + bias) [+ residual], for a
 * constant 2-D W.  One call of the GEMM core (k_gemm.c) computes it.  The
 * core adds the bias, applies the activation and adds the residual to each
 * register tile right after its product.  It reads W as packed panels when
 * the layout pass packed W at compile time.
 */
#include "k_fused.h"
#include "k_gemm.h"

/*
 * FusedMatMul: Y = act(X W + bias) [+ residual].  ints: M (rows of X
 * after folding its leading dims), K, N, activation (enum
 * rt_fused_activation) and 1 if a residual is given.  Two optional ints
 * follow: the panel width of the GEMM core and 1 if W is in the packed
 * layout of rt_gemm_pack_b.  Without them W is unpacked and the default
 * width applies.  Inputs X [M, K], W [K, N], bias [N], optional residual
 * [M, N]; output Y [M, N].  float32 only.
 */
int
rt_kernel_fused_matmul(struct rt_ctx *ctx, const struct rt_node *node,
                       void *const *bufs)
{
    if ((node->n_ints != 5 && node->n_ints != 7) || node->n_inputs < 3 ||
        node->n_inputs > 4)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT, "bad parameters");
    int64_t nr = RT_GEMM_NR_DEFAULT, packed = 0;
    if (node->n_ints == 7) {
        nr = node->ints[5];
        packed = node->ints[6];
        if (!rt_gemm_valid_panel(nr) || (packed != 0 && packed != 1))
            return rt_fail(ctx, node, RT_ERR_ARGUMENT, "bad parameters");
    }
    int64_t act = node->ints[3];
    if (act < RT_FUSED_ACT_NONE || act > RT_FUSED_ACT_GELU_TANH)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT, "bad parameters");
    for (int i = 0; i < node->n_inputs; i++)
        if (node->descs[i].dtype != RT_FLOAT)
            return rt_fail(ctx, node, RT_ERR_SHAPE,
                           "input %d has dtype %d; only float32 is "
                           "supported",
                           i, (int)node->descs[i].dtype);
    int64_t m = node->ints[0], k = node->ints[1], n = node->ints[2];
    const float *residual =
        node->ints[4] && node->n_inputs > 3 ? bufs[3] : NULL;
    struct rt_gemm g = {
        .m = m,
        .n = n,
        .k = k,
        .alpha = 1.0f,
        .a = bufs[0],
        .a_rs = k,
        .a_cs = 1,
        .b = {.data = bufs[1],
              .rs = n,
              .cs = 1,
              .nr = (int32_t)nr,
              .packed = (int32_t)packed},
        .c = bufs[node->n_inputs],
        .ldc = n,
        .ep = {.beta = 0.0f,
               .bias = bufs[2],
               .activation = (int32_t)act,
               .residual = residual,
               .residual_ld = n},
    };
    /* The core splits the product into tiles of rows and columns for the
     * pool, as MatMul does, and returns at once when M or N is 0. */
    rt_gemm_f32(ctx->pool, &g);
    return RT_OK;
}
