/*
 * Attention fusion.  Scaled dot-product attention as exporters write it,
 *
 *   MatMul(q', k') [-> Mul(c) | Div(c)] [-> Add(mask) | Where(mask, s, f)
 *   | Where(mask, f, s)] -> Softmax(last axis) -> MatMul(p, v)
 *
 * where q' is q or q scaled by a constant (Mul or Div) and k' is
 * Transpose(k) swapping the last two axes or a k that is already laid
 * out [..., D, S], becomes onnxc.Attention(q, k, v, [mask]), whose kernel
 * streams over keys with an online softmax.  The scalings keep their own
 * operation (multiply or divide) so results round as the unfused ops do.
 *
 * Conditions: float32; q, k and v of one rank with equal batch dims (no
 * MatMul broadcasting); constant scalar scales; a float32 additive mask
 * or a bool Where mask with a constant scalar fill, neither of which may
 * change the scores' shape; every swallowed intermediate single-use;
 * head sizes up to 1024.
 *
 * Requires: static shapes (infer ran).  Keeps: topological order.
 * Breaks: nothing.
 */
#include "fuse_match.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SWALLOWED 8
#define HEAD_MAX 1024 /* the kernel's stack buffers */

struct attention_match {
    int32_t q, k, v, mask;
    bool k_transposed;
    const char *q_scale_op, *scale_op; /* "mul", "div" or NULL */
    double q_scale, scale;
    const char *mask_mode; /* "add", "where_keep", "where_fill" or NULL */
    double fill;
    struct ir_op *ops[MAX_SWALLOWED];
    int n_ops;
    const char *why;
    char why_buf[160];
};

static void
swallow(struct attention_match *m, struct ir_op *op)
{
    IR_ASSERT(m->n_ops < MAX_SWALLOWED);
    m->ops[m->n_ops++] = op;
}

/*
 * op is Mul(v, c), Mul(c, v) or Div(v, c) with c a float32 constant
 * scalar; returns v and sets *how and *c, or IR_NONE.
 */
static int32_t
scaled_by_const(const struct ir_graph *g, const struct ir_op *op,
                const char **how, double *c)
{
    if (op->kind == IR_OP_DIV) {
        int32_t d = op->operands[1];
        if (g->values[d].dtype == IR_DTYPE_FLOAT &&
            fuse_const_scalar(g, d, c)) {
            *how = "div";
            return op->operands[0];
        }
        return IR_NONE;
    }
    if (op->kind != IR_OP_MUL)
        return IR_NONE;
    for (int i = 0; i < 2; i++) {
        int32_t f = op->operands[1 - i];
        if (g->values[f].dtype == IR_DTYPE_FLOAT &&
            fuse_const_scalar(g, f, c)) {
            *how = "mul";
            return op->operands[i];
        }
    }
    return IR_NONE;
}

/* A Transpose that swaps the last two axes and keeps the others. */
static bool
swaps_last_two(const struct ir_graph *g, const struct ir_op *op)
{
    const struct ir_attr *perm = ir_op_attr(op, "perm");
    int r = g->values[op->operands[0]].shape.rank;
    if (!perm || perm->kind != IR_ATTR_INTS || perm->n != r || r < 2)
        return false;
    for (int i = 0; i < r - 2; i++)
        if (perm->ints[i] != i)
            return false;
    return perm->ints[r - 2] == r - 1 && perm->ints[r - 1] == r - 2;
}

/* The operands of the q k^T MatMul, with q's scale and k's Transpose. */
static void
match_qk(struct ir_graph *g, struct ir_op *mm, struct attention_match *m)
{
    swallow(m, mm);
    m->q = mm->operands[0];
    struct ir_op *qs = fuse_producer(g, m->q);
    int32_t q;
    if (qs && fuse_single_use(g, m->q) &&
        (q = scaled_by_const(g, qs, &m->q_scale_op, &m->q_scale)) != IR_NONE &&
        ir_shape_equal(&g->values[q].shape, &g->values[m->q].shape)) {
        swallow(m, qs);
        m->q = q;
    }
    m->k = mm->operands[1];
    m->k_transposed = true;
    struct ir_op *kt = fuse_producer_of(g, m->k, IR_OP_TRANSPOSE);
    if (kt && fuse_single_use(g, m->k) && swaps_last_two(g, kt)) {
        swallow(m, kt);
        m->k = kt->operands[0];
        m->k_transposed = false;
    }
}

/*
 * Match the scores s = q k^T [* c | / c], where s is the single-use value
 * v.  Leaves m unchanged and returns false when v is not such a value.
 */
static bool
match_scores(struct ir_graph *g, int32_t v, struct attention_match *m)
{
    struct ir_op *op = fuse_producer(g, v);
    if (!op || !fuse_single_use(g, v))
        return false;
    if (op->kind == IR_OP_MATMUL) {
        match_qk(g, op, m);
        return true;
    }
    const char *how;
    double c;
    int32_t in = scaled_by_const(g, op, &how, &c);
    struct ir_op *mm = fuse_producer_of(g, in, IR_OP_MATMUL);
    if (!mm || !fuse_single_use(g, in) ||
        !ir_shape_equal(&g->values[in].shape, &g->values[v].shape))
        return false;
    m->scale_op = how;
    m->scale = c;
    swallow(m, op);
    match_qk(g, mm, m);
    return true;
}

/* Match the mask, if any, and the scores before the Softmax input s. */
static bool
match_masked_scores(struct ir_graph *g, int32_t s, struct attention_match *m)
{
    if (match_scores(g, s, m))
        return true;
    struct ir_op *op = fuse_producer(g, s);
    if (!op || !fuse_single_use(g, s)) {
        m->why = "the Softmax input is not a single-use product q k^T";
        return false;
    }
    if (op->kind == IR_OP_ADD) {
        for (int i = 0; i < 2; i++) {
            int32_t sc = op->operands[i], mask = op->operands[1 - i];
            if (sc == mask ||
                !ir_shape_equal(&g->values[sc].shape, &g->values[s].shape) ||
                g->values[mask].dtype != IR_DTYPE_FLOAT ||
                !match_scores(g, sc, m))
                continue;
            m->mask = mask;
            m->mask_mode = "add";
            swallow(m, op);
            return true;
        }
        m->why = "the Softmax input adds a mask that changes the shape of "
                 "the scores, or no q k^T";
        return false;
    }
    if (op->kind == IR_OP_WHERE) {
        int32_t cond = op->operands[0];
        for (int i = 1; i <= 2; i++) {
            int32_t sc = op->operands[i], fill = op->operands[3 - i];
            if (g->values[cond].dtype != IR_DTYPE_BOOL ||
                g->values[fill].dtype != IR_DTYPE_FLOAT ||
                !fuse_const_scalar(g, fill, &m->fill) ||
                !ir_shape_equal(&g->values[sc].shape, &g->values[s].shape) ||
                g->values[cond].shape.rank > g->values[s].shape.rank ||
                !match_scores(g, sc, m))
                continue;
            m->mask = cond;
            m->mask_mode = i == 1 ? "where_keep" : "where_fill";
            swallow(m, op);
            return true;
        }
        m->why = "the Where before Softmax has no constant fill, changes "
                 "the shape of the scores, or selects no q k^T";
        return false;
    }
    m->why = "the Softmax input is not q k^T, scaled, masked by Add or "
             "Where";
    return false;
}

/* q, k, v of one rank with equal batch dims, and small enough heads. */
static bool
check_shapes(const struct ir_graph *g, struct attention_match *m)
{
    const struct ir_shape *q = &g->values[m->q].shape;
    const struct ir_shape *k = &g->values[m->k].shape;
    const struct ir_shape *v = &g->values[m->v].shape;
    int r = q->rank;
    if (r < 2 || k->rank != r || v->rank != r) {
        m->why = "q, k and v differ in rank";
        return false;
    }
    for (int i = 0; i < r - 2; i++) {
        if (k->dim[i] != q->dim[i] || v->dim[i] != q->dim[i]) {
            m->why = "q, k and v differ in batch dims (MatMul broadcasts)";
            return false;
        }
    }
    if (q->dim[r - 1] > HEAD_MAX || v->dim[r - 1] > HEAD_MAX) {
        m->why = "a head size is above 1024";
        return false;
    }
    if (g->values[m->q].dtype != IR_DTYPE_FLOAT ||
        g->values[m->k].dtype != IR_DTYPE_FLOAT ||
        g->values[m->v].dtype != IR_DTYPE_FLOAT) {
        m->why = "q, k or v is not float32";
        return false;
    }
    return true;
}

static bool
match_attention(struct ir_graph *g, struct ir_op *sm, struct attention_match *m)
{
    int32_t s = sm->operands[0], p = sm->results[0];
    int rank = g->values[s].shape.rank;
    int64_t axis = ir_op_int(sm, "axis", -1);
    if (axis != -1 && axis != rank - 1) {
        snprintf(m->why_buf, sizeof(m->why_buf),
                 "Softmax axis is %lld, expected the last axis",
                 (long long)axis);
        m->why = m->why_buf;
        return false;
    }
    if (g->values[s].dtype != IR_DTYPE_FLOAT) {
        m->why = "Softmax is not float32";
        return false;
    }
    struct ir_op *pv = fuse_single_user_of(g, p, IR_OP_MATMUL);
    if (g->values[p].is_output) {
        m->why = "the Softmax result is a graph output";
        return false;
    }
    if (!pv || pv->operands[0] != p || pv->operands[1] == p) {
        m->why = "the Softmax result does not feed only the first input "
                 "of a MatMul";
        return false;
    }
    m->v = pv->operands[1];
    if (!match_masked_scores(g, s, m))
        return false;
    if (!check_shapes(g, m))
        return false;
    swallow(m, sm);
    swallow(m, pv);
    return true;
}

static void
set_attrs(struct ir_op *op, const struct attention_match *m)
{
    ir_op_set_int(op, "k_transposed", m->k_transposed);
    if (m->q_scale_op) {
        ir_op_set_string(op, "q_scale_op", m->q_scale_op);
        ir_op_set_float(op, "q_scale", m->q_scale);
    }
    if (m->scale_op) {
        ir_op_set_string(op, "scale_op", m->scale_op);
        ir_op_set_float(op, "scale", m->scale);
    }
    if (m->mask_mode) {
        ir_op_set_string(op, "mask_mode", m->mask_mode);
        if (strcmp(m->mask_mode, "add") != 0)
            ir_op_set_float(op, "fill", m->fill);
    }
}

static void
try_attention_at(struct ir_graph *g, struct pass_manager *pm, struct ir_op *sm)
{
    struct attention_match m = {.mask = IR_NONE};
    if (!match_attention(g, sm, &m)) {
        fuse_reject(pm, sm, "Attention", "%s", m.why);
        return;
    }
    fuse_fused(pm, sm, "Attention");
    struct ir_op *last = m.ops[m.n_ops - 1];
    int32_t operands[4] = {m.q, m.k, m.v, m.mask};
    int32_t result = last->results[0];
    fuse_rewrite(last, IR_OP_ATTENTION, operands, m.mask != IR_NONE ? 4 : 3,
                 &result, 1);
    set_attrs(last, &m);
    free(last->name);
    last->name = ir_xstrdup(sm->name);
    for (int i = 0; i < m.n_ops - 1; i++)
        m.ops[i]->dead = true;
    fuse_refresh(g);
}

static int
run_fuse_attention(struct ir_graph *g, struct pass_manager *pm)
{
    ir_graph_fill_uses(g);
    for (int32_t i = 0; i < g->n_ops; i++)
        if (!g->ops[i].dead && g->ops[i].kind == IR_OP_SOFTMAX)
            try_attention_at(g, pm, &g->ops[i]);
    return fuse_finish(g);
}

const struct pass pass_fuse_attention = {
    .name = "fuse-attention",
    .summary = "fuse q k^T, scale, mask, Softmax and the product with v",
    .run = run_fuse_attention,
};
