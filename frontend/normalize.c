/*
 * Opset normalisation: rewrite each op into one IR form, so the passes
 * need not know each opset's form of an op.  Where a later opset turned an
 * attribute into an input, an older op's attribute becomes a constant operand:
 *
 *   Squeeze, Unsqueeze, ReduceSum (before 13)  axes -> int64 operand 1
 *   ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceL1, ReduceL2,
 *     ReduceLogSum, ReduceLogSumExp, ReduceSumSquare (before 18)
 *                                              axes -> int64 operand 1
 *   Split (before 13)                          split -> int64 operand 1
 *   Slice (before 10)                          starts, ends, axes -> 1, 2, 3
 *   Clip (before 11)                           min, max -> operands 1, 2
 *   Pad (before 11)                            pads (paddings in Pad-1) ->
 *                                              operand 1, value -> operand 2
 *   TopK (before 10)                           k -> int64 [1] operand 1
 *   Reshape (before 5)                         shape -> int64 operand 1
 *   Dropout (before 12)                        ratio -> operand 1, and
 *                                              is_test (before 7) dropped
 *
 * and other opset differences disappear:
 *
 *   Softmax, LogSoftmax, Hardmax               axis always set (default 1
 *                                              before 13, -1 from 13);
 *                                              before 13 also coerce_2d = 1,
 *                                              the flatten-to-2-D semantics
 *   Cast (before 6)                            to: type name -> dtype number
 *   Concat (before 4)                          axis always set (default 1)
 *   Add, Sub, Mul, Div, Pow, And, Or, Xor, Equal, Greater, Less, Gemm
 *     (before 7)                               broadcast and axis dropped,
 *                                              with an Unsqueeze of operand
 *                                              1 where axis needs one
 *   PRelu (before 7)                           a 1-D per-channel slope is
 *                                              unsqueezed to line up with
 *                                              axis 1
 *   any op before 7                            consumed_inputs dropped
 *
 * A constant made here is named "<op name>/<attribute>".  The bounds of Clip
 * and the pad value of Pad take the data operand's dtype, through a
 * CastLike op when that dtype is unknown at load time.
 */
#include "loader.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Remove attribute name from op, if it is there. */
static void
remove_attr(struct ir_op *op, const char *name)
{
    for (int i = 0; i < op->n_attrs; i++) {
        struct ir_attr *a = &op->attrs[i];
        if (strcmp(a->name, name) != 0)
            continue;
        free(a->name);
        free(a->s);
        free(a->ints);
        free(a->floats);
        for (int k = 0; a->strings && k < a->n; k++)
            free(a->strings[k]);
        free(a->strings);
        memmove(a, a + 1, sizeof(*a) * (size_t)(op->n_attrs - i - 1));
        op->n_attrs--;
        return;
    }
}

/* Set operand index of op to v, adding omitted operands before it. */
static void
set_operand(struct ir_op *op, int index, int32_t v)
{
    if (index >= op->n_operands) {
        op->operands =
            ir_xrealloc(op->operands, sizeof(int32_t) * (size_t)(index + 1));
        for (int i = op->n_operands; i < index; i++)
            op->operands[i] = IR_NONE;
        op->n_operands = index + 1;
    }
    op->operands[index] = v;
}

static int32_t
add_constant(struct fe_loader *ld, int32_t op_id, const char *label,
             enum ir_dtype dtype, const struct ir_shape *shape,
             const void *data, size_t nbytes)
{
    const char *op_name = ld->g->ops[op_id].name;
    size_t size = strlen(op_name) + strlen(label) + 2;
    char *base = ir_xmalloc(size);
    snprintf(base, size, "%s/%s", op_name, label);
    char *name = fe_unique_name(ld, base);
    int32_t v = ir_const_add(ld->g, name, dtype, shape, data, nbytes);
    fe_mark_defined(ld, v);
    free(base);
    free(name);
    return v;
}

/* A 1-D int64 constant holding the values of an INTS attribute. */
static int32_t
ints_constant(struct fe_loader *ld, int32_t op_id, const struct ir_attr *a)
{
    int64_t n = a->kind == IR_ATTR_INTS ? a->n : 1;
    const int64_t *values = a->kind == IR_ATTR_INTS ? a->ints : &a->i;
    struct ir_shape shape = ir_shape_make(1, &n);
    return add_constant(ld, op_id, a->name, IR_DTYPE_INT64, &shape, values,
                        sizeof(int64_t) * (size_t)n);
}

/*
 * Make a scalar of the data operand's dtype whose value is value.  When that
 * dtype is known at load time it is a constant.  Otherwise it is a float32
 * constant cast by a CastLike of the data operand, which constant folding
 * resolves once dtypes are inferred.
 */
static int32_t
scalar_like_data(struct fe_loader *ld, int32_t op_id, const char *label,
                 double value)
{
    struct ir_graph *g = ld->g;
    int32_t x =
        g->ops[op_id].n_operands > 0 ? g->ops[op_id].operands[0] : IR_NONE;
    enum ir_dtype dtype =
        x == IR_NONE ? IR_DTYPE_UNDEFINED : g->values[x].dtype;
    bool known = ir_dtype_is_float(dtype);
    if (!known)
        dtype = IR_DTYPE_FLOAT;
    double bytes[1];
    fe_float_to_dtype(value, dtype, bytes);
    struct ir_shape shape = ir_shape_make(0, NULL);
    int32_t c = add_constant(ld, op_id, label, dtype, &shape, bytes,
                             ir_dtype_size(dtype));
    if (known || x == IR_NONE)
        return c;

    size_t size = strlen(g->ops[op_id].name) + strlen(label) + 8;
    char *base = ir_xmalloc(size);
    snprintf(base, size, "%s/%s_cast", g->ops[op_id].name, label);
    char *name = fe_unique_name(ld, base);
    int32_t r =
        ir_value_add(g, name, IR_VALUE_RESULT, IR_DTYPE_UNDEFINED, NULL);
    fe_mark_defined(ld, r);
    int32_t operands[2] = {c, x};
    /* ir_op_add may move the ops array, so callers fetch op again.  The
     * toposort at the end puts the new op before its reader. */
    ir_op_add(g, IR_OP_CAST_LIKE, name, g->ops[op_id].opset, operands, 2, &r,
              1);
    free(base);
    free(name);
    return r;
}

/*
 * Move the INTS (or INT) attribute name to operand index as an int64
 * constant.  Returns 1 if it was there, 0 if not, -1 after an error.
 */
static int
attr_to_operand(struct fe_loader *ld, int32_t op_id, const char *name,
                int index)
{
    struct ir_op *op = &ld->g->ops[op_id];
    const struct ir_attr *a = ir_op_attr(op, name);
    if (!a)
        return 0;
    if (a->kind != IR_ATTR_INTS && a->kind != IR_ATTR_INT)
        return ir_error(ld->g, op, IR_NONE,
                        "attribute '%s' must be a list "
                        "of ints",
                        name);
    if (index < op->n_operands && op->operands[index] != IR_NONE)
        return ir_error(ld->g, op, IR_NONE,
                        "has both attribute '%s' and "
                        "input %d, which mean the same",
                        name, index);
    int32_t v = ints_constant(ld, op_id, a);
    op = &ld->g->ops[op_id];
    set_operand(op, index, v);
    remove_attr(op, name);
    return 1;
}

static int
axes_to_operand(struct fe_loader *ld, int32_t op_id)
{
    int rc = attr_to_operand(ld, op_id, "axes", 1);
    struct ir_op *op = &ld->g->ops[op_id];
    if (rc == 0 && op->kind == IR_OP_UNSQUEEZE && op->n_operands < 2)
        return ir_error(ld->g, op, IR_NONE,
                        "missing the 'axes' "
                        "attribute");
    return rc < 0 ? -1 : 0;
}

static int
split_to_operand(struct fe_loader *ld, int32_t op_id)
{
    return attr_to_operand(ld, op_id, "split", 1) < 0 ? -1 : 0;
}

static int
slice_to_operands(struct fe_loader *ld, int32_t op_id)
{
    struct ir_op *op = &ld->g->ops[op_id];
    const struct ir_attr *starts = ir_op_attr(op, "starts");
    const struct ir_attr *ends = ir_op_attr(op, "ends");
    const struct ir_attr *axes = ir_op_attr(op, "axes");
    if (!starts || !ends)
        return ir_error(ld->g, op, IR_NONE,
                        "missing the 'starts' or "
                        "'ends' attribute");
    if (starts->n != ends->n || (axes && axes->n != starts->n))
        return ir_error(ld->g, op, IR_NONE,
                        "attributes 'starts', 'ends' "
                        "and 'axes' differ in length");
    if (attr_to_operand(ld, op_id, "starts", 1) < 0 ||
        attr_to_operand(ld, op_id, "ends", 2) < 0 ||
        attr_to_operand(ld, op_id, "axes", 3) < 0)
        return -1;
    return 0;
}

static int
clip_to_operands(struct fe_loader *ld, int32_t op_id)
{
    static const char *names[2] = {"min", "max"};
    for (int i = 0; i < 2; i++) {
        const struct ir_attr *a = ir_op_attr(&ld->g->ops[op_id], names[i]);
        if (!a)
            continue;
        if (a->kind != IR_ATTR_FLOAT)
            return ir_error(ld->g, &ld->g->ops[op_id], IR_NONE,
                            "attribute '%s' must be a float", names[i]);
        int32_t v = scalar_like_data(ld, op_id, names[i], a->f);
        struct ir_op *op = &ld->g->ops[op_id];
        set_operand(op, 1 + i, v);
        remove_attr(op, names[i]);
    }
    return 0;
}

static int
pad_to_operands(struct fe_loader *ld, int32_t op_id)
{
    struct ir_op *op = &ld->g->ops[op_id];
    /* Pad-1 calls the pads "paddings", with the same layout. */
    const char *pads = ir_op_attr(op, "pads") ? "pads" : "paddings";
    if (!ir_op_attr(op, pads))
        return ir_error(ld->g, op, IR_NONE, "missing the 'pads' attribute");
    if (attr_to_operand(ld, op_id, pads, 1) < 0)
        return -1;
    op = &ld->g->ops[op_id];
    const struct ir_attr *value = ir_op_attr(op, "value");
    if (value) {
        if (value->kind != IR_ATTR_FLOAT)
            return ir_error(ld->g, op, IR_NONE,
                            "attribute 'value' must be "
                            "a float");
        int32_t v = scalar_like_data(ld, op_id, "value", value->f);
        op = &ld->g->ops[op_id];
        set_operand(op, 2, v);
        remove_attr(op, "value");
    }
    return 0;
}

static int
topk_to_operand(struct fe_loader *ld, int32_t op_id)
{
    struct ir_op *op = &ld->g->ops[op_id];
    const struct ir_attr *k = ir_op_attr(op, "k");
    if (!k || k->kind != IR_ATTR_INT)
        return ir_error(ld->g, op, IR_NONE, "missing the int attribute 'k'");
    return attr_to_operand(ld, op_id, "k", 1) < 0 ? -1 : 0;
}

static int
reshape_to_operand(struct fe_loader *ld, int32_t op_id)
{
    int rc = attr_to_operand(ld, op_id, "shape", 1);
    if (rc == 0 && ld->g->ops[op_id].n_operands < 2)
        return ir_error(ld->g, &ld->g->ops[op_id], IR_NONE,
                        "missing the 'shape' attribute");
    return rc < 0 ? -1 : 0;
}

static int
dropout_to_operand(struct fe_loader *ld, int32_t op_id)
{
    struct ir_op *op = &ld->g->ops[op_id];
    remove_attr(op, "is_test");
    const struct ir_attr *ratio = ir_op_attr(op, "ratio");
    if (!ratio)
        return 0;
    if (ratio->kind != IR_ATTR_FLOAT)
        return ir_error(ld->g, op, IR_NONE,
                        "attribute 'ratio' must be a "
                        "float");
    float value = (float)ratio->f;
    struct ir_shape shape = ir_shape_make(0, NULL);
    int32_t v = add_constant(ld, op_id, "ratio", IR_DTYPE_FLOAT, &shape, &value,
                             sizeof(value));
    op = &ld->g->ops[op_id];
    set_operand(op, 1, v);
    remove_attr(op, "ratio");
    return 0;
}

static int
softmax_axis(struct fe_loader *ld, int32_t op_id)
{
    struct ir_op *op = &ld->g->ops[op_id];
    bool old = op->opset < 13;
    ir_op_set_int(op, "axis", ir_op_int(op, "axis", old ? 1 : -1));
    if (old)
        ir_op_set_int(op, "coerce_2d", 1);
    return 0;
}

/* Cast-1 names the target type as a TensorProto.DataType string. */
static int
cast_type_name(struct fe_loader *ld, int32_t op_id)
{
    static const struct {
        const char *name;
        enum ir_dtype dtype;
    } types[] = {
        {"FLOAT", IR_DTYPE_FLOAT},     {"UINT8", IR_DTYPE_UINT8},
        {"INT8", IR_DTYPE_INT8},       {"UINT16", IR_DTYPE_UINT16},
        {"INT16", IR_DTYPE_INT16},     {"INT32", IR_DTYPE_INT32},
        {"INT64", IR_DTYPE_INT64},     {"BOOL", IR_DTYPE_BOOL},
        {"FLOAT16", IR_DTYPE_FLOAT16}, {"DOUBLE", IR_DTYPE_DOUBLE},
        {"UINT32", IR_DTYPE_UINT32},   {"UINT64", IR_DTYPE_UINT64},
    };
    struct ir_op *op = &ld->g->ops[op_id];
    const char *to = ir_op_string(op, "to", NULL);
    if (!to)
        return 0;
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (strcasecmp(to, types[i].name) == 0) {
            ir_op_set_int(op, "to", types[i].dtype);
            return 0;
        }
    }
    return ir_error(ld->g, op, IR_NONE,
                    "attribute 'to' names type '%s', "
                    "which is not supported",
                    to);
}

static int
concat_axis(struct fe_loader *ld, int32_t op_id)
{
    struct ir_op *op = &ld->g->ops[op_id];
    ir_op_set_int(op, "axis", ir_op_int(op, "axis", 1));
    return 0;
}

/*
 * Before opset 7, broadcasting was off unless broadcast = 1, and then the
 * second operand's shape had to match a contiguous run of the first's,
 * starting at axis, or ending at the last axis when axis is absent.  Where
 * the run ends at the last axis this is numpy broadcasting restricted to
 * valid cases, so only the attributes go.  Otherwise an Unsqueeze appends
 * size-1 dims to the second operand until its run does end there.
 */
static int
legacy_broadcast(struct fe_loader *ld, int32_t op_id)
{
    struct ir_graph *g = ld->g;
    struct ir_op *op = &g->ops[op_id];
    const struct ir_attr *axis = ir_op_attr(op, "axis");
    bool along_axis =
        op->kind != IR_OP_GEMM && axis && ir_op_int(op, "broadcast", 0) != 0;
    if (!along_axis || op->n_operands != 2 || op->operands[1] == IR_NONE) {
        remove_attr(op, "broadcast");
        if (op->kind != IR_OP_GEMM)
            remove_attr(op, "axis");
        return 0;
    }

    int rank_a =
        op->operands[0] == IR_NONE ? -1 : g->values[op->operands[0]].shape.rank;
    int rank_b = g->values[op->operands[1]].shape.rank;
    int64_t start = ir_op_int(op, "axis", 0);
    /* NOTE: only operands whose rank the model states (graph inputs and
     * constants) can be aligned here. */
    if (rank_a < 0 || rank_b < 0)
        return ir_error(g, op, IR_NONE,
                        "legacy broadcasting along 'axis' "
                        "(before opset 7) is not supported when an operand's "
                        "rank is unknown at load time");
    if (start < 0 || start + rank_b > rank_a)
        return ir_error(g, op, IR_NONE,
                        "legacy broadcasting: axis %lld "
                        "does not fit a rank-%d operand into rank %d",
                        (long long)start, rank_b, rank_a);
    int n_new = rank_a - (int)start - rank_b;
    if (n_new > 0) {
        int64_t axes[IR_MAX_RANK];
        for (int i = 0; i < n_new; i++)
            axes[i] = rank_b + i;
        int64_t n = n_new;
        struct ir_shape shape = ir_shape_make(1, &n);
        int32_t axes_v =
            add_constant(ld, op_id, "broadcast_axes", IR_DTYPE_INT64, &shape,
                         axes, sizeof(int64_t) * (size_t)n_new);
        size_t size = strlen(g->ops[op_id].name) + 16;
        char *base = ir_xmalloc(size);
        snprintf(base, size, "%s/unsqueezed", g->ops[op_id].name);
        char *name = fe_unique_name(ld, base);
        int32_t result = ir_value_add(g, name, IR_VALUE_RESULT,
                                      g->values[op->operands[1]].dtype, NULL);
        fe_mark_defined(ld, result);
        int32_t operands[2] = {op->operands[1], axes_v};
        /* ir_op_add may move the ops array, and the toposort at the end
         * puts the new op before its reader. */
        ir_op_add(g, IR_OP_UNSQUEEZE, name, op->opset, operands, 2, &result, 1);
        free(base);
        free(name);
        op = &g->ops[op_id];
        op->operands[1] = result;
    }
    remove_attr(op, "broadcast");
    remove_attr(op, "axis");
    return 0;
}

/*
 * PRelu before opset 7 applied a 1-D slope of one value per channel along
 * axis 1, as PyTorch exports it; numpy broadcasting would align it with
 * the last axis instead.  Such a slope is aligned with axis 1 here.
 */
static int
prelu_channel_slope(struct fe_loader *ld, int32_t op_id)
{
    struct ir_graph *g = ld->g;
    struct ir_op *op = &g->ops[op_id];
    if (op->n_operands != 2 || op->operands[0] == IR_NONE ||
        op->operands[1] == IR_NONE)
        return 0;
    const struct ir_shape *x = &g->values[op->operands[0]].shape;
    const struct ir_shape *slope = &g->values[op->operands[1]].shape;
    if (x->rank < 3 || slope->rank != 1 || slope->sym[0] >= 0 ||
        slope->dim[0] == 1 || x->sym[1] >= 0 || x->dim[1] != slope->dim[0])
        return 0;
    ir_op_set_int(op, "broadcast", 1);
    ir_op_set_int(op, "axis", 1);
    return legacy_broadcast(ld, op_id);
}

struct rule {
    enum ir_op_kind kind;
    int before; /* applies to opsets below this */
    int (*apply)(struct fe_loader *ld, int32_t op_id);
};

static const struct rule rules[] = {
    {IR_OP_SQUEEZE, 13, axes_to_operand},
    {IR_OP_UNSQUEEZE, 13, axes_to_operand},
    {IR_OP_REDUCE_SUM, 13, axes_to_operand},
    {IR_OP_REDUCE_MEAN, 18, axes_to_operand},
    {IR_OP_REDUCE_MAX, 18, axes_to_operand},
    {IR_OP_REDUCE_MIN, 18, axes_to_operand},
    {IR_OP_REDUCE_PROD, 18, axes_to_operand},
    {IR_OP_REDUCE_L1, 18, axes_to_operand},
    {IR_OP_REDUCE_L2, 18, axes_to_operand},
    {IR_OP_REDUCE_LOG_SUM, 18, axes_to_operand},
    {IR_OP_REDUCE_LOG_SUM_EXP, 18, axes_to_operand},
    {IR_OP_REDUCE_SUM_SQUARE, 18, axes_to_operand},
    {IR_OP_SPLIT, 13, split_to_operand},
    {IR_OP_SLICE, 10, slice_to_operands},
    {IR_OP_CLIP, 11, clip_to_operands},
    {IR_OP_PAD, 11, pad_to_operands},
    {IR_OP_TOPK, 10, topk_to_operand},
    {IR_OP_RESHAPE, 5, reshape_to_operand},
    {IR_OP_DROPOUT, 12, dropout_to_operand},
    {IR_OP_SOFTMAX, INT32_MAX, softmax_axis},
    {IR_OP_LOG_SOFTMAX, INT32_MAX, softmax_axis},
    {IR_OP_HARDMAX, INT32_MAX, softmax_axis},
    {IR_OP_CAST, 6, cast_type_name},
    {IR_OP_CONCAT, 4, concat_axis},
    {IR_OP_ADD, 7, legacy_broadcast},
    {IR_OP_SUB, 7, legacy_broadcast},
    {IR_OP_MUL, 7, legacy_broadcast},
    {IR_OP_DIV, 7, legacy_broadcast},
    {IR_OP_POW, 7, legacy_broadcast},
    {IR_OP_AND, 7, legacy_broadcast},
    {IR_OP_OR, 7, legacy_broadcast},
    {IR_OP_XOR, 7, legacy_broadcast},
    {IR_OP_EQUAL, 7, legacy_broadcast},
    {IR_OP_GREATER, 7, legacy_broadcast},
    {IR_OP_LESS, 7, legacy_broadcast},
    {IR_OP_GEMM, 7, legacy_broadcast},
    {IR_OP_PRELU, 7, prelu_channel_slope},
};

int
fe_normalize_op(struct fe_loader *ld, int32_t op_id)
{
    struct ir_op *op = &ld->g->ops[op_id];
    if (op->opset < 7)
        remove_attr(op, "consumed_inputs");
    /* TODO: Tile-1 takes tiles and axis as inputs, unlike Tile-6. */
    if (op->kind == IR_OP_TILE && op->opset < 6)
        return ir_error(ld->g, op, IR_NONE,
                        "Tile before opset 6 is not "
                        "supported");
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
        if (rules[i].kind == op->kind && op->opset < rules[i].before)
            return rules[i].apply(ld, op_id);
    return 0;
}
