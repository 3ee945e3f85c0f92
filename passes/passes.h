/*
 * Passes over the IR: the pass manager, the per-op table that shape
 * inference, constant folding and code generation share, and the passes
 * themselves.  Sections follow the .c files that define them.
 */
#ifndef ONNXC_PASSES_H
#define ONNXC_PASSES_H

#include "../ir/ir.h"
#include "../runtime/rt.h"

/* ---- ops.c: the per-op table of inference, parameters and kernels ---- */

/* Kernel parameters under construction; see struct rt_node. */
struct pass_params {
    int64_t *ints;
    int n_ints, cap_ints;
    double *floats;
    int n_floats, cap_floats;
};

void pass_params_int(struct pass_params *p, int64_t v);
void pass_params_float(struct pass_params *p, double v);

struct pass_op_impl {
    enum ir_op_kind kind;
    /*
     * Set the dtype and shape of every result.  Operand shapes are static
     * when it runs (symbolic dims are bound first), and constant operands
     * carry their data.  An op whose result follows from shapes alone
     * (Shape, Size) also makes the result a constant here.  Returns 0, or
     * -1 after ir_error for a model that breaks the op's rules.
     */
    int (*infer)(struct ir_graph *g, struct ir_op *op);
    /* Append the kernel parameters; NULL when the kernel needs none. */
    int (*encode)(const struct ir_graph *g, const struct ir_op *op,
                  struct pass_params *p);
    const char *kernel_name; /* symbol of the kernel in the runtime */
    rt_kernel_fn kernel;     /* the same kernel, linked into the compiler */
};

/* Per-group tables, each ended by an entry whose kind is IR_OP_COUNT. */
extern const struct pass_op_impl pass_ops_elementwise[];
extern const struct pass_op_impl pass_ops_shape[];
extern const struct pass_op_impl pass_ops_math[];
extern const struct pass_op_impl pass_ops_conv[];  /* ops_conv.c */
extern const struct pass_op_impl pass_ops_fused[]; /* ops_fused.c */

/* The entry for kind, or NULL if onnxc cannot compile it yet. */
const struct pass_op_impl *pass_op_impl(enum ir_op_kind kind);
/*
 * True when every result k of op contains the same elements as operand 0
 * from element first[k] on, in the same order (Reshape, Squeeze, a Slice
 * of leading rows, a Transpose that moves only axes of size 1), so that it
 * can share operand 0's memory instead of being a copy.  first has
 * n_results entries.  In ops_shape.c.
 */
bool pass_op_is_view(const struct ir_graph *g, const struct ir_op *op,
                     int64_t *first);

/* Everything needed to call one op's kernel; owns its arrays. */
struct pass_kernel_call {
    const struct pass_op_impl *impl;
    struct rt_node node;
    struct rt_desc *descs;
    struct pass_params params;
};

/* Build the call for op; returns -1 after an error. */
int pass_kernel_call_init(const struct ir_graph *g, const struct ir_op *op,
                          struct pass_kernel_call *call);
void pass_kernel_call_free(struct pass_kernel_call *call);
void pass_desc_from_value(const struct ir_value *v, struct rt_desc *d);

/* ---- infer_util.c: helpers for infer and encode functions ---- */

/* Operand i, or NULL when it is omitted or out of range. */
const struct ir_value *pass_operand(const struct ir_graph *g,
                                    const struct ir_op *op, int i);
/* True when operand i is present and a constant. */
bool pass_operand_is_const(const struct ir_graph *g, const struct ir_op *op,
                           int i);
/*
 * Read constant integer operand i (int32 or int64, any rank) into out.
 * Fails with an error naming the op when the operand is not a constant or
 * contains more than max elements.
 */
int pass_operand_ints(const struct ir_graph *g, const struct ir_op *op, int i,
                      int64_t *out, int max, int *n);
/* Read constant scalar operand i as a double (any numeric dtype). */
int pass_operand_scalar(const struct ir_graph *g, const struct ir_op *op, int i,
                        double *out);
/* Set result i's dtype and static shape. */
void pass_set_result(struct ir_graph *g, struct ir_op *op, int i,
                     enum ir_dtype dtype, const struct ir_shape *shape);
/* Map axis in [-rank, rank) to [0, rank); fails with an error otherwise. */
int pass_axis(const struct ir_graph *g, const struct ir_op *op, int64_t axis,
              int rank, int *out);
/* Multidirectional (numpy) broadcasting of two static shapes. */
int pass_broadcast(const struct ir_graph *g, const struct ir_op *op,
                   const struct ir_shape *a, const struct ir_shape *b,
                   struct ir_shape *out);

/* ---- manager.c: the pass manager ---- */

struct pass_options {
    const char **disabled; /* pass names to skip */
    int n_disabled;
    const char **print_before;
    int n_print_before;
    const char **print_after;
    int n_print_after;
    bool print_after_all;
    bool verify_each;
    bool time_passes;
    bool stats;
    bool explain; /* fusion passes print a remark per candidate */
    FILE *dump;   /* where dumps go; stderr by default */
};

struct pass_stat {
    const char *pass;
    const char *name;
    int64_t count;
};

struct pass_manager {
    const struct pass_options *opts;
    struct pass_stat *stats;
    int n_stats, cap_stats;
    const char *current;  /* name of the running pass */
    int64_t expanded_ops; /* ops that If and Loop expansion added so far */
};

/* One pass.  Each pass file states what it requires, keeps and breaks. */
struct pass {
    const char *name;
    const char *summary;
    int (*run)(struct ir_graph *g, struct pass_manager *pm);
};

/* Add n to the statistic `name` of the running pass. */
void pass_stat_add(struct pass_manager *pm, const char *name, int64_t n);
/* Run the default pipeline; returns -1 after the first failing pass. */
int pass_run_pipeline(struct ir_graph *g, struct pass_manager *pm);
/* Run the n passes given, in order, with the same options. */
int pass_run_list(struct ir_graph *g, struct pass_manager *pm,
                  const struct pass *const *passes, int n);
void pass_print_stats(FILE *out, const struct pass_manager *pm);
void pass_manager_free(struct pass_manager *pm);
const struct pass *pass_find(const char *name);
void pass_list(FILE *out);

/* ---- bind.c ---- */

/*
 * Bind symbolic dims: each `name=value` pair sets a symbol; a graph input
 * dim that stays symbolic is an error naming the input and the symbol.
 */
int pass_bind_dims(struct ir_graph *g, const char *const *names,
                   const int64_t *values, int n);
/*
 * Bind the symbolic dims of input `name` from a concrete shape, checking
 * its static dims against it.  pass_bind_dims must run afterwards.
 */
int pass_bind_input_shape(struct ir_graph *g, const char *name, int rank,
                          const int64_t *dims);

/* ---- infer.c and control_flow.c: inference of one op ---- */

/*
 * Infer op i and fold it when its operands are constants.  An If or Loop
 * is replaced by the ops of its chosen branch or unrolled body, inserted
 * right after it and inferred in turn.  *inserted receives their count
 * (0 for other ops).  Returns 0, or -1 after an error.
 */
int pass_infer_op(struct ir_graph *g, int32_t i, struct pass_manager *pm,
                  int32_t *inserted);
/* The If and Loop half of pass_infer_op. */
int pass_expand_control_flow(struct ir_graph *g, int32_t i,
                             struct pass_manager *pm, int32_t *inserted);

/* ---- the passes ---- */

extern const struct pass pass_infer;          /* infer.c */
extern const struct pass pass_dce;            /* dce.c */
extern const struct pass pass_canonicalize;   /* canonicalize.c */
extern const struct pass pass_cse;            /* cse.c */
extern const struct pass pass_fuse_norm;      /* fuse_norm.c */
extern const struct pass pass_fuse_gelu;      /* fuse_gelu.c */
extern const struct pass pass_fuse_attention; /* fuse_attention.c */
extern const struct pass pass_fuse_matmul;    /* fuse_matmul.c */
extern const struct pass pass_layout;         /* layout.c */

/* ---- layout.c: GEMM weight layout ---- */

/* The GEMM panel width (enum rt_gemm_panel) for the CPU onnxc runs on. */
int64_t pass_layout_host_panel_width(void);
/* The panel width op's kernel uses: its packed_b, or the host's. */
int64_t pass_layout_panel_width(const struct ir_op *op);
/* True when the layout pass packed op's B operand. */
bool pass_layout_is_packed(const struct ir_op *op);

#endif
