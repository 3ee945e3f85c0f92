/*
 * Shape inference and kernel parameters of the elementwise ops: unary
 * math and activations, Cast and CastLike, Identity, Dropout, Clip, the
 * broadcasting binary ops, the variadic Max, Min, Sum and Mean, and Where.
 * The kernels are in runtime/k_elementwise*.c.
 */
#include "passes.h"

#include "../runtime/k_elementwise.h"

#include <string.h>

/* ---- dtype sets ---- */

#define BIT(t) (1u << IR_DTYPE_##t)
#define M_FLOAT (BIT(FLOAT) | BIT(DOUBLE))
#define M_HALF (BIT(FLOAT16) | BIT(BFLOAT16))
#define M_SINT (BIT(INT8) | BIT(INT16) | BIT(INT32) | BIT(INT64))
#define M_UINT (BIT(UINT8) | BIT(UINT16) | BIT(UINT32) | BIT(UINT64))
#define M_INT (M_SINT | M_UINT)
#define M_NUM (M_FLOAT | M_INT)
#define M_BOOL BIT(BOOL)
/* Any dtype that a kernel can move without reading, halves included. */
#define M_DATA (M_NUM | M_BOOL | M_HALF)
/* The same with strings, whose pointers move like 8-byte numbers. */
#define M_MOVE (M_DATA | BIT(STRING))

static bool
in_mask(enum ir_dtype t, unsigned mask)
{
    return (int)t >= 0 && t < 32 && (mask & (1u << t));
}

/* Write the names of mask's dtypes, comma-separated, into buf. */
static const char *
mask_format(unsigned mask, char *buf, size_t size)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int t = 1; t < IR_DTYPE_COUNT && at < size; t++) {
        if (!(mask & (1u << t)))
            continue;
        int n = snprintf(buf + at, size - at, "%s%s", at ? ", " : "",
                         ir_dtype_name((enum ir_dtype)t));
        if (n < 0)
            break;
        at += (size_t)n;
    }
    return buf;
}

/*
 * Fetch operand i into *out, failing if it is omitted or its dtype is not
 * in mask.  Half floats and strings, which ONNX allows for most of these
 * ops, are reported as not supported.  Other dtypes break the op's type
 * constraints.  NOTE: only Cast, CastLike, Max, Min, Mod and the ops that
 * just move data (Identity, Dropout, Where) accept float16 and bfloat16.
 */
static int
operand_typed(const struct ir_graph *g, const struct ir_op *op, int i,
              unsigned mask, const struct ir_value **out)
{
    const struct ir_value *v = pass_operand(g, op, i);
    if (!v)
        return ir_error(g, op, IR_NONE, "required input %d is missing", i);
    *out = v;
    if (in_mask(v->dtype, mask))
        return 0;
    if (in_mask(v->dtype, M_HALF) || v->dtype == IR_DTYPE_STRING)
        return ir_error(g, op, op->operands[i],
                        "input %d of dtype %s is not supported", i,
                        ir_dtype_name(v->dtype));
    char names[160];
    return ir_error(g, op, op->operands[i],
                    "input %d has dtype %s, but this op accepts only %s", i,
                    ir_dtype_name(v->dtype),
                    mask_format(mask, names, sizeof(names)));
}

/* Fail unless operand i (v) has the dtype of operand j (first). */
static int
same_dtype(const struct ir_graph *g, const struct ir_op *op, int j,
           const struct ir_value *first, int i, const struct ir_value *v)
{
    if (v->dtype == first->dtype)
        return 0;
    return ir_error(g, op, op->operands[i],
                    "input %d has dtype %s but input %d has dtype %s; they "
                    "must match",
                    j, ir_dtype_name(first->dtype), i, ir_dtype_name(v->dtype));
}

/* Set result i if the op has it (an optional output may be left out). */
static void
set_optional_result(struct ir_graph *g, struct ir_op *op, int i,
                    enum ir_dtype dtype, const struct ir_shape *shape)
{
    if (i < op->n_results && op->results[i] != IR_NONE)
        pass_set_result(g, op, i, dtype, shape);
}

/* ---- unary ops ---- */

struct unary_info {
    enum ir_op_kind kind;
    int code;      /* enum rt_ew_unary_op */
    unsigned mask; /* input dtypes */
    bool to_bool;  /* the result is bool */
};

/* Input dtypes follow the latest ONNX opset of each op. */
static const struct unary_info unary_infos[] = {
    {IR_OP_ABS, RT_EW_ABS, M_NUM, false},
    {IR_OP_ACOS, RT_EW_ACOS, M_FLOAT, false},
    {IR_OP_ACOSH, RT_EW_ACOSH, M_FLOAT, false},
    {IR_OP_ASIN, RT_EW_ASIN, M_FLOAT, false},
    {IR_OP_ASINH, RT_EW_ASINH, M_FLOAT, false},
    {IR_OP_ATAN, RT_EW_ATAN, M_FLOAT, false},
    {IR_OP_ATANH, RT_EW_ATANH, M_FLOAT, false},
    {IR_OP_CEIL, RT_EW_CEIL, M_FLOAT, false},
    {IR_OP_CELU, RT_EW_CELU, M_FLOAT, false},
    {IR_OP_COS, RT_EW_COS, M_FLOAT, false},
    {IR_OP_COSH, RT_EW_COSH, M_FLOAT, false},
    {IR_OP_ELU, RT_EW_ELU, M_FLOAT, false},
    {IR_OP_ERF, RT_EW_ERF, M_NUM, false},
    {IR_OP_EXP, RT_EW_EXP, M_FLOAT, false},
    {IR_OP_FLOOR, RT_EW_FLOOR, M_FLOAT, false},
    {IR_OP_GELU, RT_EW_GELU, M_FLOAT, false},
    {IR_OP_HARD_SIGMOID, RT_EW_HARD_SIGMOID, M_FLOAT, false},
    {IR_OP_HARD_SWISH, RT_EW_HARD_SWISH, M_FLOAT, false},
    {IR_OP_IS_INF, RT_EW_IS_INF, M_FLOAT, true},
    {IR_OP_IS_NAN, RT_EW_IS_NAN, M_FLOAT, true},
    {IR_OP_LEAKY_RELU, RT_EW_LEAKY_RELU, M_FLOAT, false},
    {IR_OP_LOG, RT_EW_LOG, M_FLOAT, false},
    {IR_OP_NEG, RT_EW_NEG, M_FLOAT | M_SINT, false},
    {IR_OP_NOT, RT_EW_NOT, M_BOOL, false},
    {IR_OP_RECIPROCAL, RT_EW_RECIPROCAL, M_FLOAT, false},
    {IR_OP_RELU, RT_EW_RELU, M_FLOAT | M_SINT, false},
    {IR_OP_ROUND, RT_EW_ROUND, M_FLOAT, false},
    {IR_OP_SELU, RT_EW_SELU, M_FLOAT, false},
    {IR_OP_SHRINK, RT_EW_SHRINK, M_FLOAT, false},
    {IR_OP_SIGMOID, RT_EW_SIGMOID, M_FLOAT, false},
    {IR_OP_SIGN, RT_EW_SIGN, M_NUM, false},
    {IR_OP_SIN, RT_EW_SIN, M_FLOAT, false},
    {IR_OP_SINH, RT_EW_SINH, M_FLOAT, false},
    {IR_OP_SOFTPLUS, RT_EW_SOFTPLUS, M_FLOAT, false},
    {IR_OP_SOFTSIGN, RT_EW_SOFTSIGN, M_FLOAT, false},
    {IR_OP_SQRT, RT_EW_SQRT, M_FLOAT, false},
    {IR_OP_TAN, RT_EW_TAN, M_FLOAT, false},
    {IR_OP_TANH, RT_EW_TANH, M_FLOAT, false},
    {IR_OP_THRESHOLDED_RELU, RT_EW_THRESHOLDED_RELU, M_FLOAT, false},
};

static const struct unary_info *
unary_info(enum ir_op_kind kind)
{
    for (size_t i = 0; i < sizeof(unary_infos) / sizeof(unary_infos[0]); i++)
        if (unary_infos[i].kind == kind)
            return &unary_infos[i];
    IR_ASSERT(!"op kind missing from unary_infos");
    return NULL;
}

static int
infer_unary(struct ir_graph *g, struct ir_op *op)
{
    const struct unary_info *info = unary_info(op->kind);
    const struct ir_value *x;
    if (operand_typed(g, op, 0, info->mask, &x) != 0)
        return -1;
    if (op->kind == IR_OP_GELU) {
        const char *approx = ir_op_string(op, "approximate", "none");
        if (strcmp(approx, "none") != 0 && strcmp(approx, "tanh") != 0)
            return ir_error(g, op, IR_NONE,
                            "attribute approximate is '%s'; it must be "
                            "'none' or 'tanh'",
                            approx);
    }
    struct ir_shape shape = x->shape;
    pass_set_result(g, op, 0, info->to_bool ? IR_DTYPE_BOOL : x->dtype, &shape);
    return 0;
}

/* Selu's defaults, as float32 values; opset 1 rounded them differently. */
static void
selu_defaults(const struct ir_op *op, double *alpha, double *gamma)
{
    if (op->opset < 6) {
        *alpha = (double)1.6732f;
        *gamma = (double)1.0507f;
    } else {
        *alpha = (double)1.67326319217681884765625f;
        *gamma = (double)1.05070102214813232421875f;
    }
}

static int
encode_unary(const struct ir_graph *g, const struct ir_op *op,
             struct pass_params *p)
{
    (void)g;
    int code = unary_info(op->kind)->code;
    if (op->kind == IR_OP_GELU &&
        strcmp(ir_op_string(op, "approximate", "none"), "tanh") == 0)
        code = RT_EW_GELU_TANH;
    pass_params_int(p, code);

    double alpha, gamma;
    switch (op->kind) {
    case IR_OP_CELU:
    case IR_OP_ELU:
    case IR_OP_THRESHOLDED_RELU:
        pass_params_float(p, ir_op_float(op, "alpha", 1.0));
        break;
    case IR_OP_SHRINK:
        pass_params_float(p, ir_op_float(op, "lambd", 0.5));
        pass_params_float(p, ir_op_float(op, "bias", 0.0));
        break;
    case IR_OP_HARD_SIGMOID:
        pass_params_float(p, ir_op_float(op, "alpha", (double)0.2f));
        pass_params_float(p, ir_op_float(op, "beta", 0.5));
        break;
    case IR_OP_LEAKY_RELU:
        pass_params_float(p, ir_op_float(op, "alpha", (double)0.01f));
        break;
    case IR_OP_SELU:
        selu_defaults(op, &alpha, &gamma);
        pass_params_float(p, ir_op_float(op, "alpha", alpha));
        pass_params_float(p, ir_op_float(op, "gamma", gamma));
        break;
    case IR_OP_IS_INF:
        pass_params_int(p, ir_op_int(op, "detect_positive", 1) != 0);
        pass_params_int(p, ir_op_int(op, "detect_negative", 1) != 0);
        break;
    default:
        break;
    }
    return 0;
}

/* ---- Cast, CastLike, Identity, Dropout ---- */

/* Dtypes Cast converts between. */
#define M_CAST (M_NUM | M_BOOL | M_HALF | BIT(STRING))

/* Cast's `to`, a dtype number; the frontend converts Cast-1's names. */
static int
cast_target(const struct ir_graph *g, const struct ir_op *op,
            enum ir_dtype *out)
{
    const struct ir_attr *to = ir_op_attr(op, "to");
    if (!to)
        return ir_error(g, op, IR_NONE, "required attribute 'to' is missing");
    if (to->kind != IR_ATTR_INT || to->i <= 0 || to->i >= IR_DTYPE_COUNT)
        return ir_error(g, op, IR_NONE, "attribute to is not a valid dtype");
    *out = (enum ir_dtype)to->i;
    return 0;
}

/*
 * Strings convert to and from the numeric dtypes only: ONNX does not say
 * how a bool prints or parses.
 */
static int
check_cast_target(const struct ir_graph *g, const struct ir_op *op,
                  enum ir_dtype from, enum ir_dtype to)
{
    if (!in_mask(to, M_CAST))
        return ir_error(g, op, IR_NONE, "cast to dtype %s is not supported",
                        ir_dtype_name(to));
    if ((from == IR_DTYPE_STRING && to == IR_DTYPE_BOOL) ||
        (from == IR_DTYPE_BOOL && to == IR_DTYPE_STRING))
        return ir_error(g, op, op->operands[0],
                        "cast from %s to %s is not supported",
                        ir_dtype_name(from), ir_dtype_name(to));
    return 0;
}

/* Cast (opsets 1, 6, 9, 13, 19): y has dtype `to` and x's shape. */
static int
infer_cast(struct ir_graph *g, struct ir_op *op)
{
    const struct ir_value *x;
    enum ir_dtype to = IR_DTYPE_UNDEFINED;
    if (operand_typed(g, op, 0, M_CAST, &x) != 0 ||
        cast_target(g, op, &to) != 0 ||
        check_cast_target(g, op, x->dtype, to) != 0)
        return -1;
    struct ir_shape shape = x->shape;
    pass_set_result(g, op, 0, to, &shape);
    return 0;
}

/* CastLike (opset 15): y has input 1's dtype and input 0's shape. */
static int
infer_cast_like(struct ir_graph *g, struct ir_op *op)
{
    const struct ir_value *x, *like;
    if (operand_typed(g, op, 0, M_CAST, &x) != 0)
        return -1;
    like = pass_operand(g, op, 1);
    if (!like)
        return ir_error(g, op, IR_NONE, "required input 1 is missing");
    if (check_cast_target(g, op, x->dtype, like->dtype) != 0)
        return -1;
    struct ir_shape shape = x->shape;
    pass_set_result(g, op, 0, like->dtype, &shape);
    return 0;
}

static int
infer_identity(struct ir_graph *g, struct ir_op *op)
{
    const struct ir_value *x;
    if (operand_typed(g, op, 0, M_MOVE, &x) != 0)
        return -1;
    struct ir_shape shape = x->shape;
    pass_set_result(g, op, 0, x->dtype, &shape);
    return 0;
}

/* True if operand i is a constant scalar equal to 0. */
static bool
operand_is_zero(const struct ir_graph *g, const struct ir_op *op, int i)
{
    const struct ir_value *x = pass_operand(g, op, i);
    double v;
    if (!x || x->kind != IR_VALUE_CONST || !in_mask(x->dtype, M_FLOAT) ||
        ir_shape_numel(&x->shape) != 1)
        return false;
    return pass_operand_scalar(g, op, i, &v) == 0 && v == 0;
}

/*
 * Dropout: y = x and the optional mask is all true.  The mask is bool from
 * opset 10 and has x's dtype before.  Training (input 2, training_mode,
 * from opset 12) is supported only with ratio (input 1) 0, when it changes
 * nothing.  A constant true training_mode needs a constant ratio 0 here,
 * and a run-time one is checked by the kernel.
 */
static int
infer_dropout(struct ir_graph *g, struct ir_op *op)
{
    const struct ir_value *x;
    if (operand_typed(g, op, 0, M_FLOAT | M_HALF, &x) != 0)
        return -1;
    const struct ir_value *ratio = pass_operand(g, op, 1);
    if (ratio && !in_mask(ratio->dtype, M_FLOAT | BIT(FLOAT16)))
        return ir_error(g, op, op->operands[1],
                        "ratio must be float16, float or double");
    const struct ir_value *training = pass_operand(g, op, 2);
    if (training) {
        if (training->dtype != IR_DTYPE_BOOL ||
            ir_shape_numel(&training->shape) != 1)
            return ir_error(g, op, op->operands[2],
                            "training_mode must be a bool scalar");
        bool never = training->kind == IR_VALUE_CONST &&
                     !*(const uint8_t *)training->data;
        if (!never && x->dtype != IR_DTYPE_FLOAT &&
            x->dtype != IR_DTYPE_DOUBLE && !operand_is_zero(g, op, 1))
            return ir_error(g, op, op->operands[0],
                            "training mode is supported for float and "
                            "double inputs only, not %s",
                            ir_dtype_name(x->dtype));
    }
    struct ir_shape shape = x->shape;
    pass_set_result(g, op, 0, x->dtype, &shape);
    set_optional_result(g, op, 1, op->opset >= 10 ? IR_DTYPE_BOOL : x->dtype,
                        &shape);
    return 0;
}

/* The seed of the training-mode mask; 0 when the attribute is absent. */
static int
encode_dropout(const struct ir_graph *g, const struct ir_op *op,
               struct pass_params *p)
{
    (void)g;
    pass_params_int(p, ir_op_int(op, "seed", 0));
    return 0;
}

/* ---- Clip ---- */

/*
 * Clip: the bounds are the optional inputs 1 (min) and 2 (max), each one
 * element of x's dtype.  The frontend turns the attributes of Clip before
 * opset 11 into these inputs.
 */
static int
infer_clip(struct ir_graph *g, struct ir_op *op)
{
    const struct ir_value *x;
    if (operand_typed(g, op, 0, M_NUM, &x) != 0)
        return -1;
    for (int i = 1; i < op->n_operands; i++) {
        const struct ir_value *b = pass_operand(g, op, i);
        if (!b)
            continue;
        if (same_dtype(g, op, 0, x, i, b) != 0)
            return -1;
        if (ir_shape_numel(&b->shape) != 1)
            return ir_error(g, op, op->operands[i],
                            "input %d (%s) must be a scalar", i,
                            i == 1 ? "min" : "max");
    }
    struct ir_shape shape = x->shape;
    pass_set_result(g, op, 0, x->dtype, &shape);
    return 0;
}

/* ---- binary ops ---- */

struct binary_info {
    enum ir_op_kind kind;
    int code;      /* enum rt_ew_binary_op */
    unsigned mask; /* dtypes of input 0 */
    bool to_bool;  /* the result is bool */
};

static const struct binary_info binary_infos[] = {
    {IR_OP_ADD, RT_EW_ADD, M_NUM, false},
    {IR_OP_SUB, RT_EW_SUB, M_NUM, false},
    {IR_OP_MUL, RT_EW_MUL, M_NUM, false},
    {IR_OP_DIV, RT_EW_DIV, M_NUM, false},
    {IR_OP_POW, RT_EW_POW, M_FLOAT | BIT(INT32) | BIT(INT64), false},
    {IR_OP_MOD, RT_EW_MOD, M_NUM | M_HALF, false},
    {IR_OP_PRELU, RT_EW_PRELU, M_NUM, false},
    {IR_OP_EQUAL, RT_EW_EQUAL, M_NUM | M_BOOL, true},
    {IR_OP_GREATER, RT_EW_GREATER, M_NUM, true},
    {IR_OP_GREATER_OR_EQUAL, RT_EW_GREATER_EQUAL, M_NUM, true},
    {IR_OP_LESS, RT_EW_LESS, M_NUM, true},
    {IR_OP_LESS_OR_EQUAL, RT_EW_LESS_EQUAL, M_NUM, true},
    {IR_OP_AND, RT_EW_AND, M_BOOL, true},
    {IR_OP_OR, RT_EW_OR, M_BOOL, true},
    {IR_OP_XOR, RT_EW_XOR, M_BOOL, true},
    {IR_OP_BITSHIFT, RT_EW_SHIFT_LEFT, M_UINT, false},
};

static const struct binary_info *
binary_info(enum ir_op_kind kind)
{
    for (size_t i = 0; i < sizeof(binary_infos) / sizeof(binary_infos[0]); i++)
        if (binary_infos[i].kind == kind)
            return &binary_infos[i];
    IR_ASSERT(!"op kind missing from binary_infos");
    return NULL;
}

static int
infer_binary(struct ir_graph *g, struct ir_op *op)
{
    const struct binary_info *info = binary_info(op->kind);
    const struct ir_value *a, *b;
    if (operand_typed(g, op, 0, info->mask, &a) != 0)
        return -1;
    if (op->kind == IR_OP_POW) {
        if (operand_typed(g, op, 1, M_NUM, &b) != 0)
            return -1;
    } else if (operand_typed(g, op, 1, M_DATA, &b) != 0 ||
               same_dtype(g, op, 0, a, 1, b) != 0) {
        return -1;
    }

    if (op->kind == IR_OP_MOD) {
        int64_t fmod_attr = ir_op_int(op, "fmod", 0);
        if (fmod_attr != 0 && fmod_attr != 1)
            return ir_error(g, op, IR_NONE,
                            "attribute fmod is %lld; it must be 0 or 1",
                            (long long)fmod_attr);
    }
    if (op->kind == IR_OP_BITSHIFT) {
        const char *dir = ir_op_string(op, "direction", "");
        if (strcmp(dir, "LEFT") != 0 && strcmp(dir, "RIGHT") != 0)
            return ir_error(g, op, IR_NONE,
                            "attribute direction is '%s'; it must be "
                            "'LEFT' or 'RIGHT'",
                            dir);
    }

    struct ir_shape shape;
    if (pass_broadcast(g, op, &a->shape, &b->shape, &shape) != 0)
        return -1;
    if (op->kind == IR_OP_PRELU && !ir_shape_equal(&shape, &a->shape)) {
        char sa[160], sb[160];
        return ir_error(g, op, IR_NONE,
                        "slope shape %s does not broadcast to X's shape %s",
                        ir_shape_format(g, &b->shape, sb, sizeof(sb)),
                        ir_shape_format(g, &a->shape, sa, sizeof(sa)));
    }
    pass_set_result(g, op, 0, info->to_bool ? IR_DTYPE_BOOL : a->dtype, &shape);
    return 0;
}

static int
encode_binary(const struct ir_graph *g, const struct ir_op *op,
              struct pass_params *p)
{
    (void)g;
    int code = binary_info(op->kind)->code;
    if (op->kind == IR_OP_MOD && ir_op_int(op, "fmod", 0))
        code = RT_EW_FMOD;
    if (op->kind == IR_OP_BITSHIFT &&
        strcmp(ir_op_string(op, "direction", ""), "RIGHT") == 0)
        code = RT_EW_SHIFT_RIGHT;
    pass_params_int(p, code);
    return 0;
}

/* ---- Max, Min, Sum, Mean, Where ---- */

/*
 * Fold the shapes of operands first..last (all required, all of first's
 * dtype unless check_dtype is false) by numpy broadcasting.
 */
static int
broadcast_operands(const struct ir_graph *g, const struct ir_op *op, int first,
                   int last, bool check_dtype, struct ir_shape *out)
{
    const struct ir_value *v0 = pass_operand(g, op, first);
    if (!v0)
        return ir_error(g, op, IR_NONE, "required input %d is missing", first);
    *out = v0->shape;
    for (int i = first + 1; i <= last; i++) {
        const struct ir_value *v = pass_operand(g, op, i);
        if (!v)
            return ir_error(g, op, IR_NONE, "required input %d is missing", i);
        if (check_dtype && same_dtype(g, op, first, v0, i, v) != 0)
            return -1;
        struct ir_shape next;
        if (pass_broadcast(g, op, out, &v->shape, &next) != 0)
            return -1;
        *out = next;
    }
    return 0;
}

/*
 * Max and Min take any numeric dtype and the half floats, Sum any numeric
 * dtype (ONNX's Sum only floats), Mean float and double.
 */
static int
infer_variadic(struct ir_graph *g, struct ir_op *op)
{
    unsigned mask = M_NUM;
    if (op->kind == IR_OP_MEAN)
        mask = M_FLOAT;
    else if (op->kind == IR_OP_MAX || op->kind == IR_OP_MIN)
        mask = M_NUM | M_HALF;
    const struct ir_value *x;
    struct ir_shape shape;
    if (op->n_operands < 1)
        return ir_error(g, op, IR_NONE, "at least one input is required");
    if (operand_typed(g, op, 0, mask, &x) != 0 ||
        broadcast_operands(g, op, 0, op->n_operands - 1, true, &shape) != 0)
        return -1;
    pass_set_result(g, op, 0, x->dtype, &shape);
    return 0;
}

static int
encode_variadic(const struct ir_graph *g, const struct ir_op *op,
                struct pass_params *p)
{
    (void)g;
    switch (op->kind) {
    case IR_OP_MAX:
        pass_params_int(p, RT_EW_MAX);
        break;
    case IR_OP_MIN:
        pass_params_int(p, RT_EW_MIN);
        break;
    default:
        pass_params_int(p, RT_EW_ADD);
        break;
    }
    pass_params_int(p, op->kind == IR_OP_MEAN);
    return 0;
}

static int
infer_where(struct ir_graph *g, struct ir_op *op)
{
    const struct ir_value *cond, *x, *y;
    struct ir_shape shape;
    if (operand_typed(g, op, 0, M_BOOL, &cond) != 0 ||
        operand_typed(g, op, 1, M_MOVE, &x) != 0 ||
        operand_typed(g, op, 2, M_MOVE, &y) != 0 ||
        same_dtype(g, op, 1, x, 2, y) != 0 ||
        broadcast_operands(g, op, 0, 2, false, &shape) != 0)
        return -1;
    pass_set_result(g, op, 0, x->dtype, &shape);
    return 0;
}

/* ---- the table ---- */

#define UNARY(k)                                                               \
    {IR_OP_##k, infer_unary, encode_unary, "rt_kernel_unary", rt_kernel_unary}
#define BINARY(k)                                                              \
    {IR_OP_##k, infer_binary, encode_binary, "rt_kernel_binary",               \
     rt_kernel_binary}
#define VARIADIC(k)                                                            \
    {IR_OP_##k, infer_variadic, encode_variadic, "rt_kernel_variadic",         \
     rt_kernel_variadic}

const struct pass_op_impl pass_ops_elementwise[] = {
    UNARY(ABS),
    UNARY(ACOS),
    UNARY(ACOSH),
    UNARY(ASIN),
    UNARY(ASINH),
    UNARY(ATAN),
    UNARY(ATANH),
    UNARY(CEIL),
    UNARY(COS),
    UNARY(COSH),
    UNARY(CELU),
    UNARY(ELU),
    UNARY(ERF),
    UNARY(EXP),
    UNARY(FLOOR),
    UNARY(GELU),
    UNARY(HARD_SIGMOID),
    UNARY(HARD_SWISH),
    UNARY(IS_INF),
    UNARY(IS_NAN),
    UNARY(LEAKY_RELU),
    UNARY(LOG),
    UNARY(NEG),
    UNARY(NOT),
    UNARY(RECIPROCAL),
    UNARY(RELU),
    UNARY(ROUND),
    UNARY(SELU),
    UNARY(SHRINK),
    UNARY(SIGMOID),
    UNARY(SIGN),
    UNARY(SIN),
    UNARY(SINH),
    UNARY(SOFTPLUS),
    UNARY(SOFTSIGN),
    UNARY(SQRT),
    UNARY(TAN),
    UNARY(TANH),
    UNARY(THRESHOLDED_RELU),
    {IR_OP_CAST, infer_cast, NULL, "rt_kernel_cast", rt_kernel_cast},
    {IR_OP_CAST_LIKE, infer_cast_like, NULL, "rt_kernel_cast", rt_kernel_cast},
    {IR_OP_IDENTITY, infer_identity, NULL, "rt_kernel_copy", rt_kernel_copy},
    {IR_OP_DROPOUT, infer_dropout, encode_dropout, "rt_kernel_dropout",
     rt_kernel_dropout},
    {IR_OP_CLIP, infer_clip, NULL, "rt_kernel_clip", rt_kernel_clip},
    BINARY(ADD),
    BINARY(SUB),
    BINARY(MUL),
    BINARY(DIV),
    BINARY(POW),
    BINARY(MOD),
    BINARY(PRELU),
    BINARY(EQUAL),
    BINARY(GREATER),
    BINARY(GREATER_OR_EQUAL),
    BINARY(LESS),
    BINARY(LESS_OR_EQUAL),
    BINARY(AND),
    BINARY(OR),
    BINARY(XOR),
    BINARY(BITSHIFT),
    VARIADIC(MAX),
    VARIADIC(MIN),
    VARIADIC(SUM),
    VARIADIC(MEAN),
    {IR_OP_WHERE, infer_where, NULL, "rt_kernel_where", rt_kernel_where},
    {.kind = IR_OP_COUNT},
};
