/*
 * The static memory plan.  Every value an op computes gets an offset in one
 * workspace, and two values share bytes only when their live ranges, from the
 * defining op to the last op that reads them, do not overlap.
 */
#include "codegen.h"

#include <stdlib.h>

#define ARENA_ALIGN 64

struct block {
    int64_t offset, size;
    int32_t last_use; /* op index after which the bytes are free */
};

static int64_t
value_bytes(const struct ir_value *v)
{
    int64_t n = ir_shape_numel(&v->shape) * (int64_t)ir_dtype_size(v->dtype);
    return (n + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
}

/*
 * First fit among the gaps left by blocks that are still live at op t.
 * blocks is sorted by offset.
 */
static int64_t
place(struct block *blocks, int n, int32_t t, int64_t size)
{
    int64_t at = 0;
    for (int i = 0; i < n; i++) {
        if (blocks[i].last_use < t)
            continue;
        if (blocks[i].offset - at >= size)
            return at;
        if (blocks[i].offset + blocks[i].size > at)
            at = blocks[i].offset + blocks[i].size;
    }
    return at;
}

int
cg_plan_memory(const struct ir_graph *g, struct cg_plan *plan)
{
    int32_t nv = g->n_values;
    plan->offset = ir_xmalloc(sizeof(int64_t) * (size_t)(nv + 1));
    plan->arena_size = 0;
    plan->naive_size = 0;
    int32_t *last = ir_xmalloc(sizeof(int32_t) * (size_t)(nv + 1));
    for (int32_t v = 0; v < nv; v++) {
        plan->offset[v] = -1;
        last[v] = -1;
    }
    for (int32_t i = 0; i < g->n_ops; i++)
        for (int k = 0; k < g->ops[i].n_operands; k++)
            if (g->ops[i].operands[k] != IR_NONE)
                last[g->ops[i].operands[k]] = i;
    for (int32_t i = 0; i < g->n_outputs; i++)
        last[g->outputs[i]] = g->n_ops;

    struct block *blocks = ir_xmalloc(sizeof(struct block) * (size_t)(nv + 1));
    int n = 0;
    for (int32_t i = 0; i < g->n_ops; i++) {
        const struct ir_op *op = &g->ops[i];
        for (int k = 0; k < op->n_results; k++) {
            int32_t v = op->results[k];
            const struct ir_value *val = &g->values[v];
            if (val->kind != IR_VALUE_RESULT)
                continue;
            int64_t size = value_bytes(val);
            plan->naive_size += size;
            /* A result that no op reads still needs a place to be written. */
            int32_t end = last[v] < i ? i : last[v];
            int64_t off = place(blocks, n, i, size);
            plan->offset[v] = off;
            int j = n++;
            while (j > 0 && blocks[j - 1].offset > off) {
                blocks[j] = blocks[j - 1];
                j--;
            }
            blocks[j] = (struct block){off, size, end};
            if (off + size > plan->arena_size)
                plan->arena_size = off + size;
        }
    }
    free(blocks);
    free(last);
    return 0;
}

void
cg_plan_free(struct cg_plan *plan)
{
    free(plan->offset);
    plan->offset = NULL;
}
