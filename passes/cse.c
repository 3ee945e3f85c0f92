/*
 * Common subexpression elimination: an op of the same kind, operands and
 * attributes as an earlier op computes the same results, so its uses are
 * rewired to the earlier op's results.  Ops whose results are graph
 * outputs stay, so output names do not change.
 *
 * Requires: topological order.  Keeps: topological order.  Breaks:
 * nothing.
 */
#include "fuse_match.h"

#include <stdlib.h>
#include <string.h>

static bool
same_attr(const struct ir_attr *a, const struct ir_attr *b)
{
    if (strcmp(a->name, b->name) != 0 || a->kind != b->kind)
        return false;
    switch (a->kind) {
    case IR_ATTR_INT:
        return a->i == b->i;
    case IR_ATTR_FLOAT:
        return memcmp(&a->f, &b->f, sizeof(a->f)) == 0;
    case IR_ATTR_STRING:
        return strcmp(a->s, b->s) == 0;
    case IR_ATTR_INTS:
        return a->n == b->n &&
               (a->n == 0 ||
                memcmp(a->ints, b->ints, sizeof(int64_t) * (size_t)a->n) == 0);
    case IR_ATTR_FLOATS:
        return a->n == b->n &&
               (a->n == 0 || memcmp(a->floats, b->floats,
                                    sizeof(double) * (size_t)a->n) == 0);
    case IR_ATTR_STRINGS:
        if (a->n != b->n)
            return false;
        for (int i = 0; i < a->n; i++)
            if (strcmp(a->strings[i], b->strings[i]) != 0)
                return false;
        return true;
    case IR_ATTR_TENSOR:
        return a->tensor == b->tensor;
    case IR_ATTR_GRAPH:
        return a->graph == b->graph;
    }
    return false;
}

/* Attributes are equal as sets: same count and each one found in b. */
static bool
same_op(const struct ir_op *a, const struct ir_op *b)
{
    if (a->kind != b->kind || a->n_operands != b->n_operands ||
        a->n_results != b->n_results || a->n_attrs != b->n_attrs ||
        a->opset != b->opset)
        return false;
    for (int i = 0; i < a->n_operands; i++)
        if (a->operands[i] != b->operands[i])
            return false;
    for (int i = 0; i < a->n_attrs; i++) {
        const struct ir_attr *other = ir_op_attr(b, a->attrs[i].name);
        if (!other || !same_attr(&a->attrs[i], other))
            return false;
    }
    return true;
}

static uint64_t
op_hash(const struct ir_op *op)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)op->kind;
    for (int i = 0; i < op->n_operands; i++)
        h = (h ^ (uint64_t)(uint32_t)op->operands[i]) * 1099511628211ull;
    return h;
}

static bool
any_output(const struct ir_graph *g, const struct ir_op *op)
{
    for (int i = 0; i < op->n_results; i++)
        if (g->values[op->results[i]].is_output)
            return true;
    return false;
}

static int
run_cse(struct ir_graph *g, struct pass_manager *pm)
{
    ir_graph_fill_uses(g);
    /* Open addressing over op indices; -1 marks an empty slot. */
    size_t cap = 16;
    while (cap < 2 * (size_t)g->n_ops)
        cap *= 2;
    int32_t *slots = ir_xmalloc(sizeof(int32_t) * cap);
    memset(slots, 0xff, sizeof(int32_t) * cap);

    for (int32_t i = 0; i < g->n_ops; i++) {
        struct ir_op *op = &g->ops[i];
        if (op->dead)
            continue;
        size_t s = (size_t)op_hash(op) & (cap - 1);
        while (slots[s] >= 0 && !same_op(&g->ops[slots[s]], op))
            s = (s + 1) & (cap - 1);
        if (slots[s] < 0) {
            slots[s] = i;
            continue;
        }
        if (any_output(g, op))
            continue;
        const struct ir_op *first = &g->ops[slots[s]];
        op->dead = true;
        for (int k = 0; k < op->n_results; k++)
            ir_value_replace_uses(g, op->results[k], first->results[k]);
        pass_stat_add(pm, "ops merged", 1);
    }
    free(slots);
    return fuse_finish(g);
}

const struct pass pass_cse = {
    .name = "cse",
    .summary = "merge ops with the same kind, operands and attributes",
    .run = run_cse,
};
