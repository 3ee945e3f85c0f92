/*
 * The graph in Graphviz DOT form: one box per op, one ellipse per graph
 * input and output, and an edge per value labelled with its dtype and
 * shape.  Constants are left out, except as a count in each op's label, so
 * a model's hundreds of weights do not drown the structure.
 */
#include "ir.h"

#include <stdlib.h>

/* Print s as the inside of a DOT string, escaping quotes and backslashes. */
static void
put_escaped(FILE *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fputc('\\', out);
        if (*p < 0x20)
            fprintf(out, "\\\\x%02x", *p);
        else
            fputc(*p, out);
    }
}

static void
put_value_label(FILE *out, const struct ir_graph *g, int32_t v)
{
    char shape[256];
    ir_shape_format(g, &g->values[v].shape, shape, sizeof(shape));
    fprintf(out, "%s%s", ir_dtype_name(g->values[v].dtype), shape);
}

void
ir_print_dot(FILE *out, const struct ir_graph *g)
{
    fprintf(out, "digraph \"");
    put_escaped(out, g->name);
    fprintf(out, "\" {\n  node [fontname=\"monospace\"];\n");
    for (int32_t i = 0; i < g->n_inputs; i++) {
        fprintf(out, "  v%d [shape=ellipse, label=\"", (int)g->inputs[i]);
        put_escaped(out, g->values[g->inputs[i]].name);
        fprintf(out, "\\n");
        put_value_label(out, g, g->inputs[i]);
        fprintf(out, "\"];\n");
    }
    for (int32_t i = 0; i < g->n_ops; i++) {
        const struct ir_op *op = &g->ops[i];
        int consts = 0;
        for (int k = 0; k < op->n_operands; k++)
            if (op->operands[k] != IR_NONE &&
                g->values[op->operands[k]].kind == IR_VALUE_CONST)
                consts++;
        fprintf(out, "  op%d [shape=box, label=\"%s\\n", (int)i,
                ir_op_kind_name(op->kind));
        put_escaped(out, op->name);
        if (consts)
            fprintf(out, "\\n%d constant%s", consts, consts > 1 ? "s" : "");
        fprintf(out, "\"];\n");
    }

    /* Edges from each value's producer, or input node, to its readers. */
    int32_t *producer = ir_xmalloc(sizeof(int32_t) * (size_t)(g->n_values + 1));
    for (int32_t v = 0; v < g->n_values; v++)
        producer[v] = IR_NONE;
    for (int32_t i = 0; i < g->n_ops; i++)
        for (int k = 0; k < g->ops[i].n_results; k++)
            producer[g->ops[i].results[k]] = i;
    for (int32_t i = 0; i < g->n_ops; i++) {
        const struct ir_op *op = &g->ops[i];
        for (int k = 0; k < op->n_operands; k++) {
            int32_t v = op->operands[k];
            if (v == IR_NONE || g->values[v].kind == IR_VALUE_CONST)
                continue;
            if (producer[v] != IR_NONE)
                fprintf(out, "  op%d -> op%d [label=\"", (int)producer[v],
                        (int)i);
            else
                fprintf(out, "  v%d -> op%d [label=\"", (int)v, (int)i);
            put_value_label(out, g, v);
            fprintf(out, "\"];\n");
        }
    }
    for (int32_t i = 0; i < g->n_outputs; i++) {
        int32_t v = g->outputs[i];
        fprintf(out, "  out%d [shape=ellipse, style=bold, label=\"", (int)i);
        put_escaped(out, g->values[v].name);
        fprintf(out, "\\n");
        put_value_label(out, g, v);
        fprintf(out, "\"];\n");
        if (producer[v] != IR_NONE)
            fprintf(out, "  op%d -> out%d;\n", (int)producer[v], (int)i);
        else if (g->values[v].kind == IR_VALUE_INPUT)
            fprintf(out, "  v%d -> out%d;\n", (int)v, (int)i);
    }
    free(producer);
    fprintf(out, "}\n");
}
