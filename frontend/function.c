/*
 * Model-local functions (ModelProto.functions), as the dynamo exporter
 * writes them.  Each call is inlined, so the IR contains no calls.  A
 * call gets its own scope, so the body's internal names become new values
 * with unique names and its attribute references read the caller's values.
 */
#include "loader.h"

#include <stdlib.h>
#include <string.h>

/* Deeper nesting than this is taken as a function that calls itself. */
#define MAX_CALL_DEPTH 64

/* NOTE: FunctionProto.overload and attribute_proto (default attribute
 * values) are newer than the onnx.proto that onnxc is built against, so
 * calls match on domain and name only, and an attribute that the caller
 * leaves out takes the operator's default. */
const Onnx__FunctionProto *
fe_find_function(const struct fe_loader *ld, const Onnx__NodeProto *node)
{
    const Onnx__ModelProto *m = ld->model;
    for (size_t i = 0; i < m->n_functions; i++) {
        const Onnx__FunctionProto *fn = m->functions[i];
        if (!fn->name || strcmp(fn->name, node->op_type) != 0)
            continue;
        bool node_default = fe_is_default_domain(node->domain);
        bool fn_default = fe_is_default_domain(fn->domain);
        if (node_default != fn_default)
            continue;
        if (node_default || strcmp(fn->domain, node->domain) == 0)
            return fn;
    }
    return NULL;
}

/* Bind the call's operands and attributes in the function's scope. */
static int
bind_call(struct fe_loader *ld, struct fe_scope *caller, struct fe_scope *s,
          const Onnx__NodeProto *node, const Onnx__FunctionProto *fn)
{
    for (size_t i = 0; i < fn->n_input; i++) {
        int32_t v = FE_OMITTED;
        bool named = i < node->n_input && *node->input[i];
        int32_t c =
            named ? fe_scope_composite(ld, caller, node->input[i]) : IR_NONE;
        if (c != IR_NONE) {
            fe_name_map_put(&s->composites, fn->input[i], c);
            continue;
        }
        if (named)
            v = fe_scope_read(ld, caller, node->input[i], IR_NONE, (int)i);
        fe_name_map_put(&s->names, fn->input[i], v);
    }
    for (size_t k = 0; k < fn->n_output; k++) {
        bool named = k < node->n_output && *node->output[k];
        s->out_actual[k] = named ? node->output[k] : NULL;
    }
    for (size_t i = 0; i < node->n_attribute; i++) {
        const Onnx__AttributeProto *a = node->attribute[i];
        if (!a->name)
            return fe_node_error(caller, node, "attribute %zu has no name", i);
        /* A call inside a function may pass on its own caller's value. */
        if (a->ref_attr_name && *a->ref_attr_name) {
            const Onnx__AttributeProto *found = NULL;
            for (int j = 0; j < caller->n_attrs; j++)
                if (strcmp(caller->attrs[j].name, a->ref_attr_name) == 0)
                    found = caller->attrs[j].attr;
            if (!found)
                continue;
            a = found;
        }
        s->attrs[s->n_attrs].name = node->attribute[i]->name;
        s->attrs[s->n_attrs].attr = a;
        s->n_attrs++;
    }
    return 0;
}

/* Outputs that the body passes through from an input become Identity ops. */
static int
finish_outputs(struct fe_loader *ld, struct fe_scope *caller,
               struct fe_scope *s, const Onnx__NodeProto *node,
               const Onnx__FunctionProto *fn)
{
    for (size_t k = 0; k < fn->n_output; k++) {
        if (!s->out_actual[k] || s->out_defined[k])
            continue;
        int32_t c = fe_name_map_get(&s->composites, fn->output[k]);
        if (c != IR_NONE) {
            if (fe_scope_define_composite(ld, caller, node, s->out_actual[k],
                                          c))
                return -1;
            continue;
        }
        int32_t v = fe_name_map_get(&s->names, fn->output[k]);
        if (v == IR_NONE || v == FE_OMITTED)
            return fe_node_error(caller, node,
                                 "function '%s' does not "
                                 "define its output '%s'",
                                 fn->name, fn->output[k]);
        int32_t r = fe_scope_define(ld, caller, node, s->out_actual[k]);
        if (r == IR_NONE)
            return -1;
        ir_op_add(ld->g, IR_OP_IDENTITY, s->prefix, ld->g->opset, &v, 1, &r, 1);
    }
    return 0;
}

int
fe_inline_call(struct fe_loader *ld, struct fe_scope *caller,
               const Onnx__NodeProto *node, const Onnx__FunctionProto *fn)
{
    if (caller->depth >= MAX_CALL_DEPTH)
        return fe_node_error(caller, node,
                             "calls of function '%s' nest "
                             "more than %d deep; a function may not call "
                             "itself",
                             fn->name, MAX_CALL_DEPTH);
    if (node->n_input > fn->n_input || node->n_output > fn->n_output)
        return fe_node_error(caller, node,
                             "has %zu inputs and %zu outputs, "
                             "but function '%s' takes %zu and %zu",
                             node->n_input, node->n_output, fn->name,
                             fn->n_input, fn->n_output);

    char base[256];
    ld->calls++;
    if (node->name && *node->name)
        snprintf(base, sizeof(base), "%s", node->name);
    else
        snprintf(base, sizeof(base), "%s_call%d", fn->name, ld->calls);
    char *prefix = fe_unique_name(ld, base);

    struct fe_scope s = {0};
    s.caller = caller;
    s.function = fn;
    s.prefix = prefix;
    s.depth = caller->depth + 1;
    s.opsets = fn->opset_import;
    s.n_opsets = fn->n_opset_import;
    s.out_actual = ir_xcalloc(fn->n_output + 1, sizeof(char *));
    s.out_defined = ir_xcalloc(fn->n_output + 1, sizeof(bool));
    s.attrs = ir_xcalloc(node->n_attribute + 1, sizeof(*s.attrs));

    int rc = bind_call(ld, caller, &s, node, fn);
    for (size_t i = 0; i < fn->n_node && rc == 0; i++)
        rc = fe_add_node(ld, &s, fn->node[i]);
    if (rc == 0)
        rc = finish_outputs(ld, caller, &s, node, fn);

    fe_name_map_free(&s.names);
    fe_name_map_free(&s.composites);
    free(s.out_actual);
    free(s.out_defined);
    free(s.attrs);
    free(prefix);
    return rc;
}
