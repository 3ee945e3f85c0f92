/*
 * ONNX nodes to IR ops: operator lookup, operands and results, attributes
 * (including references to a calling node's attributes inside a function
 * body) and Constant nodes, which become constant values instead of ops.
 */
#include "loader.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/*
 * The attribute a means in scope s: a itself, or the calling node's
 * attribute that a refers to by ref_attr_name.  NULL when the caller did
 * not set it, so the attribute takes its default.
 */
static const Onnx__AttributeProto *
resolve_attr(const struct fe_scope *s, const Onnx__AttributeProto *a)
{
    if (!a->ref_attr_name || !*a->ref_attr_name)
        return a;
    for (int i = 0; i < s->n_attrs; i++)
        if (strcmp(s->attrs[i].name, a->ref_attr_name) == 0)
            return s->attrs[i].attr;
    return NULL;
}

/* The attribute type, inferred from the set field in files too old to
 * store it. */
static Onnx__AttributeProto__AttributeType
attr_type(const Onnx__AttributeProto *a)
{
    if (a->has_type &&
        a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED)
        return a->type;
    if (a->has_f)
        return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    if (a->has_i)
        return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    if (a->has_s)
        return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
    if (a->t)
        return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
    if (a->g)
        return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH;
    if (a->n_floats)
        return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
    if (a->n_strings)
        return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS;
    if (a->n_graphs)
        return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS;
    return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
}

static const char *
attr_type_name(Onnx__AttributeProto__AttributeType type)
{
    switch (type) {
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR:
        return "sparse tensor";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTO:
        return "type proto";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSORS:
        return "list of tensors";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSORS:
        return "list of sparse tensors";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTOS:
        return "list of type protos";
    default:
        return "unknown type";
    }
}

static char *
copy_bytes(const ProtobufCBinaryData *b)
{
    char *s = ir_xmalloc(b->len + 1);
    if (b->len)
        memcpy(s, b->data, b->len);
    s[b->len] = 0;
    return s;
}

static int
set_strings_attr(struct ir_op *op, const char *name,
                 const Onnx__AttributeProto *a)
{
    struct ir_attr attr = {0};
    attr.name = (char *)name;
    attr.kind = IR_ATTR_STRINGS;
    attr.n = (int)a->n_strings;
    attr.tensor = IR_NONE;
    attr.strings = ir_xmalloc(sizeof(char *) * (a->n_strings + 1));
    for (size_t i = 0; i < a->n_strings; i++)
        attr.strings[i] = copy_bytes(&a->strings[i]);
    ir_op_set_attr(op, &attr);
    for (size_t i = 0; i < a->n_strings; i++)
        free(attr.strings[i]);
    free(attr.strings);
    return 0;
}

/* Turn a tensor attribute into a constant value and point the attribute
 * at it. */
static int
set_tensor_attr(struct fe_loader *ld, int32_t op_id, const char *name,
                const Onnx__AttributeProto *a)
{
    struct ir_graph *g = ld->g;
    char what[512];
    snprintf(what, sizeof(what), "attribute '%s' of %s node '%s'", name,
             ir_op_kind_name(g->ops[op_id].kind), g->ops[op_id].name);
    enum ir_dtype dtype;
    struct ir_shape shape;
    void *data;
    size_t nbytes;
    if (fe_decode_tensor(a->t, what, ld->base_dir, &dtype, &shape, &data,
                         &nbytes))
        return -1;

    size_t size = strlen(g->ops[op_id].name) + strlen(name) + 2;
    char *base = ir_xmalloc(size);
    snprintf(base, size, "%s/%s", g->ops[op_id].name, name);
    char *unique = fe_unique_name(ld, base);
    int32_t v = ir_value_add(g, unique, IR_VALUE_CONST, dtype, &shape);
    ir_value_set_const(g, v, data, nbytes);
    fe_mark_defined(ld, v);
    free(base);
    free(unique);

    struct ir_attr attr = {0};
    attr.name = (char *)name;
    attr.kind = IR_ATTR_TENSOR;
    attr.tensor = v;
    ir_op_set_attr(&g->ops[op_id], &attr);
    return 0;
}

static int
set_attr(struct fe_loader *ld, int32_t op_id, const char *name,
         const Onnx__AttributeProto *a)
{
    struct ir_graph *g = ld->g;
    struct ir_op *op = &g->ops[op_id];
    Onnx__AttributeProto__AttributeType type = attr_type(a);

    switch (type) {
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT:
        ir_op_set_float(op, name, a->f);
        return 0;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT:
        ir_op_set_int(op, name, a->i);
        return 0;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING: {
        char *s = copy_bytes(&a->s);
        ir_op_set_string(op, name, s);
        free(s);
        return 0;
    }
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
        if (a->n_ints > INT_MAX)
            return ir_error(g, op, IR_NONE,
                            "attribute '%s' has too many "
                            "values",
                            name);
        ir_op_set_ints(op, name, a->ints, (int)a->n_ints);
        return 0;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS: {
        if (a->n_floats > INT_MAX)
            return ir_error(g, op, IR_NONE,
                            "attribute '%s' has too many "
                            "values",
                            name);
        double *v = ir_xmalloc(sizeof(double) * (a->n_floats + 1));
        for (size_t i = 0; i < a->n_floats; i++)
            v[i] = a->floats[i];
        ir_op_set_floats(op, name, v, (int)a->n_floats);
        free(v);
        return 0;
    }
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS:
        if (a->n_strings > INT_MAX)
            return ir_error(g, op, IR_NONE,
                            "attribute '%s' has too many "
                            "values",
                            name);
        return set_strings_attr(op, name, a);
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR:
        if (!a->t)
            return ir_error(g, op, IR_NONE,
                            "tensor attribute '%s' has no "
                            "tensor",
                            name);
        return set_tensor_attr(ld, op_id, name, a);
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH:
        /* fe_add_control_op adds the subgraphs of If and Loop. */
        if (op->kind == IR_OP_IF || op->kind == IR_OP_LOOP)
            return 0;
        return ir_error(g, op, IR_NONE,
                        "attribute '%s' is a subgraph; "
                        "control flow with subgraphs (If, Loop, Scan) is "
                        "not supported",
                        name);
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS:
        return ir_error(g, op, IR_NONE,
                        "attribute '%s' is a subgraph; "
                        "control flow with subgraphs (If, Loop, Scan) is "
                        "not supported",
                        name);
    default:
        return ir_error(g, op, IR_NONE,
                        "attribute '%s' is a %s, which is "
                        "not supported",
                        name, attr_type_name(type));
    }
}

static int
set_attrs(struct fe_loader *ld, const struct fe_scope *s, int32_t op_id,
          const Onnx__NodeProto *node)
{
    for (size_t i = 0; i < node->n_attribute; i++) {
        const Onnx__AttributeProto *a = node->attribute[i];
        if (!a->name || !*a->name)
            return ir_error(ld->g, &ld->g->ops[op_id], IR_NONE,
                            "attribute %zu has no name", i);
        if (!s->function && a->ref_attr_name && *a->ref_attr_name)
            return ir_error(ld->g, &ld->g->ops[op_id], IR_NONE,
                            "attribute '%s' refers to '%s', but only nodes "
                            "inside a function may refer to attributes",
                            a->name, a->ref_attr_name);
        const Onnx__AttributeProto *value = resolve_attr(s, a);
        if (value && set_attr(ld, op_id, a->name, value))
            return -1;
    }
    return 0;
}

/* The data of a Constant node's value_float(s) or value_int(s). */
static int
constant_from_numbers(const Onnx__AttributeProto *a, const char *name,
                      enum ir_dtype *dtype, struct ir_shape *shape, void **data,
                      size_t *nbytes)
{
    *shape = ir_shape_unknown();
    bool scalar =
        strcmp(name, "value_float") == 0 || strcmp(name, "value_int") == 0;
    bool is_float = strncmp(name, "value_float", 11) == 0;
    size_t n = 1;
    if (!scalar)
        n = is_float ? a->n_floats : a->n_ints;
    shape->rank = scalar ? 0 : 1;
    shape->dim[0] = (int64_t)n;
    *dtype = is_float ? IR_DTYPE_FLOAT : IR_DTYPE_INT64;
    *nbytes = n * ir_dtype_size(*dtype);
    *data = ir_xmalloc(*nbytes + 1);
    if (scalar && is_float)
        memcpy(*data, &a->f, sizeof(float));
    else if (scalar)
        memcpy(*data, &a->i, sizeof(int64_t));
    else if (is_float && n)
        memcpy(*data, a->floats, *nbytes);
    else if (n)
        memcpy(*data, a->ints, *nbytes);
    return 0;
}

/*
 * A Constant node: its one value_* attribute becomes a constant value named
 * by the node's output, and no op is added.
 */
static int
add_constant(struct fe_loader *ld, struct fe_scope *s,
             const Onnx__NodeProto *node)
{
    if (node->n_output != 1 || !*node->output[0])
        return fe_node_error(s, node,
                             "a Constant node needs exactly one "
                             "output, not %zu",
                             node->n_output);
    const Onnx__AttributeProto *a = NULL;
    const char *name = NULL;
    for (size_t i = 0; i < node->n_attribute; i++) {
        const Onnx__AttributeProto *v = resolve_attr(s, node->attribute[i]);
        const char *v_name = node->attribute[i]->name;
        if (!v)
            continue;
        if (!v_name)
            v_name = "";
        if (a)
            return fe_node_error(s, node,
                                 "has attributes '%s' and '%s', "
                                 "but a Constant node takes exactly one",
                                 name, v_name);
        a = v;
        name = v_name;
    }
    if (!a)
        return fe_node_error(s, node,
                             "a Constant node needs a value_* "
                             "attribute");

    enum ir_dtype dtype;
    struct ir_shape shape;
    void *data;
    size_t nbytes;
    if (strcmp(name, "value") == 0) {
        if (!a->t)
            return fe_node_error(s, node, "attribute 'value' has no tensor");
        char what[512];
        snprintf(what, sizeof(what), "Constant '%s'", node->output[0]);
        if (fe_decode_tensor(a->t, what, ld->base_dir, &dtype, &shape, &data,
                             &nbytes))
            return -1;
    } else if (strcmp(name, "value_float") == 0 ||
               strcmp(name, "value_floats") == 0 ||
               strcmp(name, "value_int") == 0 ||
               strcmp(name, "value_ints") == 0) {
        constant_from_numbers(a, name, &dtype, &shape, &data, &nbytes);
    } else if (strcmp(name, "value_string") == 0 ||
               strcmp(name, "value_strings") == 0) {
        return fe_node_error(s, node,
                             "attribute '%s': string constants "
                             "are not supported",
                             name);
    } else if (strcmp(name, "sparse_value") == 0) {
        return fe_node_error(s, node,
                             "attribute 'sparse_value': sparse "
                             "constants are not supported");
    } else {
        return fe_node_error(s, node,
                             "unknown attribute '%s' of a Constant "
                             "node",
                             name);
    }

    int32_t v = fe_scope_define(ld, s, node, node->output[0]);
    if (v == IR_NONE) {
        free(data);
        return -1;
    }
    struct ir_value *val = &ld->g->values[v];
    val->dtype = dtype;
    val->shape = shape;
    ir_value_set_const(ld->g, v, data, nbytes);
    return 0;
}

/* The op's name: the node's, within the call's prefix in a function. */
static char *
op_name(const struct fe_scope *s, const Onnx__NodeProto *node)
{
    const char *name = node->name && *node->name ? node->name : NULL;
    if (!s->prefix)
        return name ? ir_xstrdup(name) : NULL;
    if (!name)
        name = node->op_type;
    size_t size = strlen(s->prefix) + strlen(name) + 2;
    char *full = ir_xmalloc(size);
    snprintf(full, size, "%s/%s", s->prefix, name);
    return full;
}

/* Describe a count range of ops.def: "exactly 2", "at least 1", "1 to 3". */
static const char *
format_range(char *buf, size_t size, int min, int max)
{
    if (max < 0)
        snprintf(buf, size, "at least %d", min);
    else if (min == max)
        snprintf(buf, size, "exactly %d", min);
    else
        snprintf(buf, size, "%d to %d", min, max);
    return buf;
}

/*
 * Check the input and output counts of the normalised op against ops.def,
 * so passes may index the operands they require without checks.
 */
static int
check_arity(const struct ir_graph *g, const struct ir_op *op)
{
    int min_in, max_in, min_out, max_out;
    char range[48];
    ir_op_kind_arity(op->kind, &min_in, &max_in, &min_out, &max_out);
    if (op->n_operands < min_in || (max_in >= 0 && op->n_operands > max_in))
        return ir_error(g, op, IR_NONE, "has %d inputs, but %s takes %s",
                        op->n_operands, ir_op_kind_name(op->kind),
                        format_range(range, sizeof(range), min_in, max_in));
    if (op->n_results < min_out || (max_out >= 0 && op->n_results > max_out))
        return ir_error(g, op, IR_NONE, "has %d outputs, but %s has %s",
                        op->n_results, ir_op_kind_name(op->kind),
                        format_range(range, sizeof(range), min_out, max_out));
    for (int k = 0; k < min_in; k++)
        if (op->operands[k] == IR_NONE)
            return ir_error(g, op, IR_NONE,
                            "input %d is required, but the "
                            "node leaves it out",
                            k);
    return 0;
}

int
fe_add_op(struct fe_loader *ld, struct fe_scope *s, const Onnx__NodeProto *node,
          enum ir_op_kind kind, int opset)
{
    struct ir_graph *g = ld->g;
    size_t n_in = node->n_input, n_out = node->n_output;
    /* Trailing unnamed outputs are simply absent. */
    while (n_out > 0 && !*node->output[n_out - 1])
        n_out--;
    if (n_in > INT_MAX || n_out > INT_MAX)
        return fe_node_error(s, node, "has too many inputs or outputs");

    for (size_t i = 0; i < n_in; i++) {
        int32_t c = *node->input[i] ? fe_scope_composite(ld, s, node->input[i])
                                    : IR_NONE;
        if (c != IR_NONE)
            return fe_node_error(s, node,
                                 "input %zu '%s' is %s, but %s takes only "
                                 "tensors there; this is not supported",
                                 i, node->input[i],
                                 fe_composite_kind(&ld->composites[c]),
                                 node->op_type);
    }
    int32_t *operands = ir_xmalloc(sizeof(int32_t) * (n_in + 1));
    int32_t *results = ir_xmalloc(sizeof(int32_t) * (n_out + 1));
    int rc = 0;
    for (size_t i = 0; i < n_in; i++) {
        const char *in = node->input[i];
        operands[i] =
            *in ? fe_scope_read(ld, s, in, g->n_ops, (int)i) : IR_NONE;
    }
    for (size_t i = 0; i < n_out && rc == 0; i++) {
        results[i] = fe_scope_define(ld, s, node, node->output[i]);
        if (results[i] == IR_NONE)
            rc = -1;
    }
    if (rc == 0) {
        char *name = op_name(s, node);
        int32_t op = ir_op_add(g, kind, name, opset, operands, (int)n_in,
                               results, (int)n_out);
        free(name);
        rc = set_attrs(ld, s, op, node);
        if (rc == 0)
            rc = fe_normalize_op(ld, op);
        if (rc == 0)
            rc = check_arity(g, &g->ops[op]);
    }
    free(operands);
    free(results);
    return rc;
}

int
fe_add_node(struct fe_loader *ld, struct fe_scope *s,
            const Onnx__NodeProto *node)
{
    if (!node->op_type || !*node->op_type)
        return fe_node_error(s, node, "the node has no op_type");
    const Onnx__FunctionProto *fn = fe_find_function(ld, node);
    if (fn)
        return fe_inline_call(ld, s, node, fn);

    const char *domain = node->domain ? node->domain : "";
    int opset = fe_domain_opset(s, domain);
    if (fe_is_default_domain(domain) && opset < 0)
        return fe_node_error(s, node,
                             "the model imports no opset of the "
                             "default domain ''");
    if (fe_is_default_domain(domain)) {
        int rc = fe_add_sequence_node(ld, s, node, opset);
        if (rc <= 0)
            return rc;
    }
    enum ir_op_kind kind = ir_op_kind_from_name(node->op_type);
    /* Scatter (opsets 9 and 10) is ScatterElements under its old name. */
    if (strcmp(node->op_type, "Scatter") == 0 && opset < 11)
        kind = IR_OP_SCATTER_ELEMENTS;
    /* "onnxc." kinds are onnxc's own fused ops, not ONNX operators. */
    if (!fe_is_default_domain(domain) || kind == IR_OP_COUNT ||
        strncmp(node->op_type, "onnxc.", 6) == 0) {
        if (fe_is_default_domain(domain) &&
            strcmp(node->op_type, "Constant") == 0)
            return add_constant(ld, s, node);
        return ir_errorf("unsupported operator '%s' (domain '%s', opset %d) "
                         "in node '%s'",
                         node->op_type, domain, opset,
                         node->name && *node->name ? node->name : "(unnamed)");
    }
    if ((kind == IR_OP_IF || kind == IR_OP_LOOP) &&
        fe_control_needs_expansion(ld, s, node))
        return fe_expand_control(ld, s, node, kind, opset);
    if (kind == IR_OP_IF || kind == IR_OP_LOOP)
        return fe_add_control_op(ld, s, node, kind, opset);
    return fe_add_op(ld, s, node, kind, opset);
}
