/*
 * Unit tests of the ONNX frontend.  Loads the models that make_models.py
 * writes into the folder given on the command line and checks the IR they
 * become, or the error that a malformed one gives.
 */
#include "frontend/frontend.h"

#include <stdlib.h>
#include <string.h>

static int n_passed, n_failed;
static const char *model_dir;

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

static char *
model_path(const char *name)
{
    size_t size = strlen(model_dir) + strlen(name) + 2;
    char *path = malloc(size);
    snprintf(path, size, "%s/%s", model_dir, name);
    return path;
}

static struct ir_graph *
load(const char *name)
{
    char *path = model_path(name);
    struct ir_graph *g = fe_load_model(path);
    CHECK(g != NULL, "%s: loading failed", name);
    if (g)
        CHECK(ir_verify(g) == 0, "%s: the loaded graph fails ir_verify", name);
    free(path);
    return g;
}

/* Run load_fn on path with errors captured; returns the malloc'd text. */
static char *
capture_errors(struct ir_graph *(*load_fn)(const char *), const char *path,
               struct ir_graph **g)
{
    FILE *f = tmpfile();
    ir_set_error_stream(f);
    *g = load_fn(path);
    ir_set_error_stream(NULL);
    long n = ftell(f);
    char *text = calloc(1, (size_t)n + 1);
    rewind(f);
    size_t got = fread(text, 1, (size_t)n, f);
    text[got] = 0;
    fclose(f);
    return text;
}

/* Loading name must fail with a message that contains expected. */
static void
expect_error(const char *name, const char *expected)
{
    char *path = model_path(name);
    struct ir_graph *g;
    char *text = capture_errors(fe_load_model, path, &g);
    CHECK(g == NULL, "%s: loaded, but should fail", name);
    CHECK(strstr(text, expected) != NULL, "%s: error \"%s\" lacks \"%s\"", name,
          text, expected);
    CHECK(strncmp(text, "onnxc: error: ", 14) == 0,
          "%s: error \"%s\" lacks the onnxc prefix", name, text);
    ir_graph_free(g);
    free(text);
    free(path);
}

static const struct ir_op *
find_op(const struct ir_graph *g, enum ir_op_kind kind)
{
    for (int32_t i = 0; i < g->n_ops; i++)
        if (g->ops[i].kind == kind)
            return &g->ops[i];
    return NULL;
}

/* Operand k of op must be a 1-D int64 constant equal to want[0..n). */
static void
check_i64_operand(const char *what, const struct ir_graph *g,
                  const struct ir_op *op, int k, const int64_t *want, int n)
{
    CHECK(op->n_operands > k, "%s: has %d operands, no operand %d", what,
          op->n_operands, k);
    if (op->n_operands <= k || op->operands[k] == IR_NONE) {
        CHECK(0, "%s: operand %d is missing", what, k);
        return;
    }
    const struct ir_value *v = &g->values[op->operands[k]];
    CHECK(v->kind == IR_VALUE_CONST, "%s: operand %d is not a constant", what,
          k);
    CHECK(v->dtype == IR_DTYPE_INT64, "%s: operand %d is %s, not i64", what, k,
          ir_dtype_name(v->dtype));
    CHECK(v->shape.rank == 1, "%s: operand %d has rank %d, not 1", what, k,
          v->shape.rank);
    CHECK(v->shape.dim[0] == n, "%s: operand %d has length %lld, not %d", what,
          k, (long long)v->shape.dim[0], n);
    CHECK(v->nbytes == sizeof(int64_t) * (size_t)n,
          "%s: operand %d has %zu bytes", what, k, v->nbytes);
    if (v->nbytes == sizeof(int64_t) * (size_t)n)
        CHECK(memcmp(v->data, want, v->nbytes) == 0,
              "%s: operand %d has the wrong values", what, k);
}

/* Operand k must be a scalar constant of dtype whose bytes are want. */
static void
check_scalar_operand(const char *what, const struct ir_graph *g,
                     const struct ir_op *op, int k, enum ir_dtype dtype,
                     const void *want)
{
    if (op->n_operands <= k || op->operands[k] == IR_NONE) {
        CHECK(0, "%s: operand %d is missing", what, k);
        return;
    }
    const struct ir_value *v = &g->values[op->operands[k]];
    CHECK(v->kind == IR_VALUE_CONST, "%s: operand %d is not a constant", what,
          k);
    CHECK(v->dtype == dtype, "%s: operand %d is %s, not %s", what, k,
          ir_dtype_name(v->dtype), ir_dtype_name(dtype));
    CHECK(v->shape.rank == 0, "%s: operand %d has rank %d, not 0", what, k,
          v->shape.rank);
    CHECK(v->nbytes == ir_dtype_size(dtype), "%s: operand %d has %zu bytes",
          what, k, v->nbytes);
    if (v->nbytes == ir_dtype_size(dtype))
        CHECK(memcmp(v->data, want, v->nbytes) == 0,
              "%s: operand %d has the wrong value", what, k);
}

/* The model's only op must be of kind, with n_operands operands. */
static const struct ir_op *
single_op(const char *what, const struct ir_graph *g, enum ir_op_kind kind,
          int n_operands)
{
    CHECK(g->n_ops == 1, "%s: %d ops, not 1", what, g->n_ops);
    if (g->n_ops < 1)
        return NULL;
    const struct ir_op *op = &g->ops[0];
    CHECK(op->kind == kind, "%s: op is %s, not %s", what,
          ir_op_kind_name(op->kind), ir_op_kind_name(kind));
    CHECK(op->n_operands == n_operands, "%s: %d operands, not %d", what,
          op->n_operands, n_operands);
    return op;
}

/* One op with int64 axes as operand 1, from an attribute or an input. */
static void
test_axes_operand(const char *file, enum ir_op_kind kind, const int64_t *axes,
                  int n, int opset)
{
    struct ir_graph *g = load(file);
    if (!g)
        return;
    CHECK(g->opset == opset, "%s: graph opset %d, not %d", file, g->opset,
          opset);
    const struct ir_op *op = single_op(file, g, kind, 2);
    if (op) {
        CHECK(op->opset == opset, "%s: op opset %d", file, op->opset);
        check_i64_operand(file, g, op, 1, axes, n);
        CHECK(ir_op_attr(op, "axes") == NULL, "%s: axes attribute kept", file);
    }
    ir_graph_free(g);
}

static void
test_axes_normalisation(void)
{
    static const int64_t squeeze_axes[] = {0, 2}, one[] = {1}, last[] = {-1};
    test_axes_operand("squeeze11.onnx", IR_OP_SQUEEZE, squeeze_axes, 2, 11);
    test_axes_operand("squeeze13.onnx", IR_OP_SQUEEZE, squeeze_axes, 2, 13);
    test_axes_operand("unsqueeze11.onnx", IR_OP_UNSQUEEZE, one, 1, 11);
    test_axes_operand("unsqueeze13.onnx", IR_OP_UNSQUEEZE, one, 1, 13);
    test_axes_operand("reducesum11.onnx", IR_OP_REDUCE_SUM, one, 1, 11);
    test_axes_operand("reducesum13.onnx", IR_OP_REDUCE_SUM, one, 1, 13);
    test_axes_operand("reducemean13.onnx", IR_OP_REDUCE_MEAN, last, 1, 13);
    test_axes_operand("reducemean18.onnx", IR_OP_REDUCE_MEAN, last, 1, 18);

    static const char *keepdims[][2] = {{"reducesum11.onnx", "0"},
                                        {"reducesum13.onnx", "0"},
                                        {"reducemean13.onnx", "1"},
                                        {"reducemean18.onnx", "1"}};
    for (int i = 0; i < 4; i++) {
        struct ir_graph *g = load(keepdims[i][0]);
        if (!g)
            continue;
        CHECK(ir_op_attr(&g->ops[0], "keepdims") != NULL,
              "%s: keepdims dropped", keepdims[i][0]);
        CHECK(ir_op_int(&g->ops[0], "keepdims", -1) == atoi(keepdims[i][1]),
              "%s: keepdims changed", keepdims[i][0]);
        ir_graph_free(g);
    }
}

static void
test_split_slice(void)
{
    static const int64_t sizes[] = {2, 3};
    const char *splits[] = {"split11.onnx", "split13.onnx"};
    for (int i = 0; i < 2; i++) {
        struct ir_graph *g = load(splits[i]);
        if (!g)
            continue;
        const struct ir_op *op = single_op(splits[i], g, IR_OP_SPLIT, 2);
        if (op) {
            check_i64_operand(splits[i], g, op, 1, sizes, 2);
            CHECK(op->n_results == 2, "%s: %d results", splits[i],
                  op->n_results);
            CHECK(ir_op_int(op, "axis", -1) == 1, "%s: axis lost", splits[i]);
            CHECK(ir_op_attr(op, "split") == NULL, "%s: split kept", splits[i]);
        }
        ir_graph_free(g);
    }

    static const int64_t starts[] = {1}, ends[] = {4}, axes[] = {1};
    const char *slices[] = {"slice1.onnx", "slice10.onnx"};
    for (int i = 0; i < 2; i++) {
        struct ir_graph *g = load(slices[i]);
        if (!g)
            continue;
        const struct ir_op *op = single_op(slices[i], g, IR_OP_SLICE, 4);
        if (op) {
            check_i64_operand(slices[i], g, op, 1, starts, 1);
            check_i64_operand(slices[i], g, op, 2, ends, 1);
            check_i64_operand(slices[i], g, op, 3, axes, 1);
            CHECK(op->n_attrs == 0, "%s: %d attributes kept", slices[i],
                  op->n_attrs);
        }
        ir_graph_free(g);
    }
}

static void
test_clip(void)
{
    const float lo = 0.0f, hi = 6.0f;
    const char *clips[] = {"clip6.onnx", "clip11.onnx"};
    for (int i = 0; i < 2; i++) {
        struct ir_graph *g = load(clips[i]);
        if (!g)
            continue;
        const struct ir_op *op = single_op(clips[i], g, IR_OP_CLIP, 3);
        if (op) {
            check_scalar_operand(clips[i], g, op, 1, IR_DTYPE_FLOAT, &lo);
            check_scalar_operand(clips[i], g, op, 2, IR_DTYPE_FLOAT, &hi);
            CHECK(op->n_attrs == 0, "%s: attributes kept", clips[i]);
        }
        ir_graph_free(g);
    }

    /* The constant follows the data's dtype, double here. */
    struct ir_graph *g = load("clip6_max_only.onnx");
    if (g) {
        const double hi64 = 6.0;
        const struct ir_op *op = single_op("clip6_max_only", g, IR_OP_CLIP, 3);
        if (op) {
            CHECK(op->operands[1] == IR_NONE, "clip6_max_only: min is set");
            check_scalar_operand("clip6_max_only", g, op, 2, IR_DTYPE_DOUBLE,
                                 &hi64);
        }
        ir_graph_free(g);
    }
}

/* Clip-6 on a value of unknown dtype: min is CastLike(0.5f, t). */
static void
test_clip_unknown_dtype(void)
{
    struct ir_graph *g = load("clip6_unknown_dtype.onnx");
    if (!g)
        return;
    CHECK(g->n_ops == 3, "clip6_unknown_dtype: %d ops, not 3", g->n_ops);
    const struct ir_op *cast = find_op(g, IR_OP_CAST_LIKE);
    const struct ir_op *clip = find_op(g, IR_OP_CLIP);
    CHECK(cast != NULL, "clip6_unknown_dtype: no CastLike op");
    CHECK(clip != NULL, "clip6_unknown_dtype: no Clip op");
    if (cast && clip) {
        const float lo = 0.5f;
        int32_t t = ir_value_find(g, "t");
        check_scalar_operand("clip6_unknown_dtype", g, cast, 0, IR_DTYPE_FLOAT,
                             &lo);
        CHECK(cast->n_operands == 2,
              "clip6_unknown_dtype: CastLike has "
              "%d operands",
              cast->n_operands);
        CHECK(cast->operands[1] == t,
              "clip6_unknown_dtype: CastLike does not take t's dtype");
        CHECK(clip->n_operands == 2,
              "clip6_unknown_dtype: Clip has %d "
              "operands",
              clip->n_operands);
        CHECK(clip->operands[1] == cast->results[0],
              "clip6_unknown_dtype: Clip min is not the CastLike result");
        CHECK(cast < clip, "clip6_unknown_dtype: CastLike after Clip");
    }
    ir_graph_free(g);
}

static void
test_softmax(void)
{
    static const struct {
        const char *file;
        enum ir_op_kind kind;
        int64_t axis;
        int64_t coerce_2d; /* -1: must be absent */
    } cases[] = {
        {"softmax11.onnx", IR_OP_SOFTMAX, 1, 1},
        {"logsoftmax11.onnx", IR_OP_LOG_SOFTMAX, 0, 1},
        {"softmax13.onnx", IR_OP_SOFTMAX, -1, -1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ir_graph *g = load(cases[i].file);
        if (!g)
            continue;
        const struct ir_op *op = single_op(cases[i].file, g, cases[i].kind, 1);
        if (op) {
            CHECK(ir_op_attr(op, "axis") != NULL, "%s: axis not explicit",
                  cases[i].file);
            CHECK(ir_op_int(op, "axis", 99) == cases[i].axis, "%s: axis %lld",
                  cases[i].file, (long long)ir_op_int(op, "axis", 99));
            if (cases[i].coerce_2d < 0)
                CHECK(ir_op_attr(op, "coerce_2d") == NULL, "%s: coerce_2d set",
                      cases[i].file);
            else
                CHECK(ir_op_int(op, "coerce_2d", 0) == cases[i].coerce_2d,
                      "%s: coerce_2d missing", cases[i].file);
        }
        ir_graph_free(g);
    }
}

static void
test_other_normalisation(void)
{
    struct ir_graph *g = load("pad2.onnx");
    if (g) {
        static const int64_t pads[] = {0, 1, 0, 1};
        const uint16_t value = 0x3e00; /* 1.5 in float16 */
        const struct ir_op *op = single_op("pad2", g, IR_OP_PAD, 3);
        if (op) {
            check_i64_operand("pad2", g, op, 1, pads, 4);
            check_scalar_operand("pad2", g, op, 2, IR_DTYPE_FLOAT16, &value);
            CHECK(strcmp(ir_op_string(op, "mode", ""), "constant") == 0,
                  "pad2: mode lost");
            CHECK(ir_op_attr(op, "pads") == NULL, "pad2: pads kept");
            CHECK(ir_op_attr(op, "value") == NULL, "pad2: value kept");
        }
        ir_graph_free(g);
    }

    g = load("topk1.onnx");
    if (g) {
        static const int64_t k[] = {2};
        const struct ir_op *op = single_op("topk1", g, IR_OP_TOPK, 2);
        if (op) {
            check_i64_operand("topk1", g, op, 1, k, 1);
            CHECK(op->n_results == 2, "topk1: %d results", op->n_results);
        }
        ir_graph_free(g);
    }

    g = load("reshape1.onnx");
    if (g) {
        static const int64_t shape[] = {4, 3};
        const struct ir_op *op = single_op("reshape1", g, IR_OP_RESHAPE, 2);
        if (op)
            check_i64_operand("reshape1", g, op, 1, shape, 2);
        ir_graph_free(g);
    }

    g = load("cast1.onnx");
    if (g) {
        const struct ir_op *op = single_op("cast1", g, IR_OP_CAST, 1);
        if (op)
            CHECK(ir_op_int(op, "to", -1) == IR_DTYPE_INT32,
                  "cast1: 'to' is not the INT32 dtype number");
        ir_graph_free(g);
    }

    g = load("add6_broadcast.onnx");
    if (g) {
        const struct ir_op *op = single_op("add6_broadcast", g, IR_OP_ADD, 2);
        if (op)
            CHECK(ir_op_attr(op, "broadcast") == NULL,
                  "add6_broadcast: broadcast kept");
        ir_graph_free(g);
    }

    /* b [3] along axis 0 of x [3,4] is b unsqueezed to [3,1]. */
    g = load("add6_axis.onnx");
    if (g) {
        static const int64_t axes[] = {1};
        CHECK(g->n_ops == 2, "add6_axis: %d ops, not 2", g->n_ops);
        const struct ir_op *unsq = find_op(g, IR_OP_UNSQUEEZE);
        const struct ir_op *add = find_op(g, IR_OP_ADD);
        CHECK(unsq != NULL, "add6_axis: no Unsqueeze op");
        CHECK(add != NULL, "add6_axis: no Add op");
        if (unsq && add) {
            CHECK(unsq == &g->ops[0], "add6_axis: Unsqueeze is not first");
            CHECK(unsq->operands[0] == ir_value_find(g, "b"),
                  "add6_axis: Unsqueeze does not read b");
            check_i64_operand("add6_axis", g, unsq, 1, axes, 1);
            CHECK(add->operands[1] == unsq->results[0],
                  "add6_axis: Add does not read the unsqueezed b");
            CHECK(add->n_attrs == 0, "add6_axis: attributes kept");
        }
        ir_graph_free(g);
    }
    expect_error("add6_axis_unknown_rank.onnx",
                 "legacy broadcasting along 'axis' (before opset 7) is not "
                 "supported when an operand's rank is unknown");
}

/* Value name must be a constant of dtype and shape with data want. */
static void
check_const(const struct ir_graph *g, const char *name, enum ir_dtype dtype,
            int rank, const int64_t *dims, const void *want, size_t nbytes)
{
    int32_t id = ir_value_find(g, name);
    CHECK(id != IR_NONE, "constant '%s' not found", name);
    if (id == IR_NONE)
        return;
    const struct ir_value *v = &g->values[id];
    CHECK(v->kind == IR_VALUE_CONST, "'%s' is not a constant", name);
    CHECK(v->dtype == dtype, "'%s' is %s, not %s", name,
          ir_dtype_name(v->dtype), ir_dtype_name(dtype));
    CHECK(v->shape.rank == rank, "'%s' has rank %d, not %d", name,
          v->shape.rank, rank);
    for (int i = 0; i < rank && i < v->shape.rank; i++) {
        CHECK(v->shape.dim[i] == dims[i], "'%s' dim %d is %lld, not %lld", name,
              i, (long long)v->shape.dim[i], (long long)dims[i]);
        CHECK(v->shape.sym[i] == -1, "'%s' dim %d is symbolic", name, i);
    }
    CHECK(v->nbytes == nbytes, "'%s' has %zu bytes, not %zu", name, v->nbytes,
          nbytes);
    if (v->nbytes == nbytes)
        CHECK(nbytes == 0 || memcmp(v->data, want, nbytes) == 0,
              "'%s' has the wrong data", name);
}

static void
test_initializers(void)
{
    struct ir_graph *g = load("initializers.onnx");
    if (!g)
        return;
    static const int64_t d23[] = {2, 3}, d3[] = {3}, d4[] = {4}, d2[] = {2},
                         d03[] = {0, 3};
    const float f32[] = {1.5f, -2.0f, 3.25f, 0.0f, 4.0f, -5.5f};
    const int64_t i64[] = {1, -2, (int64_t)1 << 40};
    const int32_t i32[] = {7, -8, 9, 2147483647};
    const uint8_t bools[] = {1, 0, 1};
    const double f64[] = {0.5, -1e300};
    const uint16_t f16[] = {0x3c00, 0xc100, 0x7bff};
    const uint8_t u8[] = {0, 200, 255};
    const int8_t i8[] = {-128, 0, 127};
    const float three = 3.0f;

    const char *forms[] = {"raw", "typed"};
    for (int i = 0; i < 2; i++) {
        char name[32];
        snprintf(name, sizeof(name), "f32_%s", forms[i]);
        check_const(g, name, IR_DTYPE_FLOAT, 2, d23, f32, sizeof(f32));
        snprintf(name, sizeof(name), "i64_%s", forms[i]);
        check_const(g, name, IR_DTYPE_INT64, 1, d3, i64, sizeof(i64));
        snprintf(name, sizeof(name), "i32_%s", forms[i]);
        check_const(g, name, IR_DTYPE_INT32, 1, d4, i32, sizeof(i32));
        snprintf(name, sizeof(name), "bool_%s", forms[i]);
        check_const(g, name, IR_DTYPE_BOOL, 1, d3, bools, sizeof(bools));
        snprintf(name, sizeof(name), "f64_%s", forms[i]);
        check_const(g, name, IR_DTYPE_DOUBLE, 1, d2, f64, sizeof(f64));
        snprintf(name, sizeof(name), "f16_%s", forms[i]);
        check_const(g, name, IR_DTYPE_FLOAT16, 1, d3, f16, sizeof(f16));
    }
    check_const(g, "u8_typed", IR_DTYPE_UINT8, 1, d3, u8, sizeof(u8));
    check_const(g, "i8_typed", IR_DTYPE_INT8, 1, d3, i8, sizeof(i8));
    check_const(g, "scalar", IR_DTYPE_FLOAT, 0, NULL, &three, sizeof(three));
    check_const(g, "empty", IR_DTYPE_FLOAT, 2, d03, NULL, 0);
    CHECK(g->n_outputs == 16, "initializers: %d outputs", g->n_outputs);
    CHECK(g->n_ops == 0, "initializers: %d ops", g->n_ops);
    ir_graph_free(g);

    g = load("input_initializer.onnx");
    if (g) {
        CHECK(g->n_inputs == 1, "input_initializer: %d inputs, not 1",
              g->n_inputs);
        int32_t w = ir_value_find(g, "w");
        CHECK(w != IR_NONE, "input_initializer: no value 'w'");
        if (w != IR_NONE)
            CHECK(g->values[w].kind == IR_VALUE_CONST,
                  "input_initializer: w is not a constant");
        ir_graph_free(g);
    }
}

static void
test_bad_initializers(void)
{
    expect_error("bad_raw_size.onnx",
                 "initializer 'w': raw_data has 20 bytes, but f32[2,3] "
                 "needs 24");
    expect_error("bad_typed_count.onnx",
                 "initializer 'w': float_data has 2 values, but f32[2,3] "
                 "needs 6");
    expect_error("bad_negative_dim.onnx",
                 "initializer 'w' has negative dim -3 at axis 1");
    expect_error("bad_string_tensor.onnx",
                 "string tensor; string constants are not supported");
    expect_error("bad_numel_overflow.onnx", "overflows");
    expect_error("bad_rank.onnx", "rank 9, more than the maximum 8");
}

static void
test_external_data(void)
{
    struct ir_graph *g = load("ext/ext_ok.onnx");
    if (g) {
        static const int64_t dims[] = {2, 3};
        const float w[] = {0, 1, 2, 3, 4, 5};
        check_const(g, "w", IR_DTYPE_FLOAT, 2, dims, w, sizeof(w));
        ir_graph_free(g);
    }
    expect_error("ext/ext_escape.onnx", "contains '..'");
    expect_error("ext/ext_absolute.onnx", "is an absolute path");
    expect_error("ext/ext_symlink.onnx", "outside the model's folder");
    expect_error("ext/ext_short.onnx", "too few for 24 bytes at offset 32");
    expect_error("ext/ext_missing.onnx", "cannot open external data file");

    /* From memory without a folder, external data is rejected. */
    char *path = model_path("ext/ext_ok.onnx");
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL, "cannot open %s", path);
    if (f) {
        uint8_t buf[4096];
        size_t n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        FILE *err = tmpfile();
        ir_set_error_stream(err);
        g = fe_load_model_buffer(buf, n, NULL, "ext_ok in memory");
        ir_set_error_stream(NULL);
        char text[1024] = "";
        rewind(err);
        text[fread(text, 1, sizeof(text) - 1, err)] = 0;
        fclose(err);
        CHECK(g == NULL, "ext_ok from memory: loaded without a folder");
        CHECK(strstr(text, "external data is not allowed") != NULL,
              "ext_ok from memory: error \"%s\"", text);
        ir_graph_free(g);
    }
    free(path);
}

static void
test_inputs_outputs(void)
{
    struct ir_graph *g = load("inputs_symbolic.onnx");
    if (g && g->n_inputs != 1) {
        CHECK(0, "inputs_symbolic: %d inputs, not 1", g->n_inputs);
    } else if (g) {
        const struct ir_value *x = &g->values[g->inputs[0]];
        CHECK(x->kind == IR_VALUE_INPUT, "x is not an input");
        CHECK(x->dtype == IR_DTYPE_FLOAT, "x is %s", ir_dtype_name(x->dtype));
        CHECK(x->shape.rank == 3, "x has rank %d", x->shape.rank);
        CHECK(x->shape.sym[0] >= 0, "x dim 0 is not symbolic");
        if (x->shape.sym[0] >= 0)
            CHECK(strcmp(g->syms[x->shape.sym[0]], "batch") == 0,
                  "x dim 0 is '%s', not 'batch'", g->syms[x->shape.sym[0]]);
        CHECK(x->shape.sym[1] == -1, "x dim 1 is symbolic");
        CHECK(x->shape.dim[1] == 3, "x dim 1 is %lld, not 3",
              (long long)x->shape.dim[1]);
        CHECK(x->shape.sym[2] >= 0, "x dim 2 is not symbolic");
        if (x->shape.sym[2] >= 0)
            CHECK(strcmp(g->syms[x->shape.sym[2]], "unk__x_2") == 0,
                  "x dim 2 is '%s', not the fresh symbol 'unk__x_2'",
                  g->syms[x->shape.sym[2]]);
        CHECK(g->n_outputs == 2, "inputs_symbolic: %d outputs", g->n_outputs);
        if (g->n_outputs == 2)
            CHECK(g->outputs[0] == g->outputs[1],
                  "inputs_symbolic: the twice-listed output differs");
    }
    ir_graph_free(g);

    g = load("optional_input.onnx");
    if (g) {
        const struct ir_op *op = single_op("optional_input", g, IR_OP_CLIP, 3);
        if (op) {
            CHECK(op->operands[1] == IR_NONE, "optional_input: min is set");
            CHECK(op->operands[2] == ir_value_find(g, "hi"),
                  "optional_input: max is not 'hi'");
        }
        ir_graph_free(g);
    }

    g = load("declared_dtype.onnx");
    if (g) {
        int32_t t = ir_value_find(g, "t"), y = ir_value_find(g, "y");
        CHECK(t != IR_NONE, "declared_dtype: no value 't'");
        CHECK(y != IR_NONE, "declared_dtype: no value 'y'");
        if (t != IR_NONE)
            CHECK(g->values[t].dtype == IR_DTYPE_DOUBLE,
                  "declared_dtype: value_info dtype of t not kept");
        if (y != IR_NONE) {
            CHECK(g->values[y].dtype == IR_DTYPE_DOUBLE,
                  "declared_dtype: output dtype of y not kept");
            CHECK(g->values[y].shape.rank == -1,
                  "declared_dtype: the declared output shape was trusted");
        }
        const struct ir_op *clip = find_op(g, IR_OP_CLIP);
        const double one = 1.0;
        if (clip)
            check_scalar_operand("declared_dtype", g, clip, 1, IR_DTYPE_DOUBLE,
                                 &one);
        ir_graph_free(g);
    }
}

static void
test_graph_structure(void)
{
    struct ir_graph *g = load("unsorted.onnx");
    if (g) {
        CHECK(g->n_ops == 3, "unsorted: %d ops", g->n_ops);
        if (g->n_ops == 3) {
            CHECK(g->ops[0].kind == IR_OP_ABS, "unsorted: op 0 is not Abs");
            CHECK(g->ops[1].kind == IR_OP_RELU, "unsorted: op 1 is not Relu");
            CHECK(g->ops[2].kind == IR_OP_NEG, "unsorted: op 2 is not Neg");
        }
        ir_graph_free(g);
    }
    expect_error("cycle.onnx", "cycle");
    expect_error("undefined_input.onnx", "input 1 reads 'nope'");
    expect_error("undefined_input.onnx", "node 'adder'");
    expect_error("duplicate_output.onnx",
                 "output 'y' is already defined by an earlier node");
    expect_error("undefined_output.onnx", "graph output 'z' is not defined");
    expect_error("no_outputs.onnx", "the graph has no outputs");
    expect_error("bad_arity.onnx",
                 "Relu node 'two_in' (opset 13): has 2 inputs, but Relu "
                 "takes exactly 1");
    expect_error("missing_required.onnx",
                 "Add node 'half_add' (opset 13): input 1 is required");
}

/* The body graph that op's graph attribute name refers to, or NULL. */
static const struct ir_graph *
body_of(const struct ir_graph *g, const struct ir_op *op, const char *name)
{
    const struct ir_attr *a = ir_op_attr(op, name);
    if (!a || a->kind != IR_ATTR_GRAPH || a->graph < 0 ||
        a->graph >= g->n_bodies)
        return NULL;
    return g->bodies[a->graph];
}

static void
test_if_bodies(void)
{
    struct ir_graph *g = load("if_capture.onnx");
    if (!g)
        return;
    CHECK(g->n_ops == 1, "if_capture: %d ops", g->n_ops);
    const struct ir_op *op = &g->ops[0];
    CHECK(op->kind == IR_OP_IF, "if_capture: op 0 is not If");
    /* cond, then the then branch's x and w, then the else branch's x. */
    CHECK(op->n_operands == 4, "if_capture: %d operands", op->n_operands);
    CHECK(ir_op_int(op, "captured", -1) == 3, "if_capture: captured is %lld",
          (long long)ir_op_int(op, "captured", -1));
    CHECK(g->n_bodies == 2, "if_capture: %d bodies", g->n_bodies);
    int32_t x = ir_value_find(g, "x"), w = ir_value_find(g, "w");
    if (op->n_operands == 4) {
        CHECK(op->operands[1] == x, "if_capture: operand 1 is not x");
        CHECK(op->operands[2] == w, "if_capture: operand 2 is not w");
        CHECK(op->operands[3] == x, "if_capture: operand 3 is not x");
    }
    const struct ir_graph *then_body = body_of(g, op, "then_branch");
    CHECK(then_body != NULL, "if_capture: no then_branch body");
    if (then_body) {
        CHECK(then_body->n_inputs == 2, "then_branch: %d inputs",
              then_body->n_inputs);
        CHECK(then_body->n_ops == 1, "then_branch: %d ops", then_body->n_ops);
        CHECK(then_body->n_outputs == 1, "then_branch: %d outputs",
              then_body->n_outputs);
    }
    CHECK(body_of(g, op, "else_branch") != NULL, "if_capture: no else body");
    ir_graph_free(g);
}

static void
test_loop_bodies(void)
{
    struct ir_graph *g = load("loop_nested_capture.onnx");
    if (!g)
        return;
    CHECK(g->n_ops == 1, "loop_nested_capture: %d ops", g->n_ops);
    const struct ir_op *op = &g->ops[0];
    CHECK(op->kind == IR_OP_LOOP, "loop_nested_capture: op 0 is not Loop");
    /* M, an omitted cond, the initial acc, then x for the inner If. */
    CHECK(op->n_operands == 4, "loop: %d operands", op->n_operands);
    if (op->n_operands == 4) {
        CHECK(op->operands[1] == IR_NONE, "loop: cond is not omitted");
        CHECK(op->operands[3] == ir_value_find(g, "x"),
              "loop: operand 3 is not x");
    }
    const struct ir_graph *body = body_of(g, op, "body");
    CHECK(body != NULL, "loop: no body");
    if (body) {
        /* i, cond, acc and the captured x. */
        CHECK(body->n_inputs == 4, "loop body: %d inputs", body->n_inputs);
        CHECK(body->n_outputs == 2, "loop body: %d outputs", body->n_outputs);
        const struct ir_op *inner = NULL;
        for (int32_t i = 0; i < body->n_ops; i++)
            if (body->ops[i].kind == IR_OP_IF)
                inner = &body->ops[i];
        CHECK(inner != NULL, "loop body: no If");
        /* The inner If's cond, then acc and x for each of its branches. */
        if (inner)
            CHECK(inner->n_operands == 5, "inner If: %d operands",
                  inner->n_operands);
    }
    /* Both branches of the inner If and the body itself. */
    CHECK(g->n_bodies == 3, "loop: %d bodies", g->n_bodies);
    ir_graph_free(g);

    expect_error("if_undefined_name.onnx", "reads 'nope'");
    expect_error("if_undefined_name.onnx", "If node 'broken'");
    expect_error("scan.onnx", "unsupported operator 'Scan'");
}

static void
test_constants(void)
{
    struct ir_graph *g = load("constants.onnx");
    if (g) {
        static const int64_t d2[] = {2}, d3[] = {3};
        const int32_t tensor[] = {1, 2};
        const float f = 2.5f, fs[] = {1, 2, 3};
        const int64_t i = -7, is[] = {4, 5};
        check_const(g, "c_tensor", IR_DTYPE_INT32, 1, d2, tensor,
                    sizeof(tensor));
        check_const(g, "c_float", IR_DTYPE_FLOAT, 0, NULL, &f, sizeof(f));
        check_const(g, "c_floats", IR_DTYPE_FLOAT, 1, d3, fs, sizeof(fs));
        check_const(g, "c_int", IR_DTYPE_INT64, 0, NULL, &i, sizeof(i));
        check_const(g, "c_ints", IR_DTYPE_INT64, 1, d2, is, sizeof(is));
        const struct ir_op *add = single_op("constants", g, IR_OP_ADD, 2);
        if (add) {
            CHECK(add->operands[0] == ir_value_find(g, "c_float"),
                  "constants: Add operand 0 is not c_float");
            CHECK(add->operands[1] == ir_value_find(g, "c_floats"),
                  "constants: Add operand 1 is not c_floats");
        }
        ir_graph_free(g);
    }
    expect_error("constant_string.onnx", "string constants are not "
                                         "supported");
    expect_error("constant_sparse.onnx", "sparse constants are not "
                                         "supported");

    g = load("tensor_attr.onnx");
    if (g) {
        const struct ir_op *op =
            single_op("tensor_attr", g, IR_OP_CONSTANT_OF_SHAPE, 1);
        const struct ir_attr *a = op ? ir_op_attr(op, "value") : NULL;
        CHECK(a != NULL, "tensor_attr: no attribute 'value'");
        if (a)
            CHECK(a->kind == IR_ATTR_TENSOR,
                  "tensor_attr: 'value' is not a tensor attribute");
        if (a && a->kind == IR_ATTR_TENSOR) {
            const struct ir_value *v = &g->values[a->tensor];
            CHECK(v->kind == IR_VALUE_CONST, "tensor_attr: not a constant");
            CHECK(v->dtype == IR_DTYPE_FLOAT, "tensor_attr: dtype %s",
                  ir_dtype_name(v->dtype));
            CHECK(v->nbytes == 4, "tensor_attr: %zu bytes", v->nbytes);
            if (v->nbytes == 4)
                CHECK(*(float *)v->data == 0.5f,
                      "tensor_attr: the value is %g, not 0.5",
                      *(float *)v->data);
        }
        ir_graph_free(g);
    }
}

static void
test_unsupported(void)
{
    expect_error("unsupported_op.onnx",
                 "unsupported operator 'StringNormalizer' (domain '', opset "
                 "13) in node 'sn'");
    expect_error("unsupported_domain.onnx",
                 "unsupported operator 'FusedGemm' (domain 'com.microsoft', "
                 "opset 1) in node 'fg'");
    expect_error("graph_attr.onnx", "attribute 'body' is a subgraph");
}

static float
scalar_f32(const struct ir_graph *g, int32_t v)
{
    if (v == IR_NONE || g->values[v].kind != IR_VALUE_CONST ||
        g->values[v].nbytes != 4)
        return -1000.0f;
    return *(float *)g->values[v].data;
}

static void
test_functions(void)
{
    struct ir_graph *g = load("function.onnx");
    if (g) {
        static const enum ir_op_kind kinds[] = {
            IR_OP_MUL,        IR_OP_ADD,        IR_OP_LEAKY_RELU, IR_OP_MUL,
            IR_OP_ADD,        IR_OP_LEAKY_RELU, IR_OP_MUL,        IR_OP_ADD,
            IR_OP_LEAKY_RELU, IR_OP_IDENTITY};
        static const float k[] = {2.0f, 1.0f, 3.0f};
        static const double alpha[] = {0.5, 0.25, 0.25};
        CHECK(g->n_ops == 10, "function: %d ops, not 10", g->n_ops);
        for (int i = 0; i < 10 && i < g->n_ops; i++)
            CHECK(g->ops[i].kind == kinds[i], "function: op %d is %s", i,
                  ir_op_kind_name(g->ops[i].kind));
        for (int c = 0; c < 3 && g->n_ops == 10; c++) {
            const struct ir_op *mul = &g->ops[3 * c];
            const struct ir_op *relu = &g->ops[3 * c + 2];
            CHECK(scalar_f32(g, mul->operands[1]) == k[c],
                  "function: call %d multiplies by %g, not %g", c,
                  scalar_f32(g, mul->operands[1]), k[c]);
            CHECK(ir_op_float(relu, "alpha", -1) == alpha[c],
                  "function: call %d has alpha %g, not %g", c,
                  ir_op_float(relu, "alpha", -1), alpha[c]);
            CHECK(mul->opset == 13, "function: body op opset %d", mul->opset);
        }
        int32_t y1 = ir_value_find(g, "y1"), y3 = ir_value_find(g, "y3");
        if (g->n_ops == 10) {
            CHECK(g->ops[2].results[0] == y1,
                  "function: y1 is not the first call's result");
            CHECK(g->ops[9].operands[0] == y1,
                  "function: the Identity does not read y1");
            CHECK(g->ops[9].results[0] == y3,
                  "function: the Identity does not define y3");
            CHECK(g->ops[7].operands[0] == g->ops[5].results[0],
                  "function: the second inner call does not read the "
                  "first");
        }
        CHECK(g->n_outputs == 3, "function: %d outputs", g->n_outputs);
        bool unique = true;
        for (int32_t a = 0; a < g->n_values; a++)
            for (int32_t b = a + 1; b < g->n_values; b++)
                if (strcmp(g->values[a].name, g->values[b].name) == 0)
                    unique = false;
        CHECK(unique, "function: two values share a name");
        ir_graph_free(g);
    }
    expect_error("function_recursive.onnx", "nest more than 64 deep");
}

static void
test_broken_files(void)
{
    expect_error("truncated.onnx", "is not a valid ONNX model: protobuf");
    expect_error("random.onnx", "is not a valid ONNX model");
    expect_error("empty.onnx", "is not a valid ONNX model: the file is "
                               "empty");
    expect_error("no_graph.onnx", "is not a valid ONNX model: it has no "
                                  "graph");
    expect_error("does_not_exist.onnx", "cannot open");
}

/* Every prefix and many one-byte corruptions of a model load or fail
 * cleanly; a crash fails the whole test. */
static void
test_corrupt_models(void)
{
    char *path = model_path("function.onnx");
    FILE *f = fopen(path, "rb");
    free(path);
    CHECK(f != NULL, "cannot open function.onnx");
    if (!f)
        return;
    uint8_t data[8192], copy[8192];
    size_t n = fread(data, 1, sizeof(data), f);
    fclose(f);

    FILE *sink = fopen("/dev/null", "w");
    ir_set_error_stream(sink);
    int loaded = 0;
    for (size_t len = 0; len < n; len++) {
        struct ir_graph *g = fe_load_model_buffer(data, len, NULL, "prefix");
        loaded += g != NULL;
        ir_graph_free(g);
    }
    uint32_t state = 12345;
    for (int i = 0; i < 3000; i++) {
        memcpy(copy, data, n);
        state = state * 1664525u + 1013904223u;
        size_t at = (state >> 8) % n;
        state = state * 1664525u + 1013904223u;
        copy[at] ^= (uint8_t)(1 + (state >> 24) % 255);
        ir_graph_free(fe_load_model_buffer(copy, n, NULL, "corrupt"));
    }
    ir_set_error_stream(NULL);
    fclose(sink);
    CHECK(loaded < (int)n, "corrupt: every prefix loaded");
}

static void
test_tensor_file(void)
{
    char *path = model_path("tensor.pb");
    enum ir_dtype dtype;
    struct ir_shape shape;
    void *data = NULL;
    size_t nbytes = 0;
    char *name = NULL;
    int rc = fe_load_tensor_file(path, &dtype, &shape, &data, &nbytes, &name);
    CHECK(rc == 0, "tensor.pb: loading failed");
    if (rc == 0) {
        const int64_t want[] = {1, 2, 3, 4};
        CHECK(dtype == IR_DTYPE_INT64, "tensor.pb: dtype %s",
              ir_dtype_name(dtype));
        CHECK(shape.rank == 2, "tensor.pb: rank %d, not 2", shape.rank);
        CHECK(shape.dim[0] == 2, "tensor.pb: dim 0 is not 2");
        CHECK(shape.dim[1] == 2, "tensor.pb: dim 1 is not 2");
        CHECK(nbytes == sizeof(want), "tensor.pb: %zu bytes", nbytes);
        if (nbytes == sizeof(want))
            CHECK(memcmp(data, want, nbytes) == 0, "tensor.pb: wrong data");
        CHECK(name != NULL, "tensor.pb: no name");
        if (name)
            CHECK(strcmp(name, "tensor_name") == 0,
                  "tensor.pb: name is '%s', not 'tensor_name'", name);
    }
    free(data);
    free(name);
    free(path);

    path = model_path("empty.onnx");
    FILE *err = tmpfile();
    ir_set_error_stream(err);
    rc = fe_load_tensor_file(path, &dtype, &shape, &data, &nbytes, NULL);
    ir_set_error_stream(NULL);
    fclose(err);
    CHECK(rc == -1, "empty tensor file: loaded");
    free(path);
}

int
main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODEL_DIR\n", argv[0]);
        return 2;
    }
    model_dir = argv[1];
    test_axes_normalisation();
    test_split_slice();
    test_clip();
    test_clip_unknown_dtype();
    test_softmax();
    test_other_normalisation();
    test_initializers();
    test_bad_initializers();
    test_external_data();
    test_inputs_outputs();
    test_graph_structure();
    test_if_bodies();
    test_loop_bodies();
    test_constants();
    test_unsupported();
    test_functions();
    test_broken_files();
    test_corrupt_models();
    test_tensor_file();
    printf("%d passed, %d failed\n", n_passed, n_failed);
    return n_failed ? 1 : 0;
}
