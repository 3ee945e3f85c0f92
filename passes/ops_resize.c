/*
 * Shape inference and kernel parameters of Resize (opsets 10, 11, 13) and
 * Upsample (opsets 7, 9).  Scales, sizes and roi must be constants, since
 * the output shape follows from them.  Resize-10 and Upsample map output
 * to input coordinates asymmetrically and round nearest down; from opset
 * 11 the attributes choose.
 */
#include "passes.h"
#include "../runtime/k_math.h"

#include <math.h>
#include <string.h>

int pass_resize_infer(struct ir_graph *g, struct ir_op *op);
int pass_resize_encode(const struct ir_graph *g, const struct ir_op *op,
                       struct pass_params *p);

struct resize_setup {
    int rank;
    int64_t in[IR_MAX_RANK], out[IR_MAX_RANK];
    double scale[IR_MAX_RANK], roi_start[IR_MAX_RANK], roi_end[IR_MAX_RANK];
    int mode, coord, nearest;
};

/* Find name among names and store its code; fail naming the attribute. */
static int
pick(const struct ir_graph *g, const struct ir_op *op, const char *attr,
     const char *dflt, const char *const *names, int n, int *code)
{
    const char *s = ir_op_string(op, attr, dflt);
    for (int i = 0; i < n; i++) {
        if (strcmp(s, names[i]) == 0) {
            *code = i;
            return 0;
        }
    }
    return ir_error(g, op, IR_NONE, "%s '%s' is not supported", attr, s);
}

/* Read constant float operand i, which must hold exactly n values. */
static int
read_floats(const struct ir_graph *g, const struct ir_op *op, int i, int n,
            const char *what, double *out)
{
    const struct ir_value *v = pass_operand(g, op, i);
    if (v->kind != IR_VALUE_CONST)
        return ir_error(g, op, op->operands[i],
                        "%s must be a constant: the output shape depends on "
                        "it",
                        what);
    if (v->dtype != IR_DTYPE_FLOAT && v->dtype != IR_DTYPE_DOUBLE)
        return ir_error(g, op, op->operands[i], "%s must be float32, not %s",
                        what, ir_dtype_name(v->dtype));
    if (ir_shape_numel(&v->shape) != n)
        return ir_error(g, op, op->operands[i],
                        "%s has %lld values; expected %d, one per input dim",
                        what, (long long)ir_shape_numel(&v->shape), n);
    for (int k = 0; k < n; k++)
        out[k] = v->dtype == IR_DTYPE_FLOAT ? ((const float *)v->data)[k]
                                            : ((const double *)v->data)[k];
    return 0;
}

/* True when operand i is present and not an empty tensor. */
static bool
given(const struct ir_graph *g, const struct ir_op *op, int i)
{
    const struct ir_value *v = pass_operand(g, op, i);
    return v && ir_shape_numel(&v->shape) != 0;
}

static int
check_unsupported_attrs(const struct ir_graph *g, const struct ir_op *op)
{
    if (ir_op_int(op, "antialias", 0) != 0)
        return ir_error(g, op, IR_NONE, "antialias = 1 is not supported");
    if (ir_op_attr(op, "axes"))
        return ir_error(g, op, IR_NONE, "attribute axes is not supported");
    if (strcmp(ir_op_string(op, "keep_aspect_ratio_policy", "stretch"),
               "stretch") != 0)
        return ir_error(g, op, IR_NONE,
                        "keep_aspect_ratio_policy other than stretch is not "
                        "supported");
    return 0;
}

/* The scales of Upsample-7's attribute or of scales operand i. */
static int
read_scales(const struct ir_graph *g, const struct ir_op *op, int i, int rank,
            double *scales)
{
    const struct ir_attr *a = ir_op_attr(op, "scales");
    if (op->kind == IR_OP_UPSAMPLE && op->opset < 9) {
        if (!a || a->kind != IR_ATTR_FLOATS || a->n != rank)
            return ir_error(g, op, IR_NONE,
                            "attribute scales must list %d floats, one per "
                            "input dim",
                            rank);
        for (int k = 0; k < rank; k++)
            scales[k] = a->floats[k];
        return 0;
    }
    return read_floats(g, op, i, rank, "scales", scales);
}

static int
resize_setup(const struct ir_graph *g, const struct ir_op *op,
             struct resize_setup *s)
{
    const struct ir_value *x = pass_operand(g, op, 0);
    static const char *const modes[] = {"nearest", "linear", "cubic"};
    static const char *const coords[] = {
        "half_pixel",          "asymmetric",         "align_corners",
        "pytorch_half_pixel",  "tf_crop_and_resize", "half_pixel_symmetric",
        "tf_half_pixel_for_nn"};
    static const char *const nearests[] = {
        "round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    bool legacy = op->kind == IR_OP_UPSAMPLE || op->opset < 11;
    s->rank = x->shape.rank;
    if (s->rank < 1)
        return ir_error(g, op, op->operands[0],
                        "the input must have rank 1 or "
                        "more");
    if (check_unsupported_attrs(g, op) != 0 ||
        pick(g, op, "mode", "nearest", modes, legacy ? 2 : 3, &s->mode) != 0)
        return -1;
    if (legacy) {
        s->coord = RT_RESIZE_ASYMMETRIC;
        s->nearest = RT_NEAREST_FLOOR;
    } else if (pick(g, op, "coordinate_transformation_mode", "half_pixel",
                    coords, 7, &s->coord) != 0 ||
               pick(g, op, "nearest_mode", "round_prefer_floor", nearests, 4,
                    &s->nearest) != 0) {
        return -1;
    }

    int scales_at = legacy ? 1 : 2, sizes_at = legacy ? -1 : 3;
    bool has_scales = (op->kind == IR_OP_UPSAMPLE && op->opset < 9) ||
                      given(g, op, scales_at);
    bool has_sizes = sizes_at > 0 && given(g, op, sizes_at);
    if (has_scales == has_sizes)
        return ir_error(g, op, IR_NONE,
                        "exactly one of scales and sizes must be given");
    for (int k = 0; k < s->rank; k++) {
        s->in[k] = x->shape.dim[k];
        s->roi_start[k] = 0;
        s->roi_end[k] = 1;
    }
    if (s->coord == RT_RESIZE_TF_CROP_AND_RESIZE) {
        double roi[2 * IR_MAX_RANK];
        if (!given(g, op, 1))
            return ir_error(g, op, IR_NONE,
                            "tf_crop_and_resize needs the roi input");
        if (read_floats(g, op, 1, 2 * s->rank, "roi", roi) != 0)
            return -1;
        for (int k = 0; k < s->rank; k++) {
            s->roi_start[k] = roi[k];
            s->roi_end[k] = roi[s->rank + k];
        }
    }
    if (has_sizes) {
        int n;
        if (pass_operand_ints(g, op, sizes_at, s->out, IR_MAX_RANK, &n) != 0)
            return -1;
        if (n != s->rank)
            return ir_error(g, op, op->operands[sizes_at],
                            "sizes has %d values; expected %d, one per input "
                            "dim",
                            n, s->rank);
        for (int k = 0; k < s->rank; k++) {
            if (s->out[k] < 0 || (s->in[k] == 0 && s->out[k] != 0))
                return ir_error(g, op, op->operands[sizes_at],
                                "size %lld of dim %d is invalid for an input "
                                "dim of %lld",
                                (long long)s->out[k], k, (long long)s->in[k]);
            s->scale[k] = s->in[k] ? (double)s->out[k] / (double)s->in[k] : 1.0;
        }
        return 0;
    }
    if (read_scales(g, op, scales_at, s->rank, s->scale) != 0)
        return -1;
    for (int k = 0; k < s->rank; k++) {
        double extent = s->roi_end[k] - s->roi_start[k];
        double out = floor((double)s->in[k] * extent * s->scale[k]);
        if (!(s->scale[k] > 0) || !(out < 1e15))
            return ir_error(g, op, IR_NONE,
                            "scale %g of dim %d is invalid; scales must be "
                            "positive and keep dims below 1e15",
                            s->scale[k], k);
        if (out < 0)
            return ir_error(g, op, op->operands[1],
                            "roi of dim %d ends at %g before it starts at %g",
                            k, s->roi_end[k], s->roi_start[k]);
        s->out[k] = (int64_t)out;
    }
    return 0;
}

int
pass_resize_infer(struct ir_graph *g, struct ir_op *op)
{
    struct resize_setup s;
    const struct ir_value *x = pass_operand(g, op, 0);
    if (!x)
        return ir_error(g, op, IR_NONE, "input 0 is missing");
    if (resize_setup(g, op, &s) != 0)
        return -1;
    bool moves =
        s.mode == RT_RESIZE_NEAREST && s.coord != RT_RESIZE_TF_CROP_AND_RESIZE;
    if (ir_dtype_size(x->dtype) == 0 ||
        (!moves && x->dtype != IR_DTYPE_FLOAT && x->dtype != IR_DTYPE_DOUBLE) ||
        (x->dtype == IR_DTYPE_STRING && !moves))
        return ir_error(g, op, op->operands[0],
                        "input of dtype %s is not supported in this mode",
                        ir_dtype_name(x->dtype));
    struct ir_shape shape = ir_shape_make(s.rank, s.out);
    pass_set_result(g, op, 0, x->dtype, &shape);
    return 0;
}

int
pass_resize_encode(const struct ir_graph *g, const struct ir_op *op,
                   struct pass_params *p)
{
    struct resize_setup s;
    if (resize_setup(g, op, &s) != 0)
        return -1;
    bool legacy = op->kind == IR_OP_UPSAMPLE || op->opset < 11;
    pass_params_int(p, s.mode);
    pass_params_int(p, s.coord);
    pass_params_int(p, s.nearest);
    pass_params_int(p, !legacy && ir_op_int(op, "exclude_outside", 0) != 0);
    pass_params_int(p, s.rank);
    for (int k = 0; k < s.rank; k++) {
        pass_params_int(p, s.in[k]);
        pass_params_int(p, s.out[k]);
    }
    pass_params_float(p, ir_op_float(op, "cubic_coeff_a", -0.75));
    pass_params_float(p, ir_op_float(op, "extrapolation_value", 0.0));
    for (int k = 0; k < s.rank; k++) {
        pass_params_float(p, s.scale[k]);
        pass_params_float(p, s.roi_start[k]);
        pass_params_float(p, s.roi_end[k]);
    }
    return 0;
}
