/*
 * Shape inference and kernel parameters of the reductions: Reduce*,
 * ArgMax/ArgMin and TopK.  In the IR every Reduce* takes its axes as
 * constant operand 1 (possibly omitted) with the attributes keepdims and
 * noop_with_empty_axes, whatever opset the model used.
 */
#include "passes.h"
#include "../runtime/k_math.h"

int pass_math_reduce_infer(struct ir_graph *g, struct ir_op *op);
int pass_math_reduce_encode(const struct ir_graph *g, const struct ir_op *op,
                            struct pass_params *p);
int pass_math_arg_infer(struct ir_graph *g, struct ir_op *op);
int pass_math_arg_encode(const struct ir_graph *g, const struct ir_op *op,
                         struct pass_params *p);
int pass_math_topk_infer(struct ir_graph *g, struct ir_op *op);
int pass_math_topk_encode(const struct ir_graph *g, const struct ir_op *op,
                          struct pass_params *p);

/* Reject dtypes the selection and reduction kernels do not handle. */
static int
check_numeric(const struct ir_graph *g, const struct ir_op *op)
{
    enum ir_dtype t = pass_operand(g, op, 0)->dtype;
    if (t == IR_DTYPE_BOOL || t == IR_DTYPE_FLOAT16 || t == IR_DTYPE_BFLOAT16 ||
        t == IR_DTYPE_STRING || ir_dtype_size(t) == 0)
        return ir_error(g, op, op->operands[0],
                        "dtype %s is not supported (float32, float64 and "
                        "the integer dtypes are)",
                        ir_dtype_name(t));
    return 0;
}

static void
axis_view(const struct ir_shape *s, int axis, int64_t *outer, int64_t *n,
          int64_t *inner)
{
    *outer = *n = *inner = 1;
    for (int i = 0; i < s->rank; i++) {
        if (i < axis)
            *outer *= s->dim[i];
        else if (i == axis)
            *n = s->dim[i];
        else
            *inner *= s->dim[i];
    }
}

/* ---- Reduce* ---- */

static bool
is_global_pool(enum ir_op_kind kind)
{
    return kind == IR_OP_GLOBAL_AVERAGE_POOL || kind == IR_OP_GLOBAL_MAX_POOL;
}

/*
 * Mark the reduced dims of X.  Omitted or empty axes reduce every dim,
 * unless noop_with_empty_axes is set, when none is reduced.  The global
 * pools reduce every dim after N and C.
 */
static int
reduced_dims(const struct ir_graph *g, const struct ir_op *op,
             bool reduced[IR_MAX_RANK])
{
    int rank = pass_operand(g, op, 0)->shape.rank;
    if (is_global_pool(op->kind)) {
        if (rank < 3)
            return ir_error(g, op, op->operands[0],
                            "input has rank %d, but a global pool needs N, C "
                            "and at least one spatial dim",
                            rank);
        for (int i = 0; i < IR_MAX_RANK; i++)
            reduced[i] = i >= 2 && i < rank;
        return 0;
    }
    int64_t axes[IR_MAX_RANK];
    int n_axes = 0;
    if (pass_operand(g, op, 1) &&
        pass_operand_ints(g, op, 1, axes, IR_MAX_RANK, &n_axes) != 0)
        return -1;
    bool noop = ir_op_int(op, "noop_with_empty_axes", 0) != 0;
    for (int i = 0; i < IR_MAX_RANK; i++)
        reduced[i] = n_axes == 0 && !noop && i < rank;
    for (int i = 0; i < n_axes; i++) {
        int axis;
        if (pass_axis(g, op, axes[i], rank, &axis) != 0)
            return -1;
        if (reduced[axis])
            return ir_error(g, op, op->operands[1], "axis %lld appears twice",
                            (long long)axes[i]);
        reduced[axis] = true;
    }
    return 0;
}

int
pass_math_reduce_infer(struct ir_graph *g, struct ir_op *op)
{
    bool reduced[IR_MAX_RANK];
    /* The pools check their dtype first, so that the message names the
     * dtypes they take rather than those of the reductions. */
    const struct ir_value *in = pass_operand(g, op, 0);
    if (is_global_pool(op->kind) && in && in->dtype != IR_DTYPE_FLOAT &&
        in->dtype != IR_DTYPE_DOUBLE)
        return ir_error(g, op, op->operands[0],
                        "dtype %s is not supported (float32 and float64 are)",
                        ir_dtype_name(in->dtype));
    if (check_numeric(g, op) != 0 || reduced_dims(g, op, reduced) != 0)
        return -1;
    const struct ir_value *x = pass_operand(g, op, 0);
    bool keep = is_global_pool(op->kind) || ir_op_int(op, "keepdims", 1) != 0;
    int64_t dims[IR_MAX_RANK];
    int r = 0;
    for (int i = 0; i < x->shape.rank; i++) {
        if (!reduced[i])
            dims[r++] = x->shape.dim[i];
        else if (keep)
            dims[r++] = 1;
    }
    struct ir_shape out = ir_shape_make(r, dims);
    pass_set_result(g, op, 0, x->dtype, &out);
    return 0;
}

static int
reduce_op(enum ir_op_kind kind)
{
    switch (kind) {
    case IR_OP_REDUCE_MEAN:
    case IR_OP_GLOBAL_AVERAGE_POOL:
        return RT_REDUCE_MEAN;
    case IR_OP_REDUCE_PROD:
        return RT_REDUCE_PROD;
    case IR_OP_REDUCE_MAX:
    case IR_OP_GLOBAL_MAX_POOL:
        return RT_REDUCE_MAX;
    case IR_OP_REDUCE_MIN:
        return RT_REDUCE_MIN;
    case IR_OP_REDUCE_L1:
        return RT_REDUCE_L1;
    case IR_OP_REDUCE_L2:
        return RT_REDUCE_L2;
    case IR_OP_REDUCE_SUM_SQUARE:
        return RT_REDUCE_SUM_SQUARE;
    case IR_OP_REDUCE_LOG_SUM:
        return RT_REDUCE_LOG_SUM;
    case IR_OP_REDUCE_LOG_SUM_EXP:
        return RT_REDUCE_LOG_SUM_EXP;
    default:
        return RT_REDUCE_SUM;
    }
}

/* Dims of size 1 are dropped and neighbours of one kind merged. */
int
pass_math_reduce_encode(const struct ir_graph *g, const struct ir_op *op,
                        struct pass_params *p)
{
    bool reduced[IR_MAX_RANK];
    if (reduced_dims(g, op, reduced) != 0)
        return -1;
    const struct ir_shape *s = &pass_operand(g, op, 0)->shape;
    int64_t dims[IR_MAX_RANK];
    bool flags[IR_MAX_RANK];
    int nd = 0;
    for (int i = 0; i < s->rank; i++) {
        if (s->dim[i] == 1)
            continue;
        if (nd > 0 && flags[nd - 1] == reduced[i]) {
            dims[nd - 1] *= s->dim[i];
            continue;
        }
        dims[nd] = s->dim[i];
        flags[nd++] = reduced[i];
    }
    pass_params_int(p, reduce_op(op->kind));
    pass_params_int(p, nd);
    for (int i = 0; i < nd; i++)
        pass_params_int(p, dims[i]);
    for (int i = 0; i < nd; i++)
        pass_params_int(p, flags[i]);
    return 0;
}

/* ---- ArgMax, ArgMin ---- */

static int
arg_axis(const struct ir_graph *g, const struct ir_op *op, int *axis)
{
    const struct ir_shape *s = &pass_operand(g, op, 0)->shape;
    return pass_axis(g, op, ir_op_int(op, "axis", 0), s->rank, axis);
}

int
pass_math_arg_infer(struct ir_graph *g, struct ir_op *op)
{
    int axis;
    if (check_numeric(g, op) != 0 || arg_axis(g, op, &axis) != 0)
        return -1;
    const struct ir_shape *s = &pass_operand(g, op, 0)->shape;
    int64_t outer, n, inner;
    axis_view(s, axis, &outer, &n, &inner);
    if (n == 0 && outer * inner > 0)
        return ir_error(g, op, op->operands[0],
                        "axis %d is empty, so it has no max or min", axis);
    bool keep = is_global_pool(op->kind) || ir_op_int(op, "keepdims", 1) != 0;
    int64_t dims[IR_MAX_RANK];
    int r = 0;
    for (int i = 0; i < s->rank; i++) {
        if (i != axis)
            dims[r++] = s->dim[i];
        else if (keep)
            dims[r++] = 1;
    }
    struct ir_shape out = ir_shape_make(r, dims);
    pass_set_result(g, op, 0, IR_DTYPE_INT64, &out);
    return 0;
}

int
pass_math_arg_encode(const struct ir_graph *g, const struct ir_op *op,
                     struct pass_params *p)
{
    int axis;
    if (arg_axis(g, op, &axis) != 0)
        return -1;
    int64_t outer, n, inner;
    axis_view(&pass_operand(g, op, 0)->shape, axis, &outer, &n, &inner);
    pass_params_int(p, outer);
    pass_params_int(p, n);
    pass_params_int(p, inner);
    pass_params_int(p, op->kind == IR_OP_ARG_MIN);
    pass_params_int(p, ir_op_int(op, "select_last_index", 0) != 0);
    return 0;
}

/* ---- TopK ---- */

/* TopK (opset 11): K is a constant int64 [1]; 0 <= K <= dim[axis]. */
static int
topk_view(const struct ir_graph *g, const struct ir_op *op, int *axis,
          int64_t *k)
{
    const struct ir_shape *s = &pass_operand(g, op, 0)->shape;
    int count;
    if (pass_axis(g, op, ir_op_int(op, "axis", -1), s->rank, axis) != 0 ||
        pass_operand_ints(g, op, 1, k, 1, &count) != 0)
        return -1;
    if (count != 1)
        return ir_error(g, op, op->operands[1], "K must hold one value");
    if (*k < 0 || *k > s->dim[*axis])
        return ir_error(g, op, op->operands[1],
                        "K = %lld is outside [0, %lld], the size of axis %d",
                        (long long)*k, (long long)s->dim[*axis], *axis);
    return 0;
}

int
pass_math_topk_infer(struct ir_graph *g, struct ir_op *op)
{
    int axis;
    int64_t k;
    if (check_numeric(g, op) != 0 || topk_view(g, op, &axis, &k) != 0)
        return -1;
    const struct ir_value *x = pass_operand(g, op, 0);
    struct ir_shape out = x->shape;
    out.dim[axis] = k;
    out.sym[axis] = -1;
    pass_set_result(g, op, 0, x->dtype, &out);
    pass_set_result(g, op, 1, IR_DTYPE_INT64, &out);
    return 0;
}

int
pass_math_topk_encode(const struct ir_graph *g, const struct ir_op *op,
                      struct pass_params *p)
{
    int axis;
    int64_t k;
    if (topk_view(g, op, &axis, &k) != 0)
        return -1;
    int64_t outer, n, inner;
    axis_view(&pass_operand(g, op, 0)->shape, axis, &outer, &n, &inner);
    pass_params_int(p, outer);
    pass_params_int(p, n);
    pass_params_int(p, inner);
    pass_params_int(p, k);
    pass_params_int(p, ir_op_int(op, "largest", 1) != 0);
    return 0;
}
