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
 * The fused op then also absorbs the head split of q, k and v, a Reshape
 * [..., S, H * D] -> [..., S, H, D] and a Transpose that moves H in front
 * of S (for k, optionally D behind S as well), and the head merge of the
 * result, the reverse Transpose and a Reshape to [..., T, H * Dv].  It
 * reads and writes those tensors with strides (attributes heads and
 * q_layout, k_layout, v_layout, out_layout), so neither copy remains.
 * Each of the four folds on its own; one that is not exactly such a split
 * or merge, or whose intermediates have other users, stays in the graph.
 *
 * Requires: static shapes (infer ran).  Keeps: topological order.
 * Breaks: nothing.
 */
#include "fuse_match.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SWALLOWED 16
#define HEAD_MAX 1024 /* the kernel's stack buffers */

/*
 * A Transpose (and the Reshape under it) that the Attention absorbs for
 * one of q, k, v or the result.  layout is an out_layout or *_layout
 * attribute value (see passes/ops_fused.c), "bhsd" when nothing folds.
 */
struct head_fold {
    const char *layout;
    int64_t heads;
    int32_t value;        /* the Reshape's input, or its result */
    struct ir_op *ops[2]; /* Transpose and Reshape, in graph order */
};

struct attention_match {
    int32_t q, k, v, mask;
    bool k_transposed;
    int64_t heads;                     /* 0 until a head split or merge folds */
    struct head_fold folds[4];         /* q, k, v, result */
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
        if (ir_op_attr(op, "perm_b"))
            return false;
        match_qk(g, op, m);
        return true;
    }
    const char *how;
    double c;
    int32_t in = scaled_by_const(g, op, &how, &c);
    struct ir_op *mm = fuse_producer_of(g, in, IR_OP_MATMUL);
    if (!mm || ir_op_attr(mm, "perm_b") || !fuse_single_use(g, in) ||
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
    if (!pv || pv->operands[0] != p || pv->operands[1] == p ||
        ir_op_attr(pv, "perm_b")) {
        m->why = "the Softmax result does not feed only the first input "
                 "of a MatMul without perm_b";
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

/* ---- head split and merge folding ---- */

static const char *const fold_what[4] = {"head split of Q", "head split of K",
                                         "head split of V",
                                         "head merge of the result"};

static void
format_ints(const int64_t *v, int n, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; i < n && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%lld", i ? ", " : "",
                                (long long)v[i]);
}

/*
 * The perm that moves the heads in front of the sequence, from [P..., S,
 * N, D] to [P..., N, S, D], or to [P..., N, D, S] for k given transposed.
 */
static void
head_split_perm(int rank, bool to_kt, int64_t *perm)
{
    for (int i = 0; i < rank; i++)
        perm[i] = i;
    perm[rank - 3] = rank - 2;
    perm[rank - 2] = to_kt ? rank - 1 : rank - 3;
    perm[rank - 1] = to_kt ? rank - 3 : rank - 1;
}

static bool
perm_is(const struct ir_op *t, const int64_t *want, int rank)
{
    const struct ir_attr *perm = ir_op_attr(t, "perm");
    if (!perm || perm->kind != IR_ATTR_INTS || perm->n != rank)
        return false;
    return memcmp(perm->ints, want, sizeof(int64_t) * (size_t)rank) == 0;
}

/* Write why t's perm differs from want into buf. */
static const char *
perm_mismatch(const struct ir_op *t, const int64_t *want, int rank, char *buf,
              size_t size)
{
    const struct ir_attr *perm = ir_op_attr(t, "perm");
    char got[96] = "the default", exp[96];
    if (perm && perm->kind == IR_ATTR_INTS)
        format_ints(perm->ints, perm->n, got, sizeof(got));
    format_ints(want, rank, exp, sizeof(exp));
    snprintf(buf, size, "Transpose perm is [%s], expected [%s]", got, exp);
    return buf;
}

/* Check that t has head_split_perm's perm, or write why not into why. */
static bool
has_head_perm(const struct ir_op *t, int rank, bool to_kt, char *why,
              size_t size)
{
    int64_t want[IR_MAX_RANK];
    head_split_perm(rank, to_kt, want);
    if (perm_is(t, want, rank))
        return true;
    perm_mismatch(t, want, rank, why, size);
    return false;
}

/*
 * The layout in which x [..] stores the head split w = Reshape(x) of rank
 * r, [P..., S, N, D]: "bshd" for x = [P..., S, N * D], "sbhd" for x = [S,
 * B, H * D] with N = B * H.  Sets *heads (N or H); NULL when neither.
 */
static const char *
split_layout(const struct ir_shape *x, const struct ir_shape *w, int64_t *heads)
{
    int r = w->rank;
    if (x->rank == r - 1 && x->dim[r - 2] == w->dim[r - 2] * w->dim[r - 1]) {
        for (int i = 0; i < r - 2; i++)
            if (x->dim[i] != w->dim[i])
                return NULL;
        *heads = w->dim[r - 2];
        return "bshd";
    }
    if (r == 3 && x->rank == 3 && x->dim[0] == w->dim[0] && x->dim[1] > 0 &&
        w->dim[1] % x->dim[1] == 0 &&
        x->dim[2] == w->dim[1] / x->dim[1] * w->dim[2]) {
        *heads = w->dim[1] / x->dim[1];
        return "sbhd";
    }
    return NULL;
}

/*
 * Match u = Transpose(Reshape(x), perm) that splits x's last dim into
 * heads; the reason for a mismatch goes into why.
 */
static bool
match_head_split(struct ir_graph *g, int32_t u, bool to_kt, struct head_fold *f,
                 char *why, size_t size)
{
    int r = g->values[u].shape.rank;
    struct ir_op *t = fuse_producer_of(g, u, IR_OP_TRANSPOSE);
    if (r < 3) {
        snprintf(why, size, "the operand has rank %d, below 3", r);
        return false;
    }
    if (!t) {
        snprintf(why, size, "the operand is not the result of a Transpose");
        return false;
    }
    if (!fuse_single_use(g, u)) {
        snprintf(why, size, "the Transpose result has another user");
        return false;
    }
    if (!has_head_perm(t, r, to_kt, why, size))
        return false;
    int32_t w = t->operands[0];
    struct ir_op *rs = fuse_producer_of(g, w, IR_OP_RESHAPE);
    if (!rs) {
        snprintf(why, size, "the Transpose input is not a Reshape");
        return false;
    }
    if (!fuse_single_use(g, w)) {
        snprintf(why, size, "the Reshape result has another user");
        return false;
    }
    int32_t x = rs->operands[0];
    f->layout =
        split_layout(&g->values[x].shape, &g->values[w].shape, &f->heads);
    if (!f->layout) {
        char xs[96], ws[96];
        snprintf(why, size,
                 "Reshape of %s to %s does not split the last dim into heads",
                 fuse_shape_str(g, x, xs, sizeof(xs)),
                 fuse_shape_str(g, w, ws, sizeof(ws)));
        return false;
    }
    f->value = x;
    f->ops[0] = rs;
    f->ops[1] = t;
    return true;
}

static bool
merges_bshd(const struct ir_shape *o, const struct ir_shape *y)
{
    int r = o->rank;
    if (y->rank != r - 1 || y->dim[r - 3] != o->dim[r - 2] ||
        y->dim[r - 2] != o->dim[r - 3] * o->dim[r - 1])
        return false;
    for (int i = 0; i < r - 3; i++)
        if (y->dim[i] != o->dim[i])
            return false;
    return true;
}

/* H when y = [T * B, H * Dv] merges o = [B * H, T, Dv], else 0. */
static int64_t
merges_sbhd(const struct ir_shape *o, const struct ir_shape *y)
{
    if (o->rank != 3 || y->rank != 2 || o->dim[2] < 1 ||
        y->dim[1] % o->dim[2] != 0)
        return 0;
    int64_t h = y->dim[1] / o->dim[2];
    bool ok =
        h > 0 && o->dim[0] % h == 0 && y->dim[0] == o->dim[1] * (o->dim[0] / h);
    return ok ? h : 0;
}

/*
 * The layout in which the Reshape result y stores the head merge of the
 * attention result o [P..., N, T, Dv] transposed to [P..., T, N, Dv]:
 * "bshd" for y = [P..., T, N * Dv], "sbhd" for y = [T * B, H * Dv] with
 * N = B * H.  The two coincide when B = 1, and then prefer decides.  Sets
 * *heads (N or H); NULL when neither.
 */
static const char *
merge_layout(const struct ir_shape *o, const struct ir_shape *y,
             const char *prefer, int64_t *heads)
{
    int64_t h = merges_sbhd(o, y);
    if (h && (strcmp(prefer, "sbhd") == 0 || !merges_bshd(o, y))) {
        *heads = h;
        return "sbhd";
    }
    if (merges_bshd(o, y)) {
        *heads = o->dim[o->rank - 3];
        return "bshd";
    }
    return NULL;
}

/* Match Reshape(Transpose(o)) that merges the heads of the result o. */
static bool
match_head_merge(struct ir_graph *g, int32_t o, const char *prefer,
                 struct head_fold *f, char *why, size_t size)
{
    int r = g->values[o].shape.rank;
    struct ir_op *t = fuse_single_user_of(g, o, IR_OP_TRANSPOSE);
    if (r < 3) {
        snprintf(why, size, "the result has rank %d, below 3", r);
        return false;
    }
    if (!t) {
        snprintf(why, size, "the result does not feed only a Transpose");
        return false;
    }
    if (!has_head_perm(t, r, false, why, size))
        return false;
    int32_t w = t->results[0];
    struct ir_op *rs = fuse_single_user_of(g, w, IR_OP_RESHAPE);
    if (!rs || rs->operands[0] != w) {
        snprintf(why, size,
                 "the Transpose result does not feed only the "
                 "data input of a Reshape");
        return false;
    }
    int32_t y = rs->results[0];
    f->layout = merge_layout(&g->values[o].shape, &g->values[y].shape, prefer,
                             &f->heads);
    if (!f->layout) {
        char ws[96], ys[96];
        snprintf(why, size, "Reshape of %s to %s does not merge the heads",
                 fuse_shape_str(g, w, ws, sizeof(ws)),
                 fuse_shape_str(g, y, ys, sizeof(ys)));
        return false;
    }
    f->value = y;
    f->ops[0] = t;
    f->ops[1] = rs;
    return true;
}

/*
 * Fold the head split of q, k and v and the head merge of the result o
 * where each is exactly a Transpose and a Reshape that the Attention can
 * address with strides, all with one head count.  Remarks name each
 * decision.
 */
static void
fold_heads(struct ir_graph *g, struct pass_manager *pm, const struct ir_op *at,
           struct attention_match *m, int32_t o)
{
    int32_t *operand[3] = {&m->q, &m->k, &m->v};
    for (int i = 0; i < 4; i++) {
        struct head_fold f = {.layout = "bhsd"};
        char why[256];
        bool ok =
            i < 3 ? match_head_split(g, *operand[i], i == 1 && m->k_transposed,
                                     &f, why, sizeof(why))
                  : match_head_merge(g, o, m->folds[0].layout, &f, why,
                                     sizeof(why));
        if (ok && m->heads && f.heads != m->heads) {
            snprintf(why, sizeof(why),
                     "%lld heads, but %lld in the other "
                     "folds",
                     (long long)f.heads, (long long)m->heads);
            ok = false;
        }
        if (!ok) {
            fuse_not_folded(pm, at, fold_what[i], "%s", why);
            m->folds[i] = (struct head_fold){.layout = "bhsd"};
            continue;
        }
        m->heads = f.heads;
        m->folds[i] = f;
        if (i < 3)
            *operand[i] = f.value;
        if (i == 1)
            m->k_transposed = false;
        fuse_folded(pm, at, fold_what[i],
                    i < 3 ? "head splits folded" : "head merges folded");
    }
}

static void
set_attrs(struct ir_op *op, const struct attention_match *m)
{
    ir_op_set_int(op, "k_transposed", m->k_transposed);
    if (m->heads) {
        static const char *const names[4] = {"q_layout", "k_layout", "v_layout",
                                             "out_layout"};
        ir_op_set_int(op, "heads", m->heads);
        for (int i = 0; i < 4; i++)
            if (strcmp(m->folds[i].layout, "bhsd") != 0)
                ir_op_set_string(op, names[i], m->folds[i].layout);
    }
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
    fold_heads(g, pm, sm, &m, last->results[0]);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 2 && m.folds[i].ops[j]; j++)
            swallow(&m, m.folds[i].ops[j]);
    if (m.folds[3].ops[1])
        last = m.folds[3].ops[1];
    int32_t operands[4] = {m.q, m.k, m.v, m.mask};
    int32_t result = last->results[0];
    fuse_rewrite(last, IR_OP_ATTENTION, operands, m.mask != IR_NONE ? 4 : 3,
                 &result, 1);
    set_attrs(last, &m);
    free(last->name);
    last->name = ir_xstrdup(sm->name);
    for (int i = 0; i < m.n_ops; i++)
        if (m.ops[i] != last)
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
