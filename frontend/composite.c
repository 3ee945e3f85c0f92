/*
 * Sequence and optional values whose structure is known at compile time.
 * The IR has only tensors, so a sequence lives in the frontend's name
 * scopes as a list of IR values and an optional as present or absent.
 * This file keeps those values, expands graph inputs and outputs of these
 * types into tensors, and reads SequenceProto and OptionalProto files.
 */
#include "loader.h"
#include "sequence.pb-c.h"

#include <stdlib.h>
#include <string.h>

/* The ONNX kinds of SequenceProto.elem_type and OptionalProto.elem_type. */
enum { KIND_TENSOR = 1, KIND_SEQUENCE = 3 };

void
fe_free_composites(struct fe_loader *ld)
{
    for (int32_t i = 0; i < ld->n_composites; i++)
        free(ld->composites[i].elems);
    free(ld->composites);
    ld->composites = NULL;
    ld->n_composites = ld->cap_composites = 0;
}

int32_t
fe_scope_composite(const struct fe_loader *ld, const struct fe_scope *s,
                   const char *name)
{
    (void)ld;
    for (; s; s = s->lexical ? s->caller : NULL) {
        int32_t c = fe_name_map_get(&s->composites, name);
        if (c != IR_NONE)
            return c;
        /* A tensor of this name hides a composite further out. */
        if (fe_name_map_get(&s->names, name) != IR_NONE)
            return IR_NONE;
    }
    return IR_NONE;
}

bool
fe_outer_composite(const struct fe_loader *ld, const char *name)
{
    for (; ld->outer; ld = ld->outer)
        if (fe_scope_composite(ld->outer, ld->outer_scope, name) != IR_NONE)
            return true;
    return false;
}

const char *
fe_composite_kind(const struct fe_composite *c)
{
    if (!c->optional)
        return "a sequence";
    if (!c->present)
        return "an absent optional";
    return c->of_sequence ? "an optional sequence" : "an optional tensor";
}

int
fe_scope_define_composite(struct fe_loader *ld, struct fe_scope *s,
                          const Onnx__NodeProto *node, const char *name,
                          int32_t c)
{
    if (!*name)
        return 0;
    /* A formal output of a function defines the caller's name. */
    if (s->function) {
        for (size_t k = 0; k < s->function->n_output; k++) {
            if (strcmp(s->function->output[k], name) != 0 || !s->out_actual[k])
                continue;
            s->out_defined[k] = true;
            return fe_scope_define_composite(ld, s->caller, node,
                                             s->out_actual[k], c);
        }
    }
    int32_t v = fe_name_map_get(&s->names, name);
    if (fe_name_map_get(&s->composites, name) != IR_NONE ||
        (v != IR_NONE && fe_is_defined(ld, v)))
        return fe_node_error(s, node,
                             "output '%s' is already defined by an earlier "
                             "node, initializer or graph input",
                             name);
    if (v != IR_NONE)
        return fe_node_error(s, node,
                             "output '%s' is a sequence or optional, but an "
                             "earlier node reads it as a tensor",
                             name);
    fe_name_map_put(&s->composites, name, c);
    return 0;
}

const Onnx__TypeProto *
fe_inner_type(const Onnx__TypeProto *type)
{
    if (!type)
        return NULL;
    if (type->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE)
        return type->sequence_type ? type->sequence_type->elem_type : NULL;
    if (type->value_case == ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE)
        return type->optional_type ? type->optional_type->elem_type : NULL;
    return NULL;
}

static bool
is_tensor_type(const Onnx__TypeProto *type)
{
    return type && type->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE &&
           type->tensor_type;
}

/* The kind of a declared type. */
static enum fe_value_kind
type_kind(const Onnx__TypeProto *type)
{
    if (is_tensor_type(type))
        return FE_KIND_TENSOR;
    const Onnx__TypeProto *inner = fe_inner_type(type);
    if (type && type->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE)
        return is_tensor_type(inner) ? FE_KIND_SEQUENCE : FE_KIND_OTHER;
    if (type && type->value_case == ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE) {
        if (is_tensor_type(inner))
            return FE_KIND_OPTIONAL_TENSOR;
        if (type_kind(inner) == FE_KIND_SEQUENCE)
            return FE_KIND_OPTIONAL_SEQUENCE;
    }
    return FE_KIND_OTHER;
}

/* The tensor type inside a sequence, optional or optional sequence. */
static const Onnx__TypeProto__Tensor *
element_tensor_type(const Onnx__TypeProto *type)
{
    const Onnx__TypeProto *inner = fe_inner_type(type);
    if (inner && !is_tensor_type(inner))
        inner = fe_inner_type(inner);
    return is_tensor_type(inner) ? inner->tensor_type : NULL;
}

int32_t
fe_new_composite(struct fe_loader *ld, bool optional, bool present,
                 bool of_sequence, enum ir_dtype dtype, const int32_t *elems,
                 int32_t n)
{
    if (ld->n_composites >= ld->cap_composites) {
        ld->cap_composites = ld->cap_composites ? 2 * ld->cap_composites : 8;
        ld->composites =
            ir_xrealloc(ld->composites,
                        sizeof(*ld->composites) * (size_t)ld->cap_composites);
    }
    struct fe_composite *c = &ld->composites[ld->n_composites];
    c->optional = optional;
    c->present = present || !optional;
    c->of_sequence = of_sequence;
    c->dtype = dtype;
    c->n = n;
    c->elems = ir_xmalloc(sizeof(int32_t) * ((size_t)n + 1));
    if (n > 0)
        memcpy(c->elems, elems, sizeof(int32_t) * (size_t)n);
    return ld->n_composites++;
}

/* The --seq-len binding of input name, or -1. */
static int64_t
bound_length(const struct fe_loader *ld, const char *name)
{
    const struct fe_options *o = ld->opts;
    for (int i = 0; o && i < o->n_seq_lens; i++)
        if (strcmp(o->seq_lens[i].name, name) == 0)
            return o->seq_lens[i].len;
    return -1;
}

static bool
declared_absent(const struct fe_loader *ld, const char *name)
{
    const struct fe_options *o = ld->opts;
    for (int i = 0; o && i < o->n_absent; i++)
        if (strcmp(o->absent[i], name) == 0)
            return true;
    return false;
}

/*
 * Add one tensor graph input called name of type tensor.  An optional
 * tensor's input takes the optional's own name, which the model reserved.
 */
static int
add_element_input(struct fe_loader *ld, const char *name, bool own_name,
                  const Onnx__TypeProto__Tensor *tensor, enum ir_dtype dtype,
                  int32_t *v)
{
    if (!own_name && fe_name_map_get(&ld->taken, name) != IR_NONE)
        return ir_errorf("graph input '%s': the model already uses the name "
                         "'%s' for another value",
                         name, name);
    fe_name_map_put(&ld->taken, name, 0);
    struct ir_shape shape;
    if (fe_input_shape(ld, name, tensor, &shape))
        return -1;
    *v = ir_value_add(ld->g, name, IR_VALUE_INPUT, dtype, &shape);
    ir_graph_add_input(ld->g, *v);
    fe_mark_defined(ld, *v);
    return 0;
}

int
fe_add_composite_input(struct fe_loader *ld, struct fe_scope *main,
                       const Onnx__ValueInfoProto *info)
{
    const char *name = info->name;
    enum fe_value_kind kind = type_kind(info->type);
    const Onnx__TypeProto__Tensor *tensor = element_tensor_type(info->type);
    if (kind == FE_KIND_OTHER || !tensor)
        return ir_errorf("graph input '%s' is a map, a sparse tensor or a "
                         "sequence of sequences, which is not supported "
                         "(onnxc takes tensors, sequences of tensors and "
                         "optionals of those)",
                         name);
    int32_t elem = tensor->has_elem_type ? tensor->elem_type : 0;
    enum ir_dtype dtype = fe_dtype_from_onnx(elem);
    if (dtype == IR_DTYPE_UNDEFINED)
        return ir_errorf("graph input '%s' contains tensors of element type %s "
                         "(%d), which is not supported",
                         name, fe_unsupported_dtype_name(elem), (int)elem);

    bool optional =
        kind == FE_KIND_OPTIONAL_TENSOR || kind == FE_KIND_OPTIONAL_SEQUENCE;
    bool of_sequence = kind != FE_KIND_OPTIONAL_TENSOR;
    bool present = !optional || !declared_absent(ld, name);
    int64_t len = of_sequence ? bound_length(ld, name) : 1;
    if (!present && of_sequence && len >= 0)
        return ir_errorf("--seq-len %s=%lld contradicts --absent %s: an "
                         "absent optional has no sequence; give one of them",
                         name, (long long)len, name);
    if (!present)
        len = 0;
    else if (len < 0)
        return ir_errorf("graph input '%s' is %s whose length must be known "
                         "at compile time; bind it with --seq-len %s=N",
                         name, optional ? "an optional sequence" : "a sequence",
                         name);
    if (len > FE_MAX_SEQ_LEN)
        return ir_errorf("--seq-len %s=%lld: the length is more than the "
                         "maximum %d",
                         name, (long long)len, FE_MAX_SEQ_LEN);

    int32_t *elems = ir_xmalloc(sizeof(int32_t) * ((size_t)len + 1));
    int rc = 0;
    for (int64_t i = 0; i < len && rc == 0; i++) {
        char elem_name[600];
        if (of_sequence)
            snprintf(elem_name, sizeof(elem_name), "%s[%lld]", name,
                     (long long)i);
        else
            snprintf(elem_name, sizeof(elem_name), "%s", name);
        rc = add_element_input(ld, elem_name, !of_sequence, tensor, dtype,
                               &elems[i]);
    }
    if (rc == 0) {
        int32_t c = fe_new_composite(ld, optional, present, of_sequence, dtype,
                                     elems, (int32_t)len);
        fe_name_map_put(&main->composites, name, c);
    }
    free(elems);
    return rc;
}

/* Reject options that name no input of the right kind. */
int
fe_check_input_options(struct fe_loader *ld, struct fe_scope *main)
{
    const struct fe_options *o = ld->opts;
    for (int i = 0; o && i < o->n_seq_lens; i++) {
        int32_t c = fe_name_map_get(&main->composites, o->seq_lens[i].name);
        if (c == IR_NONE || !ld->composites[c].of_sequence)
            return ir_errorf("--seq-len %s=%lld: the model has no sequence "
                             "input named '%s'",
                             o->seq_lens[i].name, (long long)o->seq_lens[i].len,
                             o->seq_lens[i].name);
    }
    for (int i = 0; o && i < o->n_absent; i++) {
        int32_t c = fe_name_map_get(&main->composites, o->absent[i]);
        if (c == IR_NONE || !ld->composites[c].optional)
            return ir_errorf("--absent %s: the model has no optional input "
                             "named '%s'",
                             o->absent[i], o->absent[i]);
    }
    return 0;
}

/* Add an Identity from src to a new graph output called name. */
static int
add_renamed_output(struct fe_loader *ld, const char *name, int32_t src)
{
    /* An input passed straight through already has the name. */
    if (strcmp(ld->g->values[src].name, name) == 0) {
        ir_graph_add_output(ld->g, src);
        return 0;
    }
    if (ir_value_find(ld->g, name) != IR_NONE)
        return ir_errorf("graph output '%s': the model already uses the name "
                         "'%s' for another value",
                         name, name);
    int32_t v = ir_value_add(ld->g, name, IR_VALUE_RESULT,
                             ld->g->values[src].dtype, NULL);
    fe_mark_defined(ld, v);
    ir_op_add(ld->g, IR_OP_IDENTITY, name, ld->g->opset, &src, 1, &v, 1);
    ir_graph_add_output(ld->g, v);
    return 0;
}

int
fe_add_composite_output(struct fe_loader *ld, const char *name, int32_t c)
{
    const struct fe_composite *comp = &ld->composites[c];
    for (int32_t i = 0; i < comp->n; i++) {
        char elem_name[600];
        if (comp->of_sequence)
            snprintf(elem_name, sizeof(elem_name), "%s[%d]", name, (int)i);
        else
            snprintf(elem_name, sizeof(elem_name), "%s", name);
        if (add_renamed_output(ld, elem_name, comp->elems[i]))
            return -1;
    }
    return 0;
}

int
fe_model_io(const char *path, struct fe_io **inputs, int *n_inputs,
            struct fe_io **outputs, int *n_outputs)
{
    uint8_t *data;
    size_t size;
    *inputs = *outputs = NULL;
    *n_inputs = *n_outputs = 0;
    if (fe_read_file(path, &data, &size))
        return -1;
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, size, data);
    free(data);
    if (!m || !m->graph) {
        if (m)
            onnx__model_proto__free_unpacked(m, NULL);
        return ir_errorf("'%s' is not a valid ONNX model", path);
    }
    const Onnx__GraphProto *g = m->graph;
    *inputs = ir_xcalloc(g->n_input + 1, sizeof(struct fe_io));
    *outputs = ir_xcalloc(g->n_output + 1, sizeof(struct fe_io));
    for (size_t i = 0; i < g->n_input; i++) {
        const char *name = g->input[i]->name ? g->input[i]->name : "";
        bool initialized = false;
        for (size_t k = 0; k < g->n_initializer; k++)
            if (g->initializer[k]->name &&
                strcmp(g->initializer[k]->name, name) == 0)
                initialized = true;
        if (initialized)
            continue;
        (*inputs)[*n_inputs].name = ir_xstrdup(name);
        (*inputs)[(*n_inputs)++].kind = type_kind(g->input[i]->type);
    }
    for (size_t i = 0; i < g->n_output; i++) {
        const char *name = g->output[i]->name ? g->output[i]->name : "";
        (*outputs)[*n_outputs].name = ir_xstrdup(name);
        (*outputs)[(*n_outputs)++].kind = type_kind(g->output[i]->type);
    }
    onnx__model_proto__free_unpacked(m, NULL);
    return 0;
}

void
fe_io_free(struct fe_io *io, int n)
{
    for (int i = 0; i < n; i++)
        free(io[i].name);
    free(io);
}

/* Decode the tensors of a SequenceProto into elems[*n...]. */
static int
decode_sequence(const Onnx__SequenceProto *seq, const char *path,
                struct fe_tensor **elems, int *n)
{
    if (seq->n_sparse_tensor_values || seq->n_sequence_values ||
        seq->n_map_values || seq->n_optional_values)
        return ir_errorf("'%s': a sequence of sparse tensors, sequences, maps "
                         "or optionals is not supported",
                         path);
    if (seq->n_tensor_values > FE_MAX_SEQ_LEN)
        return ir_errorf("'%s': the sequence has %zu tensors, more than the "
                         "maximum %d",
                         path, seq->n_tensor_values, FE_MAX_SEQ_LEN);
    *elems = ir_xcalloc(seq->n_tensor_values + 1, sizeof(struct fe_tensor));
    char *dir = fe_dir_name(path);
    int rc = 0;
    for (size_t i = 0; i < seq->n_tensor_values && rc == 0; i++) {
        char what[600];
        snprintf(what, sizeof(what), "tensor %zu of the sequence in '%s'", i,
                 path);
        struct fe_tensor *t = &(*elems)[i];
        rc = fe_decode_data_tensor(seq->tensor_values[i], what, dir, &t->dtype,
                                   &t->shape, &t->data, &t->nbytes);
        if (rc == 0)
            (*n)++;
    }
    free(dir);
    return rc;
}

int
fe_load_value_file(const char *path, enum fe_value_kind kind,
                   struct fe_tensor **elems, int *n, bool *present)
{
    uint8_t *bytes;
    size_t size;
    *elems = NULL;
    *n = 0;
    *present = true;
    if (fe_read_file(path, &bytes, &size))
        return -1;
    int rc = 0;
    if (kind == FE_KIND_SEQUENCE) {
        Onnx__SequenceProto *seq =
            onnx__sequence_proto__unpack(NULL, size, bytes);
        free(bytes);
        if (!seq)
            return ir_errorf("'%s' is not a valid SequenceProto file: "
                             "protobuf decoding failed",
                             path);
        rc = decode_sequence(seq, path, elems, n);
        onnx__sequence_proto__free_unpacked(seq, NULL);
        return rc;
    }
    Onnx__OptionalProto *opt = onnx__optional_proto__unpack(NULL, size, bytes);
    free(bytes);
    if (!opt)
        return ir_errorf("'%s' is not a valid OptionalProto file: protobuf "
                         "decoding failed",
                         path);
    bool want_sequence = kind == FE_KIND_OPTIONAL_SEQUENCE;
    if (opt->tensor_value && !want_sequence) {
        *elems = ir_xcalloc(2, sizeof(struct fe_tensor));
        struct fe_tensor *t = &(*elems)[0];
        char *dir = fe_dir_name(path);
        rc = fe_decode_data_tensor(opt->tensor_value, path, dir, &t->dtype,
                                   &t->shape, &t->data, &t->nbytes);
        free(dir);
        *n = rc == 0 ? 1 : 0;
    } else if (opt->sequence_value && want_sequence) {
        rc = decode_sequence(opt->sequence_value, path, elems, n);
    } else if (opt->tensor_value || opt->sequence_value ||
               opt->sparse_tensor_value || opt->has_map_value ||
               opt->optional_value) {
        rc = ir_errorf("'%s': the optional contains another kind of value than "
                       "the model declares (%s)",
                       path, want_sequence ? "a sequence" : "a tensor");
    } else {
        *present = false;
    }
    onnx__optional_proto__free_unpacked(opt, NULL);
    return rc;
}
