/*
 * Internals of the ONNX frontend, shared by its .c files and kept out of
 * frontend.h because they use the protobuf-c types generated from
 * onnx.proto.  Sections follow the .c files that define them.
 */
#ifndef ONNXC_FRONTEND_LOADER_H
#define ONNXC_FRONTEND_LOADER_H

#include "onnx.pb-c.h"

#include "frontend.h"

/* ---- names.c: name tables and made-up names ---- */

/* A hash table from strings (copied) to value indices. */
struct fe_name_map {
    char **keys;
    int32_t *vals;
    size_t cap; /* a power of two, or 0 */
    size_t n;
};

void fe_name_map_free(struct fe_name_map *m);
/* The value mapped to key, or IR_NONE. */
int32_t fe_name_map_get(const struct fe_name_map *m, const char *key);
/* Map key to val, replacing an earlier mapping. */
void fe_name_map_put(struct fe_name_map *m, const char *key, int32_t val);

struct fe_loader;
/* Reserve and return (malloc'd) a value name based on base, made unique. */
char *fe_unique_name(struct fe_loader *ld, const char *base);

/* ---- model.c: the state of one load ---- */

/* A value that a node read before any node defined it. */
struct fe_forward_ref {
    int32_t value;
    int32_t op;  /* the first op that read it; IR_NONE for a call */
    int operand; /* its operand index there */
};

/* An attribute visible in a function body: the caller's, under its name. */
struct fe_bound_attr {
    const char *name;
    const Onnx__AttributeProto *attr;
};

/*
 * The names visible in one graph body.  The main graph is one scope.  Each
 * inlined call of a model-local function gets its own, whose formal inputs
 * map to the caller's values and whose formal outputs stand for names in
 * the caller's scope.
 */
struct fe_scope {
    struct fe_name_map names;            /* ONNX names defined or read here */
    struct fe_scope *caller;             /* NULL for the main graph */
    const Onnx__FunctionProto *function; /* NULL for the main graph */
    const char *prefix;          /* of made-up value names; NULL in main */
    char **out_actual;           /* per formal output: caller name or NULL */
    bool *out_defined;           /* per formal output: a body node set it */
    struct fe_bound_attr *attrs; /* the calling node's attributes */
    int n_attrs;
    Onnx__OperatorSetIdProto *const *opsets; /* of the function or model */
    size_t n_opsets;
    int depth;                     /* calls between here and the main graph */
    struct fe_name_map composites; /* names of sequences and optionals */
    /* Look names not found here up in caller, as the body of a
     * SequenceMap iteration reads the enclosing graph's names. */
    bool lexical;
};

struct fe_loader {
    struct ir_graph *g;    /* the graph being built: the main one or a body */
    struct ir_graph *root; /* the main graph, which owns every body */
    const Onnx__ModelProto *model;
    const char *display_name;    /* the model in messages */
    const char *base_dir;        /* of external data; NULL forbids it */
    struct fe_name_map taken;    /* every value name used or reserved */
    struct fe_name_map declared; /* declared dtype of main-graph names */
    bool *defined;               /* per value: an op or a tensor sets it */
    int32_t cap_defined;
    struct fe_forward_ref *refs;
    int32_t n_refs, cap_refs;
    int calls; /* inlined function calls so far */
    /*
     * While a body of If or Loop is built: the loader and scope of the
     * enclosing graph, and the enclosing values that the body reads, in
     * the order of the body inputs made for them.
     */
    struct fe_loader *outer;
    struct fe_scope *outer_scope;
    int32_t *captured;
    int32_t n_captured, cap_captured;
    struct fe_composite *composites; /* sequence and optional values */
    int32_t n_composites, cap_composites;
    int64_t copied_nodes;          /* body nodes that expand.c copied so far */
    const struct fe_options *opts; /* NULL: no options */
};

/* ---- scope.c: name resolution ---- */

/* The map entry of a function input that the caller left out. */
#define FE_OMITTED (-2)

/* Whether domain is the default ONNX domain ("" or "ai.onnx"). */
bool fe_is_default_domain(const char *domain);
/* Print a node-level error as ir_error would, before the op exists. */
int fe_node_error(const struct fe_scope *s, const Onnx__NodeProto *node,
                  const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The opset version of domain in scope s, or -1 if it is not imported. */
int fe_domain_opset(const struct fe_scope *s, const char *domain);
/* Mark value v as defined, growing the flag array as needed. */
void fe_mark_defined(struct fe_loader *ld, int32_t v);
bool fe_is_defined(const struct fe_loader *ld, int32_t v);

/* The value that name means in scope s, made as a forward reference if no
 * node has defined it yet.  op and operand record the first reader. */
int32_t fe_scope_read(struct fe_loader *ld, struct fe_scope *s,
                      const char *name, int32_t op, int operand);
/* Define name in s as a new result (or a forward reference made earlier);
 * returns IR_NONE after reporting a second definition. */
int32_t fe_scope_define(struct fe_loader *ld, struct fe_scope *s,
                        const Onnx__NodeProto *node, const char *name);

/*
 * The value that name means in the graph enclosing the body that ld
 * builds, made a body input when first read; IR_NONE when no enclosing
 * graph defines name.
 */
int32_t fe_scope_capture(struct fe_loader *ld, struct fe_scope *s,
                         const char *name);

/* ---- composite.c: sequences and optionals known at compile time ---- */

/*
 * The maximum length of a sequence that onnxc expands.  Each element
 * becomes its own IR value, and SequenceMap copies its body once per
 * element.
 */
#define FE_MAX_SEQ_LEN 4096

/*
 * A sequence or optional value whose structure is known while loading:
 * its tensors are ordinary IR values.  The IR itself has only tensors,
 * so these values exist only in the frontend's name scopes.
 */
struct fe_composite {
    bool optional;       /* an optional; false for a sequence */
    bool present;        /* an optional that contains a value */
    bool of_sequence;    /* a sequence, or an optional of one */
    enum ir_dtype dtype; /* of the tensors; UNDEFINED when not yet known */
    int32_t *elems;      /* the sequence's tensors, or the optional's one */
    int32_t n;
};

/* Add a composite to ld, copying elems; returns its index. */
int32_t fe_new_composite(struct fe_loader *ld, bool optional, bool present,
                         bool of_sequence, enum ir_dtype dtype,
                         const int32_t *elems, int32_t n);
/* Free the composites of ld. */
void fe_free_composites(struct fe_loader *ld);
/* The composite that name means in s, or IR_NONE for a tensor name. */
int32_t fe_scope_composite(const struct fe_loader *ld, const struct fe_scope *s,
                           const char *name);
/* Define name in s as composite c; -1 after reporting a second
 * definition. */
int fe_scope_define_composite(struct fe_loader *ld, struct fe_scope *s,
                              const Onnx__NodeProto *node, const char *name,
                              int32_t c);
/* "a sequence", "an optional tensor", ...: the kind of c for messages. */
const char *fe_composite_kind(const struct fe_composite *c);
/* Whether name is a composite in a graph that encloses ld's. */
bool fe_outer_composite(const struct fe_loader *ld, const char *name);
/* Add a sequence or optional graph input as its tensors; 0 or -1. */
int fe_add_composite_input(struct fe_loader *ld, struct fe_scope *main,
                           const Onnx__ValueInfoProto *info);
/* Reject --seq-len and --absent options that name no such input. */
int fe_check_input_options(struct fe_loader *ld, struct fe_scope *main);
/* Add the tensors of composite c as graph outputs named after name. */
int fe_add_composite_output(struct fe_loader *ld, const char *name, int32_t c);
/* The element type of a sequence or optional type, or NULL. */
const Onnx__TypeProto *fe_inner_type(const Onnx__TypeProto *type);

/* ---- sequence.c: sequence and optional operators ---- */

/* Add the ops of a sequence or optional node, or of an Identity of one.
 * Returns 1 when node is not such a node, else 0, or -1 after an error. */
int fe_add_sequence_node(struct fe_loader *ld, struct fe_scope *s,
                         const Onnx__NodeProto *node, int opset);
/* Describe value v for messages: "'name' (f32 [2,3])"; returns buf. */
const char *fe_describe_value(const struct ir_graph *g, int32_t v, char *buf,
                              size_t size);
/* Read input k of node as a tensor that an earlier node defines;
 * IR_NONE after an error. */
int32_t fe_read_tensor(struct fe_loader *ld, struct fe_scope *s,
                       const Onnx__NodeProto *node, size_t k);
/* Define output k of node as an Identity of value src. */
int fe_define_identity(struct fe_loader *ld, struct fe_scope *s,
                       const Onnx__NodeProto *node, size_t k, int32_t src,
                       int opset);
/* Add a constant int64 vector for node; returns the value. */
int32_t fe_add_int64_vector(struct fe_loader *ld, const struct fe_scope *s,
                            const Onnx__NodeProto *node, const int64_t *values,
                            int n);
/* Add an op of kind for node with one result, a new value when result is
 * IR_NONE; returns the result. */
int32_t fe_add_made_op(struct fe_loader *ld, const struct fe_scope *s,
                       const Onnx__NodeProto *node, enum ir_op_kind kind,
                       int opset, const int32_t *operands, int n,
                       int32_t result);
/* The attribute of node called name, or NULL. */
const Onnx__AttributeProto *fe_find_attr(const Onnx__NodeProto *node,
                                         const char *name);

/* ---- expand.c: bodies copied while loading ---- */

/* Add a SequenceMap node: its body once per element; 0 or -1. */
int fe_add_sequence_map(struct fe_loader *ld, struct fe_scope *s,
                        const Onnx__NodeProto *node);
/* Whether an If or Loop node takes, reads or returns sequences or
 * optionals, so that it must be expanded while loading. */
bool fe_control_needs_expansion(const struct fe_loader *ld,
                                const struct fe_scope *s,
                                const Onnx__NodeProto *node);
/* Expand an If or Loop whose control is known while loading; 0 or -1. */
int fe_expand_control(struct fe_loader *ld, struct fe_scope *s,
                      const Onnx__NodeProto *node, enum ir_op_kind kind,
                      int opset);

/* ---- node.c: nodes, attributes and Constant nodes ---- */

/* Add the ops of one node to the graph; returns 0 or -1 after an error. */
int fe_add_node(struct fe_loader *ld, struct fe_scope *s,
                const Onnx__NodeProto *node);
/* Add node as one op of kind, attributes and all except subgraphs. */
int fe_add_op(struct fe_loader *ld, struct fe_scope *s,
              const Onnx__NodeProto *node, enum ir_op_kind kind, int opset);

/* ---- control.c: If and Loop ---- */

/* Add an If or Loop node with its subgraphs; 0 or -1 after an error. */
int fe_add_control_op(struct fe_loader *ld, struct fe_scope *s,
                      const Onnx__NodeProto *node, enum ir_op_kind kind,
                      int opset);

/* ---- model.c: graphs ---- */

/* Reserve every name that graph uses, so made-up names avoid them. */
void fe_reserve_names(struct fe_loader *ld, const Onnx__GraphProto *graph);
/* Add graph's initializers as constants named in scope s, under unique
 * names when s has a prefix. */
int fe_add_initializers(struct fe_loader *ld, struct fe_scope *s,
                        const Onnx__GraphProto *graph);
/* Decode the shape that a graph input's tensor type declares. */
int fe_input_shape(struct fe_loader *ld, const char *name,
                   const Onnx__TypeProto__Tensor *tensor,
                   struct ir_shape *shape);
/* Report the first value that was read but never defined. */
int fe_check_forward_refs(struct fe_loader *ld);

/* ---- function.c: model-local functions ---- */

/* The model function that node calls, or NULL. */
const Onnx__FunctionProto *fe_find_function(const struct fe_loader *ld,
                                            const Onnx__NodeProto *node);
/* Inline a call of fn at node; returns 0 or -1 after an error. */
int fe_inline_call(struct fe_loader *ld, struct fe_scope *s,
                   const Onnx__NodeProto *node, const Onnx__FunctionProto *fn);

/* ---- normalize.c: one IR form for every opset ---- */

/* Rewrite op into the opset-independent form; 0 or -1 after an error. */
int fe_normalize_op(struct fe_loader *ld, int32_t op);

/* ---- tensor.c: TensorProto data ---- */

/*
 * Decode t into dtype, shape and a malloc'd copy of its data in native
 * byte order.  what names the tensor in messages ("initializer 'w'").
 * base_dir resolves external data, and NULL rejects it.  Returns 0, or -1
 * after an error.
 */
int fe_decode_tensor(const Onnx__TensorProto *t, const char *what,
                     const char *base_dir, enum ir_dtype *dtype,
                     struct ir_shape *shape, void **data, size_t *nbytes);
/*
 * Decode t as fe_decode_tensor does, but also accept a string tensor, as
 * an input or expected output read from a data file may be.  Its data is
 * one pointer per element, then the NUL-terminated strings.
 */
int fe_decode_data_tensor(const Onnx__TensorProto *t, const char *what,
                          const char *base_dir, enum ir_dtype *dtype,
                          struct ir_shape *shape, void **data, size_t *nbytes);
/* The IR dtype of an ONNX elem_type, or UNDEFINED if onnxc lacks it. */
enum ir_dtype fe_dtype_from_onnx(int32_t elem_type);
/* The ONNX name of an element type that onnxc does not support. */
const char *fe_unsupported_dtype_name(int32_t elem_type);
/* Convert v to an element of dtype (a float type) at out; false if the
 * dtype is not a float type. */
bool fe_float_to_dtype(double v, enum ir_dtype dtype, void *out);
/* Read a whole file into a malloc'd buffer; -1 after an error. */
int fe_read_file(const char *path, uint8_t **data, size_t *size);
/* The folder part of path, malloc'd ("." when there is none). */
char *fe_dir_name(const char *path);

#endif
