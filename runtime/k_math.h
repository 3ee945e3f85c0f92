/*
 * Kernels of the math group: matrix products (MatMul, Gemm, Einsum),
 * normalisations (Softmax, LogSoftmax, Hardmax, LayerNormalization),
 * CumSum, reductions, ArgMax/ArgMin and TopK.  Each kernel documents its
 * ints/floats layout above its definition.  The inline helpers at the end
 * are shared by the k_math*.c files and the fused kernels.
 */
#ifndef ONNXC_K_MATH_H
#define ONNXC_K_MATH_H

#include "rt.h"

#include <string.h>

/* ---- k_math.c: MatMul and Gemm ---- */

int rt_kernel_matmul(struct rt_ctx *ctx, const struct rt_node *node,
                     void *const *bufs);
int rt_kernel_gemm(struct rt_ctx *ctx, const struct rt_node *node,
                   void *const *bufs);

/* ---- k_math_integer.c: MatMulInteger and QLinearMatMul ---- */

int rt_kernel_int_product(struct rt_ctx *ctx, const struct rt_node *node,
                          void *const *bufs);

/* ---- k_math_det.c ---- */

int rt_kernel_det(struct rt_ctx *ctx, const struct rt_node *node,
                  void *const *bufs);

/* ---- k_math_einsum.c ---- */

int rt_kernel_einsum(struct rt_ctx *ctx, const struct rt_node *node,
                     void *const *bufs);

/* ---- k_math_norm.c: Softmax family, LayerNormalization, CumSum ---- */

int rt_kernel_softmax(struct rt_ctx *ctx, const struct rt_node *node,
                      void *const *bufs);
int rt_kernel_layer_norm(struct rt_ctx *ctx, const struct rt_node *node,
                         void *const *bufs);
int rt_kernel_cumsum(struct rt_ctx *ctx, const struct rt_node *node,
                     void *const *bufs);
int rt_kernel_batch_norm(struct rt_ctx *ctx, const struct rt_node *node,
                         void *const *bufs);
int rt_kernel_lrn(struct rt_ctx *ctx, const struct rt_node *node,
                  void *const *bufs);

/* The statistics rt_kernel_batch_norm normalises with, its ints[3]. */
enum rt_norm_mode {
    RT_NORM_BATCH_INFERENCE = 0, /* the mean and variance inputs */
    RT_NORM_BATCH_TRAINING = 1,  /* statistics of each channel */
    RT_NORM_INSTANCE = 2,        /* statistics of each (sample, channel) */
};

/* ---- k_math_reduce.c: Reduce*, ArgMax/ArgMin, TopK ---- */

/* The reduction that rt_kernel_reduce computes, its ints[0]. */
enum rt_reduce_op {
    RT_REDUCE_SUM = 0,
    RT_REDUCE_MEAN = 1,
    RT_REDUCE_PROD = 2,
    RT_REDUCE_MAX = 3,
    RT_REDUCE_MIN = 4,
    RT_REDUCE_L1 = 5,
    RT_REDUCE_L2 = 6,
    RT_REDUCE_SUM_SQUARE = 7,
    RT_REDUCE_LOG_SUM = 8,
    RT_REDUCE_LOG_SUM_EXP = 9,
};

/* The variant of rt_kernel_softmax, its ints[3]. */
enum rt_softmax_mode {
    RT_SOFTMAX = 0,
    RT_LOG_SOFTMAX = 1,
    RT_HARDMAX = 2,
};

int rt_kernel_reduce(struct rt_ctx *ctx, const struct rt_node *node,
                     void *const *bufs);
int rt_kernel_arg_reduce(struct rt_ctx *ctx, const struct rt_node *node,
                         void *const *bufs);
int rt_kernel_topk(struct rt_ctx *ctx, const struct rt_node *node,
                   void *const *bufs);

/* ---- k_math_loss.c: NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss ----
 */

/* The reduction of a loss kernel, its ints[3]. */
enum rt_loss_reduction {
    RT_LOSS_NONE = 0,
    RT_LOSS_SUM = 1,
    RT_LOSS_MEAN = 2,
};

int rt_kernel_nll_loss(struct rt_ctx *ctx, const struct rt_node *node,
                       void *const *bufs);

/* ---- k_rnn.c: RNN, GRU and LSTM ---- */

enum rt_rnn_kind { RT_RNN_SIMPLE = 0, RT_RNN_GRU = 1, RT_RNN_LSTM = 2 };

/* The gates of a recurrent layer: the row blocks of its W and R. */
static inline int
rt_rnn_gates(int kind)
{
    switch (kind) {
    case RT_RNN_LSTM:
        return 4;
    case RT_RNN_GRU:
        return 3;
    default:
        return 1;
    }
}

enum rt_rnn_direction {
    RT_RNN_FORWARD = 0,
    RT_RNN_REVERSE = 1,
    RT_RNN_BIDIRECTIONAL = 2,
};

/* Activation functions of the recurrent layers. */
enum rt_rnn_activation {
    RT_RNN_SIGMOID = 0,
    RT_RNN_TANH = 1,
    RT_RNN_RELU = 2,
    RT_RNN_AFFINE = 3,
    RT_RNN_LEAKY_RELU = 4,
    RT_RNN_THRESHOLDED_RELU = 5,
    RT_RNN_SCALED_TANH = 6,
    RT_RNN_HARD_SIGMOID = 7,
    RT_RNN_ELU = 8,
    RT_RNN_SOFTSIGN = 9,
    RT_RNN_SOFTPLUS = 10,
};

int rt_kernel_rnn(struct rt_ctx *ctx, const struct rt_node *node,
                  void *const *bufs);

/* ---- k_resize.c: Resize and Upsample ---- */

/* Interpolation modes of rt_kernel_resize, its ints[0]. */
enum rt_resize_mode {
    RT_RESIZE_NEAREST = 0,
    RT_RESIZE_LINEAR = 1,
    RT_RESIZE_CUBIC = 2,
};

/* Coordinate transformation modes, its ints[1]. */
enum rt_resize_coord {
    RT_RESIZE_HALF_PIXEL = 0,
    RT_RESIZE_ASYMMETRIC = 1,
    RT_RESIZE_ALIGN_CORNERS = 2,
    RT_RESIZE_PYTORCH_HALF_PIXEL = 3,
    RT_RESIZE_TF_CROP_AND_RESIZE = 4,
    RT_RESIZE_HALF_PIXEL_SYMMETRIC = 5,
    RT_RESIZE_TF_HALF_PIXEL_FOR_NN = 6, /* opset 11 only */
};

/* Rounding of the nearest mode, its ints[2]. */
enum rt_nearest_mode {
    RT_NEAREST_ROUND_PREFER_FLOOR = 0,
    RT_NEAREST_ROUND_PREFER_CEIL = 1,
    RT_NEAREST_FLOOR = 2,
    RT_NEAREST_CEIL = 3,
};

int rt_kernel_resize(struct rt_ctx *ctx, const struct rt_node *node,
                     void *const *bufs);

/* ---- k_quantize.c: QuantizeLinear, DequantizeLinear, dynamic ---- */

int rt_kernel_quantize(struct rt_ctx *ctx, const struct rt_node *node,
                       void *const *bufs);

/* ---- helpers shared by the k_math*.c files and the fused kernels ---- */

/* The sum of x[0..n) in eight lanes, so that it vectorises. */
static inline float
rt_sum_f32(const float *restrict x, int64_t n)
{
    float lane[8] = {0};
    int64_t j = 0;
    for (; j + 8 <= n; j += 8)
        for (int l = 0; l < 8; l++)
            lane[l] += x[j + l];
    float s = 0;
    for (; j < n; j++)
        s += x[j];
    for (int l = 0; l < 8; l++)
        s += lane[l];
    return s;
}

/*
 * exp(x) in float without libm calls, so that loops over it vectorise.
 * x = n ln2 + r with |r| <= ln2 / 2, and exp(r) is its degree-6 Taylor
 * polynomial: max relative error 2.5e-7 over [-87.33, 88], measured
 * against exp() in steps of 7e-4.  Below -87.33 the result is 0 (no
 * denormals), above 88 it saturates at exp(88), and NaN stays NaN.
 */
static inline float
rt_exp_f32(float x)
{
    const float magic = 12582912.0f; /* 1.5 * 2^23: rounds to an integer */
    float xc = x < -87.33f ? -87.33f : x;
    xc = xc > 88.0f ? 88.0f : xc;
    float t = xc * 1.44269504f + magic;
    float n = t - magic;
    float r = xc - n * 0.693145751953125f - n * 1.42860677e-6f;
    float p =
        1.0f +
        r * (1.0f +
             r * (0.5f +
                  r * (1.0f / 6 +
                       r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720))))));
    uint32_t tb, mb;
    memcpy(&tb, &t, sizeof(tb));
    memcpy(&mb, &magic, sizeof(mb));
    /* The low bits of t hold n; n + 127 is the exponent of 2^n. */
    uint32_t bits = (tb - mb + 127u) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof(scale));
    float v = p * scale;
    return x < -87.33f ? 0.0f : v;
}

/* Store v as element i of a floating-point tensor of dtype. */
static inline void
math_store_f64(void *p, int32_t dtype, int64_t i, double v)
{
    if (dtype == RT_FLOAT)
        ((float *)p)[i] = (float)v;
    else if (dtype == RT_DOUBLE)
        ((double *)p)[i] = v;
}

/* Store the low bits of v as element i of an integer tensor of dtype. */
static inline void
math_store_i64(void *p, int32_t dtype, int64_t i, int64_t v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof(u));
    switch (dtype) {
    case RT_INT8:
        ((int8_t *)p)[i] = (int8_t)u;
        break;
    case RT_UINT8:
        ((uint8_t *)p)[i] = (uint8_t)u;
        break;
    case RT_INT16:
        ((int16_t *)p)[i] = (int16_t)u;
        break;
    case RT_UINT16:
        ((uint16_t *)p)[i] = (uint16_t)u;
        break;
    case RT_INT32:
        ((int32_t *)p)[i] = (int32_t)u;
        break;
    case RT_UINT32:
        ((uint32_t *)p)[i] = (uint32_t)u;
        break;
    case RT_INT64:
        ((int64_t *)p)[i] = v;
        break;
    case RT_UINT64:
        ((uint64_t *)p)[i] = u;
        break;
    default:
        break;
    }
}

static inline int
math_is_float(int32_t dtype)
{
    return dtype == RT_FLOAT || dtype == RT_DOUBLE;
}

#endif
