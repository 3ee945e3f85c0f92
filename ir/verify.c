/*
 * The IR verifier: checks that a graph keeps the IR contract (valid
 * indices, one definition per value, topological order, op arities,
 * constant sizes, shapes, and producers and uses in step with the ops).
 * It only reads the graph; producers are recomputed in local arrays.
 */
#include "ir.h"

#include <stdlib.h>
#include <string.h>

/* Stop reporting after this many faults; one bug often causes hundreds. */
#define MAX_REPORTS 50

struct verifier {
    const struct ir_graph *g;
    int32_t *producer; /* defining op per value, or IR_NONE */
    int32_t *slot;     /* index among the producer's results */
    int32_t *n_uses;   /* operand slots that read each value */
    bool *is_input;    /* listed in g->inputs */
    int faults;
};

static bool
fault_counted(struct verifier *vf)
{
    vf->faults++;
    if (vf->faults == MAX_REPORTS + 1)
        ir_errorf("verifier: more than %d faults; the rest are not shown",
                  MAX_REPORTS);
    return vf->faults <= MAX_REPORTS;
}

static bool
valid_value(const struct ir_graph *g, int32_t v)
{
    return v >= 0 && v < g->n_values;
}

/*
 * Return v if ir_error can describe it, else IR_NONE: ir_error prints the
 * value's name and shape, which need a name and a rank of at most
 * IR_MAX_RANK.
 */
static int32_t
printable(const struct ir_graph *g, int32_t v)
{
    if (!valid_value(g, v) || !g->values[v].name)
        return IR_NONE;
    int rank = g->values[v].shape.rank;
    return rank >= -1 && rank <= IR_MAX_RANK ? v : IR_NONE;
}

#define FAULT(vf, op, value, ...)                                              \
    do {                                                                       \
        if (fault_counted(vf))                                                 \
            ir_error((vf)->g, (op), printable((vf)->g, (value)), __VA_ARGS__); \
    } while (0)

/* Check v's shape; returns false if its rank is out of range. */
static bool
check_shape(struct verifier *vf, int32_t v)
{
    const struct ir_graph *g = vf->g;
    const struct ir_shape *s = &g->values[v].shape;
    if (s->rank < -1 || s->rank > IR_MAX_RANK) {
        /* The value is not named in the report: its shape cannot print. */
        FAULT(vf, NULL, IR_NONE, "value '%s' has rank %d, outside [-1, %d]",
              g->values[v].name, s->rank, IR_MAX_RANK);
        return false;
    }
    for (int i = 0; i < s->rank; i++) {
        if (s->sym[i] >= 0 && s->sym[i] >= g->n_syms)
            FAULT(vf, NULL, v,
                  "dim %d names symbol %d, but the graph has "
                  "%d symbols",
                  i, (int)s->sym[i], (int)g->n_syms);
        else if (s->sym[i] < -1)
            FAULT(vf, NULL, v, "dim %d has invalid symbol index %d", i,
                  (int)s->sym[i]);
        else if (s->sym[i] == -1 && s->dim[i] < -1)
            FAULT(vf, NULL, v,
                  "dim %d is %lld; a dim is >= 0, or -1 when "
                  "unknown",
                  i, (long long)s->dim[i]);
    }
    return true;
}

static void
check_const(struct verifier *vf, int32_t v)
{
    const struct ir_value *val = &vf->g->values[v];
    if (!val->data) {
        FAULT(vf, NULL, v, "constant has no data");
        return;
    }
    if (val->dtype == IR_DTYPE_STRING) {
        FAULT(vf, NULL, v, "constants of dtype string are not supported");
        return;
    }
    size_t esize = ir_dtype_size(val->dtype);
    int64_t numel = ir_shape_numel(&val->shape);
    if (esize == 0 || numel < 0)
        return;
    if ((uint64_t)numel > SIZE_MAX / esize ||
        (size_t)numel * esize != val->nbytes)
        FAULT(vf, NULL, v,
              "constant holds %zu bytes, but %lld elements of "
              "%s need %llu",
              val->nbytes, (long long)numel, ir_dtype_name(val->dtype),
              (unsigned long long)numel * (unsigned long long)esize);
}

struct named_value {
    const char *name;
    int32_t v;
};

static int
compare_names(const void *a, const void *b)
{
    return strcmp(((const struct named_value *)a)->name,
                  ((const struct named_value *)b)->name);
}

static void
check_values(struct verifier *vf)
{
    const struct ir_graph *g = vf->g;
    struct named_value *order =
        ir_xmalloc(sizeof(*order) * (size_t)(g->n_values + 1));
    int32_t n_named = 0;
    for (int32_t v = 0; v < g->n_values; v++) {
        const struct ir_value *val = &g->values[v];
        if (!val->name) {
            FAULT(vf, NULL, IR_NONE, "value %d has no name", (int)v);
            continue;
        }
        order[n_named].name = val->name;
        order[n_named++].v = v;
        if ((int)val->dtype < 0 || val->dtype >= IR_DTYPE_COUNT)
            FAULT(vf, NULL, v, "invalid dtype %d", (int)val->dtype);
        else if (val->dtype == IR_DTYPE_UNDEFINED &&
                 val->kind != IR_VALUE_RESULT)
            FAULT(vf, NULL, v, "graph input or constant has no dtype");
        if (val->kind != IR_VALUE_INPUT && val->kind != IR_VALUE_CONST &&
            val->kind != IR_VALUE_RESULT)
            FAULT(vf, NULL, v, "invalid value kind %d", (int)val->kind);
        if (check_shape(vf, v) && val->kind == IR_VALUE_CONST)
            check_const(vf, v);
    }

    qsort(order, (size_t)n_named, sizeof(*order), compare_names);
    for (int32_t i = 1; i < n_named; i++)
        if (strcmp(order[i - 1].name, order[i].name) == 0)
            FAULT(vf, NULL, order[i].v, "another value has the same name");
    free(order);
}

static void
check_inputs(struct verifier *vf)
{
    const struct ir_graph *g = vf->g;
    for (int32_t i = 0; i < g->n_inputs; i++) {
        int32_t v = g->inputs[i];
        if (!valid_value(g, v)) {
            FAULT(vf, NULL, IR_NONE,
                  "graph input %d is value index %d, "
                  "which does not exist",
                  (int)i, (int)v);
            continue;
        }
        if (g->values[v].kind != IR_VALUE_INPUT)
            FAULT(vf, NULL, v, "graph input %d is not an input value", (int)i);
        if (vf->is_input[v])
            FAULT(vf, NULL, v, "listed twice among the graph inputs");
        vf->is_input[v] = true;
    }
}

/* Describe an arity range from ops.def: "exactly 2", "at least 1", ... */
static const char *
format_range(char *buf, size_t size, int min, int max)
{
    if (max < 0)
        snprintf(buf, size, "at least %d", min);
    else if (min == max)
        snprintf(buf, size, "exactly %d", min);
    else
        snprintf(buf, size, "%d to %d", min, max);
    return buf;
}

static void
check_arity(struct verifier *vf, const struct ir_op *op)
{
    int min_in, max_in, min_out, max_out;
    char range[48];
    ir_op_kind_arity(op->kind, &min_in, &max_in, &min_out, &max_out);
    if (op->n_operands < min_in || (max_in >= 0 && op->n_operands > max_in))
        FAULT(vf, op, IR_NONE, "has %d input%s; %s takes %s", op->n_operands,
              op->n_operands == 1 ? "" : "s", ir_op_kind_name(op->kind),
              format_range(range, sizeof(range), min_in, max_in));
    if (op->n_results < min_out || (max_out >= 0 && op->n_results > max_out))
        FAULT(vf, op, IR_NONE, "has %d output%s; %s has %s", op->n_results,
              op->n_results == 1 ? "" : "s", ir_op_kind_name(op->kind),
              format_range(range, sizeof(range), min_out, max_out));
}

static void
check_attrs(struct verifier *vf, const struct ir_op *op)
{
    const struct ir_graph *g = vf->g;
    for (int i = 0; i < op->n_attrs; i++) {
        const struct ir_attr *a = &op->attrs[i];
        const char *name = a->name ? a->name : "";
        if (!a->name)
            FAULT(vf, op, IR_NONE, "attribute %d has no name", i);
        for (int k = 0; k < i && a->name; k++)
            if (op->attrs[k].name && strcmp(op->attrs[k].name, a->name) == 0)
                FAULT(vf, op, IR_NONE, "attribute '%s' appears twice", name);
        switch (a->kind) {
        case IR_ATTR_INT:
        case IR_ATTR_FLOAT:
            break;
        case IR_ATTR_STRING:
            if (!a->s)
                FAULT(vf, op, IR_NONE, "string attribute '%s' has no value",
                      name);
            break;
        case IR_ATTR_INTS:
        case IR_ATTR_FLOATS:
        case IR_ATTR_STRINGS: {
            const void *list = a->kind == IR_ATTR_INTS     ? (void *)a->ints
                               : a->kind == IR_ATTR_FLOATS ? (void *)a->floats
                                                           : (void *)a->strings;
            if (a->n < 0 || (a->n > 0 && !list))
                FAULT(vf, op, IR_NONE,
                      "list attribute '%s' has %d entries "
                      "but no array",
                      name, a->n);
            for (int k = 0; a->kind == IR_ATTR_STRINGS && list && k < a->n; k++)
                if (!a->strings[k])
                    FAULT(vf, op, IR_NONE,
                          "attribute '%s' has a null "
                          "string at %d",
                          name, k);
            break;
        }
        case IR_ATTR_TENSOR:
            if (!valid_value(g, a->tensor))
                FAULT(vf, op, IR_NONE,
                      "tensor attribute '%s' refers to "
                      "value index %d, which does not exist",
                      name, (int)a->tensor);
            else if (g->values[a->tensor].kind != IR_VALUE_CONST)
                FAULT(vf, op, a->tensor,
                      "tensor attribute '%s' refers to "
                      "a value that is not a constant",
                      name);
            break;
        case IR_ATTR_GRAPH:
            if (a->graph < 0 || a->graph >= g->n_bodies)
                FAULT(vf, op, IR_NONE,
                      "graph attribute '%s' refers to body %d, which does "
                      "not exist",
                      name, (int)a->graph);
            break;
        default:
            FAULT(vf, op, IR_NONE, "attribute '%s' has invalid kind %d", name,
                  (int)a->kind);
        }
    }
}

/* Check that op i reads values that are defined before it. */
static void
check_operands(struct verifier *vf, int32_t i)
{
    const struct ir_graph *g = vf->g;
    const struct ir_op *op = &g->ops[i];
    for (int k = 0; k < op->n_operands; k++) {
        int32_t v = op->operands[k];
        if (v == IR_NONE)
            continue;
        if (!valid_value(g, v)) {
            FAULT(vf, op, IR_NONE,
                  "input %d is value index %d, which does "
                  "not exist",
                  k, (int)v);
            continue;
        }
        vf->n_uses[v]++;
        const struct ir_value *val = &g->values[v];
        if (val->kind == IR_VALUE_INPUT && !vf->is_input[v])
            FAULT(vf, op, v,
                  "input %d reads an input value that is not "
                  "listed among the graph inputs",
                  k);
        if (val->kind != IR_VALUE_RESULT)
            continue;
        if (vf->producer[v] == IR_NONE)
            FAULT(vf, op, v, "input %d reads a value that no op defines", k);
        else if (vf->producer[v] >= i)
            FAULT(vf, op, v,
                  "input %d reads a value before it is defined "
                  "(by op %d, '%s'); the ops are not in topological order",
                  k, (int)vf->producer[v], g->ops[vf->producer[v]].name);
    }
}

/* Record op i as the producer of its results and check them. */
static void
check_results(struct verifier *vf, int32_t i)
{
    const struct ir_graph *g = vf->g;
    const struct ir_op *op = &g->ops[i];
    for (int k = 0; k < op->n_results; k++) {
        int32_t v = op->results[k];
        if (!valid_value(g, v)) {
            FAULT(vf, op, IR_NONE,
                  "output %d is value index %d, which "
                  "does not exist",
                  k, (int)v);
            continue;
        }
        if (g->values[v].kind != IR_VALUE_RESULT)
            FAULT(vf, op, v, "output %d is a %s, not an op result value", k,
                  g->values[v].kind == IR_VALUE_CONST ? "constant"
                                                      : "graph input");
        if (vf->producer[v] != IR_NONE) {
            FAULT(vf, op, v, "output %d is also defined by op %d, '%s'", k,
                  (int)vf->producer[v], g->ops[vf->producer[v]].name);
            continue;
        }
        vf->producer[v] = i;
        vf->slot[v] = k;
    }
}

/* Check the op's kind, name and arrays; false if it cannot be checked. */
static bool
check_op_header(struct verifier *vf, int32_t i)
{
    const struct ir_op *op = &vf->g->ops[i];
    if ((int)op->kind < 0 || op->kind >= IR_OP_COUNT) {
        FAULT(vf, NULL, IR_NONE, "op %d has invalid kind %d", (int)i,
              (int)op->kind);
        return false;
    }
    if (!op->name) {
        FAULT(vf, NULL, IR_NONE, "op %d (%s) has no name", (int)i,
              ir_op_kind_name(op->kind));
        return false;
    }
    if (op->n_operands < 0 || (op->n_operands > 0 && !op->operands) ||
        op->n_results < 0 || (op->n_results > 0 && !op->results) ||
        op->n_attrs < 0 || (op->n_attrs > 0 && !op->attrs)) {
        FAULT(vf, op, IR_NONE, "has a negative count or a missing array");
        return false;
    }
    return true;
}

static void
check_ops(struct verifier *vf)
{
    const struct ir_graph *g = vf->g;
    bool *ok = ir_xcalloc((size_t)g->n_ops + 1, sizeof(bool));

    /* Record every producer first, so that a read before the definition
     * is reported differently from a read of a value nothing defines. */
    for (int32_t i = 0; i < g->n_ops; i++) {
        ok[i] = check_op_header(vf, i);
        if (ok[i])
            check_results(vf, i);
    }
    for (int32_t i = 0; i < g->n_ops; i++) {
        if (!ok[i])
            continue;
        check_arity(vf, &g->ops[i]);
        check_attrs(vf, &g->ops[i]);
        check_operands(vf, i);
    }
    free(ok);
}

static void
check_outputs(struct verifier *vf)
{
    const struct ir_graph *g = vf->g;
    if (g->n_outputs == 0)
        FAULT(vf, NULL, IR_NONE, "graph '%s' has no outputs",
              g->name ? g->name : "");
    for (int32_t i = 0; i < g->n_outputs; i++) {
        int32_t v = g->outputs[i];
        if (!valid_value(g, v)) {
            FAULT(vf, NULL, IR_NONE,
                  "graph output %d is value index %d, "
                  "which does not exist",
                  (int)i, (int)v);
            continue;
        }
        const struct ir_value *val = &g->values[v];
        if (val->kind == IR_VALUE_RESULT && vf->producer[v] == IR_NONE)
            FAULT(vf, NULL, v,
                  "graph output %d is a value that no op "
                  "defines",
                  (int)i);
        else if (val->kind == IR_VALUE_INPUT && !vf->is_input[v])
            FAULT(vf, NULL, v,
                  "graph output %d is an input value that is "
                  "not listed among the graph inputs",
                  (int)i);
    }
}

/*
 * Compare the producer, use list and output flag stored in each value with
 * the ones recomputed from the ops.  A pass that edits ops must call
 * ir_graph_fill_uses before the verifier runs.
 */
static void
check_bookkeeping(struct verifier *vf)
{
    const struct ir_graph *g = vf->g;
    for (int32_t v = 0; v < g->n_values; v++) {
        const struct ir_value *val = &g->values[v];
        if (val->producer != vf->producer[v] ||
            (vf->producer[v] != IR_NONE && val->producer_slot != vf->slot[v]))
            FAULT(vf, NULL, v,
                  "stored producer is op %d, result %d, but "
                  "op %d, result %d defines the value; call "
                  "ir_graph_fill_uses after editing",
                  (int)val->producer, (int)val->producer_slot,
                  (int)vf->producer[v], (int)vf->slot[v]);
        if (val->n_uses != vf->n_uses[v] || (val->n_uses > 0 && !val->uses)) {
            FAULT(vf, NULL, v,
                  "stored use list has %d entries, but the "
                  "ops read the value %d time%s; call ir_graph_fill_uses "
                  "after editing",
                  (int)val->n_uses, (int)vf->n_uses[v],
                  vf->n_uses[v] == 1 ? "" : "s");
            continue;
        }
        for (int32_t k = 0; k < val->n_uses; k++) {
            int32_t op = val->uses[k];
            bool reads = false;
            for (int m = 0;
                 op >= 0 && op < g->n_ops && m < g->ops[op].n_operands; m++)
                reads |= g->ops[op].operands[m] == v;
            if (!reads) {
                FAULT(vf, NULL, v,
                      "use list names op %d, which does not "
                      "read the value; call ir_graph_fill_uses after "
                      "editing",
                      (int)op);
                break;
            }
        }
    }
    for (int32_t i = 0; i < g->n_outputs; i++)
        if (!g->values[g->outputs[i]].is_output)
            FAULT(vf, NULL, g->outputs[i],
                  "graph output %d is not marked "
                  "is_output; call ir_graph_fill_uses after editing",
                  (int)i);
    for (int32_t v = 0; v < g->n_values; v++) {
        if (!g->values[v].is_output)
            continue;
        bool listed = false;
        for (int32_t i = 0; i < g->n_outputs && !listed; i++)
            listed = g->outputs[i] == v;
        if (!listed)
            FAULT(vf, NULL, v,
                  "marked is_output but not listed among the "
                  "graph outputs; call ir_graph_fill_uses after editing");
    }
}

int
ir_verify(const struct ir_graph *g)
{
    if (g->n_values < 0 || g->n_ops < 0 || g->n_inputs < 0 ||
        g->n_outputs < 0 || g->n_syms < 0)
        return ir_errorf("verifier: graph '%s' has a negative count",
                         g->name ? g->name : "");

    struct verifier vf;
    memset(&vf, 0, sizeof(vf));
    vf.g = g;
    size_t n = (size_t)g->n_values + 1;
    vf.producer = ir_xmalloc(n * sizeof(int32_t));
    vf.slot = ir_xcalloc(n, sizeof(int32_t));
    vf.n_uses = ir_xcalloc(n, sizeof(int32_t));
    vf.is_input = ir_xcalloc(n, sizeof(bool));
    for (int32_t v = 0; v < g->n_values; v++)
        vf.producer[v] = IR_NONE;

    for (int32_t i = 0; i < g->n_syms; i++)
        if (!g->syms[i] || (g->sym_bound && g->sym_bound[i] < -1))
            FAULT(&vf, NULL, IR_NONE,
                  "symbol %d has no name or a bound "
                  "below -1",
                  (int)i);
    check_values(&vf);
    check_inputs(&vf);
    check_ops(&vf);
    check_outputs(&vf);
    if (vf.faults == 0)
        check_bookkeeping(&vf);

    free(vf.producer);
    free(vf.slot);
    free(vf.n_uses);
    free(vf.is_input);
    return vf.faults ? -1 : 0;
}
