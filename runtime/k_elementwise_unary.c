/*
 * Elementwise kernels of one input: the math functions, the activations
 * (Relu, Sigmoid, Gelu, ...) and the tests IsNaN and IsInf.  Float and
 * double have their own loops.  The float loops of exp, expm1, tanh, erf
 * and sigmoid use the branch-free versions below, which clang vectorises,
 * and the rest call libm.
 */
#include "k_elementwise.h"
#include "rt_vmath.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

/* The float versions are in rt_vmath.h; the names pair with libm's. */
#define ew_expf rt_expf
#define ew_expm1f rt_expm1f
#define ew_tanhf rt_tanhf
#define ew_sigmoidf rt_sigmoidf
#define ew_erff rt_erff

/* Double precision keeps libm; these names pair with the float ones. */
#define ew_exp exp
#define ew_expm1 expm1
#define ew_tanh tanh
#define ew_erf erf

static inline double
ew_sigmoid(double x)
{
    double e = exp(-fabs(x));
    double s = 1 / (1 + e);
    return x >= 0 ? s : e * s;
}

/* Attribute values of the op; each loop reads the ones it needs. */
struct unary_args {
    double alpha, beta, gamma;
    bool detect_pos, detect_neg;
};

typedef void (*unary_fn)(const void *x, void *y, int64_t n,
                         const struct unary_args *args);

/* Define loop `name` computing y = EXPR from each element v of x. */
#define DEF_UNARY(name, TX, TY, EXPR)                                          \
    static void name(const void *px, void *py, int64_t n,                      \
                     const struct unary_args *p)                               \
    {                                                                          \
        const TX *restrict x = px;                                             \
        TY *restrict y = py;                                                   \
        const TX alpha = (TX)p->alpha;                                         \
        const TX beta = (TX)p->beta;                                           \
        const TX gamma = (TX)p->gamma;                                         \
        const bool pos = p->detect_pos, neg = p->detect_neg;                   \
        (void)alpha, (void)beta, (void)gamma, (void)pos, (void)neg;            \
        for (int64_t i = 0; i < n; i++) {                                      \
            TX v = x[i];                                                       \
            y[i] = (TY)(EXPR);                                                 \
        }                                                                      \
    }

#define SQRT_HALF 0.70710678118654752440
#define SQRT_2_OVER_PI 0.79788456080286535588

/*
 * The float-only ops for float (suffix f, F = f) and double (F empty).
 * F pasted to a function name picks the version: sinf or sin, ew_erff or
 * ew_erf.  Celu, Elu, Selu, Relu, LeakyRelu and Sign compare with `<` so
 * that NaN passes through, as numpy's reference does; Shrink and
 * ThresholdedRelu map NaN to 0, as their reference's np.where does. HardSigmoid
 * clamps the same way.
 */
#define DEF_FLOAT_UNARY(s, T, F)                                               \
    DEF_UNARY(abs_##s, T, T, fabs##F(v))                                       \
    DEF_UNARY(acos_##s, T, T, acos##F(v))                                      \
    DEF_UNARY(acosh_##s, T, T, acosh##F(v))                                    \
    DEF_UNARY(asin_##s, T, T, asin##F(v))                                      \
    DEF_UNARY(asinh_##s, T, T, asinh##F(v))                                    \
    DEF_UNARY(atan_##s, T, T, atan##F(v))                                      \
    DEF_UNARY(atanh_##s, T, T, atanh##F(v))                                    \
    DEF_UNARY(ceil_##s, T, T, ceil##F(v))                                      \
    DEF_UNARY(celu_##s, T, T, v < 0 ? alpha * ew_expm1##F(v / alpha) : v)      \
    DEF_UNARY(cos_##s, T, T, cos##F(v))                                        \
    DEF_UNARY(cosh_##s, T, T, cosh##F(v))                                      \
    DEF_UNARY(elu_##s, T, T, v < 0 ? alpha * ew_expm1##F(v) : v)               \
    DEF_UNARY(erf_##s, T, T, ew_erf##F(v))                                     \
    DEF_UNARY(exp_##s, T, T, ew_exp##F(v))                                     \
    DEF_UNARY(floor_##s, T, T, floor##F(v))                                    \
    DEF_UNARY(gelu_##s, T, T,                                                  \
              (T)0.5 * v * ((T)1 + ew_erf##F(v * (T)SQRT_HALF)))               \
    DEF_UNARY(gelu_tanh_##s, T, T,                                             \
              (T)0.5 * v *                                                     \
                  ((T)1 + ew_tanh##F((T)SQRT_2_OVER_PI *                       \
                                     (v + (T)0.044715 * v * v * v))))          \
    DEF_UNARY(hard_sigmoid_##s, T, T, hsig_##s(v, alpha, beta))                \
    DEF_UNARY(hard_swish_##s, T, T, v *hsig_##s(v, (T)(1.0 / 6), (T)0.5))      \
    DEF_UNARY(is_inf_##s, T, uint8_t, isinf(v) && (v > 0 ? pos : neg))         \
    DEF_UNARY(is_nan_##s, T, uint8_t, v != v)                                  \
    DEF_UNARY(leaky_relu_##s, T, T, v < 0 ? alpha * v : v)                     \
    DEF_UNARY(log_##s, T, T, log##F(v))                                        \
    DEF_UNARY(neg_##s, T, T, -v)                                               \
    DEF_UNARY(reciprocal_##s, T, T, (T)1 / v)                                  \
    DEF_UNARY(relu_##s, T, T, v < 0 ? (T)0 : v)                                \
    DEF_UNARY(round_##s, T, T, rint##F(v))                                     \
    DEF_UNARY(selu_##s, T, T,                                                  \
              v <= 0 ? gamma * (alpha * ew_exp##F(v) - alpha) : gamma * v)     \
    DEF_UNARY(shrink_##s, T, T, shrink_value_##s(v, alpha, beta))              \
    DEF_UNARY(sigmoid_##s, T, T, ew_sigmoid##F(v))                             \
    DEF_UNARY(sign_##s, T, T, v > 0 ? (T)1 : v < 0 ? (T) - 1 : v)              \
    DEF_UNARY(sin_##s, T, T, sin##F(v))                                        \
    DEF_UNARY(sinh_##s, T, T, sinh##F(v))                                      \
    DEF_UNARY(softplus_##s, T, T,                                              \
              v > 0 ? v + log1p##F(ew_exp##F(-v)) : log1p##F(ew_exp##F(v)))    \
    DEF_UNARY(softsign_##s, T, T, v / ((T)1 + fabs##F(v)))                     \
    DEF_UNARY(sqrt_##s, T, T, sqrt##F(v))                                      \
    DEF_UNARY(tan_##s, T, T, tan##F(v))                                        \
    DEF_UNARY(tanh_##s, T, T, ew_tanh##F(v))                                   \
    DEF_UNARY(thresholded_relu_##s, T, T, v > alpha ? v : (T)0)

/* max(0, min(1, alpha * v + beta)), keeping NaN. */
static inline float
hsig_f32(float v, float alpha, float beta)
{
    float t = alpha * v + beta;
    t = t < 0 ? 0 : t;
    return t > 1 ? 1 : t;
}

static inline double
hsig_f64(double v, double alpha, double beta)
{
    double t = alpha * v + beta;
    t = t < 0 ? 0 : t;
    return t > 1 ? 1 : t;
}

/* Shrink: v + bias below -lambd, v - bias above lambd, else 0. */
static inline float
shrink_value_f32(float v, float lambd, float bias)
{
    if (v < -lambd)
        return v + bias;
    if (v > lambd)
        return v - bias;
    return 0;
}

static inline double
shrink_value_f64(double v, double lambd, double bias)
{
    if (v < -lambd)
        return v + bias;
    if (v > lambd)
        return v - bias;
    return 0;
}

DEF_FLOAT_UNARY(f32, float, f)
DEF_FLOAT_UNARY(f64, double, )

/*
 * Integer ops: negation goes through the unsigned twin so that -MIN wraps
 * to MIN; Erf, which ONNX also defines on integers, truncates erf(v).
 */
#define DEF_SINT_UNARY(op, s, T, U, DT, LO, HI)                                \
    DEF_UNARY(abs_##s, T, T, v < 0 ? (U)0 - (U)v : (U)v)                       \
    DEF_UNARY(neg_##s, T, T, (U)0 - (U)v)                                      \
    DEF_UNARY(relu_##s, T, T, v < 0 ? 0 : v)                                   \
    DEF_UNARY(sign_##s, T, T, (v > 0) - (v < 0))                               \
    DEF_UNARY(erf_##s, T, T, erf((double)v))
#define DEF_UINT_UNARY(op, s, T, U, DT, LO, HI)                                \
    DEF_UNARY(abs_##s, T, T, v)                                                \
    DEF_UNARY(sign_##s, T, T, v > 0)                                           \
    DEF_UNARY(erf_##s, T, T, erf((double)v))
RT_EW_SINT(DEF_SINT_UNARY, unused)
RT_EW_UINT(DEF_UINT_UNARY, unused)
DEF_UNARY(not_b8, uint8_t, uint8_t, !v)

#define FLOATS(op) [RT_FLOAT] = op##_f32, [RT_DOUBLE] = op##_f64
#define SLOT(op, s, T, U, DT, LO, HI) [DT] = op##_##s,

static const unary_fn unary_loops[RT_EW_UNARY_COUNT][RT_BFLOAT16 + 1] = {
    [RT_EW_ABS] = {FLOATS(abs), RT_EW_INT(SLOT, abs)},
    [RT_EW_ACOS] = {FLOATS(acos)},
    [RT_EW_ACOSH] = {FLOATS(acosh)},
    [RT_EW_ASIN] = {FLOATS(asin)},
    [RT_EW_ASINH] = {FLOATS(asinh)},
    [RT_EW_ATAN] = {FLOATS(atan)},
    [RT_EW_ATANH] = {FLOATS(atanh)},
    [RT_EW_CEIL] = {FLOATS(ceil)},
    [RT_EW_COS] = {FLOATS(cos)},
    [RT_EW_COSH] = {FLOATS(cosh)},
    [RT_EW_CELU] = {FLOATS(celu)},
    [RT_EW_ELU] = {FLOATS(elu)},
    [RT_EW_ERF] = {FLOATS(erf), RT_EW_INT(SLOT, erf)},
    [RT_EW_EXP] = {FLOATS(exp)},
    [RT_EW_FLOOR] = {FLOATS(floor)},
    [RT_EW_GELU] = {FLOATS(gelu)},
    [RT_EW_GELU_TANH] = {FLOATS(gelu_tanh)},
    [RT_EW_HARD_SIGMOID] = {FLOATS(hard_sigmoid)},
    [RT_EW_HARD_SWISH] = {FLOATS(hard_swish)},
    [RT_EW_IS_INF] = {FLOATS(is_inf)},
    [RT_EW_IS_NAN] = {FLOATS(is_nan)},
    [RT_EW_LEAKY_RELU] = {FLOATS(leaky_relu)},
    [RT_EW_LOG] = {FLOATS(log)},
    [RT_EW_NEG] = {FLOATS(neg), RT_EW_SINT(SLOT, neg)},
    [RT_EW_NOT] = {[RT_BOOL] = not_b8},
    [RT_EW_RECIPROCAL] = {FLOATS(reciprocal)},
    [RT_EW_RELU] = {FLOATS(relu), RT_EW_SINT(SLOT, relu)},
    [RT_EW_ROUND] = {FLOATS(round)},
    [RT_EW_SELU] = {FLOATS(selu)},
    [RT_EW_SHRINK] = {FLOATS(shrink)},
    [RT_EW_SIGMOID] = {FLOATS(sigmoid)},
    [RT_EW_SIGN] = {FLOATS(sign), RT_EW_INT(SLOT, sign)},
    [RT_EW_SIN] = {FLOATS(sin)},
    [RT_EW_SINH] = {FLOATS(sinh)},
    [RT_EW_SOFTPLUS] = {FLOATS(softplus)},
    [RT_EW_SOFTSIGN] = {FLOATS(softsign)},
    [RT_EW_SQRT] = {FLOATS(sqrt)},
    [RT_EW_TAN] = {FLOATS(tan)},
    [RT_EW_TANH] = {FLOATS(tanh)},
    [RT_EW_THRESHOLDED_RELU] = {FLOATS(thresholded_relu)},
};

struct unary_job {
    unary_fn fn;
    const char *x;
    char *y;
    size_t x_size, y_size;
    struct unary_args args;
};

static void
unary_chunk(void *arg, int64_t begin, int64_t end)
{
    const struct unary_job *job = arg;
    job->fn(job->x + (size_t)begin * job->x_size,
            job->y + (size_t)begin * job->y_size, end - begin, &job->args);
}

/*
 * y = f(x) elementwise.
 * ints: [0] op, an enum rt_ew_unary_op; [1] IsInf detect_positive and
 * [2] IsInf detect_negative (0 or 1), present for IsInf only.
 * floats: [0] alpha (Celu, Elu, HardSigmoid, LeakyRelu, Selu,
 * ThresholdedRelu) or lambd (Shrink).  [1] beta (HardSigmoid), gamma
 * (Selu) or bias (Shrink).  Ops without attributes have no floats.
 * descs: x, y.  y has x's dtype, except bool for IsInf and IsNaN.
 */
int
rt_kernel_unary(struct rt_ctx *ctx, const struct rt_node *node,
                void *const *bufs)
{
    if (node->n_inputs != 1 || node->n_outputs != 1 || node->n_ints < 1)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT,
                       "unary kernel needs 1 input, 1 output and an op");
    int64_t op = node->ints[0];
    const struct rt_desc *dx = &node->descs[0], *dy = &node->descs[1];
    unary_fn fn = NULL;
    if (op >= 0 && op < RT_EW_UNARY_COUNT && dx->dtype >= 0 &&
        dx->dtype <= RT_BFLOAT16)
        fn = unary_loops[op][dx->dtype];
    if (!fn)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT,
                       "unary op %lld is not supported for dtype %d",
                       (long long)op, (int)dx->dtype);
    if (rt_numel(dx) != rt_numel(dy))
        return rt_fail(ctx, node, RT_ERR_SHAPE,
                       "output size differs from the input's");

    struct unary_job job = {
        .fn = fn,
        .x = bufs[0],
        .y = bufs[1],
        .x_size = rt_dtype_size(dx->dtype),
        .y_size = rt_dtype_size(dy->dtype),
    };
    if (node->n_floats > 0)
        job.args.alpha = node->floats[0];
    if (node->n_floats > 1)
        job.args.beta = job.args.gamma = node->floats[1];
    if (node->n_ints > 2) {
        job.args.detect_pos = node->ints[1] != 0;
        job.args.detect_neg = node->ints[2] != 0;
    }
    rt_ew_split(ctx, rt_numel(dx), unary_chunk, &job);
    return RT_OK;
}
