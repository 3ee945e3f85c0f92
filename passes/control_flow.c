/*
 * If and Loop whose control is known at compile time, expanded while the
 * infer pass walks the graph.  An If whose condition is a constant becomes
 * the ops of the chosen branch.  A Loop whose trip count and condition are
 * constants, and whose body computes a constant condition in every
 * iteration, becomes one copy of its body per iteration.  Every other If
 * or Loop is rejected as not supported.
 *
 * The expansion happens here rather than in the frontend because the
 * control values usually become constants only when the symbolic dims are
 * bound and the shape arithmetic before the op is folded.  Each copied op
 * is inferred (and folded) as soon as it is added, so a Loop learns its
 * body's condition for the next iteration, and nested control flow
 * expands in turn.  The new ops go to the end of the op array and then
 * move to just after the If or Loop, which keeps the topological order.
 */
#include "passes.h"

#include <stdlib.h>
#include <string.h>

/* Limits on iterations per Loop and on ops added by all expansions, so
 * that a huge trip count fails cleanly and compile time stays bounded. */
#define MAX_ITERATIONS 4096
#define MAX_NEW_OPS 65536

struct expansion {
    struct ir_graph *g;
    struct pass_manager *pm;
    int32_t op;        /* index of the If or Loop */
    int32_t first_new; /* g->n_ops when the expansion started */
};

/*
 * The value in the main graph that body value v stands for.  map contains
 * the inputs and the results copied so far, and consts the body's
 * constants already copied into the main graph.
 */
static int32_t
main_value(struct expansion *x, const struct ir_graph *body, const int32_t *map,
           int32_t *consts, int32_t v)
{
    if (v == IR_NONE)
        return IR_NONE;
    if (map[v] != IR_NONE)
        return map[v];
    const struct ir_value *bv = &body->values[v];
    IR_ASSERT(bv->kind == IR_VALUE_CONST);
    if (consts[v] == IR_NONE)
        consts[v] = ir_const_add(x->g, NULL, bv->dtype, &bv->shape, bv->data,
                                 bv->nbytes);
    return consts[v];
}

/* Infer op id, which was just added at the end (expanding it in turn). */
static int
infer_new(struct expansion *x, int32_t id)
{
    int32_t inserted;
    return pass_infer_op(x->g, id, x->pm, &inserted);
}

/*
 * The budget covers all expansions of a compile, so that many Loops of
 * moderate size cannot add more ops in total than one large Loop may.
 */
static int
check_budget(struct expansion *x)
{
    int64_t before = x->pm ? x->pm->expanded_ops : 0;
    if (before + x->g->n_ops - x->first_new <= MAX_NEW_OPS)
        return 0;
    return ir_error(x->g, &x->g->ops[x->op], IR_NONE,
                    "expanding this op makes control flow add more than %d "
                    "ops to the graph; control flow this large is not "
                    "supported",
                    MAX_NEW_OPS);
}

/* Copy every op of body into the main graph, mapping its values. */
static int
copy_body(struct expansion *x, const struct ir_graph *body, int32_t *map,
          int32_t *consts, const char *prefix)
{
    int rc = 0;
    for (int32_t b = 0; b < body->n_ops && rc == 0; b++) {
        const struct ir_op *bop = &body->ops[b];
        int32_t *operands =
            ir_xmalloc(sizeof(int32_t) * (size_t)(bop->n_operands + 1));
        int32_t *results =
            ir_xmalloc(sizeof(int32_t) * (size_t)(bop->n_results + 1));
        for (int k = 0; k < bop->n_operands; k++)
            operands[k] = main_value(x, body, map, consts, bop->operands[k]);
        for (int k = 0; k < bop->n_results; k++) {
            results[k] = ir_value_add(x->g, NULL, IR_VALUE_RESULT,
                                      IR_DTYPE_UNDEFINED, NULL);
            map[bop->results[k]] = results[k];
        }
        size_t size = strlen(prefix) + strlen(bop->name) + 2;
        char *name = ir_xmalloc(size);
        snprintf(name, size, "%s/%s", prefix, bop->name);
        int32_t id = ir_op_add(x->g, bop->kind, name, bop->opset, operands,
                               bop->n_operands, results, bop->n_results);
        for (int k = 0; k < bop->n_attrs; k++) {
            struct ir_attr attr = bop->attrs[k];
            if (attr.kind == IR_ATTR_TENSOR)
                attr.tensor = main_value(x, body, map, consts, attr.tensor);
            ir_op_set_attr(&x->g->ops[id], &attr);
        }
        free(name);
        free(operands);
        free(results);
        rc = infer_new(x, id);
        if (rc == 0)
            rc = check_budget(x);
    }
    return rc;
}

/* Add result = Identity(from), named after the expanded op. */
static int
add_identity(struct expansion *x, int32_t from, int32_t result)
{
    if (result == IR_NONE)
        return 0;
    char name[256];
    snprintf(name, sizeof(name), "%s/result", x->g->ops[x->op].name);
    return infer_new(x, ir_op_add(x->g, IR_OP_IDENTITY, name, x->g->opset,
                                  &from, 1, &result, 1));
}

/* The body graph of graph attribute name, or NULL after an error. */
static const struct ir_graph *
body_of(struct expansion *x, const char *name)
{
    const struct ir_op *op = &x->g->ops[x->op];
    const struct ir_attr *a = ir_op_attr(op, name);
    if (!a || a->kind != IR_ATTR_GRAPH || a->graph < 0 ||
        a->graph >= x->g->n_bodies) {
        ir_error(x->g, op, IR_NONE, "the graph attribute '%s' is missing",
                 name);
        return NULL;
    }
    return x->g->bodies[a->graph];
}

/*
 * Read control operand i (what names it) as one bool or int64 element.
 * Returns 1 when the operand is omitted, 0 when *out is set, -1 after an
 * error.
 */
static int
control_value(struct expansion *x, int i, const char *what, enum ir_dtype dtype,
              int64_t *out)
{
    const struct ir_op *op = &x->g->ops[x->op];
    const struct ir_value *v = pass_operand(x->g, op, i);
    if (!v)
        return 1;
    if (v->kind != IR_VALUE_CONST)
        return ir_error(x->g, op, op->operands[i],
                        "input %d (%s) must be a constant once the input "
                        "dims are bound, but it depends on run-time data; "
                        "%s with run-time control is not supported",
                        i, what, ir_op_kind_name(op->kind));
    if (v->dtype != dtype || ir_shape_numel(&v->shape) != 1)
        return ir_error(x->g, op, op->operands[i],
                        "input %d (%s) must be one %s element", i, what,
                        ir_dtype_name(dtype));
    if (dtype == IR_DTYPE_BOOL)
        *out = *(const uint8_t *)v->data != 0;
    else
        memcpy(out, v->data, sizeof(*out));
    return 0;
}

/* 1 or 0 when value v is a one-element bool constant, else -1. */
static int
constant_condition(const struct ir_graph *g, int32_t v)
{
    const struct ir_value *c = &g->values[v];
    if (c->kind != IR_VALUE_CONST || c->dtype != IR_DTYPE_BOOL ||
        ir_shape_numel(&c->shape) != 1)
        return -1;
    return *(const uint8_t *)c->data != 0;
}

static int32_t *
new_map(const struct ir_graph *body)
{
    int32_t *map = ir_xmalloc(sizeof(int32_t) * (size_t)(body->n_values + 1));
    for (int32_t v = 0; v < body->n_values; v++)
        map[v] = IR_NONE;
    return map;
}

/*
 * If: operands cond, then the enclosing values that then_branch reads,
 * then those that else_branch reads.
 */
static int
expand_if(struct expansion *x)
{
    const struct ir_graph *then_body = body_of(x, "then_branch");
    const struct ir_graph *else_body = body_of(x, "else_branch");
    if (!then_body || !else_body)
        return -1;
    const struct ir_op *op = &x->g->ops[x->op];
    int32_t n_read = then_body->n_inputs + else_body->n_inputs;
    if (op->n_operands != 1 + n_read)
        return ir_error(x->g, op, IR_NONE,
                        "has %d inputs, but its condition and the values "
                        "its branches read make %d",
                        op->n_operands, 1 + n_read);
    int64_t cond;
    int rc = control_value(x, 0, "cond", IR_DTYPE_BOOL, &cond);
    if (rc > 0)
        return ir_error(x->g, op, IR_NONE, "input 0 (cond) is missing");
    if (rc < 0)
        return -1;
    const struct ir_graph *body = cond ? then_body : else_body;
    int first = cond ? 1 : 1 + then_body->n_inputs;
    if (op->n_results > body->n_outputs)
        return ir_error(x->g, op, IR_NONE,
                        "has %d outputs, but its %s branch has %d",
                        op->n_results, cond ? "then" : "else", body->n_outputs);

    int32_t *map = new_map(body), *consts = new_map(body);
    for (int32_t k = 0; k < body->n_inputs; k++)
        map[body->inputs[k]] = op->operands[first + k];
    char prefix[256];
    snprintf(prefix, sizeof(prefix), "%s/%s", op->name, cond ? "then" : "else");
    rc = copy_body(x, body, map, consts, prefix);
    for (int32_t k = 0; k < x->g->ops[x->op].n_results && rc == 0; k++)
        rc = add_identity(x, main_value(x, body, map, consts, body->outputs[k]),
                          x->g->ops[x->op].results[k]);
    free(map);
    free(consts);
    return rc;
}

/* Stack the per-iteration values of one scan output along a new axis 0. */
static int
stack_scan(struct expansion *x, const int32_t *values, int64_t n,
           int32_t result)
{
    if (result == IR_NONE)
        return 0;
    char name[256];
    snprintf(name, sizeof(name), "%s/scan", x->g->ops[x->op].name);
    struct ir_shape one = ir_shape_make(1, (int64_t[]){1});
    int64_t zero = 0;
    int32_t axes =
        ir_const_add(x->g, NULL, IR_DTYPE_INT64, &one, &zero, sizeof(zero));
    int32_t *parts = ir_xmalloc(sizeof(int32_t) * (size_t)(n + 1));
    int rc = 0;
    for (int64_t t = 0; t < n && rc == 0; t++) {
        int32_t in[2] = {values[t], axes};
        parts[t] =
            ir_value_add(x->g, NULL, IR_VALUE_RESULT, IR_DTYPE_UNDEFINED, NULL);
        rc = infer_new(x, ir_op_add(x->g, IR_OP_UNSQUEEZE, name, x->g->opset,
                                    in, 2, &parts[t], 1));
    }
    if (rc == 0) {
        int32_t id = ir_op_add(x->g, IR_OP_CONCAT, name, x->g->opset, parts,
                               (int)n, &result, 1);
        ir_op_set_int(&x->g->ops[id], "axis", 0);
        rc = infer_new(x, id);
    }
    free(parts);
    return rc;
}

/* The state of an unrolled Loop between iterations. */
struct unroll {
    int64_t trip_count; /* a negative count runs no iteration */
    bool has_trip_count, has_cond;
    int64_t cond;
    int n_carried, n_scan;
    int32_t *carried; /* n_carried current values */
    int32_t *scans;   /* n_scan values per iteration, iteration-major */
    int64_t n_done;   /* iterations unrolled */
};

/* Unroll iteration u->n_done of body; sets u->cond for the next one. */
static int
unroll_once(struct expansion *x, const struct ir_graph *body, struct unroll *u,
            int32_t *consts)
{
    const struct ir_op *op = &x->g->ops[x->op];
    int n_read = body->n_inputs - 2 - u->n_carried;
    int32_t *map = new_map(body);
    struct ir_shape scalar = ir_shape_make(0, NULL);
    uint8_t yes = 1;
    map[body->inputs[0]] = ir_const_add(x->g, NULL, IR_DTYPE_INT64, &scalar,
                                        &u->n_done, sizeof(u->n_done));
    map[body->inputs[1]] =
        ir_const_add(x->g, NULL, IR_DTYPE_BOOL, &scalar, &yes, sizeof(yes));
    for (int j = 0; j < u->n_carried; j++)
        map[body->inputs[2 + j]] = u->carried[j];
    for (int k = 0; k < n_read; k++)
        map[body->inputs[2 + u->n_carried + k]] =
            op->operands[2 + u->n_carried + k];

    char prefix[256];
    snprintf(prefix, sizeof(prefix), "%s/iteration%lld", op->name,
             (long long)u->n_done);
    int rc = copy_body(x, body, map, consts, prefix);
    if (rc == 0 && u->has_cond) {
        int32_t c = main_value(x, body, map, consts, body->outputs[0]);
        int cond = constant_condition(x->g, c);
        const struct ir_value *cv = &x->g->values[c];
        if (cond < 0 && cv->kind == IR_VALUE_CONST)
            rc = ir_error(x->g, &x->g->ops[x->op], IR_NONE,
                          "the condition that the body computes in "
                          "iteration %lld is a constant of dtype %s with "
                          "%lld elements; it must be one bool",
                          (long long)u->n_done, ir_dtype_name(cv->dtype),
                          (long long)ir_shape_numel(&cv->shape));
        else if (cond < 0)
            rc = ir_error(x->g, &x->g->ops[x->op], IR_NONE,
                          "the condition that the body computes in "
                          "iteration %lld is not a constant; a Loop whose "
                          "condition depends on run-time data is not "
                          "supported",
                          (long long)u->n_done);
        u->cond = cond;
    }
    if (rc == 0) {
        for (int j = 0; j < u->n_carried; j++)
            u->carried[j] =
                main_value(x, body, map, consts, body->outputs[1 + j]);
        u->scans = ir_xrealloc(u->scans,
                               sizeof(int32_t) *
                                   (size_t)((u->n_done + 1) * u->n_scan + 1));
        for (int k = 0; k < u->n_scan; k++)
            u->scans[u->n_done * u->n_scan + k] = main_value(
                x, body, map, consts, body->outputs[1 + u->n_carried + k]);
        u->n_done++;
    }
    free(map);
    return rc;
}

/* Check the Loop's operand and result counts against its body's. */
static int
check_loop_arity(struct expansion *x, const struct ir_graph *body,
                 struct unroll *u)
{
    const struct ir_op *op = &x->g->ops[x->op];
    int64_t n_read = ir_op_int(op, "captured", 0);
    u->n_carried = op->n_operands - 2 - (int)n_read;
    u->n_scan = body->n_outputs - 1 - u->n_carried;
    if (op->n_operands < 2 || u->n_carried < 0 ||
        body->n_inputs != 2 + u->n_carried + n_read)
        return ir_error(x->g, op, IR_NONE,
                        "has %d inputs, but its body takes %d with %lld "
                        "values it reads from the enclosing graph",
                        op->n_operands, body->n_inputs, (long long)n_read);
    if (u->n_scan < 0 || op->n_results > u->n_carried + u->n_scan)
        return ir_error(x->g, op, IR_NONE,
                        "has %d outputs and %d loop-carried values, but its "
                        "body has %d outputs",
                        op->n_results, u->n_carried, body->n_outputs);
    return 0;
}

/*
 * Loop: operands M (trip count), cond, the initial
 * values of the loop-carried values, then the enclosing values that the
 * body reads.  The body takes the iteration number, cond and the carried
 * values, and returns cond, the carried values and the scan outputs.
 * Without M the loop runs while cond is true.  Without cond the body's
 * cond output is ignored, as in the mode table of ONNX's Loop
 * documentation.
 */
static int
expand_loop(struct expansion *x)
{
    const struct ir_graph *body = body_of(x, "body");
    struct unroll u = {0};
    if (!body || check_loop_arity(x, body, &u) != 0)
        return -1;
    int rc_m = control_value(x, 0, "M", IR_DTYPE_INT64, &u.trip_count);
    int rc_c = control_value(x, 1, "cond", IR_DTYPE_BOOL, &u.cond);
    if (rc_m < 0 || rc_c < 0)
        return -1;
    u.has_trip_count = rc_m == 0;
    u.has_cond = rc_c == 0;
    if (!u.has_cond)
        u.cond = 1;
    if (rc_m == 1 && !u.has_cond)
        return ir_error(x->g, &x->g->ops[x->op], IR_NONE,
                        "has neither a trip count nor a condition, so it "
                        "never ends");

    const struct ir_op *op = &x->g->ops[x->op];
    u.carried = ir_xmalloc(sizeof(int32_t) * (size_t)(u.n_carried + 1));
    for (int j = 0; j < u.n_carried; j++)
        u.carried[j] = op->operands[2 + j];
    int32_t *consts = new_map(body);
    int rc = 0;
    while (rc == 0 && u.cond &&
           (!u.has_trip_count || u.n_done < u.trip_count)) {
        if (u.n_done >= MAX_ITERATIONS)
            rc = ir_error(x->g, &x->g->ops[x->op], IR_NONE,
                          "runs more than %d iterations; onnxc unrolls "
                          "loops only up to that count",
                          MAX_ITERATIONS);
        else
            rc = unroll_once(x, body, &u, consts);
    }

    int n_results = x->g->ops[x->op].n_results;
    for (int j = 0; j < u.n_carried && j < n_results && rc == 0; j++)
        rc = add_identity(x, u.carried[j], x->g->ops[x->op].results[j]);
    for (int k = 0; u.n_carried + k < n_results && rc == 0; k++) {
        int32_t result = x->g->ops[x->op].results[u.n_carried + k];
        if (result != IR_NONE && u.n_done == 0) {
            rc = ir_error(x->g, &x->g->ops[x->op], result,
                          "runs no iterations, so the shape of scan output "
                          "%d is unknown; this is not supported",
                          k);
            break;
        }
        int32_t *values = ir_xmalloc(sizeof(int32_t) * (size_t)(u.n_done + 1));
        for (int64_t t = 0; t < u.n_done; t++)
            values[t] = u.scans[t * u.n_scan + k];
        rc = stack_scan(x, values, u.n_done, result);
        free(values);
    }
    free(u.carried);
    free(u.scans);
    free(consts);
    return rc;
}

/* Move ops [first, n_ops) to index at, after the ops before it. */
static void
move_ops(struct ir_graph *g, int32_t at, int32_t first)
{
    int32_t n = g->n_ops - first;
    if (n == 0 || at == first)
        return;
    struct ir_op *block = ir_xmalloc(sizeof(struct ir_op) * (size_t)n);
    memcpy(block, &g->ops[first], sizeof(struct ir_op) * (size_t)n);
    memmove(&g->ops[at + n], &g->ops[at],
            sizeof(struct ir_op) * (size_t)(first - at));
    memcpy(&g->ops[at], block, sizeof(struct ir_op) * (size_t)n);
    free(block);
}

int
pass_expand_control_flow(struct ir_graph *g, int32_t i, struct pass_manager *pm,
                         int32_t *inserted)
{
    struct expansion x = {g, pm, i, g->n_ops};
    int rc = g->ops[i].kind == IR_OP_IF ? expand_if(&x) : expand_loop(&x);
    *inserted = 0;
    if (rc != 0)
        return -1;
    g->ops[i].dead = true;
    pass_stat_add(
        pm, g->ops[i].kind == IR_OP_IF ? "If ops inlined" : "Loop ops unrolled",
        1);
    *inserted = g->n_ops - x.first_new;
    if (pm)
        pm->expanded_ops += *inserted;
    move_ops(g, i + 1, x.first_new);
    ir_graph_fill_uses(g);
    return 0;
}
