/*
 * Graph construction and bookkeeping: adding values, ops and attributes,
 * rebuilding use lists, compaction and topological sorting.
 */
#include "ir.h"

#include <stdlib.h>
#include <string.h>

#define GROW(arr, n, cap)                                                      \
    do {                                                                       \
        if ((n) >= (cap)) {                                                    \
            (cap) = (cap) ? 2 * (cap) : 8;                                     \
            (arr) = ir_xrealloc((arr), (size_t)(cap) * sizeof(*(arr)));        \
        }                                                                      \
    } while (0)

struct ir_graph *
ir_graph_new(const char *name)
{
    struct ir_graph *g = ir_xcalloc(1, sizeof(*g));
    g->name = ir_xstrdup(name ? name : "main");
    return g;
}

static void
attr_free(struct ir_attr *a)
{
    free(a->name);
    free(a->s);
    free(a->ints);
    free(a->floats);
    for (int i = 0; a->strings && i < a->n; i++)
        free(a->strings[i]);
    free(a->strings);
}

static void
op_free(struct ir_op *op)
{
    free(op->name);
    free(op->operands);
    free(op->results);
    for (int i = 0; i < op->n_attrs; i++)
        attr_free(&op->attrs[i]);
    free(op->attrs);
}

void
ir_graph_free(struct ir_graph *g)
{
    if (!g)
        return;
    for (int32_t i = 0; i < g->n_values; i++) {
        free(g->values[i].name);
        free(g->values[i].data);
        free(g->values[i].uses);
    }
    for (int32_t i = 0; i < g->n_ops; i++)
        op_free(&g->ops[i]);
    for (int32_t i = 0; i < g->n_syms; i++)
        free(g->syms[i]);
    free(g->values);
    free(g->ops);
    free(g->inputs);
    free(g->outputs);
    free(g->syms);
    free(g->sym_bound);
    for (int32_t i = 0; i < g->n_bodies; i++)
        ir_graph_free(g->bodies[i]);
    free(g->bodies);
    free(g->name);
    free(g);
}

int32_t
ir_value_add(struct ir_graph *g, const char *name, enum ir_value_kind kind,
             enum ir_dtype dtype, const struct ir_shape *shape)
{
    GROW(g->values, g->n_values, g->cap_values);
    int32_t id = g->n_values++;
    struct ir_value *v = &g->values[id];
    memset(v, 0, sizeof(*v));
    if (name) {
        v->name = ir_xstrdup(name);
    } else {
        char buf[32];
        /* ONNX names rarely start with a dot, so made-up ones do. */
        snprintf(buf, sizeof(buf), ".t%d", (int)id);
        v->name = ir_xstrdup(buf);
    }
    v->kind = kind;
    v->dtype = dtype;
    v->shape = shape ? *shape : ir_shape_unknown();
    v->producer = IR_NONE;
    return id;
}

int32_t
ir_const_add(struct ir_graph *g, const char *name, enum ir_dtype dtype,
             const struct ir_shape *shape, const void *data, size_t nbytes)
{
    int32_t id = ir_value_add(g, name, IR_VALUE_CONST, dtype, shape);
    void *copy = ir_xmalloc(nbytes ? nbytes : 1);
    if (nbytes)
        memcpy(copy, data, nbytes);
    g->values[id].data = copy;
    g->values[id].nbytes = nbytes;
    return id;
}

void
ir_value_set_const(struct ir_graph *g, int32_t v, void *data, size_t nbytes)
{
    struct ir_value *val = &g->values[v];
    free(val->data);
    val->kind = IR_VALUE_CONST;
    val->data = data;
    val->nbytes = nbytes;
}

int32_t
ir_value_find(const struct ir_graph *g, const char *name)
{
    for (int32_t i = 0; i < g->n_values; i++)
        if (strcmp(g->values[i].name, name) == 0)
            return i;
    return IR_NONE;
}

int32_t
ir_op_add(struct ir_graph *g, enum ir_op_kind kind, const char *name, int opset,
          const int32_t *operands, int n_operands, const int32_t *results,
          int n_results)
{
    GROW(g->ops, g->n_ops, g->cap_ops);
    int32_t id = g->n_ops++;
    struct ir_op *op = &g->ops[id];
    memset(op, 0, sizeof(*op));
    op->kind = kind;
    if (name && *name) {
        op->name = ir_xstrdup(name);
    } else {
        char buf[48];
        snprintf(buf, sizeof(buf), "%s_%d", ir_op_kind_name(kind), (int)id);
        op->name = ir_xstrdup(buf);
    }
    op->opset = opset;
    op->n_operands = n_operands;
    op->operands = ir_xmalloc(sizeof(int32_t) * (size_t)(n_operands + 1));
    if (n_operands)
        memcpy(op->operands, operands, sizeof(int32_t) * (size_t)n_operands);
    op->n_results = n_results;
    op->results = ir_xmalloc(sizeof(int32_t) * (size_t)(n_results + 1));
    if (n_results)
        memcpy(op->results, results, sizeof(int32_t) * (size_t)n_results);
    return id;
}

int32_t
ir_op_add_result(struct ir_graph *g, int32_t op, const char *name,
                 enum ir_dtype dtype)
{
    int32_t v = ir_value_add(g, name, IR_VALUE_RESULT, dtype, NULL);
    struct ir_op *o = &g->ops[op];
    o->results =
        ir_xrealloc(o->results, sizeof(int32_t) * (size_t)(o->n_results + 1));
    o->results[o->n_results++] = v;
    g->values[v].producer = op;
    g->values[v].producer_slot = o->n_results - 1;
    return v;
}

static struct ir_attr *
attr_slot(struct ir_op *op, const char *name)
{
    for (int i = 0; i < op->n_attrs; i++) {
        if (strcmp(op->attrs[i].name, name) == 0) {
            attr_free(&op->attrs[i]);
            memset(&op->attrs[i], 0, sizeof(op->attrs[i]));
            op->attrs[i].name = ir_xstrdup(name);
            return &op->attrs[i];
        }
    }
    op->attrs =
        ir_xrealloc(op->attrs, sizeof(*op->attrs) * (size_t)(op->n_attrs + 1));
    struct ir_attr *a = &op->attrs[op->n_attrs++];
    memset(a, 0, sizeof(*a));
    a->name = ir_xstrdup(name);
    a->tensor = IR_NONE;
    return a;
}

void
ir_op_set_int(struct ir_op *op, const char *name, int64_t v)
{
    struct ir_attr *a = attr_slot(op, name);
    a->kind = IR_ATTR_INT;
    a->i = v;
}

void
ir_op_set_float(struct ir_op *op, const char *name, double v)
{
    struct ir_attr *a = attr_slot(op, name);
    a->kind = IR_ATTR_FLOAT;
    a->f = v;
}

void
ir_op_set_string(struct ir_op *op, const char *name, const char *s)
{
    struct ir_attr *a = attr_slot(op, name);
    a->kind = IR_ATTR_STRING;
    a->s = ir_xstrdup(s);
}

void
ir_op_set_ints(struct ir_op *op, const char *name, const int64_t *v, int n)
{
    struct ir_attr *a = attr_slot(op, name);
    a->kind = IR_ATTR_INTS;
    a->n = n;
    a->ints = ir_xmalloc(sizeof(int64_t) * (size_t)(n + 1));
    if (n)
        memcpy(a->ints, v, sizeof(int64_t) * (size_t)n);
}

void
ir_op_set_floats(struct ir_op *op, const char *name, const double *v, int n)
{
    struct ir_attr *a = attr_slot(op, name);
    a->kind = IR_ATTR_FLOATS;
    a->n = n;
    a->floats = ir_xmalloc(sizeof(double) * (size_t)(n + 1));
    if (n)
        memcpy(a->floats, v, sizeof(double) * (size_t)n);
}

void
ir_op_set_attr(struct ir_op *op, const struct ir_attr *src)
{
    struct ir_attr *a = attr_slot(op, src->name);
    a->kind = src->kind;
    a->i = src->i;
    a->f = src->f;
    a->n = src->n;
    a->tensor = src->tensor;
    a->graph = src->graph;
    if (src->s)
        a->s = ir_xstrdup(src->s);
    if (src->ints) {
        a->ints = ir_xmalloc(sizeof(int64_t) * (size_t)(src->n + 1));
        memcpy(a->ints, src->ints, sizeof(int64_t) * (size_t)src->n);
    }
    if (src->floats) {
        a->floats = ir_xmalloc(sizeof(double) * (size_t)(src->n + 1));
        memcpy(a->floats, src->floats, sizeof(double) * (size_t)src->n);
    }
    if (src->strings) {
        a->strings = ir_xmalloc(sizeof(char *) * (size_t)(src->n + 1));
        for (int i = 0; i < src->n; i++)
            a->strings[i] = ir_xstrdup(src->strings[i]);
    }
}

const struct ir_attr *
ir_op_attr(const struct ir_op *op, const char *name)
{
    for (int i = 0; i < op->n_attrs; i++)
        if (strcmp(op->attrs[i].name, name) == 0)
            return &op->attrs[i];
    return NULL;
}

int64_t
ir_op_int(const struct ir_op *op, const char *name, int64_t dflt)
{
    const struct ir_attr *a = ir_op_attr(op, name);
    return a && a->kind == IR_ATTR_INT ? a->i : dflt;
}

double
ir_op_float(const struct ir_op *op, const char *name, double dflt)
{
    const struct ir_attr *a = ir_op_attr(op, name);
    if (a && a->kind == IR_ATTR_INT)
        return (double)a->i;
    return a && a->kind == IR_ATTR_FLOAT ? a->f : dflt;
}

const char *
ir_op_string(const struct ir_op *op, const char *name, const char *dflt)
{
    const struct ir_attr *a = ir_op_attr(op, name);
    return a && a->kind == IR_ATTR_STRING ? a->s : dflt;
}

void
ir_graph_add_input(struct ir_graph *g, int32_t v)
{
    GROW(g->inputs, g->n_inputs, g->cap_inputs);
    g->inputs[g->n_inputs++] = v;
}

int32_t
ir_graph_add_body(struct ir_graph *g, struct ir_graph *body)
{
    GROW(g->bodies, g->n_bodies, g->cap_bodies);
    g->bodies[g->n_bodies] = body;
    return g->n_bodies++;
}

void
ir_graph_add_output(struct ir_graph *g, int32_t v)
{
    GROW(g->outputs, g->n_outputs, g->cap_outputs);
    g->outputs[g->n_outputs++] = v;
    g->values[v].is_output = true;
}

int32_t
ir_sym_intern(struct ir_graph *g, const char *name)
{
    for (int32_t i = 0; i < g->n_syms; i++)
        if (strcmp(g->syms[i], name) == 0)
            return i;
    if (g->n_syms >= g->cap_syms) {
        g->cap_syms = g->cap_syms ? 2 * g->cap_syms : 8;
        g->syms = ir_xrealloc(g->syms, sizeof(char *) * (size_t)g->cap_syms);
        g->sym_bound =
            ir_xrealloc(g->sym_bound, sizeof(int64_t) * (size_t)g->cap_syms);
    }
    g->syms[g->n_syms] = ir_xstrdup(name);
    g->sym_bound[g->n_syms] = -1;
    return g->n_syms++;
}

static void
add_use(struct ir_value *v, int32_t op)
{
    GROW(v->uses, v->n_uses, v->n_uses_cap);
    v->uses[v->n_uses++] = op;
}

void
ir_graph_fill_uses(struct ir_graph *g)
{
    for (int32_t i = 0; i < g->n_values; i++) {
        struct ir_value *v = &g->values[i];
        v->n_uses = 0;
        v->producer = IR_NONE;
        v->producer_slot = 0;
        v->is_output = false;
    }
    for (int32_t i = 0; i < g->n_ops; i++) {
        struct ir_op *op = &g->ops[i];
        for (int k = 0; k < op->n_operands; k++)
            if (op->operands[k] != IR_NONE)
                add_use(&g->values[op->operands[k]], i);
        for (int k = 0; k < op->n_results; k++) {
            struct ir_value *r = &g->values[op->results[k]];
            r->producer = i;
            r->producer_slot = k;
        }
    }
    for (int32_t i = 0; i < g->n_outputs; i++)
        g->values[g->outputs[i]].is_output = true;
}

void
ir_graph_compact(struct ir_graph *g)
{
    int32_t n = 0;
    for (int32_t i = 0; i < g->n_ops; i++) {
        if (g->ops[i].dead)
            op_free(&g->ops[i]);
        else
            g->ops[n++] = g->ops[i];
    }
    g->n_ops = n;
    ir_graph_fill_uses(g);
}

void
ir_value_replace_uses(struct ir_graph *g, int32_t from, int32_t to)
{
    for (int32_t i = 0; i < g->n_ops; i++) {
        struct ir_op *op = &g->ops[i];
        for (int k = 0; k < op->n_operands; k++)
            if (op->operands[k] == from)
                op->operands[k] = to;
    }
    for (int32_t i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] == from)
            g->outputs[i] = to;
    ir_graph_fill_uses(g);
}

/* A binary min-heap of op indices: the ready ops, earliest first. */
struct heap {
    int32_t *items;
    int32_t n;
};

static void
heap_push(struct heap *h, int32_t x)
{
    int32_t i = h->n++;
    while (i > 0 && h->items[(i - 1) / 2] > x) {
        h->items[i] = h->items[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->items[i] = x;
}

static int32_t
heap_pop(struct heap *h)
{
    int32_t top = h->items[0], last = h->items[--h->n], i = 0;
    for (;;) {
        int32_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && h->items[c + 1] < h->items[c])
            c++;
        if (h->items[c] >= last)
            break;
        h->items[i] = h->items[c];
        i = c;
    }
    if (h->n > 0)
        h->items[i] = last;
    return top;
}

/*
 * Kahn's algorithm with a min-heap of ready ops, so among ready ops the one
 * that came first in the old order goes first and a sorted graph keeps its
 * order.  O((ops + operands) log ops).
 */
int
ir_graph_toposort(struct ir_graph *g)
{
    int32_t n = g->n_ops;
    int32_t nv = g->n_values;
    int32_t *producer = ir_xmalloc(sizeof(int32_t) * (size_t)(nv + 1));
    int32_t *pending = ir_xcalloc((size_t)n + 1, sizeof(int32_t));
    int32_t *order = ir_xmalloc(sizeof(int32_t) * (size_t)(n + 1));
    int32_t *first = ir_xcalloc((size_t)nv + 2, sizeof(int32_t));
    int32_t *readers = NULL;
    struct heap ready = {ir_xmalloc(sizeof(int32_t) * (size_t)(n + 1)), 0};
    int rc = 0;

    for (int32_t v = 0; v < nv; v++)
        producer[v] = IR_NONE;
    for (int32_t i = 0; i < n; i++) {
        for (int k = 0; k < g->ops[i].n_results; k++) {
            int32_t r = g->ops[i].results[k];
            if (producer[r] != IR_NONE) {
                rc = ir_error(g, &g->ops[i], r, "value is defined by two ops");
                goto out;
            }
            producer[r] = i;
        }
    }

    /* readers[first[v] .. first[v+1]) lists the ops that read value v. */
    int64_t total = 0;
    for (int32_t i = 0; i < n; i++) {
        struct ir_op *op = &g->ops[i];
        for (int k = 0; k < op->n_operands; k++) {
            int32_t v = op->operands[k];
            if (v == IR_NONE)
                continue;
            if (producer[v] == IR_NONE &&
                g->values[v].kind == IR_VALUE_RESULT) {
                rc = ir_error(g, op, v,
                              "input %d reads a value that no "
                              "node, initializer or graph input defines",
                              k);
                goto out;
            }
            if (producer[v] != IR_NONE) {
                pending[i]++;
                first[v + 1]++;
                total++;
            }
        }
    }
    for (int32_t v = 0; v < nv; v++)
        first[v + 1] += first[v];
    readers = ir_xmalloc(sizeof(int32_t) * (size_t)(total + 1));
    int32_t *fill = ir_xmalloc(sizeof(int32_t) * (size_t)(nv + 1));
    memcpy(fill, first, sizeof(int32_t) * (size_t)nv);
    for (int32_t i = 0; i < n; i++) {
        struct ir_op *op = &g->ops[i];
        for (int k = 0; k < op->n_operands; k++) {
            int32_t v = op->operands[k];
            if (v != IR_NONE && producer[v] != IR_NONE)
                readers[fill[v]++] = i;
        }
    }
    free(fill);

    for (int32_t i = 0; i < n; i++)
        if (pending[i] == 0)
            heap_push(&ready, i);
    int32_t done = 0;
    while (ready.n > 0) {
        int32_t i = heap_pop(&ready);
        order[done++] = i;
        struct ir_op *op = &g->ops[i];
        for (int k = 0; k < op->n_results; k++) {
            int32_t r = op->results[k];
            for (int32_t j = first[r]; j < first[r + 1]; j++)
                if (--pending[readers[j]] == 0)
                    heap_push(&ready, readers[j]);
        }
    }
    if (done < n) {
        for (int32_t i = 0; i < n; i++) {
            if (pending[i] > 0) {
                rc = ir_error(g, &g->ops[i], IR_NONE,
                              "the graph has a cycle through this node");
                goto out;
            }
        }
    }

    if (n > 0) {
        struct ir_op *sorted = ir_xmalloc(sizeof(struct ir_op) * (size_t)n);
        for (int32_t i = 0; i < n; i++)
            sorted[i] = g->ops[order[i]];
        memcpy(g->ops, sorted, sizeof(struct ir_op) * (size_t)n);
        free(sorted);
    }
    ir_graph_fill_uses(g);
out:
    free(producer);
    free(pending);
    free(order);
    free(first);
    free(readers);
    free(ready.items);
    return rc;
}

/* Renumber through map, where -1 marks a dropped value. */
static int32_t
remap(const int32_t *map, int32_t v)
{
    return v == IR_NONE ? IR_NONE : map[v];
}

int32_t
ir_graph_prune_constants(struct ir_graph *g)
{
    bool *used = ir_xcalloc((size_t)g->n_values + 1, sizeof(bool));
    for (int32_t i = 0; i < g->n_ops; i++) {
        const struct ir_op *op = &g->ops[i];
        for (int k = 0; k < op->n_operands; k++)
            if (op->operands[k] != IR_NONE)
                used[op->operands[k]] = true;
        for (int k = 0; k < op->n_attrs; k++)
            if (op->attrs[k].kind == IR_ATTR_TENSOR &&
                op->attrs[k].tensor != IR_NONE)
                used[op->attrs[k].tensor] = true;
    }
    for (int32_t i = 0; i < g->n_outputs; i++)
        used[g->outputs[i]] = true;

    int32_t *map = ir_xmalloc(sizeof(int32_t) * (size_t)(g->n_values + 1));
    int32_t n = 0, dropped = 0;
    for (int32_t v = 0; v < g->n_values; v++) {
        struct ir_value *val = &g->values[v];
        if (val->kind == IR_VALUE_CONST && !used[v]) {
            map[v] = IR_NONE;
            free(val->name);
            free(val->data);
            free(val->uses);
            dropped++;
            continue;
        }
        map[v] = n;
        g->values[n++] = *val;
    }
    g->n_values = n;
    for (int32_t i = 0; i < g->n_ops; i++) {
        struct ir_op *op = &g->ops[i];
        for (int k = 0; k < op->n_operands; k++)
            op->operands[k] = remap(map, op->operands[k]);
        for (int k = 0; k < op->n_results; k++)
            op->results[k] = remap(map, op->results[k]);
        for (int k = 0; k < op->n_attrs; k++)
            if (op->attrs[k].kind == IR_ATTR_TENSOR)
                op->attrs[k].tensor = remap(map, op->attrs[k].tensor);
    }
    for (int32_t i = 0; i < g->n_inputs; i++)
        g->inputs[i] = remap(map, g->inputs[i]);
    for (int32_t i = 0; i < g->n_outputs; i++)
        g->outputs[i] = remap(map, g->outputs[i]);
    free(map);
    free(used);
    ir_graph_fill_uses(g);
    return dropped;
}
