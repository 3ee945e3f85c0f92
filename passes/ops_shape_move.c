/*
 * Shape inference and kernel parameters of the data movement ops:
 * Transpose, Concat, Split, Slice, Expand, Tile and Pad.  The table entry
 * of each op is in ops_shape.c.
 */
#include "passes.h"
#include "../runtime/k_shape.h"

#include <stdlib.h>
#include <string.h>

/* ops_shape.c */
int pass_shape_check_data(const struct ir_graph *g, const struct ir_op *op,
                          int i);
int pass_shape_check_numbers(const struct ir_graph *g, const struct ir_op *op,
                             int i);
int pass_shape_check_numbers(const struct ir_graph *g, const struct ir_op *op,
                             int i);
int pass_shape_check_rank(const struct ir_graph *g, const struct ir_op *op,
                          int64_t rank);

static int64_t
clamp64(int64_t x, int64_t lo, int64_t hi)
{
    if (x < lo)
        return lo;
    if (x > hi)
        return hi;
    return x;
}

/* Transpose's perm attribute, reversed dims by default, validated. */
static int
transpose_perm(const struct ir_graph *g, const struct ir_op *op, int64_t *perm)
{
    int rank = pass_operand(g, op, 0)->shape.rank;
    const struct ir_attr *a = ir_op_attr(op, "perm");
    if (!a) {
        for (int i = 0; i < rank; i++)
            perm[i] = rank - 1 - i;
        return 0;
    }
    if (a->kind != IR_ATTR_INTS || a->n != rank)
        return ir_error(g, op, op->operands[0],
                        "perm must list %d axes, one per input dim", rank);
    bool seen[IR_MAX_RANK] = {false};
    for (int i = 0; i < rank; i++) {
        int64_t p = a->ints[i];
        if (p < 0 || p >= rank || seen[p])
            return ir_error(g, op, op->operands[0],
                            "perm is not a permutation of 0..%d: entry %d "
                            "is %lld",
                            rank - 1, i, (long long)p);
        seen[p] = true;
        perm[i] = p;
    }
    return 0;
}

/* Transpose: output dim i is input dim perm[i]. */
int
pass_shape_infer_transpose(struct ir_graph *g, struct ir_op *op)
{
    if (pass_shape_check_data(g, op, 0) != 0)
        return -1;
    const struct ir_value *in = pass_operand(g, op, 0);
    int64_t perm[IR_MAX_RANK], dims[IR_MAX_RANK];
    if (transpose_perm(g, op, perm) != 0)
        return -1;
    for (int i = 0; i < in->shape.rank; i++)
        dims[i] = in->shape.dim[perm[i]];
    struct ir_shape shape = ir_shape_make(in->shape.rank, dims);
    pass_set_result(g, op, 0, in->dtype, &shape);
    return 0;
}

int
pass_shape_encode_transpose(const struct ir_graph *g, const struct ir_op *op,
                            struct pass_params *p)
{
    int64_t perm[IR_MAX_RANK];
    if (transpose_perm(g, op, perm) != 0)
        return -1;
    for (int i = 0; i < pass_operand(g, op, 0)->shape.rank; i++)
        pass_params_int(p, perm[i]);
    return 0;
}

/* The mode and block size of DepthToSpace or SpaceToDepth. */
static int
depth_params(const struct ir_graph *g, const struct ir_op *op, int64_t *mode,
             int64_t *block)
{
    const struct ir_attr *a = ir_op_attr(op, "blocksize");
    if (!a)
        return ir_error(g, op, IR_NONE,
                        "required attribute blocksize is missing");
    if (a->i < 1 || a->i > (1 << 20))
        return ir_error(g, op, IR_NONE,
                        "blocksize %lld is invalid; expected 1 to 2^20",
                        (long long)a->i);
    *block = a->i;
    if (op->kind == IR_OP_SPACE_TO_DEPTH) {
        *mode = RT_SPACE_TO_DEPTH;
        return 0;
    }
    const char *m = ir_op_string(op, "mode", "DCR");
    if (strcmp(m, "DCR") == 0)
        *mode = RT_DEPTH_TO_SPACE_DCR;
    else if (strcmp(m, "CRD") == 0)
        *mode = RT_DEPTH_TO_SPACE_CRD;
    else
        return ir_error(g, op, IR_NONE,
                        "mode '%s' is invalid; expected DCR or CRD", m);
    return 0;
}

/*
 * DepthToSpace: [N, C, H, W] -> [N, C / b^2, H * b, W * b].
 * SpaceToDepth: [N, C, H, W] -> [N, C * b^2, H / b, W / b].
 */
int
pass_shape_infer_depth_to_space(struct ir_graph *g, struct ir_op *op)
{
    int64_t mode = 0, b = 1;
    if (pass_shape_check_data(g, op, 0) != 0 ||
        depth_params(g, op, &mode, &b) != 0)
        return -1;
    const struct ir_value *in = pass_operand(g, op, 0);
    char buf[160];
    ir_shape_format(g, &in->shape, buf, sizeof(buf));
    if (in->shape.rank != 4)
        return ir_error(g, op, op->operands[0],
                        "the input %s must be 4-D, [N, C, H, W]", buf);
    const int64_t *d = in->shape.dim;
    int64_t dims[4] = {d[0], 0, 0, 0};
    if (mode == RT_SPACE_TO_DEPTH) {
        if (d[2] % b != 0 || d[3] % b != 0)
            return ir_error(g, op, op->operands[0],
                            "the height and width of %s are not multiples "
                            "of blocksize %lld",
                            buf, (long long)b);
        dims[2] = d[2] / b;
        dims[3] = d[3] / b;
        if (__builtin_mul_overflow(d[1], b * b, &dims[1]))
            return ir_error(g, op, op->operands[0], "the output is too large");
    } else {
        if (d[1] % (b * b) != 0)
            return ir_error(g, op, op->operands[0],
                            "the channels of %s are not a multiple of "
                            "blocksize^2 = %lld",
                            buf, (long long)(b * b));
        dims[1] = d[1] / (b * b);
        if (__builtin_mul_overflow(d[2], b, &dims[2]) ||
            __builtin_mul_overflow(d[3], b, &dims[3]))
            return ir_error(g, op, op->operands[0], "the output is too large");
    }
    struct ir_shape shape = ir_shape_make(4, dims);
    pass_set_result(g, op, 0, in->dtype, &shape);
    return 0;
}

/* ints: [mode, blocksize]. */
int
pass_shape_encode_depth_to_space(const struct ir_graph *g,
                                 const struct ir_op *op, struct pass_params *p)
{
    int64_t mode = 0, b = 1;
    if (depth_params(g, op, &mode, &b) != 0)
        return -1;
    pass_params_int(p, mode);
    pass_params_int(p, b);
    return 0;
}

/*
 * A Transpose keeps the element order when it moves only axes of size 1:
 * the other axes appear in the output in their input order.
 */
bool
pass_shape_view_transpose(const struct ir_graph *g, const struct ir_op *op)
{
    const struct ir_shape *in = &pass_operand(g, op, 0)->shape;
    int64_t perm[IR_MAX_RANK];
    if (transpose_perm(g, op, perm) != 0)
        return false;
    int64_t last = -1;
    for (int i = 0; i < in->rank; i++) {
        if (in->dim[perm[i]] == 1)
            continue;
        if (perm[i] < last)
            return false;
        last = perm[i];
    }
    return true;
}

/* The op's axis attribute (required when dflt is NULL) mapped to [0, rank). */
static int
axis_attr(const struct ir_graph *g, const struct ir_op *op, int rank,
          const int64_t *dflt, int *axis)
{
    const struct ir_attr *a = ir_op_attr(op, "axis");
    if (!a && !dflt)
        return ir_error(g, op, IR_NONE, "the axis attribute is missing");
    return pass_axis(g, op, a ? a->i : *dflt, rank, axis);
}

/*
 * Concat: inputs of one dtype and rank that agree on every dim but axis;
 * zero-size inputs (an empty KV cache) are allowed.
 */
int
pass_shape_infer_concat(struct ir_graph *g, struct ir_op *op)
{
    for (int i = 0; i < op->n_operands; i++)
        if (pass_shape_check_data(g, op, i) != 0)
            return -1;
    const struct ir_value *first = pass_operand(g, op, 0);
    int rank = first->shape.rank, axis;
    if (rank == 0)
        return ir_error(g, op, op->operands[0], "cannot concatenate scalars");
    if (axis_attr(g, op, rank, NULL, &axis) != 0)
        return -1;
    struct ir_shape shape = first->shape;
    for (int i = 1; i < op->n_operands; i++) {
        const struct ir_value *v = pass_operand(g, op, i);
        if (v->dtype != first->dtype || v->shape.rank != rank)
            return ir_error(g, op, op->operands[i],
                            "input %d must have the dtype and rank of "
                            "input 0 (%s, rank %d)",
                            i, ir_dtype_name(first->dtype), rank);
        for (int d = 0; d < rank; d++) {
            if (d != axis && v->shape.dim[d] != shape.dim[d]) {
                char want[160];
                return ir_error(
                    g, op, op->operands[i],
                    "dim %d differs from input 0 %s; only "
                    "axis %d may differ",
                    d, ir_shape_format(g, &first->shape, want, sizeof(want)),
                    axis);
            }
        }
        shape.dim[axis] += v->shape.dim[axis];
    }
    pass_set_result(g, op, 0, first->dtype, &shape);
    return 0;
}

int
pass_shape_encode_concat(const struct ir_graph *g, const struct ir_op *op,
                         struct pass_params *p)
{
    int axis;
    if (axis_attr(g, op, pass_operand(g, op, 0)->shape.rank, NULL, &axis))
        return -1;
    pass_params_int(p, axis);
    return 0;
}

/*
 * The sizes of Split's parts along axis: the sizes operand if present,
 * else ceil(dim / n) each with a smaller last part (opset 18 num_outputs),
 * which is the equal split of older opsets when n divides the dim.
 * Returns a malloc'd array of op->n_results sizes, or NULL after an error.
 */
static int64_t *
split_sizes(const struct ir_graph *g, const struct ir_op *op, int axis)
{
    int n = op->n_results;
    int64_t dim = pass_operand(g, op, 0)->shape.dim[axis];
    int64_t *sizes = ir_xcalloc((size_t)n, sizeof(int64_t));
    const struct ir_value *given = pass_operand(g, op, 1);
    if (given) {
        int64_t count = ir_shape_numel(&given->shape), sum = 0;
        int got;
        if (count != n) {
            ir_error(g, op, op->operands[1],
                     "split lists %lld sizes, but the node has %d outputs",
                     (long long)count, n);
            goto fail;
        }
        if (pass_operand_ints(g, op, 1, sizes, n, &got) != 0)
            goto fail;
        for (int i = 0; i < n; i++) {
            if (sizes[i] < 0) {
                ir_error(g, op, op->operands[1], "split size %lld is negative",
                         (long long)sizes[i]);
                goto fail;
            }
            /* sum <= dim is true here, so this cannot overflow. */
            if (sizes[i] > dim - sum) {
                ir_error(g, op, op->operands[1],
                         "split sizes add up to more than axis %d's size "
                         "%lld",
                         axis, (long long)dim);
                goto fail;
            }
            sum += sizes[i];
        }
        if (sum != dim) {
            ir_error(g, op, op->operands[1],
                     "split sizes add up to %lld, but axis %d has size %lld",
                     (long long)sum, axis, (long long)dim);
            goto fail;
        }
        return sizes;
    }
    int64_t parts = ir_op_int(op, "num_outputs", n);
    if (parts != n) {
        ir_error(g, op, IR_NONE,
                 "num_outputs is %lld, but the node has %d outputs",
                 (long long)parts, n);
        goto fail;
    }
    /*
     * NOTE: before opset 18 an equal split that n does not divide is
     * invalid ONNX; it is accepted here with the opset 18 rule.
     */
    int64_t chunk = (dim + n - 1) / n;
    if (dim - chunk * (n - 1) < 0) {
        ir_error(g, op, op->operands[0],
                 "axis %d of size %lld cannot be split into %d parts of "
                 "%lld",
                 axis, (long long)dim, n, (long long)chunk);
        goto fail;
    }
    for (int i = 0; i < n; i++)
        sizes[i] = i < n - 1 ? chunk : dim - chunk * (n - 1);
    return sizes;
fail:
    free(sizes);
    return NULL;
}

/* Split: n_results parts along axis (default 0). */
int
pass_shape_infer_split(struct ir_graph *g, struct ir_op *op)
{
    if (pass_shape_check_data(g, op, 0) != 0)
        return -1;
    const int64_t zero = 0;
    const struct ir_value *in = pass_operand(g, op, 0);
    int axis;
    if (axis_attr(g, op, in->shape.rank, &zero, &axis) != 0)
        return -1;
    int64_t *sizes = split_sizes(g, op, axis);
    if (!sizes)
        return -1;
    enum ir_dtype dtype = in->dtype;
    struct ir_shape shape = in->shape;
    for (int i = 0; i < op->n_results; i++) {
        shape.dim[axis] = sizes[i];
        pass_set_result(g, op, i, dtype, &shape);
    }
    free(sizes);
    return 0;
}

int
pass_shape_encode_split(const struct ir_graph *g, const struct ir_op *op,
                        struct pass_params *p)
{
    const int64_t zero = 0;
    int axis;
    if (axis_attr(g, op, pass_operand(g, op, 0)->shape.rank, &zero, &axis))
        return -1;
    pass_params_int(p, axis);
    return 0;
}

/*
 * The parts of a Split are runs of the input when every axis before the
 * split axis has size 1.
 */
bool
pass_shape_view_split(const struct ir_graph *g, const struct ir_op *op, int k,
                      int64_t *first)
{
    const struct ir_shape *in = &pass_operand(g, op, 0)->shape;
    int axis;
    if (axis_attr(g, op, in->rank, &(const int64_t){0}, &axis) != 0)
        return false;
    int64_t inner = 1;
    for (int d = 0; d < in->rank; d++)
        if (d < axis && in->dim[d] != 1)
            return false;
        else if (d > axis)
            inner *= in->dim[d];
    *first = 0;
    for (int j = 0; j < k; j++)
        *first += g->values[op->results[j]].shape.dim[axis] * inner;
    return true;
}

/* Per input dim: the first element, the step and the element count. */
struct slice_plan {
    int64_t start[IR_MAX_RANK];
    int64_t step[IR_MAX_RANK];
    int64_t count[IR_MAX_RANK];
};

/* Clamp one axis's start and end per the Slice rules and count elements. */
static void
slice_axis(int64_t dim, int64_t start, int64_t end, int64_t step,
           int64_t *first, int64_t *count)
{
    if (dim == 0) {
        *first = 0;
        *count = 0;
        return;
    }
    if (start < 0)
        start += dim;
    if (end < 0)
        end += dim;
    if (step > 0) {
        start = clamp64(start, 0, dim);
        end = clamp64(end, 0, dim);
        *count = end > start ? (end - start - 1) / step + 1 : 0;
    } else {
        /* An end of -1 here (after adding dim) runs through index 0. */
        start = clamp64(start, 0, dim - 1);
        end = clamp64(end, -1, dim - 1);
        if (start <= end)
            *count = 0;
        else if (step == INT64_MIN)
            *count = 1;
        else
            *count = (start - end - 1) / -step + 1;
    }
    *first = *count > 0 ? start : 0;
}

/*
 * Slice (opset 13 input form): starts and ends, optional axes (negative
 * allowed, default 0..n-1) and steps (nonzero, default 1).  Starts and
 * ends are clamped per the ONNX rules, so INT64_MAX, INT32_MAX and -INT_MAX
 * style sentinels all work and empty results are allowed.
 */
static int
slice_plan(const struct ir_graph *g, const struct ir_op *op,
           struct slice_plan *plan)
{
    const struct ir_shape in = pass_operand(g, op, 0)->shape;
    int64_t starts[IR_MAX_RANK], ends[IR_MAX_RANK];
    int64_t axes[IR_MAX_RANK], steps[IR_MAX_RANK];
    int n, n_ends, n_axes, n_steps;
    if (pass_operand_ints(g, op, 1, starts, IR_MAX_RANK, &n) != 0 ||
        pass_operand_ints(g, op, 2, ends, IR_MAX_RANK, &n_ends) != 0)
        return -1;
    if (pass_operand(g, op, 3)) {
        if (pass_operand_ints(g, op, 3, axes, IR_MAX_RANK, &n_axes) != 0)
            return -1;
    } else {
        n_axes = n;
        for (int k = 0; k < n; k++)
            axes[k] = k;
    }
    if (pass_operand(g, op, 4)) {
        if (pass_operand_ints(g, op, 4, steps, IR_MAX_RANK, &n_steps) != 0)
            return -1;
    } else {
        n_steps = n;
        for (int k = 0; k < n; k++)
            steps[k] = 1;
    }
    if (n_ends != n || n_axes != n || n_steps != n)
        return ir_error(g, op, IR_NONE,
                        "starts, ends, axes and steps must have the same "
                        "length, not %d, %d, %d and %d",
                        n, n_ends, n_axes, n_steps);

    bool seen[IR_MAX_RANK] = {false};
    for (int d = 0; d < in.rank; d++) {
        plan->start[d] = 0;
        plan->step[d] = 1;
        plan->count[d] = in.dim[d];
    }
    for (int k = 0; k < n; k++) {
        int a;
        if (pass_axis(g, op, axes[k], in.rank, &a) != 0)
            return -1;
        if (seen[a])
            return ir_error(g, op, IR_NONE, "axis %lld is sliced twice",
                            (long long)axes[k]);
        if (steps[k] == 0)
            return ir_error(g, op, IR_NONE,
                            "steps[%d] is 0; steps must be nonzero", k);
        seen[a] = true;
        plan->step[a] = steps[k];
        slice_axis(in.dim[a], starts[k], ends[k], steps[k], &plan->start[a],
                   &plan->count[a]);
    }
    return 0;
}

int
pass_shape_infer_slice(struct ir_graph *g, struct ir_op *op)
{
    if (pass_shape_check_data(g, op, 0) != 0)
        return -1;
    struct slice_plan plan;
    if (slice_plan(g, op, &plan) != 0)
        return -1;
    const struct ir_value *in = pass_operand(g, op, 0);
    struct ir_shape shape = ir_shape_make(in->shape.rank, plan.count);
    pass_set_result(g, op, 0, in->dtype, &shape);
    return 0;
}

int
pass_shape_encode_slice(const struct ir_graph *g, const struct ir_op *op,
                        struct pass_params *p)
{
    struct slice_plan plan;
    if (slice_plan(g, op, &plan) != 0)
        return -1;
    for (int d = 0; d < pass_operand(g, op, 0)->shape.rank; d++) {
        pass_params_int(p, plan.start[d]);
        pass_params_int(p, plan.step[d]);
    }
    return 0;
}

/*
 * A slice is a run of its input when, from the last axis back, it takes
 * whole axes, then a range with step 1 of one axis, then one index of each
 * remaining axis.
 */
bool
pass_shape_view_slice(const struct ir_graph *g, const struct ir_op *op, int k,
                      int64_t *first)
{
    (void)k;
    struct slice_plan plan;
    if (slice_plan(g, op, &plan) != 0)
        return false;
    const struct ir_shape *in = &pass_operand(g, op, 0)->shape;
    *first = 0;
    for (int d = 0; d < in->rank; d++)
        if (plan.count[d] == 0)
            return true;
    int d = in->rank - 1;
    while (d >= 0 && plan.count[d] == in->dim[d] &&
           (plan.step[d] == 1 || plan.count[d] == 1))
        d--;
    if (d >= 0 && plan.step[d] != 1 && plan.count[d] != 1)
        return false;
    for (int outer = d - 1; outer >= 0; outer--)
        if (plan.count[outer] != 1)
            return false;
    int64_t stride = 1;
    for (int e = in->rank - 1; e >= 0; e--) {
        *first += plan.start[e] * stride;
        stride *= in->dim[e];
    }
    return true;
}

/*
 * Expand: the input broadcast against the shape operand, which may have
 * a lower rank than the input; a 1 in it keeps the input dim.
 */
int
pass_shape_infer_expand(struct ir_graph *g, struct ir_op *op)
{
    if (pass_shape_check_data(g, op, 0) != 0)
        return -1;
    int64_t dims[IR_MAX_RANK];
    int n;
    if (pass_operand_ints(g, op, 1, dims, IR_MAX_RANK, &n) != 0)
        return -1;
    for (int i = 0; i < n; i++)
        if (dims[i] < 0)
            return ir_error(g, op, op->operands[1],
                            "shape entry %d is negative (%lld)", i,
                            (long long)dims[i]);
    const struct ir_value *in = pass_operand(g, op, 0);
    struct ir_shape want = ir_shape_make(n, dims), shape;
    if (pass_broadcast(g, op, &in->shape, &want, &shape) != 0)
        return -1;
    pass_set_result(g, op, 0, in->dtype, &shape);
    return 0;
}

/* Tile: output dim i is input dim i times repeats[i]. */
int
pass_shape_infer_tile(struct ir_graph *g, struct ir_op *op)
{
    if (pass_shape_check_data(g, op, 0) != 0)
        return -1;
    const struct ir_value *in = pass_operand(g, op, 0);
    int64_t reps[IR_MAX_RANK], dims[IR_MAX_RANK];
    int n;
    if (pass_operand_ints(g, op, 1, reps, IR_MAX_RANK, &n) != 0)
        return -1;
    if (n != in->shape.rank)
        return ir_error(g, op, op->operands[1],
                        "repeats has %d entries, but the input has rank %d", n,
                        in->shape.rank);
    for (int i = 0; i < n; i++) {
        if (reps[i] < 0)
            return ir_error(g, op, op->operands[1],
                            "repeat %d is negative (%lld)", i,
                            (long long)reps[i]);
        if (__builtin_mul_overflow(in->shape.dim[i], reps[i], &dims[i]))
            return ir_error(g, op, op->operands[1], "dim %d overflows", i);
    }
    struct ir_shape shape = ir_shape_make(n, dims);
    pass_set_result(g, op, 0, in->dtype, &shape);
    return 0;
}

/* Pad's mode and the pads at the start and end of every input dim. */
struct pad_plan {
    int mode;
    int64_t before[IR_MAX_RANK];
    int64_t after[IR_MAX_RANK];
};

static int
pad_mode(const struct ir_graph *g, const struct ir_op *op, int *mode)
{
    const char *s = ir_op_string(op, "mode", "constant");
    if (strcmp(s, "constant") == 0)
        *mode = RT_PAD_CONSTANT;
    else if (strcmp(s, "reflect") == 0)
        *mode = RT_PAD_REFLECT;
    else if (strcmp(s, "edge") == 0)
        *mode = RT_PAD_EDGE;
    else if (strcmp(s, "wrap") == 0)
        *mode = RT_PAD_WRAP;
    else
        return ir_error(g, op, IR_NONE, "pad mode '%s' is not supported", s);
    return 0;
}

/*
 * Pad (opsets 13-19): pads lists the start pads of every padded axis, then
 * the end pads; axes (optional, negative allowed) names the padded axes.
 * Negative pads crop.
 */
static int
pad_plan(const struct ir_graph *g, const struct ir_op *op,
         struct pad_plan *plan)
{
    const struct ir_shape in = pass_operand(g, op, 0)->shape;
    int64_t pads[2 * IR_MAX_RANK], axes[IR_MAX_RANK];
    int n_pads, n_axes;
    if (pad_mode(g, op, &plan->mode) != 0 ||
        pass_operand_ints(g, op, 1, pads, 2 * IR_MAX_RANK, &n_pads) != 0)
        return -1;
    if (pass_operand(g, op, 3)) {
        if (pass_operand_ints(g, op, 3, axes, IR_MAX_RANK, &n_axes) != 0)
            return -1;
    } else {
        n_axes = in.rank;
        for (int i = 0; i < in.rank; i++)
            axes[i] = i;
    }
    if (n_pads != 2 * n_axes)
        return ir_error(g, op, op->operands[1],
                        "pads has %d entries; expected 2 per padded axis "
                        "(%d)",
                        n_pads, 2 * n_axes);
    bool seen[IR_MAX_RANK] = {false};
    memset(plan->before, 0, sizeof(plan->before));
    memset(plan->after, 0, sizeof(plan->after));
    for (int k = 0; k < n_axes; k++) {
        int a;
        if (pass_axis(g, op, axes[k], in.rank, &a) != 0)
            return -1;
        if (seen[a])
            return ir_error(g, op, IR_NONE, "axis %lld is padded twice",
                            (long long)axes[k]);
        seen[a] = true;
        plan->before[a] = pads[k];
        plan->after[a] = pads[k + n_axes];
    }
    return 0;
}

int
pass_shape_infer_pad(struct ir_graph *g, struct ir_op *op)
{
    if (pass_shape_check_numbers(g, op, 0) != 0)
        return -1;
    const struct ir_value *in = pass_operand(g, op, 0);
    const struct ir_value *value = pass_operand(g, op, 2);
    if (value &&
        (value->dtype != in->dtype || ir_shape_numel(&value->shape) > 1))
        return ir_error(g, op, op->operands[2],
                        "constant_value must be one element of the data "
                        "dtype %s",
                        ir_dtype_name(in->dtype));
    struct pad_plan plan;
    if (pad_plan(g, op, &plan) != 0)
        return -1;
    int64_t dims[IR_MAX_RANK];
    for (int i = 0; i < in->shape.rank; i++) {
        dims[i] = in->shape.dim[i] + plan.before[i] + plan.after[i];
        if (dims[i] < 0)
            return ir_error(g, op, op->operands[1],
                            "pads %lld and %lld crop more than dim %d of "
                            "size %lld",
                            (long long)plan.before[i], (long long)plan.after[i],
                            i, (long long)in->shape.dim[i]);
        if (plan.mode != RT_PAD_CONSTANT && in->shape.dim[i] == 0 &&
            dims[i] > 0)
            return ir_error(g, op, op->operands[0],
                            "dim %d is empty, so only constant padding can "
                            "fill it",
                            i);
    }
    struct ir_shape shape = ir_shape_make(in->shape.rank, dims);
    pass_set_result(g, op, 0, in->dtype, &shape);
    return 0;
}

int
pass_shape_encode_pad(const struct ir_graph *g, const struct ir_op *op,
                      struct pass_params *p)
{
    struct pad_plan plan;
    if (pad_plan(g, op, &plan) != 0)
        return -1;
    pass_params_int(p, plan.mode);
    for (int i = 0; i < pass_operand(g, op, 0)->shape.rank; i++)
        pass_params_int(p, plan.before[i]);
    return 0;
}
