/*
 * Unit tests of the elementwise op group: each case builds a one-op graph
 * on constant operands, runs the op's infer, builds its kernel call, runs
 * the kernel and compares with values worked out by hand.  The large
 * broadcasts are checked against a naive loop instead.  The program
 * prints "N passed, N failed" and exits 1 if any check failed.
 */
#include "passes/passes.h"
#include "runtime/k_elementwise.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef OPS_ELEMENTWISE_STANDALONE
/* Built without the other op groups: their tables are empty. */
const struct pass_op_impl pass_ops_shape[] = {{.kind = IR_OP_COUNT}};
const struct pass_op_impl pass_ops_math[] = {{.kind = IR_OP_COUNT}};
const struct pass_op_impl pass_ops_fused[] = {{.kind = IR_OP_COUNT}};
#endif

static int n_passed, n_failed;

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (cond) {                                                            \
            n_passed++;                                                        \
        } else {                                                               \
            n_failed++;                                                        \
            printf("FAIL %s:%d: ", __func__, __LINE__);                        \
            printf(__VA_ARGS__);                                               \
            printf("\n");                                                      \
        }                                                                      \
    } while (0)

/* ---- building and running one op ---- */

static struct ir_graph *g;   /* the graph of the running case */
static struct rt_pool *pool; /* NULL, or a pool for the big cases */

#define DIMS(...)                                                              \
    (int64_t[])                                                                \
    {                                                                          \
        __VA_ARGS__                                                            \
    }
#define F32(...)                                                               \
    (float[])                                                                  \
    {                                                                          \
        __VA_ARGS__                                                            \
    }
#define F64(...)                                                               \
    (double[])                                                                 \
    {                                                                          \
        __VA_ARGS__                                                            \
    }
#define I32(...)                                                               \
    (int32_t[])                                                                \
    {                                                                          \
        __VA_ARGS__                                                            \
    }
#define I64(...)                                                               \
    (int64_t[])                                                                \
    {                                                                          \
        __VA_ARGS__                                                            \
    }
#define U8(...)                                                                \
    (uint8_t[])                                                                \
    {                                                                          \
        __VA_ARGS__                                                            \
    }

static void
new_graph(void)
{
    ir_graph_free(g);
    g = ir_graph_new("test");
}

static int32_t
cst(enum ir_dtype t, int rank, const int64_t *dims, const void *data)
{
    struct ir_shape s = ir_shape_make(rank, dims);
    size_t n = (size_t)ir_shape_numel(&s) * ir_dtype_size(t);
    return ir_const_add(g, NULL, t, &s, data, n);
}

static struct ir_op *
add_op(enum ir_op_kind kind, const int32_t *operands, int n_in, int n_out)
{
    int32_t res[2];
    for (int i = 0; i < n_out; i++)
        res[i] =
            ir_value_add(g, NULL, IR_VALUE_RESULT, IR_DTYPE_UNDEFINED, NULL);
    int32_t id = ir_op_add(g, kind, NULL, 20, operands, n_in, res, n_out);
    return &g->ops[id];
}

struct run {
    int infer;          /* infer's return value */
    char message[1024]; /* what infer reported */
    int status;         /* the kernel's, or -1 if it did not run */
    char error[RT_ERROR_SIZE];
    void *out[2];
    const struct ir_value *result[2];
};

static void
run_free(struct run *r)
{
    free(r->out[0]);
    free(r->out[1]);
    memset(r, 0, sizeof(*r));
}

/* Run infer and then the kernel of op; outputs stay in r until run_free. */
static void
run_op(struct ir_op *op, struct run *r)
{
    memset(r, 0, sizeof(*r));
    r->status = -1;
    const struct pass_op_impl *impl = pass_op_impl(op->kind);
    if (!impl) {
        snprintf(r->message, sizeof(r->message), "no table entry");
        r->infer = -1;
        return;
    }
    FILE *errors = tmpfile();
    ir_set_error_stream(errors);
    r->infer = impl->infer(g, op);
    ir_set_error_stream(NULL);
    rewind(errors);
    size_t n = fread(r->message, 1, sizeof(r->message) - 1, errors);
    r->message[n] = '\0';
    fclose(errors);
    if (r->infer != 0)
        return;

    struct pass_kernel_call call;
    if (pass_kernel_call_init(g, op, &call) != 0)
        return;
    void *bufs[8] = {0};
    for (int i = 0; i < op->n_operands; i++) {
        const struct ir_value *v = pass_operand(g, op, i);
        bufs[i] = v ? v->data : NULL;
    }
    for (int i = 0; i < op->n_results; i++) {
        const struct ir_value *v = &g->values[op->results[i]];
        size_t bytes =
            (size_t)ir_shape_numel(&v->shape) * ir_dtype_size(v->dtype);
        r->out[i] = aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
        memset(r->out[i], 0xAB, bytes + 64);
        r->result[i] = v;
        bufs[op->n_operands + i] = r->out[i];
    }
    struct rt_ctx ctx = {pool, r->error, NULL};
    r->status = impl->kernel(&ctx, &call.node, bufs);
    pass_kernel_call_free(&call);
}

/* ---- comparisons ---- */

static bool
shape_is(const struct ir_value *v, int rank, const int64_t *dims)
{
    if (!v || v->shape.rank != rank)
        return false;
    for (int i = 0; i < rank; i++)
        if (v->shape.dim[i] != dims[i])
            return false;
    return true;
}

static double
float_at(const void *p, enum ir_dtype t, int64_t i)
{
    return t == IR_DTYPE_FLOAT ? ((const float *)p)[i] : ((const double *)p)[i];
}

static int64_t
int_at(const void *p, enum ir_dtype t, int64_t i)
{
    switch (t) {
    case IR_DTYPE_INT8:
        return ((const int8_t *)p)[i];
    case IR_DTYPE_INT16:
        return ((const int16_t *)p)[i];
    case IR_DTYPE_INT32:
        return ((const int32_t *)p)[i];
    case IR_DTYPE_INT64:
        return ((const int64_t *)p)[i];
    case IR_DTYPE_UINT16:
    case IR_DTYPE_FLOAT16:
    case IR_DTYPE_BFLOAT16:
        return ((const uint16_t *)p)[i];
    case IR_DTYPE_UINT32:
        return ((const uint32_t *)p)[i];
    case IR_DTYPE_UINT64:
        return (int64_t)((const uint64_t *)p)[i];
    default:
        return ((const uint8_t *)p)[i];
    }
}

/*
 * Check that output k of r has the dtype and values given, within a
 * relative tolerance tol; NaN must meet NaN.
 */
static void
expect_floats(const char *what, const struct run *r, int k, enum ir_dtype t,
              const double *want, int n, double tol)
{
    CHECK(r->status == RT_OK, "%s: kernel status %d: %s", what, r->status,
          r->error);
    if (r->status != RT_OK)
        return;
    CHECK(r->result[k]->dtype == t, "%s: result dtype %s", what,
          ir_dtype_name(r->result[k]->dtype));
    for (int i = 0; i < n; i++) {
        double got = float_at(r->out[k], t, i);
        bool ok = isnan(want[i])
                      ? isnan(got)
                      : fabs(got - want[i]) <= tol * fmax(1.0, fabs(want[i]));
        if (isinf(want[i]))
            ok = got == want[i];
        CHECK(ok, "%s: element %d is %.9g, expected %.9g", what, i, got,
              want[i]);
    }
}

static void
expect_ints(const char *what, const struct run *r, int k, enum ir_dtype t,
            const int64_t *want, int n)
{
    CHECK(r->status == RT_OK, "%s: kernel status %d: %s", what, r->status,
          r->error);
    if (r->status != RT_OK)
        return;
    CHECK(r->result[k]->dtype == t, "%s: result dtype %s", what,
          ir_dtype_name(r->result[k]->dtype));
    for (int i = 0; i < n; i++) {
        int64_t got = int_at(r->out[k], t, i);
        CHECK(got == want[i], "%s: element %d is %lld, expected %lld", what, i,
              (long long)got, (long long)want[i]);
    }
}

static void
expect_infer_error(const char *what, const struct run *r, const char *word1,
                   const char *word2)
{
    CHECK(r->infer != 0, "%s: infer accepted the op", what);
    CHECK(strstr(r->message, word1), "%s: message lacks '%s': %s", what, word1,
          r->message);
    if (word2)
        CHECK(strstr(r->message, word2), "%s: message lacks '%s': %s", what,
              word2, r->message);
}

/* Run a binary op on two constants and return the run. */
static struct run
binary(enum ir_op_kind kind, enum ir_dtype ta, int ra, const int64_t *da,
       const void *a, enum ir_dtype tb, int rb, const int64_t *db,
       const void *b)
{
    new_graph();
    int32_t in[2] = {cst(ta, ra, da, a), cst(tb, rb, db, b)};
    struct run r;
    run_op(add_op(kind, in, 2, 1), &r);
    return r;
}

static struct run
unary(enum ir_op_kind kind, enum ir_dtype t, int n, const void *x)
{
    new_graph();
    int32_t in[1] = {cst(t, 1, DIMS(n), x)};
    struct run r;
    run_op(add_op(kind, in, 1, 1), &r);
    return r;
}

/* ---- broadcasting ---- */

static void
test_add_row_broadcast(void)
{
    struct run r =
        binary(IR_OP_ADD, IR_DTYPE_FLOAT, 2, DIMS(2, 3), F32(1, 2, 3, 4, 5, 6),
               IR_DTYPE_FLOAT, 1, DIMS(3), F32(10, 20, 30));
    CHECK(shape_is(r.result[0], 2, DIMS(2, 3)), "shape [2,3]");
    expect_floats("[2,3]+[3]", &r, 0, IR_DTYPE_FLOAT,
                  F64(11, 22, 33, 14, 25, 36), 6, 0);
    run_free(&r);
}

static void
test_sub_outer_broadcast(void)
{
    struct run r =
        binary(IR_OP_SUB, IR_DTYPE_INT64, 2, DIMS(2, 1), I64(100, 200),
               IR_DTYPE_INT64, 2, DIMS(1, 3), I64(1, 2, 3));
    CHECK(shape_is(r.result[0], 2, DIMS(2, 3)), "shape [2,3]");
    expect_ints("[2,1]-[1,3]", &r, 0, IR_DTYPE_INT64,
                I64(99, 98, 97, 199, 198, 197), 6);
    run_free(&r);
}

static void
test_mul_scalar(void)
{
    struct run r = binary(IR_OP_MUL, IR_DTYPE_FLOAT, 0, NULL, F32(2.5f),
                          IR_DTYPE_FLOAT, 1, DIMS(4), F32(1, -2, 0, 4));
    CHECK(shape_is(r.result[0], 1, DIMS(4)), "shape [4]");
    expect_floats("scalar*[4]", &r, 0, IR_DTYPE_FLOAT, F64(2.5, -5, 0, 10), 4,
                  0);
    run_free(&r);

    r = binary(IR_OP_MUL, IR_DTYPE_DOUBLE, 0, NULL, F64(3), IR_DTYPE_DOUBLE, 0,
               NULL, F64(-2));
    CHECK(shape_is(r.result[0], 0, NULL), "scalar*scalar has rank 0");
    expect_floats("scalar*scalar", &r, 0, IR_DTYPE_DOUBLE, F64(-6), 1, 0);
    run_free(&r);
}

static void
test_add_zero_size(void)
{
    struct run r = binary(IR_OP_ADD, IR_DTYPE_FLOAT, 2, DIMS(0, 3), F32(0),
                          IR_DTYPE_FLOAT, 1, DIMS(3), F32(1, 2, 3));
    CHECK(r.infer == 0, "infer: %s", r.message);
    CHECK(shape_is(r.result[0], 2, DIMS(0, 3)), "shape [0,3]");
    CHECK(r.status == RT_OK, "kernel status %d: %s", r.status, r.error);
    run_free(&r);
}

static void
test_add_uint8_wraps(void)
{
    struct run r = binary(IR_OP_ADD, IR_DTYPE_UINT8, 1, DIMS(2), U8(250, 3),
                          IR_DTYPE_UINT8, 1, DIMS(2), U8(10, 4));
    expect_ints("u8 add", &r, 0, IR_DTYPE_UINT8, I64(4, 7), 2);
    run_free(&r);

    r = binary(IR_OP_ADD, IR_DTYPE_INT32, 1, DIMS(1), I32(INT32_MAX),
               IR_DTYPE_INT32, 1, DIMS(1), I32(1));
    expect_ints("i32 add wraps", &r, 0, IR_DTYPE_INT32, I64(INT32_MIN), 1);
    run_free(&r);
}

/* A rank-3 broadcast against a naive index computation. */
static void
test_broadcast_rank3(void)
{
    float a[24], b[3], want[24];
    for (int i = 0; i < 24; i++)
        a[i] = (float)i;
    for (int i = 0; i < 3; i++)
        b[i] = (float)(100 * (i + 1));
    /* [2,3,4] + [3,1]: b[j] is added along the middle axis. */
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 4; k++)
                want[(i * 3 + j) * 4 + k] = a[(i * 3 + j) * 4 + k] + b[j];
    struct run r = binary(IR_OP_ADD, IR_DTYPE_FLOAT, 3, DIMS(2, 3, 4), a,
                          IR_DTYPE_FLOAT, 2, DIMS(3, 1), b);
    CHECK(shape_is(r.result[0], 3, DIMS(2, 3, 4)), "shape [2,3,4]");
    double w[24];
    for (int i = 0; i < 24; i++)
        w[i] = want[i];
    expect_floats("[2,3,4]+[3,1]", &r, 0, IR_DTYPE_FLOAT, w, 24, 0);
    run_free(&r);
}

/* Big enough to split over the pool: bias rows, then per-row columns. */
static void
test_broadcast_parallel(void)
{
    enum { M = 300, N = 400 };
    float *a = malloc(sizeof(float) * M * N);
    float row[N], col[M];
    for (int i = 0; i < M * N; i++)
        a[i] = (float)(i % 1000);
    for (int j = 0; j < N; j++)
        row[j] = (float)j * 0.5f;
    for (int i = 0; i < M; i++)
        col[i] = (float)i * 3;

    struct run r = binary(IR_OP_ADD, IR_DTYPE_FLOAT, 2, DIMS(M, N), a,
                          IR_DTYPE_FLOAT, 1, DIMS(N), row);
    int bad = 0;
    for (int i = 0; r.status == RT_OK && i < M; i++)
        for (int j = 0; j < N; j++)
            bad += ((float *)r.out[0])[i * N + j] != a[i * N + j] + row[j];
    CHECK(r.status == RT_OK, "[M,N]+[N]: status %d", r.status);
    CHECK(bad == 0, "[M,N]+[N]: %d elements wrong", bad);
    run_free(&r);

    r = binary(IR_OP_MUL, IR_DTYPE_FLOAT, 2, DIMS(M, N), a, IR_DTYPE_FLOAT, 2,
               DIMS(M, 1), col);
    bad = 0;
    for (int i = 0; r.status == RT_OK && i < M; i++)
        for (int j = 0; j < N; j++)
            bad += ((float *)r.out[0])[i * N + j] != a[i * N + j] * col[i];
    CHECK(r.status == RT_OK, "[M,N]*[M,1]: status %d", r.status);
    CHECK(bad == 0, "[M,N]*[M,1]: %d elements wrong", bad);
    run_free(&r);

    r = binary(IR_OP_SUB, IR_DTYPE_FLOAT, 2, DIMS(M, N), a, IR_DTYPE_FLOAT, 2,
               DIMS(M, N), a);
    bad = 0;
    for (int i = 0; r.status == RT_OK && i < M * N; i++)
        bad += ((float *)r.out[0])[i] != 0;
    CHECK(r.status == RT_OK, "same shape: status %d", r.status);
    CHECK(bad == 0, "same shape: %d elements wrong", bad);
    run_free(&r);
    free(a);
}

static void
test_broadcast_mismatch(void)
{
    struct run r = binary(IR_OP_ADD, IR_DTYPE_FLOAT, 1, DIMS(3), F32(1, 2, 3),
                          IR_DTYPE_FLOAT, 1, DIMS(2), F32(1, 2));
    expect_infer_error("[3]+[2]", &r, "cannot be broadcast", NULL);
    run_free(&r);
}

/* ---- dtype rules and missing operands ---- */

static void
test_dtype_mismatch(void)
{
    struct run r = binary(IR_OP_ADD, IR_DTYPE_FLOAT, 1, DIMS(1), F32(1),
                          IR_DTYPE_INT64, 1, DIMS(1), I64(1));
    expect_infer_error("f32+i64", &r, "f32", "i64");
    run_free(&r);

    r = unary(IR_OP_SQRT, IR_DTYPE_INT32, 1, I32(4));
    expect_infer_error("Sqrt of i32", &r, "i32", "accepts only");
    run_free(&r);

    uint16_t h[1] = {0x3c00};
    r = binary(IR_OP_ADD, IR_DTYPE_FLOAT16, 1, DIMS(1), h, IR_DTYPE_FLOAT16, 1,
               DIMS(1), h);
    expect_infer_error("f16 add", &r, "not supported", NULL);
    run_free(&r);
}

static void
test_missing_operand(void)
{
    new_graph();
    int32_t in[2] = {cst(IR_DTYPE_FLOAT, 1, DIMS(1), F32(1)), IR_NONE};
    struct run r;
    run_op(add_op(IR_OP_ADD, in, 2, 1), &r);
    expect_infer_error("Add without input 1", &r, "missing", NULL);
    run_free(&r);

    new_graph();
    int32_t w[3] = {cst(IR_DTYPE_BOOL, 1, DIMS(1), U8(1)),
                    cst(IR_DTYPE_FLOAT, 1, DIMS(1), F32(1)), IR_NONE};
    run_op(add_op(IR_OP_WHERE, w, 3, 1), &r);
    expect_infer_error("Where without y", &r, "missing", NULL);
    run_free(&r);
}

/* ---- division, modulo, power ---- */

static void
test_div_int_truncates(void)
{
    struct run r = binary(IR_OP_DIV, IR_DTYPE_INT32, 1, DIMS(5),
                          I32(7, -7, 7, -7, INT32_MIN), IR_DTYPE_INT32, 1,
                          DIMS(5), I32(2, 2, -2, -2, -1));
    expect_ints("i32 div", &r, 0, IR_DTYPE_INT32, I64(3, -3, -3, 3, INT32_MIN),
                5);
    run_free(&r);

    r = binary(IR_OP_DIV, IR_DTYPE_UINT8, 1, DIMS(2), U8(255, 7),
               IR_DTYPE_UINT8, 0, NULL, U8(2));
    expect_ints("u8 div by scalar", &r, 0, IR_DTYPE_UINT8, I64(127, 3), 2);
    run_free(&r);
}

static void
test_div_int_by_zero(void)
{
    struct run r = binary(IR_OP_DIV, IR_DTYPE_INT64, 1, DIMS(2), I64(1, 2),
                          IR_DTYPE_INT64, 1, DIMS(2), I64(1, 0));
    CHECK(r.infer == 0, "infer: %s", r.message);
    CHECK(r.status == RT_ERR_RUNTIME, "status %d, expected RT_ERR_RUNTIME",
          r.status);
    CHECK(strstr(r.error, "division by zero"), "message: %s", r.error);
    run_free(&r);

    r = binary(IR_OP_MOD, IR_DTYPE_INT32, 1, DIMS(1), I32(5), IR_DTYPE_INT32, 1,
               DIMS(1), I32(0));
    CHECK(r.status == RT_ERR_RUNTIME, "Mod by 0: status %d", r.status);
    run_free(&r);
}

static void
test_div_float_by_zero(void)
{
    struct run r = binary(IR_OP_DIV, IR_DTYPE_FLOAT, 1, DIMS(3), F32(1, -1, 0),
                          IR_DTYPE_FLOAT, 0, NULL, F32(0));
    expect_floats("f32 x/0", &r, 0, IR_DTYPE_FLOAT,
                  F64(INFINITY, -INFINITY, NAN), 3, 0);
    run_free(&r);
}

static void
test_mod_signs(void)
{
    int32_t a[6] = {-4, 7, 5, 4, -7, 8}, b[6] = {2, -3, 8, -2, 3, 5};
    struct run r = binary(IR_OP_MOD, IR_DTYPE_INT32, 1, DIMS(6), a,
                          IR_DTYPE_INT32, 1, DIMS(6), b);
    expect_ints("Mod fmod=0", &r, 0, IR_DTYPE_INT32, I64(0, -2, 5, 0, 2, 3), 6);
    run_free(&r);

    new_graph();
    int32_t in[2] = {cst(IR_DTYPE_INT32, 1, DIMS(6), a),
                     cst(IR_DTYPE_INT32, 1, DIMS(6), b)};
    struct ir_op *op = add_op(IR_OP_MOD, in, 2, 1);
    ir_op_set_int(op, "fmod", 1);
    run_op(op, &r);
    expect_ints("Mod fmod=1", &r, 0, IR_DTYPE_INT32, I64(0, 1, 5, 0, -1, 3), 6);
    run_free(&r);

    new_graph();
    in[0] = cst(IR_DTYPE_FLOAT, 1, DIMS(2), F32(-4.5f, 7.5f));
    in[1] = cst(IR_DTYPE_FLOAT, 1, DIMS(2), F32(2, -2));
    op = add_op(IR_OP_MOD, in, 2, 1);
    ir_op_set_int(op, "fmod", 1);
    run_op(op, &r);
    expect_floats("float fmod", &r, 0, IR_DTYPE_FLOAT, F64(-0.5, 1.5), 2, 0);
    run_free(&r);

    new_graph();
    in[0] = cst(IR_DTYPE_INT32, 1, DIMS(1), I32(1));
    in[1] = cst(IR_DTYPE_INT32, 1, DIMS(1), I32(1));
    op = add_op(IR_OP_MOD, in, 2, 1);
    ir_op_set_int(op, "fmod", 2);
    run_op(op, &r);
    expect_infer_error("fmod=2", &r, "fmod", NULL);
    run_free(&r);
}

/*
 * Check half-float bits: output k of r must have dtype t and the bit
 * patterns in want, except that a NaN in want (any sign) matches any NaN.
 */
static void
expect_halves(const char *what, const struct run *r, enum ir_dtype t,
              const uint16_t *want, int n)
{
    CHECK(r->status == RT_OK, "%s: kernel status %d: %s", what, r->status,
          r->error);
    if (r->status != RT_OK)
        return;
    CHECK(r->result[0]->dtype == t, "%s: result dtype %s", what,
          ir_dtype_name(r->result[0]->dtype));
    /* Exponent all ones and a nonzero mantissa. */
    uint16_t exp = t == IR_DTYPE_FLOAT16 ? 0x7c00 : 0x7f80;
    for (int i = 0; i < n; i++) {
        uint16_t got = ((const uint16_t *)r->out[0])[i];
        bool want_nan =
            (want[i] & exp) == exp && (want[i] & (uint16_t)~(exp | 0x8000));
        bool got_nan = (got & exp) == exp && (got & (uint16_t)~(exp | 0x8000));
        bool ok = want_nan ? got_nan : got == want[i];
        CHECK(ok, "%s: element %d is 0x%04x, expected 0x%04x", what, i, got,
              want[i]);
    }
}

/* Run Mod with attribute fmod on two half-float vectors of n elements. */
static struct run
mod_halves(enum ir_dtype t, int fmod, int n, const uint16_t *a,
           const uint16_t *b)
{
    new_graph();
    int32_t in[2] = {cst(t, 1, DIMS(n), a), cst(t, 1, DIMS(n), b)};
    struct ir_op *op = add_op(IR_OP_MOD, in, 2, 1);
    ir_op_set_int(op, "fmod", fmod);
    struct run r;
    run_op(op, &r);
    return r;
}

static void
test_mod_half(void)
{
    /*
     * f16: -4.5 % 2, 7 % -3, 5 % 8, -7 % 3, 1000.5 % -1, 1 % 0, and the
     * smallest subnormal % -1, where -1 + 2^-24 rounds to -1.
     */
    const uint16_t a[7] = {0xc480, 0x4700, 0x4500, 0xc700,
                           0x63d1, 0x3c00, 0x0001};
    const uint16_t b[7] = {0x4000, 0xc200, 0x4800, 0x4200,
                           0xbc00, 0x0000, 0xbc00};
    struct run r = mod_halves(IR_DTYPE_FLOAT16, 0, 7, a, b);
    /* 1.5, -2, 5, 2, -0.5, NaN, -1 */
    expect_halves(
        "f16 Mod fmod=0", &r, IR_DTYPE_FLOAT16,
        (uint16_t[]){0x3e00, 0xc000, 0x4500, 0x4000, 0xb800, 0x7e00, 0xbc00},
        7);
    run_free(&r);
    r = mod_halves(IR_DTYPE_FLOAT16, 1, 7, a, b);
    /* -0.5, 1, 5, -1, 0.5, NaN, 2^-24 */
    expect_halves(
        "f16 Mod fmod=1", &r, IR_DTYPE_FLOAT16,
        (uint16_t[]){0xb800, 0x3c00, 0x4500, 0xbc00, 0x3800, 0x7e00, 0x0001},
        7);
    run_free(&r);

    /* bf16: -4.5 % 2, 7 % -3, -7 % 3. */
    const uint16_t c[3] = {0xc090, 0x40e0, 0xc0e0};
    const uint16_t d[3] = {0x4000, 0xc040, 0x4040};
    r = mod_halves(IR_DTYPE_BFLOAT16, 0, 3, c, d);
    /* 1.5, -2, 2 */
    expect_halves("bf16 Mod fmod=0", &r, IR_DTYPE_BFLOAT16,
                  (uint16_t[]){0x3fc0, 0xc000, 0x4000}, 3);
    run_free(&r);
    r = mod_halves(IR_DTYPE_BFLOAT16, 1, 3, c, d);
    /* -0.5, 1, -1 */
    expect_halves("bf16 Mod fmod=1", &r, IR_DTYPE_BFLOAT16,
                  (uint16_t[]){0xbf00, 0x3f80, 0xbf80}, 3);
    run_free(&r);
}

static void
test_pow(void)
{
    struct run r = binary(IR_OP_POW, IR_DTYPE_FLOAT, 1, DIMS(3), F32(2, 3, 4),
                          IR_DTYPE_FLOAT, 1, DIMS(3), F32(3, 0.5f, -1));
    expect_floats("f32**f32", &r, 0, IR_DTYPE_FLOAT, F64(8, sqrt(3.0), 0.25), 3,
                  1e-6);
    run_free(&r);

    r = binary(IR_OP_POW, IR_DTYPE_FLOAT, 1, DIMS(3), F32(1.5f, -2, 3),
               IR_DTYPE_FLOAT, 0, NULL, F32(2));
    expect_floats("x**2", &r, 0, IR_DTYPE_FLOAT, F64(2.25, 4, 9), 3, 0);
    run_free(&r);

    r = binary(IR_OP_POW, IR_DTYPE_DOUBLE, 1, DIMS(2), F64(1.5, -3),
               IR_DTYPE_INT64, 2, DIMS(1, 1), I64(2));
    CHECK(shape_is(r.result[0], 2, DIMS(1, 2)), "x**[[2]] shape [1,2]");
    expect_floats("f64**i64 2", &r, 0, IR_DTYPE_DOUBLE, F64(2.25, 9), 2, 0);
    run_free(&r);

    r = binary(IR_OP_POW, IR_DTYPE_FLOAT, 1, DIMS(2), F32(2, -3),
               IR_DTYPE_INT64, 1, DIMS(2), I64(10, 3));
    expect_floats("f32**i64", &r, 0, IR_DTYPE_FLOAT, F64(1024, -27), 2, 0);
    run_free(&r);

    r = binary(IR_OP_POW, IR_DTYPE_INT32, 1, DIMS(3), I32(2, -3, 5),
               IR_DTYPE_INT32, 1, DIMS(3), I32(10, 3, 0));
    expect_ints("i32**i32", &r, 0, IR_DTYPE_INT32, I64(1024, -27, 1), 3);
    run_free(&r);

    r = binary(IR_OP_POW, IR_DTYPE_INT64, 1, DIMS(2), I64(3, 4), IR_DTYPE_FLOAT,
               1, DIMS(2), F32(2, 0.5f));
    expect_ints("i64**f32", &r, 0, IR_DTYPE_INT64, I64(9, 2), 2);
    run_free(&r);

    r = binary(IR_OP_POW, IR_DTYPE_UINT8, 1, DIMS(1), U8(2), IR_DTYPE_UINT8, 1,
               DIMS(1), U8(2));
    expect_infer_error("u8 base", &r, "u8", NULL);
    run_free(&r);
}

/* ---- comparisons, logic, shifts ---- */

static void
test_compare_nan(void)
{
    static const enum ir_op_kind kinds[5] = {IR_OP_EQUAL, IR_OP_GREATER,
                                             IR_OP_GREATER_OR_EQUAL, IR_OP_LESS,
                                             IR_OP_LESS_OR_EQUAL};
    static const int64_t want[5][4] = {
        {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 1, 1, 0}, {1, 0, 0, 0}, {1, 1, 0, 0}};
    for (int k = 0; k < 5; k++) {
        struct run r =
            binary(kinds[k], IR_DTYPE_FLOAT, 1, DIMS(4), F32(1, 2, 3, NAN),
                   IR_DTYPE_FLOAT, 1, DIMS(4), F32(2, 2, 2, NAN));
        expect_ints(ir_op_kind_name(kinds[k]), &r, 0, IR_DTYPE_BOOL, want[k],
                    4);
        run_free(&r);
    }
    struct run r = binary(IR_OP_EQUAL, IR_DTYPE_BOOL, 1, DIMS(2), U8(1, 0),
                          IR_DTYPE_BOOL, 0, NULL, U8(1));
    expect_ints("bool Equal", &r, 0, IR_DTYPE_BOOL, I64(1, 0), 2);
    run_free(&r);

    r = binary(IR_OP_LESS, IR_DTYPE_INT64, 1, DIMS(2), I64(-5, 5),
               IR_DTYPE_INT64, 0, NULL, I64(0));
    expect_ints("i64 Less", &r, 0, IR_DTYPE_BOOL, I64(1, 0), 2);
    run_free(&r);
}

static void
test_logic(void)
{
    const uint8_t a[4] = {0, 0, 1, 1}, b[4] = {0, 1, 0, 1};
    struct run r = binary(IR_OP_AND, IR_DTYPE_BOOL, 1, DIMS(4), a,
                          IR_DTYPE_BOOL, 1, DIMS(4), b);
    expect_ints("And", &r, 0, IR_DTYPE_BOOL, I64(0, 0, 0, 1), 4);
    run_free(&r);
    r = binary(IR_OP_OR, IR_DTYPE_BOOL, 1, DIMS(4), a, IR_DTYPE_BOOL, 1,
               DIMS(4), b);
    expect_ints("Or", &r, 0, IR_DTYPE_BOOL, I64(0, 1, 1, 1), 4);
    run_free(&r);
    r = binary(IR_OP_XOR, IR_DTYPE_BOOL, 1, DIMS(4), a, IR_DTYPE_BOOL, 1,
               DIMS(4), b);
    expect_ints("Xor", &r, 0, IR_DTYPE_BOOL, I64(0, 1, 1, 0), 4);
    run_free(&r);
    r = unary(IR_OP_NOT, IR_DTYPE_BOOL, 4, a);
    expect_ints("Not", &r, 0, IR_DTYPE_BOOL, I64(1, 1, 0, 0), 4);
    run_free(&r);
    r = binary(IR_OP_AND, IR_DTYPE_INT32, 1, DIMS(1), I32(1), IR_DTYPE_INT32, 1,
               DIMS(1), I32(1));
    expect_infer_error("And of i32", &r, "i32", NULL);
    run_free(&r);
}

static void
test_bitshift(void)
{
    new_graph();
    int32_t in[2] = {cst(IR_DTYPE_UINT8, 1, DIMS(4), U8(1, 3, 255, 1)),
                     cst(IR_DTYPE_UINT8, 1, DIMS(4), U8(1, 2, 4, 8))};
    struct ir_op *op = add_op(IR_OP_BITSHIFT, in, 2, 1);
    ir_op_set_string(op, "direction", "LEFT");
    struct run r;
    run_op(op, &r);
    expect_ints("LEFT", &r, 0, IR_DTYPE_UINT8, I64(2, 12, 240, 0), 4);
    run_free(&r);

    new_graph();
    in[0] = cst(IR_DTYPE_UINT32, 1, DIMS(3), (uint32_t[]){16, 255, 1});
    in[1] = cst(IR_DTYPE_UINT32, 1, DIMS(3), (uint32_t[]){2, 4, 32});
    op = add_op(IR_OP_BITSHIFT, in, 2, 1);
    ir_op_set_string(op, "direction", "RIGHT");
    run_op(op, &r);
    expect_ints("RIGHT", &r, 0, IR_DTYPE_UINT32, I64(4, 15, 0), 3);
    run_free(&r);

    new_graph();
    in[0] = cst(IR_DTYPE_UINT8, 1, DIMS(1), U8(1));
    in[1] = cst(IR_DTYPE_UINT8, 1, DIMS(1), U8(1));
    op = add_op(IR_OP_BITSHIFT, in, 2, 1);
    run_op(op, &r);
    expect_infer_error("no direction", &r, "direction", NULL);
    run_free(&r);
}

static void
test_prelu(void)
{
    struct run r = binary(IR_OP_PRELU, IR_DTYPE_FLOAT, 2, DIMS(2, 3),
                          F32(-1, 2, -3, 4, -5, 6), IR_DTYPE_FLOAT, 1, DIMS(3),
                          F32(0.5f, 0.25f, 2));
    expect_floats("PRelu", &r, 0, IR_DTYPE_FLOAT, F64(-0.5, 2, -6, 4, -1.25, 6),
                  6, 0);
    run_free(&r);

    r = binary(IR_OP_PRELU, IR_DTYPE_FLOAT, 1, DIMS(3), F32(-1, 2, -3),
               IR_DTYPE_FLOAT, 2, DIMS(2, 3), F32(1, 1, 1, 1, 1, 1));
    expect_infer_error("slope bigger than X", &r, "slope", NULL);
    run_free(&r);
}

/* ---- variadic ops and Where ---- */

static struct run
variadic(enum ir_op_kind kind, int n, const int32_t *in)
{
    struct run r;
    run_op(add_op(kind, in, n, 1), &r);
    return r;
}

static void
test_max_min_nan(void)
{
    new_graph();
    int32_t in[3] = {cst(IR_DTYPE_FLOAT, 1, DIMS(4), F32(1, NAN, 3, -1)),
                     cst(IR_DTYPE_FLOAT, 1, DIMS(4), F32(2, 1, NAN, -2)),
                     cst(IR_DTYPE_FLOAT, 0, NULL, F32(0))};
    struct run r = variadic(IR_OP_MAX, 3, in);
    expect_floats("Max NaN", &r, 0, IR_DTYPE_FLOAT, F64(2, NAN, NAN, 0), 4, 0);
    run_free(&r);
    r = variadic(IR_OP_MIN, 3, in);
    expect_floats("Min NaN", &r, 0, IR_DTYPE_FLOAT, F64(0, NAN, NAN, -2), 4, 0);
    run_free(&r);
}

static void
test_max_min_half(void)
{
    /* f16 1, NaN, -2, -inf and 2, 1, NaN, 65504, with a scalar 0. */
    new_graph();
    int32_t in[3] = {cst(IR_DTYPE_FLOAT16, 1, DIMS(4),
                         (uint16_t[]){0x3c00, 0x7e00, 0xc000, 0xfc00}),
                     cst(IR_DTYPE_FLOAT16, 1, DIMS(4),
                         (uint16_t[]){0x4000, 0x3c00, 0x7e00, 0x7bff}),
                     cst(IR_DTYPE_FLOAT16, 0, NULL, (uint16_t[]){0x0000})};
    struct run r = variadic(IR_OP_MAX, 3, in);
    CHECK(shape_is(r.result[0], 1, DIMS(4)), "f16 Max shape [4]");
    /* 2, NaN, NaN, 65504 */
    expect_halves("f16 Max", &r, IR_DTYPE_FLOAT16,
                  (uint16_t[]){0x4000, 0x7e00, 0x7e00, 0x7bff}, 4);
    run_free(&r);
    r = variadic(IR_OP_MIN, 3, in);
    /* 0, NaN, NaN, -inf */
    expect_halves("f16 Min", &r, IR_DTYPE_FLOAT16,
                  (uint16_t[]){0x0000, 0x7e00, 0x7e00, 0xfc00}, 4);
    run_free(&r);

    /* bf16 1, -3 and 2, -2: the bits of the chosen input come back. */
    new_graph();
    int32_t bf[2] = {
        cst(IR_DTYPE_BFLOAT16, 1, DIMS(2), (uint16_t[]){0x3f80, 0xc040}),
        cst(IR_DTYPE_BFLOAT16, 1, DIMS(2), (uint16_t[]){0x4000, 0xc000})};
    r = variadic(IR_OP_MAX, 2, bf);
    expect_halves("bf16 Max", &r, IR_DTYPE_BFLOAT16,
                  (uint16_t[]){0x4000, 0xc000}, 2);
    run_free(&r);
    r = variadic(IR_OP_MIN, 2, bf);
    expect_halves("bf16 Min", &r, IR_DTYPE_BFLOAT16,
                  (uint16_t[]){0x3f80, 0xc040}, 2);
    run_free(&r);

    r = variadic(IR_OP_SUM, 2, bf);
    expect_infer_error("bf16 Sum", &r, "bf16", "not supported");
    run_free(&r);
}

static void
test_sum_mean(void)
{
    new_graph();
    int32_t in[3] = {cst(IR_DTYPE_FLOAT, 2, DIMS(2, 1), F32(1, 2)),
                     cst(IR_DTYPE_FLOAT, 1, DIMS(3), F32(10, 20, 30)),
                     cst(IR_DTYPE_FLOAT, 0, NULL, F32(3))};
    struct run r = variadic(IR_OP_SUM, 3, in);
    CHECK(shape_is(r.result[0], 2, DIMS(2, 3)), "Sum shape [2,3]");
    expect_floats("Sum", &r, 0, IR_DTYPE_FLOAT, F64(14, 24, 34, 15, 25, 35), 6,
                  0);
    run_free(&r);
    r = variadic(IR_OP_MEAN, 3, in);
    expect_floats("Mean", &r, 0, IR_DTYPE_FLOAT,
                  F64(14 / 3.0, 8, 34 / 3.0, 5, 25 / 3.0, 35 / 3.0), 6, 1e-6);
    run_free(&r);
    r = variadic(IR_OP_SUM, 1, &in[1]);
    expect_floats("Sum of one", &r, 0, IR_DTYPE_FLOAT, F64(10, 20, 30), 3, 0);
    run_free(&r);

    new_graph();
    int32_t ints[2] = {cst(IR_DTYPE_INT32, 1, DIMS(2), I32(5, -7)),
                       cst(IR_DTYPE_INT32, 1, DIMS(2), I32(6, -8))};
    r = variadic(IR_OP_MAX, 2, ints);
    expect_ints("i32 Max", &r, 0, IR_DTYPE_INT32, I64(6, -7), 2);
    run_free(&r);
    r = variadic(IR_OP_MEAN, 2, ints);
    expect_infer_error("i32 Mean", &r, "i32", NULL);
    run_free(&r);

    new_graph();
    int32_t mixed[2] = {cst(IR_DTYPE_FLOAT, 1, DIMS(1), F32(1)),
                        cst(IR_DTYPE_DOUBLE, 1, DIMS(1), F64(1))};
    r = variadic(IR_OP_SUM, 2, mixed);
    expect_infer_error("f32+f64 Sum", &r, "f32", "f64");
    run_free(&r);
}

static void
test_where(void)
{
    new_graph();
    int32_t in[3] = {cst(IR_DTYPE_BOOL, 2, DIMS(2, 1), U8(1, 0)),
                     cst(IR_DTYPE_INT64, 1, DIMS(3), I64(1, 2, 3)),
                     cst(IR_DTYPE_INT64, 0, NULL, I64(-1))};
    struct run r;
    run_op(add_op(IR_OP_WHERE, in, 3, 1), &r);
    CHECK(shape_is(r.result[0], 2, DIMS(2, 3)), "Where shape [2,3]");
    expect_ints("Where", &r, 0, IR_DTYPE_INT64, I64(1, 2, 3, -1, -1, -1), 6);
    run_free(&r);

    new_graph();
    in[0] = cst(IR_DTYPE_BOOL, 1, DIMS(3), U8(1, 0, 1));
    in[1] = cst(IR_DTYPE_FLOAT, 2, DIMS(2, 3), F32(1, 2, 3, 4, 5, 6));
    in[2] = cst(IR_DTYPE_FLOAT, 2, DIMS(2, 1), F32(-1, -2));
    run_op(add_op(IR_OP_WHERE, in, 3, 1), &r);
    expect_floats("Where 3-way", &r, 0, IR_DTYPE_FLOAT, F64(1, -1, 3, 4, -2, 6),
                  6, 0);
    run_free(&r);

    new_graph();
    in[0] = cst(IR_DTYPE_FLOAT, 1, DIMS(1), F32(1));
    in[1] = cst(IR_DTYPE_FLOAT, 1, DIMS(1), F32(1));
    in[2] = cst(IR_DTYPE_FLOAT, 1, DIMS(1), F32(1));
    run_op(add_op(IR_OP_WHERE, in, 3, 1), &r);
    expect_infer_error("float condition", &r, "f32", NULL);
    run_free(&r);

    new_graph();
    in[0] = cst(IR_DTYPE_BOOL, 1, DIMS(1), U8(1));
    in[1] = cst(IR_DTYPE_FLOAT, 1, DIMS(1), F32(1));
    in[2] = cst(IR_DTYPE_INT64, 1, DIMS(1), I64(1));
    run_op(add_op(IR_OP_WHERE, in, 3, 1), &r);
    expect_infer_error("Where x and y dtypes", &r,
                       "input 1 has dtype f32 but input 2 has dtype i64", NULL);
    run_free(&r);
}

/* ---- unary ops ---- */

static void
test_relu_sign_nan(void)
{
    struct run r = unary(IR_OP_RELU, IR_DTYPE_FLOAT, 4, F32(-1, 0, 2, NAN));
    expect_floats("Relu", &r, 0, IR_DTYPE_FLOAT, F64(0, 0, 2, NAN), 4, 0);
    run_free(&r);
    r = unary(IR_OP_SIGN, IR_DTYPE_FLOAT, 4, F32(-3, 0, 2, NAN));
    expect_floats("Sign", &r, 0, IR_DTYPE_FLOAT, F64(-1, 0, 1, NAN), 4, 0);
    run_free(&r);
    r = unary(IR_OP_SIGN, IR_DTYPE_INT32, 3, I32(-3, 0, 7));
    expect_ints("i32 Sign", &r, 0, IR_DTYPE_INT32, I64(-1, 0, 1), 3);
    run_free(&r);
    r = unary(IR_OP_RELU, IR_DTYPE_INT8, 2, (int8_t[]){-3, 4});
    expect_ints("i8 Relu", &r, 0, IR_DTYPE_INT8, I64(0, 4), 2);
    run_free(&r);
    r = unary(IR_OP_ABS, IR_DTYPE_INT8, 2, (int8_t[]){-128, -5});
    expect_ints("i8 Abs", &r, 0, IR_DTYPE_INT8, I64(-128, 5), 2);
    run_free(&r);
    r = unary(IR_OP_NEG, IR_DTYPE_INT64, 2, I64(5, INT64_MIN));
    expect_ints("i64 Neg", &r, 0, IR_DTYPE_INT64, I64(-5, INT64_MIN), 2);
    run_free(&r);
    r = unary(IR_OP_NEG, IR_DTYPE_UINT8, 1, U8(1));
    expect_infer_error("u8 Neg", &r, "u8", NULL);
    run_free(&r);
}

static void
test_round_half_even(void)
{
    struct run r = unary(IR_OP_ROUND, IR_DTYPE_FLOAT, 7,
                         F32(0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 2.4f, -2.6f));
    expect_floats("Round", &r, 0, IR_DTYPE_FLOAT, F64(0, 2, 2, 0, -2, 2, -3), 7,
                  0);
    run_free(&r);
    r = unary(IR_OP_ROUND, IR_DTYPE_DOUBLE, 2, F64(3.5, -4.5));
    expect_floats("f64 Round", &r, 0, IR_DTYPE_DOUBLE, F64(4, -4), 2, 0);
    run_free(&r);
}

static void
test_is_inf_nan(void)
{
    const float x[4] = {INFINITY, -INFINITY, NAN, 1};
    struct run r = unary(IR_OP_IS_INF, IR_DTYPE_FLOAT, 4, x);
    expect_ints("IsInf", &r, 0, IR_DTYPE_BOOL, I64(1, 1, 0, 0), 4);
    run_free(&r);

    new_graph();
    int32_t in[1] = {cst(IR_DTYPE_FLOAT, 1, DIMS(4), x)};
    struct ir_op *op = add_op(IR_OP_IS_INF, in, 1, 1);
    ir_op_set_int(op, "detect_negative", 0);
    run_op(op, &r);
    expect_ints("IsInf positive only", &r, 0, IR_DTYPE_BOOL, I64(1, 0, 0, 0),
                4);
    run_free(&r);

    r = unary(IR_OP_IS_NAN, IR_DTYPE_DOUBLE, 2, F64(NAN, 1));
    expect_ints("IsNaN", &r, 0, IR_DTYPE_BOOL, I64(1, 0), 2);
    run_free(&r);
}

/* Run unary kind on x with one float attribute set (NULL for none). */
static struct run
unary_attr(enum ir_op_kind kind, int n, const float *x, const char *name,
           double value)
{
    new_graph();
    int32_t in[1] = {cst(IR_DTYPE_FLOAT, 1, DIMS(n), x)};
    struct ir_op *op = add_op(kind, in, 1, 1);
    if (name)
        ir_op_set_float(op, name, value);
    struct run r;
    run_op(op, &r);
    return r;
}

static void
test_activations(void)
{
    const float x[4] = {-2, -0.5f, 0, 1.5f};
    double want[4];
    struct run r;

    for (int i = 0; i < 4; i++)
        want[i] = x[i] < 0 ? 0.1 * x[i] : x[i];
    r = unary_attr(IR_OP_LEAKY_RELU, 4, x, "alpha", 0.1);
    expect_floats("LeakyRelu", &r, 0, IR_DTYPE_FLOAT, want, 4, 1e-6);
    run_free(&r);

    for (int i = 0; i < 4; i++)
        want[i] = x[i] < 0 ? 2 * (exp(x[i]) - 1) : x[i];
    r = unary_attr(IR_OP_ELU, 4, x, "alpha", 2);
    expect_floats("Elu", &r, 0, IR_DTYPE_FLOAT, want, 4, 1e-6);
    run_free(&r);

    double a = 1.67326319217681884765625, gm = 1.05070102214813232421875;
    for (int i = 0; i < 4; i++)
        want[i] = x[i] <= 0 ? gm * (a * exp(x[i]) - a) : gm * x[i];
    r = unary_attr(IR_OP_SELU, 4, x, NULL, 0);
    expect_floats("Selu defaults", &r, 0, IR_DTYPE_FLOAT, want, 4, 1e-6);
    run_free(&r);

    for (int i = 0; i < 4; i++)
        want[i] = fmax(0, fmin(1, 0.2 * x[i] + 0.5));
    r = unary_attr(IR_OP_HARD_SIGMOID, 4, x, NULL, 0);
    expect_floats("HardSigmoid", &r, 0, IR_DTYPE_FLOAT, want, 4, 1e-6);
    run_free(&r);

    const float hx[4] = {-4, -1, 1, 4};
    for (int i = 0; i < 4; i++)
        want[i] = hx[i] * fmax(0, fmin(1, hx[i] / 6 + 0.5));
    r = unary_attr(IR_OP_HARD_SWISH, 4, hx, NULL, 0);
    expect_floats("HardSwish", &r, 0, IR_DTYPE_FLOAT, want, 4, 1e-6);
    run_free(&r);

    const float sx[4] = {-100, -1, 0, 100};
    for (int i = 0; i < 4; i++)
        want[i] = 1 / (1 + exp(-(double)sx[i]));
    r = unary_attr(IR_OP_SIGMOID, 4, sx, NULL, 0);
    expect_floats("Sigmoid", &r, 0, IR_DTYPE_FLOAT, want, 4, 1e-6);
    run_free(&r);

    for (int i = 0; i < 4; i++)
        want[i] = sx[i] > 50 ? sx[i] : log1p(exp(sx[i]));
    r = unary_attr(IR_OP_SOFTPLUS, 4, sx, NULL, 0);
    expect_floats("Softplus", &r, 0, IR_DTYPE_FLOAT, want, 4, 1e-6);
    run_free(&r);

    for (int i = 0; i < 4; i++)
        want[i] = x[i] / (1 + fabs(x[i]));
    r = unary_attr(IR_OP_SOFTSIGN, 4, x, NULL, 0);
    expect_floats("Softsign", &r, 0, IR_DTYPE_FLOAT, want, 4, 1e-6);
    run_free(&r);
}

static void
test_gelu(void)
{
    const float x[4] = {-3, -0.5f, 0, 2};
    double want[4];
    struct run r;

    for (int i = 0; i < 4; i++)
        want[i] = 0.5 * x[i] * (1 + erf(x[i] / sqrt(2.0)));
    new_graph();
    int32_t in[1] = {cst(IR_DTYPE_FLOAT, 1, DIMS(4), x)};
    run_op(add_op(IR_OP_GELU, in, 1, 1), &r);
    expect_floats("Gelu", &r, 0, IR_DTYPE_FLOAT, want, 4, 1e-6);
    run_free(&r);

    for (int i = 0; i < 4; i++) {
        double v = x[i];
        want[i] =
            0.5 * v * (1 + tanh(sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
    }
    new_graph();
    in[0] = cst(IR_DTYPE_FLOAT, 1, DIMS(4), x);
    struct ir_op *op = add_op(IR_OP_GELU, in, 1, 1);
    ir_op_set_string(op, "approximate", "tanh");
    run_op(op, &r);
    expect_floats("Gelu tanh", &r, 0, IR_DTYPE_FLOAT, want, 4, 1e-6);
    run_free(&r);

    new_graph();
    in[0] = cst(IR_DTYPE_FLOAT, 1, DIMS(4), x);
    op = add_op(IR_OP_GELU, in, 1, 1);
    ir_op_set_string(op, "approximate", "fast");
    run_op(op, &r);
    expect_infer_error("Gelu fast", &r, "approximate", NULL);
    run_free(&r);
}

/* Each libm-backed op on a few values, in float and in double. */
static void
test_math_functions(void)
{
    static const struct {
        enum ir_op_kind kind;
        double (*fn)(double);
        double x[3];
    } cases[] = {
        {IR_OP_ACOS, acos, {-0.5, 0, 0.9}},
        {IR_OP_ACOSH, acosh, {1, 2, 10}},
        {IR_OP_ASIN, asin, {-0.5, 0, 0.9}},
        {IR_OP_ASINH, asinh, {-2, 0, 3}},
        {IR_OP_ATAN, atan, {-2, 0, 3}},
        {IR_OP_ATANH, atanh, {-0.5, 0, 0.9}},
        {IR_OP_CEIL, ceil, {-1.5, 0.2, 2}},
        {IR_OP_COS, cos, {-1, 0, 3}},
        {IR_OP_COSH, cosh, {-1, 0, 3}},
        {IR_OP_ERF, erf, {-1, 0, 0.5}},
        {IR_OP_EXP, exp, {-1, 0, 3}},
        {IR_OP_FLOOR, floor, {-1.5, 0.2, 2}},
        {IR_OP_LOG, log, {0.5, 1, 10}},
        {IR_OP_SIN, sin, {-1, 0, 3}},
        {IR_OP_SINH, sinh, {-1, 0, 3}},
        {IR_OP_SQRT, sqrt, {0, 2, 9}},
        {IR_OP_TAN, tan, {-1, 0, 1.2}},
        {IR_OP_TANH, tanh, {-1, 0, 3}},
        {IR_OP_ABS, fabs, {-1, 0, 3}},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        double want[3];
        float xf[3];
        for (int i = 0; i < 3; i++) {
            xf[i] = (float)cases[c].x[i];
            want[i] = cases[c].fn(cases[c].x[i]);
        }
        const char *name = ir_op_kind_name(cases[c].kind);
        struct run r = unary(cases[c].kind, IR_DTYPE_DOUBLE, 3, cases[c].x);
        expect_floats(name, &r, 0, IR_DTYPE_DOUBLE, want, 3, 1e-15);
        run_free(&r);
        r = unary(cases[c].kind, IR_DTYPE_FLOAT, 3, xf);
        expect_floats(name, &r, 0, IR_DTYPE_FLOAT, want, 3, 1e-6);
        run_free(&r);
    }
    struct run r = unary(IR_OP_RECIPROCAL, IR_DTYPE_FLOAT, 3, F32(2, -4, 0));
    expect_floats("Reciprocal", &r, 0, IR_DTYPE_FLOAT,
                  F64(0.5, -0.25, INFINITY), 3, 0);
    run_free(&r);
    r = unary(IR_OP_LOG, IR_DTYPE_FLOAT, 2, F32(0, -1));
    expect_floats("Log of 0 and -1", &r, 0, IR_DTYPE_FLOAT, F64(-INFINITY, NAN),
                  2, 0);
    run_free(&r);
}

/* Distance from got to want in units of the float spacing at want. */
static double
ulp_error(float got, double want)
{
    if (isnan(want))
        return isnan(got) ? 0 : INFINITY;
    if (isinf(want))
        return got == want ? 0 : INFINITY;
    float w = (float)want;
    double spacing = nextafterf(fabsf(w), INFINITY) - fabsf(w);
    return fabs(got - want) / spacing;
}

static double
sigmoid_ref(double x)
{
    return 1 / (1 + exp(-x));
}

static double
elu_ref(double x)
{
    return x < 0 ? expm1(x) : x;
}

/*
 * The float loops of Exp, Tanh, Erf, Sigmoid and Elu (which uses expm1)
 * have their own branch-free code: sweep each over its range and compare
 * with double libm, specials included.
 */
static void
test_float_math_accuracy(void)
{
    static const struct {
        enum ir_op_kind kind;
        double (*ref)(double);
        double lo, hi;
        double max_ulp;
    } cases[] = {
        {IR_OP_EXP, exp, -110, 110, 3},
        {IR_OP_TANH, tanh, -12, 12, 4},
        {IR_OP_ERF, erf, -6, 6, 4},
        {IR_OP_SIGMOID, sigmoid_ref, -120, 120, 4},
        {IR_OP_ELU, elu_ref, -30, 1, 4},
    };
    enum { N = 200003, SPECIALS = 9 };
    static const float specials[SPECIALS] = {
        INFINITY, -INFINITY, NAN, 0.0f, -0.0f, 1e-30f, -1e-30f, 1e-40f, -88.5f};
    float *x = malloc(sizeof(float) * (N + SPECIALS));
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        for (int i = 0; i < N; i++)
            x[i] = (float)(cases[c].lo +
                           (cases[c].hi - cases[c].lo) * i / (N - 1));
        memcpy(x + N, specials, sizeof(specials));
        const char *name = ir_op_kind_name(cases[c].kind);
        struct run r =
            cases[c].kind == IR_OP_ELU
                ? unary_attr(IR_OP_ELU, N + SPECIALS, x, NULL, 0)
                : unary(cases[c].kind, IR_DTYPE_FLOAT, N + SPECIALS, x);
        CHECK(r.status == RT_OK, "%s: status %d", name, r.status);
        if (r.status != RT_OK) {
            run_free(&r);
            continue;
        }
        double worst = 0;
        int worst_at = 0;
        for (int i = 0; i < N + SPECIALS; i++) {
            double e = ulp_error(((float *)r.out[0])[i], cases[c].ref(x[i]));
            if (e > worst) {
                worst = e;
                worst_at = i;
            }
        }
        CHECK(worst <= cases[c].max_ulp,
              "%s: %.2f ulp at x = %.9g (got %.9g, want %.9g)", name, worst,
              x[worst_at], ((float *)r.out[0])[worst_at],
              cases[c].ref(x[worst_at]));
        run_free(&r);
    }
    free(x);
}

/* ---- Cast, CastLike, Identity, Dropout, Clip ---- */

static struct run
cast(enum ir_dtype from, int n, const void *x, enum ir_dtype to)
{
    new_graph();
    int32_t in[1] = {cst(from, 1, DIMS(n), x)};
    struct ir_op *op = add_op(IR_OP_CAST, in, 1, 1);
    ir_op_set_int(op, "to", to);
    struct run r;
    run_op(op, &r);
    return r;
}

static void
test_cast_float_int_bool(void)
{
    const float x[6] = {0.5f, -0.5f, 1.7f, -2.2f, 0, NAN};
    struct run r = cast(IR_DTYPE_FLOAT, 6, x, IR_DTYPE_INT32);
    expect_ints("f32 to i32", &r, 0, IR_DTYPE_INT32, I64(0, 0, 1, -2, 0, 0), 6);
    int32_t truncated[6];
    memcpy(truncated, r.out[0], sizeof(truncated));
    run_free(&r);

    r = cast(IR_DTYPE_INT32, 6, truncated, IR_DTYPE_BOOL);
    expect_ints("i32 to bool", &r, 0, IR_DTYPE_BOOL, I64(0, 0, 1, 1, 0, 0), 6);
    run_free(&r);

    r = cast(IR_DTYPE_FLOAT, 6, x, IR_DTYPE_BOOL);
    expect_ints("f32 to bool", &r, 0, IR_DTYPE_BOOL, I64(1, 1, 1, 1, 0, 1), 6);
    run_free(&r);

    r = cast(IR_DTYPE_FLOAT, 4, F32(1e10f, -1e10f, 300, -1), IR_DTYPE_INT32);
    expect_ints("f32 to i32 saturates", &r, 0, IR_DTYPE_INT32,
                I64(INT32_MAX, INT32_MIN, 300, -1), 4);
    run_free(&r);

    r = cast(IR_DTYPE_DOUBLE, 3, F64(300, -1, 255.9), IR_DTYPE_UINT8);
    expect_ints("f64 to u8 saturates", &r, 0, IR_DTYPE_UINT8, I64(255, 0, 255),
                3);
    run_free(&r);

    r = cast(IR_DTYPE_BOOL, 2, U8(1, 0), IR_DTYPE_FLOAT);
    expect_floats("bool to f32", &r, 0, IR_DTYPE_FLOAT, F64(1, 0), 2, 0);
    run_free(&r);

    r = cast(IR_DTYPE_INT64, 2, I64(-1, 300), IR_DTYPE_UINT8);
    expect_ints("i64 to u8 wraps", &r, 0, IR_DTYPE_UINT8, I64(255, 44), 2);
    run_free(&r);

    r = cast(IR_DTYPE_BOOL, 2, U8(1, 0), IR_DTYPE_STRING);
    expect_infer_error("bool to string", &r, "not supported", NULL);
    run_free(&r);
}

static void
test_cast_half(void)
{
    /* 1 + 2^-11 and 1 + 3 * 2^-11 are ties: they round to even. */
    const float x[8] = {1,        65504, 65520, 1 + 0x1p-11f, 1 + 3 * 0x1p-11f,
                        0x1p-24f, NAN,   -2};
    struct run r = cast(IR_DTYPE_FLOAT, 8, x, IR_DTYPE_FLOAT16);
    expect_ints(
        "f32 to f16", &r, 0, IR_DTYPE_FLOAT16,
        I64(0x3c00, 0x7bff, 0x7c00, 0x3c00, 0x3c02, 0x0001, 0x7e00, 0xc000), 8);
    run_free(&r);

    const uint16_t h[4] = {0x3c00, 0x0001, 0xfc00, 0x7bff};
    r = cast(IR_DTYPE_FLOAT16, 4, h, IR_DTYPE_DOUBLE);
    expect_floats("f16 to f64", &r, 0, IR_DTYPE_DOUBLE,
                  F64(1, 0x1p-24, -INFINITY, 65504), 4, 0);
    run_free(&r);

    const float b[4] = {1 + 0x1p-8f, 1 + 3 * 0x1p-8f, -1.5f, 1e-40f};
    r = cast(IR_DTYPE_FLOAT, 4, b, IR_DTYPE_BFLOAT16);
    expect_ints("f32 to bf16", &r, 0, IR_DTYPE_BFLOAT16,
                I64(0x3f80, 0x3f82, 0xbfc0, 0x0001), 4);
    run_free(&r);

    r = cast(IR_DTYPE_BFLOAT16, 2, (uint16_t[]){0x3fc0, 0xc040},
             IR_DTYPE_INT32);
    expect_ints("bf16 to i32", &r, 0, IR_DTYPE_INT32, I64(1, -3), 2);
    run_free(&r);
}

static void
test_cast_like(void)
{
    new_graph();
    int32_t in[2] = {cst(IR_DTYPE_FLOAT, 1, DIMS(3), F32(1.9f, -1.9f, 0)),
                     cst(IR_DTYPE_INT64, 0, NULL, I64(0))};
    struct run r;
    run_op(add_op(IR_OP_CAST_LIKE, in, 2, 1), &r);
    CHECK(shape_is(r.result[0], 1, DIMS(3)), "CastLike shape [3]");
    expect_ints("CastLike", &r, 0, IR_DTYPE_INT64, I64(1, -1, 0), 3);
    run_free(&r);
}

static void
test_identity_dropout(void)
{
    new_graph();
    int32_t in[3] = {cst(IR_DTYPE_INT64, 1, DIMS(3), I64(4, 5, 6)), IR_NONE,
                     IR_NONE};
    struct run r;
    run_op(add_op(IR_OP_IDENTITY, in, 1, 1), &r);
    expect_ints("Identity", &r, 0, IR_DTYPE_INT64, I64(4, 5, 6), 3);
    run_free(&r);

    new_graph();
    in[0] = cst(IR_DTYPE_FLOAT, 1, DIMS(3), F32(1, 2, 3));
    in[1] = cst(IR_DTYPE_FLOAT, 0, NULL, F32(0.5f));
    in[2] = cst(IR_DTYPE_BOOL, 0, NULL, U8(0));
    run_op(add_op(IR_OP_DROPOUT, in, 3, 2), &r);
    expect_floats("Dropout output", &r, 0, IR_DTYPE_FLOAT, F64(1, 2, 3), 3, 0);
    expect_ints("Dropout mask", &r, 1, IR_DTYPE_BOOL, I64(1, 1, 1), 3);
    run_free(&r);

    new_graph();
    in[0] = cst(IR_DTYPE_FLOAT, 1, DIMS(3), F32(1, 2, 3));
    in[1] = cst(IR_DTYPE_FLOAT, 0, NULL, F32(0.5f));
    in[2] = cst(IR_DTYPE_BOOL, 0, NULL, U8(1));
    run_op(add_op(IR_OP_DROPOUT, in, 3, 2), &r);
    /* numpy: seed 0 draws 0.549, 0.715, 0.603, all kept at ratio 0.5. */
    expect_floats("training, seed 0", &r, 0, IR_DTYPE_FLOAT, F64(2, 4, 6), 3,
                  0);
    expect_ints("training, seed 0 mask", &r, 1, IR_DTYPE_BOOL, I64(1, 1, 1), 3);
    run_free(&r);

    new_graph();
    in[0] = cst(IR_DTYPE_FLOAT, 1, DIMS(4), F32(1, -2, 3, -4));
    in[1] = cst(IR_DTYPE_FLOAT, 0, NULL, F32(0.5f));
    in[2] = cst(IR_DTYPE_BOOL, 0, NULL, U8(1));
    struct ir_op *op = add_op(IR_OP_DROPOUT, in, 3, 2);
    ir_op_set_int(op, "seed", 7);
    run_op(op, &r);
    /* numpy: seed 7 draws 0.076, 0.780, 0.438, 0.723. */
    expect_floats("training, seed 7", &r, 0, IR_DTYPE_FLOAT, F64(0, -4, 0, -8),
                  4, 0);
    expect_ints("training, seed 7 mask", &r, 1, IR_DTYPE_BOOL, I64(0, 1, 0, 1),
                4);
    run_free(&r);

    new_graph();
    uint16_t half[2] = {0x3c00, 0x4000};
    in[0] = cst(IR_DTYPE_FLOAT16, 1, DIMS(2), half);
    in[1] = cst(IR_DTYPE_FLOAT, 0, NULL, F32(0.5f));
    in[2] = cst(IR_DTYPE_BOOL, 0, NULL, U8(1));
    run_op(add_op(IR_OP_DROPOUT, in, 3, 1), &r);
    expect_infer_error("f16 training", &r, "float and double", "f16");
    run_free(&r);

    new_graph();
    in[0] = cst(IR_DTYPE_FLOAT, 1, DIMS(2), F32(1, 2));
    in[1] = cst(IR_DTYPE_FLOAT, 0, NULL, F32(0));
    in[2] = cst(IR_DTYPE_BOOL, 0, NULL, U8(1));
    run_op(add_op(IR_OP_DROPOUT, in, 3, 2), &r);
    expect_floats("training, ratio 0", &r, 0, IR_DTYPE_FLOAT, F64(1, 2), 2, 0);
    expect_ints("training, ratio 0 mask", &r, 1, IR_DTYPE_BOOL, I64(1, 1), 2);
    run_free(&r);
}

/* A bool scalar graph input whose run-time value is value. */
static int32_t
bool_input(uint8_t value)
{
    struct ir_shape scalar = ir_shape_make(0, NULL);
    int32_t v = ir_value_add(g, NULL, IR_VALUE_INPUT, IR_DTYPE_BOOL, &scalar);
    g->values[v].data = ir_xmalloc(1);
    *(uint8_t *)g->values[v].data = value;
    return v;
}

static void
test_dropout_runtime_training(void)
{
    struct run r;
    for (int training = 0; training <= 1; training++) {
        new_graph();
        int32_t in[3] = {cst(IR_DTYPE_FLOAT, 1, DIMS(2), F32(1, 2)),
                         cst(IR_DTYPE_FLOAT, 0, NULL, F32(0.5f)),
                         bool_input((uint8_t)training)};
        run_op(add_op(IR_OP_DROPOUT, in, 3, 1), &r);
        CHECK(r.infer == 0, "training %d: infer: %s", training, r.message);
        if (training) {
            expect_floats("training", &r, 0, IR_DTYPE_FLOAT, F64(2, 4), 2, 0);
        } else {
            expect_floats("not training", &r, 0, IR_DTYPE_FLOAT, F64(1, 2), 2,
                          0);
        }
        run_free(&r);
    }

    /* A ratio of 1 would divide by zero: the kernel rejects it. */
    new_graph();
    int32_t in[3] = {cst(IR_DTYPE_FLOAT, 1, DIMS(2), F32(1, 2)),
                     cst(IR_DTYPE_FLOAT, 0, NULL, F32(1.0f)), bool_input(1)};
    run_op(add_op(IR_OP_DROPOUT, in, 3, 1), &r);
    CHECK(r.status == RT_ERR_RUNTIME, "ratio 1: status %d", r.status);
    CHECK(strstr(r.error, "outside [0, 1)"), "ratio 1: message: %s", r.error);
    run_free(&r);
}

/*
 * Run the Cast kernel directly on n elements, with string storage: strings
 * cannot be constants, so no graph can carry them to the kernel here.
 */
static int
cast_kernel(int32_t from, const void *x, int32_t to, void *y, int64_t n,
            struct rt_strings *strings, char *error)
{
    struct rt_desc descs[2] = {{.dtype = from, .rank = 1, .dims = {n}},
                               {.dtype = to, .rank = 1, .dims = {n}}};
    struct rt_node node = {.name = "c",
                           .op_type = "Cast",
                           .n_inputs = 1,
                           .n_outputs = 1,
                           .descs = descs};
    struct rt_ctx ctx = {.pool = NULL, .error = error, .strings = strings};
    void *bufs[2] = {(void *)x, y};
    return rt_kernel_cast(&ctx, &node, bufs);
}

static void
test_cast_strings(void)
{
    struct rt_strings *strings = rt_strings_create();
    char error[RT_ERROR_SIZE] = "";
    const char *out[6];

    float f[6] = {0.5f, -0.0f, 1e-5f, 1e16f, NAN, -INFINITY};
    const char *want_f[6] = {"0.5", "-0.0", "1e-05", "1e+16", "nan", "-inf"};
    int rc = cast_kernel(RT_FLOAT, f, RT_STRING, out, 6, strings, error);
    CHECK(rc == RT_OK, "f32 to string: %s", error);
    for (int i = 0; rc == RT_OK && i < 6; i++)
        CHECK(strcmp(out[i], want_f[i]) == 0, "f32 %d: %s, expected %s", i,
              out[i], want_f[i]);

    int64_t ints[2] = {INT64_MIN, 42};
    rc = cast_kernel(RT_INT64, ints, RT_STRING, out, 2, strings, error);
    CHECK(rc == RT_OK, "i64 to string: %s", error);
    if (rc == RT_OK) {
        CHECK(strcmp(out[0], "-9223372036854775808") == 0, "i64 min: %s",
              out[0]);
        CHECK(strcmp(out[1], "42") == 0, "i64 42: %s", out[1]);
    }

    const char *in[4] = {" -2.5 ", "INF", "1e3", "7"};
    double d[4];
    rc = cast_kernel(RT_STRING, in, RT_DOUBLE, d, 4, strings, error);
    CHECK(rc == RT_OK, "string to f64: %s", error);
    CHECK(rc != RT_OK || d[0] == -2.5, "\" -2.5 \" gave %g", d[0]);
    CHECK(rc != RT_OK || (isinf(d[1]) && d[1] > 0), "INF gave %g", d[1]);
    CHECK(rc != RT_OK || d[2] == 1000, "1e3 gave %g", d[2]);
    CHECK(rc != RT_OK || d[3] == 7, "7 gave %g", d[3]);

    const char *bad[2] = {"1", "1.2.3"};
    rc = cast_kernel(RT_STRING, bad, RT_INT32, d, 2, strings, error);
    CHECK(rc == RT_ERR_RUNTIME, "malformed string: status %d", rc);
    CHECK(strstr(error, "Cast node 'c': input string 1 is \"1.2.3\""),
          "malformed string: message: %s", error);

    /* Without string storage, making strings fails cleanly. */
    rc = cast_kernel(RT_FLOAT, f, RT_STRING, out, 1, NULL, error);
    CHECK(rc == RT_ERR_MEMORY, "no storage: status %d", rc);
    rt_strings_destroy(strings);
}

static struct run
clip(enum ir_dtype t, int n, const void *x, const void *lo, const void *hi)
{
    new_graph();
    int32_t in[3] = {cst(t, 1, DIMS(n), x), lo ? cst(t, 0, NULL, lo) : IR_NONE,
                     hi ? cst(t, 0, NULL, hi) : IR_NONE};
    struct run r;
    run_op(add_op(IR_OP_CLIP, in, 3, 1), &r);
    return r;
}

static void
test_clip(void)
{
    const float x[5] = {-5, -1, 0, 2, NAN};
    struct run r = clip(IR_DTYPE_FLOAT, 5, x, F32(-1.5f), F32(1));
    expect_floats("Clip", &r, 0, IR_DTYPE_FLOAT, F64(-1.5, -1, 0, 1, NAN), 5,
                  0);
    run_free(&r);
    r = clip(IR_DTYPE_FLOAT, 5, x, NULL, F32(0));
    expect_floats("Clip max only", &r, 0, IR_DTYPE_FLOAT,
                  F64(-5, -1, 0, 0, NAN), 5, 0);
    run_free(&r);
    r = clip(IR_DTYPE_FLOAT, 4, x, F32(3), F32(1));
    expect_floats("Clip min > max", &r, 0, IR_DTYPE_FLOAT, F64(1, 1, 1, 1), 4,
                  0);
    run_free(&r);
    r = clip(IR_DTYPE_INT8, 3, (int8_t[]){-128, 0, 127}, (int8_t[]){-5}, NULL);
    expect_ints("i8 Clip min only", &r, 0, IR_DTYPE_INT8, I64(-5, 0, 127), 3);
    run_free(&r);

    new_graph();
    int32_t in[3] = {cst(IR_DTYPE_FLOAT, 1, DIMS(2), F32(1, 2)),
                     cst(IR_DTYPE_FLOAT, 1, DIMS(2), F32(0, 0)), IR_NONE};
    run_op(add_op(IR_OP_CLIP, in, 3, 1), &r);
    expect_infer_error("Clip vector min", &r, "scalar", NULL);
    run_free(&r);
}

int
main(void)
{
    test_add_row_broadcast();
    test_sub_outer_broadcast();
    test_mul_scalar();
    test_add_zero_size();
    test_add_uint8_wraps();
    test_broadcast_rank3();
    test_broadcast_parallel();
    test_broadcast_mismatch();
    test_dtype_mismatch();
    test_missing_operand();
    test_div_int_truncates();
    test_div_int_by_zero();
    test_div_float_by_zero();
    test_mod_signs();
    test_mod_half();
    test_pow();
    test_compare_nan();
    test_logic();
    test_bitshift();
    test_prelu();
    test_max_min_nan();
    test_max_min_half();
    test_sum_mean();
    test_where();
    test_relu_sign_nan();
    test_round_half_even();
    test_is_inf_nan();
    test_activations();
    test_gelu();
    test_math_functions();
    test_float_math_accuracy();
    test_cast_float_int_bool();
    test_cast_half();
    test_cast_like();
    test_cast_strings();
    test_identity_dropout();
    test_dropout_runtime_training();
    test_clip();

    /* The same large broadcasts again, split over a thread pool. */
    pool = rt_pool_create(4);
    test_broadcast_parallel();
    rt_pool_destroy(pool);
    pool = NULL;

    ir_graph_free(g);
    printf("%d passed, %d failed\n", n_passed, n_failed);
    return n_failed ? 1 : 0;
}
