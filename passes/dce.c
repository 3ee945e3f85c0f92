/*
 * Dead-code elimination: removes ops none of whose results reach a graph
 * output, then constants that nothing reads.
 *
 * Requires: nothing.  Keeps: topological order.  Breaks: value indices,
 * since dropped constants are renumbered away.
 */
#include "passes.h"

#include <stdlib.h>

static int
run_dce(struct ir_graph *g, struct pass_manager *pm)
{
    bool *live = ir_xcalloc((size_t)g->n_values + 1, sizeof(bool));
    for (int32_t i = 0; i < g->n_outputs; i++)
        live[g->outputs[i]] = true;

    int64_t removed = 0;
    for (int32_t i = g->n_ops - 1; i >= 0; i--) {
        struct ir_op *op = &g->ops[i];
        bool needed = false;
        for (int k = 0; k < op->n_results; k++)
            needed |= live[op->results[k]];
        if (!needed) {
            op->dead = true;
            removed++;
            continue;
        }
        for (int k = 0; k < op->n_operands; k++)
            if (op->operands[k] != IR_NONE)
                live[op->operands[k]] = true;
    }
    free(live);
    ir_graph_compact(g);
    pass_stat_add(pm, "ops removed", removed);
    pass_stat_add(pm, "constants removed", ir_graph_prune_constants(g));
    return 0;
}

const struct pass pass_dce = {
    .name = "dce",
    .summary = "remove ops whose results are never used",
    .run = run_dce,
};
