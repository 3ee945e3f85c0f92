/*
 * The ONNX model loader: decodes a ModelProto with protobuf-c and builds
 * the IR graph from its opset imports, initializers, inputs, nodes and
 * outputs, then checks that every value read is defined and sorts the ops.
 */
#include "loader.h"

#include <stdlib.h>
#include <string.h>

void
fe_reserve_names(struct fe_loader *ld, const Onnx__GraphProto *graph)
{
    for (size_t i = 0; i < graph->n_initializer; i++)
        if (graph->initializer[i]->name)
            fe_name_map_put(&ld->taken, graph->initializer[i]->name, 0);
    for (size_t i = 0; i < graph->n_input; i++)
        if (graph->input[i]->name)
            fe_name_map_put(&ld->taken, graph->input[i]->name, 0);
    for (size_t i = 0; i < graph->n_node; i++) {
        const Onnx__NodeProto *node = graph->node[i];
        for (size_t k = 0; k < node->n_input; k++)
            fe_name_map_put(&ld->taken, node->input[k], 0);
        for (size_t k = 0; k < node->n_output; k++)
            fe_name_map_put(&ld->taken, node->output[k], 0);
    }
}

/* The elem_type a ValueInfoProto declares, or UNDEFINED. */
static enum ir_dtype
declared_dtype(const Onnx__ValueInfoProto *info)
{
    const Onnx__TypeProto *type = info->type;
    if (!type || type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ||
        !type->tensor_type || !type->tensor_type->has_elem_type)
        return IR_DTYPE_UNDEFINED;
    return fe_dtype_from_onnx(type->tensor_type->elem_type);
}

/*
 * Record the dtypes that graph outputs and value_info declare.  Their
 * shapes are ignored: exporters sometimes leave a stale static shape there.
 */
static void
record_declared(struct fe_loader *ld, const Onnx__GraphProto *graph)
{
    for (size_t i = 0; i < graph->n_value_info; i++) {
        const Onnx__ValueInfoProto *info = graph->value_info[i];
        enum ir_dtype dtype = declared_dtype(info);
        if (info->name && dtype != IR_DTYPE_UNDEFINED)
            fe_name_map_put(&ld->declared, info->name, dtype);
    }
    for (size_t i = 0; i < graph->n_output; i++) {
        const Onnx__ValueInfoProto *info = graph->output[i];
        enum ir_dtype dtype = declared_dtype(info);
        if (info->name && dtype != IR_DTYPE_UNDEFINED)
            fe_name_map_put(&ld->declared, info->name, dtype);
    }
}

int
fe_add_initializers(struct fe_loader *ld, struct fe_scope *main,
                    const Onnx__GraphProto *graph)
{
    if (graph->n_sparse_initializer)
        return ir_errorf("'%s': sparse initializers are not supported",
                         ld->display_name);
    for (size_t i = 0; i < graph->n_initializer; i++) {
        const Onnx__TensorProto *t = graph->initializer[i];
        if (!t->name || !*t->name)
            return ir_errorf("'%s': initializer %zu has no name",
                             ld->display_name, i);
        if (fe_name_map_get(&main->names, t->name) != IR_NONE)
            return ir_errorf("'%s': initializer '%s' is listed twice",
                             ld->display_name, t->name);
        char what[512];
        snprintf(what, sizeof(what), "initializer '%s'", t->name);
        enum ir_dtype dtype;
        struct ir_shape shape;
        void *data;
        size_t nbytes;
        if (fe_decode_tensor(t, what, ld->base_dir, &dtype, &shape, &data,
                             &nbytes))
            return -1;
        /* A scope with a prefix is inlined: its names must be unique. */
        char *name = ir_xstrdup(t->name);
        if (main->prefix) {
            size_t size = strlen(main->prefix) + strlen(t->name) + 2;
            char *base = ir_xmalloc(size);
            snprintf(base, size, "%s/%s", main->prefix, t->name);
            free(name);
            name = fe_unique_name(ld, base);
            free(base);
        }
        int32_t v = ir_value_add(ld->g, name, IR_VALUE_CONST, dtype, &shape);
        free(name);
        ir_value_set_const(ld->g, v, data, nbytes);
        fe_name_map_put(&main->names, t->name, v);
        fe_mark_defined(ld, v);
    }
    return 0;
}

/* Each dim without a value or a name gets a fresh symbol. */
int
fe_input_shape(struct fe_loader *ld, const char *name,
               const Onnx__TypeProto__Tensor *tensor, struct ir_shape *shape)
{
    *shape = ir_shape_unknown();
    const Onnx__TensorShapeProto *proto = tensor->shape;
    if (!proto)
        return 0;
    if (proto->n_dim > IR_MAX_RANK)
        return ir_errorf("graph input '%s' has rank %zu, more than the "
                         "maximum %d",
                         name, proto->n_dim, IR_MAX_RANK);
    shape->rank = (int)proto->n_dim;
    for (size_t i = 0; i < proto->n_dim; i++) {
        const Onnx__TensorShapeProto__Dimension *d = proto->dim[i];
        if (d->value_case ==
            ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
            if (d->dim_value < 0)
                return ir_errorf("graph input '%s' has negative dim %lld "
                                 "at axis %zu",
                                 name, (long long)d->dim_value, i);
            shape->dim[i] = d->dim_value;
            continue;
        }
        shape->dim[i] = -1;
        if (d->value_case ==
                ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
            d->dim_param && *d->dim_param) {
            shape->sym[i] = ir_sym_intern(ld->g, d->dim_param);
        } else {
            char sym[300];
            snprintf(sym, sizeof(sym), "unk__%s_%zu", name, i);
            shape->sym[i] = ir_sym_intern(ld->g, sym);
        }
    }
    return 0;
}

/* The constant that the options give for input name, or NULL. */
static const struct fe_constant *
find_constant(const struct fe_loader *ld, const char *name)
{
    const struct fe_options *o = ld->opts;
    for (int i = 0; o && i < o->n_constants; i++)
        if (strcmp(o->constants[i].name, name) == 0)
            return &o->constants[i];
    return NULL;
}

static int
add_inputs(struct fe_loader *ld, struct fe_scope *main,
           const Onnx__GraphProto *graph)
{
    for (size_t i = 0; i < graph->n_input; i++) {
        const Onnx__ValueInfoProto *info = graph->input[i];
        if (!info->name || !*info->name)
            return ir_errorf("'%s': graph input %zu has no name",
                             ld->display_name, i);
        int32_t v = fe_name_map_get(&main->names, info->name);
        /* An input that is also an initializer is a constant. */
        if (v != IR_NONE && ld->g->values[v].kind == IR_VALUE_CONST)
            continue;
        if (v != IR_NONE)
            return ir_errorf("'%s': graph input '%s' is listed twice",
                             ld->display_name, info->name);

        const Onnx__TypeProto *type = info->type;
        if (type &&
            (type->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE ||
             type->value_case == ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE)) {
            if (fe_name_map_get(&main->composites, info->name) != IR_NONE)
                return ir_errorf("'%s': graph input '%s' is listed twice",
                                 ld->display_name, info->name);
            if (fe_add_composite_input(ld, main, info))
                return -1;
            continue;
        }
        if (!type || type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
            return ir_errorf("graph input '%s' is not a tensor; map and "
                             "sparse tensor inputs are not supported",
                             info->name);
        const Onnx__TypeProto__Tensor *tensor = type->tensor_type;
        enum ir_dtype dtype = declared_dtype(info);
        if (dtype == IR_DTYPE_UNDEFINED) {
            int32_t elem = tensor->has_elem_type ? tensor->elem_type : 0;
            return ir_errorf("graph input '%s' has element type %s (%d), "
                             "which is not supported",
                             info->name, fe_unsupported_dtype_name(elem),
                             (int)elem);
        }
        const struct fe_constant *k = find_constant(ld, info->name);
        if (k) {
            if (k->dtype != dtype)
                return ir_errorf("graph input '%s' is %s, but the constant "
                                 "given for it is %s",
                                 info->name, ir_dtype_name(dtype),
                                 ir_dtype_name(k->dtype));
            v = ir_const_add(ld->g, info->name, k->dtype, &k->shape, k->data,
                             k->nbytes);
            fe_name_map_put(&main->names, info->name, v);
            fe_mark_defined(ld, v);
            continue;
        }
        struct ir_shape shape;
        if (fe_input_shape(ld, info->name, tensor, &shape))
            return -1;
        v = ir_value_add(ld->g, info->name, IR_VALUE_INPUT, dtype, &shape);
        ir_graph_add_input(ld->g, v);
        fe_name_map_put(&main->names, info->name, v);
        fe_mark_defined(ld, v);
    }
    return fe_check_input_options(ld, main);
}

int
fe_check_forward_refs(struct fe_loader *ld)
{
    for (int32_t i = 0; i < ld->n_refs; i++) {
        const struct fe_forward_ref *r = &ld->refs[i];
        if (fe_is_defined(ld, r->value))
            continue;
        const char *name = ld->g->values[r->value].name;
        if (fe_outer_composite(ld, name))
            return ir_errorf("a subgraph reads '%s', which is a sequence or "
                             "optional of an enclosing graph; If and Loop "
                             "bodies that read sequences or optionals are "
                             "not supported",
                             name);
        if (r->op == IR_NONE)
            return ir_error(ld->g, NULL, r->value,
                            "a function call reads "
                            "this value, but no node, initializer or graph "
                            "input defines it");
        return ir_error(ld->g, &ld->g->ops[r->op], r->value,
                        "input %d "
                        "reads '%s', which no node, initializer or graph "
                        "input defines",
                        r->operand, ld->g->values[r->value].name);
    }
    return 0;
}

static int
add_outputs(struct fe_loader *ld, struct fe_scope *main,
            const Onnx__GraphProto *graph)
{
    if (graph->n_output == 0)
        return ir_errorf("'%s': the graph has no outputs", ld->display_name);
    for (size_t i = 0; i < graph->n_output; i++) {
        const Onnx__ValueInfoProto *info = graph->output[i];
        const char *name = info->name ? info->name : "";
        int32_t c = fe_name_map_get(&main->composites, name);
        if (c != IR_NONE) {
            if (fe_add_composite_output(ld, name, c))
                return -1;
            continue;
        }
        int32_t v = fe_name_map_get(&main->names, name);
        if (v == IR_NONE || !fe_is_defined(ld, v))
            return ir_errorf("graph output '%s' is not defined by any "
                             "node, initializer or graph input",
                             name);
        ir_graph_add_output(ld->g, v);
    }
    if (ld->g->n_outputs == 0)
        return ir_errorf("'%s': every graph output is an empty sequence or "
                         "an absent optional, so the library would have no "
                         "outputs; such a model is not supported",
                         ld->display_name);
    return 0;
}

/* The default-domain opset, checking every import. */
static int
default_opset(const struct fe_loader *ld, int *opset)
{
    const Onnx__ModelProto *m = ld->model;
    *opset = -1;
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = m->opset_import[i];
        int64_t version = o->has_version ? o->version : 1;
        if (version < 1 || version > INT32_MAX)
            return ir_errorf("'%s' imports domain '%s' at opset %lld, which "
                             "is not a valid version",
                             ld->display_name, o->domain ? o->domain : "",
                             (long long)version);
        if (fe_is_default_domain(o->domain) && version > FE_MAX_OPSET)
            return ir_errorf("'%s': opset %lld is not supported (onnxc "
                             "implements the default domain up to opset %d)",
                             ld->display_name, (long long)version,
                             FE_MAX_OPSET);
        if (fe_is_default_domain(o->domain))
            *opset = (int)version;
    }
    /* Models before IR version 3 have no imports and mean opset 1. */
    if (*opset < 0 && m->n_opset_import == 0 && m->ir_version < 3)
        *opset = 1;
    return 0;
}

static int
build_graph(struct fe_loader *ld)
{
    const Onnx__GraphProto *graph = ld->model->graph;
    struct fe_scope main = {0};
    main.opsets = ld->model->opset_import;
    main.n_opsets = ld->model->n_opset_import;
    /* The implicit opset-1 import of a model older than IR version 3. */
    Onnx__OperatorSetIdProto implicit = ONNX__OPERATOR_SET_ID_PROTO__INIT;
    Onnx__OperatorSetIdProto *implicit_list[1] = {&implicit};
    implicit.has_version = 1;
    implicit.version = 1;

    int rc = default_opset(ld, &ld->g->opset);
    if (rc == 0 && ld->model->n_opset_import == 0 && ld->g->opset == 1) {
        main.opsets = implicit_list;
        main.n_opsets = 1;
    }
    if (rc == 0) {
        fe_reserve_names(ld, graph);
        record_declared(ld, graph);
        rc = fe_add_initializers(ld, &main, graph);
    }
    if (rc == 0)
        rc = add_inputs(ld, &main, graph);
    for (size_t i = 0; i < graph->n_node && rc == 0; i++)
        rc = fe_add_node(ld, &main, graph->node[i]);
    if (rc == 0)
        rc = fe_check_forward_refs(ld);
    if (rc == 0)
        rc = add_outputs(ld, &main, graph);
    /* NOTE: ir_graph_toposort passes a NULL ops array to memcpy when the
     * graph has no ops, which UBSan rejects, so an empty graph skips it. */
    if (rc == 0 && ld->g->n_ops > 0)
        rc = ir_graph_toposort(ld->g);
    fe_name_map_free(&main.names);
    fe_name_map_free(&main.composites);
    return rc;
}

/* Check what every later step relies on. */
static int
check_model(const Onnx__ModelProto *m, const char *name)
{
    if (!m->has_ir_version || m->ir_version < 1)
        return ir_errorf("'%s' is not a valid ONNX model: ir_version is "
                         "missing",
                         name);
    if (m->ir_version > FE_MAX_IR_VERSION)
        return ir_errorf("'%s': IR version %lld is not supported (onnxc "
                         "reads IR versions up to %d)",
                         name, (long long)m->ir_version, FE_MAX_IR_VERSION);
    if (!m->graph)
        return ir_errorf("'%s' is not a valid ONNX model: it has no graph",
                         name);
    return 0;
}

/* Decode a ModelProto, or return NULL after an error naming the model. */
static Onnx__ModelProto *
unpack_model(const uint8_t *data, size_t size, const char *name)
{
    if (size == 0) {
        ir_errorf("'%s' is not a valid ONNX model: the file is empty", name);
        return NULL;
    }
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, size, data);
    if (!m) {
        ir_errorf("'%s' is not a valid ONNX model: protobuf decoding failed "
                  "(the file is truncated or not a ModelProto)",
                  name);
        return NULL;
    }
    if (check_model(m, name)) {
        onnx__model_proto__free_unpacked(m, NULL);
        return NULL;
    }
    return m;
}

/* Build the graph of m, then free m. */
static struct ir_graph *
load_unpacked(Onnx__ModelProto *m, const char *base_dir, const char *name,
              const struct fe_options *opts)
{
    struct fe_loader ld = {0};
    ld.opts = opts;
    ld.model = m;
    ld.display_name = name;
    ld.base_dir = base_dir;
    ld.g = ir_graph_new(m->graph->name && *m->graph->name ? m->graph->name
                                                          : "main");
    ld.root = ld.g;
    int rc = build_graph(&ld);

    fe_name_map_free(&ld.taken);
    fe_name_map_free(&ld.declared);
    free(ld.defined);
    free(ld.refs);
    fe_free_composites(&ld);
    onnx__model_proto__free_unpacked(m, NULL);
    if (rc) {
        ir_graph_free(ld.g);
        return NULL;
    }
    return ld.g;
}

struct ir_graph *
fe_load_model_buffer(const uint8_t *data, size_t size, const char *base_dir,
                     const char *display_name)
{
    const char *name = display_name ? display_name : "(memory)";
    Onnx__ModelProto *m = unpack_model(data, size, name);
    return m ? load_unpacked(m, base_dir, name, NULL) : NULL;
}

struct ir_graph *
fe_load_model(const char *path)
{
    return fe_load_model_with(path, NULL);
}

struct ir_graph *
fe_load_model_with(const char *path, const struct fe_options *opts)
{
    uint8_t *data;
    size_t size;
    if (fe_read_file(path, &data, &size))
        return NULL;
    /* protobuf-c copies every bytes field, so the file buffer can go
     * before the graph is built. */
    Onnx__ModelProto *m = unpack_model(data, size, path);
    free(data);
    if (!m)
        return NULL;
    char *dir = fe_dir_name(path);
    struct ir_graph *g = load_unpacked(m, dir, path, opts);
    free(dir);
    return g;
}
