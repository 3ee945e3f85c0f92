/*
 * The per-op table: for each op kind, its shape inference, its kernel
 * parameters and its kernel.  Constant folding and code generation both
 * build kernel calls here, so they pass a kernel the same parameters.
 */
#include "passes.h"

#include <stdlib.h>
#include <string.h>

void
pass_params_int(struct pass_params *p, int64_t v)
{
    if (p->n_ints >= p->cap_ints) {
        p->cap_ints = p->cap_ints ? 2 * p->cap_ints : 16;
        p->ints = ir_xrealloc(p->ints, sizeof(int64_t) * (size_t)p->cap_ints);
    }
    p->ints[p->n_ints++] = v;
}

void
pass_params_float(struct pass_params *p, double v)
{
    if (p->n_floats >= p->cap_floats) {
        p->cap_floats = p->cap_floats ? 2 * p->cap_floats : 8;
        p->floats =
            ir_xrealloc(p->floats, sizeof(double) * (size_t)p->cap_floats);
    }
    p->floats[p->n_floats++] = v;
}

static const struct pass_op_impl *const op_groups[] = {
    pass_ops_elementwise, pass_ops_shape, pass_ops_math,
    pass_ops_conv,        pass_ops_fused,
};

const struct pass_op_impl *
pass_op_impl(enum ir_op_kind kind)
{
    static const struct pass_op_impl *table[IR_OP_COUNT];
    static bool filled;

    if (!filled) {
        for (size_t i = 0; i < sizeof(op_groups) / sizeof(op_groups[0]); i++)
            for (const struct pass_op_impl *e = op_groups[i];
                 e->kind != IR_OP_COUNT; e++)
                table[e->kind] = e;
        filled = true;
    }
    if ((int)kind < 0 || kind >= IR_OP_COUNT)
        return NULL;
    return table[kind];
}

void
pass_desc_from_value(const struct ir_value *v, struct rt_desc *d)
{
    memset(d, 0, sizeof(*d));
    if (!v)
        return;
    d->dtype = (int32_t)v->dtype;
    d->rank = v->shape.rank;
    for (int i = 0; i < v->shape.rank && i < RT_MAX_RANK; i++)
        d->dims[i] = v->shape.dim[i];
}

int
pass_kernel_call_init(const struct ir_graph *g, const struct ir_op *op,
                      struct pass_kernel_call *call)
{
    memset(call, 0, sizeof(*call));
    call->impl = pass_op_impl(op->kind);
    if (!call->impl || !call->impl->kernel)
        return ir_error(g, op, IR_NONE, "operator is not supported");

    int n = op->n_operands + op->n_results;
    call->descs = ir_xcalloc((size_t)n + 1, sizeof(struct rt_desc));
    for (int i = 0; i < op->n_operands; i++)
        pass_desc_from_value(pass_operand(g, op, i), &call->descs[i]);
    for (int i = 0; i < op->n_results; i++)
        pass_desc_from_value(&g->values[op->results[i]],
                             &call->descs[op->n_operands + i]);
    if (call->impl->encode && call->impl->encode(g, op, &call->params) != 0) {
        pass_kernel_call_free(call);
        return -1;
    }

    call->node.name = op->name;
    call->node.op_type = ir_op_kind_name(op->kind);
    call->node.n_inputs = op->n_operands;
    call->node.n_outputs = op->n_results;
    call->node.n_ints = call->params.n_ints;
    call->node.n_floats = call->params.n_floats;
    call->node.descs = call->descs;
    call->node.ints = call->params.ints;
    call->node.floats = call->params.floats;
    return 0;
}

void
pass_kernel_call_free(struct pass_kernel_call *call)
{
    free(call->descs);
    free(call->params.ints);
    free(call->params.floats);
    memset(call, 0, sizeof(*call));
}
