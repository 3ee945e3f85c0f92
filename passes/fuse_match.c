/*
 * Pattern-matching helpers of the canonicalisation and fusion passes:
 * use counts over live ops, constant scalars, in-place rewrites and the
 * --explain-fusion remarks.
 */
#include "fuse_match.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

bool
fuse_explaining(const struct pass_manager *pm)
{
    return pm->opts && pm->opts->explain;
}

void
fuse_fused(struct pass_manager *pm, const struct ir_op *at, const char *pattern)
{
    char stat[64];
    snprintf(stat, sizeof(stat), "%s fused", pattern);
    /* Statistic names are kept by pointer, so intern them. */
    static char *names[32];
    static int n_names;
    const char *name = NULL;
    for (int i = 0; i < n_names; i++)
        if (strcmp(names[i], stat) == 0)
            name = names[i];
    if (!name && n_names < (int)(sizeof(names) / sizeof(names[0])))
        name = names[n_names++] = ir_xstrdup(stat);
    if (name)
        pass_stat_add(pm, name, 1);
    if (fuse_explaining(pm))
        fprintf(stderr, "fused %s at node '%s'\n", pattern, at->name);
}

/* Print "VERDICT: WHAT: REASON at node 'NAME'" to stderr. */
static void
print_remark(const char *verdict, const char *what, const struct ir_op *at,
             const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: %s: ", verdict, what);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " at node '%s'\n", at->name);
}

int
fuse_reject(struct pass_manager *pm, const struct ir_op *at,
            const char *pattern, const char *fmt, ...)
{
    if (!fuse_explaining(pm))
        return 0;
    va_list ap;
    va_start(ap, fmt);
    print_remark("not fused", pattern, at, fmt, ap);
    va_end(ap);
    return 0;
}

void
fuse_folded(struct pass_manager *pm, const struct ir_op *at, const char *what,
            const char *stat)
{
    pass_stat_add(pm, stat, 1);
    if (fuse_explaining(pm))
        fprintf(stderr, "folded %s at node '%s'\n", what, at->name);
}

void
fuse_not_folded(struct pass_manager *pm, const struct ir_op *at,
                const char *what, const char *fmt, ...)
{
    if (!fuse_explaining(pm))
        return;
    va_list ap;
    va_start(ap, fmt);
    print_remark("not folded", what, at, fmt, ap);
    va_end(ap);
}

int
fuse_use_count(const struct ir_graph *g, int32_t v)
{
    const struct ir_value *val = &g->values[v];
    int n = 0;
    for (int32_t i = 0; i < val->n_uses; i++)
        n += !g->ops[val->uses[i]].dead;
    return n;
}

bool
fuse_single_use(const struct ir_graph *g, int32_t v)
{
    return !g->values[v].is_output && fuse_use_count(g, v) == 1;
}

struct ir_op *
fuse_producer(struct ir_graph *g, int32_t v)
{
    if (v == IR_NONE)
        return NULL;
    const struct ir_value *val = &g->values[v];
    if (val->kind != IR_VALUE_RESULT || val->producer == IR_NONE)
        return NULL;
    struct ir_op *op = &g->ops[val->producer];
    return op->dead ? NULL : op;
}

struct ir_op *
fuse_producer_of(struct ir_graph *g, int32_t v, enum ir_op_kind k)
{
    struct ir_op *op = fuse_producer(g, v);
    return op && op->kind == k ? op : NULL;
}

struct ir_op *
fuse_sole_user(struct ir_graph *g, int32_t v)
{
    const struct ir_value *val = &g->values[v];
    struct ir_op *user = NULL;
    for (int32_t i = 0; i < val->n_uses; i++) {
        struct ir_op *op = &g->ops[val->uses[i]];
        if (op->dead)
            continue;
        if (user && user != op)
            return NULL;
        user = op;
    }
    return user;
}

struct ir_op *
fuse_single_user_of(struct ir_graph *g, int32_t v, enum ir_op_kind k)
{
    if (!fuse_single_use(g, v))
        return NULL;
    struct ir_op *op = fuse_sole_user(g, v);
    return op && op->kind == k ? op : NULL;
}

bool
fuse_const_scalar(const struct ir_graph *g, int32_t v, double *out)
{
    if (v == IR_NONE)
        return false;
    const struct ir_value *val = &g->values[v];
    if (val->kind != IR_VALUE_CONST || !val->data ||
        ir_shape_numel(&val->shape) != 1 ||
        val->nbytes != ir_dtype_size(val->dtype))
        return false;
    switch (val->dtype) {
    case IR_DTYPE_FLOAT: {
        float f;
        memcpy(&f, val->data, sizeof(f));
        *out = f;
        return true;
    }
    case IR_DTYPE_DOUBLE:
        memcpy(out, val->data, sizeof(*out));
        return true;
    case IR_DTYPE_INT64: {
        int64_t i;
        memcpy(&i, val->data, sizeof(i));
        *out = (double)i;
        return true;
    }
    case IR_DTYPE_INT32: {
        int32_t i;
        memcpy(&i, val->data, sizeof(i));
        *out = i;
        return true;
    }
    default:
        return false;
    }
}

bool
fuse_near(double a, double b)
{
    return fabs(a - b) <= FUSE_REL_TOL * fabs(b);
}

bool
fuse_const_near(const struct ir_graph *g, int32_t v, double want)
{
    double c;
    return fuse_const_scalar(g, v, &c) && fuse_near(c, want);
}

int32_t
fuse_other_operand(const struct ir_op *op, int32_t v)
{
    if (op->n_operands != 2)
        return IR_NONE;
    if (op->operands[0] == v)
        return op->operands[1];
    if (op->operands[1] == v)
        return op->operands[0];
    return IR_NONE;
}

static void
clear_attrs(struct ir_op *op)
{
    for (int i = 0; i < op->n_attrs; i++) {
        struct ir_attr *a = &op->attrs[i];
        free(a->name);
        free(a->s);
        free(a->ints);
        free(a->floats);
        for (int k = 0; a->strings && k < a->n; k++)
            free(a->strings[k]);
        free(a->strings);
    }
    free(op->attrs);
    op->attrs = NULL;
    op->n_attrs = 0;
}

void
fuse_rewrite(struct ir_op *op, enum ir_op_kind kind, const int32_t *operands,
             int n_operands, const int32_t *results, int n_results)
{
    clear_attrs(op);
    op->kind = kind;
    int32_t *ops = ir_xmalloc(sizeof(int32_t) * (size_t)(n_operands + 1));
    memcpy(ops, operands, sizeof(int32_t) * (size_t)n_operands);
    free(op->operands);
    op->operands = ops;
    op->n_operands = n_operands;
    int32_t *res = ir_xmalloc(sizeof(int32_t) * (size_t)(n_results + 1));
    memcpy(res, results, sizeof(int32_t) * (size_t)n_results);
    free(op->results);
    op->results = res;
    op->n_results = n_results;
}

void
fuse_refresh(struct ir_graph *g)
{
    ir_graph_fill_uses(g);
}

int
fuse_finish(struct ir_graph *g)
{
    ir_graph_compact(g);
    return ir_graph_toposort(g);
}

const char *
fuse_shape_str(const struct ir_graph *g, int32_t v, char *buf, size_t size)
{
    return ir_shape_format(g, &g->values[v].shape, buf, size);
}
