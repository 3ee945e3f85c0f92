/*
 * Weight pre-packing: MatMul(x, W), Gemm(x, W, ...) and
 * onnxc.FusedMatMul(x, W, ...) with a float32 constant W get a copy of W in the
 * panel layout of rt_gemm_pack_b, which the GEMM core streams without copying,
 * and the attribute packed_b set to the panel width.  The width comes from the
 * CPU onnxc runs on, which is the CPU codegen compiles the library for.
 *
 * Requires: static shapes (infer ran).  Must run after every pass that
 * folds or reads constant data, because a packed constant's data is no
 * longer in the row-major order of its shape.  Keeps: topological order.
 * Breaks: value indices, since replaced constants are dropped.
 */
#include "passes.h"
#include "../runtime/k_gemm.h"

#include <stdlib.h>
#include <string.h>

int64_t
pass_layout_host_panel_width(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        return RT_GEMM_NR_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return RT_GEMM_NR_AVX2;
#endif
    return RT_GEMM_NR_SSE;
}

int64_t
pass_layout_panel_width(const struct ir_op *op)
{
    int64_t nr = ir_op_int(op, "packed_b", 0);
    return nr != 0 ? nr : pass_layout_host_panel_width();
}

bool
pass_layout_is_packed(const struct ir_op *op)
{
    return ir_op_int(op, "packed_b", 0) != 0;
}

/*
 * The strides of op's B operand as a K x N matrix, or false when the op
 * cannot read a packed B: not float32, B not a 2-D constant, A constant
 * (folding computes it), already packed, or B read through perm_b.
 */
static bool
packable(const struct ir_graph *g, const struct ir_op *op, int64_t *k,
         int64_t *n, int64_t *rs, int64_t *cs)
{
    if ((op->kind != IR_OP_MATMUL && op->kind != IR_OP_GEMM &&
         op->kind != IR_OP_FUSED_MATMUL) ||
        op->n_operands < 2 || pass_layout_is_packed(op) ||
        ir_op_attr(op, "perm_b"))
        return false;
    const struct ir_value *a = pass_operand(g, op, 0);
    const struct ir_value *b = pass_operand(g, op, 1);
    if (!a || !b || a->kind == IR_VALUE_CONST || b->kind != IR_VALUE_CONST ||
        a->dtype != IR_DTYPE_FLOAT || b->dtype != IR_DTYPE_FLOAT ||
        b->shape.rank != 2 || !b->data)
        return false;
    int64_t rows = b->shape.dim[0], cols = b->shape.dim[1];
    if (op->kind == IR_OP_GEMM && ir_op_int(op, "transB", 0) != 0) {
        *k = cols;
        *n = rows;
        *rs = 1;
        *cs = cols;
    } else {
        *k = rows;
        *n = cols;
        *rs = cols;
        *cs = 1;
    }
    return *k * *n > 0 && (size_t)(*k * *n) * sizeof(float) == b->nbytes;
}

/* A packed copy of constant w, named after it. */
static int32_t
add_packed(struct ir_graph *g, int32_t w, int64_t k, int64_t n, int64_t rs,
           int64_t cs, int64_t nr)
{
    const struct ir_value *wv = &g->values[w];
    size_t nbytes = wv->nbytes;
    float *data = ir_xmalloc(nbytes);
    rt_gemm_pack_b(wv->data, rs, cs, k, n, nr, data);
    size_t len = strlen(wv->name) + 16;
    char *name = ir_xmalloc(len);
    snprintf(name, len, "%s.packed", wv->name);
    struct ir_shape shape = wv->shape;
    int32_t v = ir_const_add(g, name, IR_DTYPE_FLOAT, &shape, data, nbytes);
    free(name);
    free(data);
    return v;
}

static int
run_layout(struct ir_graph *g, struct pass_manager *pm)
{
    int64_t nr = pass_layout_host_panel_width();
    /* packed[w]: the packed copy of constant w, shared by its users. */
    int32_t n_before = g->n_values;
    int32_t *packed = ir_xmalloc(sizeof(int32_t) * ((size_t)n_before + 1));
    for (int32_t v = 0; v < n_before; v++)
        packed[v] = IR_NONE;
    int64_t n_ops = 0, n_consts = 0;
    for (int32_t i = 0; i < g->n_ops; i++) {
        int64_t k, n, rs, cs;
        if (!packable(g, &g->ops[i], &k, &n, &rs, &cs))
            continue;
        int32_t w = g->ops[i].operands[1];
        if (packed[w] == IR_NONE) {
            packed[w] = add_packed(g, w, k, n, rs, cs, nr);
            n_consts++;
        }
        struct ir_op *op = &g->ops[i];
        op->operands[1] = packed[w];
        ir_op_set_int(op, "packed_b", nr);
        n_ops++;
    }
    free(packed);
    ir_graph_fill_uses(g);
    ir_graph_prune_constants(g);
    pass_stat_add(pm, "ops with a packed B", n_ops);
    pass_stat_add(pm, "weights packed", n_consts);
    return 0;
}

const struct pass pass_layout = {
    .name = "layout",
    .summary = "pack constant MatMul and Gemm weights into GEMM panels",
    .run = run_layout,
};
