/*
 * Shape inference and kernel parameters of the training losses
 * NegativeLogLikelihoodLoss (opsets 12, 13) and SoftmaxCrossEntropyLoss
 * (opsets 12, 13).  Both take scores [N, C, d1, ...], targets
 * [N, d1, ...] and optional weights [C]; the kernel views them as
 * [N, C, D] and [N, D].
 */
#include "passes.h"
#include "../runtime/k_math.h"

#include <string.h>

int pass_math_loss_infer(struct ir_graph *g, struct ir_op *op);
int pass_math_loss_encode(const struct ir_graph *g, const struct ir_op *op,
                          struct pass_params *p);

static int
loss_reduction(const struct ir_graph *g, const struct ir_op *op, int *out)
{
    const char *s = ir_op_string(op, "reduction", "mean");
    static const char *const names[] = {"none", "sum", "mean"};
    static const int codes[] = {RT_LOSS_NONE, RT_LOSS_SUM, RT_LOSS_MEAN};
    for (int i = 0; i < 3; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = codes[i];
            return 0;
        }
    }
    return ir_error(g, op, IR_NONE,
                    "reduction '%s' is invalid; expected none, sum or mean", s);
}

/* Check the operands' dtypes and shapes against each other. */
static int
check_loss_operands(const struct ir_graph *g, const struct ir_op *op)
{
    const struct ir_value *x = pass_operand(g, op, 0);
    const struct ir_value *t = pass_operand(g, op, 1);
    const struct ir_value *w = pass_operand(g, op, 2);
    char xs[160], ts[160];
    if (!x || !t)
        return ir_error(g, op, IR_NONE, "inputs 0 and 1 are required");
    if (x->dtype != IR_DTYPE_FLOAT && x->dtype != IR_DTYPE_DOUBLE)
        return ir_error(g, op, op->operands[0],
                        "dtype %s is not supported (float32 and float64 are)",
                        ir_dtype_name(x->dtype));
    if (x->shape.rank < 2)
        return ir_error(g, op, op->operands[0],
                        "the scores %s must have rank 2 or more, [N, C, ...]",
                        ir_shape_format(g, &x->shape, xs, sizeof(xs)));
    if (t->dtype != IR_DTYPE_INT32 && t->dtype != IR_DTYPE_INT64)
        return ir_error(g, op, op->operands[1],
                        "the targets have dtype %s; expected int32 or int64",
                        ir_dtype_name(t->dtype));
    bool same = t->shape.rank == x->shape.rank - 1 &&
                t->shape.dim[0] == x->shape.dim[0];
    for (int i = 1; same && i < t->shape.rank; i++)
        same = t->shape.dim[i] == x->shape.dim[i + 1];
    if (!same)
        return ir_error(g, op, op->operands[1],
                        "the targets %s must have the scores' shape %s "
                        "without its class axis 1",
                        ir_shape_format(g, &t->shape, ts, sizeof(ts)),
                        ir_shape_format(g, &x->shape, xs, sizeof(xs)));
    if (w && (w->dtype != x->dtype || w->shape.rank != 1 ||
              w->shape.dim[0] != x->shape.dim[1]))
        return ir_error(g, op, op->operands[2],
                        "the weights %s must be a %s vector of the %lld "
                        "classes",
                        ir_shape_format(g, &w->shape, ts, sizeof(ts)),
                        ir_dtype_name(x->dtype), (long long)x->shape.dim[1]);
    return 0;
}

int
pass_math_loss_infer(struct ir_graph *g, struct ir_op *op)
{
    int reduction = RT_LOSS_MEAN;
    if (check_loss_operands(g, op) != 0 || loss_reduction(g, op, &reduction))
        return -1;
    const struct ir_value *x = pass_operand(g, op, 0);
    struct ir_shape x_shape = x->shape;
    struct ir_shape loss_shape = pass_operand(g, op, 1)->shape;
    if (reduction != RT_LOSS_NONE)
        loss_shape = ir_shape_make(0, NULL);
    pass_set_result(g, op, 0, x->dtype, &loss_shape);
    if (op->n_results > 1)
        pass_set_result(g, op, 1, x->dtype, &x_shape);
    return 0;
}

int
pass_math_loss_encode(const struct ir_graph *g, const struct ir_op *op,
                      struct pass_params *p)
{
    int reduction = RT_LOSS_MEAN;
    if (loss_reduction(g, op, &reduction) != 0)
        return -1;
    const struct ir_shape *s = &pass_operand(g, op, 0)->shape;
    int64_t d = 1;
    for (int i = 2; i < s->rank; i++)
        d *= s->dim[i];
    const struct ir_attr *ignore = ir_op_attr(op, "ignore_index");
    pass_params_int(p, s->dim[0]);
    pass_params_int(p, s->dim[1]);
    pass_params_int(p, d);
    pass_params_int(p, reduction);
    pass_params_int(p, ignore != NULL);
    pass_params_int(p, ignore ? ignore->i : 0);
    pass_params_int(p, op->kind == IR_OP_SOFTMAX_CROSS_ENTROPY_LOSS);
    return 0;
}
