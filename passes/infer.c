/*
 * Shape inference and constant folding, in one walk over the ops in
 * topological order.  Folding the exporter's shape arithmetic (Shape,
 * Gather, Concat, ...) as soon as its inputs are known is what lets the
 * Reshape and Expand that consume it get static shapes.
 *
 * Requires: every graph input has a static shape (pass_bind_dims ran).
 * Keeps: topological order.  Breaks: nothing; ops whose results all became
 * constants are marked dead and removed.
 */
#include "passes.h"

#include <stdlib.h>
#include <string.h>

/* Fold results up to this size, or larger when no bigger than the inputs. */
#define FOLD_MAX_BYTES ((size_t)16 << 20)

static bool
all_operands_const(const struct ir_graph *g, const struct ir_op *op)
{
    for (int i = 0; i < op->n_operands; i++) {
        const struct ir_value *v = pass_operand(g, op, i);
        if (v && v->kind != IR_VALUE_CONST)
            return false;
    }
    return true;
}

static bool
all_results_const(const struct ir_graph *g, const struct ir_op *op)
{
    for (int i = 0; i < op->n_results; i++)
        if (g->values[op->results[i]].kind != IR_VALUE_CONST)
            return false;
    return true;
}

/*
 * Whether folding op is worth the constant it makes.  A string result is
 * never folded: a constant cannot hold strings.
 */
static bool
worth_folding(const struct ir_graph *g, const struct ir_op *op)
{
    for (int i = 0; i < op->n_results; i++)
        if (g->values[op->results[i]].dtype == IR_DTYPE_STRING)
            return false;
    size_t in_bytes = 0, out_bytes = 0;
    for (int i = 0; i < op->n_operands; i++) {
        const struct ir_value *v = pass_operand(g, op, i);
        if (v)
            in_bytes += v->nbytes;
    }
    for (int i = 0; i < op->n_results; i++) {
        const struct ir_value *v = &g->values[op->results[i]];
        out_bytes +=
            (size_t)ir_shape_numel(&v->shape) * ir_dtype_size(v->dtype);
    }
    return out_bytes <= FOLD_MAX_BYTES || out_bytes <= in_bytes;
}

/* Evaluate op with its kernel and turn its results into constants. */
static int
fold(struct ir_graph *g, struct ir_op *op)
{
    struct pass_kernel_call call;
    if (pass_kernel_call_init(g, op, &call) != 0)
        return -1;

    int n = op->n_operands + op->n_results;
    void **bufs = ir_xcalloc((size_t)n + 1, sizeof(void *));
    size_t *sizes = ir_xcalloc((size_t)op->n_results + 1, sizeof(size_t));
    for (int i = 0; i < op->n_operands; i++) {
        const struct ir_value *v = pass_operand(g, op, i);
        bufs[i] = v ? v->data : NULL;
    }
    for (int i = 0; i < op->n_results; i++) {
        const struct ir_value *v = &g->values[op->results[i]];
        sizes[i] = (size_t)ir_shape_numel(&v->shape) * ir_dtype_size(v->dtype);
        bufs[op->n_operands + i] = ir_xcalloc(sizes[i] + 1, 1);
    }

    char error[RT_ERROR_SIZE] = "";
    struct rt_ctx ctx = {.pool = NULL, .error = error};
    int rc = call.impl->kernel(&ctx, &call.node, bufs);
    if (rc != RT_OK) {
        ir_error(g, op, IR_NONE, "constant folding failed: %s", error);
        for (int i = 0; i < op->n_results; i++)
            free(bufs[op->n_operands + i]);
    } else {
        for (int i = 0; i < op->n_results; i++)
            ir_value_set_const(g, op->results[i], bufs[op->n_operands + i],
                               sizes[i]);
    }
    free(bufs);
    free(sizes);
    pass_kernel_call_free(&call);
    return rc == RT_OK ? 0 : -1;
}

static int
check_operands(const struct ir_graph *g, const struct ir_op *op)
{
    for (int i = 0; i < op->n_operands; i++) {
        const struct ir_value *v = pass_operand(g, op, i);
        if (v && !ir_shape_is_static(&v->shape))
            return ir_error(g, op, op->operands[i],
                            "input %d has no static shape; bind the model's "
                            "symbolic dims with --dim",
                            i);
        if (v && v->dtype == IR_DTYPE_UNDEFINED)
            return ir_error(g, op, op->operands[i],
                            "input %d has no known dtype", i);
    }
    return 0;
}

/*
 * The kind that ONNX gives each attribute name wherever the name occurs in
 * the ops onnxc supports.  Without this check an attribute of the wrong
 * kind would read as absent and its default would apply in silence.
 */
static const struct {
    const char *name;
    enum ir_attr_kind kind;
} attribute_kinds[] = {
    {"allowzero", IR_ATTR_INT},
    {"antialias", IR_ATTR_INT},
    {"axis", IR_ATTR_INT},
    {"batch_axis", IR_ATTR_INT},
    {"batch_dims", IR_ATTR_INT},
    {"blocksize", IR_ATTR_INT},
    {"coerce_2d", IR_ATTR_INT},
    {"detect_negative", IR_ATTR_INT},
    {"detect_positive", IR_ATTR_INT},
    {"end", IR_ATTR_INT},
    {"exclude_outside", IR_ATTR_INT},
    {"exclusive", IR_ATTR_INT},
    {"fmod", IR_ATTR_INT},
    {"is_test", IR_ATTR_INT},
    {"ignore_index", IR_ATTR_INT},
    {"hidden_size", IR_ATTR_INT},
    {"input_forget", IR_ATTR_INT},
    {"keepdims", IR_ATTR_INT},
    {"layout", IR_ATTR_INT},
    {"linear_before_reset", IR_ATTR_INT},
    {"largest", IR_ATTR_INT},
    {"noop_with_empty_axes", IR_ATTR_INT},
    {"num_outputs", IR_ATTR_INT},
    {"output_datatype", IR_ATTR_INT},
    {"periodic", IR_ATTR_INT},
    {"reverse", IR_ATTR_INT},
    {"select_last_index", IR_ATTR_INT},
    {"size", IR_ATTR_INT},
    {"sorted", IR_ATTR_INT},
    {"spatial", IR_ATTR_INT},
    {"stash_type", IR_ATTR_INT},
    {"start", IR_ATTR_INT},
    {"time_axis", IR_ATTR_INT},
    {"to", IR_ATTR_INT},
    {"training_mode", IR_ATTR_INT},
    {"transA", IR_ATTR_INT},
    {"transB", IR_ATTR_INT},
    {"upper", IR_ATTR_INT},
    {"alpha", IR_ATTR_FLOAT},
    {"beta", IR_ATTR_FLOAT},
    {"clip", IR_ATTR_FLOAT},
    {"cubic_coeff_a", IR_ATTR_FLOAT},
    {"extrapolation_value", IR_ATTR_FLOAT},
    {"bias", IR_ATTR_FLOAT},
    {"epsilon", IR_ATTR_FLOAT},
    {"gamma", IR_ATTR_FLOAT},
    {"lambd", IR_ATTR_FLOAT},
    {"momentum", IR_ATTR_FLOAT},
    {"perm", IR_ATTR_INTS},
    {"activation_alpha", IR_ATTR_FLOATS},
    {"activation_beta", IR_ATTR_FLOATS},
    {"activations", IR_ATTR_STRINGS},
    {"approximate", IR_ATTR_STRING},
    {"coordinate_transformation_mode", IR_ATTR_STRING},
    {"direction", IR_ATTR_STRING},
    {"equation", IR_ATTR_STRING},
    {"keep_aspect_ratio_policy", IR_ATTR_STRING},
    {"mode", IR_ATTR_STRING},
    {"nearest_mode", IR_ATTR_STRING},
    {"reduction", IR_ATTR_STRING},
    {"value", IR_ATTR_TENSOR},
};

static const char *
attribute_kind_name(enum ir_attr_kind k)
{
    static const char *const names[] = {
        "an int",           "a float",           "a string", "a list of ints",
        "a list of floats", "a list of strings", "a tensor"};
    return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

static int
check_attribute_kinds(const struct ir_graph *g, const struct ir_op *op)
{
    for (int i = 0; i < op->n_attrs; i++) {
        const struct ir_attr *a = &op->attrs[i];
        for (size_t k = 0;
             k < sizeof(attribute_kinds) / sizeof(attribute_kinds[0]); k++) {
            if (strcmp(a->name, attribute_kinds[k].name) != 0 ||
                a->kind == attribute_kinds[k].kind)
                continue;
            /* ir_op_float reads an int attribute as its value. */
            if (attribute_kinds[k].kind == IR_ATTR_FLOAT &&
                a->kind == IR_ATTR_INT)
                continue;
            return ir_error(g, op, IR_NONE,
                            "attribute '%s' is %s, but it must be %s", a->name,
                            attribute_kind_name(a->kind),
                            attribute_kind_name(attribute_kinds[k].kind));
        }
    }
    return 0;
}

static int
infer_op(struct ir_graph *g, struct ir_op *op, struct pass_manager *pm)
{
    const struct pass_op_impl *impl = pass_op_impl(op->kind);
    if (!impl || !impl->infer)
        return ir_error(g, op, IR_NONE, "operator %s is not supported",
                        ir_op_kind_name(op->kind));
    if (check_attribute_kinds(g, op) != 0 || check_operands(g, op) != 0 ||
        impl->infer(g, op) != 0)
        return -1;
    for (int i = 0; i < op->n_results; i++) {
        const struct ir_value *r = &g->values[op->results[i]];
        if (!ir_shape_is_static(&r->shape))
            return ir_error(g, op, op->results[i],
                            "result %d has no static shape", i);
        int64_t nbytes;
        if (ir_shape_numel(&r->shape) < 0 ||
            __builtin_mul_overflow(ir_shape_numel(&r->shape),
                                   (int64_t)ir_dtype_size(r->dtype), &nbytes))
            return ir_error(g, op, op->results[i],
                            "result %d is too large: its size in bytes "
                            "overflows int64",
                            i);
        if (ir_dtype_size(r->dtype) == 0)
            return ir_error(g, op, op->results[i],
                            "result dtype %s is not supported",
                            ir_dtype_name(r->dtype));
    }
    if (all_results_const(g, op)) {
        op->dead = true;
        pass_stat_add(pm, "ops folded", 1);
        return 0;
    }
    if (impl->kernel && all_operands_const(g, op) && worth_folding(g, op)) {
        if (fold(g, op) != 0)
            return -1;
        op->dead = true;
        pass_stat_add(pm, "ops folded", 1);
    }
    return 0;
}

int
pass_infer_op(struct ir_graph *g, int32_t i, struct pass_manager *pm,
              int32_t *inserted)
{
    *inserted = 0;
    if (g->ops[i].kind == IR_OP_IF || g->ops[i].kind == IR_OP_LOOP)
        return pass_expand_control_flow(g, i, pm, inserted);
    return infer_op(g, &g->ops[i], pm);
}

static int
run_infer(struct ir_graph *g, struct pass_manager *pm)
{
    for (int32_t i = 0; i < g->n_ops; i++) {
        int32_t inserted;
        if (pass_infer_op(g, i, pm, &inserted) != 0)
            return -1;
        i += inserted;
    }
    ir_graph_compact(g);
    return 0;
}

const struct pass pass_infer = {
    .name = "infer",
    .summary = "infer static shapes and fold constant subgraphs",
    .run = run_infer,
};
