/*
 * Elementwise kernels: unary math, casts, numpy-broadcasting binary ops,
 * variadic folds (Max, Min, Sum, Mean), Where, Clip and copies.  The op
 * codes below are the first kernel parameter, so one kernel serves many
 * ONNX ops.  This header needs only libc.
 */
#ifndef ONNXC_K_ELEMENTWISE_H
#define ONNXC_K_ELEMENTWISE_H

#include "rt.h"

/* ints[0] of rt_kernel_unary. */
enum rt_ew_unary_op {
    RT_EW_ABS,
    RT_EW_ACOS,
    RT_EW_ACOSH,
    RT_EW_ASIN,
    RT_EW_ASINH,
    RT_EW_ATAN,
    RT_EW_ATANH,
    RT_EW_CEIL,
    RT_EW_CELU,
    RT_EW_COS,
    RT_EW_COSH,
    RT_EW_ELU,
    RT_EW_ERF,
    RT_EW_EXP,
    RT_EW_FLOOR,
    RT_EW_GELU,
    RT_EW_GELU_TANH,
    RT_EW_HARD_SIGMOID,
    RT_EW_HARD_SWISH,
    RT_EW_IS_INF,
    RT_EW_IS_NAN,
    RT_EW_LEAKY_RELU,
    RT_EW_LOG,
    RT_EW_NEG,
    RT_EW_NOT,
    RT_EW_RECIPROCAL,
    RT_EW_RELU,
    RT_EW_ROUND,
    RT_EW_SELU,
    RT_EW_SHRINK,
    RT_EW_SIGMOID,
    RT_EW_SIGN,
    RT_EW_SIN,
    RT_EW_SINH,
    RT_EW_SOFTPLUS,
    RT_EW_SOFTSIGN,
    RT_EW_SQRT,
    RT_EW_TAN,
    RT_EW_TANH,
    RT_EW_THRESHOLDED_RELU,
    RT_EW_UNARY_COUNT
};

/* ints[0] of rt_kernel_binary, and the fold op of rt_kernel_variadic. */
enum rt_ew_binary_op {
    RT_EW_ADD,
    RT_EW_SUB,
    RT_EW_MUL,
    RT_EW_DIV,
    RT_EW_POW,
    RT_EW_MOD,  /* integer: sign of the divisor, like Python's % */
    RT_EW_FMOD, /* sign of the dividend, like C's fmod and % */
    RT_EW_PRELU,
    RT_EW_EQUAL,
    RT_EW_GREATER,
    RT_EW_GREATER_EQUAL,
    RT_EW_LESS,
    RT_EW_LESS_EQUAL,
    RT_EW_AND,
    RT_EW_OR,
    RT_EW_XOR,
    RT_EW_SHIFT_LEFT,
    RT_EW_SHIFT_RIGHT,
    RT_EW_MAX,
    RT_EW_MIN,
    RT_EW_BINARY_COUNT
};

int rt_kernel_unary(struct rt_ctx *ctx, const struct rt_node *node,
                    void *const *bufs);
int rt_kernel_cast(struct rt_ctx *ctx, const struct rt_node *node,
                   void *const *bufs);
int rt_kernel_dropout(struct rt_ctx *ctx, const struct rt_node *node,
                      void *const *bufs);
int rt_kernel_copy(struct rt_ctx *ctx, const struct rt_node *node,
                   void *const *bufs);
int rt_kernel_clip(struct rt_ctx *ctx, const struct rt_node *node,
                   void *const *bufs);
int rt_kernel_binary(struct rt_ctx *ctx, const struct rt_node *node,
                     void *const *bufs);
int rt_kernel_variadic(struct rt_ctx *ctx, const struct rt_node *node,
                       void *const *bufs);
int rt_kernel_where(struct rt_ctx *ctx, const struct rt_node *node,
                    void *const *bufs);

/*
 * Shared by the elementwise kernel files: run fn(arg, begin, end) over
 * [0, n) in chunks of about RT_EW_CHUNK elements, on ctx's thread pool
 * when n exceeds RT_EW_PARALLEL_MIN, else in one call on this thread.
 */
#define RT_EW_PARALLEL_MIN 65536
#define RT_EW_CHUNK 16384
void rt_ew_split(struct rt_ctx *ctx, int64_t n,
                 void (*fn)(void *arg, int64_t begin, int64_t end), void *arg);

/*
 * Cast's string cases, in k_elementwise_string.c: n numbers of dtype from
 * to strings kept in ctx->strings, and n strings to numbers of dtype to.
 * rt_cast_from_double converts one double as Cast does (saturating).
 */
int rt_cast_to_string(struct rt_ctx *ctx, const struct rt_node *node,
                      const void *x, int32_t from, const char **y, int64_t n);
int rt_cast_from_string(struct rt_ctx *ctx, const struct rt_node *node,
                        const char *const *x, void *y, int32_t to, int64_t n);
void rt_cast_from_double(const double *v, int32_t to, void *y);

/*
 * Type lists for the kernel files, expanded as
 *   X(op, suffix, C type, unsigned twin, dtype, lowest, highest)
 * with op passed through.  Integer arithmetic goes through the unsigned
 * twin, so it wraps instead of overflowing.  The float limits need
 * <math.h>.
 */
#define RT_EW_FLOAT(X, op)                                                     \
    X(op, f32, float, float, RT_FLOAT, -INFINITY, INFINITY)                    \
    X(op, f64, double, double, RT_DOUBLE, -INFINITY, INFINITY)
#define RT_EW_SINT(X, op)                                                      \
    X(op, i8, int8_t, uint8_t, RT_INT8, INT8_MIN, INT8_MAX)                    \
    X(op, i16, int16_t, uint16_t, RT_INT16, INT16_MIN, INT16_MAX)              \
    X(op, i32, int32_t, uint32_t, RT_INT32, INT32_MIN, INT32_MAX)              \
    X(op, i64, int64_t, uint64_t, RT_INT64, INT64_MIN, INT64_MAX)
#define RT_EW_UINT(X, op)                                                      \
    X(op, u8, uint8_t, uint8_t, RT_UINT8, 0, UINT8_MAX)                        \
    X(op, u16, uint16_t, uint16_t, RT_UINT16, 0, UINT16_MAX)                   \
    X(op, u32, uint32_t, uint32_t, RT_UINT32, 0, UINT32_MAX)                   \
    X(op, u64, uint64_t, uint64_t, RT_UINT64, 0, UINT64_MAX)
#define RT_EW_BOOL(X, op) X(op, b8, uint8_t, uint8_t, RT_BOOL, 0, 1)
#define RT_EW_INT(X, op) RT_EW_SINT(X, op) RT_EW_UINT(X, op)
#define RT_EW_SIGNED(X, op) RT_EW_FLOAT(X, op) RT_EW_SINT(X, op)
#define RT_EW_NUM(X, op) RT_EW_FLOAT(X, op) RT_EW_INT(X, op)

#endif
