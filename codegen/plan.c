/*
 * The static memory plan.  Every value an op computes gets an offset in one
 * workspace, and two values share bytes only when their live ranges, from the
 * defining op to the last op that reads them, do not overlap.
 *
 * A result that contains a run of its operand's elements in their order
 * (Reshape, Squeeze, a Slice of leading rows, see pass_op_is_view) is not
 * computed.  It is a view into the operand's bytes, and the op that makes
 * it emits no call.  The bytes it views then stay live until the view's
 * last reader.
 */
#include "codegen.h"

#include "../passes/passes.h"

#include <stdlib.h>

#define ARENA_ALIGN 64
/* The largest workspace planned, far above any machine's memory, so that
 * no sum of offsets and sizes below it overflows. */
#define ARENA_MAX ((int64_t)1 << 56)

struct block {
    int64_t offset, size;
    int32_t last_use; /* op index after which the bytes are free */
};

/* Bytes of v rounded up to the alignment, or -1 beyond ARENA_MAX. */
static int64_t
value_bytes(const struct ir_value *v)
{
    int64_t n = ir_shape_numel(&v->shape), size = ir_dtype_size(v->dtype);
    if (n < 0 || (size > 0 && n > ARENA_MAX / size))
        return -1;
    n *= size;
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

/*
 * Mark the views, each pointing at the value that owns its bytes, and
 * extend that value's live range (in last) over the view's readers.
 */
static void
find_views(const struct ir_graph *g, struct cg_plan *plan, int32_t *last)
{
    int max_results = 1;
    for (int32_t i = 0; i < g->n_ops; i++)
        if (g->ops[i].n_results > max_results)
            max_results = g->ops[i].n_results;
    int64_t *first = ir_xmalloc(sizeof(int64_t) * (size_t)max_results);
    for (int32_t i = 0; i < g->n_ops; i++) {
        const struct ir_op *op = &g->ops[i];
        if (!pass_op_is_view(g, op, first))
            continue;
        int32_t src = op->operands[0];
        int32_t base = plan->base[src] >= 0 ? plan->base[src] : src;
        int64_t at = plan->base[src] >= 0 ? plan->base_byte[src] : 0;
        int64_t size = (int64_t)ir_dtype_size(g->values[src].dtype);
        plan->skip[i] = true;
        for (int k = 0; k < op->n_results; k++) {
            int32_t v = op->results[k];
            plan->base[v] = base;
            plan->base_byte[v] = at + first[k] * size;
            if (last[v] > last[base])
                last[base] = last[v];
        }
    }
    free(first);
}

int
cg_plan_memory(const struct ir_graph *g, struct cg_plan *plan)
{
    int32_t nv = g->n_values;
    plan->offset = ir_xmalloc(sizeof(int64_t) * (size_t)(nv + 1));
    plan->base = ir_xmalloc(sizeof(int32_t) * (size_t)(nv + 1));
    plan->base_byte = ir_xcalloc((size_t)nv + 1, sizeof(int64_t));
    plan->skip = ir_xcalloc((size_t)g->n_ops + 1, sizeof(bool));
    plan->arena_size = 0;
    plan->naive_size = 0;
    int32_t *last = ir_xmalloc(sizeof(int32_t) * (size_t)(nv + 1));
    for (int32_t v = 0; v < nv; v++) {
        plan->offset[v] = -1;
        plan->base[v] = -1;
        last[v] = -1;
    }
    for (int32_t i = 0; i < g->n_ops; i++)
        for (int k = 0; k < g->ops[i].n_operands; k++)
            if (g->ops[i].operands[k] != IR_NONE)
                last[g->ops[i].operands[k]] = i;
    for (int32_t i = 0; i < g->n_outputs; i++)
        last[g->outputs[i]] = g->n_ops;
    find_views(g, plan, last);

    struct block *blocks = ir_xmalloc(sizeof(struct block) * (size_t)(nv + 1));
    int n = 0;
    for (int32_t i = 0; i < g->n_ops; i++) {
        const struct ir_op *op = &g->ops[i];
        for (int k = 0; k < op->n_results; k++) {
            int32_t v = op->results[k];
            const struct ir_value *val = &g->values[v];
            if (val->kind != IR_VALUE_RESULT || plan->base[v] >= 0)
                continue;
            int64_t size = value_bytes(val);
            /* A result that no op reads still needs a place to be written. */
            int32_t end = last[v] < i ? i : last[v];
            int64_t off = size < 0 ? 0 : place(blocks, n, i, size);
            if (size < 0 || off + size > ARENA_MAX) {
                ir_error(g, op, v,
                         "the result does not fit the workspace, which "
                         "cannot exceed 2^56 bytes");
                free(blocks);
                free(last);
                return -1;
            }
            plan->naive_size = plan->naive_size > INT64_MAX - size
                                   ? INT64_MAX
                                   : plan->naive_size + size;
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
    free(plan->base);
    free(plan->base_byte);
    free(plan->skip);
    plan->offset = NULL;
    plan->base = NULL;
    plan->base_byte = NULL;
    plan->skip = NULL;
}
