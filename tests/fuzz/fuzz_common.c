/*
 * The shared body of the fuzz targets: frontend, dim binding and the pass
 * pipeline, without code generation, which is too slow to fuzz.  Error
 * messages go to /dev/null unless ONNXC_FUZZ_VERBOSE is set, so a
 * reproducer can be rerun with its messages shown.
 */
#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>

#include "frontend/frontend.h"
#include "passes/passes.h"

static void
quiet_errors(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    if (getenv("ONNXC_FUZZ_VERBOSE"))
        return;
    FILE *null = fopen("/dev/null", "w");
    if (null)
        ir_set_error_stream(null);
}

/* Abort with a message: libFuzzer records the input as a crash. */
static _Noreturn void
lie(const struct ir_graph *g, int32_t v, const char *what)
{
    fprintf(stderr, "fuzz: the pipeline succeeded, but value %d ('%s') %s\n",
            (int)v, v >= 0 ? g->values[v].name : "", what);
    abort();
}

/*
 * Check what code generation relies on after a successful pipeline: a
 * valid graph, and a known dtype and static shape for every value that a
 * live op reads or writes and for every output.
 */
static void
check_result(const struct ir_graph *g)
{
    if (ir_verify(g) != 0)
        lie(g, -1, "is part of a graph that fails ir_verify");
    for (int32_t i = 0; i < g->n_ops; i++) {
        const struct ir_op *op = &g->ops[i];
        for (int k = 0; k < op->n_operands + op->n_results; k++) {
            int32_t v = k < op->n_operands ? op->operands[k]
                                           : op->results[k - op->n_operands];
            if (v == IR_NONE)
                continue;
            const struct ir_value *val = &g->values[v];
            if (ir_dtype_size(val->dtype) == 0)
                lie(g, v, "has no supported dtype");
            if (!ir_shape_is_static(&val->shape))
                lie(g, v, "has no static shape");
        }
    }
    for (int32_t i = 0; i < g->n_outputs; i++) {
        const struct ir_value *val = &g->values[g->outputs[i]];
        if (!ir_shape_is_static(&val->shape))
            lie(g, g->outputs[i], "is an output without a static shape");
        int64_t numel = ir_shape_numel(&val->shape);
        if (val->kind == IR_VALUE_CONST &&
            val->nbytes != (size_t)numel * ir_dtype_size(val->dtype))
            lie(g, g->outputs[i], "is a constant whose data size is wrong");
    }
}

void
fuzz_compile_model(const uint8_t *data, size_t size)
{
    quiet_errors();
    /* No folder: external data is rejected, so no file is ever read. */
    struct ir_graph *g = fe_load_model_buffer(data, size, NULL, "fuzz.onnx");
    if (!g)
        return;
    if (ir_verify(g) != 0)
        lie(g, -1, "is part of a loaded graph that fails ir_verify");

    const char **names = calloc((size_t)g->n_syms + 1, sizeof(*names));
    int64_t *values = calloc((size_t)g->n_syms + 1, sizeof(*values));
    for (int32_t i = 0; i < g->n_syms; i++) {
        names[i] = g->syms[i];
        values[i] = FUZZ_DIM;
    }
    struct pass_options opts = {.verify_each = true};
    struct pass_manager pm = {.opts = &opts};
    int rc = pass_bind_dims(g, names, values, g->n_syms);
    if (rc == 0)
        rc = pass_run_pipeline(g, &pm);
    if (rc == 0)
        check_result(g);
    pass_manager_free(&pm);
    free(names);
    free(values);
    ir_graph_free(g);
}
