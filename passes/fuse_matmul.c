/*
 * MatMul epilogue fusion:
 *
 *   MatMul(x, W) -> Add(bias) [-> Relu | Gelu] [-> Add(residual)]
 *
 * becomes onnxc.FusedMatMul(x, W, bias, [residual]) {activation}, whose
 * kernel applies bias, activation and residual to each block of rows
 * right after computing it.  W must be a constant float32 [K, N], the
 * bias a constant with N elements along the last axis, the residual as
 * big as the result, x of rank 2 or more, and every swallowed
 * intermediate single-use.
 *
 * Then a MatMul whose B is a single-use Transpose of a value computed at
 * run time reads that value in place.  The Transpose's perm becomes the
 * MatMul's perm_b attribute, and the kernel passes the strides to the
 * GEMM, which packs B's panels from any strides.  Transposes of constants
 * are left to constant folding.
 *
 * Requires: static shapes (infer ran).  Keeps: topological order.
 * Breaks: nothing.
 */
#include "fuse_match.h"

#include <stdlib.h>
#include <string.h>

struct matmul_match {
    int32_t bias, residual;
    const char *activation;
    struct ir_op *ops[4];
    int n_ops;
};

/* A float32 constant with N elements along the last axis of y. */
static bool
is_bias(const struct ir_graph *g, int32_t c, int32_t y)
{
    const struct ir_value *cv = &g->values[c];
    const struct ir_shape *ys = &g->values[y].shape;
    int64_t n = ys->dim[ys->rank - 1];
    return cv->kind == IR_VALUE_CONST && cv->dtype == IR_DTYPE_FLOAT &&
           cv->shape.rank >= 1 && cv->shape.rank <= ys->rank &&
           ir_shape_numel(&cv->shape) == n &&
           cv->shape.dim[cv->shape.rank - 1] == n;
}

static const char *
check_matmul(const struct ir_graph *g, const struct ir_op *mm)
{
    const struct ir_value *x = &g->values[mm->operands[0]];
    const struct ir_value *w = &g->values[mm->operands[1]];
    if (ir_op_attr(mm, "perm_b"))
        return "W is read through perm_b";
    if (w->kind != IR_VALUE_CONST || w->shape.rank != 2)
        return "W is not a constant 2-D matrix";
    if (x->shape.rank < 2)
        return "x has rank below 2";
    if (x->dtype != IR_DTYPE_FLOAT || w->dtype != IR_DTYPE_FLOAT)
        return "the MatMul is not float32";
    return NULL;
}

/* The activation after the bias Add, if its single user is one. */
static void
match_activation(struct ir_graph *g, int32_t *v, struct matmul_match *m)
{
    struct ir_op *act = fuse_single_use(g, *v) ? fuse_sole_user(g, *v) : NULL;
    if (!act)
        return;
    if (act->kind == IR_OP_RELU)
        m->activation = "relu";
    else if (act->kind == IR_OP_GELU)
        m->activation =
            strcmp(ir_op_string(act, "approximate", "none"), "tanh") == 0
                ? "gelu_tanh"
                : "gelu";
    else
        return;
    m->ops[m->n_ops++] = act;
    *v = act->results[0];
}

/* A residual Add of a value shaped like *v, the single user of *v. */
static void
match_residual(struct ir_graph *g, int32_t *v, struct matmul_match *m)
{
    struct ir_op *add = fuse_single_user_of(g, *v, IR_OP_ADD);
    if (!add)
        return;
    int32_t r = fuse_other_operand(add, *v);
    if (r == IR_NONE || r == *v || g->values[r].dtype != IR_DTYPE_FLOAT ||
        !ir_shape_equal(&g->values[r].shape, &g->values[*v].shape) ||
        !ir_shape_equal(&g->values[add->results[0]].shape,
                        &g->values[*v].shape))
        return;
    m->residual = r;
    m->ops[m->n_ops++] = add;
    *v = add->results[0];
}

static void
try_matmul_at(struct ir_graph *g, struct pass_manager *pm, struct ir_op *mm)
{
    const char *p = "FusedMatMul";
    const char *why = check_matmul(g, mm);
    if (why) {
        fuse_reject(pm, mm, p, "%s", why);
        return;
    }
    int32_t y = mm->results[0];
    struct ir_op *add = fuse_single_user_of(g, y, IR_OP_ADD);
    int32_t bias = add ? fuse_other_operand(add, y) : IR_NONE;
    if (!add || bias == IR_NONE || bias == y || !is_bias(g, bias, y) ||
        !ir_shape_equal(&g->values[add->results[0]].shape,
                        &g->values[y].shape)) {
        fuse_reject(pm, mm, p,
                    "the result does not feed a single Add of a "
                    "constant bias along the last axis");
        return;
    }
    struct matmul_match m = {
        .bias = bias, .residual = IR_NONE, .activation = "none"};
    m.ops[m.n_ops++] = mm;
    m.ops[m.n_ops++] = add;
    int32_t v = add->results[0];
    match_activation(g, &v, &m);
    match_residual(g, &v, &m);

    fuse_fused(pm, mm, p);
    struct ir_op *last = m.ops[m.n_ops - 1];
    int32_t operands[4] = {mm->operands[0], mm->operands[1], m.bias,
                           m.residual};
    int32_t result = last->results[0];
    char *name = ir_xstrdup(mm->name);
    fuse_rewrite(last, IR_OP_FUSED_MATMUL, operands,
                 m.residual != IR_NONE ? 4 : 3, &result, 1);
    ir_op_set_string(last, "activation", m.activation);
    free(last->name);
    last->name = name;
    for (int i = 0; i < m.n_ops - 1; i++)
        m.ops[i]->dead = true;
    fuse_refresh(g);
}

/* The perm of Transpose t: its attribute, or the reversed axes. */
static bool
transpose_perm(const struct ir_graph *g, const struct ir_op *t, int64_t *perm)
{
    int r = g->values[t->operands[0]].shape.rank;
    const struct ir_attr *a = ir_op_attr(t, "perm");
    if (!a) {
        for (int i = 0; i < r; i++)
            perm[i] = r - 1 - i;
        return true;
    }
    if (a->kind != IR_ATTR_INTS || a->n != r)
        return false;
    memcpy(perm, a->ints, sizeof(int64_t) * (size_t)r);
    return true;
}

/* Fold MatMul(a, Transpose(x)) into MatMul(a, x) {perm_b}. */
static void
try_transpose_b_at(struct ir_graph *g, struct pass_manager *pm,
                   struct ir_op *mm)
{
    const char *pattern = "Transpose of B";
    int32_t b = mm->operands[1];
    struct ir_op *t = fuse_producer_of(g, b, IR_OP_TRANSPOSE);
    if (!t || ir_op_attr(mm, "perm_b"))
        return;
    int32_t x = t->operands[0];
    int64_t perm[IR_MAX_RANK];
    if (g->values[b].shape.rank < 2)
        fuse_not_folded(pm, mm, pattern, "B has rank %d, below 2",
                        g->values[b].shape.rank);
    else if (g->values[x].kind == IR_VALUE_CONST)
        fuse_not_folded(pm, mm, pattern,
                        "the Transpose input is a constant, which constant "
                        "folding transposes");
    else if (!fuse_single_use(g, b))
        fuse_not_folded(pm, mm, pattern,
                        "the Transpose result has another user");
    else if (!transpose_perm(g, t, perm))
        fuse_not_folded(pm, mm, pattern, "the Transpose has an invalid perm");
    else {
        ir_op_set_ints(mm, "perm_b", perm, g->values[b].shape.rank);
        mm->operands[1] = x;
        t->dead = true;
        fuse_refresh(g);
        fuse_folded(pm, mm, pattern, "Transposes of B folded");
    }
}

static int
run_fuse_matmul(struct ir_graph *g, struct pass_manager *pm)
{
    ir_graph_fill_uses(g);
    for (int32_t i = 0; i < g->n_ops; i++)
        if (!g->ops[i].dead && g->ops[i].kind == IR_OP_MATMUL)
            try_matmul_at(g, pm, &g->ops[i]);
    for (int32_t i = 0; i < g->n_ops; i++)
        if (!g->ops[i].dead && g->ops[i].kind == IR_OP_MATMUL)
            try_transpose_b_at(g, pm, &g->ops[i]);
    return fuse_finish(g);
}

const struct pass pass_fuse_matmul = {
    .name = "fuse-matmul",
    .summary = "fuse MatMul with a bias, activation and residual epilogue",
    .run = run_fuse_matmul,
};
