/*
 * Kernels of the fused ops that the fusion passes create: RMSNorm,
 * SkipLayerNorm, Attention and FusedMatMul (MatMul with a bias, activation
 * and residual epilogue).  All of them take float32 only; each documents
 * its ints/floats layout above its definition.
 */
#ifndef ONNXC_K_FUSED_H
#define ONNXC_K_FUSED_H

#include "rt.h"

/* ---- k_fused.c: row normalisations ---- */

int rt_kernel_rms_norm(struct rt_ctx *ctx, const struct rt_node *node,
                       void *const *bufs);
int rt_kernel_skip_layer_norm(struct rt_ctx *ctx, const struct rt_node *node,
                              void *const *bufs);

/* ---- k_fused_attention.c ---- */

/* How Attention scales q or the scores, its ints[6] and ints[7]. */
enum rt_attention_scale {
    RT_ATTENTION_SCALE_NONE = 0,
    RT_ATTENTION_SCALE_MUL = 1,
    RT_ATTENTION_SCALE_DIV = 2,
};

/* How Attention applies its mask, its ints[8]. */
enum rt_attention_mask {
    RT_ATTENTION_MASK_NONE = 0,
    RT_ATTENTION_MASK_ADD = 1,       /* scores + mask */
    RT_ATTENTION_MASK_KEEP_TRUE = 2, /* Where(mask, scores, fill) */
    RT_ATTENTION_MASK_FILL_TRUE = 3, /* Where(mask, fill, scores) */
};

int rt_kernel_attention(struct rt_ctx *ctx, const struct rt_node *node,
                        void *const *bufs);

/* ---- k_fused_matmul.c ---- */

/* The activation of a FusedMatMul epilogue, its ints[3]. */
enum rt_fused_activation {
    RT_FUSED_ACT_NONE = 0,
    RT_FUSED_ACT_RELU = 1,
    RT_FUSED_ACT_GELU = 2,      /* erf form */
    RT_FUSED_ACT_GELU_TANH = 3, /* tanh approximation */
};

int rt_kernel_fused_matmul(struct rt_ctx *ctx, const struct rt_node *node,
                           void *const *bufs);

#endif
