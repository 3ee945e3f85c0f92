/*
 * If and Loop nodes.  Each subgraph becomes a body graph owned by the main
 * graph.  A name that a body reads from an enclosing graph becomes a body
 * input, and the enclosing value an extra operand of the If or Loop op.
 *
 * The frontend cannot choose a branch or unroll a loop itself, because a
 * condition or trip count often becomes constant only after the symbolic
 * dims are bound and the shape arithmetic is folded.  The infer pass does
 * that when it reaches the op (passes/control_flow.c), and model-local
 * functions, which need no such knowledge, are still inlined here.
 */
#include "loader.h"

#include <stdlib.h>
#include <string.h>

/*
 * Bodies and function calls nested deeper than this are rejected, which
 * also stops a function whose If branch calls the function again.
 */
#define MAX_NESTING 64

/* The first opset imports found from s outwards. */
static void
scope_opsets(const struct fe_scope *s, struct fe_scope *body)
{
    for (; s; s = s->caller) {
        if (s->n_opsets) {
            body->opsets = s->opsets;
            body->n_opsets = s->n_opsets;
            return;
        }
    }
}

static int
add_formal_inputs(struct fe_loader *sub, struct fe_scope *bs,
                  const Onnx__GraphProto *graph)
{
    for (size_t i = 0; i < graph->n_input; i++) {
        const char *name = graph->input[i]->name;
        if (!name || !*name)
            return ir_errorf("input %zu of subgraph '%s' has no name", i,
                             sub->g->name);
        if (fe_name_map_get(&bs->names, name) != IR_NONE)
            return ir_errorf("subgraph '%s' lists input '%s' twice",
                             sub->g->name, name);
        int32_t v = ir_value_add(sub->g, name, IR_VALUE_INPUT,
                                 IR_DTYPE_UNDEFINED, NULL);
        fe_name_map_put(&bs->names, name, v);
        fe_mark_defined(sub, v);
        ir_graph_add_input(sub->g, v);
    }
    return 0;
}

static int
add_body_outputs(struct fe_loader *sub, struct fe_scope *bs,
                 const Onnx__GraphProto *graph)
{
    for (size_t i = 0; i < graph->n_output; i++) {
        const char *name = graph->output[i]->name ? graph->output[i]->name : "";
        if (fe_scope_composite(sub, bs, name) != IR_NONE ||
            fe_outer_composite(sub, name))
            return ir_errorf("output '%s' of subgraph '%s' is a sequence or "
                             "optional; If and Loop bodies with sequence or "
                             "optional outputs are not supported",
                             name, sub->g->name);
        int32_t v = fe_name_map_get(&bs->names, name);
        if (v == IR_NONE)
            v = fe_scope_capture(sub, bs, name);
        if (v == IR_NONE || v == FE_OMITTED || !fe_is_defined(sub, v))
            return ir_errorf("output '%s' of subgraph '%s' is not defined by "
                             "any node, initializer or input",
                             name, sub->g->name);
        ir_graph_add_output(sub->g, v);
    }
    return 0;
}

/*
 * Build attribute a of node as a body graph of ld->root.  Sets *index to
 * the body's index and appends the enclosing values that it reads to
 * *captured.
 */
static int
build_body(struct fe_loader *ld, struct fe_scope *s,
           const Onnx__NodeProto *node, const Onnx__AttributeProto *a,
           int32_t *index, int32_t **captured, int32_t *n_captured)
{
    const Onnx__GraphProto *graph = a->g;
    if (s->depth + 1 >= MAX_NESTING)
        return fe_node_error(s, node,
                             "subgraphs and function calls nest more than "
                             "%d deep",
                             MAX_NESTING);
    struct fe_loader sub = {0};
    sub.model = ld->model;
    sub.display_name = ld->display_name;
    sub.base_dir = ld->base_dir;
    sub.root = ld->root;
    sub.outer = ld;
    sub.outer_scope = s;
    sub.g = ir_graph_new(graph->name && *graph->name ? graph->name : a->name);
    sub.g->opset = ld->g->opset;
    struct fe_scope bs = {0};
    bs.depth = s->depth + 1;
    scope_opsets(s, &bs);

    fe_reserve_names(&sub, graph);
    int rc = fe_add_initializers(&sub, &bs, graph);
    if (rc == 0)
        rc = add_formal_inputs(&sub, &bs, graph);
    for (size_t i = 0; i < graph->n_node && rc == 0; i++)
        rc = fe_add_node(&sub, &bs, graph->node[i]);
    if (rc == 0)
        rc = fe_check_forward_refs(&sub);
    if (rc == 0)
        rc = add_body_outputs(&sub, &bs, graph);
    if (rc == 0 && sub.g->n_ops > 0)
        rc = ir_graph_toposort(sub.g);
    if (rc != 0)
        fe_node_error(s, node, "subgraph '%s' is invalid (see above)", a->name);

    if (rc == 0) {
        *index = ir_graph_add_body(ld->root, sub.g);
        *captured = ir_xrealloc(*captured,
                                sizeof(int32_t) *
                                    (size_t)(*n_captured + sub.n_captured + 1));
        if (sub.n_captured > 0)
            memcpy(*captured + *n_captured, sub.captured,
                   sizeof(int32_t) * (size_t)sub.n_captured);
        *n_captured += sub.n_captured;
    } else {
        ir_graph_free(sub.g);
    }
    fe_name_map_free(&bs.names);
    fe_name_map_free(&bs.composites);
    fe_free_composites(&sub);
    fe_name_map_free(&sub.taken);
    fe_name_map_free(&sub.declared);
    free(sub.defined);
    free(sub.refs);
    free(sub.captured);
    return rc;
}

/* The graph attribute of node called name, or NULL. */
static const Onnx__AttributeProto *
graph_attr(const Onnx__NodeProto *node, const char *name)
{
    for (size_t i = 0; i < node->n_attribute; i++) {
        const Onnx__AttributeProto *a = node->attribute[i];
        if (a->name && strcmp(a->name, name) == 0 && a->g)
            return a;
    }
    return NULL;
}

int
fe_add_control_op(struct fe_loader *ld, struct fe_scope *s,
                  const Onnx__NodeProto *node, enum ir_op_kind kind, int opset)
{
    static const char *const if_bodies[] = {"then_branch", "else_branch"};
    static const char *const loop_bodies[] = {"body"};
    const char *const *names = kind == IR_OP_IF ? if_bodies : loop_bodies;
    int n_bodies = kind == IR_OP_IF ? 2 : 1;

    int32_t index[2] = {IR_NONE, IR_NONE};
    int32_t *captured = NULL, n_captured = 0;
    int rc = 0;
    for (int b = 0; b < n_bodies && rc == 0; b++) {
        const Onnx__AttributeProto *a = graph_attr(node, names[b]);
        if (!a)
            rc = fe_node_error(s, node, "the graph attribute '%s' is missing",
                               names[b]);
        else
            rc = build_body(ld, s, node, a, &index[b], &captured, &n_captured);
    }

    int32_t id = ld->g->n_ops;
    if (rc == 0)
        rc = fe_add_op(ld, s, node, kind, opset);
    if (rc == 0) {
        struct ir_op *op = &ld->g->ops[id];
        int n = op->n_operands + n_captured;
        op->operands =
            ir_xrealloc(op->operands, sizeof(int32_t) * (size_t)(n + 1));
        if (n_captured > 0)
            memcpy(op->operands + op->n_operands, captured,
                   sizeof(int32_t) * (size_t)n_captured);
        op->n_operands = n;
        ir_op_set_int(op, "captured", n_captured);
        for (int b = 0; b < n_bodies; b++) {
            struct ir_attr attr = {0};
            attr.name = (char *)names[b];
            attr.kind = IR_ATTR_GRAPH;
            attr.tensor = IR_NONE;
            attr.graph = index[b];
            ir_op_set_attr(op, &attr);
        }
    }
    free(captured);
    return rc;
}
