/*
 * Shape inference and kernel parameters of the ops that normalise or scan
 * along one axis: Softmax, LogSoftmax, Hardmax, LayerNormalization and
 * CumSum, which view their input as [outer, n, inner], and
 * BatchNormalization and InstanceNormalization, which view it as [N, C, D].
 */
#include "passes.h"
#include "../runtime/k_math.h"

int pass_math_softmax_infer(struct ir_graph *g, struct ir_op *op);
int pass_math_softmax_encode(const struct ir_graph *g, const struct ir_op *op,
                             struct pass_params *p);
int pass_math_layer_norm_infer(struct ir_graph *g, struct ir_op *op);
int pass_math_layer_norm_encode(const struct ir_graph *g,
                                const struct ir_op *op, struct pass_params *p);
int pass_math_batch_norm_infer(struct ir_graph *g, struct ir_op *op);
int pass_math_batch_norm_encode(const struct ir_graph *g,
                                const struct ir_op *op, struct pass_params *p);
int pass_math_lrn_infer(struct ir_graph *g, struct ir_op *op);
int pass_math_lrn_encode(const struct ir_graph *g, const struct ir_op *op,
                         struct pass_params *p);
int pass_math_cumsum_infer(struct ir_graph *g, struct ir_op *op);
int pass_math_cumsum_encode(const struct ir_graph *g, const struct ir_op *op,
                            struct pass_params *p);

/* Products of the dims before axis, of dims [axis, end) and after end. */
static void
axis_view(const struct ir_shape *s, int axis, int end, int64_t *outer,
          int64_t *n, int64_t *inner)
{
    *outer = *n = *inner = 1;
    for (int i = 0; i < s->rank; i++) {
        if (i < axis)
            *outer *= s->dim[i];
        else if (i < end)
            *n *= s->dim[i];
        else
            *inner *= s->dim[i];
    }
}

static int
check_float(const struct ir_graph *g, const struct ir_op *op, int i)
{
    enum ir_dtype t = pass_operand(g, op, i)->dtype;
    if (t != IR_DTYPE_FLOAT && t != IR_DTYPE_DOUBLE)
        return ir_error(g, op, op->operands[i],
                        "dtype %s is not supported (float32 and float64 "
                        "are)",
                        ir_dtype_name(t));
    return 0;
}

/* ---- Softmax, LogSoftmax, Hardmax ---- */

/*
 * The frontend always sets axis, and coerce_2d = 1 for opset < 13, where
 * the input is flattened to 2-D at axis and each row normalised.
 */
static int
softmax_view(const struct ir_graph *g, const struct ir_op *op, int64_t *outer,
             int64_t *n, int64_t *inner)
{
    const struct ir_shape *s = &pass_operand(g, op, 0)->shape;
    int axis;
    if (pass_axis(g, op, ir_op_int(op, "axis", -1), s->rank, &axis) != 0)
        return -1;
    bool coerce = ir_op_int(op, "coerce_2d", 0) != 0;
    axis_view(s, axis, coerce ? s->rank : axis + 1, outer, n, inner);
    return 0;
}

int
pass_math_softmax_infer(struct ir_graph *g, struct ir_op *op)
{
    int64_t outer, n, inner;
    if (check_float(g, op, 0) != 0 ||
        softmax_view(g, op, &outer, &n, &inner) != 0)
        return -1;
    const struct ir_value *x = pass_operand(g, op, 0);
    pass_set_result(g, op, 0, x->dtype, &x->shape);
    return 0;
}

int
pass_math_softmax_encode(const struct ir_graph *g, const struct ir_op *op,
                         struct pass_params *p)
{
    int64_t outer, n, inner;
    if (softmax_view(g, op, &outer, &n, &inner) != 0)
        return -1;
    pass_params_int(p, outer);
    pass_params_int(p, n);
    pass_params_int(p, inner);
    int mode = op->kind == IR_OP_LOG_SOFTMAX ? RT_LOG_SOFTMAX
               : op->kind == IR_OP_HARDMAX   ? RT_HARDMAX
                                             : RT_SOFTMAX;
    pass_params_int(p, mode);
    return 0;
}

/* ---- LayerNormalization ---- */

/*
 * The step of Scale or B over the normalised elements: 1 when it has all
 * n of them, 0 when it has one.
 */
static int
layer_norm_step(const struct ir_graph *g, const struct ir_op *op, int i,
                int64_t n, int64_t *step)
{
    const struct ir_value *v = pass_operand(g, op, i);
    int64_t count = ir_shape_numel(&v->shape);
    if (count == n) {
        *step = 1;
        return 0;
    }
    if (count == 1) {
        *step = 0;
        return 0;
    }
    /* NOTE: a Scale or B that broadcasts along some normalised dims only
     * is not supported. */
    char buf[160];
    return ir_error(g, op, op->operands[i],
                    "input %d %s must have the %lld normalised elements or "
                    "one; broadcasting it otherwise is not supported",
                    i, ir_shape_format(g, &v->shape, buf, sizeof(buf)),
                    (long long)n);
}

/* LayerNormalization (opset 17) normalises dims [axis, rank) of X. */
static int
layer_norm_view(const struct ir_graph *g, const struct ir_op *op, int *axis,
                int64_t *rows, int64_t *n)
{
    const struct ir_shape *s = &pass_operand(g, op, 0)->shape;
    int64_t inner;
    if (pass_axis(g, op, ir_op_int(op, "axis", -1), s->rank, axis) != 0)
        return -1;
    axis_view(s, *axis, s->rank, rows, n, &inner);
    return 0;
}

int
pass_math_layer_norm_infer(struct ir_graph *g, struct ir_op *op)
{
    int axis;
    int64_t rows, n, step;
    if (check_float(g, op, 0) != 0 ||
        layer_norm_view(g, op, &axis, &rows, &n) != 0)
        return -1;
    const struct ir_value *x = pass_operand(g, op, 0);
    for (int i = 1; i < 3; i++) {
        const struct ir_value *v = pass_operand(g, op, i);
        if (!v)
            continue;
        if (v->dtype != x->dtype)
            return ir_error(g, op, op->operands[i],
                            "input %d has dtype %s but X has %s", i,
                            ir_dtype_name(v->dtype), ir_dtype_name(x->dtype));
        if (layer_norm_step(g, op, i, n, &step) != 0)
            return -1;
    }
    int64_t stash = ir_op_int(op, "stash_type", 1);
    if (stash != 1)
        return ir_error(g, op, IR_NONE,
                        "stash_type %lld is not supported (1, float32, is)",
                        (long long)stash);

    struct ir_shape xs = x->shape;
    pass_set_result(g, op, 0, x->dtype, &xs);
    /* Mean and InvStdDev keep X's rank with 1 for each normalised dim. */
    struct ir_shape stat = xs;
    for (int i = axis; i < stat.rank; i++) {
        stat.dim[i] = 1;
        stat.sym[i] = -1;
    }
    for (int i = 1; i < op->n_results; i++)
        pass_set_result(g, op, i, IR_DTYPE_FLOAT, &stat);
    return 0;
}

int
pass_math_layer_norm_encode(const struct ir_graph *g, const struct ir_op *op,
                            struct pass_params *p)
{
    int axis;
    int64_t rows = 0, n = 0, scale_step = 0, bias_step = 0;
    if (layer_norm_view(g, op, &axis, &rows, &n) != 0 ||
        layer_norm_step(g, op, 1, n, &scale_step) != 0)
        return -1;
    if (pass_operand(g, op, 2) && layer_norm_step(g, op, 2, n, &bias_step) != 0)
        return -1;
    pass_params_int(p, rows);
    pass_params_int(p, n);
    pass_params_int(p, scale_step);
    pass_params_int(p, bias_step);
    pass_params_float(p, ir_op_float(op, "epsilon", 1e-5));
    return 0;
}

/* ---- CumSum ---- */

/*
 * CumSum (opset 14).  The axis may be run-time data, since the output
 * shape does not depend on it; the kernel reads it.  A constant axis is
 * checked here.
 */
int
pass_math_cumsum_infer(struct ir_graph *g, struct ir_op *op)
{
    const struct ir_value *x = pass_operand(g, op, 0);
    enum ir_dtype t = x->dtype;
    if (t != IR_DTYPE_FLOAT && t != IR_DTYPE_DOUBLE && t != IR_DTYPE_INT32 &&
        t != IR_DTYPE_INT64 && t != IR_DTYPE_UINT32 && t != IR_DTYPE_UINT64)
        return ir_error(g, op, op->operands[0],
                        "dtype %s is not supported (float32, float64, "
                        "int32, int64, uint32 and uint64 are)",
                        ir_dtype_name(t));
    const struct ir_value *a = pass_operand(g, op, 1);
    if ((a->dtype != IR_DTYPE_INT32 && a->dtype != IR_DTYPE_INT64) ||
        ir_shape_numel(&a->shape) != 1)
        return ir_error(g, op, op->operands[1],
                        "the axis must be one int32 or int64 value");
    if (pass_operand_is_const(g, op, 1)) {
        int64_t axis_value;
        int count, axis;
        if (pass_operand_ints(g, op, 1, &axis_value, 1, &count) != 0 ||
            pass_axis(g, op, axis_value, x->shape.rank, &axis) != 0)
            return -1;
    }
    pass_set_result(g, op, 0, t, &x->shape);
    return 0;
}

int
pass_math_cumsum_encode(const struct ir_graph *g, const struct ir_op *op,
                        struct pass_params *p)
{
    (void)g;
    pass_params_int(p, ir_op_int(op, "exclusive", 0) != 0);
    pass_params_int(p, ir_op_int(op, "reverse", 0) != 0);
    return 0;
}

/* ---- BatchNormalization, InstanceNormalization ---- */

/* Append the view [N, C, D] of input 0, D being the product of its other dims.
 */
static void
encode_channels_view(const struct ir_graph *g, const struct ir_op *op,
                     struct pass_params *p)
{
    const struct ir_shape *s = &pass_operand(g, op, 0)->shape;
    int64_t d = 1;
    for (int i = 2; i < s->rank; i++)
        d *= s->dim[i];
    pass_params_int(p, s->dim[0]);
    pass_params_int(p, s->dim[1]);
    pass_params_int(p, d);
}

/* Check that input 0 is a float tensor [N, C, ...]. */
static int
check_channels_input(const struct ir_graph *g, const struct ir_op *op)
{
    if (check_float(g, op, 0) != 0)
        return -1;
    const struct ir_value *x = pass_operand(g, op, 0);
    char buf[160];
    if (x->shape.rank < 2)
        return ir_error(g, op, op->operands[0],
                        "the input %s must have rank 2 or more, [N, C, ...]",
                        ir_shape_format(g, &x->shape, buf, sizeof(buf)));
    return 0;
}

/*
 * Pick where the statistics come from.  From opset 14 the training_mode
 * attribute selects it.  Before opset 7, is_test = 0 (the default) means
 * training.  In between, training outputs would mean training, which is
 * not supported.
 */
static int
batch_norm_mode(const struct ir_graph *g, const struct ir_op *op, int *mode)
{
    if (op->kind == IR_OP_INSTANCE_NORMALIZATION) {
        *mode = RT_NORM_INSTANCE;
        return 0;
    }
    if (ir_op_int(op, "spatial", 1) != 1)
        return ir_error(g, op, IR_NONE,
                        "spatial = 0 (statistics per element) is not "
                        "supported");
    bool training;
    if (op->opset >= 14) {
        training = ir_op_int(op, "training_mode", 0) != 0;
        if (!training && op->n_results > 1)
            return ir_error(g, op, IR_NONE,
                            "outputs running_mean and running_var need "
                            "training_mode = 1");
    } else if (op->n_results > 1) {
        return ir_error(g, op, IR_NONE,
                        "training outputs before opset 14 are not supported");
    } else {
        training = op->opset < 7 && ir_op_int(op, "is_test", 0) == 0;
    }
    *mode = training ? RT_NORM_BATCH_TRAINING : RT_NORM_BATCH_INFERENCE;
    return 0;
}

int
pass_math_batch_norm_infer(struct ir_graph *g, struct ir_op *op)
{
    int mode;
    if (check_channels_input(g, op) != 0 || batch_norm_mode(g, op, &mode) != 0)
        return -1;
    const struct ir_value *x = pass_operand(g, op, 0);
    char buf[160];
    int64_t c = x->shape.dim[1];
    for (int i = 1; i < op->n_operands; i++) {
        const struct ir_value *v = pass_operand(g, op, i);
        if (!v)
            return ir_error(g, op, IR_NONE, "input %d is missing", i);
        if (check_float(g, op, i) != 0)
            return -1;
        if (v->shape.rank != 1 || v->shape.dim[0] != c)
            return ir_error(g, op, op->operands[i],
                            "input %d %s must be a vector of the %lld "
                            "channels",
                            i, ir_shape_format(g, &v->shape, buf, sizeof(buf)),
                            (long long)c);
    }
    struct ir_shape xs = x->shape;
    pass_set_result(g, op, 0, x->dtype, &xs);
    for (int i = 1; i < op->n_results; i++) {
        const struct ir_value *stat = pass_operand(g, op, 2 + i);
        struct ir_shape s = stat->shape;
        pass_set_result(g, op, i, stat->dtype, &s);
    }
    return 0;
}

int
pass_math_batch_norm_encode(const struct ir_graph *g, const struct ir_op *op,
                            struct pass_params *p)
{
    int mode;
    if (batch_norm_mode(g, op, &mode) != 0)
        return -1;
    encode_channels_view(g, op, p);
    pass_params_int(p, mode);
    pass_params_float(p, ir_op_float(op, "epsilon", 1e-5));
    pass_params_float(p, ir_op_float(op, "momentum", 0.9));
    return 0;
}

/* ---- LRN ---- */

int
pass_math_lrn_infer(struct ir_graph *g, struct ir_op *op)
{
    if (check_channels_input(g, op) != 0)
        return -1;
    const struct ir_value *x = pass_operand(g, op, 0);
    const struct ir_attr *size = ir_op_attr(op, "size");
    if (!size)
        return ir_error(g, op, IR_NONE, "required attribute size is missing");
    if (size->i < 1)
        return ir_error(g, op, IR_NONE, "size %lld must be positive",
                        (long long)size->i);
    struct ir_shape xs = x->shape;
    pass_set_result(g, op, 0, x->dtype, &xs);
    return 0;
}

/* ints: [N, C, D, size].  floats: [alpha, beta, bias]. */
int
pass_math_lrn_encode(const struct ir_graph *g, const struct ir_op *op,
                     struct pass_params *p)
{
    encode_channels_view(g, op, p);
    pass_params_int(p, ir_op_int(op, "size", 1));
    pass_params_float(p, ir_op_float(op, "alpha", 1e-4));
    pass_params_float(p, ir_op_float(op, "beta", 0.75));
    pass_params_float(p, ir_op_float(op, "bias", 1.0));
    return 0;
}
