/*
 * Elementwise kernels with numpy broadcasting: the binary ops, the variadic
 * folds (Max, Min, Sum, Mean), Where, Clip and the copies behind Identity
 * and Dropout.  One strided loop walks any broadcast.  It merges the dims
 * that every input reads contiguously, so a same-shape op, a scalar
 * operand and a bias row over the last dim all reach a flat inner loop.
 */
#include "k_elementwise.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#define MAX_IN 3

/*
 * The inner loop of a broadcast: n output elements, input k read from
 * in[k] with element step step[k], which is 0 (one value repeated) or 1.
 */
typedef void (*loop_fn)(const void *const *in, const int *step, void *out,
                        int64_t n, const void *args);

/* Extra state of a loop, for the ops that need it. */
struct loop_args {
    int32_t exp_dtype; /* Pow: dtype of the exponent */
};

/* ---- parallel chunks ---- */

struct split_job {
    void (*fn)(void *arg, int64_t begin, int64_t end);
    void *arg;
    int64_t n, chunk;
};

static void
split_run_chunk(void *arg, int64_t i)
{
    const struct split_job *job = arg;
    int64_t begin = i * job->chunk;
    int64_t end = begin + job->chunk < job->n ? begin + job->chunk : job->n;
    job->fn(job->arg, begin, end);
}

/*
 * Items here are whole rows of item_size elements, so the size of a chunk
 * is counted in elements, not rows.
 */
static void
split_items(struct rt_ctx *ctx, int64_t n, int64_t item_size,
            void (*fn)(void *arg, int64_t begin, int64_t end), void *arg)
{
    if (n <= 0)
        return;
    if (item_size < 1)
        item_size = 1;
    if (!ctx || !ctx->pool || n * item_size <= RT_EW_PARALLEL_MIN) {
        fn(arg, 0, n);
        return;
    }
    struct split_job job = {fn, arg, n, RT_EW_CHUNK / item_size};
    if (job.chunk < 1)
        job.chunk = 1;
    rt_parallel_for(ctx->pool, (n + job.chunk - 1) / job.chunk, split_run_chunk,
                    &job);
}

void
rt_ew_split(struct rt_ctx *ctx, int64_t n,
            void (*fn)(void *arg, int64_t begin, int64_t end), void *arg)
{
    split_items(ctx, n, 1, fn, arg);
}

/* ---- the broadcast plan ---- */

/*
 * A broadcast reduced to its essentials: an odometer over the outer dims
 * and an inner loop over the last one.  Output dims of size 1 are dropped
 * and neighbouring dims merged wherever every input reads them as one.
 */
struct plan {
    int n_in;
    const char *in[MAX_IN];
    size_t in_size[MAX_IN];
    char *out;
    size_t out_size;
    int rank; /* >= 1 */
    int64_t dims[RT_MAX_RANK];
    int64_t strides[MAX_IN][RT_MAX_RANK]; /* in elements; 0 repeats */
    int step[MAX_IN];                     /* strides of the last dim */
    int64_t inner, outer;
    loop_fn fn;
    const void *args;
};

/* Fill p for output y; returns -1 if an input does not broadcast to y. */
static int
plan_init(struct plan *p, const struct rt_desc *y, void *out,
          const struct rt_desc *const *ins, const void *const *bufs, int n_in,
          loop_fn fn, const void *args)
{
    memset(p, 0, sizeof(*p));
    p->n_in = n_in;
    p->out = out;
    p->out_size = rt_dtype_size(y->dtype);
    p->fn = fn;
    p->args = args;
    if (y->rank < 0 || y->rank > RT_MAX_RANK)
        return -1;

    int64_t full[MAX_IN][RT_MAX_RANK];
    for (int k = 0; k < n_in; k++) {
        const struct rt_desc *d = ins[k];
        if (d->rank > y->rank)
            return -1;
        p->in[k] = bufs[k];
        p->in_size[k] = rt_dtype_size(d->dtype);
        int64_t stride = 1;
        for (int i = y->rank - 1; i >= 0; i--) {
            int j = i - (y->rank - d->rank);
            int64_t dim = j >= 0 ? d->dims[j] : 1;
            if (dim != y->dims[i] && dim != 1)
                return -1;
            full[k][i] = dim == 1 ? 0 : stride;
            stride *= dim;
        }
    }

    int rank = 0;
    for (int i = 0; i < y->rank; i++) {
        if (y->dims[i] == 1)
            continue;
        bool merge = rank > 0;
        for (int k = 0; k < n_in && merge; k++)
            merge = p->strides[k][rank - 1] == full[k][i] * y->dims[i];
        if (merge) {
            p->dims[rank - 1] *= y->dims[i];
            for (int k = 0; k < n_in; k++)
                p->strides[k][rank - 1] = full[k][i];
            continue;
        }
        p->dims[rank] = y->dims[i];
        for (int k = 0; k < n_in; k++)
            p->strides[k][rank] = full[k][i];
        rank++;
    }
    if (rank == 0) {
        p->dims[0] = 1;
        rank = 1;
    }
    p->rank = rank;
    p->inner = p->dims[rank - 1];
    p->outer = 1;
    for (int i = 0; i < rank - 1; i++)
        p->outer *= p->dims[i];
    for (int k = 0; k < n_in; k++)
        p->step[k] = p->strides[k][rank - 1] != 0;
    return 0;
}

/* Run rows [r0, r1) of the plan, columns [c0, c1) of each. */
static void
plan_run(const struct plan *p, int64_t r0, int64_t r1, int64_t c0, int64_t c1)
{
    int64_t idx[RT_MAX_RANK] = {0};
    int64_t off[MAX_IN] = {0};
    int64_t rem = r0;
    for (int d = p->rank - 2; d >= 0; d--) {
        idx[d] = rem % p->dims[d];
        rem /= p->dims[d];
        for (int k = 0; k < p->n_in; k++)
            off[k] += idx[d] * p->strides[k][d];
    }

    for (int64_t r = r0; r < r1; r++) {
        const void *in[MAX_IN] = {0};
        for (int k = 0; k < p->n_in; k++)
            in[k] =
                p->in[k] + (size_t)(off[k] + c0 * p->step[k]) * p->in_size[k];
        char *out = p->out + (size_t)(r * p->inner + c0) * p->out_size;
        p->fn(in, p->step, out, c1 - c0, p->args);

        for (int d = p->rank - 2; d >= 0; d--) {
            idx[d]++;
            for (int k = 0; k < p->n_in; k++)
                off[k] += p->strides[k][d];
            if (idx[d] < p->dims[d])
                break;
            for (int k = 0; k < p->n_in; k++)
                off[k] -= p->strides[k][d] * p->dims[d];
            idx[d] = 0;
        }
    }
}

static void
plan_run_rows(void *arg, int64_t begin, int64_t end)
{
    const struct plan *p = arg;
    plan_run(p, begin, end, 0, p->inner);
}

static void
plan_run_cols(void *arg, int64_t begin, int64_t end)
{
    plan_run(arg, 0, 1, begin, end);
}

/* Run the whole plan, split over the pool when it is large. */
static void
plan_exec(struct rt_ctx *ctx, struct plan *p)
{
    if (p->outer * p->inner == 0)
        return;
    if (p->outer == 1)
        split_items(ctx, p->inner, 1, plan_run_cols, p);
    else
        split_items(ctx, p->outer, p->inner, plan_run_rows, p);
}

/* ---- loop templates ---- */

/*
 * Define loop `name` computing y = EXPR from elements a (type TA) and b
 * (type TB).  Each stride pattern gets its own loop so that the compiler
 * vectorises the common ones.  The pointers are not restrict because the
 * variadic folds update their output in place.
 */
#define DEF_BINARY(name, TA, TB, TY, EXPR)                                     \
    static void name(const void *const *in, const int *step, void *out,        \
                     int64_t n, const void *args)                              \
    {                                                                          \
        const TA *pa = in[0];                                                  \
        const TB *pb = in[1];                                                  \
        TY *y = out;                                                           \
        (void)args;                                                            \
        if (step[0] && step[1]) {                                              \
            for (int64_t i = 0; i < n; i++) {                                  \
                TA a = pa[i];                                                  \
                TB b = pb[i];                                                  \
                y[i] = (TY)(EXPR);                                             \
            }                                                                  \
        } else if (step[0]) {                                                  \
            TB b = pb[0];                                                      \
            for (int64_t i = 0; i < n; i++) {                                  \
                TA a = pa[i];                                                  \
                y[i] = (TY)(EXPR);                                             \
            }                                                                  \
        } else if (step[1]) {                                                  \
            TA a = pa[0];                                                      \
            for (int64_t i = 0; i < n; i++) {                                  \
                TB b = pb[i];                                                  \
                y[i] = (TY)(EXPR);                                             \
            }                                                                  \
        } else {                                                               \
            TA a = pa[0];                                                      \
            TB b = pb[0];                                                      \
            TY v = (TY)(EXPR);                                                 \
            for (int64_t i = 0; i < n; i++)                                    \
                y[i] = v;                                                      \
        }                                                                      \
    }

/* Binary ops whose output type is the input type. */
#define DEF_SAME(op, s, T, U, DT, LO, HI, EXPR)                                \
    DEF_BINARY(op##_##s, T, T, T, EXPR)

#define DEF_ADD(op, s, T, U, DT, LO, HI)                                       \
    DEF_SAME(op, s, T, U, DT, LO, HI, (U)a + (U)b)
#define DEF_SUB(op, s, T, U, DT, LO, HI)                                       \
    DEF_SAME(op, s, T, U, DT, LO, HI, (U)a - (U)b)
#define DEF_MUL(op, s, T, U, DT, LO, HI)                                       \
    DEF_SAME(op, s, T, U, DT, LO, HI, (U)a *(U)b)
RT_EW_NUM(DEF_ADD, add)
RT_EW_NUM(DEF_SUB, sub)
RT_EW_NUM(DEF_MUL, mul)

/*
 * Integer division truncates toward zero, as C's does.  The kernel rejects
 * a zero divisor before it runs; MIN / -1 wraps to MIN instead of
 * trapping.
 */
#define DEF_DIV_F(op, s, T, U, DT, LO, HI)                                     \
    DEF_SAME(op, s, T, U, DT, LO, HI, a / b)
#define DEF_DIV_S(op, s, T, U, DT, LO, HI)                                     \
    DEF_SAME(op, s, T, U, DT, LO, HI, b == -1 ? (T)(0 - (U)a) : a / b)
RT_EW_FLOAT(DEF_DIV_F, div)
RT_EW_SINT(DEF_DIV_S, div)
RT_EW_UINT(DEF_DIV_F, div)

/* Mod with the sign of the divisor (numpy.mod); fmod keeps the dividend's. */
static inline double
pymod_f64(double a, double b)
{
    double r = fmod(a, b);
    if (r != 0 && (r < 0) != (b < 0))
        r += b;
    return r;
}

static inline float
pymod_f32(float a, float b)
{
    float r = fmodf(a, b);
    if (r != 0 && (r < 0) != (b < 0))
        r += b;
    return r;
}

#define DEF_MOD_HELPER(op, s, T, U, DT, LO, HI)                                \
    static inline T pymod_##s(T a, T b)                                        \
    {                                                                          \
        if (b == -1)                                                           \
            return 0;                                                          \
        T r = (T)(a % b);                                                      \
        if (r != 0 && (r < 0) != (b < 0))                                      \
            r = (T)(r + b);                                                    \
        return r;                                                              \
    }
RT_EW_SINT(DEF_MOD_HELPER, unused)

#define DEF_MOD_CALL(op, s, T, U, DT, LO, HI)                                  \
    DEF_SAME(op, s, T, U, DT, LO, HI, pymod_##s(a, b))
#define DEF_MOD_U(op, s, T, U, DT, LO, HI)                                     \
    DEF_SAME(op, s, T, U, DT, LO, HI, a % b)
#define DEF_FMOD_S(op, s, T, U, DT, LO, HI)                                    \
    DEF_SAME(op, s, T, U, DT, LO, HI, b == -1 ? 0 : a % b)
RT_EW_FLOAT(DEF_MOD_CALL, mod)
RT_EW_SINT(DEF_MOD_CALL, mod)
RT_EW_UINT(DEF_MOD_U, mod)
DEF_BINARY(fmod_f32, float, float, float, fmodf(a, b))
DEF_BINARY(fmod_f64, double, double, double, fmod(a, b))
RT_EW_SINT(DEF_FMOD_S, fmod)
RT_EW_UINT(DEF_MOD_U, fmod)

/* Max and Min propagate NaN from either side, as numpy.maximum does. */
#define DEF_MAX_F(op, s, T, U, DT, LO, HI)                                     \
    DEF_SAME(op, s, T, U, DT, LO, HI, (a != a || a > b) ? a : b)
#define DEF_MIN_F(op, s, T, U, DT, LO, HI)                                     \
    DEF_SAME(op, s, T, U, DT, LO, HI, (a != a || a < b) ? a : b)
#define DEF_MAX_I(op, s, T, U, DT, LO, HI)                                     \
    DEF_SAME(op, s, T, U, DT, LO, HI, a > b ? a : b)
#define DEF_MIN_I(op, s, T, U, DT, LO, HI)                                     \
    DEF_SAME(op, s, T, U, DT, LO, HI, a < b ? a : b)
RT_EW_FLOAT(DEF_MAX_F, max)
RT_EW_FLOAT(DEF_MIN_F, min)
RT_EW_INT(DEF_MAX_I, max)
RT_EW_INT(DEF_MIN_I, min)

/*
 * Max, Min, Mod and Fmod of float16 and bfloat16.  C has no type for
 * these, so the loops read the bits, compute in double and round once.
 * Max and Min return one of the input bit patterns unchanged.  Mod's fmod is
 * exact and, for float16, so is the sum that moves the remainder to the
 * divisor's sign, so its result is correctly rounded.
 */
static inline bool
picks_first_max(double x, double y)
{
    return x != x || x > y;
}

static inline bool
picks_first_min(double x, double y)
{
    return x != x || x < y;
}

#define DEF_HALF(s, TO, FROM)                                                  \
    DEF_BINARY(max_##s, uint16_t, uint16_t, uint16_t,                          \
               picks_first_max(TO(a), TO(b)) ? a : b)                          \
    DEF_BINARY(min_##s, uint16_t, uint16_t, uint16_t,                          \
               picks_first_min(TO(a), TO(b)) ? a : b)                          \
    DEF_BINARY(mod_##s, uint16_t, uint16_t, uint16_t,                          \
               FROM(pymod_f64(TO(a), TO(b))))                                  \
    DEF_BINARY(fmod_##s, uint16_t, uint16_t, uint16_t, FROM(fmod(TO(a), TO(b))))
DEF_HALF(f16, rt_f16_to_double, rt_f16_from_double)
DEF_HALF(bf16, rt_bf16_to_double, rt_bf16_from_double)

/* PRelu: x if x >= 0, else slope * x.  Unsigned x is never negative. */
#define DEF_PRELU(op, s, T, U, DT, LO, HI)                                     \
    DEF_SAME(op, s, T, U, DT, LO, HI, a < 0 ? (U)a * (U)b : (U)a)
#define DEF_PRELU_U(op, s, T, U, DT, LO, HI)                                   \
    DEF_SAME(op, s, T, U, DT, LO, HI, ((void)b, a))
RT_EW_SIGNED(DEF_PRELU, prelu)
RT_EW_UINT(DEF_PRELU_U, prelu)

/* Comparisons give bool; every comparison with NaN is false. */
#define DEF_CMP(op, s, T, U, DT, LO, HI, OPER)                                 \
    DEF_BINARY(op##_##s, T, T, uint8_t, a OPER b)
#define DEF_EQ(op, s, T, U, DT, LO, HI) DEF_CMP(op, s, T, U, DT, LO, HI, ==)
#define DEF_GT(op, s, T, U, DT, LO, HI) DEF_CMP(op, s, T, U, DT, LO, HI, >)
#define DEF_GE(op, s, T, U, DT, LO, HI) DEF_CMP(op, s, T, U, DT, LO, HI, >=)
#define DEF_LT(op, s, T, U, DT, LO, HI) DEF_CMP(op, s, T, U, DT, LO, HI, <)
#define DEF_LE(op, s, T, U, DT, LO, HI) DEF_CMP(op, s, T, U, DT, LO, HI, <=)
RT_EW_NUM(DEF_EQ, eq)
RT_EW_BOOL(DEF_EQ, eq)
RT_EW_NUM(DEF_GT, gt)
RT_EW_NUM(DEF_GE, ge)
RT_EW_NUM(DEF_LT, lt)
RT_EW_NUM(DEF_LE, le)

DEF_BINARY(and_b8, uint8_t, uint8_t, uint8_t, (a != 0) & (b != 0))
DEF_BINARY(or_b8, uint8_t, uint8_t, uint8_t, (a != 0) | (b != 0))
DEF_BINARY(xor_b8, uint8_t, uint8_t, uint8_t, (a != 0) ^ (b != 0))

/* Shifting by the bit width or more gives 0, as numpy does. */
#define DEF_SHL(op, s, T, U, DT, LO, HI)                                       \
    DEF_SAME(op, s, T, U, DT, LO, HI, b >= 8 * sizeof(T) ? 0 : (U)a << b)
#define DEF_SHR(op, s, T, U, DT, LO, HI)                                       \
    DEF_SAME(op, s, T, U, DT, LO, HI, b >= 8 * sizeof(T) ? 0 : (U)a >> b)
RT_EW_UINT(DEF_SHL, shl)
RT_EW_UINT(DEF_SHR, shr)

/* ---- Pow ---- */

/*
 * base ** e with wrapping products.  A negative e gives the truncated
 * 1 / base^-e.  NOTE: 0 ** -n gives 0, where numpy raises an error.
 */
static int64_t
ipow(int64_t base, int64_t e)
{
    if (e < 0) {
        if (base == 1)
            return 1;
        if (base == -1)
            return (e & 1) ? -1 : 1;
        return 0;
    }
    uint64_t r = 1, b = (uint64_t)base;
    while (e) {
        if (e & 1)
            r *= b;
        b *= b;
        e >>= 1;
    }
    return (int64_t)r;
}

/* NaN to 0, out-of-range values to the nearest end of the range. */
static inline int64_t
sat_i64(double v)
{
    if (v != v)
        return 0;
    if (v < -0x1p63)
        return INT64_MIN;
    if (v >= 0x1p63)
        return INT64_MAX;
    return (int64_t)v;
}

static inline int32_t
sat_i32(double v)
{
    if (v != v)
        return 0;
    if (v < -0x1p31)
        return INT32_MIN;
    if (v >= 0x1p31)
        return INT32_MAX;
    return (int32_t)v;
}

static bool
dtype_is_float(int32_t dtype)
{
    return dtype == RT_FLOAT || dtype == RT_DOUBLE;
}

DEF_BINARY(pow_f32, float, float, float, powf(a, b))
DEF_BINARY(pow_f64, double, double, double, pow(a, b))
DEF_BINARY(pow_i32, int32_t, int32_t, int32_t, ipow(a, b))
DEF_BINARY(pow_i64, int64_t, int64_t, int64_t, ipow(a, b))

/*
 * Pow with an exponent of another dtype, which loop_args names.  A float
 * base is raised in double precision; an integer base with an integer
 * exponent stays exact (modulo wrapping).
 */
#define DEF_POW_MIXED(s, T, FROM_DOUBLE)                                       \
    static void pow_mixed_##s(const void *const *in, const int *step,          \
                              void *out, int64_t n, const void *args)          \
    {                                                                          \
        const T *a = in[0];                                                    \
        T *y = out;                                                            \
        int32_t et = ((const struct loop_args *)args)->exp_dtype;              \
        bool int_base = !dtype_is_float(s##_dtype);                            \
        for (int64_t i = 0; i < n; i++) {                                      \
            T x = a[i * step[0]];                                              \
            int64_t j = i * step[1];                                           \
            if (int_base && !dtype_is_float(et))                               \
                y[i] = (T)ipow((int64_t)x, rt_load_i64(in[1], et, j));         \
            else                                                               \
                y[i] = FROM_DOUBLE(pow((double)x, rt_load_f64(in[1], et, j))); \
        }                                                                      \
    }
enum {
    f32_dtype = RT_FLOAT,
    f64_dtype = RT_DOUBLE,
    i32_dtype = RT_INT32,
    i64_dtype = RT_INT64
};
#define TO_F32(v) ((float)(v))
#define TO_F64(v) (v)
DEF_POW_MIXED(f32, float, TO_F32)
DEF_POW_MIXED(f64, double, TO_F64)
DEF_POW_MIXED(i32, int32_t, sat_i32)
DEF_POW_MIXED(i64, int64_t, sat_i64)

/* ---- the binary op table ---- */

#define SLOT(op, s, T, U, DT, LO, HI) [DT] = op##_##s,
#define HALVES(op) [RT_FLOAT16] = op##_f16, [RT_BFLOAT16] = op##_bf16,

static const loop_fn binary_loops[RT_EW_BINARY_COUNT][RT_BFLOAT16 + 1] = {
    [RT_EW_ADD] = {RT_EW_NUM(SLOT, add)},
    [RT_EW_SUB] = {RT_EW_NUM(SLOT, sub)},
    [RT_EW_MUL] = {RT_EW_NUM(SLOT, mul)},
    [RT_EW_DIV] = {RT_EW_NUM(SLOT, div)},
    [RT_EW_POW] = {[RT_FLOAT] = pow_f32,
                   [RT_DOUBLE] = pow_f64,
                   [RT_INT32] = pow_i32,
                   [RT_INT64] = pow_i64},
    [RT_EW_MOD] = {RT_EW_NUM(SLOT, mod) HALVES(mod)},
    [RT_EW_FMOD] = {RT_EW_NUM(SLOT, fmod) HALVES(fmod)},
    [RT_EW_PRELU] = {RT_EW_NUM(SLOT, prelu)},
    [RT_EW_EQUAL] = {RT_EW_NUM(SLOT, eq) RT_EW_BOOL(SLOT, eq)},
    [RT_EW_GREATER] = {RT_EW_NUM(SLOT, gt)},
    [RT_EW_GREATER_EQUAL] = {RT_EW_NUM(SLOT, ge)},
    [RT_EW_LESS] = {RT_EW_NUM(SLOT, lt)},
    [RT_EW_LESS_EQUAL] = {RT_EW_NUM(SLOT, le)},
    [RT_EW_AND] = {[RT_BOOL] = and_b8},
    [RT_EW_OR] = {[RT_BOOL] = or_b8},
    [RT_EW_XOR] = {[RT_BOOL] = xor_b8},
    [RT_EW_SHIFT_LEFT] = {RT_EW_UINT(SLOT, shl)},
    [RT_EW_SHIFT_RIGHT] = {RT_EW_UINT(SLOT, shr)},
    [RT_EW_MAX] = {RT_EW_NUM(SLOT, max) HALVES(max)},
    [RT_EW_MIN] = {RT_EW_NUM(SLOT, min) HALVES(min)},
};

static loop_fn
binary_loop(int64_t op, int32_t dtype)
{
    if (op < 0 || op >= RT_EW_BINARY_COUNT || dtype < 0 || dtype > RT_BFLOAT16)
        return NULL;
    return binary_loops[op][dtype];
}

/* ---- copies with broadcasting ---- */

#define DEF_COPY(s, T)                                                         \
    static void copy_##s(const void *const *in, const int *step, void *out,    \
                         int64_t n, const void *args)                          \
    {                                                                          \
        const T *x = in[0];                                                    \
        T *y = out;                                                            \
        (void)args;                                                            \
        if (step[0]) {                                                         \
            memcpy(y, x, (size_t)n * sizeof(T));                               \
        } else {                                                               \
            T v = x[0];                                                        \
            for (int64_t i = 0; i < n; i++)                                    \
                y[i] = v;                                                      \
        }                                                                      \
    }
DEF_COPY(1, uint8_t)
DEF_COPY(2, uint16_t)
DEF_COPY(4, uint32_t)
DEF_COPY(8, uint64_t)

static loop_fn
copy_loop(size_t size)
{
    switch (size) {
    case 1:
        return copy_1;
    case 2:
        return copy_2;
    case 4:
        return copy_4;
    case 8:
        return copy_8;
    default:
        return NULL;
    }
}

/* ---- rt_kernel_binary ---- */

static bool
dtype_is_int(int32_t dtype)
{
    switch (dtype) {
    case RT_INT8:
    case RT_INT16:
    case RT_INT32:
    case RT_INT64:
    case RT_UINT8:
    case RT_UINT16:
    case RT_UINT32:
    case RT_UINT64:
        return true;
    default:
        return false;
    }
}

/* True if any integer element of the tensor is 0. */
static bool
has_zero(const void *p, const struct rt_desc *d)
{
    int64_t n = rt_numel(d);
    switch (rt_dtype_size(d->dtype)) {
    case 1:
        for (int64_t i = 0; i < n; i++)
            if (((const uint8_t *)p)[i] == 0)
                return true;
        return false;
    case 2:
        for (int64_t i = 0; i < n; i++)
            if (((const uint16_t *)p)[i] == 0)
                return true;
        return false;
    case 4:
        for (int64_t i = 0; i < n; i++)
            if (((const uint32_t *)p)[i] == 0)
                return true;
        return false;
    default:
        for (int64_t i = 0; i < n; i++)
            if (((const uint64_t *)p)[i] == 0)
                return true;
        return false;
    }
}

/* True if d has one element, and it equals v. */
static bool
is_scalar_value(const void *p, const struct rt_desc *d, double v)
{
    return rt_numel(d) == 1 && rt_load_f64(p, d->dtype, 0) == v;
}

/*
 * y = a OP b with numpy broadcasting.
 * ints: [0] op, an enum rt_ew_binary_op.  floats: none.
 * descs: a, b, y.  The inputs share a dtype except for Pow, whose
 * exponent may have any numeric dtype; comparisons write bool.  Integer
 * Div, Mod and Fmod fail with RT_ERR_RUNTIME if any divisor is 0.
 */
int
rt_kernel_binary(struct rt_ctx *ctx, const struct rt_node *node,
                 void *const *bufs)
{
    if (node->n_inputs != 2 || node->n_outputs != 1 || node->n_ints < 1)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT,
                       "binary kernel needs 2 inputs, 1 output and an op");
    int64_t op = node->ints[0];
    const struct rt_desc *da = &node->descs[0], *db = &node->descs[1];
    const struct rt_desc *dy = &node->descs[2];
    struct loop_args args = {.exp_dtype = db->dtype};

    loop_fn fn = binary_loop(op, da->dtype);
    if (op == RT_EW_POW && da->dtype != db->dtype) {
        switch (da->dtype) {
        case RT_FLOAT:
            fn = pow_mixed_f32;
            break;
        case RT_DOUBLE:
            fn = pow_mixed_f64;
            break;
        case RT_INT32:
            fn = pow_mixed_i32;
            break;
        case RT_INT64:
            fn = pow_mixed_i64;
            break;
        default:
            fn = NULL;
            break;
        }
        if (!dtype_is_float(db->dtype) && !dtype_is_int(db->dtype))
            fn = NULL;
    } else if (da->dtype != db->dtype) {
        fn = NULL;
    }
    if (!fn)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT,
                       "binary op %lld is not supported for dtypes %d and %d",
                       (long long)op, (int)da->dtype, (int)db->dtype);
    if (rt_numel(dy) == 0)
        return RT_OK;

    bool divides = op == RT_EW_DIV || op == RT_EW_MOD || op == RT_EW_FMOD;
    if (divides && dtype_is_int(db->dtype) && has_zero(bufs[1], db))
        return rt_fail(ctx, node, RT_ERR_RUNTIME, "integer division by zero");

    const struct rt_desc *ins[2] = {da, db};
    const void *in_bufs[2] = {bufs[0], bufs[1]};
    if (op == RT_EW_POW && dtype_is_float(da->dtype) &&
        is_scalar_value(bufs[1], db, 2.0)) {
        /* x ** 2 is exactly x * x, which needs no pow call. */
        fn = binary_loop(RT_EW_MUL, da->dtype);
        ins[1] = da;
        in_bufs[1] = bufs[0];
    }

    struct plan p;
    if (plan_init(&p, dy, bufs[2], ins, in_bufs, 2, fn, &args) != 0)
        return rt_fail(ctx, node, RT_ERR_SHAPE,
                       "input shapes do not broadcast to the output shape");
    plan_exec(ctx, &p);
    return RT_OK;
}

/* ---- rt_kernel_variadic ---- */

static void
mean_divide(void *y, int32_t dtype, int64_t n, int count)
{
    if (dtype == RT_FLOAT) {
        float *restrict v = y;
        for (int64_t i = 0; i < n; i++)
            v[i] /= (float)count;
    } else if (dtype == RT_DOUBLE) {
        double *restrict v = y;
        for (int64_t i = 0; i < n; i++)
            v[i] /= count;
    }
}

/*
 * y = x0 OP x1 OP ... for Max, Min, Sum and Mean, with numpy
 * broadcasting of every input to y.
 * ints: [0] fold op (RT_EW_MAX, RT_EW_MIN or RT_EW_ADD), [1] 1 to divide
 * the sum by the input count (Mean, float and double only), else 0.
 * floats: none.  descs: x0..x(n-1), y; all of one dtype.
 */
int
rt_kernel_variadic(struct rt_ctx *ctx, const struct rt_node *node,
                   void *const *bufs)
{
    if (node->n_inputs < 1 || node->n_outputs != 1 || node->n_ints < 2)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT,
                       "variadic kernel needs inputs, 1 output and 2 ints");
    int n_in = node->n_inputs;
    const struct rt_desc *dy = &node->descs[n_in];
    void *y = bufs[n_in];
    loop_fn fn = binary_loop(node->ints[0], dy->dtype);
    loop_fn copy = copy_loop(rt_dtype_size(dy->dtype));
    bool mean = node->ints[1] != 0;
    if (!fn || !copy || (mean && !dtype_is_float(dy->dtype)))
        return rt_fail(ctx, node, RT_ERR_ARGUMENT,
                       "variadic op %lld is not supported for dtype %d",
                       (long long)node->ints[0], (int)dy->dtype);
    for (int k = 0; k < n_in; k++)
        if (node->descs[k].dtype != dy->dtype)
            return rt_fail(ctx, node, RT_ERR_SHAPE,
                           "input %d has dtype %d, but the output has %d", k,
                           (int)node->descs[k].dtype, (int)dy->dtype);
    if (rt_numel(dy) == 0)
        return RT_OK;

    struct plan p;
    const struct rt_desc *ins[2] = {&node->descs[0], NULL};
    const void *in_bufs[2] = {bufs[0], NULL};
    if (plan_init(&p, dy, y, ins, in_bufs, 1, copy, NULL) != 0)
        goto bad_shape;
    plan_exec(ctx, &p);
    for (int k = 1; k < n_in; k++) {
        ins[0] = dy;
        ins[1] = &node->descs[k];
        in_bufs[0] = y;
        in_bufs[1] = bufs[k];
        if (plan_init(&p, dy, y, ins, in_bufs, 2, fn, NULL) != 0)
            goto bad_shape;
        plan_exec(ctx, &p);
    }
    if (mean)
        mean_divide(y, dy->dtype, rt_numel(dy), n_in);
    return RT_OK;

bad_shape:
    return rt_fail(ctx, node, RT_ERR_SHAPE,
                   "input shapes do not broadcast to the output shape");
}

/* ---- rt_kernel_where ---- */

#define DEF_WHERE(s, T)                                                        \
    static void where_##s(const void *const *in, const int *step, void *out,   \
                          int64_t n, const void *args)                         \
    {                                                                          \
        const uint8_t *c = in[0];                                              \
        const T *a = in[1];                                                    \
        const T *b = in[2];                                                    \
        T *y = out;                                                            \
        (void)args;                                                            \
        if (step[0] && step[1] && step[2]) {                                   \
            for (int64_t i = 0; i < n; i++)                                    \
                y[i] = c[i] ? a[i] : b[i];                                     \
        } else if (step[0] && step[1]) {                                       \
            T v = b[0];                                                        \
            for (int64_t i = 0; i < n; i++)                                    \
                y[i] = c[i] ? a[i] : v;                                        \
        } else if (step[0] && step[2]) {                                       \
            T v = a[0];                                                        \
            for (int64_t i = 0; i < n; i++)                                    \
                y[i] = c[i] ? v : b[i];                                        \
        } else {                                                               \
            for (int64_t i = 0; i < n; i++)                                    \
                y[i] = c[i * step[0]] ? a[i * step[1]] : b[i * step[2]];       \
        }                                                                      \
    }
DEF_WHERE(1, uint8_t)
DEF_WHERE(2, uint16_t)
DEF_WHERE(4, uint32_t)
DEF_WHERE(8, uint64_t)

/*
 * y = cond ? x : z elementwise, with numpy broadcasting of all three.
 * ints: none.  floats: none.  descs: cond (bool), x, z, y; x, z and y
 * share a dtype of any size, since the kernel only moves bits.
 */
int
rt_kernel_where(struct rt_ctx *ctx, const struct rt_node *node,
                void *const *bufs)
{
    if (node->n_inputs != 3 || node->n_outputs != 1)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT,
                       "Where needs 3 inputs and 1 output");
    const struct rt_desc *d = node->descs;
    loop_fn fn = NULL;
    switch (rt_dtype_size(d[3].dtype)) {
    case 1:
        fn = where_1;
        break;
    case 2:
        fn = where_2;
        break;
    case 4:
        fn = where_4;
        break;
    case 8:
        fn = where_8;
        break;
    default:
        break;
    }
    if (!fn || d[0].dtype != RT_BOOL || d[1].dtype != d[3].dtype ||
        d[2].dtype != d[3].dtype)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT,
                       "Where is not supported for dtypes %d, %d, %d",
                       (int)d[0].dtype, (int)d[1].dtype, (int)d[2].dtype);

    const struct rt_desc *ins[3] = {&d[0], &d[1], &d[2]};
    const void *in_bufs[3] = {bufs[0], bufs[1], bufs[2]};
    struct plan p;
    if (plan_init(&p, &d[3], bufs[3], ins, in_bufs, 3, fn, NULL) != 0)
        return rt_fail(ctx, node, RT_ERR_SHAPE,
                       "input shapes do not broadcast to the output shape");
    plan_exec(ctx, &p);
    return RT_OK;
}

/* ---- rt_kernel_clip ---- */

struct clip_job {
    const void *x;
    void *y;
    const void *lo, *hi; /* one element of x's dtype each */
    int32_t dtype;
};

/* Comparisons keep NaN; when lo > hi every element becomes hi. */
#define DEF_CLIP(op, s, T, U, DT, LO, HI)                                      \
    static void clip_##s(const struct clip_job *job, int64_t begin,            \
                         int64_t end)                                          \
    {                                                                          \
        const T *restrict x = job->x;                                          \
        T *restrict y = job->y;                                                \
        T lo, hi;                                                              \
        memcpy(&lo, job->lo, sizeof(lo));                                      \
        memcpy(&hi, job->hi, sizeof(hi));                                      \
        for (int64_t i = begin; i < end; i++) {                                \
            T v = x[i] < lo ? lo : x[i];                                       \
            y[i] = v > hi ? hi : v;                                            \
        }                                                                      \
    }
RT_EW_NUM(DEF_CLIP, unused)

static void
clip_chunk(void *arg, int64_t begin, int64_t end)
{
    const struct clip_job *job = arg;
    switch (job->dtype) {
#define CLIP_CASE(op, s, T, U, DT, LO, HI)                                     \
    case DT:                                                                   \
        clip_##s(job, begin, end);                                             \
        break;
        RT_EW_NUM(CLIP_CASE, unused)
#undef CLIP_CASE
    default:
        break;
    }
}

/* Copy bound buf (one element), or the extreme of the dtype if NULL. */
#define DEF_CLIP_BOUND(op, s, T, U, DT, LO, HI)                                \
    static void clip_bound_##s(const void *buf, bool low, void *out)           \
    {                                                                          \
        T v = low ? (T)(LO) : (T)(HI);                                         \
        if (buf)                                                               \
            memcpy(&v, buf, sizeof(v));                                        \
        memcpy(out, &v, sizeof(v));                                            \
    }
RT_EW_NUM(DEF_CLIP_BOUND, unused)

/*
 * y = min(max(x, lo), hi).
 * ints: none.  floats: none.
 * descs: x, then the optional min and max (one element each, x's dtype;
 * an absent bound is the dtype's extreme), y.
 */
int
rt_kernel_clip(struct rt_ctx *ctx, const struct rt_node *node,
               void *const *bufs)
{
    int n_in = node->n_inputs;
    if (n_in < 1 || n_in > 3 || node->n_outputs != 1)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT,
                       "Clip needs 1 to 3 inputs and 1 output");
    int32_t dtype = node->descs[0].dtype;
    struct clip_job job = {bufs[0], bufs[n_in], NULL, NULL, dtype};
    if (node->descs[n_in].dtype != dtype ||
        rt_numel(&node->descs[n_in]) != rt_numel(&node->descs[0]))
        return rt_fail(ctx, node, RT_ERR_SHAPE,
                       "output dtype or size differs from the input's");
    const void *bound[2] = {NULL, NULL};
    for (int k = 1; k < n_in; k++) {
        const struct rt_desc *d = &node->descs[k];
        if (!bufs[k] || d->dtype == 0)
            continue;
        if (d->dtype != dtype || rt_numel(d) != 1)
            return rt_fail(ctx, node, RT_ERR_SHAPE,
                           "Clip input %d must be one element of the "
                           "input's dtype",
                           k);
        bound[k - 1] = bufs[k];
    }

    uint64_t lo = 0, hi = 0;
    switch (dtype) {
#define BOUND_CASE(op, s, T, U, DT, LO, HI)                                    \
    case DT:                                                                   \
        clip_bound_##s(bound[0], true, &lo);                                   \
        clip_bound_##s(bound[1], false, &hi);                                  \
        break;
        RT_EW_NUM(BOUND_CASE, unused)
#undef BOUND_CASE
    default:
        return rt_fail(ctx, node, RT_ERR_ARGUMENT,
                       "Clip is not supported for dtype %d", (int)dtype);
    }
    job.lo = &lo;
    job.hi = &hi;
    rt_ew_split(ctx, rt_numel(&node->descs[0]), clip_chunk, &job);
    return RT_OK;
}

/* ---- rt_kernel_copy ---- */

static void
fill_ones(void *p, int32_t dtype, int64_t n)
{
    switch (dtype) {
#define FILL_CASE(op, s, T, U, DT, LO, HI)                                     \
    case DT:                                                                   \
        for (int64_t i = 0; i < n; i++)                                        \
            ((T *)p)[i] = 1;                                                   \
        break;
        RT_EW_NUM(FILL_CASE, unused)
        RT_EW_BOOL(FILL_CASE, unused)
#undef FILL_CASE
    case RT_FLOAT16:
        for (int64_t i = 0; i < n; i++)
            ((uint16_t *)p)[i] = 0x3c00;
        break;
    case RT_BFLOAT16:
        for (int64_t i = 0; i < n; i++)
            ((uint16_t *)p)[i] = 0x3f80;
        break;
    default:
        break;
    }
}

/* True if the float at p (float16, float or double) is +0 or -0. */
static bool
float_is_zero(const void *p, int32_t dtype)
{
    switch (rt_dtype_size(dtype)) {
    case 2:
        return (*(const uint16_t *)p & 0x7fff) == 0;
    case 4:
        return (*(const uint32_t *)p & 0x7fffffff) == 0;
    case 8:
        return (*(const uint64_t *)p & 0x7fffffffffffffff) == 0;
    default:
        return false;
    }
}

/*
 * y = x for Identity and Dropout, whose optional second output (the mask)
 * is all ones: true for a bool mask, 1 for the older opsets' mask of x's
 * dtype.  Dropout's training_mode (input 2) may be true only with ratio
 * (input 1, default 0.5) equal to 0, when training changes nothing.
 * ints: none.  floats: none.  descs: x, then any further inputs
 * (Dropout's ratio and training_mode), y, then the mask if any.
 */
int
rt_kernel_copy(struct rt_ctx *ctx, const struct rt_node *node,
               void *const *bufs)
{
    int n_in = node->n_inputs;
    if (n_in < 1 || node->n_outputs < 1 || node->n_outputs > 2)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT,
                       "copy kernel needs an input and 1 or 2 outputs");
    if (n_in >= 3 && bufs[2] && node->descs[2].dtype == RT_BOOL &&
        *(const uint8_t *)bufs[2]) {
        bool zero_ratio = bufs[1] && node->descs[1].dtype != 0 &&
                          float_is_zero(bufs[1], node->descs[1].dtype);
        if (!zero_ratio)
            return rt_fail(ctx, node, RT_ERR_RUNTIME,
                           "training mode with a nonzero ratio is not "
                           "supported");
    }
    const struct rt_desc *dx = &node->descs[0], *dy = &node->descs[n_in];
    if (dx->dtype != dy->dtype || rt_numel(dx) != rt_numel(dy))
        return rt_fail(ctx, node, RT_ERR_SHAPE,
                       "output dtype or size differs from the input's");
    size_t bytes = (size_t)rt_numel(dx) * rt_dtype_size(dx->dtype);
    if (bytes)
        memcpy(bufs[n_in], bufs[0], bytes);
    if (node->n_outputs == 2 && bufs[n_in + 1]) {
        const struct rt_desc *dm = &node->descs[n_in + 1];
        fill_ones(bufs[n_in + 1], dm->dtype, rt_numel(dm));
    }
    return RT_OK;
}
