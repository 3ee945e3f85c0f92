/*
 * Pattern-matching helpers that the canonicalisation and fusion passes
 * share.  Passes mark replaced ops dead and rewrite the last op of a
 * pattern in place, so op indices stay valid until fuse_finish compacts
 * the graph; the helpers therefore skip dead ops when they count uses.
 */
#ifndef ONNXC_FUSE_MATCH_H
#define ONNXC_FUSE_MATCH_H

#include "passes.h"

/* Relative tolerance of the constants a fusion compares (sqrt(2), ...). */
#define FUSE_REL_TOL 1e-6

/* True when --explain-fusion asked for a remark per candidate. */
bool fuse_explaining(const struct pass_manager *pm);
/*
 * Print "fused PATTERN at node 'NAME'" to stderr when explaining, and
 * count the fusion in the pass statistics as "PATTERN fused".
 */
void fuse_fused(struct pass_manager *pm, const struct ir_op *at,
                const char *pattern);
/* Print "not fused: PATTERN: REASON at node 'NAME'" when explaining. */
int fuse_reject(struct pass_manager *pm, const struct ir_op *at,
                const char *pattern, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Print "folded WHAT at node 'NAME'" when explaining, and add one to the
 * pass statistic stat, a string that outlives the pass manager.
 */
void fuse_folded(struct pass_manager *pm, const struct ir_op *at,
                 const char *what, const char *stat);
/* Print "not folded: WHAT: REASON at node 'NAME'" when explaining. */
void fuse_not_folded(struct pass_manager *pm, const struct ir_op *at,
                     const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Uses of v by live ops, one per operand slot. */
int fuse_use_count(const struct ir_graph *g, int32_t v);
/* v has exactly one use by a live op and is not a graph output. */
bool fuse_single_use(const struct ir_graph *g, int32_t v);
/* The live op that defines v, or NULL (graph input, constant, dead op). */
struct ir_op *fuse_producer(struct ir_graph *g, int32_t v);
/* The producer of v if it has kind k, else NULL. */
struct ir_op *fuse_producer_of(struct ir_graph *g, int32_t v,
                               enum ir_op_kind k);
/* The only live op that reads v (possibly in several slots), or NULL. */
struct ir_op *fuse_sole_user(struct ir_graph *g, int32_t v);
/* The sole user of v if it has kind k and v is single-use, else NULL. */
struct ir_op *fuse_single_user_of(struct ir_graph *g, int32_t v,
                                  enum ir_op_kind k);

/* Value of a constant with one element of a float or integer dtype. */
bool fuse_const_scalar(const struct ir_graph *g, int32_t v, double *out);
/* v is a constant scalar within FUSE_REL_TOL of want. */
bool fuse_const_near(const struct ir_graph *g, int32_t v, double want);
/* a and b agree within FUSE_REL_TOL relative to b. */
bool fuse_near(double a, double b);
/* The operand of binary op that is not v, or IR_NONE if v is absent. */
int32_t fuse_other_operand(const struct ir_op *op, int32_t v);

/*
 * Turn op into kind with the given operands and results, dropping its
 * attributes.  Results keep their values, so names and shapes survive.
 */
void fuse_rewrite(struct ir_op *op, enum ir_op_kind kind,
                  const int32_t *operands, int n_operands,
                  const int32_t *results, int n_results);
/* Refresh use lists after an edit; dead ops stay until fuse_finish. */
void fuse_refresh(struct ir_graph *g);
/* Drop dead ops and restore topological order. */
int fuse_finish(struct ir_graph *g);

/* Format a shape for a remark into buf. */
const char *fuse_shape_str(const struct ir_graph *g, int32_t v, char *buf,
                           size_t size);

#endif
