/*
 * Unit tests of the math op group and of onnxc.Attention, whose kernel
 * otherwise runs only inside generated libraries: each case builds a one-op IR
 * graph with constant operands, runs the op's infer, encodes its kernel call,
 * runs the kernel on a two-thread pool and compares with a naive computation
 * here. `test_ops_math bench` also times a 128x768x768 float MatMul.
 */
#include "passes/passes.h"
#include "runtime/k_math.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef OPS_MATH_STANDALONE
/* Built without the other op groups: their tables are empty. */
const struct pass_op_impl pass_ops_elementwise[] = {{.kind = IR_OP_COUNT}};
const struct pass_op_impl pass_ops_shape[] = {{.kind = IR_OP_COUNT}};
const struct pass_op_impl pass_ops_fused[] = {{.kind = IR_OP_COUNT}};
#endif

static int n_passed, n_failed;
static struct rt_pool *pool;

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

/* ---- graph building and running ---- */

struct run {
    struct ir_graph *g;
    int32_t op;
    void *out[3];
    int status;
};

static struct ir_shape
shape_of(int rank, const int64_t *dims)
{
    return ir_shape_make(rank, dims);
}

static int32_t
add_const(struct ir_graph *g, enum ir_dtype t, int rank, const int64_t *dims,
          const void *data)
{
    struct ir_shape s = shape_of(rank, dims);
    int64_t n = ir_shape_numel(&s);
    return ir_const_add(g, NULL, t, &s, data, (size_t)n * ir_dtype_size(t));
}

static int32_t
add_f32(struct ir_graph *g, int rank, const int64_t *dims, const float *data)
{
    return add_const(g, IR_DTYPE_FLOAT, rank, dims, data);
}

static int32_t
add_i64_vec(struct ir_graph *g, int n, const int64_t *v)
{
    int64_t dims[1] = {n};
    return add_const(g, IR_DTYPE_INT64, 1, dims, v);
}

/* Add an op of kind with n_res results to a fresh graph owned by r. */
static struct ir_op *
make_op(struct run *r, struct ir_graph *g, enum ir_op_kind kind,
        const int32_t *operands, int n_ops, int n_res)
{
    int32_t res[3];
    for (int i = 0; i < n_res; i++)
        res[i] =
            ir_value_add(g, NULL, IR_VALUE_RESULT, IR_DTYPE_UNDEFINED, NULL);
    memset(r, 0, sizeof(*r));
    r->g = g;
    r->op = ir_op_add(g, kind, NULL, 17, operands, n_ops, res, n_res);
    return &g->ops[r->op];
}

static const struct ir_value *
result(const struct run *r, int i)
{
    return &r->g->values[r->g->ops[r->op].results[i]];
}

/* Infer, encode and run the op; returns 0 when every step succeeded. */
static int
run_op(struct run *r)
{
    struct ir_graph *g = r->g;
    struct ir_op *op = &g->ops[r->op];
    const struct pass_op_impl *impl = pass_op_impl(op->kind);
    if (!impl || impl->infer(g, op) != 0)
        return r->status = -1;

    struct pass_kernel_call call;
    if (pass_kernel_call_init(g, op, &call) != 0)
        return r->status = -1;
    void *bufs[16] = {0};
    for (int i = 0; i < op->n_operands; i++) {
        const struct ir_value *v = pass_operand(g, op, i);
        bufs[i] = v ? v->data : NULL;
    }
    for (int i = 0; i < op->n_results; i++) {
        const struct ir_value *v = result(r, i);
        int64_t n = ir_shape_numel(&v->shape);
        r->out[i] = calloc((size_t)(n > 0 ? n : 1), ir_dtype_size(v->dtype));
        bufs[op->n_operands + i] = r->out[i];
    }
    char err[RT_ERROR_SIZE] = "";
    struct rt_ctx ctx = {.pool = pool, .error = err};
    r->status = call.impl->kernel(&ctx, &call.node, bufs);
    if (r->status != RT_OK)
        printf("kernel error: %s\n", err);
    pass_kernel_call_free(&call);
    return r->status;
}

static void
run_free(struct run *r)
{
    for (int i = 0; i < 3; i++)
        free(r->out[i]);
    ir_graph_free(r->g);
    memset(r, 0, sizeof(*r));
}

static bool
shape_is(const struct ir_value *v, int rank, const int64_t *dims)
{
    if (v->shape.rank != rank)
        return false;
    for (int i = 0; i < rank; i++)
        if (v->shape.dim[i] != dims[i])
            return false;
    return true;
}

/* Index of the first element where got and want differ beyond tolerance,
 * or -1.  NaN matches NaN. */
static int64_t
mismatch_f32(const float *got, const float *want, int64_t n, double rtol,
             double atol)
{
    for (int64_t i = 0; i < n; i++) {
        if (isnan(want[i]) || isnan(got[i])) {
            if (isnan(want[i]) != isnan(got[i]))
                return i;
            continue;
        }
        if (isinf(want[i]) && got[i] == want[i])
            continue;
        if (fabs((double)got[i] - want[i]) > atol + rtol * fabs(want[i]))
            return i;
    }
    return -1;
}

#define CHECK_F32(got, want, n, rtol)                                          \
    do {                                                                       \
        int64_t bad_ = mismatch_f32(got, want, n, rtol, 1e-5);                 \
        CHECK(bad_ < 0, "element %lld: got %g, want %g", (long long)bad_,      \
              bad_ < 0 ? 0.0 : (double)(got)[bad_],                            \
              bad_ < 0 ? 0.0 : (double)(want)[bad_]);                          \
    } while (0)

static uint32_t rng_state = 12345;

static float
rand_f32(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)(rng_state >> 8) / (float)(1 << 24) * 2.0f - 1.0f;
}

static float *
rand_array(int64_t n)
{
    float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    for (int64_t i = 0; i < n; i++)
        p[i] = rand_f32();
    return p;
}

/* ---- MatMul ---- */

/*
 * Naive numpy matmul of float A and B with rank <= 4 each, batch dims
 * broadcast; writes the output of out_rank/out_dims.
 */
static void
ref_matmul(const float *a, int ra, const int64_t *da, const float *b, int rb,
           const int64_t *db, float *c, int rc, const int64_t *dc)
{
    int64_t m = ra >= 2 ? da[ra - 2] : 1, k = da[ra - 1];
    int64_t n = rb >= 2 ? db[rb - 1] : 1;
    int nb = rc - (ra >= 2) - (rb >= 2);
    int64_t batch = 1;
    for (int i = 0; i < nb; i++)
        batch *= dc[i];
    for (int64_t t = 0; t < batch; t++) {
        int64_t aoff = 0, boff = 0, rest = t, astr = m * k, bstr = k * n;
        for (int d = nb - 1; d >= 0; d--) {
            int64_t idx = rest % dc[d];
            rest /= dc[d];
            int ia = d - (nb - (ra - 2)), ib = d - (nb - (rb - 2));
            int64_t sa = ia >= 0 ? da[ia] : 1, sb = ib >= 0 ? db[ib] : 1;
            aoff += (sa == 1 ? 0 : idx) * astr;
            boff += (sb == 1 ? 0 : idx) * bstr;
            astr *= sa;
            bstr *= sb;
        }
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) {
                double s = 0;
                for (int64_t l = 0; l < k; l++)
                    s += (double)a[aoff + i * k + l] * b[boff + l * n + j];
                c[t * m * n + i * n + j] = (float)s;
            }
    }
}

/* Run MatMul on random data of the given shapes; checks shape and data. */
static void
check_matmul(int ra, const int64_t *da, int rb, const int64_t *db, int rc,
             const int64_t *dc)
{
    struct ir_shape sa = shape_of(ra, da), sb = shape_of(rb, db);
    struct ir_shape sc = shape_of(rc, dc);
    float *a = rand_array(ir_shape_numel(&sa));
    float *b = rand_array(ir_shape_numel(&sb));
    int64_t nc = ir_shape_numel(&sc);
    float *want = calloc((size_t)(nc > 0 ? nc : 1), sizeof(float));
    ref_matmul(a, ra, da, b, rb, db, want, rc, dc);

    struct run r;
    struct ir_graph *g = ir_graph_new("t");
    int32_t ops[2] = {add_f32(g, ra, da, a), add_f32(g, rb, db, b)};
    make_op(&r, g, IR_OP_MATMUL, ops, 2, 1);
    CHECK(run_op(&r) == 0, "MatMul rank %d x %d failed", ra, rb);
    if (r.status == 0) {
        CHECK(shape_is(result(&r, 0), rc, dc), "MatMul output shape");
        CHECK_F32((float *)r.out[0], want, nc, 1e-4);
    }
    run_free(&r);
    free(a);
    free(b);
    free(want);
}

static void
test_matmul_shapes(void)
{
    /* Batch broadcasting both ways. */
    check_matmul(4, (int64_t[]){1, 5, 8, 16}, 4, (int64_t[]){3, 1, 16, 4}, 4,
                 (int64_t[]){3, 5, 8, 4});
    check_matmul(2, (int64_t[]){8, 16}, 4, (int64_t[]){3, 2, 16, 4}, 4,
                 (int64_t[]){3, 2, 8, 4});
    /* The weight case: B 2-D, A's batch folds into M. */
    check_matmul(3, (int64_t[]){2, 7, 16}, 2, (int64_t[]){16, 5}, 3,
                 (int64_t[]){2, 7, 5});
    /* 1-D operands. */
    check_matmul(1, (int64_t[]){16}, 2, (int64_t[]){16, 4}, 1, (int64_t[]){4});
    check_matmul(2, (int64_t[]){8, 16}, 1, (int64_t[]){16}, 1, (int64_t[]){8});
    check_matmul(1, (int64_t[]){16}, 1, (int64_t[]){16}, 0, NULL);
    check_matmul(3, (int64_t[]){2, 3, 16}, 1, (int64_t[]){16}, 2,
                 (int64_t[]){2, 3});
    check_matmul(1, (int64_t[]){16}, 3, (int64_t[]){2, 16, 4}, 2,
                 (int64_t[]){2, 4});
    /* Zero-size batch, zero K. */
    check_matmul(3, (int64_t[]){0, 3, 4}, 3, (int64_t[]){1, 4, 5}, 3,
                 (int64_t[]){0, 3, 5});
    check_matmul(2, (int64_t[]){3, 0}, 2, (int64_t[]){0, 5}, 2,
                 (int64_t[]){3, 5});
    /* A random product big enough to cross every block boundary. */
    check_matmul(2, (int64_t[]){64, 96}, 2, (int64_t[]){96, 80}, 2,
                 (int64_t[]){64, 80});
    check_matmul(2, (int64_t[]){37, 300}, 2, (int64_t[]){300, 333}, 2,
                 (int64_t[]){37, 333});
}

/* y = Transpose(x, perm) for x of rank r, both contiguous. */
static void
permute(const float *x, int r, const int64_t *dims, const int64_t *perm,
        float *y)
{
    int64_t step[IR_MAX_RANK], s = 1, n = 1;
    for (int i = r - 1; i >= 0; i--) {
        step[i] = s;
        s *= dims[i];
    }
    for (int i = 0; i < r; i++)
        n *= dims[perm[i]];
    for (int64_t e = 0; e < n; e++) {
        int64_t rest = e, off = 0;
        for (int i = r - 1; i >= 0; i--) {
            off += rest % dims[perm[i]] * step[perm[i]];
            rest /= dims[perm[i]];
        }
        y[e] = x[off];
    }
}

/*
 * MatMul(a, x) {perm_b} on random data against the product with the
 * transposed copy of x; rc and dc give the result.
 */
static void
check_matmul_perm_b(int ra, const int64_t *da, int rx, const int64_t *dx,
                    const int64_t *perm, int rc, const int64_t *dc)
{
    struct ir_shape sa = shape_of(ra, da), sx = shape_of(rx, dx);
    struct ir_shape sc = shape_of(rc, dc);
    float *a = rand_array(ir_shape_numel(&sa));
    float *x = rand_array(ir_shape_numel(&sx));
    float *b = calloc((size_t)ir_shape_numel(&sx), sizeof(float));
    int64_t db[IR_MAX_RANK];
    for (int i = 0; i < rx; i++)
        db[i] = dx[perm[i]];
    permute(x, rx, dx, perm, b);
    int64_t nc = ir_shape_numel(&sc);
    float *want = calloc((size_t)(nc > 0 ? nc : 1), sizeof(float));
    ref_matmul(a, ra, da, b, rx, db, want, rc, dc);

    struct run r;
    struct ir_graph *g = ir_graph_new("t");
    int32_t ops[2] = {add_f32(g, ra, da, a), add_f32(g, rx, dx, x)};
    struct ir_op *op = make_op(&r, g, IR_OP_MATMUL, ops, 2, 1);
    ir_op_set_ints(op, "perm_b", perm, rx);
    CHECK(run_op(&r) == 0, "MatMul with perm_b of rank %d failed", rx);
    if (r.status == 0) {
        CHECK(shape_is(result(&r, 0), rc, dc), "MatMul output shape");
        CHECK_F32((float *)r.out[0], want, nc, 1e-4);
    }
    run_free(&r);
    free(a);
    free(x);
    free(b);
    free(want);
}

static void
test_matmul_perm_b(void)
{
    /* k^T from [B, S, H, D] heads, and v's [0, 2, 1, 3]. */
    check_matmul_perm_b(4, (int64_t[]){2, 4, 3, 8}, 4, (int64_t[]){2, 5, 4, 8},
                        (int64_t[]){0, 2, 3, 1}, 4, (int64_t[]){2, 4, 3, 5});
    check_matmul_perm_b(4, (int64_t[]){2, 4, 3, 5}, 4, (int64_t[]){2, 5, 4, 8},
                        (int64_t[]){0, 2, 1, 3}, 4, (int64_t[]){2, 4, 3, 8});
    /* A 2-D transpose, and one whose batch dim broadcasts over A's. */
    check_matmul_perm_b(2, (int64_t[]){7, 30}, 2, (int64_t[]){20, 30},
                        (int64_t[]){1, 0}, 2, (int64_t[]){7, 20});
    check_matmul_perm_b(3, (int64_t[]){3, 6, 9}, 3, (int64_t[]){9, 1, 4},
                        (int64_t[]){1, 0, 2}, 3, (int64_t[]){3, 6, 4});
}

static void
test_matmul_mismatch(void)
{
    float a[6] = {0}, b[6] = {0};
    struct run r;
    struct ir_graph *g = ir_graph_new("t");
    int32_t ops[2] = {add_f32(g, 2, (int64_t[]){2, 3}, a),
                      add_f32(g, 2, (int64_t[]){2, 3}, b)};
    make_op(&r, g, IR_OP_MATMUL, ops, 2, 1);
    FILE *null = fopen("/dev/null", "w");
    ir_set_error_stream(null);
    CHECK(run_op(&r) != 0, "MatMul [2,3]x[2,3] must fail");
    ir_set_error_stream(stderr);
    fclose(null);
    run_free(&r);
}

static void
test_matmul_int(void)
{
    int64_t a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {7, 8, 9, 10, 11, 12};
    int64_t want[4] = {58, 64, 139, 154};
    struct run r;
    struct ir_graph *g = ir_graph_new("t");
    int32_t ops[2] = {add_const(g, IR_DTYPE_INT64, 2, (int64_t[]){2, 3}, a),
                      add_const(g, IR_DTYPE_INT64, 2, (int64_t[]){3, 2}, b)};
    make_op(&r, g, IR_OP_MATMUL, ops, 2, 1);
    CHECK(run_op(&r) == 0, "int64 MatMul failed");
    if (r.status == 0)
        CHECK(memcmp(r.out[0], want, sizeof(want)) == 0, "int64 MatMul values");
    run_free(&r);

    int32_t a32[6] = {1, 2, 3, 4, 5, 6}, b32[6] = {7, 8, 9, 10, 11, 12};
    int32_t want32[4] = {58, 64, 139, 154};
    g = ir_graph_new("t");
    ops[0] = add_const(g, IR_DTYPE_INT32, 2, (int64_t[]){2, 3}, a32);
    ops[1] = add_const(g, IR_DTYPE_INT32, 2, (int64_t[]){3, 2}, b32);
    make_op(&r, g, IR_OP_MATMUL, ops, 2, 1);
    CHECK(run_op(&r) == 0, "int32 MatMul failed");
    if (r.status == 0)
        CHECK(memcmp(r.out[0], want32, sizeof(want32)) == 0,
              "int32 MatMul values");
    run_free(&r);

    double ad[6] = {1, 2, 3, 4, 5, 6}, bd[6] = {7, 8, 9, 10, 11, 12};
    double wantd[4] = {58, 64, 139, 154};
    g = ir_graph_new("t");
    ops[0] = add_const(g, IR_DTYPE_DOUBLE, 2, (int64_t[]){2, 3}, ad);
    ops[1] = add_const(g, IR_DTYPE_DOUBLE, 2, (int64_t[]){3, 2}, bd);
    make_op(&r, g, IR_OP_MATMUL, ops, 2, 1);
    CHECK(run_op(&r) == 0, "double MatMul failed");
    if (r.status == 0)
        CHECK(memcmp(r.out[0], wantd, sizeof(wantd)) == 0,
              "double MatMul values");
    run_free(&r);
}

/* ---- Gemm ---- */

/* Gemm on random data with C of shape c_dims (c_rank -1: no C). */
static void
check_gemm(int64_t m, int64_t k, int64_t n, int ta, int tb, float alpha,
           float beta, int c_rank, const int64_t *c_dims)
{
    float *a = rand_array(m * k), *b = rand_array(k * n);
    struct ir_shape cs = shape_of(c_rank > 0 ? c_rank : 0, c_dims);
    int64_t nc = c_rank >= 0 ? ir_shape_numel(&cs) : 0;
    float *c = rand_array(nc);
    float *want = malloc((size_t)(m * n) * sizeof(float));
    int64_t cm = c_rank >= 2 ? c_dims[0] : 1;
    int64_t cn = c_rank >= 1 ? c_dims[c_rank - 1] : 1;
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0;
            for (int64_t l = 0; l < k; l++)
                s += (double)(ta ? a[l * m + i] : a[i * k + l]) *
                     (tb ? b[j * k + l] : b[l * n + j]);
            s *= alpha;
            if (c_rank >= 0)
                s += beta * c[(cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)];
            want[i * n + j] = (float)s;
        }

    struct run r;
    struct ir_graph *g = ir_graph_new("t");
    int64_t da[2] = {ta ? k : m, ta ? m : k}, db[2] = {tb ? n : k, tb ? k : n};
    int32_t ops[3] = {add_f32(g, 2, da, a), add_f32(g, 2, db, b), IR_NONE};
    if (c_rank >= 0)
        ops[2] = add_f32(g, c_rank, c_dims, c);
    struct ir_op *op = make_op(&r, g, IR_OP_GEMM, ops, c_rank >= 0 ? 3 : 2, 1);
    ir_op_set_int(op, "transA", ta);
    ir_op_set_int(op, "transB", tb);
    ir_op_set_float(op, "alpha", alpha);
    ir_op_set_float(op, "beta", beta);
    CHECK(run_op(&r) == 0, "Gemm failed");
    if (r.status == 0) {
        CHECK(shape_is(result(&r, 0), 2, (int64_t[]){m, n}),
              "Gemm output shape");
        CHECK_F32((float *)r.out[0], want, m * n, 1e-4);
    }
    run_free(&r);
    free(a);
    free(b);
    free(c);
    free(want);
}

static void
test_gemm(void)
{
    check_gemm(5, 7, 6, 0, 0, 1, 1, -1, NULL);
    check_gemm(5, 7, 6, 1, 0, 0.5f, 2, 1, (int64_t[]){6});
    check_gemm(5, 7, 6, 0, 1, 1, 1, 2, (int64_t[]){5, 1});
    check_gemm(5, 7, 6, 1, 1, 2, 0.25f, 2, (int64_t[]){5, 6});
    check_gemm(5, 7, 6, 0, 0, 1, 3, 0, NULL);
    check_gemm(5, 7, 6, 0, 0, 1, 1, 2, (int64_t[]){1, 6});
    /* transB over several packed blocks of B. */
    check_gemm(40, 200, 150, 0, 1, 1, 1, 1, (int64_t[]){150});
}

/* ---- Softmax family ---- */

/* Reference softmax of x [outer, n, inner] along n; mode as the kernel. */
static void
ref_softmax(const float *x, float *y, int64_t outer, int64_t n, int64_t inner,
            int mode)
{
    for (int64_t o = 0; o < outer; o++)
        for (int64_t c = 0; c < inner; c++) {
            const float *xs = x + o * n * inner + c;
            float *ys = y + o * n * inner + c;
            double m = -INFINITY, s = 0;
            int64_t best = 0;
            for (int64_t k = 0; k < n; k++) {
                if (xs[k * inner] > m || isnan(xs[k * inner]))
                    m = xs[k * inner];
                if (xs[k * inner] > xs[best * inner])
                    best = k;
            }
            for (int64_t k = 0; k < n; k++)
                s += exp(xs[k * inner] - m);
            for (int64_t k = 0; k < n; k++) {
                double v = exp(xs[k * inner] - m) / s;
                if (mode == RT_LOG_SOFTMAX)
                    v = xs[k * inner] - m - log(s);
                if (mode == RT_HARDMAX)
                    v = k == best;
                ys[k * inner] = (float)v;
            }
        }
}

static void
check_softmax(enum ir_op_kind kind, int mode, int rank, const int64_t *dims,
              int axis, int coerce, const float *data)
{
    struct ir_shape s = shape_of(rank, dims);
    int64_t total = ir_shape_numel(&s);
    float *x = data ? NULL : rand_array(total);
    const float *in = data ? data : x;
    int a = axis < 0 ? axis + rank : axis;
    int64_t outer = 1, n = 1, inner = 1;
    for (int i = 0; i < rank; i++) {
        if (i < a)
            outer *= dims[i];
        else if (i == a || coerce)
            n *= dims[i];
        else
            inner *= dims[i];
    }
    float *want = malloc((size_t)total * sizeof(float));
    ref_softmax(in, want, outer, n, inner, mode);

    struct run r;
    struct ir_graph *g = ir_graph_new("t");
    int32_t ops[1] = {add_f32(g, rank, dims, in)};
    struct ir_op *op = make_op(&r, g, kind, ops, 1, 1);
    ir_op_set_int(op, "axis", axis);
    if (coerce)
        ir_op_set_int(op, "coerce_2d", 1);
    CHECK(run_op(&r) == 0, "%s axis %d failed", ir_op_kind_name(kind), axis);
    if (r.status == 0)
        CHECK_F32((float *)r.out[0], want, total, 1e-5);
    run_free(&r);
    free(x);
    free(want);
}

static void
test_softmax(void)
{
    int64_t d3[3] = {2, 3, 4};
    enum ir_op_kind kinds[3] = {IR_OP_SOFTMAX, IR_OP_LOG_SOFTMAX,
                                IR_OP_HARDMAX};
    int modes[3] = {RT_SOFTMAX, RT_LOG_SOFTMAX, RT_HARDMAX};
    for (int i = 0; i < 3; i++) {
        check_softmax(kinds[i], modes[i], 3, d3, -1, 0, NULL);
        check_softmax(kinds[i], modes[i], 3, d3, 1, 0, NULL);
        check_softmax(kinds[i], modes[i], 3, d3, 0, 0, NULL);
        check_softmax(kinds[i], modes[i], 3, d3, 1, 1, NULL);
        check_softmax(kinds[i], modes[i], 2, (int64_t[]){3, 1000}, -1, 0, NULL);
        check_softmax(kinds[i], modes[i], 3, (int64_t[]){2, 5, 130}, 1, 0,
                      NULL);
    }

    /* Rows of all -inf, with +inf and with NaN become NaN. */
    float special[12] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY,
                         1,         INFINITY,  2,         3,
                         1,         NAN,       2,         3};
    struct run r;
    struct ir_graph *g = ir_graph_new("t");
    int32_t ops[1] = {add_f32(g, 2, (int64_t[]){3, 4}, special)};
    struct ir_op *op = make_op(&r, g, IR_OP_SOFTMAX, ops, 1, 1);
    ir_op_set_int(op, "axis", -1);
    CHECK(run_op(&r) == 0, "Softmax with infinities failed");
    if (r.status == 0) {
        const float *y = r.out[0];
        for (int i = 0; i < 12; i++)
            CHECK(isnan(y[i]), "Softmax element %d: got %g, want NaN", i, y[i]);
    }
    run_free(&r);
}

/* ---- LayerNormalization ---- */

static void
check_layer_norm(int rank, const int64_t *dims, int axis, bool bias)
{
    struct ir_shape s = shape_of(rank, dims);
    int64_t total = ir_shape_numel(&s);
    int a = axis < 0 ? axis + rank : axis;
    int64_t rows = 1, n = 1;
    for (int i = 0; i < rank; i++) {
        if (i < a)
            rows *= dims[i];
        else
            n *= dims[i];
    }
    float *x = rand_array(total), *scale = rand_array(n), *b = rand_array(n);
    for (int64_t i = 0; i < total; i++)
        x[i] = x[i] * 3 + 10; /* a mean far from zero */
    float *want = malloc((size_t)total * sizeof(float));
    float *want_mean = malloc((size_t)rows * sizeof(float));
    float *want_inv = malloc((size_t)rows * sizeof(float));
    for (int64_t r = 0; r < rows; r++) {
        double mean = 0, var = 0;
        for (int64_t j = 0; j < n; j++)
            mean += x[r * n + j];
        mean /= (double)n;
        for (int64_t j = 0; j < n; j++)
            var += (x[r * n + j] - mean) * (x[r * n + j] - mean);
        var /= (double)n;
        double inv = 1 / sqrt(var + 1e-5);
        for (int64_t j = 0; j < n; j++)
            want[r * n + j] = (float)((x[r * n + j] - mean) * inv * scale[j] +
                                      (bias ? b[j] : 0));
        want_mean[r] = (float)mean;
        want_inv[r] = (float)inv;
    }

    struct run r;
    struct ir_graph *g = ir_graph_new("t");
    int32_t ops[3] = {add_f32(g, rank, dims, x),
                      add_f32(g, rank - a, dims + a, scale),
                      add_f32(g, rank - a, dims + a, b)};
    struct ir_op *op =
        make_op(&r, g, IR_OP_LAYER_NORMALIZATION, ops, bias ? 3 : 2, 3);
    ir_op_set_int(op, "axis", axis);
    CHECK(run_op(&r) == 0, "LayerNormalization axis %d failed", axis);
    if (r.status == 0) {
        int64_t sd[IR_MAX_RANK];
        for (int i = 0; i < rank; i++)
            sd[i] = i < a ? dims[i] : 1;
        CHECK(shape_is(result(&r, 1), rank, sd), "Mean shape");
        CHECK(result(&r, 2)->dtype == IR_DTYPE_FLOAT, "InvStdDev dtype");
        CHECK_F32((float *)r.out[0], want, total, 1e-4);
        CHECK_F32((float *)r.out[1], want_mean, rows, 1e-5);
        CHECK_F32((float *)r.out[2], want_inv, rows, 1e-4);
    }
    run_free(&r);
    free(x);
    free(scale);
    free(b);
    free(want);
    free(want_mean);
    free(want_inv);
}

static void
test_layer_norm(void)
{
    check_layer_norm(3, (int64_t[]){2, 3, 4}, -1, true);
    check_layer_norm(3, (int64_t[]){2, 3, 4}, 1, false);
    check_layer_norm(2, (int64_t[]){16, 768}, -1, true);
}

/* ---- Reduce* ---- */

/* Run a float reduction; axes NULL omits operand 1. */
static void
check_reduce(enum ir_op_kind kind, int rank, const int64_t *dims,
             const float *x, const int64_t *axes, int n_axes, int keepdims,
             int noop, int out_rank, const int64_t *out_dims, const float *want)
{
    struct run r;
    struct ir_graph *g = ir_graph_new("t");
    int32_t ops[2] = {add_f32(g, rank, dims, x), IR_NONE};
    if (axes)
        ops[1] = add_i64_vec(g, n_axes, axes);
    struct ir_op *op = make_op(&r, g, kind, ops, axes ? 2 : 1, 1);
    ir_op_set_int(op, "keepdims", keepdims);
    if (noop)
        ir_op_set_int(op, "noop_with_empty_axes", 1);
    CHECK(run_op(&r) == 0, "%s failed", ir_op_kind_name(kind));
    if (r.status == 0) {
        struct ir_shape os = shape_of(out_rank, out_dims);
        CHECK(shape_is(result(&r, 0), out_rank, out_dims), "%s shape",
              ir_op_kind_name(kind));
        CHECK_F32((float *)r.out[0], want, ir_shape_numel(&os), 1e-5);
    }
    run_free(&r);
}

static void
test_reduce(void)
{
    int64_t d[3] = {2, 3, 2};
    float x[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

    float mean_all[1] = {6.5f};
    check_reduce(IR_OP_REDUCE_MEAN, 3, d, x, NULL, 0, 1, 0, 3,
                 (int64_t[]){1, 1, 1}, mean_all);
    float mean_1[4] = {3, 4, 9, 10};
    check_reduce(IR_OP_REDUCE_MEAN, 3, d, x, (int64_t[]){1}, 1, 0, 0, 2,
                 (int64_t[]){2, 2}, mean_1);
    check_reduce(IR_OP_REDUCE_MEAN, 3, d, x, (int64_t[]){-2}, 1, 1, 0, 3,
                 (int64_t[]){2, 1, 2}, mean_1);
    float mean_02[3] = {(1 + 2 + 7 + 8) / 4.0f, (3 + 4 + 9 + 10) / 4.0f,
                        (5 + 6 + 11 + 12) / 4.0f};
    check_reduce(IR_OP_REDUCE_MEAN, 3, d, x, (int64_t[]){0, 2}, 2, 0, 0, 1,
                 (int64_t[]){3}, mean_02);

    /* Empty axes with noop_with_empty_axes: the input unchanged. */
    check_reduce(IR_OP_REDUCE_SUM, 3, d, x, (int64_t[]){0}, 0, 1, 1, 3, d, x);
    float sum_all[1] = {78};
    check_reduce(IR_OP_REDUCE_SUM, 3, d, x, (int64_t[]){0}, 0, 0, 0, 0, NULL,
                 sum_all);
    float sum_2[6] = {3, 7, 11, 15, 19, 23};
    check_reduce(IR_OP_REDUCE_SUM, 3, d, x, (int64_t[]){2}, 1, 0, 0, 2,
                 (int64_t[]){2, 3}, sum_2);

    float max_0[6] = {7, 8, 9, 10, 11, 12}, min_0[6] = {1, 2, 3, 4, 5, 6};
    check_reduce(IR_OP_REDUCE_MAX, 3, d, x, (int64_t[]){0}, 1, 0, 0, 2,
                 (int64_t[]){3, 2}, max_0);
    check_reduce(IR_OP_REDUCE_MIN, 3, d, x, (int64_t[]){0}, 1, 0, 0, 2,
                 (int64_t[]){3, 2}, min_0);
    float prod_2[6] = {2, 12, 30, 56, 90, 132};
    check_reduce(IR_OP_REDUCE_PROD, 3, d, x, (int64_t[]){2}, 1, 0, 0, 2,
                 (int64_t[]){2, 3}, prod_2);
    float l2_2[6], lse_2[6], ss_2[6], ls_2[6];
    for (int i = 0; i < 6; i++) {
        float a = x[2 * i], b = x[2 * i + 1];
        l2_2[i] = sqrtf(a * a + b * b);
        ss_2[i] = a * a + b * b;
        lse_2[i] = logf(expf(a) + expf(b));
        ls_2[i] = logf(a + b);
    }
    check_reduce(IR_OP_REDUCE_L2, 3, d, x, (int64_t[]){2}, 1, 0, 0, 2,
                 (int64_t[]){2, 3}, l2_2);
    check_reduce(IR_OP_REDUCE_SUM_SQUARE, 3, d, x, (int64_t[]){-1}, 1, 0, 0, 2,
                 (int64_t[]){2, 3}, ss_2);
    check_reduce(IR_OP_REDUCE_LOG_SUM_EXP, 3, d, x, (int64_t[]){2}, 1, 0, 0, 2,
                 (int64_t[]){2, 3}, lse_2);
    check_reduce(IR_OP_REDUCE_LOG_SUM, 3, d, x, (int64_t[]){2}, 1, 0, 0, 2,
                 (int64_t[]){2, 3}, ls_2);
    /* LogSumExp along a kept inner dim and with huge values. */
    float big[4] = {1000, 1000, 1000, 1000};
    float lse_big[2] = {1000 + logf(2), 1000 + logf(2)};
    check_reduce(IR_OP_REDUCE_LOG_SUM_EXP, 2, (int64_t[]){2, 2}, big,
                 (int64_t[]){0}, 1, 0, 0, 1, (int64_t[]){2}, lse_big);

    /* Empty reductions: 0 for sums, -inf for Max, 1 for Prod. */
    float none[1] = {0};
    float zero2[2] = {0, 0}, ninf2[2] = {-INFINITY, -INFINITY};
    float one2[2] = {1, 1};
    int64_t de[2] = {2, 0};
    check_reduce(IR_OP_REDUCE_SUM, 2, de, none, (int64_t[]){1}, 1, 0, 0, 1,
                 (int64_t[]){2}, zero2);
    check_reduce(IR_OP_REDUCE_MAX, 2, de, none, (int64_t[]){1}, 1, 0, 0, 1,
                 (int64_t[]){2}, ninf2);
    check_reduce(IR_OP_REDUCE_PROD, 2, de, none, (int64_t[]){1}, 1, 0, 0, 1,
                 (int64_t[]){2}, one2);

    /* A wide column reduction that spans several chunks. */
    int64_t dw[2] = {7, 700};
    float *w = rand_array(7 * 700), want_w[700];
    for (int j = 0; j < 700; j++) {
        double s = 0;
        for (int i = 0; i < 7; i++)
            s += w[i * 700 + j];
        want_w[j] = (float)(s / 7);
    }
    check_reduce(IR_OP_REDUCE_MEAN, 2, dw, w, (int64_t[]){0}, 1, 0, 0, 1,
                 (int64_t[]){700}, want_w);
    free(w);
}

static void
test_global_pool(void)
{
    /* N=2, C=3 and one spatial dim of 2.  keepdims=0 must not drop dims. */
    int64_t d[3] = {2, 3, 2};
    float x[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    float avg[6] = {1.5f, 3.5f, 5.5f, 7.5f, 9.5f, 11.5f};
    float max[6] = {2, 4, 6, 8, 10, 12};
    check_reduce(IR_OP_GLOBAL_AVERAGE_POOL, 3, d, x, NULL, 0, 0, 0, 3,
                 (int64_t[]){2, 3, 1}, avg);
    check_reduce(IR_OP_GLOBAL_MAX_POOL, 3, d, x, NULL, 0, 0, 0, 3,
                 (int64_t[]){2, 3, 1}, max);

    /* N=1, C=2, 2x2 spatial dims, with a negative maximum. */
    float y[8] = {1, 2, 3, 4, -5, -6, -7, -8};
    float avg4[2] = {2.5f, -6.5f}, max4[2] = {4, -5};
    check_reduce(IR_OP_GLOBAL_AVERAGE_POOL, 4, (int64_t[]){1, 2, 2, 2}, y, NULL,
                 0, 1, 0, 4, (int64_t[]){1, 2, 1, 1}, avg4);
    check_reduce(IR_OP_GLOBAL_MAX_POOL, 4, (int64_t[]){1, 2, 2, 2}, y, NULL, 0,
                 1, 0, 4, (int64_t[]){1, 2, 1, 1}, max4);

    /* Rank 2 has no spatial dim. */
    struct run r;
    struct ir_graph *g = ir_graph_new("t");
    int32_t in[1] = {add_f32(g, 2, (int64_t[]){2, 2}, x)};
    make_op(&r, g, IR_OP_GLOBAL_AVERAGE_POOL, in, 1, 1);
    CHECK(run_op(&r) != 0, "GlobalAveragePool of rank 2 was accepted");
    run_free(&r);
}

static void
test_reduce_int(void)
{
    int32_t x[6] = {1, -2, 3, 4, 5, -6};
    int32_t want_sum[2] = {2, 3}, want_max[2] = {3, 5};
    enum ir_op_kind kinds[2] = {IR_OP_REDUCE_SUM, IR_OP_REDUCE_MAX};
    const int32_t *wants[2] = {want_sum, want_max};
    for (int i = 0; i < 2; i++) {
        struct run r;
        struct ir_graph *g = ir_graph_new("t");
        int32_t ops[2] = {add_const(g, IR_DTYPE_INT32, 2, (int64_t[]){2, 3}, x),
                          add_i64_vec(g, 1, (int64_t[]){1})};
        struct ir_op *op = make_op(&r, g, kinds[i], ops, 2, 1);
        ir_op_set_int(op, "keepdims", 0);
        CHECK(run_op(&r) == 0, "int32 %s failed", ir_op_kind_name(kinds[i]));
        if (r.status == 0)
            CHECK(memcmp(r.out[0], wants[i], 8) == 0, "int32 %s values",
                  ir_op_kind_name(kinds[i]));
        run_free(&r);
    }
}

/* ---- ArgMax, ArgMin ---- */

static void
check_arg(enum ir_op_kind kind, int axis, int keep, int last,
          const int64_t *want, int n_want)
{
    float x[8] = {2, 5, 5, 1, 7, 7, 0, 7}; /* [2, 4] */
    struct run r;
    struct ir_graph *g = ir_graph_new("t");
    int32_t ops[1] = {add_f32(g, 2, (int64_t[]){2, 4}, x)};
    struct ir_op *op = make_op(&r, g, kind, ops, 1, 1);
    ir_op_set_int(op, "axis", axis);
    ir_op_set_int(op, "keepdims", keep);
    ir_op_set_int(op, "select_last_index", last);
    CHECK(run_op(&r) == 0, "%s failed", ir_op_kind_name(kind));
    if (r.status == 0) {
        CHECK(result(&r, 0)->dtype == IR_DTYPE_INT64, "arg dtype");
        CHECK(memcmp(r.out[0], want, (size_t)n_want * 8) == 0,
              "%s axis %d last %d: got %lld %lld", ir_op_kind_name(kind), axis,
              last, (long long)((int64_t *)r.out[0])[0],
              (long long)((int64_t *)r.out[0])[1]);
        CHECK(result(&r, 0)->shape.rank == (keep ? 2 : 1), "arg rank");
    }
    run_free(&r);
}

static void
test_arg(void)
{
    check_arg(IR_OP_ARG_MAX, 1, 1, 0, (int64_t[]){1, 0}, 2);
    check_arg(IR_OP_ARG_MAX, 1, 0, 1, (int64_t[]){2, 3}, 2);
    check_arg(IR_OP_ARG_MIN, -1, 1, 0, (int64_t[]){3, 2}, 2);
    check_arg(IR_OP_ARG_MAX, 0, 0, 0, (int64_t[]){1, 1, 0, 1}, 4);
    check_arg(IR_OP_ARG_MIN, 0, 1, 1, (int64_t[]){0, 0, 1, 0}, 4);
}

/* ---- TopK ---- */

static void
check_topk(int axis, int64_t k, int largest, int rank, const int64_t *dims,
           const float *x, const float *want_v, const int64_t *want_i,
           int64_t n_out)
{
    struct run r;
    struct ir_graph *g = ir_graph_new("t");
    int32_t ops[2] = {add_f32(g, rank, dims, x), add_i64_vec(g, 1, &k)};
    struct ir_op *op = make_op(&r, g, IR_OP_TOPK, ops, 2, 2);
    ir_op_set_int(op, "axis", axis);
    ir_op_set_int(op, "largest", largest);
    CHECK(run_op(&r) == 0, "TopK failed");
    if (r.status == 0) {
        CHECK_F32((float *)r.out[0], want_v, n_out, 0);
        CHECK(memcmp(r.out[1], want_i, (size_t)n_out * 8) == 0,
              "TopK indices: got %lld %lld %lld",
              (long long)((int64_t *)r.out[1])[0],
              (long long)((int64_t *)r.out[1])[1],
              (long long)((int64_t *)r.out[1])[2]);
    }
    run_free(&r);
}

static void
test_topk(void)
{
    float x[8] = {3, 1, 3, 2, 3, 1, 0, 2};
    check_topk(-1, 3, 1, 1, (int64_t[]){8}, x, (float[]){3, 3, 3},
               (int64_t[]){0, 2, 4}, 3);
    check_topk(-1, 4, 0, 1, (int64_t[]){8}, x, (float[]){0, 1, 1, 2},
               (int64_t[]){6, 1, 5, 3}, 4);
    check_topk(0, 8, 1, 1, (int64_t[]){8}, x, (float[]){3, 3, 3, 2, 2, 1, 1, 0},
               (int64_t[]){0, 2, 4, 3, 7, 1, 5, 6}, 8);
    /* Axis 0 of [4, 2]: columns {3,3,3,0} and {1,2,1,2}. */
    check_topk(0, 2, 1, 2, (int64_t[]){4, 2}, x, (float[]){3, 2, 3, 2},
               (int64_t[]){0, 1, 1, 3}, 4);
}

/* ---- CumSum ---- */

/*
 * Add a graph input whose data the test passes to the kernel, as run-time
 * data.  Infer treats it as not constant.
 */
static int32_t
add_input(struct ir_graph *g, enum ir_dtype t, int rank, const int64_t *dims,
          const void *data)
{
    struct ir_shape s = shape_of(rank, dims);
    size_t nbytes = (size_t)ir_shape_numel(&s) * ir_dtype_size(t);
    int32_t v = ir_value_add(g, NULL, IR_VALUE_INPUT, t, &s);
    g->values[v].data = ir_xmalloc(nbytes);
    memcpy(g->values[v].data, data, nbytes);
    return v;
}

/* CumSum of [[1, 2, 3], [4, 5, 6]]; a run-time axis when axis_is_input. */
static void
check_cumsum(int exclusive, int reverse, int64_t axis, bool axis_is_input,
             const float *want)
{
    float x[6] = {1, 2, 3, 4, 5, 6};
    int32_t axis32 = (int32_t)axis;
    struct run r;
    struct ir_graph *g = ir_graph_new("t");
    int32_t ops[2] = {add_f32(g, 2, (int64_t[]){2, 3}, x), IR_NONE};
    if (axis_is_input)
        ops[1] = add_input(g, IR_DTYPE_INT32, 0, NULL, &axis32);
    else
        ops[1] = add_const(g, IR_DTYPE_INT64, 0, NULL, &axis);
    struct ir_op *op = make_op(&r, g, IR_OP_CUMSUM, ops, 2, 1);
    ir_op_set_int(op, "exclusive", exclusive);
    ir_op_set_int(op, "reverse", reverse);
    CHECK(run_op(&r) == 0, "CumSum failed");
    if (r.status == 0)
        CHECK_F32((float *)r.out[0], want, 6, 0);
    run_free(&r);
}

static void
test_cumsum(void)
{
    check_cumsum(0, 0, 1, false, (float[]){1, 3, 6, 4, 9, 15});
    check_cumsum(1, 0, 1, false, (float[]){0, 1, 3, 0, 4, 9});
    check_cumsum(0, 1, 1, false, (float[]){6, 5, 3, 15, 11, 6});
    check_cumsum(1, 1, -1, false, (float[]){5, 3, 0, 11, 6, 0});
    check_cumsum(0, 0, 0, false, (float[]){1, 2, 3, 5, 7, 9});
    check_cumsum(1, 1, 0, false, (float[]){4, 5, 6, 0, 0, 0});
    check_cumsum(0, 0, -2, true, (float[]){1, 2, 3, 5, 7, 9});
    check_cumsum(1, 0, 1, true, (float[]){0, 1, 3, 0, 4, 9});
}

/* ---- Einsum ---- */

static void
check_einsum(const char *eq, int n_in, const int *ranks,
             const int64_t dims[][4], int out_rank, const int64_t *out_dims,
             void (*ref)(float *const *in, float *out))
{
    float *in[3];
    struct run r;
    struct ir_graph *g = ir_graph_new("t");
    int32_t ops[3];
    for (int i = 0; i < n_in; i++) {
        struct ir_shape s = shape_of(ranks[i], dims[i]);
        in[i] = rand_array(ir_shape_numel(&s));
        ops[i] = add_f32(g, ranks[i], dims[i], in[i]);
    }
    struct ir_shape os = shape_of(out_rank, out_dims);
    int64_t n_out = ir_shape_numel(&os);
    float *want = malloc((size_t)(n_out > 0 ? n_out : 1) * sizeof(float));
    ref(in, want);
    struct ir_op *op = make_op(&r, g, IR_OP_EINSUM, ops, n_in, 1);
    ir_op_set_string(op, "equation", eq);
    CHECK(run_op(&r) == 0, "Einsum '%s' failed", eq);
    if (r.status == 0) {
        CHECK(shape_is(result(&r, 0), out_rank, out_dims), "Einsum '%s' shape",
              eq);
        CHECK_F32((float *)r.out[0], want, n_out, 1e-5);
    }
    run_free(&r);
    for (int i = 0; i < n_in; i++)
        free(in[i]);
    free(want);
}

static void
ref_batch_matmul(float *const *in, float *out)
{
    ref_matmul(in[0], 3, (int64_t[]){2, 3, 4}, in[1], 3, (int64_t[]){2, 4, 5},
               out, 3, (int64_t[]){2, 3, 5});
}

static void
ref_matmul_2d(float *const *in, float *out)
{
    ref_matmul(in[0], 2, (int64_t[]){3, 4}, in[1], 2, (int64_t[]){4, 5}, out, 2,
               (int64_t[]){3, 5});
}

static void
ref_diagonal(float *const *in, float *out)
{
    for (int i = 0; i < 4; i++)
        out[i] = in[0][i * 4 + i];
}

static void
ref_trace(float *const *in, float *out)
{
    out[0] = 0;
    for (int i = 0; i < 4; i++)
        out[0] += in[0][i * 4 + i];
}

static void
ref_transpose_ellipsis(float *const *in, float *out)
{
    /* [2, 3, 4] -> [2, 4, 3] */
    for (int b = 0; b < 2; b++)
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 4; j++)
                out[b * 12 + j * 3 + i] = in[0][b * 12 + i * 4 + j];
}

static void
ref_outer(float *const *in, float *out)
{
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++)
            out[i * 4 + j] = in[0][i] * in[1][j];
}

static void
test_einsum(void)
{
    check_einsum("bij,bjk->bik", 2, (int[]){3, 3},
                 (const int64_t[][4]){{2, 3, 4}, {2, 4, 5}}, 3,
                 (int64_t[]){2, 3, 5}, ref_batch_matmul);
    /* Implicit output: the labels used once, in order; spaces ignored. */
    check_einsum("ij, jk", 2, (int[]){2, 2},
                 (const int64_t[][4]){{3, 4}, {4, 5}}, 2, (int64_t[]){3, 5},
                 ref_matmul_2d);
    check_einsum("ii->i", 1, (int[]){2}, (const int64_t[][4]){{4, 4}}, 1,
                 (int64_t[]){4}, ref_diagonal);
    check_einsum("ii", 1, (int[]){2}, (const int64_t[][4]){{4, 4}}, 0, NULL,
                 ref_trace);
    check_einsum("...ij->...ji", 1, (int[]){3}, (const int64_t[][4]){{2, 3, 4}},
                 3, (int64_t[]){2, 4, 3}, ref_transpose_ellipsis);
    check_einsum("i,j", 2, (int[]){1, 1}, (const int64_t[][4]){{3}, {4}}, 2,
                 (int64_t[]){3, 4}, ref_outer);
}

/* ---- onnxc.Attention ---- */

enum { ATT_B = 2, ATT_H = 2, ATT_T = 5, ATT_S = 70, ATT_D = 20 };

/*
 * Element of logical [B * H, rows, cols] item n = b * H + h at (r, c) in
 * an Attention layout: "bhsd" [B, H, rows, cols], "bshd" [B, rows, H *
 * cols] or "sbhd" [rows, B, H * cols].
 */
static int64_t
att_offset(const char *layout, int64_t n, int64_t r, int64_t c, int64_t rows,
           int64_t cols)
{
    int64_t b = n / ATT_H, h = n % ATT_H;
    if (strcmp(layout, "bshd") == 0)
        return ((b * rows + r) * ATT_H + h) * cols + c;
    if (strcmp(layout, "sbhd") == 0)
        return ((r * ATT_B + b) * ATT_H + h) * cols + c;
    return (n * rows + r) * cols + c;
}

/* The stored shape of a logical [B * H, rows, cols] tensor in layout. */
static int
att_shape(const char *layout, int64_t rows, int64_t cols, int64_t *dims)
{
    if (strcmp(layout, "bshd") == 0) {
        memcpy(dims, (int64_t[]){ATT_B, rows, ATT_H * cols}, 3 * sizeof(*dims));
        return 3;
    }
    if (strcmp(layout, "sbhd") == 0) {
        memcpy(dims, (int64_t[]){rows, ATT_B, ATT_H * cols}, 3 * sizeof(*dims));
        return 3;
    }
    memcpy(dims, (int64_t[]){ATT_B, ATT_H, rows, cols}, 4 * sizeof(*dims));
    return 4;
}

/* softmax(q k^T / scale + mask) v over logical [B * H, *, D] in doubles. */
static void
att_reference(const float *q, const float *k, const float *v, const float *mask,
              double scale, float *out)
{
    for (int64_t n = 0; n < ATT_B * ATT_H; n++)
        for (int64_t t = 0; t < ATT_T; t++) {
            double w[ATT_S], m = -INFINITY, sum = 0;
            for (int64_t j = 0; j < ATT_S; j++) {
                double d = 0;
                for (int64_t c = 0; c < ATT_D; c++)
                    d += (double)q[(n * ATT_T + t) * ATT_D + c] *
                         k[(n * ATT_S + j) * ATT_D + c];
                w[j] = d / scale + (mask ? mask[n / ATT_H * ATT_S + j] : 0);
                m = w[j] > m ? w[j] : m;
            }
            for (int64_t j = 0; j < ATT_S; j++)
                sum += w[j] = exp(w[j] - m);
            for (int64_t c = 0; c < ATT_D; c++) {
                double acc = 0;
                for (int64_t j = 0; j < ATT_S; j++)
                    acc += w[j] * v[(n * ATT_S + j) * ATT_D + c];
                out[(n * ATT_T + t) * ATT_D + c] = (float)(acc / sum);
            }
        }
}

/* Copy logical [B * H, rows, D] x into layout, or back when to_layout is 0. */
static void
att_convert(const char *layout, int64_t rows, const float *x, float *y,
            bool to_layout)
{
    for (int64_t n = 0; n < ATT_B * ATT_H; n++)
        for (int64_t r = 0; r < rows; r++)
            for (int64_t c = 0; c < ATT_D; c++) {
                int64_t l = (n * rows + r) * ATT_D + c;
                int64_t o = att_offset(layout, n, r, c, rows, ATT_D);
                if (to_layout)
                    y[o] = x[l];
                else
                    y[l] = x[o];
            }
}

/*
 * onnxc.Attention with every operand and the result in layout, k either
 * as [.., S, D] or (bhsd only) transposed, and an optional additive mask
 * [B, 1, 1, S] (rank 4 layouts only), against att_reference.
 */
static void
check_attention(const char *layout, bool k_transposed, bool with_mask)
{
    int64_t nq = ATT_B * ATT_H * ATT_T * ATT_D;
    int64_t nk = ATT_B * ATT_H * ATT_S * ATT_D;
    float *q = rand_array(nq), *k = rand_array(nk), *v = rand_array(nk);
    float *mask = rand_array(ATT_B * ATT_S);
    for (int64_t j = 0; j < ATT_B * ATT_S; j++)
        mask[j] = j % 7 == 3 ? -10000.0f : 0.0f;
    float *want = calloc((size_t)nq, sizeof(float));
    att_reference(q, k, v, with_mask ? mask : NULL, 4.5, want);

    float *sq = malloc((size_t)nq * sizeof(float));
    float *sk = malloc((size_t)nk * sizeof(float));
    float *sv = malloc((size_t)nk * sizeof(float));
    att_convert(layout, ATT_T, q, sq, true);
    att_convert(layout, ATT_S, k, sk, true);
    att_convert(layout, ATT_S, v, sv, true);
    int64_t dq[4], dk[4], dm[4] = {ATT_B, 1, 1, ATT_S};
    int rank = att_shape(layout, ATT_T, ATT_D, dq);
    att_shape(layout, ATT_S, ATT_D, dk);
    if (k_transposed) /* [B, H, D, S] */
        for (int64_t n = 0; n < ATT_B * ATT_H; n++)
            for (int64_t j = 0; j < ATT_S; j++)
                for (int64_t c = 0; c < ATT_D; c++)
                    sk[(n * ATT_D + c) * ATT_S + j] =
                        k[(n * ATT_S + j) * ATT_D + c];
    int64_t dkt[4] = {ATT_B, ATT_H, ATT_D, ATT_S};

    struct run r;
    struct ir_graph *g = ir_graph_new("t");
    int32_t ops[4] = {add_f32(g, rank, dq, sq),
                      add_f32(g, rank, k_transposed ? dkt : dk, sk),
                      add_f32(g, rank, dk, sv), add_f32(g, 4, dm, mask)};
    struct ir_op *op =
        make_op(&r, g, IR_OP_ATTENTION, ops, with_mask ? 4 : 3, 1);
    ir_op_set_int(op, "k_transposed", k_transposed);
    ir_op_set_string(op, "scale_op", "div");
    ir_op_set_float(op, "scale", 4.5);
    if (strcmp(layout, "bhsd") != 0) {
        ir_op_set_int(op, "heads", ATT_H);
        ir_op_set_string(op, "q_layout", layout);
        ir_op_set_string(op, "k_layout", layout);
        ir_op_set_string(op, "v_layout", layout);
        ir_op_set_string(op, "out_layout", layout);
    }
    CHECK(run_op(&r) == 0, "Attention in %s failed", layout);
    if (r.status == 0) {
        int64_t dout[4] = {ATT_T * ATT_B, ATT_H * ATT_D};
        int out_rank = strcmp(layout, "sbhd") == 0 ? 2 : rank;
        if (out_rank != 2)
            att_shape(layout, ATT_T, ATT_D, dout);
        CHECK(shape_is(result(&r, 0), out_rank, dout),
              "Attention output shape in %s", layout);
        float *got = malloc((size_t)nq * sizeof(float));
        att_convert(layout, ATT_T, r.out[0], got, false);
        CHECK_F32(got, want, nq, 1e-4);
        free(got);
    }
    run_free(&r);
    float *arrays[] = {q, k, v, mask, want, sq, sk, sv};
    for (size_t i = 0; i < sizeof(arrays) / sizeof(arrays[0]); i++)
        free(arrays[i]);
}

static void
test_attention(void)
{
    check_attention("bhsd", false, true);
    check_attention("bhsd", true, false);
    check_attention("bshd", false, true);
    check_attention("sbhd", false, false);
}

/* ---- MatMul speed ---- */

static double
seconds(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/*
 * Time a 128x768x768 float MatMul with 1 and 2 threads.  Prints GFLOP/s by
 * wall-clock time, and per CPU-second of the process, which stays
 * meaningful when other processes share the cores.
 */
static void
bench_matmul(void)
{
    int64_t m = 128, k = 768, n = 768;
    float *a = rand_array(m * k), *b = rand_array(k * n);
    float *c = malloc((size_t)(m * n) * sizeof(float));
    int64_t ints[4] = {m, k, n, 0};
    struct rt_desc descs[3] = {
        {.dtype = RT_FLOAT}, {.dtype = RT_FLOAT}, {.dtype = RT_FLOAT}};
    struct rt_node node = {.name = "bench",
                           .op_type = "MatMul",
                           .n_inputs = 2,
                           .n_outputs = 1,
                           .n_ints = 4,
                           .descs = descs,
                           .ints = ints};
    void *bufs[3] = {a, b, c};
    for (int threads = 1; threads <= 2; threads++) {
        struct rt_pool *p = threads > 1 ? rt_pool_create(threads) : NULL;
        char err[RT_ERROR_SIZE];
        struct rt_ctx ctx = {.pool = p, .error = err};
        rt_kernel_matmul(&ctx, &node, bufs);
        int reps = 20;
        double t0 = seconds(CLOCK_MONOTONIC);
        double c0 = seconds(CLOCK_PROCESS_CPUTIME_ID);
        for (int i = 0; i < reps; i++)
            rt_kernel_matmul(&ctx, &node, bufs);
        double dt = (seconds(CLOCK_MONOTONIC) - t0) / reps;
        double dc = (seconds(CLOCK_PROCESS_CPUTIME_ID) - c0) / reps;
        double flop = 2.0 * (double)(m * k * n);
        printf("MatMul 128x768x768 float, %d thread%s: %.2f ms, "
               "%.1f GFLOP/s, %.1f GFLOP per CPU-second\n",
               threads, threads > 1 ? "s" : "", dt * 1e3, flop / dt * 1e-9,
               flop / dc * 1e-9);
        if (p)
            rt_pool_destroy(p);
    }
    free(a);
    free(b);
    free(c);
}

int
main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "bench") == 0) {
        bench_matmul();
        return 0;
    }
    pool = rt_pool_create(2);
    test_matmul_shapes();
    test_matmul_perm_b();
    test_matmul_mismatch();
    test_matmul_int();
    test_gemm();
    test_softmax();
    test_layer_norm();
    test_reduce();
    test_global_pool();
    test_reduce_int();
    test_arg();
    test_topk();
    test_cumsum();
    test_attention();
    test_einsum();
    rt_pool_destroy(pool);
    printf("%d passed, %d failed\n", n_passed, n_failed);
    return n_failed ? 1 : 0;
}
