/*
 * GELU fusion.  Two decompositions become one Gelu op (opset 20 form):
 *
 *   erf:  x * 0.5 * (1 + Erf(x / sqrt(2)))       -> Gelu(x)
 *         (Div by sqrt(2) or Mul by 1/sqrt(2))
 *   tanh: 0.5 * x * (1 + Tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))
 *         (x^3 as Pow(x, 3) or x * x * x)       -> Gelu(x, approximate="tanh")
 *
 * The final products may come in any order the exporter writes them:
 * ((x * a) * 0.5), ((a * 0.5) * x) or (a * (x * 0.5)), with either operand
 * of each Mul or Add first.  Constants must match within a relative
 * 1e-6, every swallowed intermediate must have a single use, and the
 * result must have x's shape and dtype float32.
 *
 * Requires: static shapes (infer ran).  Keeps: topological order.
 * Breaks: nothing.
 */
#include "fuse_match.h"

#include <math.h>
#include <stdlib.h>

#define MAX_SWALLOWED 12
#define SQRT2 1.41421356237309504880
#define SQRT_2_OVER_PI 0.79788456080286535588

struct gelu_match {
    int32_t x;
    struct ir_op *ops[MAX_SWALLOWED];
    int n_ops;
    const char *why;
};

static void
swallow(struct gelu_match *m, struct ir_op *op)
{
    IR_ASSERT(m->n_ops < MAX_SWALLOWED);
    m->ops[m->n_ops++] = op;
}

/* op is Mul(v, c) or Mul(c, v) with c a constant near want; returns v. */
static int32_t
mul_by_const(const struct ir_graph *g, const struct ir_op *op, double want)
{
    if (op->kind != IR_OP_MUL)
        return IR_NONE;
    for (int i = 0; i < 2; i++)
        if (fuse_const_near(g, op->operands[1 - i], want))
            return op->operands[i];
    return IR_NONE;
}

/* Add(v, 1) or Add(1, v) as the single use of v; NULL otherwise. */
static struct ir_op *
plus_one(struct ir_graph *g, int32_t v)
{
    struct ir_op *add = fuse_single_user_of(g, v, IR_OP_ADD);
    if (!add)
        return NULL;
    int32_t c = fuse_other_operand(add, v);
    return c != IR_NONE && fuse_const_near(g, c, 1.0) ? add : NULL;
}

/*
 * The products x * 0.5 * a after a = 1 + erf(...) or 1 + tanh(...).
 * Returns the op that computes the whole product, or NULL.
 */
static struct ir_op *
match_half_x_product(struct ir_graph *g, int32_t a, struct gelu_match *m)
{
    int32_t x = m->x;
    struct ir_op *u1 = fuse_single_user_of(g, a, IR_OP_MUL);
    if (!u1) {
        m->why = "1 + erf(...) does not feed a single Mul";
        return NULL;
    }
    swallow(m, u1);
    int32_t o1 = fuse_other_operand(u1, a);
    struct ir_op *half_x = fuse_producer(g, o1);
    if (o1 == x || fuse_const_near(g, o1, 0.5)) {
        /* (x * a) * 0.5 or (a * 0.5) * x. */
        struct ir_op *u2 = fuse_single_user_of(g, u1->results[0], IR_OP_MUL);
        int32_t o2 = u2 ? fuse_other_operand(u2, u1->results[0]) : IR_NONE;
        bool ok = o1 == x ? fuse_const_near(g, o2, 0.5) : o2 == x;
        if (!u2 || !ok) {
            m->why = "the product is not x * 0.5 * (1 + ...)";
            return NULL;
        }
        swallow(m, u2);
        return u2;
    }
    if (half_x && fuse_single_use(g, o1) && mul_by_const(g, half_x, 0.5) == x) {
        /* (x * 0.5) * a */
        swallow(m, half_x);
        return u1;
    }
    m->why = "the product is not x * 0.5 * (1 + ...)";
    return NULL;
}

/* Erf(x / sqrt(2)) or Erf(x * (1 / sqrt(2))) ... */
static struct ir_op *
match_erf(struct ir_graph *g, struct ir_op *erf, struct gelu_match *m)
{
    int32_t in = erf->operands[0];
    struct ir_op *scale = fuse_producer(g, in);
    if (!scale || !fuse_single_use(g, in)) {
        m->why = "the Erf input is not a single-use Div or Mul";
        return NULL;
    }
    if (scale->kind == IR_OP_DIV &&
        fuse_const_near(g, scale->operands[1], SQRT2))
        m->x = scale->operands[0];
    else
        m->x = mul_by_const(g, scale, 1.0 / SQRT2);
    if (m->x == IR_NONE) {
        m->why = "the Erf input is not x / sqrt(2) or x * (1 / sqrt(2))";
        return NULL;
    }
    swallow(m, scale);
    swallow(m, erf);
    struct ir_op *add = plus_one(g, erf->results[0]);
    if (!add) {
        m->why = "Erf does not feed a single Add of 1";
        return NULL;
    }
    swallow(m, add);
    return match_half_x_product(g, add->results[0], m);
}

/* x^3 as Pow(x, 3), Mul(Mul(x, x), x) or Mul(x, Mul(x, x)). */
static bool
match_cube(struct ir_graph *g, int32_t cube, int32_t x, struct gelu_match *m)
{
    struct ir_op *op = fuse_producer(g, cube);
    if (!op || !fuse_single_use(g, cube))
        return false;
    if (op->kind == IR_OP_POW && op->operands[0] == x &&
        fuse_const_near(g, op->operands[1], 3.0)) {
        swallow(m, op);
        return true;
    }
    if (op->kind != IR_OP_MUL)
        return false;
    for (int i = 0; i < 2; i++) {
        int32_t sq = op->operands[i];
        struct ir_op *inner = fuse_producer_of(g, sq, IR_OP_MUL);
        if (op->operands[1 - i] == x && inner && fuse_single_use(g, sq) &&
            inner->operands[0] == x && inner->operands[1] == x) {
            swallow(m, op);
            swallow(m, inner);
            return true;
        }
    }
    return false;
}

/* Tanh(sqrt(2/pi) * (x + 0.044715 * x^3)) ... */
static struct ir_op *
match_tanh(struct ir_graph *g, struct ir_op *tanh_op, struct gelu_match *m)
{
    int32_t in = tanh_op->operands[0];
    struct ir_op *scale = fuse_producer(g, in);
    int32_t inner = scale && fuse_single_use(g, in)
                        ? mul_by_const(g, scale, SQRT_2_OVER_PI)
                        : IR_NONE;
    struct ir_op *sum = fuse_producer_of(g, inner, IR_OP_ADD);
    if (!sum || !fuse_single_use(g, inner)) {
        m->why = "the Tanh input is not sqrt(2/pi) * (x + ...)";
        return NULL;
    }
    swallow(m, scale);
    swallow(m, sum);
    for (int i = 0; i < 2 && m->x == IR_NONE; i++) {
        int32_t x = sum->operands[i], term = sum->operands[1 - i];
        struct ir_op *mul = fuse_producer(g, term);
        int32_t cube = mul && fuse_single_use(g, term)
                           ? mul_by_const(g, mul, 0.044715)
                           : IR_NONE;
        int n = m->n_ops;
        if (cube != IR_NONE && match_cube(g, cube, x, m)) {
            swallow(m, mul);
            m->x = x;
        } else {
            m->n_ops = n;
        }
    }
    if (m->x == IR_NONE) {
        m->why = "the Tanh input is not sqrt(2/pi) * (x + 0.044715 * x^3)";
        return NULL;
    }
    swallow(m, tanh_op);
    struct ir_op *add = plus_one(g, tanh_op->results[0]);
    if (!add) {
        m->why = "Tanh does not feed a single Add of 1";
        return NULL;
    }
    swallow(m, add);
    return match_half_x_product(g, add->results[0], m);
}

static void
try_gelu_at(struct ir_graph *g, struct pass_manager *pm, struct ir_op *at)
{
    bool is_erf = at->kind == IR_OP_ERF;
    const char *pattern = is_erf ? "Gelu" : "Gelu(tanh)";
    struct gelu_match m = {.x = IR_NONE};
    struct ir_op *last = is_erf ? match_erf(g, at, &m) : match_tanh(g, at, &m);
    if (last) {
        int32_t r = last->results[0];
        if (!ir_shape_equal(&g->values[r].shape, &g->values[m.x].shape)) {
            m.why = "the result's shape differs from the input's";
            last = NULL;
        } else if (g->values[m.x].dtype != IR_DTYPE_FLOAT ||
                   g->values[r].dtype != IR_DTYPE_FLOAT) {
            m.why = "the pattern is not float32";
            last = NULL;
        }
    }
    if (!last) {
        /* A Tanh that is no GELU is common (e.g. a pooler), so the remark names
         * the reason. */
        fuse_reject(pm, at, pattern, "%s", m.why);
        return;
    }
    fuse_fused(pm, at, pattern);
    int32_t result = last->results[0];
    fuse_rewrite(last, IR_OP_GELU, &m.x, 1, &result, 1);
    ir_op_set_string(last, "approximate", is_erf ? "none" : "tanh");
    free(last->name);
    last->name = ir_xstrdup(at->name);
    for (int i = 0; i < m.n_ops; i++)
        if (m.ops[i] != last)
            m.ops[i]->dead = true;
    fuse_refresh(g);
}

static int
run_fuse_gelu(struct ir_graph *g, struct pass_manager *pm)
{
    ir_graph_fill_uses(g);
    for (int32_t i = 0; i < g->n_ops; i++) {
        struct ir_op *op = &g->ops[i];
        if (!op->dead && (op->kind == IR_OP_ERF || op->kind == IR_OP_TANH))
            try_gelu_at(g, pm, op);
    }
    return fuse_finish(g);
}

const struct pass pass_fuse_gelu = {
    .name = "fuse-gelu",
    .summary = "fuse the erf and tanh decompositions of GELU into Gelu",
    .run = run_fuse_gelu,
};
