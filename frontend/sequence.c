/*
 * Sequence and optional operators, resolved while loading.  Every sequence
 * has a length and every optional a presence known at compile time, so
 * these ops only rearrange IR values: SequenceAt becomes an Identity of
 * one element, ConcatFromSequence a Concat, SequenceMap one copy of its
 * body per element.  A position must be a constant when the node is read.
 */
#include "loader.h"

#include <stdlib.h>
#include <string.h>

/* Describe value v for messages: "'name' (f32 [2, 3])". */
const char *
fe_describe_value(const struct ir_graph *g, int32_t v, char *buf, size_t size)
{
    char shape[128];
    const struct ir_value *val = &g->values[v];
    ir_shape_format(g, &val->shape, shape, sizeof(shape));
    snprintf(buf, size, "'%s' (%s %s)", val->name, ir_dtype_name(val->dtype),
             shape);
    return buf;
}

/* The input k of node, or "" when the node leaves it out. */
static const char *
input_name(const Onnx__NodeProto *node, size_t k)
{
    return k < node->n_input ? node->input[k] : "";
}

/* Read input k, which must be a sequence (or, with optional_ok, an
 * optional too).  Returns the composite index, or IR_NONE after an error. */
static int32_t
read_composite(struct fe_loader *ld, struct fe_scope *s,
               const Onnx__NodeProto *node, size_t k, bool optional_ok)
{
    const char *name = input_name(node, k);
    if (!*name) {
        fe_node_error(s, node,
                      "input %zu is required, but the node leaves "
                      "it out",
                      k);
        return IR_NONE;
    }
    int32_t c = fe_scope_composite(ld, s, name);
    if (c == IR_NONE && ld->outer) {
        fe_node_error(s, node,
                      "input %zu '%s' is not %s known in this If or Loop "
                      "body; sequences and optionals that cross into or out "
                      "of If and Loop bodies are not supported",
                      k, name, optional_ok ? "an optional" : "a sequence");
        return IR_NONE;
    }
    if (c == IR_NONE) {
        fe_node_error(s, node,
                      "input %zu '%s' must be %s known at compile time, but "
                      "it is a tensor or not defined before the node",
                      k, name, optional_ok ? "an optional" : "a sequence");
        return IR_NONE;
    }
    const struct fe_composite *comp = &ld->composites[c];
    if (!optional_ok && comp->optional) {
        fe_node_error(s, node, "input %zu '%s' is %s, not a sequence", k, name,
                      fe_composite_kind(comp));
        return IR_NONE;
    }
    return c;
}

/* Read input k as a tensor that an earlier node defines; IR_NONE after
 * an error. */
int32_t
fe_read_tensor(struct fe_loader *ld, struct fe_scope *s,
               const Onnx__NodeProto *node, size_t k)
{
    const char *name = input_name(node, k);
    int32_t c = *name ? fe_scope_composite(ld, s, name) : IR_NONE;
    if (c != IR_NONE) {
        fe_node_error(s, node, "input %zu '%s' is %s, but must be a tensor", k,
                      name, fe_composite_kind(&ld->composites[c]));
        return IR_NONE;
    }
    int32_t v = *name ? fe_scope_read(ld, s, name, IR_NONE, (int)k) : IR_NONE;
    if (v == IR_NONE || !fe_is_defined(ld, v)) {
        fe_node_error(s, node,
                      "input %zu '%s' is not defined by an earlier node, "
                      "initializer or graph input",
                      k, name);
        return IR_NONE;
    }
    return v;
}

/*
 * Read input k as a constant integer scalar (or one-element tensor) into
 * *pos.  An omitted input leaves *pos unchanged.
 */
static int
read_position(struct fe_loader *ld, struct fe_scope *s,
              const Onnx__NodeProto *node, size_t k, int64_t *pos)
{
    if (!*input_name(node, k))
        return 0;
    int32_t v = fe_read_tensor(ld, s, node, k);
    if (v == IR_NONE)
        return -1;
    const struct ir_value *val = &ld->g->values[v];
    char what[300];
    fe_describe_value(ld->g, v, what, sizeof(what));
    if (val->kind != IR_VALUE_CONST)
        return fe_node_error(s, node,
                             "input %zu %s must be a constant: sequence "
                             "positions computed at run time are not "
                             "supported",
                             k, what);
    if ((val->dtype != IR_DTYPE_INT64 && val->dtype != IR_DTYPE_INT32) ||
        ir_shape_numel(&val->shape) != 1)
        return fe_node_error(
            s, node, "input %zu %s must be an int32 or int64 scalar", k, what);
    if (val->dtype == IR_DTYPE_INT64)
        memcpy(pos, val->data, sizeof(int64_t));
    else {
        int32_t p;
        memcpy(&p, val->data, sizeof(p));
        *pos = p;
    }
    return 0;
}

/* Check that position pos is in [-n, n - 1], or [-n, n] with at_end;
 * turn a negative one into its index. */
static int
check_position(struct fe_scope *s, const Onnx__NodeProto *node, int64_t *pos,
               int32_t n, bool at_end)
{
    int64_t max = at_end ? n : (int64_t)n - 1;
    if (n == 0 && !at_end)
        return fe_node_error(s, node,
                             "position %lld is out of range: the sequence "
                             "'%s' is empty",
                             (long long)*pos, input_name(node, 0));
    if (*pos < -(int64_t)n || *pos > max)
        return fe_node_error(s, node,
                             "position %lld is out of range for the "
                             "sequence '%s' of %d tensors (valid: %lld to "
                             "%lld)",
                             (long long)*pos, input_name(node, 0), (int)n,
                             -(long long)n, (long long)max);
    if (*pos < 0)
        *pos += n;
    return 0;
}

/* The output k of node, which the node must name. */
static int
check_output(struct fe_scope *s, const Onnx__NodeProto *node, size_t k)
{
    if (k >= node->n_output || !*node->output[k])
        return fe_node_error(s, node,
                             "output %zu is required, but the node "
                             "leaves it out",
                             k);
    return 0;
}

/* The name of a new op made for node: its name or type, unique. */
static char *
made_op_name(struct fe_loader *ld, const struct fe_scope *s,
             const Onnx__NodeProto *node)
{
    const char *base = node->name && *node->name ? node->name : node->op_type;
    size_t size = strlen(base) + (s->prefix ? strlen(s->prefix) : 0) + 2;
    char *full = ir_xmalloc(size);
    if (s->prefix)
        snprintf(full, size, "%s/%s", s->prefix, base);
    else
        snprintf(full, size, "%s", base);
    char *unique = fe_unique_name(ld, full);
    free(full);
    return unique;
}

/* Define output k of node as an Identity of value src. */
int
fe_define_identity(struct fe_loader *ld, struct fe_scope *s,
                   const Onnx__NodeProto *node, size_t k, int32_t src,
                   int opset)
{
    if (check_output(s, node, k))
        return -1;
    int32_t r = fe_scope_define(ld, s, node, node->output[k]);
    if (r == IR_NONE)
        return -1;
    char *name = made_op_name(ld, s, node);
    ir_op_add(ld->g, IR_OP_IDENTITY, name, opset, &src, 1, &r, 1);
    free(name);
    return 0;
}

/* Define output 0 of node as a constant scalar of dtype. */
static int
define_scalar(struct fe_loader *ld, struct fe_scope *s,
              const Onnx__NodeProto *node, enum ir_dtype dtype,
              const void *value)
{
    if (check_output(s, node, 0))
        return -1;
    int32_t v = fe_scope_define(ld, s, node, node->output[0]);
    if (v == IR_NONE)
        return -1;
    size_t size = ir_dtype_size(dtype);
    void *data = ir_xmalloc(size);
    memcpy(data, value, size);
    ld->g->values[v].dtype = dtype;
    ld->g->values[v].shape = ir_shape_make(0, NULL);
    ir_value_set_const(ld->g, v, data, size);
    return 0;
}

/* Define output k of node as a new composite. */
static int
define_composite(struct fe_loader *ld, struct fe_scope *s,
                 const Onnx__NodeProto *node, size_t k, bool optional,
                 bool present, bool of_sequence, enum ir_dtype dtype,
                 const int32_t *elems, int32_t n)
{
    if (check_output(s, node, k))
        return -1;
    int32_t c =
        fe_new_composite(ld, optional, present, of_sequence, dtype, elems, n);
    return fe_scope_define_composite(ld, s, node, node->output[k], c);
}

/*
 * Check that tensor v may join a sequence of dtype *dtype, and learn the
 * dtype from v when the sequence does not know it yet.  A dtype that only
 * inference will find is not checked.
 */
static int
check_element_dtype(struct fe_loader *ld, struct fe_scope *s,
                    const Onnx__NodeProto *node, size_t k, int32_t v,
                    enum ir_dtype *dtype)
{
    enum ir_dtype t = ld->g->values[v].dtype;
    if (t == IR_DTYPE_UNDEFINED)
        return 0;
    if (*dtype == IR_DTYPE_UNDEFINED) {
        *dtype = t;
        return 0;
    }
    if (t == *dtype)
        return 0;
    char what[300];
    return fe_node_error(s, node,
                         "input %zu %s has element type %s, but the sequence "
                         "contains %s tensors; a sequence has one element type",
                         k, fe_describe_value(ld->g, v, what, sizeof(what)),
                         ir_dtype_name(t), ir_dtype_name(*dtype));
}

static int
add_sequence_construct(struct fe_loader *ld, struct fe_scope *s,
                       const Onnx__NodeProto *node)
{
    if (node->n_input > FE_MAX_SEQ_LEN)
        return fe_node_error(s, node,
                             "has %zu inputs, more than the maximum "
                             "sequence length %d",
                             node->n_input, FE_MAX_SEQ_LEN);
    int32_t *elems = ir_xmalloc(sizeof(int32_t) * (node->n_input + 1));
    enum ir_dtype dtype = IR_DTYPE_UNDEFINED;
    int rc = node->n_input == 0
                 ? fe_node_error(s, node, "needs at least one input")
                 : 0;
    for (size_t k = 0; k < node->n_input && rc == 0; k++) {
        elems[k] = fe_read_tensor(ld, s, node, k);
        rc = elems[k] == IR_NONE
                 ? -1
                 : check_element_dtype(ld, s, node, k, elems[k], &dtype);
    }
    if (rc == 0)
        rc = define_composite(ld, s, node, 0, false, true, true, dtype, elems,
                              (int32_t)node->n_input);
    free(elems);
    return rc;
}

/* The int attribute name of node, or dflt. */
static int64_t
int_attr(const Onnx__NodeProto *node, const char *name, int64_t dflt)
{
    for (size_t i = 0; i < node->n_attribute; i++) {
        const Onnx__AttributeProto *a = node->attribute[i];
        if (a->name && strcmp(a->name, name) == 0 && a->has_i)
            return a->i;
    }
    return dflt;
}

static bool
has_attr(const Onnx__NodeProto *node, const char *name)
{
    for (size_t i = 0; i < node->n_attribute; i++)
        if (node->attribute[i]->name &&
            strcmp(node->attribute[i]->name, name) == 0)
            return true;
    return false;
}

static int
add_sequence_empty(struct fe_loader *ld, struct fe_scope *s,
                   const Onnx__NodeProto *node)
{
    int64_t elem = int_attr(node, "dtype", 1);
    enum ir_dtype dtype = elem > 0 && elem < 64
                              ? fe_dtype_from_onnx((int32_t)elem)
                              : IR_DTYPE_UNDEFINED;
    if (dtype == IR_DTYPE_UNDEFINED)
        return fe_node_error(s, node,
                             "attribute 'dtype' is element type %lld, which "
                             "is not supported",
                             (long long)elem);
    return define_composite(ld, s, node, 0, false, true, true, dtype, NULL, 0);
}

static int
add_sequence_insert(struct fe_loader *ld, struct fe_scope *s,
                    const Onnx__NodeProto *node)
{
    int32_t c = read_composite(ld, s, node, 0, false);
    if (c == IR_NONE)
        return -1;
    int32_t v = fe_read_tensor(ld, s, node, 1);
    if (v == IR_NONE)
        return -1;
    struct fe_composite seq = ld->composites[c];
    enum ir_dtype dtype = seq.dtype;
    if (check_element_dtype(ld, s, node, 1, v, &dtype))
        return -1;
    if (seq.n >= FE_MAX_SEQ_LEN)
        return fe_node_error(s, node,
                             "the sequence would have more than %d "
                             "tensors",
                             FE_MAX_SEQ_LEN);
    int64_t pos = seq.n;
    if (read_position(ld, s, node, 2, &pos) ||
        check_position(s, node, &pos, seq.n, true))
        return -1;
    int32_t *elems = ir_xmalloc(sizeof(int32_t) * ((size_t)seq.n + 2));
    memcpy(elems, seq.elems, sizeof(int32_t) * (size_t)pos);
    elems[pos] = v;
    memcpy(elems + pos + 1, seq.elems + pos,
           sizeof(int32_t) * (size_t)(seq.n - pos));
    int rc = define_composite(ld, s, node, 0, false, true, true, dtype, elems,
                              seq.n + 1);
    free(elems);
    return rc;
}

static int
add_sequence_erase(struct fe_loader *ld, struct fe_scope *s,
                   const Onnx__NodeProto *node)
{
    int32_t c = read_composite(ld, s, node, 0, false);
    if (c == IR_NONE)
        return -1;
    struct fe_composite seq = ld->composites[c];
    int64_t pos = -1;
    if (read_position(ld, s, node, 1, &pos) ||
        check_position(s, node, &pos, seq.n, false))
        return -1;
    int32_t *elems = ir_xmalloc(sizeof(int32_t) * ((size_t)seq.n + 1));
    memcpy(elems, seq.elems, sizeof(int32_t) * (size_t)pos);
    memcpy(elems + pos, seq.elems + pos + 1,
           sizeof(int32_t) * (size_t)(seq.n - pos - 1));
    int rc = define_composite(ld, s, node, 0, false, true, true, seq.dtype,
                              elems, seq.n - 1);
    free(elems);
    return rc;
}

static int
add_sequence_at(struct fe_loader *ld, struct fe_scope *s,
                const Onnx__NodeProto *node, int opset)
{
    int32_t c = read_composite(ld, s, node, 0, false);
    if (c == IR_NONE)
        return -1;
    int64_t pos = 0;
    if (!*input_name(node, 1))
        return fe_node_error(s, node, "input 1 (position) is required");
    int32_t n = ld->composites[c].n;
    if (read_position(ld, s, node, 1, &pos) ||
        check_position(s, node, &pos, n, false))
        return -1;
    return fe_define_identity(ld, s, node, 0, ld->composites[c].elems[pos],
                              opset);
}

static int
add_sequence_length(struct fe_loader *ld, struct fe_scope *s,
                    const Onnx__NodeProto *node)
{
    int32_t c = read_composite(ld, s, node, 0, false);
    if (c == IR_NONE)
        return -1;
    int64_t n = ld->composites[c].n;
    return define_scalar(ld, s, node, IR_DTYPE_INT64, &n);
}

/* Add a constant int64 vector for node; returns its value. */
int32_t
fe_add_int64_vector(struct fe_loader *ld, const struct fe_scope *s,
                    const Onnx__NodeProto *node, const int64_t *values, int n)
{
    char *name = made_op_name(ld, s, node);
    int64_t len = n;
    struct ir_shape shape = ir_shape_make(1, &len);
    int32_t v = ir_const_add(ld->g, name, IR_DTYPE_INT64, &shape, values,
                             sizeof(int64_t) * (size_t)n);
    fe_mark_defined(ld, v);
    free(name);
    return v;
}

/* Add op kind over operands with one new result; returns the result. */
int32_t
fe_add_made_op(struct fe_loader *ld, const struct fe_scope *s,
               const Onnx__NodeProto *node, enum ir_op_kind kind, int opset,
               const int32_t *operands, int n, int32_t result)
{
    char *name = made_op_name(ld, s, node);
    if (result == IR_NONE) {
        result = ir_value_add(ld->g, name, IR_VALUE_RESULT, IR_DTYPE_UNDEFINED,
                              NULL);
        fe_mark_defined(ld, result);
    }
    ir_op_add(ld->g, kind, name, opset, operands, n, &result, 1);
    free(name);
    return result;
}

/* ConcatFromSequence: a Concat of the elements, each unsqueezed at axis
 * first when new_axis is 1. */
static int
add_concat_from_sequence(struct fe_loader *ld, struct fe_scope *s,
                         const Onnx__NodeProto *node, int opset)
{
    int32_t c = read_composite(ld, s, node, 0, false);
    if (c == IR_NONE)
        return -1;
    if (!has_attr(node, "axis"))
        return fe_node_error(s, node, "attribute 'axis' is required");
    int64_t axis = int_attr(node, "axis", 0);
    int64_t new_axis = int_attr(node, "new_axis", 0);
    if (new_axis != 0 && new_axis != 1)
        return fe_node_error(s, node,
                             "attribute 'new_axis' is %lld, but "
                             "must be 0 or 1",
                             (long long)new_axis);
    struct fe_composite seq = ld->composites[c];
    if (seq.n == 0)
        return fe_node_error(s, node,
                             "the sequence '%s' is empty, and ONNX defines "
                             "no result for concatenating no tensors",
                             input_name(node, 0));
    if (check_output(s, node, 0))
        return -1;
    int32_t *parts = ir_xmalloc(sizeof(int32_t) * ((size_t)seq.n + 1));
    for (int32_t i = 0; i < seq.n; i++) {
        parts[i] = seq.elems[i];
        if (new_axis) {
            int32_t operands[2] = {seq.elems[i],
                                   fe_add_int64_vector(ld, s, node, &axis, 1)};
            parts[i] =
                fe_add_made_op(ld, s, node, IR_OP_UNSQUEEZE,
                               opset < 13 ? 13 : opset, operands, 2, IR_NONE);
        }
    }
    int32_t r = fe_scope_define(ld, s, node, node->output[0]);
    int rc = r == IR_NONE ? -1 : 0;
    if (rc == 0) {
        int32_t op = ld->g->n_ops;
        fe_add_made_op(ld, s, node, IR_OP_CONCAT, opset, parts, (int)seq.n, r);
        ir_op_set_int(&ld->g->ops[op], "axis", axis);
    }
    free(parts);
    return rc;
}

/* The dim of input v along axis, when the shape fixes it while loading. */
static int64_t
static_dim(const struct ir_graph *g, int32_t v, int64_t *axis)
{
    const struct ir_shape *shape = &g->values[v].shape;
    if (shape->rank < 0)
        return -1;
    if (*axis < 0)
        *axis += shape->rank;
    if (*axis < 0 || *axis >= shape->rank || shape->sym[*axis] >= 0)
        return -1;
    return shape->dim[*axis];
}

/* The piece sizes of SplitToSequence; n is -1 when they are not known
 * while loading. */
static int
split_sizes(struct fe_loader *ld, struct fe_scope *s,
            const Onnx__NodeProto *node, int32_t input, int64_t *axis,
            int64_t **sizes, int64_t *n)
{
    *n = -1;
    *sizes = NULL;
    int64_t dim = static_dim(ld->g, input, axis);
    int64_t chunk = 1;
    if (*input_name(node, 1)) {
        int32_t v = fe_read_tensor(ld, s, node, 1);
        if (v == IR_NONE)
            return -1;
        const struct ir_value *val = &ld->g->values[v];
        char what[300];
        fe_describe_value(ld->g, v, what, sizeof(what));
        if (val->kind != IR_VALUE_CONST || val->dtype != IR_DTYPE_INT64 ||
            val->shape.rank > 1)
            return fe_node_error(s, node,
                                 "input 1 %s must be a constant int64 scalar "
                                 "or vector: split sizes computed at run "
                                 "time are not supported",
                                 what);
        int64_t count = ir_shape_numel(&val->shape);
        if (val->shape.rank == 1) {
            if (count > FE_MAX_SEQ_LEN)
                return fe_node_error(s, node,
                                     "input 1 %s has more than %d "
                                     "sizes",
                                     what, FE_MAX_SEQ_LEN);
            const int64_t *given = val->data;
            int64_t total = 0;
            for (int64_t i = 0; i < count; i++) {
                if (given[i] < 0)
                    return fe_node_error(s, node,
                                         "input 1 %s: split size %lld "
                                         "is negative",
                                         what, (long long)given[i]);
                if (__builtin_add_overflow(total, given[i], &total))
                    return fe_node_error(s, node,
                                         "input 1 %s: the split sizes "
                                         "overflow int64",
                                         what);
            }
            if (dim >= 0 && total != dim)
                return fe_node_error(s, node,
                                     "input 1 %s: the split sizes add up "
                                     "to %lld, but axis %lld has size %lld",
                                     what, (long long)total, (long long)*axis,
                                     (long long)dim);
            *n = count;
            *sizes = ir_xmalloc(sizeof(int64_t) * ((size_t)count + 1));
            memcpy(*sizes, given, sizeof(int64_t) * (size_t)count);
            return 0;
        }
        memcpy(&chunk, val->data, sizeof(int64_t));
        if (chunk <= 0)
            return fe_node_error(s, node, "input 1 %s must be positive", what);
    }
    if (dim < 0)
        return 0;
    *n = dim == 0 ? 0 : (dim + chunk - 1) / chunk;
    if (*n > FE_MAX_SEQ_LEN)
        return fe_node_error(s, node,
                             "would make %lld tensors, more than the "
                             "maximum sequence length %d",
                             (long long)*n, FE_MAX_SEQ_LEN);
    *sizes = ir_xmalloc(sizeof(int64_t) * ((size_t)*n + 1));
    for (int64_t i = 0; i < *n; i++)
        (*sizes)[i] = i + 1 < *n ? chunk : dim - chunk * (*n - 1);
    return 0;
}

/* SplitToSequence: a Split into pieces whose count is known while
 * loading, each squeezed at axis when keepdims is 0 and no split is
 * given. */
static int
add_split_to_sequence(struct fe_loader *ld, struct fe_scope *s,
                      const Onnx__NodeProto *node, int opset)
{
    int32_t input = fe_read_tensor(ld, s, node, 0);
    if (input == IR_NONE)
        return -1;
    int64_t axis = int_attr(node, "axis", 0);
    bool keepdims = int_attr(node, "keepdims", 1) != 0;
    char what[300];
    int rank = ld->g->values[input].shape.rank;
    if (rank == 0)
        return fe_node_error(
            s, node,
            "input 0 %s is a scalar, which has no axis to "
            "split",
            fe_describe_value(ld->g, input, what, sizeof(what)));
    if (rank > 0 && (axis < -rank || axis >= rank))
        return fe_node_error(
            s, node,
            "axis %lld is out of range for input 0 %s (valid: %d to %d)",
            (long long)axis,
            fe_describe_value(ld->g, input, what, sizeof(what)), -rank,
            rank - 1);
    int64_t *sizes, n;
    if (split_sizes(ld, s, node, input, &axis, &sizes, &n))
        return -1;
    if (n < 0)
        return fe_node_error(
            s, node,
            "the number of pieces depends on dim %lld of "
            "input 0 %s, which is not known while loading; "
            "this is not supported",
            (long long)axis,
            fe_describe_value(ld->g, input, what, sizeof(what)));
    enum ir_dtype dtype = ld->g->values[input].dtype;
    int32_t *elems = ir_xmalloc(sizeof(int32_t) * ((size_t)n + 1));
    if (n > 0) {
        int32_t operands[2] = {input,
                               fe_add_int64_vector(ld, s, node, sizes, (int)n)};
        char *name = made_op_name(ld, s, node);
        int32_t op = ir_op_add(ld->g, IR_OP_SPLIT, name,
                               opset < 13 ? 13 : opset, operands, 2, NULL, 0);
        ir_op_set_int(&ld->g->ops[op], "axis", axis);
        for (int64_t i = 0; i < n; i++) {
            elems[i] = ir_op_add_result(ld->g, op, NULL, IR_DTYPE_UNDEFINED);
            fe_mark_defined(ld, elems[i]);
        }
        free(name);
    }
    /* keepdims applies only when the node gives no split. */
    bool squeeze = !keepdims && !*input_name(node, 1);
    for (int64_t i = 0; i < n && squeeze; i++) {
        int32_t operands[2] = {elems[i],
                               fe_add_int64_vector(ld, s, node, &axis, 1)};
        elems[i] =
            fe_add_made_op(ld, s, node, IR_OP_SQUEEZE, opset < 13 ? 13 : opset,
                           operands, 2, IR_NONE);
    }
    int rc = define_composite(ld, s, node, 0, false, true, true, dtype, elems,
                              (int32_t)n);
    free(elems);
    free(sizes);
    return rc;
}

/* The attribute of node called name, or NULL. */
const Onnx__AttributeProto *
fe_find_attr(const Onnx__NodeProto *node, const char *name)
{
    for (size_t i = 0; i < node->n_attribute; i++)
        if (node->attribute[i]->name &&
            strcmp(node->attribute[i]->name, name) == 0)
            return node->attribute[i];
    return NULL;
}

/* Optional: wraps its input, or without one is empty of attribute type. */
static int
add_optional(struct fe_loader *ld, struct fe_scope *s,
             const Onnx__NodeProto *node)
{
    const char *name = input_name(node, 0);
    if (!*name) {
        const Onnx__AttributeProto *a = fe_find_attr(node, "type");
        const Onnx__TypeProto *type = a ? a->tp : NULL;
        if (!type)
            return fe_node_error(s, node,
                                 "an Optional without an input "
                                 "needs the attribute 'type'");
        bool of_sequence =
            type->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE;
        if (!of_sequence &&
            type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
            return fe_node_error(s, node,
                                 "attribute 'type' is not a tensor "
                                 "or sequence type; this is not "
                                 "supported");
        return define_composite(ld, s, node, 0, true, false, of_sequence,
                                IR_DTYPE_UNDEFINED, NULL, 0);
    }
    int32_t c = fe_scope_composite(ld, s, name);
    if (c != IR_NONE) {
        struct fe_composite inner = ld->composites[c];
        if (inner.optional)
            return fe_node_error(s, node,
                                 "input 0 '%s' is %s; optionals of "
                                 "optionals are not supported",
                                 name, fe_composite_kind(&inner));
        return define_composite(ld, s, node, 0, true, true, true, inner.dtype,
                                inner.elems, inner.n);
    }
    int32_t v = fe_read_tensor(ld, s, node, 0);
    if (v == IR_NONE)
        return -1;
    return define_composite(ld, s, node, 0, true, true, false,
                            ld->g->values[v].dtype, &v, 1);
}

/* OptionalHasElement; since opset 18 its input may also be a tensor or a
 * sequence (always present) or left out (absent). */
static int
add_optional_has_element(struct fe_loader *ld, struct fe_scope *s,
                         const Onnx__NodeProto *node)
{
    const char *name = input_name(node, 0);
    uint8_t present = 0;
    if (*name) {
        int32_t c = fe_scope_composite(ld, s, name);
        present = c == IR_NONE || ld->composites[c].present;
        if (c == IR_NONE && fe_read_tensor(ld, s, node, 0) == IR_NONE)
            return -1;
    }
    return define_scalar(ld, s, node, IR_DTYPE_BOOL, &present);
}

static int
add_optional_get_element(struct fe_loader *ld, struct fe_scope *s,
                         const Onnx__NodeProto *node, int opset)
{
    const char *name = input_name(node, 0);
    int32_t c = *name ? fe_scope_composite(ld, s, name) : IR_NONE;
    if (c == IR_NONE) {
        int32_t v = fe_read_tensor(ld, s, node, 0);
        return v == IR_NONE ? -1 : fe_define_identity(ld, s, node, 0, v, opset);
    }
    struct fe_composite opt = ld->composites[c];
    if (opt.optional && !opt.present)
        return fe_node_error(s, node,
                             "input 0 '%s' is an absent optional, "
                             "which has no element to get",
                             name);
    if (opt.of_sequence)
        return define_composite(ld, s, node, 0, false, true, true, opt.dtype,
                                opt.elems, opt.n);
    return fe_define_identity(ld, s, node, 0, opt.elems[0], opset);
}

static int
add_identity(struct fe_loader *ld, struct fe_scope *s,
             const Onnx__NodeProto *node, int32_t c)
{
    if (check_output(s, node, 0))
        return -1;
    return fe_scope_define_composite(ld, s, node, node->output[0], c);
}

int
fe_add_sequence_node(struct fe_loader *ld, struct fe_scope *s,
                     const Onnx__NodeProto *node, int opset)
{
    const char *op = node->op_type;
    if (strcmp(op, "Identity") == 0) {
        int32_t c =
            node->n_input ? fe_scope_composite(ld, s, node->input[0]) : IR_NONE;
        return c == IR_NONE ? 1 : add_identity(ld, s, node, c);
    }
    if (strcmp(op, "SequenceConstruct") == 0)
        return add_sequence_construct(ld, s, node);
    if (strcmp(op, "SequenceEmpty") == 0)
        return add_sequence_empty(ld, s, node);
    if (strcmp(op, "SequenceInsert") == 0)
        return add_sequence_insert(ld, s, node);
    if (strcmp(op, "SequenceErase") == 0)
        return add_sequence_erase(ld, s, node);
    if (strcmp(op, "SequenceAt") == 0)
        return add_sequence_at(ld, s, node, opset);
    if (strcmp(op, "SequenceLength") == 0)
        return add_sequence_length(ld, s, node);
    if (strcmp(op, "ConcatFromSequence") == 0)
        return add_concat_from_sequence(ld, s, node, opset);
    if (strcmp(op, "SplitToSequence") == 0)
        return add_split_to_sequence(ld, s, node, opset);
    if (strcmp(op, "SequenceMap") == 0)
        return fe_add_sequence_map(ld, s, node);
    if (strcmp(op, "Optional") == 0)
        return add_optional(ld, s, node);
    if (strcmp(op, "OptionalHasElement") == 0)
        return add_optional_has_element(ld, s, node);
    if (strcmp(op, "OptionalGetElement") == 0)
        return add_optional_get_element(ld, s, node, opset);
    return 1;
}
