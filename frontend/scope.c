/*
 * Name resolution while the graph is built: which value an ONNX name means
 * in the main graph or in an inlined function body, forward references for
 * nodes that come before their producers, and node-level error messages.
 */
#include "loader.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

bool
fe_is_default_domain(const char *domain)
{
    return !domain || !*domain || strcmp(domain, "ai.onnx") == 0;
}

static bool
same_domain(const char *a, const char *b)
{
    if (fe_is_default_domain(a) || fe_is_default_domain(b))
        return fe_is_default_domain(a) && fe_is_default_domain(b);
    return strcmp(a, b) == 0;
}

int
fe_domain_opset(const struct fe_scope *s, const char *domain)
{
    /* A function body falls back to its caller's imports. */
    for (; s; s = s->caller) {
        for (size_t i = 0; i < s->n_opsets; i++) {
            const Onnx__OperatorSetIdProto *o = s->opsets[i];
            if (same_domain(o->domain, domain))
                return o->has_version ? (int)o->version : 1;
        }
    }
    return -1;
}

int
fe_node_error(const struct fe_scope *s, const Onnx__NodeProto *node,
              const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    const char *name = node->name && *node->name ? node->name : "(unnamed)";
    const char *type = node->op_type ? node->op_type : "?";
    char where[256] = "";
    if (s->function)
        snprintf(where, sizeof(where), " in function '%s'",
                 s->function->name ? s->function->name : "?");
    return ir_errorf("%s node '%s' (opset %d)%s: %s", type, name,
                     fe_domain_opset(s, node->domain), where, msg);
}

void
fe_mark_defined(struct fe_loader *ld, int32_t v)
{
    if (v >= ld->cap_defined) {
        int32_t cap = ld->cap_defined ? ld->cap_defined : 256;
        while (cap <= v)
            cap *= 2;
        ld->defined = ir_xrealloc(ld->defined, sizeof(bool) * (size_t)cap);
        memset(ld->defined + ld->cap_defined, 0,
               sizeof(bool) * (size_t)(cap - ld->cap_defined));
        ld->cap_defined = cap;
    }
    ld->defined[v] = true;
}

bool
fe_is_defined(const struct fe_loader *ld, int32_t v)
{
    return v >= 0 && v < ld->cap_defined && ld->defined[v];
}

/* The index of name among the formal outputs of s's function, or -1. */
static int
formal_output(const struct fe_scope *s, const char *name)
{
    if (!s->function)
        return -1;
    for (size_t k = 0; k < s->function->n_output; k++)
        if (strcmp(s->function->output[k], name) == 0)
            return (int)k;
    return -1;
}

static bool
is_formal_input(const struct fe_scope *s, const char *name)
{
    if (!s->function)
        return false;
    for (size_t k = 0; k < s->function->n_input; k++)
        if (strcmp(s->function->input[k], name) == 0)
            return true;
    return false;
}

/* Add a result value for the ONNX name, unique in the graph. */
static int32_t
new_value(struct fe_loader *ld, const struct fe_scope *s, const char *name)
{
    enum ir_dtype dtype = IR_DTYPE_UNDEFINED;
    if (!s->prefix) {
        int32_t declared = fe_name_map_get(&ld->declared, name);
        if (declared != IR_NONE)
            dtype = (enum ir_dtype)declared;
        return ir_value_add(ld->g, name, IR_VALUE_RESULT, dtype, NULL);
    }
    size_t size = strlen(s->prefix) + strlen(name) + 2;
    char *base = ir_xmalloc(size);
    snprintf(base, size, "%s/%s", s->prefix, name);
    char *unique = fe_unique_name(ld, base);
    int32_t v = ir_value_add(ld->g, unique, IR_VALUE_RESULT, dtype, NULL);
    free(base);
    free(unique);
    return v;
}

static int32_t lookup_defined(struct fe_loader *ld, struct fe_scope *s,
                              const char *name);

int32_t
fe_scope_read(struct fe_loader *ld, struct fe_scope *s, const char *name,
              int32_t op, int operand)
{
    int32_t v = fe_name_map_get(&s->names, name);
    if (v == FE_OMITTED)
        return IR_NONE;
    if (v != IR_NONE)
        return v;
    int k = formal_output(s, name);
    if (k >= 0 && s->out_actual[k])
        return fe_scope_read(ld, s->caller, s->out_actual[k], op, operand);
    if (s->lexical) {
        v = lookup_defined(ld, s->caller, name);
        if (v != IR_NONE)
            return v;
    }
    if (!s->function && !s->lexical && ld->outer) {
        v = fe_scope_capture(ld, s, name);
        if (v != IR_NONE)
            return v;
    }

    /* No node has defined name yet; a later one must. */
    v = new_value(ld, s, name);
    fe_name_map_put(&s->names, name, v);
    if (ld->n_refs >= ld->cap_refs) {
        ld->cap_refs = ld->cap_refs ? 2 * ld->cap_refs : 16;
        ld->refs =
            ir_xrealloc(ld->refs, sizeof(*ld->refs) * (size_t)ld->cap_refs);
    }
    ld->refs[ld->n_refs++] = (struct fe_forward_ref){v, op, operand};
    return v;
}

int32_t
fe_scope_define(struct fe_loader *ld, struct fe_scope *s,
                const Onnx__NodeProto *node, const char *name)
{
    if (!*name) {
        /* An output the node leaves unnamed in the middle of its list. */
        const char *base =
            node->name && *node->name ? node->name : node->op_type;
        size_t size = strlen(base) + 16;
        char *label = ir_xmalloc(size);
        snprintf(label, size, "%s/unused", base);
        char *unique = fe_unique_name(ld, label);
        int32_t v = ir_value_add(ld->g, unique, IR_VALUE_RESULT,
                                 IR_DTYPE_UNDEFINED, NULL);
        free(label);
        free(unique);
        fe_mark_defined(ld, v);
        return v;
    }
    if (is_formal_input(s, name)) {
        fe_node_error(s, node,
                      "output '%s' redefines an input of the "
                      "function",
                      name);
        return IR_NONE;
    }
    int k = formal_output(s, name);
    if (k >= 0 && s->out_actual[k]) {
        s->out_defined[k] = true;
        return fe_scope_define(ld, s->caller, node, s->out_actual[k]);
    }

    int32_t v = fe_name_map_get(&s->names, name);
    if (fe_name_map_get(&s->composites, name) != IR_NONE ||
        (v != IR_NONE && fe_is_defined(ld, v))) {
        fe_node_error(s, node,
                      "output '%s' is already defined by an "
                      "earlier node, initializer or graph input",
                      name);
        return IR_NONE;
    }
    if (v == IR_NONE) {
        v = new_value(ld, s, name);
        fe_name_map_put(&s->names, name, v);
    } else if (!s->prefix) {
        int32_t declared = fe_name_map_get(&ld->declared, name);
        if (declared != IR_NONE)
            ld->g->values[v].dtype = (enum ir_dtype)declared;
    }
    fe_mark_defined(ld, v);
    return v;
}

/*
 * The value that name means in scope s of ld's graph, without making a
 * forward reference: a value defined so far, or one captured from a graph
 * further out.
 */
static int32_t
lookup_defined(struct fe_loader *ld, struct fe_scope *s, const char *name)
{
    int32_t v = fe_name_map_get(&s->names, name);
    if (v == FE_OMITTED)
        return IR_NONE;
    if (v != IR_NONE)
        return fe_is_defined(ld, v) ? v : IR_NONE;
    if (s->lexical)
        return lookup_defined(ld, s->caller, name);
    if (s->function) {
        int k = formal_output(s, name);
        if (k >= 0 && s->out_actual[k])
            return lookup_defined(ld, s->caller, s->out_actual[k]);
        return IR_NONE;
    }
    return ld->outer ? fe_scope_capture(ld, s, name) : IR_NONE;
}

int32_t
fe_scope_capture(struct fe_loader *ld, struct fe_scope *s, const char *name)
{
    int32_t outer = lookup_defined(ld->outer, ld->outer_scope, name);
    if (outer == IR_NONE)
        return IR_NONE;
    const struct ir_value *ov = &ld->outer->g->values[outer];
    int32_t v =
        ir_value_add(ld->g, name, IR_VALUE_INPUT, ov->dtype, &ov->shape);
    fe_name_map_put(&s->names, name, v);
    fe_mark_defined(ld, v);
    ir_graph_add_input(ld->g, v);
    if (ld->n_captured >= ld->cap_captured) {
        ld->cap_captured = ld->cap_captured ? 2 * ld->cap_captured : 8;
        ld->captured = ir_xrealloc(ld->captured, sizeof(*ld->captured) *
                                                     (size_t)ld->cap_captured);
    }
    ld->captured[ld->n_captured++] = outer;
    return v;
}
