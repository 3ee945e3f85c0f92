/*
 * The onnxc intermediate representation: a graph of values in SSA form and
 * the ops that define them, kept in topological order.  Values and ops are
 * named by 32-bit indices into the graph's arrays, so handles stay valid
 * when the arrays grow.  Sections follow the .c files that define them.
 */
#ifndef ONNXC_IR_H
#define ONNXC_IR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define IR_MAX_RANK 8
#define IR_NONE (-1) /* an omitted optional operand or a missing producer */

/* Element types, numbered as ONNX TensorProto.DataType numbers them. */
enum ir_dtype {
    IR_DTYPE_UNDEFINED = 0,
    IR_DTYPE_FLOAT = 1,
    IR_DTYPE_UINT8 = 2,
    IR_DTYPE_INT8 = 3,
    IR_DTYPE_UINT16 = 4,
    IR_DTYPE_INT16 = 5,
    IR_DTYPE_INT32 = 6,
    IR_DTYPE_INT64 = 7,
    IR_DTYPE_STRING = 8,
    IR_DTYPE_BOOL = 9,
    IR_DTYPE_FLOAT16 = 10,
    IR_DTYPE_DOUBLE = 11,
    IR_DTYPE_UINT32 = 12,
    IR_DTYPE_UINT64 = 13,
    IR_DTYPE_BFLOAT16 = 16,
    IR_DTYPE_COUNT = 17
};

enum ir_op_kind {
#define IR_OP(kind, name, min_in, max_in, min_out, max_out) IR_OP_##kind,
#include "ops.def"
#undef IR_OP
    IR_OP_COUNT
};

/*
 * A tensor shape.  rank is -1 while the rank is unknown.  A dim is static
 * when sym[i] is -1, and dim[i] then is its size.  Otherwise it is the
 * graph symbol sym[i] (a dim_param such as "batch") and dim[i] is -1.
 */
struct ir_shape {
    int rank;
    int64_t dim[IR_MAX_RANK];
    int32_t sym[IR_MAX_RANK];
};

enum ir_attr_kind {
    IR_ATTR_INT,
    IR_ATTR_FLOAT,
    IR_ATTR_STRING,
    IR_ATTR_INTS,
    IR_ATTR_FLOATS,
    IR_ATTR_STRINGS,
    IR_ATTR_TENSOR,
    IR_ATTR_GRAPH,
};

/* One typed attribute of an op.  Only the fields of its kind are set. */
struct ir_attr {
    char *name;
    enum ir_attr_kind kind;
    int64_t i;      /* IR_ATTR_INT */
    double f;       /* IR_ATTR_FLOAT */
    char *s;        /* IR_ATTR_STRING */
    int64_t *ints;  /* IR_ATTR_INTS, n entries */
    double *floats; /* IR_ATTR_FLOATS, n entries */
    char **strings; /* IR_ATTR_STRINGS, n entries */
    int n;
    int32_t tensor; /* IR_ATTR_TENSOR: a constant value of the graph */
    int32_t graph;  /* IR_ATTR_GRAPH: an index into the main graph's bodies */
};

enum ir_value_kind {
    IR_VALUE_INPUT,  /* a graph input fed by the caller */
    IR_VALUE_CONST,  /* an initializer or a folded constant; data is set */
    IR_VALUE_RESULT, /* a result of an op */
};

struct ir_value {
    char *name; /* unique in the graph; the ONNX name if any */
    enum ir_value_kind kind;
    enum ir_dtype dtype;
    struct ir_shape shape;
    void *data;            /* IR_VALUE_CONST: row-major elements, owned */
    size_t nbytes;         /* size of data in bytes */
    int32_t producer;      /* defining op, or IR_NONE; see ir_graph_fill_uses */
    int32_t producer_slot; /* index among the producer's results */
    int32_t *uses;         /* ops that read the value, one entry per operand */
    int32_t n_uses;
    int32_t n_uses_cap;
    bool is_output; /* listed in the graph's outputs */
};

struct ir_op {
    enum ir_op_kind kind;
    char *name;        /* ONNX node name, or a made-up one if it had none */
    int opset;         /* opset version the node was written against */
    int32_t *operands; /* value indices; IR_NONE for an omitted input */
    int n_operands;
    int32_t *results; /* value indices */
    int n_results;
    struct ir_attr *attrs;
    int n_attrs;
    bool dead; /* marked for removal by ir_graph_compact */
};

struct ir_graph {
    char *name;
    struct ir_value *values;
    int32_t n_values, cap_values;
    struct ir_op *ops; /* topological order */
    int32_t n_ops, cap_ops;
    int32_t *inputs; /* graph inputs, in declaration order */
    int32_t n_inputs, cap_inputs;
    int32_t *outputs; /* graph outputs; a value may appear twice */
    int32_t n_outputs, cap_outputs;
    char **syms; /* names of symbolic dims */
    int32_t n_syms, cap_syms;
    int64_t *sym_bound; /* bound size per symbol, or -1 while unbound */
    int opset;          /* default-domain opset of the model */
    /*
     * Subgraphs of If and Loop ops, nested ones included, each owned here.
     * A body graph's inputs are its formal inputs, then the values it reads
     * from the enclosing graph; its own bodies list is empty.
     */
    struct ir_graph **bodies;
    int32_t n_bodies, cap_bodies;
};

/* ---- ir.c: graph construction ---- */

struct ir_graph *ir_graph_new(const char *name);
void ir_graph_free(struct ir_graph *g);

/* Add a value and return its index.  name may be NULL for a made-up one. */
int32_t ir_value_add(struct ir_graph *g, const char *name,
                     enum ir_value_kind kind, enum ir_dtype dtype,
                     const struct ir_shape *shape);
/* Add a constant whose data is copied from data (nbytes bytes). */
int32_t ir_const_add(struct ir_graph *g, const char *name, enum ir_dtype dtype,
                     const struct ir_shape *shape, const void *data,
                     size_t nbytes);
/* Turn value v into a constant that owns data (taken, not copied). */
void ir_value_set_const(struct ir_graph *g, int32_t v, void *data,
                        size_t nbytes);
int32_t ir_value_find(const struct ir_graph *g, const char *name);

/*
 * Append an op.  Its results must already exist as IR_VALUE_RESULT values.
 * The operand and result arrays are copied.
 */
int32_t ir_op_add(struct ir_graph *g, enum ir_op_kind kind, const char *name,
                  int opset, const int32_t *operands, int n_operands,
                  const int32_t *results, int n_results);
/* Append a result value for op and return it; grows op's result list. */
int32_t ir_op_add_result(struct ir_graph *g, int32_t op, const char *name,
                         enum ir_dtype dtype);

void ir_op_set_int(struct ir_op *op, const char *name, int64_t v);
void ir_op_set_float(struct ir_op *op, const char *name, double v);
void ir_op_set_string(struct ir_op *op, const char *name, const char *s);
void ir_op_set_ints(struct ir_op *op, const char *name, const int64_t *v,
                    int n);
void ir_op_set_floats(struct ir_op *op, const char *name, const double *v,
                      int n);
/* Add a copy of attr to op, replacing one of the same name. */
void ir_op_set_attr(struct ir_op *op, const struct ir_attr *attr);
const struct ir_attr *ir_op_attr(const struct ir_op *op, const char *name);
int64_t ir_op_int(const struct ir_op *op, const char *name, int64_t dflt);
/* An int attribute reads as its value; a missing one as dflt. */
double ir_op_float(const struct ir_op *op, const char *name, double dflt);
const char *ir_op_string(const struct ir_op *op, const char *name,
                         const char *dflt);

void ir_graph_add_input(struct ir_graph *g, int32_t v);
/* Take ownership of body and return its index in g's bodies. */
int32_t ir_graph_add_body(struct ir_graph *g, struct ir_graph *body);
void ir_graph_add_output(struct ir_graph *g, int32_t v);
int32_t ir_sym_intern(struct ir_graph *g, const char *name);

/*
 * Recompute every value's producer and use list from the op arrays.  Passes
 * call it after they edit the graph instead of keeping use lists in step.
 */
void ir_graph_fill_uses(struct ir_graph *g);
/* Drop dead ops, then refill uses.  Values are kept (indices stay valid). */
void ir_graph_compact(struct ir_graph *g);
/*
 * Drop constants that no op, attribute or output uses, renumbering the
 * remaining values.  Invalidates value indices held outside the graph.
 * Returns how many were dropped.
 */
int32_t ir_graph_prune_constants(struct ir_graph *g);
/* Replace every use of value from by value to, outputs included. */
void ir_value_replace_uses(struct ir_graph *g, int32_t from, int32_t to);
/*
 * Sort ops topologically.  Returns 0, or -1 with an error message when the
 * graph has a cycle or reads a value no op defines.
 */
int ir_graph_toposort(struct ir_graph *g);

/* ---- types.c: dtypes and shapes ---- */

const char *ir_dtype_name(enum ir_dtype t);         /* "f32", "i64", ... */
enum ir_dtype ir_dtype_from_name(const char *name); /* or UNDEFINED */
size_t ir_dtype_size(enum ir_dtype t);              /* 0 if unsupported */
bool ir_dtype_is_float(enum ir_dtype t);
bool ir_dtype_is_int(enum ir_dtype t); /* signed or unsigned integer */
/* IEEE half and bfloat16 bits to and from float, rounding to nearest even. */
float ir_half_to_float(uint16_t h);
uint16_t ir_float_to_half(float f);
float ir_bf16_to_float(uint16_t b);
uint16_t ir_float_to_bf16(float f);

const char *ir_op_kind_name(enum ir_op_kind k);         /* ONNX name */
enum ir_op_kind ir_op_kind_from_name(const char *name); /* or IR_OP_COUNT */
void ir_op_kind_arity(enum ir_op_kind k, int *min_in, int *max_in, int *min_out,
                      int *max_out);

struct ir_shape ir_shape_unknown(void);
struct ir_shape ir_shape_make(int rank, const int64_t *dims);
bool ir_shape_is_static(const struct ir_shape *s);
/* Element count of a static shape, or -1 if not static or on overflow. */
int64_t ir_shape_numel(const struct ir_shape *s);
bool ir_shape_equal(const struct ir_shape *a, const struct ir_shape *b);
/* Format as "[2,seq,64]" into buf; returns buf. */
char *ir_shape_format(const struct ir_graph *g, const struct ir_shape *s,
                      char *buf, size_t size);

/* ---- diag.c: model errors ---- */

/*
 * Report an error in the model.  The message names the op kind, node,
 * opset, and, when value is not IR_NONE, the value with its dtype and
 * shape.  Either op or value may be absent.  Always returns -1 so callers
 * can write `return ir_error(...)`.
 */
int ir_error(const struct ir_graph *g, const struct ir_op *op, int32_t value,
             const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Report an error that belongs to no op, e.g. a file that cannot be read. */
int ir_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Redirect error output (stderr by default); tests capture it this way. */
void ir_set_error_stream(FILE *f);
/* Where errors go now, for details printed after an error. */
FILE *ir_error_stream(void);

/* An internal invariant: always checked, prints file:line and aborts. */
#define IR_ASSERT(cond)                                                        \
    ((cond) ? (void)0 : ir_assert_fail(#cond, __FILE__, __LINE__))
_Noreturn void ir_assert_fail(const char *cond, const char *file, int line);

void *ir_xmalloc(size_t n);
void *ir_xcalloc(size_t n, size_t size);
void *ir_xrealloc(void *p, size_t n);
char *ir_xstrdup(const char *s);

/* ---- print.c and parse.c: the text form ---- */

void ir_print(FILE *out, const struct ir_graph *g);
/* Parse the text form; returns NULL after reporting an error. */
struct ir_graph *ir_parse(const char *text, const char *filename);

/* ---- dot.c ---- */

/* Write the graph for Graphviz; constants appear only as counts. */
void ir_print_dot(FILE *out, const struct ir_graph *g);

/* ---- verify.c ---- */

/* Check the graph's invariants; returns 0, or -1 after reporting each fault. */
int ir_verify(const struct ir_graph *g);

#endif
