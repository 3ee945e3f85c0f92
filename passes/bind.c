/*
 * Binding of symbolic dims.  onnxc compiles for static shapes: every
 * symbolic dim of a graph input gets a size from the command line before
 * shape inference runs.
 */
#include "passes.h"

#include <string.h>

int
pass_bind_dims(struct ir_graph *g, const char *const *names,
               const int64_t *values, int n)
{
    for (int i = 0; i < n; i++) {
        int32_t sym = IR_NONE;
        for (int32_t s = 0; s < g->n_syms; s++)
            if (strcmp(g->syms[s], names[i]) == 0)
                sym = s;
        if (sym == IR_NONE)
            return ir_errorf("--dim %s=%lld: the model has no symbolic dim "
                             "named '%s'",
                             names[i], (long long)values[i], names[i]);
        if (values[i] < 0)
            return ir_errorf("--dim %s=%lld: a dim must be 0 or more", names[i],
                             (long long)values[i]);
        if (g->sym_bound[sym] >= 0 && g->sym_bound[sym] != values[i])
            return ir_errorf("--dim %s=%lld conflicts with %s=%lld bound "
                             "before",
                             names[i], (long long)values[i], names[i],
                             (long long)g->sym_bound[sym]);
        g->sym_bound[sym] = values[i];
    }

    int rc = 0;
    for (int32_t i = 0; i < g->n_inputs; i++) {
        struct ir_value *v = &g->values[g->inputs[i]];
        for (int d = 0; d < v->shape.rank; d++) {
            int32_t sym = v->shape.sym[d];
            if (sym < 0)
                continue;
            if (g->sym_bound[sym] < 0) {
                rc = ir_error(g, NULL, g->inputs[i],
                              "input dim %d is the symbolic dim '%s'; bind "
                              "it with --dim %s=N or --shape %s=D0x...",
                              d, g->syms[sym], g->syms[sym], v->name);
                continue;
            }
            v->shape.dim[d] = g->sym_bound[sym];
            v->shape.sym[d] = -1;
        }
        if (v->shape.rank < 0)
            rc = ir_error(g, NULL, g->inputs[i],
                          "input '%s' has no declared shape; give it with "
                          "--shape %s=D0xD1x...",
                          v->name, v->name);
        /* Every op's shape arithmetic relies on its operands' sizes
         * fitting in int64, so an input that breaks that stops here. */
        int64_t numel = ir_shape_numel(&v->shape), nbytes;
        if (ir_shape_is_static(&v->shape) &&
            (numel < 0 ||
             __builtin_mul_overflow(numel, (int64_t)ir_dtype_size(v->dtype),
                                    &nbytes)))
            rc = ir_error(g, NULL, g->inputs[i],
                          "input '%s' is too large: its size in bytes "
                          "overflows int64",
                          v->name);
    }
    return rc;
}

int
pass_bind_input_shape(struct ir_graph *g, const char *name, int rank,
                      const int64_t *dims)
{
    int32_t v = IR_NONE;
    for (int32_t i = 0; i < g->n_inputs; i++)
        if (strcmp(g->values[g->inputs[i]].name, name) == 0)
            v = g->inputs[i];
    if (v == IR_NONE)
        return ir_errorf("--shape %s: the model has no input named '%s'", name,
                         name);
    struct ir_value *val = &g->values[v];
    if (val->shape.rank < 0) {
        val->shape = ir_shape_make(rank, dims);
        return 0;
    }
    if (val->shape.rank != rank)
        return ir_error(g, NULL, v,
                        "--shape %s gives rank %d, but the input "
                        "has rank %d",
                        name, rank, val->shape.rank);
    for (int d = 0; d < rank; d++) {
        int32_t sym = val->shape.sym[d];
        if (sym >= 0) {
            if (g->sym_bound[sym] >= 0 && g->sym_bound[sym] != dims[d])
                return ir_error(g, NULL, v,
                                "--shape %s binds dim '%s' to "
                                "%lld, but it is already bound to %lld",
                                name, g->syms[sym], (long long)dims[d],
                                (long long)g->sym_bound[sym]);
            g->sym_bound[sym] = dims[d];
        } else if (val->shape.dim[d] != dims[d]) {
            return ir_error(g, NULL, v,
                            "--shape %s: dim %d is %lld, but the "
                            "model fixes it to %lld",
                            name, d, (long long)dims[d],
                            (long long)val->shape.dim[d]);
        }
    }
    return 0;
}
