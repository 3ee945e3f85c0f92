/*
 * Body graphs copied into the enclosing graph while loading: the body of
 * SequenceMap once per element, and the branch of an If or the body of a
 * Loop that takes, reads or returns sequences or optionals.  Those values
 * exist only in the frontend, so such control flow cannot wait for the
 * infer pass (passes/control_flow.c).  Its control must be known when the
 * node is read: an If's condition and a Loop's trip count and conditions
 * must be constants, directly or through Identity and Not.
 */
#include "loader.h"

#include <stdlib.h>
#include <string.h>

/* The maximum number of iterations of a Loop unrolled while loading, and
 * of body nodes copied in all, the limits of the infer pass's unrolling,
 * so that a huge expansion fails cleanly. */
#define MAX_ITERATIONS 4096
#define MAX_COPIED_NODES 65536

/* A tensor value, or a composite when composite is true. */
struct item {
    int32_t id;
    bool composite;
};

/*
 * Copy the nodes of body into ld's graph, in a new scope inside s whose
 * value names start with a unique form of label.  Body input k is
 * inputs[k].  Sets outputs[k] to what body output k is.
 */
static int
inline_body(struct fe_loader *ld, struct fe_scope *s,
            const Onnx__NodeProto *node, const Onnx__GraphProto *body,
            const char *label, const struct item *inputs, struct item *outputs)
{
    if (s->depth + 1 >= 64)
        return fe_node_error(s, node, "subgraphs nest more than 64 deep");
    ld->copied_nodes += (int64_t)body->n_node;
    if (ld->copied_nodes > MAX_COPIED_NODES)
        return fe_node_error(s, node,
                             "copying its body would make more than %d "
                             "nodes in all; this is not supported",
                             MAX_COPIED_NODES);
    struct fe_scope it = {0};
    it.caller = s;
    it.lexical = true;
    it.depth = s->depth + 1;
    it.attrs = s->attrs;
    it.n_attrs = s->n_attrs;
    char *prefix = fe_unique_name(ld, label);
    it.prefix = prefix;

    int rc = fe_add_initializers(ld, &it, body);
    for (size_t k = 0; k < body->n_input && rc == 0; k++) {
        const char *name = body->input[k]->name ? body->input[k]->name : "";
        if (inputs[k].composite)
            fe_name_map_put(&it.composites, name, inputs[k].id);
        else
            fe_name_map_put(&it.names, name, inputs[k].id);
    }
    for (size_t j = 0; j < body->n_node && rc == 0; j++)
        rc = fe_add_node(ld, &it, body->node[j]);
    for (size_t k = 0; k < body->n_output && rc == 0; k++) {
        const char *name = body->output[k]->name ? body->output[k]->name : "";
        int32_t c = fe_scope_composite(ld, &it, name);
        if (c != IR_NONE) {
            outputs[k] = (struct item){c, true};
            continue;
        }
        int32_t v = fe_scope_read(ld, &it, name, IR_NONE, (int)k);
        if (v == IR_NONE || !fe_is_defined(ld, v))
            rc = fe_node_error(s, node,
                               "body output '%s' is not defined by any body "
                               "node or input",
                               name);
        outputs[k] = (struct item){v, false};
    }
    fe_name_map_free(&it.names);
    fe_name_map_free(&it.composites);
    free(prefix);
    return rc;
}

/* Define output k of node as item, unless the node leaves it unnamed. */
static int
define_output(struct fe_loader *ld, struct fe_scope *s,
              const Onnx__NodeProto *node, size_t k, struct item item,
              int opset)
{
    if (k >= node->n_output || !*node->output[k])
        return 0;
    if (item.composite)
        return fe_scope_define_composite(ld, s, node, node->output[k], item.id);
    return fe_define_identity(ld, s, node, k, item.id, opset);
}

/* The op that produces v, or NULL. */
static const struct ir_op *
producer(const struct ir_graph *g, int32_t v)
{
    for (int32_t i = g->n_ops - 1; i >= 0; i--)
        for (int r = 0; r < g->ops[i].n_results; r++)
            if (g->ops[i].results[r] == v)
                return &g->ops[i];
    return NULL;
}

/* The scalar that v is while loading: a constant, or an Identity of one.
 * Sets *negate when a Not is on the way, for bool values. */
static const struct ir_value *
known_scalar(const struct ir_graph *g, int32_t v, bool *negate)
{
    for (int depth = 0; depth < 64; depth++) {
        const struct ir_value *val = &g->values[v];
        if (val->kind == IR_VALUE_CONST)
            return ir_shape_numel(&val->shape) == 1 ? val : NULL;
        const struct ir_op *op = producer(g, v);
        if (!op || op->n_operands != 1 || op->operands[0] == IR_NONE)
            return NULL;
        if (op->kind == IR_OP_NOT)
            *negate = !*negate;
        else if (op->kind != IR_OP_IDENTITY)
            return NULL;
        v = op->operands[0];
    }
    return NULL;
}

static bool
known_bool(const struct ir_graph *g, int32_t v, bool *out)
{
    bool negate = false;
    const struct ir_value *val = known_scalar(g, v, &negate);
    if (!val || val->dtype != IR_DTYPE_BOOL)
        return false;
    *out = (*(const uint8_t *)val->data != 0) != negate;
    return true;
}

static bool
known_int(const struct ir_graph *g, int32_t v, int64_t *out)
{
    bool negate = false;
    const struct ir_value *val = known_scalar(g, v, &negate);
    if (!val || negate || val->dtype != IR_DTYPE_INT64)
        return false;
    memcpy(out, val->data, sizeof(int64_t));
    return true;
}

/* Read input k of node as an item; an omitted input is an error. */
static int
read_item(struct fe_loader *ld, struct fe_scope *s, const Onnx__NodeProto *node,
          size_t k, struct item *item)
{
    const char *name = k < node->n_input ? node->input[k] : "";
    int32_t c = *name ? fe_scope_composite(ld, s, name) : IR_NONE;
    if (c != IR_NONE) {
        *item = (struct item){c, true};
        return 0;
    }
    item->id = fe_read_tensor(ld, s, node, k);
    item->composite = false;
    return item->id == IR_NONE ? -1 : 0;
}

/* A new constant scalar for an iteration of node. */
static int32_t
add_scalar(struct fe_loader *ld, const Onnx__NodeProto *node,
           enum ir_dtype dtype, const void *data)
{
    char label[300];
    snprintf(label, sizeof(label), "%s/%s",
             node->name && *node->name ? node->name : node->op_type,
             dtype == IR_DTYPE_BOOL ? "cond" : "iteration");
    char *name = fe_unique_name(ld, label);
    struct ir_shape shape = ir_shape_make(0, NULL);
    int32_t v =
        ir_const_add(ld->g, name, dtype, &shape, data, ir_dtype_size(dtype));
    fe_mark_defined(ld, v);
    free(name);
    return v;
}

/* The label of copy i of node's body: "name/iter3". */
static void
iteration_label(const Onnx__NodeProto *node, int64_t i, char *buf, size_t size)
{
    snprintf(buf, size, "%s/iter%lld",
             node->name && *node->name ? node->name : node->op_type,
             (long long)i);
}

/* One iteration of SequenceMap: element i of each sequence input. */
static int
map_iteration(struct fe_loader *ld, struct fe_scope *s,
              const Onnx__NodeProto *node, const Onnx__GraphProto *body,
              const struct item *inputs, int32_t i, struct item *out)
{
    struct item *bound = ir_xmalloc(sizeof(struct item) * (body->n_input + 1));
    for (size_t k = 0; k < body->n_input; k++) {
        bound[k] = inputs[k];
        if (inputs[k].composite)
            bound[k] =
                (struct item){ld->composites[inputs[k].id].elems[i], false};
    }
    char label[300];
    iteration_label(node, i, label, sizeof(label));
    int rc = inline_body(ld, s, node, body, label, bound, out);
    for (size_t k = 0; k < body->n_output && rc == 0; k++)
        if (out[k].composite)
            rc = fe_node_error(s, node,
                               "body output %zu is a sequence or optional; "
                               "SequenceMap bodies that return them are not "
                               "supported",
                               k);
    free(bound);
    return rc;
}

/* Check SequenceMap's inputs and read them into inputs; returns the
 * length of the sequences, or -1 after an error. */
static int32_t
map_inputs(struct fe_loader *ld, struct fe_scope *s,
           const Onnx__NodeProto *node, struct item *inputs)
{
    int32_t n = -1;
    for (size_t k = 0; k < node->n_input; k++) {
        if (read_item(ld, s, node, k, &inputs[k]))
            return -1;
        if (k == 0 && !inputs[k].composite)
            return fe_node_error(s, node, "input 0 '%s' must be a sequence",
                                 node->input[0]);
        if (!inputs[k].composite)
            continue;
        const struct fe_composite *c = &ld->composites[inputs[k].id];
        if (c->optional)
            return fe_node_error(s, node,
                                 "input %zu '%s' is %s, not a sequence or "
                                 "tensor",
                                 k, node->input[k], fe_composite_kind(c));
        if (n >= 0 && c->n != n)
            return fe_node_error(s, node,
                                 "input %zu '%s' is a sequence of %d "
                                 "tensors, but input 0 has %d",
                                 k, node->input[k], (int)c->n, (int)n);
        n = c->n;
    }
    return n;
}

int
fe_add_sequence_map(struct fe_loader *ld, struct fe_scope *s,
                    const Onnx__NodeProto *node)
{
    const Onnx__AttributeProto *a = fe_find_attr(node, "body");
    const Onnx__GraphProto *body = a ? a->g : NULL;
    if (!body)
        return fe_node_error(s, node, "the graph attribute 'body' is missing");
    if (body->n_input != node->n_input || body->n_output != node->n_output ||
        node->n_input == 0)
        return fe_node_error(s, node,
                             "has %zu inputs and %zu outputs, but its body "
                             "takes %zu and returns %zu",
                             node->n_input, node->n_output, body->n_input,
                             body->n_output);
    struct item *inputs = ir_xmalloc(sizeof(struct item) * (node->n_input + 1));
    int32_t n = map_inputs(ld, s, node, inputs);
    int rc = n < 0 ? -1 : 0;
    size_t n_out = node->n_output;
    size_t n_iter = n > 0 ? (size_t)n : 0;
    int32_t *outs = ir_xmalloc(sizeof(int32_t) * (n_out * n_iter + 1));
    struct item *iter_out = ir_xmalloc(sizeof(struct item) * (n_out + 1));
    for (int32_t i = 0; i < n && rc == 0; i++) {
        rc = map_iteration(ld, s, node, body, inputs, i, iter_out);
        for (size_t k = 0; k < n_out && rc == 0; k++)
            outs[k * n_iter + (size_t)i] = iter_out[k].id;
    }
    for (size_t k = 0; k < n_out && rc == 0; k++) {
        int32_t c = fe_new_composite(ld, false, true, true, IR_DTYPE_UNDEFINED,
                                     outs + k * n_iter, (int32_t)n_iter);
        rc = define_output(ld, s, node, k, (struct item){c, true}, 0);
    }
    free(inputs);
    free(outs);
    free(iter_out);
    return rc;
}

static bool
is_composite_type(const Onnx__TypeProto *type)
{
    return type && (type->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE ||
                    type->value_case == ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE);
}

/* Whether graph declares a sequence or optional input or output, or a
 * node in it (or deeper) reads a composite of scope s. */
static bool
graph_touches_composites(const struct fe_loader *ld, const struct fe_scope *s,
                         const Onnx__GraphProto *graph, int depth)
{
    if (depth > 64)
        return false;
    for (size_t i = 0; i < graph->n_input; i++)
        if (is_composite_type(graph->input[i]->type))
            return true;
    for (size_t i = 0; i < graph->n_output; i++)
        if (is_composite_type(graph->output[i]->type))
            return true;
    for (size_t i = 0; i < graph->n_node; i++) {
        const Onnx__NodeProto *n = graph->node[i];
        for (size_t k = 0; k < n->n_input; k++)
            if (*n->input[k] &&
                fe_scope_composite(ld, s, n->input[k]) != IR_NONE)
                return true;
        for (size_t k = 0; k < n->n_attribute; k++)
            if (n->attribute[k]->g &&
                graph_touches_composites(ld, s, n->attribute[k]->g, depth + 1))
                return true;
    }
    return false;
}

bool
fe_control_needs_expansion(const struct fe_loader *ld, const struct fe_scope *s,
                           const Onnx__NodeProto *node)
{
    for (size_t k = 0; k < node->n_input; k++)
        if (*node->input[k] &&
            fe_scope_composite(ld, s, node->input[k]) != IR_NONE)
            return true;
    for (size_t k = 0; k < node->n_attribute; k++)
        if (node->attribute[k]->g &&
            graph_touches_composites(ld, s, node->attribute[k]->g, 0))
            return true;
    return false;
}

static int
expand_if(struct fe_loader *ld, struct fe_scope *s, const Onnx__NodeProto *node,
          int opset)
{
    struct item cond;
    if (read_item(ld, s, node, 0, &cond))
        return -1;
    bool then_taken;
    char what[300];
    if (cond.composite || !known_bool(ld->g, cond.id, &then_taken))
        return fe_node_error(
            s, node,
            "its branches take or return sequences or "
            "optionals, so input 0 %s must be a constant "
            "bool when the model is loaded; conditions "
            "computed at run time are not supported",
            cond.composite
                ? node->input[0]
                : fe_describe_value(ld->g, cond.id, what, sizeof(what)));
    const char *branch_name = then_taken ? "then_branch" : "else_branch";
    const Onnx__AttributeProto *a = fe_find_attr(node, branch_name);
    const Onnx__GraphProto *branch = a ? a->g : NULL;
    if (!branch)
        return fe_node_error(s, node, "the graph attribute '%s' is missing",
                             branch_name);
    if (branch->n_input != 0 || branch->n_output < node->n_output)
        return fe_node_error(s, node,
                             "branch '%s' takes %zu inputs and returns %zu "
                             "outputs, but must take none and return %zu",
                             branch_name, branch->n_input, branch->n_output,
                             node->n_output);
    char label[300];
    snprintf(label, sizeof(label), "%s/%s",
             node->name && *node->name ? node->name : node->op_type,
             then_taken ? "then" : "else");
    struct item *outs =
        ir_xmalloc(sizeof(struct item) * (branch->n_output + 1));
    int rc = inline_body(ld, s, node, branch, label, NULL, outs);
    for (size_t k = 0; k < node->n_output && rc == 0; k++)
        rc = define_output(ld, s, node, k, outs[k], opset);
    free(outs);
    return rc;
}

/* The state of a Loop unrolled while loading. */
struct unroll {
    const Onnx__GraphProto *body;
    size_t n_carried, n_scan;
    struct item *bound;   /* body inputs: iteration, condition, carried */
    struct item *outs;    /* body outputs of the last iteration */
    int32_t *scans;       /* per scan output, per iteration */
    int64_t n_iterations; /* done so far */
};

/* Check the Loop's counts and read its trip count, condition and
 * initial values.  *trip is -1 without a trip count. */
static int
loop_start(struct fe_loader *ld, struct fe_scope *s,
           const Onnx__NodeProto *node, struct unroll *u, int64_t *trip,
           bool *cond)
{
    const Onnx__AttributeProto *a = fe_find_attr(node, "body");
    u->body = a ? a->g : NULL;
    if (!u->body)
        return fe_node_error(s, node, "the graph attribute 'body' is missing");
    if (node->n_input < 2 || u->body->n_input != node->n_input ||
        u->body->n_output + 1 < node->n_input ||
        node->n_output > u->body->n_output - 1)
        return fe_node_error(s, node,
                             "has %zu inputs and %zu outputs, which do not "
                             "match its body's %zu inputs and %zu outputs",
                             node->n_input, node->n_output, u->body->n_input,
                             u->body->n_output);
    u->n_carried = node->n_input - 2;
    u->n_scan = u->body->n_output - 1 - u->n_carried;
    *trip = -1;
    *cond = true;
    for (size_t k = 0; k < 2; k++) {
        struct item item;
        if (!*node->input[k])
            continue;
        if (read_item(ld, s, node, k, &item))
            return -1;
        bool known =
            !item.composite && (k == 0 ? known_int(ld->g, item.id, trip)
                                       : known_bool(ld->g, item.id, cond));
        char what[300];
        if (!known)
            return fe_node_error(
                s, node,
                "its body takes, reads or returns sequences or optionals, so "
                "input %zu %s (the %s) must be a constant %s when the model "
                "is loaded; this is not supported otherwise",
                k,
                item.composite
                    ? node->input[k]
                    : fe_describe_value(ld->g, item.id, what, sizeof(what)),
                k == 0 ? "trip count" : "condition", k == 0 ? "int64" : "bool");
        /* A negative trip count runs no iterations, as the Loop spec's
         * "for (int i = 0; i < max_trip_count; ++i)" does. */
        if (k == 0 && *trip < 0)
            *trip = 0;
    }
    u->bound = ir_xcalloc(node->n_input + 1, sizeof(struct item));
    u->outs = ir_xcalloc(u->body->n_output + 1, sizeof(struct item));
    for (size_t k = 0; k < u->n_carried; k++)
        if (read_item(ld, s, node, 2 + k, &u->bound[2 + k]))
            return -1;
    return 0;
}

/* Run iteration u->n_iterations of the body; sets *cond to the body's
 * condition output. */
static int
loop_iteration(struct fe_loader *ld, struct fe_scope *s,
               const Onnx__NodeProto *node, struct unroll *u, bool *cond)
{
    int64_t i = u->n_iterations;
    uint8_t yes = 1;
    u->bound[0] =
        (struct item){add_scalar(ld, node, IR_DTYPE_INT64, &i), false};
    u->bound[1] =
        (struct item){add_scalar(ld, node, IR_DTYPE_BOOL, &yes), false};
    char label[300];
    iteration_label(node, i, label, sizeof(label));
    if (inline_body(ld, s, node, u->body, label, u->bound, u->outs))
        return -1;
    const char *cond_name = u->body->output[0]->name;
    if (u->outs[0].composite || !known_bool(ld->g, u->outs[0].id, cond))
        return fe_node_error(s, node,
                             "its body takes, reads or returns sequences or "
                             "optionals, so the body's condition output '%s' "
                             "must be a constant bool when the model is "
                             "loaded; this is not supported otherwise",
                             cond_name ? cond_name : "");
    for (size_t k = 0; k < u->n_carried; k++)
        u->bound[2 + k] = u->outs[1 + k];
    for (size_t j = 0; j < u->n_scan; j++) {
        struct item scan = u->outs[1 + u->n_carried + j];
        if (scan.composite)
            return fe_node_error(s, node,
                                 "scan output %zu is a sequence or optional; "
                                 "this is not supported",
                                 j);
        u->scans[j * MAX_ITERATIONS + (size_t)i] = scan.id;
    }
    u->n_iterations++;
    return 0;
}

/* Define scan output j of node: the per-iteration values stacked along a
 * new first axis. */
static int
define_scan_output(struct fe_loader *ld, struct fe_scope *s,
                   const Onnx__NodeProto *node, const struct unroll *u,
                   size_t j, int opset)
{
    size_t k = u->n_carried + j;
    if (k >= node->n_output || !*node->output[k])
        return 0;
    if (u->n_iterations == 0)
        return fe_node_error(s, node,
                             "the Loop runs no iterations, so the shape of "
                             "scan output '%s' is not known; this is not "
                             "supported",
                             node->output[k]);
    int32_t *parts =
        ir_xmalloc(sizeof(int32_t) * ((size_t)u->n_iterations + 1));
    int64_t axis = 0;
    for (int64_t i = 0; i < u->n_iterations; i++) {
        int32_t operands[2] = {u->scans[j * MAX_ITERATIONS + (size_t)i],
                               fe_add_int64_vector(ld, s, node, &axis, 1)};
        parts[i] =
            fe_add_made_op(ld, s, node, IR_OP_UNSQUEEZE,
                           opset < 13 ? 13 : opset, operands, 2, IR_NONE);
    }
    int32_t r = fe_scope_define(ld, s, node, node->output[k]);
    if (r != IR_NONE) {
        int32_t op = ld->g->n_ops;
        fe_add_made_op(ld, s, node, IR_OP_CONCAT, opset, parts,
                       (int)u->n_iterations, r);
        ir_op_set_int(&ld->g->ops[op], "axis", 0);
    }
    free(parts);
    return r == IR_NONE ? -1 : 0;
}

static int
expand_loop(struct fe_loader *ld, struct fe_scope *s,
            const Onnx__NodeProto *node, int opset)
{
    struct unroll u = {0};
    int64_t trip = -1;
    bool cond = true;
    int rc = loop_start(ld, s, node, &u, &trip, &cond);
    if (rc == 0)
        u.scans = ir_xmalloc(sizeof(int32_t) * (u.n_scan * MAX_ITERATIONS + 1));
    while (rc == 0 && cond && (trip < 0 || u.n_iterations < trip)) {
        if (u.n_iterations >= MAX_ITERATIONS) {
            rc = fe_node_error(s, node,
                               "runs more than %d iterations, the maximum "
                               "that onnxc unrolls; this is not supported",
                               MAX_ITERATIONS);
            break;
        }
        rc = loop_iteration(ld, s, node, &u, &cond);
    }
    for (size_t k = 0; k < u.n_carried && rc == 0; k++)
        rc = define_output(ld, s, node, k, u.bound[2 + k], opset);
    for (size_t j = 0; j < u.n_scan && rc == 0; j++)
        rc = define_scan_output(ld, s, node, &u, j, opset);
    free(u.bound);
    free(u.outs);
    free(u.scans);
    return rc;
}

int
fe_expand_control(struct fe_loader *ld, struct fe_scope *s,
                  const Onnx__NodeProto *node, enum ir_op_kind kind, int opset)
{
    return kind == IR_OP_IF ? expand_if(ld, s, node, opset)
                            : expand_loop(ld, s, node, opset);
}
