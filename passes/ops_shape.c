/*
 * The shape group's op table and the ops that only rearrange dims or read
 * them: Shape, Size, Reshape, Flatten, Squeeze and Unsqueeze.  Data
 * movement ops live in ops_shape_move.c, index and generator ops in
 * ops_shape_index.c.  Kernels are in runtime/k_shape*.c.
 */
#include "passes.h"
#include "../runtime/k_shape.h"

#include <stdlib.h>
#include <string.h>

/* ops_shape_move.c */
int pass_shape_infer_transpose(struct ir_graph *g, struct ir_op *op);
int pass_shape_encode_transpose(const struct ir_graph *g,
                                const struct ir_op *op, struct pass_params *p);
int pass_shape_infer_depth_to_space(struct ir_graph *g, struct ir_op *op);
int pass_shape_encode_depth_to_space(const struct ir_graph *g,
                                     const struct ir_op *op,
                                     struct pass_params *p);
int pass_shape_infer_concat(struct ir_graph *g, struct ir_op *op);
int pass_shape_encode_concat(const struct ir_graph *g, const struct ir_op *op,
                             struct pass_params *p);
int pass_shape_infer_split(struct ir_graph *g, struct ir_op *op);
int pass_shape_encode_split(const struct ir_graph *g, const struct ir_op *op,
                            struct pass_params *p);
int pass_shape_infer_slice(struct ir_graph *g, struct ir_op *op);
int pass_shape_encode_slice(const struct ir_graph *g, const struct ir_op *op,
                            struct pass_params *p);
bool pass_shape_view_transpose(const struct ir_graph *g,
                               const struct ir_op *op);
bool pass_shape_view_split(const struct ir_graph *g, const struct ir_op *op,
                           int k, int64_t *first);
bool pass_shape_view_slice(const struct ir_graph *g, const struct ir_op *op,
                           int k, int64_t *first);
int pass_shape_infer_expand(struct ir_graph *g, struct ir_op *op);
int pass_shape_infer_tile(struct ir_graph *g, struct ir_op *op);
int pass_shape_infer_pad(struct ir_graph *g, struct ir_op *op);
int pass_shape_encode_pad(const struct ir_graph *g, const struct ir_op *op,
                          struct pass_params *p);

/* ops_shape_index.c */
int pass_shape_infer_gather(struct ir_graph *g, struct ir_op *op);
int pass_shape_encode_axis(const struct ir_graph *g, const struct ir_op *op,
                           struct pass_params *p);
int pass_shape_infer_gather_elements(struct ir_graph *g, struct ir_op *op);
int pass_shape_infer_gather_nd(struct ir_graph *g, struct ir_op *op);
int pass_shape_encode_gather_nd(const struct ir_graph *g,
                                const struct ir_op *op, struct pass_params *p);
int pass_shape_infer_scatter_elements(struct ir_graph *g, struct ir_op *op);
int pass_shape_encode_scatter_elements(const struct ir_graph *g,
                                       const struct ir_op *op,
                                       struct pass_params *p);
int pass_shape_infer_scatter_nd(struct ir_graph *g, struct ir_op *op);
int pass_shape_encode_scatter_nd(const struct ir_graph *g,
                                 const struct ir_op *op, struct pass_params *p);
int pass_shape_infer_one_hot(struct ir_graph *g, struct ir_op *op);
int pass_shape_encode_one_hot(const struct ir_graph *g, const struct ir_op *op,
                              struct pass_params *p);
int pass_shape_infer_constant_of_shape(struct ir_graph *g, struct ir_op *op);
int pass_shape_encode_constant_of_shape(const struct ir_graph *g,
                                        const struct ir_op *op,
                                        struct pass_params *p);
int pass_shape_infer_range(struct ir_graph *g, struct ir_op *op);
int pass_shape_infer_trilu(struct ir_graph *g, struct ir_op *op);
int pass_shape_encode_trilu(const struct ir_graph *g, const struct ir_op *op,
                            struct pass_params *p);
int pass_shape_infer_eye_like(struct ir_graph *g, struct ir_op *op);
int pass_shape_infer_window(struct ir_graph *g, struct ir_op *op);
int pass_shape_infer_reverse_sequence(struct ir_graph *g, struct ir_op *op);
int pass_shape_encode_reverse_sequence(const struct ir_graph *g,
                                       const struct ir_op *op,
                                       struct pass_params *p);
int pass_shape_encode_window(const struct ir_graph *g, const struct ir_op *op,
                             struct pass_params *p);
int pass_shape_encode_eye_like(const struct ir_graph *g, const struct ir_op *op,
                               struct pass_params *p);

/*
 * Check that input i is present, has a known rank and a dtype whose
 * elements can be moved; strings can, as pointers.
 */
int
pass_shape_check_data(const struct ir_graph *g, const struct ir_op *op, int i)
{
    const struct ir_value *v = pass_operand(g, op, i);
    if (!v)
        return ir_error(g, op, IR_NONE, "input %d is missing", i);
    if (ir_dtype_size(v->dtype) == 0)
        return ir_error(g, op, op->operands[i],
                        "input %d has dtype %s, which is not supported", i,
                        ir_dtype_name(v->dtype));
    if (v->shape.rank < 0)
        return ir_error(g, op, op->operands[i], "input %d has an unknown rank",
                        i);
    return 0;
}

/* Like pass_shape_check_data, for ops that read or make up elements. */
int
pass_shape_check_numbers(const struct ir_graph *g, const struct ir_op *op,
                         int i)
{
    if (pass_shape_check_data(g, op, i) != 0)
        return -1;
    if (pass_operand(g, op, i)->dtype == IR_DTYPE_STRING)
        return ir_error(g, op, op->operands[i],
                        "input %d has dtype string, which this op does not "
                        "support",
                        i);
    return 0;
}

int
pass_shape_check_rank(const struct ir_graph *g, const struct ir_op *op,
                      int64_t rank)
{
    if (rank > IR_MAX_RANK)
        return ir_error(g, op, IR_NONE,
                        "the result would have rank %lld; ranks above %d "
                        "are not supported",
                        (long long)rank, IR_MAX_RANK);
    return 0;
}

static int64_t
clamp64(int64_t x, int64_t lo, int64_t hi)
{
    if (x < lo)
        return lo;
    if (x > hi)
        return hi;
    return x;
}

/* Shape (opset 15): the clamped [start, end) range of dims to return. */
static void
shape_range(const struct ir_op *op, int rank, int64_t *start, int64_t *end)
{
    int64_t s = ir_op_int(op, "start", 0), e = ir_op_int(op, "end", rank);
    if (s < 0)
        s += rank;
    if (e < 0)
        e += rank;
    *start = clamp64(s, 0, rank);
    *end = clamp64(e, *start, rank);
}

/* Shape: a constant int64 vector of the input dims in [start, end). */
static int
infer_shape(struct ir_graph *g, struct ir_op *op)
{
    const struct ir_value *in = pass_operand(g, op, 0);
    if (!in || !ir_shape_is_static(&in->shape))
        return ir_error(g, op, op->operands[0],
                        "the input shape must be static");
    int64_t start, end;
    shape_range(op, in->shape.rank, &start, &end);
    int64_t n = end - start;
    int64_t *dims = ir_xmalloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++)
        dims[i] = in->shape.dim[start + i];
    struct ir_shape shape = ir_shape_make(1, &n);
    pass_set_result(g, op, 0, IR_DTYPE_INT64, &shape);
    ir_value_set_const(g, op->results[0], dims, sizeof(int64_t) * (size_t)n);
    return 0;
}

static int
encode_shape(const struct ir_graph *g, const struct ir_op *op,
             struct pass_params *p)
{
    int64_t start, end;
    shape_range(op, pass_operand(g, op, 0)->shape.rank, &start, &end);
    pass_params_int(p, start);
    pass_params_int(p, end);
    return 0;
}

/* Size: a constant int64 scalar, the input's element count. */
static int
infer_size(struct ir_graph *g, struct ir_op *op)
{
    const struct ir_value *in = pass_operand(g, op, 0);
    int64_t n = in ? ir_shape_numel(&in->shape) : -1;
    if (n < 0)
        return ir_error(g, op, op->operands[0],
                        "the input shape must be static");
    int64_t *data = ir_xmalloc(sizeof(int64_t));
    *data = n;
    struct ir_shape shape = ir_shape_make(0, NULL);
    pass_set_result(g, op, 0, IR_DTYPE_INT64, &shape);
    ir_value_set_const(g, op->results[0], data, sizeof(int64_t));
    return 0;
}

static char *
format_ints(const int64_t *v, int n, char *buf, size_t size)
{
    size_t at = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < n && at < size; i++)
        at += (size_t)snprintf(buf + at, size - at, "%s%lld", i ? "," : "",
                               (long long)v[i]);
    if (at < size)
        snprintf(buf + at, size - at, "]");
    return buf;
}

static int
reshape_mismatch(const struct ir_graph *g, const struct ir_op *op,
                 const int64_t *req, int n, const char *why)
{
    const struct ir_value *in = pass_operand(g, op, 0);
    char from[160], to[160];
    return ir_error(g, op, op->operands[0],
                    "cannot reshape %s (%lld elements) to %s: %s",
                    ir_shape_format(g, &in->shape, from, sizeof(from)),
                    (long long)ir_shape_numel(&in->shape),
                    format_ints(req, n, to, sizeof(to)), why);
}

/*
 * Reshape (opset 14): a 0 in the requested shape copies the input dim at
 * the same index unless allowzero=1, and one -1 takes the remaining count.
 */
static int
infer_reshape(struct ir_graph *g, struct ir_op *op)
{
    if (pass_shape_check_data(g, op, 0) != 0)
        return -1;
    int64_t req[IR_MAX_RANK], dims[IR_MAX_RANK];
    int n;
    if (pass_operand_ints(g, op, 1, req, IR_MAX_RANK, &n) != 0)
        return -1;
    const struct ir_shape in = pass_operand(g, op, 0)->shape;
    bool allowzero = ir_op_int(op, "allowzero", 0) != 0;
    int inferred = -1;
    int64_t known = 1;
    for (int i = 0; i < n; i++) {
        int64_t d = req[i];
        if (d == -1) {
            if (inferred >= 0)
                return reshape_mismatch(g, op, req, n,
                                        "more than one dim is -1");
            inferred = i;
            continue;
        }
        if (d == 0 && !allowzero) {
            if (i >= in.rank)
                return reshape_mismatch(g, op, req, n,
                                        "a 0 copies an input dim that "
                                        "does not exist");
            d = in.dim[i];
        }
        if (d < 0)
            return reshape_mismatch(g, op, req, n,
                                    "dims must be -1 or at least 0");
        dims[i] = d;
        if (__builtin_mul_overflow(known, d, &known))
            return reshape_mismatch(g, op, req, n, "the size overflows");
    }
    int64_t total = ir_shape_numel(&in);
    if (inferred >= 0) {
        if (known == 0)
            return reshape_mismatch(g, op, req, n,
                                    "the -1 dim is ambiguous next to a 0 "
                                    "dim");
        if (total % known != 0)
            return reshape_mismatch(g, op, req, n, "the element counts differ");
        dims[inferred] = total / known;
    } else if (known != total) {
        return reshape_mismatch(g, op, req, n, "the element counts differ");
    }
    struct ir_shape shape = ir_shape_make(n, dims);
    pass_set_result(g, op, 0, pass_operand(g, op, 0)->dtype, &shape);
    return 0;
}

/* Flatten: [product of dims before axis, product of the rest]. */
static int
infer_flatten(struct ir_graph *g, struct ir_op *op)
{
    if (pass_shape_check_data(g, op, 0) != 0)
        return -1;
    const struct ir_value *in = pass_operand(g, op, 0);
    int rank = in->shape.rank;
    int64_t axis = ir_op_int(op, "axis", 1);
    if (axis < -rank || axis > rank)
        return ir_error(g, op, IR_NONE, "axis %lld is out of range [%d, %d]",
                        (long long)axis, -rank, rank);
    if (axis < 0)
        axis += rank;
    int64_t dims[2] = {1, 1};
    for (int i = 0; i < rank; i++)
        dims[i < axis ? 0 : 1] *= in->shape.dim[i];
    struct ir_shape shape = ir_shape_make(2, dims);
    pass_set_result(g, op, 0, in->dtype, &shape);
    return 0;
}

/*
 * Read axes operand i into a mask over rank dims; a repeated axis is an
 * error.  Returns the number of axes or -1.
 */
static int
read_axes_mask(const struct ir_graph *g, const struct ir_op *op, int i,
               int rank, bool *mask)
{
    int64_t axes[IR_MAX_RANK];
    int n;
    if (pass_operand_ints(g, op, i, axes, IR_MAX_RANK, &n) != 0)
        return -1;
    memset(mask, 0, sizeof(bool) * IR_MAX_RANK);
    for (int k = 0; k < n; k++) {
        int a;
        if (pass_axis(g, op, axes[k], rank, &a) != 0)
            return -1;
        if (mask[a])
            return ir_error(g, op, op->operands[i], "axis %lld is listed twice",
                            (long long)axes[k]);
        mask[a] = true;
    }
    return n;
}

/*
 * Squeeze: drops the listed size-1 dims, or all of them when axes is
 * omitted or empty (as onnxruntime treats an empty list).
 */
static int
infer_squeeze(struct ir_graph *g, struct ir_op *op)
{
    if (pass_shape_check_data(g, op, 0) != 0)
        return -1;
    const struct ir_shape in = pass_operand(g, op, 0)->shape;
    bool drop[IR_MAX_RANK];
    int n_axes = 0;
    if (pass_operand(g, op, 1)) {
        n_axes = read_axes_mask(g, op, 1, in.rank, drop);
        if (n_axes < 0)
            return -1;
    }
    if (n_axes == 0) {
        for (int i = 0; i < in.rank; i++)
            drop[i] = in.dim[i] == 1;
    }
    int64_t dims[IR_MAX_RANK];
    int n = 0;
    for (int i = 0; i < in.rank; i++) {
        if (drop[i] && in.dim[i] != 1)
            return ir_error(g, op, op->operands[0],
                            "cannot squeeze axis %d: its size is %lld, "
                            "not 1",
                            i, (long long)in.dim[i]);
        if (!drop[i])
            dims[n++] = in.dim[i];
    }
    struct ir_shape shape = ir_shape_make(n, dims);
    pass_set_result(g, op, 0, pass_operand(g, op, 0)->dtype, &shape);
    return 0;
}

/*
 * Unsqueeze: inserts size-1 dims at the axes, which count in the output
 * rank and may be negative and unsorted.
 */
static int
infer_unsqueeze(struct ir_graph *g, struct ir_op *op)
{
    if (pass_shape_check_data(g, op, 0) != 0)
        return -1;
    const struct ir_shape in = pass_operand(g, op, 0)->shape;
    const struct ir_value *axes = pass_operand(g, op, 1);
    int64_t n_axes = axes ? ir_shape_numel(&axes->shape) : -1;
    if (n_axes < 0)
        return ir_error(g, op, IR_NONE, "the axes input is missing");
    if (pass_shape_check_rank(g, op, in.rank + n_axes) != 0)
        return -1;
    int rank = in.rank + (int)n_axes;
    bool insert[IR_MAX_RANK];
    if (read_axes_mask(g, op, 1, rank, insert) < 0)
        return -1;
    int64_t dims[IR_MAX_RANK];
    for (int i = 0, j = 0; i < rank; i++)
        dims[i] = insert[i] ? 1 : in.dim[j++];
    struct ir_shape shape = ir_shape_make(rank, dims);
    pass_set_result(g, op, 0, pass_operand(g, op, 0)->dtype, &shape);
    return 0;
}

bool
pass_op_is_view(const struct ir_graph *g, const struct ir_op *op,
                int64_t *first)
{
    if (op->n_operands < 1 || op->operands[0] == IR_NONE || op->n_results < 1)
        return false;
    const struct ir_value *in = &g->values[op->operands[0]];
    for (int k = 0; k < op->n_results; k++) {
        if (g->values[op->results[k]].dtype != in->dtype)
            return false;
        first[k] = 0;
        switch (op->kind) {
        case IR_OP_RESHAPE:
        case IR_OP_FLATTEN:
        case IR_OP_SQUEEZE:
        case IR_OP_UNSQUEEZE:
        case IR_OP_IDENTITY:
            break;
        case IR_OP_TRANSPOSE:
            if (!pass_shape_view_transpose(g, op))
                return false;
            break;
        case IR_OP_SPLIT:
            if (!pass_shape_view_split(g, op, k, &first[k]))
                return false;
            break;
        case IR_OP_SLICE:
            if (!pass_shape_view_slice(g, op, k, &first[k]))
                return false;
            break;
        default:
            return false;
        }
    }
    return true;
}

/* Entries with the same kernel differ only in inference. */
#define KERNEL(fn) .kernel_name = #fn, .kernel = fn

const struct pass_op_impl pass_ops_shape[] = {
    {.kind = IR_OP_SHAPE,
     .infer = infer_shape,
     .encode = encode_shape,
     KERNEL(rt_kernel_shape)},
    {.kind = IR_OP_SIZE, .infer = infer_size, KERNEL(rt_kernel_size)},
    {.kind = IR_OP_RESHAPE,
     .infer = infer_reshape,
     KERNEL(rt_kernel_shape_copy)},
    {.kind = IR_OP_FLATTEN,
     .infer = infer_flatten,
     KERNEL(rt_kernel_shape_copy)},
    {.kind = IR_OP_SQUEEZE,
     .infer = infer_squeeze,
     KERNEL(rt_kernel_shape_copy)},
    {.kind = IR_OP_UNSQUEEZE,
     .infer = infer_unsqueeze,
     KERNEL(rt_kernel_shape_copy)},
    {.kind = IR_OP_TRANSPOSE,
     .infer = pass_shape_infer_transpose,
     .encode = pass_shape_encode_transpose,
     KERNEL(rt_kernel_transpose)},
    {.kind = IR_OP_DEPTH_TO_SPACE,
     .infer = pass_shape_infer_depth_to_space,
     .encode = pass_shape_encode_depth_to_space,
     KERNEL(rt_kernel_depth_to_space)},
    {.kind = IR_OP_SPACE_TO_DEPTH,
     .infer = pass_shape_infer_depth_to_space,
     .encode = pass_shape_encode_depth_to_space,
     KERNEL(rt_kernel_depth_to_space)},
    {.kind = IR_OP_CONCAT,
     .infer = pass_shape_infer_concat,
     .encode = pass_shape_encode_concat,
     KERNEL(rt_kernel_concat)},
    {.kind = IR_OP_SPLIT,
     .infer = pass_shape_infer_split,
     .encode = pass_shape_encode_split,
     KERNEL(rt_kernel_split)},
    {.kind = IR_OP_SLICE,
     .infer = pass_shape_infer_slice,
     .encode = pass_shape_encode_slice,
     KERNEL(rt_kernel_slice)},
    {.kind = IR_OP_EXPAND,
     .infer = pass_shape_infer_expand,
     KERNEL(rt_kernel_expand)},
    {.kind = IR_OP_TILE,
     .infer = pass_shape_infer_tile,
     KERNEL(rt_kernel_tile)},
    {.kind = IR_OP_PAD,
     .infer = pass_shape_infer_pad,
     .encode = pass_shape_encode_pad,
     KERNEL(rt_kernel_pad)},
    {.kind = IR_OP_GATHER,
     .infer = pass_shape_infer_gather,
     .encode = pass_shape_encode_axis,
     KERNEL(rt_kernel_gather)},
    {.kind = IR_OP_GATHER_ELEMENTS,
     .infer = pass_shape_infer_gather_elements,
     .encode = pass_shape_encode_axis,
     KERNEL(rt_kernel_gather_elements)},
    {.kind = IR_OP_GATHER_ND,
     .infer = pass_shape_infer_gather_nd,
     .encode = pass_shape_encode_gather_nd,
     KERNEL(rt_kernel_gather_nd)},
    {.kind = IR_OP_SCATTER_ELEMENTS,
     .infer = pass_shape_infer_scatter_elements,
     .encode = pass_shape_encode_scatter_elements,
     KERNEL(rt_kernel_scatter_elements)},
    {.kind = IR_OP_SCATTER_ND,
     .infer = pass_shape_infer_scatter_nd,
     .encode = pass_shape_encode_scatter_nd,
     KERNEL(rt_kernel_scatter_nd)},
    {.kind = IR_OP_ONE_HOT,
     .infer = pass_shape_infer_one_hot,
     .encode = pass_shape_encode_one_hot,
     KERNEL(rt_kernel_one_hot)},
    {.kind = IR_OP_CONSTANT_OF_SHAPE,
     .infer = pass_shape_infer_constant_of_shape,
     .encode = pass_shape_encode_constant_of_shape,
     KERNEL(rt_kernel_constant_of_shape)},
    {.kind = IR_OP_RANGE,
     .infer = pass_shape_infer_range,
     KERNEL(rt_kernel_range)},
    {.kind = IR_OP_TRILU,
     .infer = pass_shape_infer_trilu,
     .encode = pass_shape_encode_trilu,
     KERNEL(rt_kernel_trilu)},
    {.kind = IR_OP_EYE_LIKE,
     .infer = pass_shape_infer_eye_like,
     .encode = pass_shape_encode_eye_like,
     KERNEL(rt_kernel_eye_like)},
    {.kind = IR_OP_REVERSE_SEQUENCE,
     .infer = pass_shape_infer_reverse_sequence,
     .encode = pass_shape_encode_reverse_sequence,
     KERNEL(rt_kernel_reverse_sequence)},
    {.kind = IR_OP_HANN_WINDOW,
     .infer = pass_shape_infer_window,
     .encode = pass_shape_encode_window,
     KERNEL(rt_kernel_window)},
    {.kind = IR_OP_HAMMING_WINDOW,
     .infer = pass_shape_infer_window,
     .encode = pass_shape_encode_window,
     KERNEL(rt_kernel_window)},
    {.kind = IR_OP_BLACKMAN_WINDOW,
     .infer = pass_shape_infer_window,
     .encode = pass_shape_encode_window,
     KERNEL(rt_kernel_window)},
    {.kind = IR_OP_COUNT},
};
