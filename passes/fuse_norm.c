/*
 * Normalisation fusions.  Each matcher starts at a candidate op and walks
 * the exporter's decomposition; every op it swallows except the last must
 * have a single use, and the last is rewritten in place so that the
 * result keeps its value, name and shape.
 *
 *   LayerNorm: ReduceMean(x) -> Sub(x, mean) -> Pow(d, 2) | Mul(d, d) ->
 *     ReduceMean -> Add(eps) -> Sqrt -> Div(d, sqrt) [-> Mul(scale)]
 *     [-> Add(bias)]  becomes  LayerNormalization(x, scale, bias), the
 *     form PyTorch exports below opset 17.
 *   RMSNorm (T5): Pow(x, 2) | Mul(x, x) -> ReduceMean -> Add(eps) -> Sqrt
 *     -> Div(x, sqrt) | Mul(x, Reciprocal(sqrt)) | Mul(x, Div(1, sqrt))
 *     [-> Mul(scale)]  becomes  onnxc.RMSNorm(x, scale).
 *   SkipLayerNorm: Add(a, b) -> LayerNormalization  becomes
 *     onnxc.SkipLayerNorm(a, b, scale, bias), which also returns a + b
 *     when the sum has other uses.
 *
 * Every reduction must be over the last axis only with keepdims = 1,
 * epsilon a constant scalar, scale and bias constants that broadcast
 * along the last axis only, the result the shape of x, and all of it
 * float32.
 *
 * Requires: static shapes (infer ran).  Keeps: topological order.
 * Breaks: nothing.
 */
#include "fuse_match.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SWALLOWED 12

struct norm_match {
    int32_t x;
    double epsilon;
    int32_t scale, bias; /* constants, or IR_NONE */
    struct ir_op *ops[MAX_SWALLOWED];
    int n_ops;
    const char *why; /* the failed condition, for --explain-fusion */
};

static void
swallow(struct norm_match *m, struct ir_op *op)
{
    IR_ASSERT(m->n_ops < MAX_SWALLOWED);
    m->ops[m->n_ops++] = op;
}

static bool
is_f32(const struct ir_graph *g, int32_t v)
{
    return g->values[v].dtype == IR_DTYPE_FLOAT;
}

/*
 * Check that rm is a ReduceMean over the last axis of its input only,
 * with keepdims = 1.  Sets m->why and returns false otherwise.
 */
static bool
reduces_last_axis(struct ir_graph *g, const struct ir_op *rm,
                  struct norm_match *m)
{
    static char why[96];
    const struct ir_value *in = &g->values[rm->operands[0]];
    if (rm->n_operands < 2 || rm->operands[1] == IR_NONE) {
        m->why = "ReduceMean has no axes, so it reduces every axis";
        return false;
    }
    const struct ir_value *axes = &g->values[rm->operands[1]];
    if (axes->kind != IR_VALUE_CONST || ir_shape_numel(&axes->shape) != 1 ||
        (axes->dtype != IR_DTYPE_INT64 && axes->dtype != IR_DTYPE_INT32)) {
        m->why = "ReduceMean axes are not one constant axis";
        return false;
    }
    int64_t axis;
    if (axes->dtype == IR_DTYPE_INT64) {
        memcpy(&axis, axes->data, sizeof(axis));
    } else {
        int32_t a32;
        memcpy(&a32, axes->data, sizeof(a32));
        axis = a32;
    }
    int rank = in->shape.rank;
    if (axis != -1 && axis != rank - 1) {
        snprintf(why, sizeof(why),
                 "ReduceMean axis is %lld, expected the last axis",
                 (long long)axis);
        m->why = why;
        return false;
    }
    if (ir_op_int(rm, "keepdims", 1) == 0) {
        m->why = "ReduceMean keepdims is 0";
        return false;
    }
    return true;
}

/*
 * A scale or bias constant c applied to a row of x: a float32 constant
 * with one element or the last dim's n elements along the last axis, no
 * higher rank than x.
 */
static bool
row_constant(const struct ir_graph *g, int32_t c, int32_t x)
{
    const struct ir_value *cv = &g->values[c];
    const struct ir_shape *xs = &g->values[x].shape;
    if (cv->kind != IR_VALUE_CONST || cv->dtype != IR_DTYPE_FLOAT ||
        cv->shape.rank > xs->rank)
        return false;
    int64_t numel = ir_shape_numel(&cv->shape);
    if (numel == 1)
        return true;
    int64_t n = xs->dim[xs->rank - 1];
    return cv->shape.rank >= 1 && numel == n &&
           cv->shape.dim[cv->shape.rank - 1] == n;
}

/*
 * Absorb an elementwise op of kind k that applies a row constant to *v,
 * the only use of *v.  Returns false with m->why set when such an op
 * exists but would change the shape; true otherwise.
 */
static bool
absorb_affine(struct ir_graph *g, struct norm_match *m, int32_t *v,
              enum ir_op_kind k, int32_t *param)
{
    static char why[160];
    struct ir_op *op = fuse_single_user_of(g, *v, k);
    if (!op)
        return true;
    int32_t c = fuse_other_operand(op, *v);
    if (c == IR_NONE || c == *v || g->values[c].kind != IR_VALUE_CONST)
        return true;
    int32_t r = op->results[0];
    /* A scale that broadcasts the normalised rows to a bigger shape makes
     * the pattern something else; leave all of it alone. */
    if (!ir_shape_equal(&g->values[r].shape, &g->values[m->x].shape)) {
        char rs[64], xs[64];
        snprintf(why, sizeof(why),
                 "the %s by a constant makes the result %s, but the input "
                 "is %s",
                 k == IR_OP_MUL ? "Mul" : "Add",
                 fuse_shape_str(g, r, rs, sizeof(rs)),
                 fuse_shape_str(g, m->x, xs, sizeof(xs)));
        m->why = why;
        return false;
    }
    if (!row_constant(g, c, m->x))
        return true;
    *param = c;
    swallow(m, op);
    *v = r;
    return true;
}

/* Match Add(var, eps) -> Sqrt after the variance; returns the Sqrt. */
static struct ir_op *
match_eps_sqrt(struct ir_graph *g, int32_t var, struct norm_match *m)
{
    struct ir_op *add = fuse_single_user_of(g, var, IR_OP_ADD);
    if (!add) {
        m->why = "the mean of squares does not feed a single Add of "
                 "epsilon";
        return NULL;
    }
    int32_t eps = fuse_other_operand(add, var);
    if (eps == IR_NONE || !fuse_const_scalar(g, eps, &m->epsilon) ||
        !is_f32(g, eps)) {
        m->why = "epsilon is not a constant float32 scalar";
        return NULL;
    }
    swallow(m, add);
    struct ir_op *sq = fuse_single_user_of(g, add->results[0], IR_OP_SQRT);
    if (!sq) {
        m->why = "variance + epsilon does not feed a single Sqrt";
        return NULL;
    }
    swallow(m, sq);
    return sq;
}

/* The value squared by op, Pow(x, 2) or Mul(x, x), or IR_NONE. */
static int32_t
squared_value(const struct ir_graph *g, const struct ir_op *op)
{
    if (op->kind == IR_OP_POW && fuse_const_near(g, op->operands[1], 2.0))
        return op->operands[0];
    if (op->kind == IR_OP_MUL && op->operands[0] == op->operands[1])
        return op->operands[0];
    return IR_NONE;
}

static bool
match_layer_norm(struct ir_graph *g, struct ir_op *rm, struct ir_op *sub,
                 struct norm_match *m)
{
    int32_t x = rm->operands[0], d = sub->results[0];
    m->x = x;
    swallow(m, rm);
    swallow(m, sub);
    if (g->values[d].is_output) {
        m->why = "x - mean is a graph output";
        return false;
    }
    /* d feeds exactly the square and the Div, nothing else. */
    struct ir_op *square = NULL, *div = NULL;
    const struct ir_value *dv = &g->values[d];
    for (int32_t i = 0; i < dv->n_uses; i++) {
        struct ir_op *u = &g->ops[dv->uses[i]];
        if (u->dead || u == square || u == div)
            continue;
        if (!square && squared_value(g, u) == d)
            square = u;
        else if (!div && u->kind == IR_OP_DIV && u->operands[0] == d)
            div = u;
        else {
            m->why = "x - mean has a use other than its square and the Div";
            return false;
        }
    }
    if (!square || !div) {
        m->why = "x - mean is not both squared and divided";
        return false;
    }
    int uses = fuse_use_count(g, d);
    if (uses != (square->kind == IR_OP_MUL ? 3 : 2)) {
        m->why = "x - mean has more uses than its square and the Div";
        return false;
    }
    swallow(m, square);
    struct ir_op *rm2 =
        fuse_single_user_of(g, square->results[0], IR_OP_REDUCE_MEAN);
    if (!rm2) {
        m->why = "the square does not feed a single ReduceMean";
        return false;
    }
    if (!reduces_last_axis(g, rm2, m))
        return false;
    swallow(m, rm2);
    struct ir_op *sq = match_eps_sqrt(g, rm2->results[0], m);
    if (!sq)
        return false;
    if (!fuse_single_use(g, sq->results[0]) ||
        div->operands[1] != sq->results[0]) {
        m->why = "the Sqrt does not feed only the Div";
        return false;
    }
    swallow(m, div);
    return true;
}

/* The x / sqrt(...) step of RMSNorm after sq; returns its result. */
static int32_t
match_rms_divide(struct ir_graph *g, int32_t x, struct ir_op *sq,
                 struct norm_match *m)
{
    int32_t s = sq->results[0];
    struct ir_op *user = fuse_single_use(g, s) ? fuse_sole_user(g, s) : NULL;
    if (user && user->kind == IR_OP_DIV && user->operands[0] == x &&
        user->operands[1] == s) {
        swallow(m, user);
        return user->results[0];
    }
    /* 1 / sqrt as Reciprocal or Div(1, sqrt), then Mul(x, r). */
    bool recip = user && ((user->kind == IR_OP_RECIPROCAL) ||
                          (user->kind == IR_OP_DIV && user->operands[1] == s &&
                           fuse_const_near(g, user->operands[0], 1.0)));
    if (!recip) {
        m->why = "the Sqrt does not feed a Div of the input or a "
                 "reciprocal";
        return IR_NONE;
    }
    swallow(m, user);
    int32_t r = user->results[0];
    struct ir_op *mul = fuse_single_user_of(g, r, IR_OP_MUL);
    if (!mul || fuse_other_operand(mul, r) != x) {
        m->why = "1 / sqrt(...) does not multiply the input";
        return IR_NONE;
    }
    swallow(m, mul);
    return mul->results[0];
}

static bool
match_rms_norm(struct ir_graph *g, struct ir_op *rm, struct ir_op *square,
               struct norm_match *m)
{
    int32_t x = squared_value(g, square);
    m->x = x;
    swallow(m, square);
    swallow(m, rm);
    struct ir_op *sq = match_eps_sqrt(g, rm->results[0], m);
    if (!sq)
        return false;
    return match_rms_divide(g, x, sq, m) != IR_NONE;
}

/* A constant of n float32 ones, the scale of a norm without one. */
static int32_t
ones_constant(struct ir_graph *g, int64_t n)
{
    float *ones = ir_xmalloc(sizeof(float) * (size_t)(n + 1));
    for (int64_t i = 0; i < n; i++)
        ones[i] = 1.0f;
    struct ir_shape s = ir_shape_make(1, &n);
    int32_t c = ir_const_add(g, NULL, IR_DTYPE_FLOAT, &s, ones,
                             sizeof(float) * (size_t)n);
    free(ones);
    return c;
}

/* Replace the matched ops by one op of kind at the last of them. */
static void
replace_norm(struct ir_graph *g, struct norm_match *m, enum ir_op_kind kind,
             const char *name)
{
    struct ir_op *last = m->ops[m->n_ops - 1];
    const struct ir_shape *xs = &g->values[m->x].shape;
    int32_t scale = m->scale != IR_NONE
                        ? m->scale
                        : ones_constant(g, xs->dim[xs->rank - 1]);
    int32_t operands[3] = {m->x, scale, m->bias};
    int n = m->bias != IR_NONE ? 3 : 2;
    int32_t result = last->results[0];
    fuse_rewrite(last, kind, operands, n, &result, 1);
    ir_op_set_int(last, "axis", -1);
    ir_op_set_float(last, "epsilon", m->epsilon);
    free(last->name);
    last->name = ir_xstrdup(name);
    for (int i = 0; i < m->n_ops - 1; i++)
        m->ops[i]->dead = true;
    fuse_refresh(g);
}

/* After the core matched, absorb scale and bias and check the shape. */
static bool
finish_match(struct ir_graph *g, struct norm_match *m, bool with_bias)
{
    int32_t v = m->ops[m->n_ops - 1]->results[0];
    static char why[160];
    if (!ir_shape_equal(&g->values[v].shape, &g->values[m->x].shape)) {
        char rs[64], xs[64];
        snprintf(why, sizeof(why), "the result is %s but the input is %s",
                 fuse_shape_str(g, v, rs, sizeof(rs)),
                 fuse_shape_str(g, m->x, xs, sizeof(xs)));
        m->why = why;
        return false;
    }
    if (!absorb_affine(g, m, &v, IR_OP_MUL, &m->scale))
        return false;
    if (with_bias && !absorb_affine(g, m, &v, IR_OP_ADD, &m->bias))
        return false;
    for (int i = 0; i < m->n_ops; i++) {
        if (!is_f32(g, m->ops[i]->results[0])) {
            m->why = "the pattern is not float32";
            return false;
        }
    }
    return true;
}

/* Try LayerNorm, then RMSNorm, at a ReduceMean. */
static void
try_norm_at(struct ir_graph *g, struct pass_manager *pm, struct ir_op *rm)
{
    struct norm_match m = {.scale = IR_NONE, .bias = IR_NONE};
    int32_t x = rm->operands[0];
    int32_t mean = rm->results[0];
    struct ir_op *sub = fuse_single_user_of(g, mean, IR_OP_SUB);
    struct ir_op *square = fuse_producer(g, x);
    const char *pattern;
    bool ok;
    if (sub && sub->operands[0] == x && sub->operands[1] == mean) {
        pattern = "LayerNorm";
        ok = reduces_last_axis(g, rm, &m) && match_layer_norm(g, rm, sub, &m) &&
             finish_match(g, &m, true);
    } else if (square && squared_value(g, square) != IR_NONE &&
               fuse_single_use(g, x)) {
        pattern = "RMSNorm";
        ok = reduces_last_axis(g, rm, &m) &&
             match_rms_norm(g, rm, square, &m) && finish_match(g, &m, false);
    } else {
        fuse_reject(pm, rm, "LayerNorm",
                    "the mean is not subtracted from the input, and the "
                    "input is not a square");
        return;
    }
    if (!ok) {
        fuse_reject(pm, rm, pattern, "%s", m.why);
        return;
    }
    enum ir_op_kind kind = strcmp(pattern, "LayerNorm") == 0
                               ? IR_OP_LAYER_NORMALIZATION
                               : IR_OP_RMS_NORM;
    fuse_fused(pm, rm, pattern);
    replace_norm(g, &m, kind, rm->name);
}

/* Add(a, b) -> LayerNormalization becomes SkipLayerNorm. */
static void
try_skip_at(struct ir_graph *g, struct pass_manager *pm, struct ir_op *ln)
{
    const char *p = "SkipLayerNorm";
    int32_t x = ln->operands[0];
    struct ir_op *add = fuse_producer_of(g, x, IR_OP_ADD);
    const struct ir_shape *xs = &g->values[x].shape;
    int axis = (int)ir_op_int(ln, "axis", -1);
    if (!add) {
        fuse_reject(pm, ln, p, "the input is not an Add");
        return;
    }
    if (ln->n_results != 1) {
        fuse_reject(pm, ln, p,
                    "LayerNormalization returns Mean or "
                    "InvStdDev");
        return;
    }
    if (axis != -1 && axis != xs->rank - 1) {
        fuse_reject(pm, ln, p,
                    "LayerNormalization axis is %d, expected "
                    "the last axis",
                    axis);
        return;
    }
    int32_t a = add->operands[0], b = add->operands[1];
    if (!ir_shape_equal(&g->values[a].shape, xs) ||
        !ir_shape_equal(&g->values[b].shape, xs)) {
        fuse_reject(pm, ln, p, "the Add broadcasts one of its inputs");
        return;
    }
    if (!is_f32(g, a) || !is_f32(g, x)) {
        fuse_reject(pm, ln, p, "the Add is not float32");
        return;
    }
    for (int i = 1; i < ln->n_operands; i++) {
        if (ln->operands[i] != IR_NONE &&
            g->values[ln->operands[i]].kind != IR_VALUE_CONST) {
            fuse_reject(pm, ln, p, "the scale or bias is not a constant");
            return;
        }
    }
    int32_t operands[4] = {a, b, ln->operands[1],
                           ln->n_operands > 2 ? ln->operands[2] : IR_NONE};
    int n_operands = operands[3] != IR_NONE ? 4 : 3;
    int32_t results[2] = {ln->results[0], x};
    int n_results = fuse_single_use(g, x) ? 1 : 2;
    double eps = ir_op_float(ln, "epsilon", 1e-5);
    fuse_fused(pm, ln, p);
    add->dead = true;
    add->n_results = 0; /* the sum, if kept, moves to the new op */
    fuse_rewrite(ln, IR_OP_SKIP_LAYER_NORM, operands, n_operands, results,
                 n_results);
    ir_op_set_int(ln, "axis", -1);
    ir_op_set_float(ln, "epsilon", eps);
    fuse_refresh(g);
}

static int
run_fuse_norm(struct ir_graph *g, struct pass_manager *pm)
{
    ir_graph_fill_uses(g);
    for (int32_t i = 0; i < g->n_ops; i++)
        if (!g->ops[i].dead && g->ops[i].kind == IR_OP_REDUCE_MEAN)
            try_norm_at(g, pm, &g->ops[i]);
    if (fuse_finish(g) != 0)
        return -1;
    for (int32_t i = 0; i < g->n_ops; i++)
        if (!g->ops[i].dead && g->ops[i].kind == IR_OP_LAYER_NORMALIZATION)
            try_skip_at(g, pm, &g->ops[i]);
    return fuse_finish(g);
}

const struct pass pass_fuse_norm = {
    .name = "fuse-norm",
    .summary = "fuse decomposed LayerNorm, RMSNorm and Add + LayerNorm",
    .run = run_fuse_norm,
};
