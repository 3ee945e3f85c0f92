/*
 * Shape inference and kernel parameters of the index ops (Gather,
 * GatherElements, GatherND, ScatterElements, ScatterND, OneHot) and the
 * generators (ConstantOfShape, Range, Trilu, EyeLike).  The table entry
 * of each op is in ops_shape.c.
 */
#include "passes.h"
#include "../runtime/k_shape.h"

#include <math.h>
#include <string.h>

/* ops_shape.c */
int pass_shape_check_data(const struct ir_graph *g, const struct ir_op *op,
                          int i);
int pass_shape_check_numbers(const struct ir_graph *g, const struct ir_op *op,
                             int i);
int pass_shape_infer_window(struct ir_graph *g, struct ir_op *op);
int pass_shape_infer_reverse_sequence(struct ir_graph *g, struct ir_op *op);
int pass_shape_encode_reverse_sequence(const struct ir_graph *g,
                                       const struct ir_op *op,
                                       struct pass_params *p);
int pass_shape_encode_window(const struct ir_graph *g, const struct ir_op *op,
                             struct pass_params *p);
int pass_shape_check_numbers(const struct ir_graph *g, const struct ir_op *op,
                             int i);
int pass_shape_check_rank(const struct ir_graph *g, const struct ir_op *op,
                          int64_t rank);

static int
check_indices(const struct ir_graph *g, const struct ir_op *op, int i)
{
    const struct ir_value *v = pass_operand(g, op, i);
    if (!v)
        return ir_error(g, op, IR_NONE, "input %d is missing", i);
    if (v->dtype != IR_DTYPE_INT32 && v->dtype != IR_DTYPE_INT64)
        return ir_error(g, op, op->operands[i],
                        "indices must be int32 or int64; %s is not "
                        "supported",
                        ir_dtype_name(v->dtype));
    return 0;
}

/* The axis attribute (default 0) of operand 0's rank, in [0, rank). */
static int
data_axis(const struct ir_graph *g, const struct ir_op *op, int *axis)
{
    int rank = pass_operand(g, op, 0)->shape.rank;
    if (rank < 1)
        return ir_error(g, op, op->operands[0],
                        "the data must have rank 1 or more");
    return pass_axis(g, op, ir_op_int(op, "axis", 0), rank, axis);
}

/* ints: [axis] for Gather and GatherElements. */
int
pass_shape_encode_axis(const struct ir_graph *g, const struct ir_op *op,
                       struct pass_params *p)
{
    int axis;
    if (data_axis(g, op, &axis) != 0)
        return -1;
    pass_params_int(p, axis);
    return 0;
}

/*
 * Gather: data dims before axis, then the indices dims, then data dims
 * after axis; scalar indices drop the axis.
 */
int
pass_shape_infer_gather(struct ir_graph *g, struct ir_op *op)
{
    int axis;
    if (pass_shape_check_data(g, op, 0) != 0 || check_indices(g, op, 1) ||
        data_axis(g, op, &axis) != 0)
        return -1;
    const struct ir_shape data = pass_operand(g, op, 0)->shape;
    const struct ir_shape ind = pass_operand(g, op, 1)->shape;
    if (pass_shape_check_rank(g, op, data.rank - 1 + ind.rank) != 0)
        return -1;
    int64_t dims[IR_MAX_RANK];
    int n = 0;
    for (int i = 0; i < axis; i++)
        dims[n++] = data.dim[i];
    for (int i = 0; i < ind.rank; i++)
        dims[n++] = ind.dim[i];
    for (int i = axis + 1; i < data.rank; i++)
        dims[n++] = data.dim[i];
    struct ir_shape shape = ir_shape_make(n, dims);
    pass_set_result(g, op, 0, pass_operand(g, op, 0)->dtype, &shape);
    return 0;
}

/*
 * GatherElements and ScatterElements: indices have the data's rank and,
 * off the axis, dims no larger than the data's.
 */
static int
check_elements_indices(const struct ir_graph *g, const struct ir_op *op,
                       int axis)
{
    const struct ir_shape data = pass_operand(g, op, 0)->shape;
    const struct ir_shape ind = pass_operand(g, op, 1)->shape;
    if (ind.rank != data.rank)
        return ir_error(g, op, op->operands[1],
                        "indices must have the data rank %d", data.rank);
    for (int i = 0; i < data.rank; i++)
        if (i != axis && ind.dim[i] > data.dim[i])
            return ir_error(g, op, op->operands[1],
                            "indices dim %d (%lld) exceeds the data dim "
                            "(%lld)",
                            i, (long long)ind.dim[i], (long long)data.dim[i]);
    return 0;
}

/* GatherElements: the result has the indices' shape. */
int
pass_shape_infer_gather_elements(struct ir_graph *g, struct ir_op *op)
{
    int axis;
    if (pass_shape_check_data(g, op, 0) != 0 || check_indices(g, op, 1) ||
        data_axis(g, op, &axis) != 0 ||
        check_elements_indices(g, op, axis) != 0)
        return -1;
    pass_set_result(g, op, 0, pass_operand(g, op, 0)->dtype,
                    &pass_operand(g, op, 1)->shape);
    return 0;
}

/*
 * GatherND: with batch_dims b, indices rank q and m = the last indices
 * dim, the result is indices dims [0, q-1) followed by data dims [b+m, r).
 */
int
pass_shape_infer_gather_nd(struct ir_graph *g, struct ir_op *op)
{
    if (pass_shape_check_data(g, op, 0) != 0 || check_indices(g, op, 1))
        return -1;
    const struct ir_shape data = pass_operand(g, op, 0)->shape;
    const struct ir_shape ind = pass_operand(g, op, 1)->shape;
    int64_t b = ir_op_int(op, "batch_dims", 0);
    int r = data.rank, q = ind.rank;
    if (r < 1 || q < 1)
        return ir_error(g, op, IR_NONE,
                        "data and indices must have rank 1 or more");
    if (b < 0 || b >= q || b >= r)
        return ir_error(g, op, IR_NONE,
                        "batch_dims %lld must be below both ranks (%d, %d)",
                        (long long)b, r, q);
    int64_t m = ind.dim[q - 1];
    if (m < 1 || m > r - b)
        return ir_error(g, op, op->operands[1],
                        "the last indices dim is %lld; it must be in "
                        "[1, %lld]",
                        (long long)m, (long long)(r - b));
    for (int i = 0; i < b; i++)
        if (ind.dim[i] != data.dim[i])
            return ir_error(g, op, op->operands[1],
                            "batch dim %d differs: %lld in indices, %lld "
                            "in data",
                            i, (long long)ind.dim[i], (long long)data.dim[i]);
    int64_t dims[IR_MAX_RANK];
    int n = 0;
    if (pass_shape_check_rank(g, op, q - 1 + r - b - m) != 0)
        return -1;
    for (int i = 0; i < q - 1; i++)
        dims[n++] = ind.dim[i];
    for (int64_t i = b + m; i < r; i++)
        dims[n++] = data.dim[i];
    struct ir_shape shape = ir_shape_make(n, dims);
    pass_set_result(g, op, 0, pass_operand(g, op, 0)->dtype, &shape);
    return 0;
}

/* ints: [batch_dims]. */
int
pass_shape_encode_gather_nd(const struct ir_graph *g, const struct ir_op *op,
                            struct pass_params *p)
{
    (void)g;
    pass_params_int(p, ir_op_int(op, "batch_dims", 0));
    return 0;
}

static int
scatter_reduction(const struct ir_graph *g, const struct ir_op *op,
                  int *reduction)
{
    const char *s = ir_op_string(op, "reduction", "none");
    static const char *const names[] = {"none", "add", "mul", "max", "min"};
    static const int codes[] = {RT_SCATTER_NONE, RT_SCATTER_ADD, RT_SCATTER_MUL,
                                RT_SCATTER_MAX, RT_SCATTER_MIN};
    for (int i = 0; i < 5; i++) {
        if (strcmp(s, names[i]) == 0) {
            *reduction = codes[i];
            return 0;
        }
    }
    return ir_error(g, op, IR_NONE, "reduction '%s' is not supported", s);
}

/* Checks both scatter ops share: updates of the data dtype, a reduction. */
static int
check_scatter(const struct ir_graph *g, const struct ir_op *op)
{
    int reduction = 0;
    if (pass_shape_check_data(g, op, 0) != 0 || check_indices(g, op, 1) ||
        pass_shape_check_data(g, op, 2) != 0 ||
        scatter_reduction(g, op, &reduction) != 0)
        return -1;
    if (pass_operand(g, op, 2)->dtype != pass_operand(g, op, 0)->dtype)
        return ir_error(g, op, op->operands[2],
                        "updates must have the data dtype %s",
                        ir_dtype_name(pass_operand(g, op, 0)->dtype));
    if (reduction != RT_SCATTER_NONE &&
        pass_operand(g, op, 0)->dtype == IR_DTYPE_STRING)
        return ir_error(g, op, op->operands[0],
                        "a reduction over strings is not supported");
    return 0;
}

/* ScatterElements: a copy of data with updates written at the indices. */
int
pass_shape_infer_scatter_elements(struct ir_graph *g, struct ir_op *op)
{
    int axis;
    if (check_scatter(g, op) != 0 || data_axis(g, op, &axis) != 0 ||
        check_elements_indices(g, op, axis) != 0)
        return -1;
    const struct ir_value *data = pass_operand(g, op, 0);
    if (!ir_shape_equal(&pass_operand(g, op, 2)->shape,
                        &pass_operand(g, op, 1)->shape))
        return ir_error(g, op, op->operands[2],
                        "updates must have the shape of the indices");
    pass_set_result(g, op, 0, data->dtype, &data->shape);
    return 0;
}

/* ints: [axis, reduction (enum rt_scatter_reduction)]. */
int
pass_shape_encode_scatter_elements(const struct ir_graph *g,
                                   const struct ir_op *op,
                                   struct pass_params *p)
{
    int axis = 0, reduction = 0;
    if (data_axis(g, op, &axis) != 0 ||
        scatter_reduction(g, op, &reduction) != 0)
        return -1;
    pass_params_int(p, axis);
    pass_params_int(p, reduction);
    return 0;
}

/*
 * ScatterND: with k = the last indices dim, updates have the shape
 * indices dims [0, q-1) followed by data dims [k, r).
 */
int
pass_shape_infer_scatter_nd(struct ir_graph *g, struct ir_op *op)
{
    if (check_scatter(g, op) != 0)
        return -1;
    const struct ir_value *data = pass_operand(g, op, 0);
    const struct ir_shape ind = pass_operand(g, op, 1)->shape;
    const struct ir_shape upd = pass_operand(g, op, 2)->shape;
    int r = data->shape.rank, q = ind.rank;
    if (q < 1 || ind.dim[q - 1] < 1 || ind.dim[q - 1] > r)
        return ir_error(g, op, op->operands[1],
                        "the last indices dim must be in [1, %d]", r);
    int k = (int)ind.dim[q - 1];
    int64_t dims[2 * IR_MAX_RANK];
    int n = 0;
    for (int i = 0; i < q - 1; i++)
        dims[n++] = ind.dim[i];
    for (int i = k; i < r; i++)
        dims[n++] = data->shape.dim[i];
    bool same = upd.rank == n;
    for (int i = 0; same && i < n; i++)
        same = upd.dim[i] == dims[i];
    if (!same)
        return ir_error(g, op, op->operands[2],
                        "updates must have the indices dims but the last, "
                        "then data dims from %d",
                        k);
    pass_set_result(g, op, 0, data->dtype, &data->shape);
    return 0;
}

/* ints: [reduction (enum rt_scatter_reduction)]. */
int
pass_shape_encode_scatter_nd(const struct ir_graph *g, const struct ir_op *op,
                             struct pass_params *p)
{
    int reduction = 0;
    if (scatter_reduction(g, op, &reduction) != 0)
        return -1;
    pass_params_int(p, reduction);
    return 0;
}

/* OneHot's axis in the output rank (indices rank + 1). */
static int
one_hot_axis(const struct ir_graph *g, const struct ir_op *op, int *axis)
{
    int rank = pass_operand(g, op, 0)->shape.rank + 1;
    return pass_axis(g, op, ir_op_int(op, "axis", -1), rank, axis);
}

/*
 * OneHot: indices (any numeric dtype), a constant scalar depth, and
 * values [off, on] whose dtype the result takes; the depth dim goes in at
 * axis.
 */
int
pass_shape_infer_one_hot(struct ir_graph *g, struct ir_op *op)
{
    int axis;
    double depth;
    if (pass_shape_check_numbers(g, op, 0) != 0 ||
        pass_shape_check_numbers(g, op, 2) != 0 ||
        pass_operand_scalar(g, op, 1, &depth) != 0 ||
        one_hot_axis(g, op, &axis) != 0)
        return -1;
    const struct ir_shape ind = pass_operand(g, op, 0)->shape;
    const struct ir_value *values = pass_operand(g, op, 2);
    if (pass_operand(g, op, 0)->dtype == IR_DTYPE_BOOL)
        return ir_error(g, op, op->operands[0],
                        "bool indices are not supported");
    if (ir_shape_numel(&values->shape) != 2)
        return ir_error(g, op, op->operands[2],
                        "values must hold two elements: off, on");
    if (!(depth >= 1 && depth < 9e18))
        return ir_error(g, op, op->operands[1],
                        "depth must be at least 1, not %g", depth);
    if (pass_shape_check_rank(g, op, ind.rank + 1) != 0)
        return -1;
    int64_t dims[IR_MAX_RANK];
    for (int i = 0, j = 0; i <= ind.rank; i++)
        dims[i] = i == axis ? (int64_t)depth : ind.dim[j++];
    struct ir_shape shape = ir_shape_make(ind.rank + 1, dims);
    pass_set_result(g, op, 0, values->dtype, &shape);
    return 0;
}

/* ints: [axis in the output rank]. */
int
pass_shape_encode_one_hot(const struct ir_graph *g, const struct ir_op *op,
                          struct pass_params *p)
{
    int axis;
    if (one_hot_axis(g, op, &axis) != 0)
        return -1;
    pass_params_int(p, axis);
    return 0;
}

/*
 * ConstantOfShape's value attribute: a one-element tensor (a constant
 * value of the graph), float 0 by default.  Returns its dtype and bytes.
 */
static int
fill_value(const struct ir_graph *g, const struct ir_op *op,
           enum ir_dtype *dtype, int64_t *bits)
{
    const struct ir_attr *a = ir_op_attr(op, "value");
    *bits = 0;
    if (!a) {
        *dtype = IR_DTYPE_FLOAT;
        return 0;
    }
    if (a->kind != IR_ATTR_TENSOR || a->tensor < 0 ||
        a->tensor >= g->n_values || g->values[a->tensor].kind != IR_VALUE_CONST)
        return ir_error(g, op, IR_NONE, "value must be a tensor attribute");
    const struct ir_value *v = &g->values[a->tensor];
    size_t size = ir_dtype_size(v->dtype);
    if (size == 0)
        return ir_error(g, op, a->tensor, "value dtype %s is not supported",
                        ir_dtype_name(v->dtype));
    if (ir_shape_numel(&v->shape) != 1 || v->nbytes < size)
        return ir_error(g, op, a->tensor,
                        "value must hold exactly one element");
    memcpy(bits, v->data, size);
    *dtype = v->dtype;
    return 0;
}

/* ConstantOfShape: the shape operand is a constant; empty means scalar. */
int
pass_shape_infer_constant_of_shape(struct ir_graph *g, struct ir_op *op)
{
    int64_t dims[IR_MAX_RANK], bits;
    int n;
    enum ir_dtype dtype = IR_DTYPE_UNDEFINED;
    if (fill_value(g, op, &dtype, &bits) != 0 ||
        pass_operand_ints(g, op, 0, dims, IR_MAX_RANK, &n) != 0)
        return -1;
    for (int i = 0; i < n; i++)
        if (dims[i] < 0)
            return ir_error(g, op, op->operands[0],
                            "shape entry %d is negative (%lld)", i,
                            (long long)dims[i]);
    struct ir_shape shape = ir_shape_make(n, dims);
    pass_set_result(g, op, 0, dtype, &shape);
    return 0;
}

/* ints: [value bytes], see rt_kernel_constant_of_shape. */
int
pass_shape_encode_constant_of_shape(const struct ir_graph *g,
                                    const struct ir_op *op,
                                    struct pass_params *p)
{
    enum ir_dtype dtype = IR_DTYPE_UNDEFINED;
    int64_t bits;
    if (fill_value(g, op, &dtype, &bits) != 0)
        return -1;
    pass_params_int(p, bits);
    return 0;
}

/* ceil((limit - start) / delta) clamped at 0, in exact integer math. */
static int
range_count_int(const struct ir_graph *g, const struct ir_op *op, int64_t start,
                int64_t limit, int64_t delta, int64_t *n)
{
    int64_t diff;
    if (__builtin_sub_overflow(limit, start, &diff))
        return ir_error(g, op, IR_NONE, "limit - start overflows");
    if (delta == -1 && diff == INT64_MIN)
        return ir_error(g, op, IR_NONE, "the element count overflows");
    int64_t q = diff / delta, r = diff % delta;
    if (r != 0 && (r < 0) == (delta < 0))
        q++;
    *n = q > 0 ? q : 0;
    return 0;
}

/*
 * Range: start, limit and delta are constant scalars of one dtype; the
 * result has max(ceil((limit - start) / delta), 0) elements.
 */
int
pass_shape_infer_range(struct ir_graph *g, struct ir_op *op)
{
    enum ir_dtype dtype = pass_operand(g, op, 0)->dtype;
    for (int i = 1; i < 3; i++)
        if (pass_operand(g, op, i)->dtype != dtype)
            return ir_error(g, op, op->operands[i],
                            "start, limit and delta must share a dtype");
    int64_t n;
    if (dtype == IR_DTYPE_INT64 || dtype == IR_DTYPE_INT32 ||
        dtype == IR_DTYPE_INT16) {
        double v[3];
        int64_t iv[3];
        int got;
        for (int i = 0; i < 3; i++) {
            if (dtype == IR_DTYPE_INT16) {
                if (pass_operand_scalar(g, op, i, &v[i]) != 0)
                    return -1;
                iv[i] = (int64_t)v[i];
            } else if (pass_operand_ints(g, op, i, &iv[i], 1, &got) != 0) {
                return -1;
            } else if (got != 1) {
                return ir_error(g, op, op->operands[i],
                                "input %d must hold one element", i);
            }
        }
        if (iv[2] == 0)
            return ir_error(g, op, op->operands[2], "delta is 0");
        if (range_count_int(g, op, iv[0], iv[1], iv[2], &n) != 0)
            return -1;
    } else if (dtype == IR_DTYPE_FLOAT || dtype == IR_DTYPE_DOUBLE) {
        double v[3];
        for (int i = 0; i < 3; i++)
            if (pass_operand_scalar(g, op, i, &v[i]) != 0)
                return -1;
        if (v[2] == 0)
            return ir_error(g, op, op->operands[2], "delta is 0");
        double count = ceil((v[1] - v[0]) / v[2]);
        if (!(count < 9e18))
            return ir_error(g, op, IR_NONE, "the element count is not finite");
        n = count > 0 ? (int64_t)count : 0;
    } else {
        return ir_error(g, op, op->operands[0], "dtype %s is not supported",
                        ir_dtype_name(dtype));
    }
    struct ir_shape shape = ir_shape_make(1, &n);
    pass_set_result(g, op, 0, dtype, &shape);
    return 0;
}

/* Trilu: rank 2 or more; the optional k is an int64 scalar. */
int
pass_shape_infer_trilu(struct ir_graph *g, struct ir_op *op)
{
    if (pass_shape_check_numbers(g, op, 0) != 0)
        return -1;
    const struct ir_value *in = pass_operand(g, op, 0);
    const struct ir_value *k = pass_operand(g, op, 1);
    if (in->shape.rank < 2)
        return ir_error(g, op, op->operands[0],
                        "the input must have rank 2 or more");
    if (k && ((k->dtype != IR_DTYPE_INT64 && k->dtype != IR_DTYPE_INT32) ||
              ir_shape_numel(&k->shape) != 1))
        return ir_error(g, op, op->operands[1], "k must be one int64 element");
    pass_set_result(g, op, 0, in->dtype, &in->shape);
    return 0;
}

/* ints: [upper]. */
int
pass_shape_encode_trilu(const struct ir_graph *g, const struct ir_op *op,
                        struct pass_params *p)
{
    (void)g;
    pass_params_int(p, ir_op_int(op, "upper", 1) != 0);
    return 0;
}

/* EyeLike: a 2-D input; dtype attribute (default: the input's), k. */
int
pass_shape_infer_eye_like(struct ir_graph *g, struct ir_op *op)
{
    if (pass_shape_check_numbers(g, op, 0) != 0)
        return -1;
    const struct ir_value *in = pass_operand(g, op, 0);
    if (in->shape.rank != 2)
        return ir_error(g, op, op->operands[0], "the input must be 2-D");
    enum ir_dtype dtype =
        (enum ir_dtype)ir_op_int(op, "dtype", (int64_t)in->dtype);
    if (ir_dtype_size(dtype) == 0 || dtype == IR_DTYPE_STRING)
        return ir_error(g, op, IR_NONE, "dtype %s is not supported",
                        ir_dtype_name(dtype));
    pass_set_result(g, op, 0, dtype, &in->shape);
    return 0;
}

/* ints: [k]. */
int
pass_shape_encode_eye_like(const struct ir_graph *g, const struct ir_op *op,
                           struct pass_params *p)
{
    (void)g;
    pass_params_int(p, ir_op_int(op, "k", 0));
    return 0;
}

/* HannWindow, HammingWindow, BlackmanWindow: a constant size, a dtype. */
int
pass_shape_infer_window(struct ir_graph *g, struct ir_op *op)
{
    int64_t size;
    int n;
    if (pass_operand_ints(g, op, 0, &size, 1, &n) != 0)
        return -1;
    if (n != 1 || size < 0 || size > ((int64_t)1 << 32))
        return ir_error(g, op, op->operands[0],
                        "the size must be one integer in [0, 2^32]");
    enum ir_dtype dtype =
        (enum ir_dtype)ir_op_int(op, "output_datatype", IR_DTYPE_FLOAT);
    if (!ir_dtype_is_float(dtype) && !ir_dtype_is_int(dtype))
        return ir_error(g, op, IR_NONE, "output_datatype %s is not supported",
                        ir_dtype_name(dtype));
    struct ir_shape shape = ir_shape_make(1, &size);
    pass_set_result(g, op, 0, dtype, &shape);
    return 0;
}

/* ints: [window, periodic]. */
int
pass_shape_encode_window(const struct ir_graph *g, const struct ir_op *op,
                         struct pass_params *p)
{
    (void)g;
    int window = op->kind == IR_OP_HANN_WINDOW      ? RT_WINDOW_HANN
                 : op->kind == IR_OP_HAMMING_WINDOW ? RT_WINDOW_HAMMING
                                                    : RT_WINDOW_BLACKMAN;
    pass_params_int(p, window);
    pass_params_int(p, ir_op_int(op, "periodic", 1) != 0);
    return 0;
}

/* ReverseSequence: time and batch axes 0 and 1, in either order. */
static int
reverse_axes(const struct ir_graph *g, const struct ir_op *op, int *time_axis)
{
    int64_t t = ir_op_int(op, "time_axis", 0),
            b = ir_op_int(op, "batch_axis", 1);
    if (!((t == 0 && b == 1) || (t == 1 && b == 0)))
        return ir_error(g, op, IR_NONE,
                        "time_axis %lld and batch_axis %lld must be 0 and 1 "
                        "in some order",
                        (long long)t, (long long)b);
    *time_axis = (int)t;
    return 0;
}

int
pass_shape_infer_reverse_sequence(struct ir_graph *g, struct ir_op *op)
{
    int time_axis;
    if (pass_shape_check_data(g, op, 0) != 0 ||
        reverse_axes(g, op, &time_axis) != 0)
        return -1;
    const struct ir_value *x = pass_operand(g, op, 0);
    const struct ir_value *lens = pass_operand(g, op, 1);
    char buf[160];
    if (x->shape.rank < 2)
        return ir_error(g, op, op->operands[0],
                        "the input %s must have rank 2 or more",
                        ir_shape_format(g, &x->shape, buf, sizeof(buf)));
    int64_t batch = x->shape.dim[1 - time_axis];
    if (!lens || lens->dtype != IR_DTYPE_INT64 || lens->shape.rank != 1 ||
        lens->shape.dim[0] != batch)
        return ir_error(g, op, op->operands[1],
                        "sequence_lens must be an int64 vector of the %lld "
                        "batch entries",
                        (long long)batch);
    struct ir_shape xs = x->shape;
    pass_set_result(g, op, 0, x->dtype, &xs);
    return 0;
}

/* ints: [time_axis, T, B, inner]. */
int
pass_shape_encode_reverse_sequence(const struct ir_graph *g,
                                   const struct ir_op *op,
                                   struct pass_params *p)
{
    int time_axis;
    if (reverse_axes(g, op, &time_axis) != 0)
        return -1;
    const struct ir_shape *s = &pass_operand(g, op, 0)->shape;
    int64_t inner = 1;
    for (int i = 2; i < s->rank; i++)
        inner *= s->dim[i];
    pass_params_int(p, time_axis);
    pass_params_int(p, s->dim[time_axis]);
    pass_params_int(p, s->dim[1 - time_axis]);
    pass_params_int(p, inner);
    return 0;
}
