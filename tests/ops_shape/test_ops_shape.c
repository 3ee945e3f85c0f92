/*
 * Unit tests of the shape group: each case builds a one-op graph with
 * constant operands, runs the op's shape inference, then its kernel
 * through pass_kernel_call_init, and checks the result shape and values
 * or the error message.
 */
#include "passes/passes.h"
#include "runtime/k_shape.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int n_passed, n_failed;

/* Every kernel also runs on this pool; the results must match. */
static struct rt_pool *pool;

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (cond) {                                                            \
            n_passed++;                                                        \
        } else {                                                               \
            n_failed++;                                                        \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);               \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
        }                                                                      \
    } while (0)

#define LEN(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* One op under test, its outputs and what went wrong. */
struct op_test {
    struct ir_graph *g;
    int32_t op;
    int infer_status;
    int kernel_status;
    void *out[8];
    char message[1024]; /* compiler errors, then the kernel error */
};

static struct op_test
op_new(void)
{
    struct op_test t;
    memset(&t, 0, sizeof(t));
    t.g = ir_graph_new("test");
    t.op = IR_NONE;
    return t;
}

static void
op_free(struct op_test *t)
{
    for (int i = 0; i < LEN(t->out); i++)
        free(t->out[i]);
    ir_graph_free(t->g);
}

static int32_t
tensor(struct op_test *t, enum ir_dtype dtype, int rank, const int64_t *dims,
       const void *data)
{
    struct ir_shape s = ir_shape_make(rank, dims);
    size_t bytes = (size_t)ir_shape_numel(&s) * ir_dtype_size(dtype);
    return ir_const_add(t->g, NULL, dtype, &s, data, bytes);
}

static int32_t
ints(struct op_test *t, int n, const int64_t *v)
{
    int64_t dim = n;
    return tensor(t, IR_DTYPE_INT64, 1, &dim, v);
}

static int32_t
scalar_i64(struct op_test *t, int64_t v)
{
    return tensor(t, IR_DTYPE_INT64, 0, NULL, &v);
}

/* A float tensor holding 0, 1, 2, ... */
static int32_t
iota_f32(struct op_test *t, int rank, const int64_t *dims)
{
    struct ir_shape s = ir_shape_make(rank, dims);
    int64_t n = ir_shape_numel(&s);
    float *v = malloc(sizeof(float) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++)
        v[i] = (float)i;
    int32_t id = tensor(t, IR_DTYPE_FLOAT, rank, dims, v);
    free(v);
    return id;
}

static struct ir_op *
add_op(struct op_test *t, enum ir_op_kind kind, const int32_t *operands, int n,
       int n_results)
{
    int32_t results[8];
    for (int i = 0; i < n_results; i++)
        results[i] =
            ir_value_add(t->g, NULL, IR_VALUE_RESULT, IR_DTYPE_UNDEFINED, NULL);
    t->op = ir_op_add(t->g, kind, NULL, 18, operands, n, results, n_results);
    return &t->g->ops[t->op];
}

/* Rerun the kernel on the thread pool and compare with the first run. */
static void
compare_with_pool(struct op_test *t, const struct pass_kernel_call *call,
                  void **bufs)
{
    const struct ir_op *op = &t->g->ops[t->op];
    void *first[8];
    size_t bytes[8];
    for (int i = 0; i < op->n_results; i++) {
        const struct ir_value *v = &t->g->values[op->results[i]];
        bytes[i] = (size_t)ir_shape_numel(&v->shape) * ir_dtype_size(v->dtype);
        first[i] = bufs[op->n_operands + i];
        bufs[op->n_operands + i] = calloc(1, bytes[i] + 16);
    }
    char error[RT_ERROR_SIZE] = "";
    struct rt_ctx ctx = {.pool = pool, .error = error};
    int status = call->impl->kernel(&ctx, &call->node, bufs);
    CHECK(status == RT_OK, "%s on the pool: %s", op->name, error);
    for (int i = 0; i < op->n_results; i++) {
        void *second = bufs[op->n_operands + i];
        CHECK(status != RT_OK || memcmp(first[i], second, bytes[i]) == 0,
              "%s: result %d on the pool differs", op->name, i);
        free(second);
        bufs[op->n_operands + i] = first[i];
    }
}

/* Run inference, then (if it passed) the kernel on fresh outputs. */
static void
op_run(struct op_test *t)
{
    struct ir_op *op = &t->g->ops[t->op];
    const struct pass_op_impl *impl = pass_op_impl(op->kind);
    FILE *errors = tmpfile();
    ir_set_error_stream(errors);
    t->infer_status = impl ? impl->infer(t->g, op) : -1;
    struct pass_kernel_call call;
    bool have_call =
        t->infer_status == 0 && pass_kernel_call_init(t->g, op, &call) == 0;
    ir_set_error_stream(NULL);
    rewind(errors);
    size_t got = fread(t->message, 1, sizeof(t->message) - 1, errors);
    t->message[got] = 0;
    fclose(errors);
    if (!have_call) {
        t->kernel_status = -1;
        return;
    }

    void *bufs[16] = {NULL};
    for (int i = 0; i < op->n_operands; i++) {
        const struct ir_value *v = pass_operand(t->g, op, i);
        bufs[i] = v ? v->data : NULL;
    }
    for (int i = 0; i < op->n_results; i++) {
        const struct ir_value *v = &t->g->values[op->results[i]];
        int64_t n = ir_shape_numel(&v->shape);
        /* Poison the outputs so that unwritten elements show. */
        size_t bytes = (size_t)n * ir_dtype_size(v->dtype);
        t->out[i] = malloc(bytes + 16);
        memset(t->out[i], 0xa5, bytes + 16);
        bufs[op->n_operands + i] = t->out[i];
    }
    char error[RT_ERROR_SIZE] = "";
    struct rt_ctx ctx = {.pool = NULL, .error = error};
    t->kernel_status = call.impl->kernel(&ctx, &call.node, bufs);
    if (t->kernel_status != RT_OK)
        snprintf(t->message, sizeof(t->message), "%s", error);
    else
        compare_with_pool(t, &call, bufs);
    pass_kernel_call_free(&call);
}

static const struct ir_value *
result(const struct op_test *t, int i)
{
    return &t->g->values[t->g->ops[t->op].results[i]];
}

/* Result i has the given dtype and dims, and the kernel ran. */
static bool
check_result(const struct op_test *t, const char *name, int i,
             enum ir_dtype dtype, int rank, const int64_t *dims)
{
    if (t->infer_status != 0 || t->kernel_status != RT_OK) {
        CHECK(false, "%s: failed: %s", name, t->message);
        return false;
    }
    const struct ir_value *v = result(t, i);
    struct ir_shape want = ir_shape_make(rank, dims);
    char a[160], b[160];
    bool ok = v->dtype == dtype && ir_shape_equal(&v->shape, &want);
    CHECK(ok, "%s: result %d is %s%s, expected %s%s", name, i,
          ir_dtype_name(v->dtype), ir_shape_format(t->g, &v->shape, a, 160),
          ir_dtype_name(dtype), ir_shape_format(t->g, &want, b, 160));
    return ok;
}

static void
check_f32(const struct op_test *t, const char *name, int i, const float *want,
          int n)
{
    const float *got = t->out[i];
    int bad = -1;
    for (int k = 0; k < n && bad < 0; k++)
        if (got[k] != want[k])
            bad = k;
    CHECK(bad < 0, "%s: element %d is %g, expected %g", name, bad,
          bad >= 0 ? got[bad] : 0.0, bad >= 0 ? want[bad] : 0.0);
}

static void
check_i64(const struct op_test *t, const char *name, int i, const int64_t *want,
          int n)
{
    const int64_t *got = t->out[i];
    int bad = -1;
    for (int k = 0; k < n && bad < 0; k++)
        if (got[k] != want[k])
            bad = k;
    CHECK(bad < 0, "%s: element %d is %lld, expected %lld", name, bad,
          bad >= 0 ? (long long)got[bad] : 0,
          bad >= 0 ? (long long)want[bad] : 0);
}

static void
check_error(const struct op_test *t, const char *name, const char *text)
{
    CHECK(t->infer_status != 0, "%s: inference passed, should fail", name);
    CHECK(strstr(t->message, text) != NULL, "%s: error \"%s\" lacks \"%s\"",
          name, t->message, text);
}

/* ---- Shape, Size, Reshape, Flatten, Squeeze, Unsqueeze ---- */

static void
test_shape_start_end(void)
{
    static const struct {
        int64_t start, end;
        bool has_start, has_end;
        int n;
        int64_t want[3];
    } cases[] = {
        {0, 0, false, false, 3, {2, 3, 4}},  {-1, 0, true, false, 1, {4}},
        {1, 2, true, true, 1, {3}},          {0, -1, false, true, 2, {2, 3}},
        {-10, 10, true, true, 3, {2, 3, 4}}, {2, 1, true, true, 0, {0}},
    };
    for (int c = 0; c < LEN(cases); c++) {
        struct op_test t = op_new();
        int64_t dims[] = {2, 3, 4};
        int32_t x = iota_f32(&t, 3, dims);
        struct ir_op *op = add_op(&t, IR_OP_SHAPE, &x, 1, 1);
        if (cases[c].has_start)
            ir_op_set_int(op, "start", cases[c].start);
        if (cases[c].has_end)
            ir_op_set_int(op, "end", cases[c].end);
        op_run(&t);
        int64_t n = cases[c].n;
        if (check_result(&t, "shape start/end", 0, IR_DTYPE_INT64, 1, &n)) {
            CHECK(result(&t, 0)->kind == IR_VALUE_CONST,
                  "shape case %d: the result is not a constant", c);
            check_i64(&t, "shape kernel", 0, cases[c].want, cases[c].n);
            CHECK(n == 0 || memcmp(result(&t, 0)->data, cases[c].want,
                                   sizeof(int64_t) * (size_t)n) == 0,
                  "shape case %d: the folded constant is wrong", c);
        }
        op_free(&t);
    }
}

static void
test_size(void)
{
    struct op_test t = op_new();
    int64_t dims[] = {2, 0, 4};
    int32_t x = iota_f32(&t, 3, dims);
    add_op(&t, IR_OP_SIZE, &x, 1, 1);
    op_run(&t);
    if (check_result(&t, "size", 0, IR_DTYPE_INT64, 0, NULL)) {
        int64_t zero = 0;
        check_i64(&t, "size", 0, &zero, 1);
        CHECK(result(&t, 0)->kind == IR_VALUE_CONST,
              "size: the result is not a constant");
    }
    op_free(&t);
}

static void
test_reshape_zero_and_minus_one(void)
{
    struct op_test t = op_new();
    int64_t dims[] = {2, 3, 4}, shape[] = {0, -1};
    int32_t ops[] = {iota_f32(&t, 3, dims), ints(&t, 2, shape)};
    add_op(&t, IR_OP_RESHAPE, ops, 2, 1);
    op_run(&t);
    int64_t want[] = {2, 12};
    if (check_result(&t, "reshape 0,-1", 0, IR_DTYPE_FLOAT, 2, want)) {
        float v[24];
        for (int i = 0; i < 24; i++)
            v[i] = (float)i;
        check_f32(&t, "reshape 0,-1", 0, v, 24);
    }
    op_free(&t);
}

static void
test_reshape_allowzero(void)
{
    struct op_test t = op_new();
    int64_t dims[] = {0, 3}, shape[] = {3, 0};
    int32_t ops[] = {iota_f32(&t, 2, dims), ints(&t, 2, shape)};
    ir_op_set_int(add_op(&t, IR_OP_RESHAPE, ops, 2, 1), "allowzero", 1);
    op_run(&t);
    check_result(&t, "reshape allowzero", 0, IR_DTYPE_FLOAT, 2, shape);
    op_free(&t);
}

static void
test_reshape_errors(void)
{
    struct op_test t = op_new();
    int64_t dims[] = {2, 3}, shape[] = {4, -1};
    int32_t ops[] = {iota_f32(&t, 2, dims), ints(&t, 2, shape)};
    add_op(&t, IR_OP_RESHAPE, ops, 2, 1);
    op_run(&t);
    check_error(&t, "reshape mismatch", "cannot reshape [2,3]");
    check_error(&t, "reshape mismatch", "to [4,-1]");
    op_free(&t);

    t = op_new();
    int64_t n2 = 2;
    struct ir_shape vec = ir_shape_make(1, &n2);
    int32_t ops_input[] = {
        iota_f32(&t, 2, dims),
        ir_value_add(t.g, "shape", IR_VALUE_INPUT, IR_DTYPE_INT64, &vec)};
    add_op(&t, IR_OP_RESHAPE, ops_input, 2, 1);
    op_run(&t);
    check_error(&t, "reshape run-time shape", "must be a constant");
    op_free(&t);

    t = op_new();
    int64_t two[] = {-1, -1};
    int32_t ops2[] = {iota_f32(&t, 2, dims), ints(&t, 2, two)};
    add_op(&t, IR_OP_RESHAPE, ops2, 2, 1);
    op_run(&t);
    check_error(&t, "reshape two -1", "more than one dim is -1");
    op_free(&t);
}

static void
test_flatten_negative_axis(void)
{
    struct op_test t = op_new();
    int64_t dims[] = {2, 3, 4, 5};
    int32_t x = iota_f32(&t, 4, dims);
    ir_op_set_int(add_op(&t, IR_OP_FLATTEN, &x, 1, 1), "axis", -1);
    op_run(&t);
    int64_t want[] = {24, 5};
    check_result(&t, "flatten axis -1", 0, IR_DTYPE_FLOAT, 2, want);
    op_free(&t);

    t = op_new();
    x = iota_f32(&t, 4, dims);
    ir_op_set_int(add_op(&t, IR_OP_FLATTEN, &x, 1, 1), "axis", 0);
    op_run(&t);
    int64_t want0[] = {1, 120};
    check_result(&t, "flatten axis 0", 0, IR_DTYPE_FLOAT, 2, want0);
    op_free(&t);
}

static void
test_squeeze(void)
{
    struct op_test t = op_new();
    int64_t dims[] = {1, 3, 1, 2};
    int32_t ops[] = {iota_f32(&t, 4, dims), IR_NONE};
    add_op(&t, IR_OP_SQUEEZE, ops, 1, 1);
    op_run(&t);
    int64_t want[] = {3, 2};
    if (check_result(&t, "squeeze all", 0, IR_DTYPE_FLOAT, 2, want)) {
        float v[] = {0, 1, 2, 3, 4, 5};
        check_f32(&t, "squeeze all", 0, v, 6);
    }
    op_free(&t);

    t = op_new();
    int64_t axes[] = {-2};
    int32_t ops2[] = {iota_f32(&t, 4, dims), ints(&t, 1, axes)};
    add_op(&t, IR_OP_SQUEEZE, ops2, 2, 1);
    op_run(&t);
    int64_t want2[] = {1, 3, 2};
    check_result(&t, "squeeze axis -2", 0, IR_DTYPE_FLOAT, 3, want2);
    op_free(&t);

    t = op_new();
    int32_t ops_empty[] = {iota_f32(&t, 4, dims), ints(&t, 0, NULL)};
    add_op(&t, IR_OP_SQUEEZE, ops_empty, 2, 1);
    op_run(&t);
    check_result(&t, "squeeze empty axes", 0, IR_DTYPE_FLOAT, 2, want);
    op_free(&t);

    t = op_new();
    int64_t bad[] = {1};
    int32_t ops3[] = {iota_f32(&t, 4, dims), ints(&t, 1, bad)};
    add_op(&t, IR_OP_SQUEEZE, ops3, 2, 1);
    op_run(&t);
    check_error(&t, "squeeze size 3", "cannot squeeze axis 1");
    op_free(&t);
}

static void
test_unsqueeze_unsorted(void)
{
    struct op_test t = op_new();
    int64_t dims[] = {3, 4}, axes[] = {-1, 0};
    int32_t ops[] = {iota_f32(&t, 2, dims), ints(&t, 2, axes)};
    add_op(&t, IR_OP_UNSQUEEZE, ops, 2, 1);
    op_run(&t);
    int64_t want[] = {1, 3, 4, 1};
    check_result(&t, "unsqueeze -1,0", 0, IR_DTYPE_FLOAT, 4, want);
    op_free(&t);

    t = op_new();
    int64_t dup[] = {0, -4};
    int32_t ops2[] = {iota_f32(&t, 2, dims), ints(&t, 2, dup)};
    add_op(&t, IR_OP_UNSQUEEZE, ops2, 2, 1);
    op_run(&t);
    check_error(&t, "unsqueeze repeated axis", "listed twice");
    op_free(&t);
}

/* ---- Transpose ---- */

/* Check a transpose of an iota tensor against the index arithmetic. */
static void
check_transpose(enum ir_dtype dtype, int rank, const int64_t *dims,
                const int64_t *perm)
{
    struct op_test t = op_new();
    struct ir_shape s = ir_shape_make(rank, dims);
    int64_t n = ir_shape_numel(&s);
    size_t esize = ir_dtype_size(dtype);
    char *data = malloc((size_t)n * esize);
    for (int64_t i = 0; i < n; i++) {
        uint64_t v = (uint64_t)i * 2654435761u;
        memcpy(data + (size_t)i * esize, &v, esize);
    }
    int32_t x = tensor(&t, dtype, rank, dims, data);
    struct ir_op *op = add_op(&t, IR_OP_TRANSPOSE, &x, 1, 1);
    if (perm)
        ir_op_set_ints(op, "perm", perm, rank);
    op_run(&t);

    int64_t p[IR_MAX_RANK], odims[IR_MAX_RANK], istride[IR_MAX_RANK];
    for (int i = 0; i < rank; i++)
        p[i] = perm ? perm[i] : rank - 1 - i;
    for (int i = 0; i < rank; i++)
        odims[i] = dims[p[i]];
    int64_t st = 1;
    for (int i = rank - 1; i >= 0; i--) {
        istride[i] = st;
        st *= dims[i];
    }
    if (check_result(&t, "transpose", 0, dtype, rank, odims)) {
        int64_t bad = -1;
        for (int64_t o = 0; o < n && bad < 0; o++) {
            int64_t rest = o, src = 0;
            for (int i = rank - 1; i >= 0; i--) {
                src += (rest % odims[i]) * istride[p[i]];
                rest /= odims[i];
            }
            if (memcmp((char *)t.out[0] + (size_t)o * esize,
                       data + (size_t)src * esize, esize) != 0)
                bad = o;
        }
        CHECK(bad < 0, "transpose %s rank %d: output element %lld is wrong",
              ir_dtype_name(dtype), rank, (long long)bad);
    }
    free(data);
    op_free(&t);
}

static void
test_transpose(void)
{
    int64_t heads[] = {2, 5, 3, 8}, perm_heads[] = {0, 2, 1, 3};
    check_transpose(IR_DTYPE_FLOAT, 4, heads, perm_heads);
    int64_t one_batch[] = {1, 7, 4, 16};
    check_transpose(IR_DTYPE_FLOAT16, 4, one_batch, perm_heads);
    int64_t kt[] = {2, 3, 37, 19}, perm_kt[] = {0, 1, 3, 2};
    check_transpose(IR_DTYPE_FLOAT, 4, kt, perm_kt);
    check_transpose(IR_DTYPE_INT64, 4, kt, perm_kt);
    check_transpose(IR_DTYPE_BOOL, 4, kt, perm_kt);
    check_transpose(IR_DTYPE_BFLOAT16, 4, kt, perm_kt);
    int64_t mat[] = {33, 17};
    check_transpose(IR_DTYPE_FLOAT, 2, mat, NULL);
    int64_t cube[] = {4, 5, 6}, perm_cube[] = {2, 0, 1};
    check_transpose(IR_DTYPE_UINT16, 3, cube, perm_cube);
    int64_t swap3[] = {3, 20, 24}, perm_swap3[] = {0, 2, 1};
    check_transpose(IR_DTYPE_FLOAT, 3, swap3, perm_swap3);
    int64_t five[] = {2, 1, 3, 4, 5}, perm_five[] = {4, 2, 0, 3, 1};
    check_transpose(IR_DTYPE_DOUBLE, 5, five, perm_five);
    int64_t empty[] = {2, 0, 3}, perm_empty[] = {2, 1, 0};
    check_transpose(IR_DTYPE_FLOAT, 3, empty, perm_empty);
    check_transpose(IR_DTYPE_FLOAT, 0, NULL, NULL);

    struct op_test t = op_new();
    int64_t bad[] = {0, 0, 1};
    int32_t x = iota_f32(&t, 3, cube);
    ir_op_set_ints(add_op(&t, IR_OP_TRANSPOSE, &x, 1, 1), "perm", bad, 3);
    op_run(&t);
    check_error(&t, "transpose bad perm", "not a permutation");
    op_free(&t);
}

/* ---- Concat, Split ---- */

static void
test_concat_empty_cache(void)
{
    struct op_test t = op_new();
    int64_t cache[] = {1, 2, 0, 4}, step[] = {1, 2, 3, 4};
    int32_t ops[] = {iota_f32(&t, 4, cache), iota_f32(&t, 4, step)};
    ir_op_set_int(add_op(&t, IR_OP_CONCAT, ops, 2, 1), "axis", -2);
    op_run(&t);
    if (check_result(&t, "concat empty cache", 0, IR_DTYPE_FLOAT, 4, step)) {
        float v[24];
        for (int i = 0; i < 24; i++)
            v[i] = (float)i;
        check_f32(&t, "concat empty cache", 0, v, 24);
    }
    op_free(&t);

    t = op_new();
    int64_t a[] = {2, 1}, b[] = {2, 2};
    int32_t ops2[] = {iota_f32(&t, 2, a), iota_f32(&t, 2, b),
                      iota_f32(&t, 2, a)};
    ir_op_set_int(add_op(&t, IR_OP_CONCAT, ops2, 3, 1), "axis", 1);
    op_run(&t);
    int64_t want[] = {2, 4};
    if (check_result(&t, "concat three", 0, IR_DTYPE_FLOAT, 2, want)) {
        float v[] = {0, 0, 1, 0, 1, 2, 3, 1};
        check_f32(&t, "concat three", 0, v, 8);
    }
    op_free(&t);

    t = op_new();
    int32_t ops3[] = {iota_f32(&t, 2, a), iota_f32(&t, 4, cache)};
    ir_op_set_int(add_op(&t, IR_OP_CONCAT, ops3, 2, 1), "axis", 0);
    op_run(&t);
    check_error(&t, "concat rank mismatch", "must have the dtype and rank");
    op_free(&t);
}

static void
test_split(void)
{
    struct op_test t = op_new();
    int64_t dims[] = {5};
    int32_t ops[] = {iota_f32(&t, 1, dims), IR_NONE};
    ir_op_set_int(add_op(&t, IR_OP_SPLIT, ops, 2, 3), "num_outputs", 3);
    op_run(&t);
    int64_t two = 2, one = 1;
    if (check_result(&t, "split uneven", 0, IR_DTYPE_FLOAT, 1, &two) &&
        check_result(&t, "split uneven", 2, IR_DTYPE_FLOAT, 1, &one)) {
        float a[] = {0, 1}, b[] = {2, 3}, c[] = {4};
        check_f32(&t, "split uneven 0", 0, a, 2);
        check_f32(&t, "split uneven 1", 1, b, 2);
        check_f32(&t, "split uneven 2", 2, c, 1);
    }
    op_free(&t);

    t = op_new();
    int64_t mat[] = {2, 4}, sizes[] = {1, 0, 3};
    int32_t ops2[] = {iota_f32(&t, 2, mat), ints(&t, 3, sizes)};
    ir_op_set_int(add_op(&t, IR_OP_SPLIT, ops2, 2, 3), "axis", -1);
    op_run(&t);
    int64_t d0[] = {2, 1}, d1[] = {2, 0}, d2[] = {2, 3};
    if (check_result(&t, "split sizes", 0, IR_DTYPE_FLOAT, 2, d0) &&
        check_result(&t, "split sizes", 1, IR_DTYPE_FLOAT, 2, d1) &&
        check_result(&t, "split sizes", 2, IR_DTYPE_FLOAT, 2, d2)) {
        float a[] = {0, 4}, c[] = {1, 2, 3, 5, 6, 7};
        check_f32(&t, "split sizes 0", 0, a, 2);
        check_f32(&t, "split sizes 2", 2, c, 6);
    }
    op_free(&t);

    t = op_new();
    int64_t wrong[] = {1, 2};
    int32_t ops3[] = {iota_f32(&t, 1, dims), ints(&t, 2, wrong)};
    add_op(&t, IR_OP_SPLIT, ops3, 2, 2);
    op_run(&t);
    check_error(&t, "split sizes sum", "add up to 3");
    op_free(&t);
}

/* ---- Slice ---- */

/* Slice a 1-D iota of size n; want lists the expected values. */
static void
check_slice_1d(const char *name, int64_t n, int64_t start, int64_t end,
               int64_t step, const float *want, int64_t count)
{
    struct op_test t = op_new();
    int64_t zero = 0;
    int32_t ops[] = {iota_f32(&t, 1, &n), ints(&t, 1, &start),
                     ints(&t, 1, &end), ints(&t, 1, &zero), ints(&t, 1, &step)};
    add_op(&t, IR_OP_SLICE, ops, 5, 1);
    op_run(&t);
    if (check_result(&t, name, 0, IR_DTYPE_FLOAT, 1, &count))
        check_f32(&t, name, 0, want, (int)count);
    op_free(&t);
}

static void
test_slice(void)
{
    float fwd[] = {2, 3, 4, 5, 6, 7, 8, 9};
    check_slice_1d("slice INT64_MAX end", 10, 2, INT64_MAX, 1, fwd, 8);
    check_slice_1d("slice INT32_MAX end", 10, 2, INT32_MAX, 1, fwd, 8);
    float rev[] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0};
    check_slice_1d("slice reverse INT64_MIN", 10, -1, INT64_MIN, -1, rev, 10);
    check_slice_1d("slice reverse -INT64_MAX", 10, INT64_MAX, -INT64_MAX, -1,
                   rev, 10);
    float rev3[] = {9, 6, 3, 0};
    check_slice_1d("slice step -3", 10, 9, -11, -3, rev3, 4);
    float mid[] = {7, 5};
    check_slice_1d("slice step -2 to 3", 10, -3, 3, -2, mid, 2);
    check_slice_1d("slice empty", 10, 5, 2, 1, NULL, 0);
    check_slice_1d("slice empty reverse", 10, 2, 5, -1, NULL, 0);
    check_slice_1d("slice start past end", 10, 1000, 2000, 1, NULL, 0);
    float big[] = {1};
    check_slice_1d("slice huge step", 10, 1, INT64_MAX, INT64_MAX, big, 1);
    check_slice_1d("slice INT64_MIN step", 10, 1, -100, INT64_MIN, big, 1);

    /* ONNX example 1: axes [0, 1], steps [1, 2]. */
    struct op_test t = op_new();
    int64_t dims[] = {2, 4}, starts[] = {1, 0}, ends[] = {2, 3};
    int64_t axes[] = {-2, -1}, steps[] = {1, 2};
    int32_t ops[] = {iota_f32(&t, 2, dims), ints(&t, 2, starts),
                     ints(&t, 2, ends), ints(&t, 2, axes), ints(&t, 2, steps)};
    add_op(&t, IR_OP_SLICE, ops, 5, 1);
    op_run(&t);
    int64_t want[] = {1, 2};
    if (check_result(&t, "slice 2-D steps", 0, IR_DTYPE_FLOAT, 2, want)) {
        float v[] = {4, 6};
        check_f32(&t, "slice 2-D steps", 0, v, 2);
    }
    op_free(&t);

    /* A zero-size axis that is not sliced, and no axes or steps. */
    t = op_new();
    int64_t zdims[] = {0, 3}, zs[] = {0, 1}, ze[] = {5, 3};
    int32_t zops[] = {iota_f32(&t, 2, zdims), ints(&t, 2, zs), ints(&t, 2, ze)};
    add_op(&t, IR_OP_SLICE, zops, 3, 1);
    op_run(&t);
    int64_t zwant[] = {0, 2};
    check_result(&t, "slice zero-size axis", 0, IR_DTYPE_FLOAT, 2, zwant);
    op_free(&t);

    /* A last-dim window of a 3-D tensor, the KV-cache read. */
    t = op_new();
    int64_t kv[] = {2, 3, 4}, ks[] = {1}, ke[] = {-1}, ka[] = {2};
    int32_t kops[] = {iota_f32(&t, 3, kv), ints(&t, 1, ks), ints(&t, 1, ke),
                      ints(&t, 1, ka)};
    add_op(&t, IR_OP_SLICE, kops, 4, 1);
    op_run(&t);
    int64_t kwant[] = {2, 3, 2};
    if (check_result(&t, "slice window", 0, IR_DTYPE_FLOAT, 3, kwant)) {
        float v[12];
        for (int i = 0; i < 12; i++)
            v[i] = (float)((i / 2) * 4 + 1 + i % 2);
        check_f32(&t, "slice window", 0, v, 12);
    }
    op_free(&t);

    t = op_new();
    int64_t one = 1, zero = 0, ten = 10;
    int32_t bops[] = {iota_f32(&t, 1, &ten), ints(&t, 1, &one),
                      ints(&t, 1, &ten), ints(&t, 1, &zero),
                      ints(&t, 1, &zero)};
    add_op(&t, IR_OP_SLICE, bops, 5, 1);
    op_run(&t);
    check_error(&t, "slice step 0", "steps must be nonzero");
    op_free(&t);
}

/* ---- Expand, Tile, Pad ---- */

static void
test_expand(void)
{
    struct op_test t = op_new();
    int64_t dims[] = {3, 1}, shape[] = {2, 1, 4};
    int32_t ops[] = {iota_f32(&t, 2, dims), ints(&t, 3, shape)};
    add_op(&t, IR_OP_EXPAND, ops, 2, 1);
    op_run(&t);
    int64_t want[] = {2, 3, 4};
    if (check_result(&t, "expand higher rank", 0, IR_DTYPE_FLOAT, 3, want)) {
        float v[24];
        for (int i = 0; i < 24; i++)
            v[i] = (float)((i / 4) % 3);
        check_f32(&t, "expand higher rank", 0, v, 24);
    }
    op_free(&t);

    t = op_new();
    int64_t mat[] = {2, 3}, low[] = {1};
    int32_t ops2[] = {iota_f32(&t, 2, mat), ints(&t, 1, low)};
    add_op(&t, IR_OP_EXPAND, ops2, 2, 1);
    op_run(&t);
    if (check_result(&t, "expand lower rank", 0, IR_DTYPE_FLOAT, 2, mat)) {
        float v[] = {0, 1, 2, 3, 4, 5};
        check_f32(&t, "expand lower rank", 0, v, 6);
    }
    op_free(&t);

    t = op_new();
    int64_t bad[] = {3, 3};
    int32_t ops3[] = {iota_f32(&t, 2, mat), ints(&t, 2, bad)};
    add_op(&t, IR_OP_EXPAND, ops3, 2, 1);
    op_run(&t);
    check_error(&t, "expand mismatch", "cannot be broadcast");
    op_free(&t);
}

static void
test_tile(void)
{
    struct op_test t = op_new();
    int64_t dims[] = {2, 2}, reps[] = {2, 3};
    int32_t ops[] = {iota_f32(&t, 2, dims), ints(&t, 2, reps)};
    add_op(&t, IR_OP_TILE, ops, 2, 1);
    op_run(&t);
    int64_t want[] = {4, 6};
    if (check_result(&t, "tile", 0, IR_DTYPE_FLOAT, 2, want)) {
        float v[24];
        for (int i = 0; i < 24; i++)
            v[i] = (float)((i / 6) % 2 * 2 + (i % 6) % 2);
        check_f32(&t, "tile", 0, v, 24);
    }
    op_free(&t);
}

static void
check_pad(const char *name, const char *mode, const int64_t *pads,
          const float *want, int64_t width)
{
    struct op_test t = op_new();
    int64_t dims[] = {2, 3};
    float value = -1;
    int32_t ops[] = {iota_f32(&t, 2, dims), ints(&t, 4, pads),
                     tensor(&t, IR_DTYPE_FLOAT, 0, NULL, &value)};
    ir_op_set_string(add_op(&t, IR_OP_PAD, ops, 3, 1), "mode", mode);
    op_run(&t);
    int64_t out[] = {2 + pads[0] + pads[2], width};
    if (check_result(&t, name, 0, IR_DTYPE_FLOAT, 2, out))
        check_f32(&t, name, 0, want, (int)(out[0] * out[1]));
    op_free(&t);
}

static void
test_pad(void)
{
    int64_t lr[] = {0, 2, 0, 1};
    float constant[] = {-1, -1, 0, 1, 2, -1, -1, -1, 3, 4, 5, -1};
    check_pad("pad constant", "constant", lr, constant, 6);
    float edge[] = {0, 0, 0, 1, 2, 2, 3, 3, 3, 4, 5, 5};
    check_pad("pad edge", "edge", lr, edge, 6);
    float reflect[] = {2, 1, 0, 1, 2, 1, 5, 4, 3, 4, 5, 4};
    check_pad("pad reflect", "reflect", lr, reflect, 6);
    int64_t crop[] = {1, -1, 0, 2};
    float cropped[] = {-1, -1, -1, -1, 1, 2, -1, -1, 4, 5, -1, -1};
    check_pad("pad crop", "constant", crop, cropped, 4);
    float wrap[] = {4, 5, 3, 4, 1, 2, 0, 1, 4, 5, 3, 4};
    check_pad("pad wrap", "wrap", crop, wrap, 4);

    struct op_test t = op_new();
    int64_t dims[] = {2, 3}, bad[] = {0, -4, 0, 0};
    int32_t ops[] = {iota_f32(&t, 2, dims), ints(&t, 4, bad)};
    add_op(&t, IR_OP_PAD, ops, 2, 1);
    op_run(&t);
    check_error(&t, "pad crops too much", "crop more than dim 1");
    op_free(&t);
}

/* ---- Gather and friends ---- */

static void
test_gather(void)
{
    struct op_test t = op_new();
    int64_t dims[] = {3, 2}, n2 = 2;
    int64_t idx[] = {-1, 0};
    int32_t ops[] = {iota_f32(&t, 2, dims),
                     tensor(&t, IR_DTYPE_INT64, 1, &n2, idx)};
    add_op(&t, IR_OP_GATHER, ops, 2, 1);
    op_run(&t);
    int64_t want[] = {2, 2};
    if (check_result(&t, "gather negative", 0, IR_DTYPE_FLOAT, 2, want)) {
        float v[] = {4, 5, 0, 1};
        check_f32(&t, "gather negative", 0, v, 4);
    }
    op_free(&t);

    t = op_new();
    int32_t one = 1;
    int32_t ops2[] = {iota_f32(&t, 2, dims),
                      tensor(&t, IR_DTYPE_INT32, 0, NULL, &one)};
    ir_op_set_int(add_op(&t, IR_OP_GATHER, ops2, 2, 1), "axis", 1);
    op_run(&t);
    int64_t three = 3;
    if (check_result(&t, "gather scalar", 0, IR_DTYPE_FLOAT, 1, &three)) {
        float v[] = {1, 3, 5};
        check_f32(&t, "gather scalar", 0, v, 3);
    }
    op_free(&t);

    t = op_new();
    int64_t oob[] = {0, 3};
    int32_t ops3[] = {iota_f32(&t, 2, dims),
                      tensor(&t, IR_DTYPE_INT64, 1, &n2, oob)};
    add_op(&t, IR_OP_GATHER, ops3, 2, 1);
    op_run(&t);
    CHECK(t.infer_status == 0, "gather out of range: inference failed");
    CHECK(t.kernel_status == RT_ERR_RUNTIME,
          "gather out of range: kernel status %d", t.kernel_status);
    CHECK(strstr(t.message, "index 3") != NULL,
          "gather out of range: message \"%s\" lacks the index", t.message);
    CHECK(strstr(t.message, "size 3") != NULL,
          "gather out of range: message \"%s\" lacks the size", t.message);
    op_free(&t);

    /* Embedding lookup: [V, D] table, [B, S] ids. */
    t = op_new();
    int64_t table[] = {5, 4}, ids_dims[] = {2, 3};
    int64_t ids[] = {4, 0, 2, 2, 1, 3};
    int32_t ops4[] = {iota_f32(&t, 2, table),
                      tensor(&t, IR_DTYPE_INT64, 2, ids_dims, ids)};
    add_op(&t, IR_OP_GATHER, ops4, 2, 1);
    op_run(&t);
    int64_t ewant[] = {2, 3, 4};
    if (check_result(&t, "gather embedding", 0, IR_DTYPE_FLOAT, 3, ewant)) {
        float v[24];
        for (int i = 0; i < 24; i++)
            v[i] = (float)(ids[i / 4] * 4 + i % 4);
        check_f32(&t, "gather embedding", 0, v, 24);
    }
    op_free(&t);
}

static void
test_gather_elements(void)
{
    struct op_test t = op_new();
    int64_t dims[] = {3, 3}, idims[] = {2, 3};
    int64_t idx[] = {1, 2, 0, 2, 0, -3};
    int32_t ops[] = {iota_f32(&t, 2, dims),
                     tensor(&t, IR_DTYPE_INT64, 2, idims, idx)};
    add_op(&t, IR_OP_GATHER_ELEMENTS, ops, 2, 1);
    op_run(&t);
    if (check_result(&t, "gather elements", 0, IR_DTYPE_FLOAT, 2, idims)) {
        float v[] = {3, 7, 2, 6, 1, 2};
        check_f32(&t, "gather elements", 0, v, 6);
    }
    op_free(&t);
}

static void
test_gather_nd_batch(void)
{
    /* batch_dims 1: data [2,2,2], indices [2,1] -> [2,2]. */
    struct op_test t = op_new();
    int64_t dims[] = {2, 2, 2}, idims[] = {2, 1}, idx[] = {1, 0};
    int32_t ops[] = {iota_f32(&t, 3, dims),
                     tensor(&t, IR_DTYPE_INT64, 2, idims, idx)};
    ir_op_set_int(add_op(&t, IR_OP_GATHER_ND, ops, 2, 1), "batch_dims", 1);
    op_run(&t);
    int64_t want[] = {2, 2};
    if (check_result(&t, "gather nd batch", 0, IR_DTYPE_FLOAT, 2, want)) {
        float v[] = {2, 3, 4, 5};
        check_f32(&t, "gather nd batch", 0, v, 4);
    }
    op_free(&t);
}

static void
test_scatter(void)
{
    struct op_test t = op_new();
    int64_t dims[] = {1, 5}, idims[] = {1, 3};
    int64_t idx[] = {1, 1, -1};
    float upd[] = {1.5f, 2, 10};
    int32_t ops[] = {iota_f32(&t, 2, dims),
                     tensor(&t, IR_DTYPE_INT64, 2, idims, idx),
                     tensor(&t, IR_DTYPE_FLOAT, 2, idims, upd)};
    struct ir_op *op = add_op(&t, IR_OP_SCATTER_ELEMENTS, ops, 3, 1);
    ir_op_set_int(op, "axis", 1);
    ir_op_set_string(op, "reduction", "add");
    op_run(&t);
    if (check_result(&t, "scatter elements add", 0, IR_DTYPE_FLOAT, 2, dims)) {
        float v[] = {0, 4.5f, 2, 3, 14};
        check_f32(&t, "scatter elements add", 0, v, 5);
    }
    op_free(&t);

    t = op_new();
    int64_t d8 = 8, idims2[] = {2, 1}, idx2[] = {4, 3}, n2 = 2;
    int64_t data[] = {1, 2, 3, 4, 5, 6, 7, 8}, upd2[] = {9, 10};
    int32_t ops2[] = {tensor(&t, IR_DTYPE_INT64, 1, &d8, data),
                      tensor(&t, IR_DTYPE_INT64, 2, idims2, idx2),
                      tensor(&t, IR_DTYPE_INT64, 1, &n2, upd2)};
    ir_op_set_string(add_op(&t, IR_OP_SCATTER_ND, ops2, 3, 1), "reduction",
                     "mul");
    op_run(&t);
    if (check_result(&t, "scatter nd mul", 0, IR_DTYPE_INT64, 1, &d8)) {
        int64_t v[] = {1, 2, 3, 40, 45, 6, 7, 8};
        check_i64(&t, "scatter nd mul", 0, v, 8);
    }
    op_free(&t);
}

static void
test_one_hot(void)
{
    struct op_test t = op_new();
    int64_t three = 3, idx[] = {0, -1, 5};
    float depth = 4, values[] = {0, 7};
    int64_t two = 2;
    int32_t ops[] = {tensor(&t, IR_DTYPE_INT64, 1, &three, idx),
                     tensor(&t, IR_DTYPE_FLOAT, 0, NULL, &depth),
                     tensor(&t, IR_DTYPE_FLOAT, 1, &two, values)};
    ir_op_set_int(add_op(&t, IR_OP_ONE_HOT, ops, 3, 1), "axis", 0);
    op_run(&t);
    int64_t want[] = {4, 3};
    if (check_result(&t, "one hot axis 0", 0, IR_DTYPE_FLOAT, 2, want)) {
        float v[] = {7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0};
        check_f32(&t, "one hot axis 0", 0, v, 12);
    }
    op_free(&t);
}

/* ---- generators ---- */

static void
test_range(void)
{
    struct op_test t = op_new();
    float fv[] = {1, 5, 2};
    int32_t ops[3];
    for (int i = 0; i < 3; i++)
        ops[i] = tensor(&t, IR_DTYPE_FLOAT, 0, NULL, &fv[i]);
    add_op(&t, IR_OP_RANGE, ops, 3, 1);
    op_run(&t);
    int64_t two = 2;
    if (check_result(&t, "range float", 0, IR_DTYPE_FLOAT, 1, &two)) {
        float v[] = {1, 3};
        check_f32(&t, "range float", 0, v, 2);
    }
    op_free(&t);

    t = op_new();
    float frac[] = {0, 1, 0.3f};
    for (int i = 0; i < 3; i++)
        ops[i] = tensor(&t, IR_DTYPE_FLOAT, 0, NULL, &frac[i]);
    add_op(&t, IR_OP_RANGE, ops, 3, 1);
    op_run(&t);
    int64_t four = 4;
    check_result(&t, "range float fraction", 0, IR_DTYPE_FLOAT, 1, &four);
    op_free(&t);

    static const struct {
        int64_t start, limit, delta, n;
        int64_t want[4];
    } cases[] = {
        {10, 4, -3, 2, {10, 7}}, {0, 7, 2, 4, {0, 2, 4, 6}},  {5, 5, 1, 0, {0}},
        {5, 0, 1, 0, {0}},       {-3, 0, 1, 3, {-3, -2, -1}},
    };
    for (int c = 0; c < LEN(cases); c++) {
        t = op_new();
        ops[0] = scalar_i64(&t, cases[c].start);
        ops[1] = scalar_i64(&t, cases[c].limit);
        ops[2] = scalar_i64(&t, cases[c].delta);
        add_op(&t, IR_OP_RANGE, ops, 3, 1);
        op_run(&t);
        int64_t n = cases[c].n;
        if (check_result(&t, "range int", 0, IR_DTYPE_INT64, 1, &n))
            check_i64(&t, "range int", 0, cases[c].want, (int)n);
        op_free(&t);
    }

    t = op_new();
    int32_t iv[] = {10, 4, -3};
    for (int i = 0; i < 3; i++)
        ops[i] = tensor(&t, IR_DTYPE_INT32, 0, NULL, &iv[i]);
    add_op(&t, IR_OP_RANGE, ops, 3, 1);
    op_run(&t);
    if (check_result(&t, "range int32", 0, IR_DTYPE_INT32, 1, &two)) {
        const int32_t *got = t.out[0];
        CHECK(got[0] == 10, "range int32: element 0 is %d", got[0]);
        CHECK(got[1] == 7, "range int32: element 1 is %d", got[1]);
    }
    op_free(&t);
}

static void
check_trilu(const char *name, bool upper, int64_t k, const float *want)
{
    struct op_test t = op_new();
    int64_t dims[] = {2, 3, 4};
    int32_t ops[] = {iota_f32(&t, 3, dims), scalar_i64(&t, k)};
    ir_op_set_int(add_op(&t, IR_OP_TRILU, ops, 2, 1), "upper", upper);
    op_run(&t);
    if (check_result(&t, name, 0, IR_DTYPE_FLOAT, 3, dims)) {
        float v[24];
        for (int i = 0; i < 24; i++)
            v[i] = want[i % 12] ? (float)i : 0;
        check_f32(&t, name, 0, v, 24);
    }
    op_free(&t);
}

static void
test_trilu(void)
{
    /* Masks of one 3x4 matrix: 1 keeps the element. */
    float upper1[] = {0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 1};
    check_trilu("triu k=1", true, 1, upper1);
    float lower_neg[] = {0, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0};
    check_trilu("tril k=-1", false, -1, lower_neg);
    float all[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    check_trilu("tril k=huge", false, INT64_MAX, all);
    float none[12] = {0};
    check_trilu("triu k=huge", true, INT64_MAX, none);
    check_trilu("triu k=-huge", true, INT64_MIN, all);
}

static void
test_eye_like_and_constant_of_shape(void)
{
    struct op_test t = op_new();
    int64_t dims[] = {3, 4};
    int32_t x = iota_f32(&t, 2, dims);
    struct ir_op *op = add_op(&t, IR_OP_EYE_LIKE, &x, 1, 1);
    ir_op_set_int(op, "k", 1);
    ir_op_set_int(op, "dtype", IR_DTYPE_INT32);
    op_run(&t);
    if (check_result(&t, "eye like", 0, IR_DTYPE_INT32, 2, dims)) {
        const int32_t *got = t.out[0];
        int bad = -1;
        for (int i = 0; i < 12 && bad < 0; i++)
            if (got[i] != (i % 4 == i / 4 + 1))
                bad = i;
        CHECK(bad < 0, "eye like: element %d is wrong", bad);
    }
    op_free(&t);

    t = op_new();
    int64_t empty = 0;
    int32_t shape = tensor(&t, IR_DTYPE_INT64, 1, &empty, NULL);
    int32_t fill = 42;
    int32_t value = tensor(&t, IR_DTYPE_INT32, 1, (int64_t[]){1}, &fill);
    op = add_op(&t, IR_OP_CONSTANT_OF_SHAPE, &shape, 1, 1);
    struct ir_attr a = {
        .name = "value", .kind = IR_ATTR_TENSOR, .tensor = value};
    ir_op_set_attr(op, &a);
    op_run(&t);
    if (check_result(&t, "constant of shape scalar", 0, IR_DTYPE_INT32, 0,
                     NULL))
        CHECK(*(int32_t *)t.out[0] == 42, "constant of shape: got %d",
              *(int32_t *)t.out[0]);
    op_free(&t);

    t = op_new();
    int64_t sdims[] = {2, 3};
    shape = ints(&t, 2, sdims);
    add_op(&t, IR_OP_CONSTANT_OF_SHAPE, &shape, 1, 1);
    op_run(&t);
    if (check_result(&t, "constant of shape zeros", 0, IR_DTYPE_FLOAT, 2,
                     sdims)) {
        float v[6] = {0};
        check_f32(&t, "constant of shape zeros", 0, v, 6);
    }
    op_free(&t);
}

/* Copies large enough to be split over the pool. */
static void
test_large_copies(void)
{
    int64_t heads[] = {4, 256, 8, 64}, perm_heads[] = {0, 2, 1, 3};
    check_transpose(IR_DTYPE_FLOAT, 4, heads, perm_heads);
    int64_t kt[] = {4, 8, 256, 64}, perm_kt[] = {0, 1, 3, 2};
    check_transpose(IR_DTYPE_FLOAT, 4, kt, perm_kt);
    int64_t mat[] = {700, 900};
    check_transpose(IR_DTYPE_FLOAT16, 2, mat, NULL);

    struct op_test t = op_new();
    int64_t cache[] = {2, 8, 300, 64}, step[] = {2, 8, 1, 64};
    int32_t ops[] = {iota_f32(&t, 4, cache), iota_f32(&t, 4, step)};
    ir_op_set_int(add_op(&t, IR_OP_CONCAT, ops, 2, 1), "axis", 2);
    op_run(&t);
    int64_t want[] = {2, 8, 301, 64};
    if (check_result(&t, "concat large", 0, IR_DTYPE_FLOAT, 4, want)) {
        const float *got = t.out[0];
        /* Block (0,1) starts with cache row 0, ends with step row 0. */
        int at = 301 * 64;
        CHECK(got[at] == 300 * 64, "concat large: element %d is %g", at,
              got[at]);
        at = 301 * 64 + 300 * 64;
        CHECK(got[at] == 64, "concat large: element %d is %g", at, got[at]);
    }
    op_free(&t);

    t = op_new();
    int64_t table[] = {3000, 256}, id_dims[] = {4, 100};
    int64_t ids[400];
    for (int i = 0; i < 400; i++)
        ids[i] = (i * 7919) % 3000 - 1500;
    int32_t gops[] = {iota_f32(&t, 2, table),
                      tensor(&t, IR_DTYPE_INT64, 2, id_dims, ids)};
    add_op(&t, IR_OP_GATHER, gops, 2, 1);
    op_run(&t);
    int64_t gwant[] = {4, 100, 256};
    if (check_result(&t, "gather large", 0, IR_DTYPE_FLOAT, 3, gwant)) {
        const float *got = t.out[0];
        int64_t row = ids[399] < 0 ? ids[399] + 3000 : ids[399];
        CHECK(got[399 * 256 + 5] == (float)(row * 256 + 5),
              "gather large: last row starts with %g", got[399 * 256]);
    }
    op_free(&t);

    t = op_new();
    int64_t wide[] = {2000, 300}, n_idx = 50, cols[50];
    for (int i = 0; i < 50; i++)
        cols[i] = 299 - i * 3;
    int32_t cops[] = {iota_f32(&t, 2, wide),
                      tensor(&t, IR_DTYPE_INT64, 1, &n_idx, cols)};
    ir_op_set_int(add_op(&t, IR_OP_GATHER, cops, 2, 1), "axis", 1);
    op_run(&t);
    int64_t cwant[] = {2000, 50};
    if (check_result(&t, "gather large axis 1", 0, IR_DTYPE_FLOAT, 2, cwant)) {
        const float *got = t.out[0];
        CHECK(got[1999 * 50 + 49] == 1999 * 300 + 299 - 49 * 3,
              "gather large axis 1: last element is %g", got[1999 * 50 + 49]);
    }
    op_free(&t);

    t = op_new();
    int64_t mask[] = {1, 1, 1, 512}, shape[] = {2, 8, 256, 512};
    int32_t eops[] = {iota_f32(&t, 4, mask), ints(&t, 4, shape)};
    add_op(&t, IR_OP_EXPAND, eops, 2, 1);
    op_run(&t);
    if (check_result(&t, "expand large", 0, IR_DTYPE_FLOAT, 4, shape)) {
        const float *got = t.out[0];
        CHECK(got[2 * 8 * 256 * 512 - 1] == 511,
              "expand large: last element is %g", got[2 * 8 * 256 * 512 - 1]);
    }
    op_free(&t);
}

int
main(void)
{
    pool = rt_pool_create(3);
    test_shape_start_end();
    test_size();
    test_reshape_zero_and_minus_one();
    test_reshape_allowzero();
    test_reshape_errors();
    test_flatten_negative_axis();
    test_squeeze();
    test_unsqueeze_unsorted();
    test_transpose();
    test_concat_empty_cache();
    test_split();
    test_slice();
    test_expand();
    test_tile();
    test_pad();
    test_gather();
    test_gather_elements();
    test_gather_nd_batch();
    test_scatter();
    test_one_hot();
    test_range();
    test_trilu();
    test_eye_like_and_constant_of_shape();
    test_large_copies();
    rt_pool_destroy(pool);
    printf("%d passed, %d failed\n", n_passed, n_failed);
    return n_failed ? 1 : 0;
}
