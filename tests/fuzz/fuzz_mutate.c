/*
 * libFuzzer target with a structure-aware mutator.  Each mutation unpacks
 * the input as a ModelProto and breaks one thing the way a hostile or
 * buggy exporter would: a dim, a dropped input, an attribute, an
 * initializer's shape, a cycle, a duplicate name or the opset.  It then
 * packs the model again, so most inputs get past protobuf decoding and
 * reach the loader and the passes.  Inputs that do not decode fall back
 * to libFuzzer's byte mutations.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"

#include "fuzz_common.h"
#include "ir/ir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size,
                               unsigned int seed);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_compile_model(data, size);
    return 0;
}

/* xorshift64*, seeded by libFuzzer so a mutation can be replayed. */
static uint64_t rng_state;

static uint64_t
rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

/* A number in [0, n); 0 when n is 0. */
static size_t
pick(size_t n)
{
    return n ? (size_t)(rng_next() % n) : 0;
}

/* Values that break size arithmetic, axis checks and rank limits. */
static int64_t
interesting_int(void)
{
    static const int64_t values[] = {
        0,
        1,
        2,
        3,
        7,
        8,
        9,
        -1,
        -2,
        -3,
        -8,
        -9,
        100000,
        -100000,
        INT32_MAX,
        INT32_MIN,
        (int64_t)1 << 31,
        (int64_t)1 << 32,
        (int64_t)1 << 62,
        INT64_MAX,
        INT64_MIN,
        INT64_MAX / 2 + 1,
    };
    if (pick(4) == 0)
        return (int64_t)rng_next();
    return values[pick(sizeof(values) / sizeof(values[0]))];
}

/* Free a string that protobuf-c unpacked, unless it is its shared "". */
static void
free_string(char *s)
{
    if (s != protobuf_c_empty_string)
        free(s);
}

/* Replace a protobuf-c string field with a malloc'd copy of s. */
static void
set_string(char **field, const char *s)
{
    free_string(*field);
    *field = strdup(s);
}

/* Remove element i from a protobuf-c array of pointers to messages. */
static void
drop_message(void **array, size_t *n, size_t i)
{
    protobuf_c_message_free_unpacked(array[i], NULL);
    memmove(&array[i], &array[i + 1], (*n - i - 1) * sizeof(*array));
    (*n)--;
}

/* ---- collecting the parts to mutate ---- */

struct parts {
    Onnx__ModelProto *model;
    Onnx__GraphProto *graph;
    Onnx__ValueInfoProto **infos; /* inputs, outputs and value_info */
    size_t n_infos;
    char **names; /* copies of every value name the graph mentions */
    size_t n_names;
};

/* Collect the parts anew before each mutation, because the one before
 * may have freed some. */
static void
collect(struct parts *p)
{
    p->n_infos = p->n_names = 0;
    Onnx__GraphProto *g = p->graph;
    p->n_infos = g->n_input + g->n_output + g->n_value_info;
    p->infos = calloc(p->n_infos + 1, sizeof(*p->infos));
    size_t k = 0;
    for (size_t i = 0; i < g->n_input; i++)
        p->infos[k++] = g->input[i];
    for (size_t i = 0; i < g->n_output; i++)
        p->infos[k++] = g->output[i];
    for (size_t i = 0; i < g->n_value_info; i++)
        p->infos[k++] = g->value_info[i];

    size_t cap = p->n_infos + g->n_initializer + 1;
    for (size_t i = 0; i < g->n_node; i++)
        cap += g->node[i]->n_output;
    p->names = calloc(cap, sizeof(*p->names));
    for (size_t i = 0; i < p->n_infos; i++)
        if (p->infos[i]->name)
            p->names[p->n_names++] = strdup(p->infos[i]->name);
    for (size_t i = 0; i < g->n_initializer; i++)
        if (g->initializer[i]->name)
            p->names[p->n_names++] = strdup(g->initializer[i]->name);
    for (size_t i = 0; i < g->n_node; i++)
        for (size_t j = 0; j < g->node[i]->n_output; j++)
            p->names[p->n_names++] = strdup(g->node[i]->output[j]);
}

static void
release(struct parts *p)
{
    for (size_t i = 0; i < p->n_names; i++)
        free(p->names[i]);
    free(p->names);
    free(p->infos);
}

/* A name to plant: an existing one most of the time, else a dangling one. */
static char *
some_name(const struct parts *p)
{
    static const char *const odd[] = {"", "no_such_value", "x", "y"};
    if (p->n_names && pick(5) != 0)
        return strdup(p->names[pick(p->n_names)]);
    return strdup(odd[pick(sizeof(odd) / sizeof(odd[0]))]);
}

static Onnx__TensorShapeProto *
info_shape(Onnx__ValueInfoProto *info)
{
    Onnx__TypeProto *t = info->type;
    if (!t || t->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ||
        !t->tensor_type)
        return NULL;
    return t->tensor_type->shape;
}

/* ---- mutations; each returns 0 when it changed the model ---- */

static int
mutate_dim(struct parts *p)
{
    if (!p->n_infos)
        return -1;
    Onnx__TensorShapeProto *s = info_shape(p->infos[pick(p->n_infos)]);
    if (!s || !s->n_dim)
        return -1;
    Onnx__TensorShapeProto__Dimension *d = s->dim[pick(s->n_dim)];
    if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM)
        free_string(d->dim_param);
    static const char *const params[] = {"batch", "seq_len", "N", ""};
    switch (pick(3)) {
    case 0:
        d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
        d->dim_param = strdup(params[pick(4)]);
        break;
    case 1:
        d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE__NOT_SET;
        break;
    default:
        d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        d->dim_value = interesting_int();
    }
    return 0;
}

/* Add dims (up to rank 10, over the maximum of 8) or remove one. */
static int
mutate_rank(struct parts *p)
{
    if (!p->n_infos)
        return -1;
    Onnx__TensorShapeProto *s = info_shape(p->infos[pick(p->n_infos)]);
    if (!s)
        return -1;
    if (s->n_dim && pick(2) == 0) {
        drop_message((void **)s->dim, &s->n_dim, pick(s->n_dim));
        return 0;
    }
    size_t want = s->n_dim + 1 + pick(10 - (s->n_dim < 9 ? s->n_dim : 9));
    s->dim = realloc(s->dim, want * sizeof(*s->dim));
    while (s->n_dim < want) {
        Onnx__TensorShapeProto__Dimension *d = malloc(sizeof(*d));
        onnx__tensor_shape_proto__dimension__init(d);
        d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        d->dim_value = pick(4) ? 1 : 2;
        s->dim[s->n_dim++] = d;
    }
    return 0;
}

static int
drop_graph_input(struct parts *p)
{
    Onnx__GraphProto *g = p->graph;
    if (!g->n_input)
        return -1;
    drop_message((void **)g->input, &g->n_input, pick(g->n_input));
    return 0;
}

static int
drop_initializer(struct parts *p)
{
    Onnx__GraphProto *g = p->graph;
    if (!g->n_initializer)
        return -1;
    drop_message((void **)g->initializer, &g->n_initializer,
                 pick(g->n_initializer));
    return 0;
}

/* Point a node input at another value: a later node's output makes a
 * cycle or a forward reference, its own output a self-loop. */
static int
rewire_node_input(struct parts *p)
{
    Onnx__GraphProto *g = p->graph;
    if (!g->n_node)
        return -1;
    Onnx__NodeProto *n = g->node[pick(g->n_node)];
    if (!n->n_input)
        return -1;
    size_t k = pick(n->n_input);
    free_string(n->input[k]);
    if (n->n_output && pick(4) == 0)
        n->input[k] = strdup(n->output[pick(n->n_output)]);
    else
        n->input[k] = some_name(p);
    return 0;
}

/* Make a node define a name that something else already defines. */
static int
duplicate_output(struct parts *p)
{
    Onnx__GraphProto *g = p->graph;
    if (!g->n_node)
        return -1;
    Onnx__NodeProto *n = g->node[pick(g->n_node)];
    if (!n->n_output)
        return -1;
    size_t k = pick(n->n_output);
    free_string(n->output[k]);
    n->output[k] = some_name(p);
    return 0;
}

/* Drop a node's last input or append one. */
static int
change_arity(struct parts *p)
{
    Onnx__GraphProto *g = p->graph;
    if (!g->n_node)
        return -1;
    Onnx__NodeProto *n = g->node[pick(g->n_node)];
    if (n->n_input && pick(2) == 0) {
        free_string(n->input[--n->n_input]);
        return 0;
    }
    n->input = realloc(n->input, (n->n_input + 1) * sizeof(*n->input));
    n->input[n->n_input++] = some_name(p);
    return 0;
}

static const char *const attr_names[] = {
    "axis",
    "axes",
    "perm",
    "keepdims",
    "to",
    "epsilon",
    "alpha",
    "beta",
    "transA",
    "transB",
    "batch_dims",
    "noop_with_empty_axes",
    "value",
    "equation",
    "mode",
    "direction",
    "select_last_index",
};

/* Give an attribute a hostile value, kind or name, or drop it. */
static int
corrupt_attribute(struct parts *p)
{
    Onnx__GraphProto *g = p->graph;
    if (!g->n_node)
        return -1;
    Onnx__NodeProto *n = g->node[pick(g->n_node)];
    if (!n->n_attribute || pick(4) == 0) {
        Onnx__AttributeProto *a = malloc(sizeof(*a));
        onnx__attribute_proto__init(a);
        a->name = strdup(
            attr_names[pick(sizeof(attr_names) / sizeof(attr_names[0]))]);
        a->has_type = 1;
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
        a->has_i = 1;
        a->i = interesting_int();
        n->attribute =
            realloc(n->attribute, (n->n_attribute + 1) * sizeof(*n->attribute));
        n->attribute[n->n_attribute++] = a;
        return 0;
    }
    size_t k = pick(n->n_attribute);
    Onnx__AttributeProto *a = n->attribute[k];
    switch (pick(6)) {
    case 0:
        drop_message((void **)n->attribute, &n->n_attribute, k);
        break;
    case 1:
        a->has_i = 1;
        a->i = interesting_int();
        break;
    case 2:
        if (!a->n_ints)
            return -1;
        a->ints[pick(a->n_ints)] = interesting_int();
        break;
    case 3:
        a->has_type = 1;
        a->type = (Onnx__AttributeProto__AttributeType)pick(15);
        break;
    case 4:
        a->has_f = 1;
        a->f = pick(2) ? -1e30f : (float)interesting_int();
        break;
    default:
        /* Reuse the attribute under another name, e.g. an int as "perm". */
        set_string(
            &a->name,
            attr_names[pick(sizeof(attr_names) / sizeof(attr_names[0]))]);
    }
    return 0;
}

/* A tensor to corrupt: an initializer or a Constant node's value. */
static Onnx__TensorProto *
some_tensor(struct parts *p)
{
    Onnx__GraphProto *g = p->graph;
    if (g->n_initializer && pick(2) == 0)
        return g->initializer[pick(g->n_initializer)];
    for (size_t tries = 0; tries < 8 && g->n_node; tries++) {
        Onnx__NodeProto *n = g->node[pick(g->n_node)];
        for (size_t i = 0; i < n->n_attribute; i++)
            if (n->attribute[i]->t)
                return n->attribute[i]->t;
    }
    return g->n_initializer ? g->initializer[pick(g->n_initializer)] : NULL;
}

/* Make a tensor's dims, dtype or data disagree. */
static int
corrupt_tensor(struct parts *p)
{
    Onnx__TensorProto *t = some_tensor(p);
    if (!t)
        return -1;
    switch (pick(5)) {
    case 0:
        if (!t->n_dims)
            return -1;
        t->dims[pick(t->n_dims)] = interesting_int();
        break;
    case 1:
        t->dims = realloc(t->dims, (t->n_dims + 1) * sizeof(*t->dims));
        t->dims[t->n_dims++] = pick(2) ? 2 : interesting_int();
        break;
    case 2:
        t->has_data_type = 1;
        t->data_type = (int32_t)pick(24);
        break;
    case 3:
        if (!t->has_raw_data || !t->raw_data.len)
            return -1;
        t->raw_data.len = pick(t->raw_data.len);
        break;
    default:
        /* Claim external data; the fuzz target loads with no folder. */
        t->has_data_location = 1;
        t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    }
    return 0;
}

static int
change_opset(struct parts *p)
{
    Onnx__ModelProto *m = p->model;
    static const int64_t versions[] = {0,  1,  6,  7,  11, 12, 13, 14,
                                       17, 18, 21, 22, 23, 99, -1};
    int64_t v = versions[pick(sizeof(versions) / sizeof(versions[0]))];
    if (pick(3) == 0) {
        m->has_ir_version = 1;
        m->ir_version = pick(2) ? v : interesting_int();
        return 0;
    }
    if (!m->n_opset_import)
        return -1;
    Onnx__OperatorSetIdProto *o = m->opset_import[pick(m->n_opset_import)];
    o->has_version = 1;
    o->version = v;
    return 0;
}

static int
change_op_type(struct parts *p)
{
    Onnx__GraphProto *g = p->graph;
    if (!g->n_node)
        return -1;
    Onnx__NodeProto *n = g->node[pick(g->n_node)];
    set_string(&n->op_type,
               ir_op_kind_name((enum ir_op_kind)pick(IR_OP_COUNT)));
    return 0;
}

static int
swap_nodes(struct parts *p)
{
    Onnx__GraphProto *g = p->graph;
    if (g->n_node < 2)
        return -1;
    size_t a = pick(g->n_node), b = pick(g->n_node);
    Onnx__NodeProto *t = g->node[a];
    g->node[a] = g->node[b];
    g->node[b] = t;
    return 0;
}

/* Copy a node, so two nodes define the same names. */
static int
duplicate_node(struct parts *p)
{
    Onnx__GraphProto *g = p->graph;
    if (!g->n_node)
        return -1;
    Onnx__NodeProto *n = g->node[pick(g->n_node)];
    size_t size = onnx__node_proto__get_packed_size(n);
    uint8_t *buf = malloc(size + 1);
    onnx__node_proto__pack(n, buf);
    Onnx__NodeProto *copy = onnx__node_proto__unpack(NULL, size, buf);
    free(buf);
    if (!copy)
        return -1;
    g->node = realloc(g->node, (g->n_node + 1) * sizeof(*g->node));
    g->node[g->n_node++] = copy;
    return 0;
}

static int
change_elem_type(struct parts *p)
{
    if (!p->n_infos)
        return -1;
    Onnx__TypeProto *t = p->infos[pick(p->n_infos)]->type;
    if (!t || t->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ||
        !t->tensor_type)
        return -1;
    t->tensor_type->has_elem_type = pick(8) != 0;
    t->tensor_type->elem_type = (int32_t)pick(24);
    return 0;
}

typedef int (*mutation_fn)(struct parts *p);

static const mutation_fn mutations[] = {
    mutate_dim,        mutate_rank,      drop_graph_input, drop_initializer,
    rewire_node_input, duplicate_output, change_arity,     corrupt_attribute,
    corrupt_tensor,    change_opset,     change_op_type,   swap_nodes,
    duplicate_node,    change_elem_type,
};

#define N_MUTATIONS (sizeof(mutations) / sizeof(mutations[0]))

size_t
LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size,
                        unsigned int seed)
{
    rng_state = ((uint64_t)seed << 32) ^ seed ^ 0x9E3779B97F4A7C15ULL;
    Onnx__ModelProto *m =
        size ? onnx__model_proto__unpack(NULL, size, data) : NULL;
    if (!m || !m->graph) {
        if (m)
            onnx__model_proto__free_unpacked(m, NULL);
        return LLVMFuzzerMutate(data, size, max_size);
    }
    /* A byte mutation now and then reaches what decoding rejects. */
    if (pick(10) == 0) {
        onnx__model_proto__free_unpacked(m, NULL);
        return LLVMFuzzerMutate(data, size, max_size);
    }

    struct parts p = {.model = m, .graph = m->graph};
    int changed = 0;
    size_t rounds = 1 + pick(3);
    for (size_t tries = 0; changed < (int)rounds && tries < 16; tries++) {
        collect(&p);
        if (mutations[pick(N_MUTATIONS)](&p) == 0)
            changed++;
        release(&p);
    }

    size_t packed = onnx__model_proto__get_packed_size(m);
    size_t out = 0;
    if (changed && packed <= max_size)
        out = onnx__model_proto__pack(m, data);
    onnx__model_proto__free_unpacked(m, NULL);
    return out ? out : LLVMFuzzerMutate(data, size, max_size);
}
