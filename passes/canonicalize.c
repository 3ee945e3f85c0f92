/*
 * Canonicalisation: removes ops that return their input unchanged, so the
 * fusion passes see the exporter's patterns without them.  It removes
 * Identity, Dropout in inference mode, Reshape and Expand to the input's
 * own shape, Cast to the input's own dtype and Transpose with the
 * identity permutation, by rewiring the uses of the result to the input.
 * An op whose result is a graph output stays, because the generated
 * library takes output names from that value.
 *
 * Requires: static shapes (infer ran).  Keeps: topological order.
 * Breaks: nothing.
 */
#include "fuse_match.h"

#include <stdlib.h>
#include <string.h>

static bool
identity_perm(const struct ir_op *op, int rank)
{
    const struct ir_attr *perm = ir_op_attr(op, "perm");
    if (!perm)
        return rank <= 1;
    if (perm->kind != IR_ATTR_INTS || perm->n != rank)
        return false;
    for (int i = 0; i < rank; i++)
        if (perm->ints[i] != i)
            return false;
    return true;
}

/* Dropout is the identity unless training_mode is a true constant. */
static bool
dropout_is_identity(struct ir_graph *g, const struct ir_op *op)
{
    if (op->n_operands > 2 && op->operands[2] != IR_NONE) {
        double training;
        if (!fuse_const_scalar(g, op->operands[2], &training) &&
            g->values[op->operands[2]].dtype != IR_DTYPE_BOOL)
            return false;
        const struct ir_value *t = &g->values[op->operands[2]];
        if (t->kind != IR_VALUE_CONST || !t->data || t->nbytes < 1 ||
            ((const unsigned char *)t->data)[0] != 0)
            return false;
    }
    /* The mask output would have to become a constant of trues. */
    for (int i = 1; i < op->n_results; i++)
        if (fuse_use_count(g, op->results[i]) > 0 ||
            g->values[op->results[i]].is_output)
            return false;
    return true;
}

/* The statistic for a removable op, or NULL if op is not a no-op. */
static const char *
no_op_stat(struct ir_graph *g, const struct ir_op *op)
{
    if (op->n_operands < 1 || op->operands[0] == IR_NONE)
        return NULL;
    const struct ir_value *in = &g->values[op->operands[0]];
    const struct ir_value *out = &g->values[op->results[0]];
    bool same_type =
        in->dtype == out->dtype && ir_shape_equal(&in->shape, &out->shape);
    switch (op->kind) {
    case IR_OP_IDENTITY:
        return same_type ? "Identity removed" : NULL;
    case IR_OP_DROPOUT:
        return same_type && dropout_is_identity(g, op) ? "Dropout removed"
                                                       : NULL;
    case IR_OP_RESHAPE:
        return same_type ? "Reshape removed" : NULL;
    case IR_OP_CAST:
        return same_type ? "Cast removed" : NULL;
    case IR_OP_TRANSPOSE:
        return same_type && identity_perm(op, in->shape.rank)
                   ? "Transpose removed"
                   : NULL;
    case IR_OP_EXPAND:
        return same_type ? "Expand removed" : NULL;
    default:
        return NULL;
    }
}

/*
 * Ops are visited in topological order, and each op's operands are first
 * mapped through the replacements made so far, so one pass rewrites every
 * use in time linear in the graph, however many ops are removed.  Use
 * counts stay those of the input graph, which removals only raise.
 */
static int
run_canonicalize(struct ir_graph *g, struct pass_manager *pm)
{
    ir_graph_fill_uses(g);
    int32_t *repl = ir_xmalloc(sizeof(int32_t) * ((size_t)g->n_values + 1));
    for (int32_t v = 0; v < g->n_values; v++)
        repl[v] = v;
    for (int32_t i = 0; i < g->n_ops; i++) {
        struct ir_op *op = &g->ops[i];
        if (op->dead)
            continue;
        for (int k = 0; k < op->n_operands; k++)
            if (op->operands[k] != IR_NONE)
                op->operands[k] = repl[op->operands[k]];
        const char *stat = no_op_stat(g, op);
        if (!stat || g->values[op->results[0]].is_output)
            continue;
        op->dead = true;
        repl[op->results[0]] = op->operands[0];
        pass_stat_add(pm, stat, 1);
    }
    for (int32_t i = 0; i < g->n_outputs; i++)
        g->outputs[i] = repl[g->outputs[i]];
    free(repl);
    ir_graph_fill_uses(g);
    return fuse_finish(g);
}

const struct pass pass_canonicalize = {
    .name = "canonicalize",
    .summary = "remove Identity, inference Dropout and no-op Reshape, Cast, "
               "Transpose and Expand",
    .run = run_canonicalize,
};
