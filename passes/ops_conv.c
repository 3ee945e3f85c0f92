/*
 * The convolution group of the op table: Conv, ConvTranspose, MaxPool and
 * AveragePool.  All four share the window rules of the ONNX spec
 * (kernel_shape, strides, dilations, pads, auto_pad and, for the pools,
 * ceil_mode), resolved here into the window block of runtime/k_conv.h.
 */
#include "passes.h"
#include "../runtime/k_conv.h"

#include <string.h>

enum {
    ATTR_MAX = 0x7fffffff, /* largest kernel size, stride, dilation or pad */
};

/* Read ints attribute name into out (n values, each in [min, ATTR_MAX]);
 * without the attribute, fill out with dflt. */
static int
window_ints(const struct ir_graph *g, const struct ir_op *op, const char *name,
            int n, int64_t min, int64_t dflt, int64_t *out)
{
    const struct ir_attr *a = ir_op_attr(op, name);
    if (!a) {
        for (int i = 0; i < n; i++)
            out[i] = dflt;
        return 0;
    }
    if (a->kind != IR_ATTR_INTS || a->n != n)
        return ir_error(g, op, op->operands[0],
                        "attribute %s has length %d, but the input's %d "
                        "spatial dims need %d",
                        name, a->kind == IR_ATTR_INTS ? a->n : 1,
                        n / (strcmp(name, "pads") == 0 ? 2 : 1), n);
    for (int i = 0; i < n; i++) {
        if (a->ints[i] < min || a->ints[i] > ATTR_MAX)
            return ir_error(g, op, op->operands[0],
                            "attribute %s[%d] = %lld is invalid: it must be "
                            "in [%lld, %d]",
                            name, i, (long long)a->ints[i], (long long)min,
                            ATTR_MAX);
        out[i] = a->ints[i];
    }
    return 0;
}

enum auto_pad {
    AUTO_PAD_NOTSET,
    AUTO_PAD_SAME_UPPER,
    AUTO_PAD_SAME_LOWER,
    AUTO_PAD_VALID,
};

static int
read_auto_pad(const struct ir_graph *g, const struct ir_op *op,
              enum auto_pad *out)
{
    static const char *const names[] = {"NOTSET", "SAME_UPPER", "SAME_LOWER",
                                        "VALID"};
    const char *s = ir_op_string(op, "auto_pad", "NOTSET");
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum auto_pad)i;
            return 0;
        }
    }
    return ir_error(g, op, IR_NONE,
                    "attribute auto_pad is '%s'; expected NOTSET, "
                    "SAME_UPPER, SAME_LOWER or VALID",
                    s);
}

/*
 * The kernel shape: attribute kernel_shape, which the pools require, or
 * else W's spatial dims.  When both are given they must agree.
 */
static int
window_kernel(const struct ir_graph *g, const struct ir_op *op, int n,
              const struct ir_shape *w, int64_t *kernel)
{
    if (!ir_op_attr(op, "kernel_shape")) {
        if (!w)
            return ir_error(g, op, IR_NONE,
                            "attribute kernel_shape is missing");
        for (int i = 0; i < n; i++) {
            kernel[i] = w->dim[2 + i];
            if (kernel[i] < 1) {
                char buf[160];
                return ir_error(g, op, op->operands[1],
                                "dim %d of W %s is an empty kernel dim", 2 + i,
                                ir_shape_format(g, w, buf, sizeof(buf)));
            }
        }
        return 0;
    }
    if (window_ints(g, op, "kernel_shape", n, 1, 1, kernel) != 0)
        return -1;
    for (int i = 0; w && i < n; i++)
        if (kernel[i] != w->dim[2 + i]) {
            char buf[160];
            return ir_error(g, op, op->operands[1],
                            "attribute kernel_shape[%d] = %lld differs from "
                            "dim %d of W %s",
                            i, (long long)kernel[i], 2 + i,
                            ir_shape_format(g, w, buf, sizeof(buf)));
        }
    int64_t taps = 1;
    for (int i = 0; i < n; i++)
        if (__builtin_mul_overflow(taps, kernel[i], &taps) || taps > ATTR_MAX)
            return ir_error(g, op, IR_NONE,
                            "attribute kernel_shape has more than %d taps",
                            ATTR_MAX);
    return 0;
}

/*
 * The output size of spatial dim i (ONNX Conv-11, MaxPool-12,
 * AveragePool-19): with the effective kernel ek = (k - 1) * dilation + 1
 * and the padded input size in + pads, out = (padded - ek) / stride + 1,
 * rounded down, or up with ceil_mode.  A window that ceil_mode adds must
 * start inside the input or its begin pad; otherwise it is dropped.
 */
static int
window_output(const struct ir_graph *g, const struct ir_op *op, int i,
              bool ceil_mode, struct rt_window *w)
{
    int64_t ek = (w->kernel[i] - 1) * w->dilation[i] + 1;
    int64_t padded = w->in[i] + w->pad_begin[i] + w->pad_end[i];
    if (padded < ek)
        return ir_error(g, op, op->operands[0],
                        "spatial dim %d: the kernel spans %lld positions "
                        "(kernel %lld, dilation %lld), more than the %lld of "
                        "the padded input (%lld + pads %lld and %lld)",
                        i, (long long)ek, (long long)w->kernel[i],
                        (long long)w->dilation[i], (long long)padded,
                        (long long)w->in[i], (long long)w->pad_begin[i],
                        (long long)w->pad_end[i]);
    int64_t s = w->stride[i];
    int64_t steps = ceil_mode ? (padded - ek + s - 1) / s : (padded - ek) / s;
    int64_t out = steps + 1;
    if (ceil_mode && (out - 1) * s >= w->in[i] + w->pad_begin[i])
        out--;
    w->out[i] = out;
    return 0;
}

/*
 * Split SAME_UPPER and SAME_LOWER padding: the total makes out equal
 * ceil(in / stride), and the odd pad goes at the end for SAME_UPPER and at
 * the beginning for SAME_LOWER.
 */
static void
same_pads(struct rt_window *w, int i, bool upper)
{
    int64_t ek = (w->kernel[i] - 1) * w->dilation[i] + 1;
    int64_t s = w->stride[i];
    int64_t out = (w->in[i] + s - 1) / s;
    int64_t total = (out - 1) * s + ek - w->in[i];
    if (total < 0)
        total = 0;
    int64_t small = total / 2, big = total - small;
    w->pad_begin[i] = upper ? small : big;
    w->pad_end[i] = upper ? big : small;
}

/*
 * Resolve the window of op over X (operand 0) into w.  w_shape is W's
 * shape for Conv, NULL for the pools.  Checks every window attribute.
 */
static int
plan_window(const struct ir_graph *g, const struct ir_op *op,
            const struct ir_shape *w_shape, struct rt_window *w)
{
    const struct ir_value *x = pass_operand(g, op, 0);
    int rank = x->shape.rank;
    if (rank < 3)
        return ir_error(g, op, op->operands[0],
                        "X has rank %d, but %s needs [N, C, D1, ...] with "
                        "one or more spatial dims",
                        rank, ir_op_kind_name(op->kind));
    memset(w, 0, sizeof(*w));
    int n = w->n = rank - 2;
    for (int i = 0; i < n; i++)
        w->in[i] = x->shape.dim[2 + i];
    enum auto_pad auto_pad = AUTO_PAD_NOTSET;
    int64_t pads[2 * RT_WINDOW_MAX_DIMS];
    if (window_kernel(g, op, n, w_shape, w->kernel) != 0 ||
        window_ints(g, op, "strides", n, 1, 1, w->stride) != 0 ||
        window_ints(g, op, "dilations", n, 1, 1, w->dilation) != 0 ||
        read_auto_pad(g, op, &auto_pad) != 0)
        return -1;
    /* Some exporters write pads beside auto_pad.  auto_pad decides the
     * pads, so the attribute is read only when auto_pad is NOTSET. */
    if (auto_pad == AUTO_PAD_NOTSET &&
        window_ints(g, op, "pads", 2 * n, 0, 0, pads) != 0)
        return -1;
    int64_t ceil_mode = ir_op_int(op, "ceil_mode", 0);
    if (ceil_mode != 0 && ceil_mode != 1)
        return ir_error(g, op, IR_NONE,
                        "attribute ceil_mode = %lld is invalid; expected 0 "
                        "or 1",
                        (long long)ceil_mode);
    for (int i = 0; i < n; i++) {
        /* A kernel size from W is bounded only by W's element count. */
        int64_t span;
        if (__builtin_mul_overflow(w->kernel[i] - 1, w->dilation[i], &span) ||
            span > w->in[i] + 2 * (int64_t)ATTR_MAX)
            return ir_error(g, op, IR_NONE,
                            "spatial dim %d: the kernel of size %lld with "
                            "dilation %lld is larger than any padded input "
                            "of size %lld",
                            i, (long long)w->kernel[i],
                            (long long)w->dilation[i], (long long)w->in[i]);
        if (auto_pad == AUTO_PAD_NOTSET) {
            w->pad_begin[i] = pads[i];
            w->pad_end[i] = pads[n + i];
        } else if (auto_pad != AUTO_PAD_VALID) {
            same_pads(w, i, auto_pad == AUTO_PAD_SAME_UPPER);
        }
        if (window_output(g, op, i, ceil_mode == 1, w) != 0)
            return -1;
    }
    return 0;
}

static void
encode_window(const struct rt_window *w, struct pass_params *p)
{
    pass_params_int(p, w->n);
    for (int i = 0; i < w->n; i++) {
        pass_params_int(p, w->in[i]);
        pass_params_int(p, w->out[i]);
        pass_params_int(p, w->kernel[i]);
        pass_params_int(p, w->stride[i]);
        pass_params_int(p, w->dilation[i]);
        pass_params_int(p, w->pad_begin[i]);
        pass_params_int(p, w->pad_end[i]);
    }
}

/* The output shape [N, channels, out...]. */
static struct ir_shape
window_result(const struct ir_value *x, int64_t channels,
              const struct rt_window *w)
{
    int64_t dims[IR_MAX_RANK];
    dims[0] = x->shape.dim[0];
    dims[1] = channels;
    for (int i = 0; i < w->n; i++)
        dims[2 + i] = w->out[i];
    return ir_shape_make(w->n + 2, dims);
}

/* ---- Conv ---- */

/*
 * Conv (opsets 1 and 11): X [N, C, D...], W [M, C / group, k...], B [M].
 * group divides C and M.
 */
static int
check_conv(const struct ir_graph *g, const struct ir_op *op)
{
    const struct ir_value *x = pass_operand(g, op, 0);
    const struct ir_value *w = pass_operand(g, op, 1);
    const struct ir_value *b = pass_operand(g, op, 2);
    if (x->shape.rank < 3)
        return ir_error(g, op, op->operands[0],
                        "X has rank %d, but Conv needs [N, C, D1, ...] with "
                        "one or more spatial dims",
                        x->shape.rank);
    if (x->dtype != IR_DTYPE_FLOAT && x->dtype != IR_DTYPE_DOUBLE)
        return ir_error(g, op, op->operands[0],
                        "dtype %s is not supported (float32 and float64 "
                        "are)",
                        ir_dtype_name(x->dtype));
    if (w->dtype != x->dtype || (b && b->dtype != x->dtype))
        return ir_error(
            g, op, w->dtype != x->dtype ? op->operands[1] : op->operands[2],
            "dtype differs from X's %s", ir_dtype_name(x->dtype));
    char xs[160], ws[160];
    ir_shape_format(g, &x->shape, xs, sizeof(xs));
    ir_shape_format(g, &w->shape, ws, sizeof(ws));
    if (w->shape.rank != x->shape.rank)
        return ir_error(g, op, op->operands[1],
                        "W has rank %d but X %s has rank %d; W must be [M, "
                        "C / group, kernel dims...]",
                        w->shape.rank, xs, x->shape.rank);
    int64_t group = ir_op_int(op, "group", 1);
    int64_t c = x->shape.dim[1];
    int64_t m = w->shape.dim[0];
    if (group < 1 || c % group != 0 || m % group != 0)
        return ir_error(g, op, op->operands[1],
                        "attribute group = %lld is invalid: it must be 1 or "
                        "more and divide both C = %lld of X %s and M = %lld "
                        "of W",
                        (long long)group, (long long)c, xs, (long long)m);
    if (w->shape.dim[1] != c / group)
        return ir_error(g, op, op->operands[1],
                        "W %s has %lld input channels, but X %s has C = "
                        "%lld and group = %lld, so W needs C / group = %lld",
                        ws, (long long)w->shape.dim[1], xs, (long long)c,
                        (long long)group, (long long)(c / group));
    if (b && (b->shape.rank != 1 || b->shape.dim[0] != m)) {
        char bs[160];
        return ir_error(g, op, op->operands[2],
                        "B %s must be 1-D with M = %lld values, one per "
                        "output channel",
                        ir_shape_format(g, &b->shape, bs, sizeof(bs)),
                        (long long)m);
    }
    return 0;
}

static int
conv_infer(struct ir_graph *g, struct ir_op *op)
{
    struct rt_window w;
    if (check_conv(g, op) != 0)
        return -1;
    const struct ir_value *x = pass_operand(g, op, 0);
    const struct ir_value *wt = pass_operand(g, op, 1);
    if (plan_window(g, op, &wt->shape, &w) != 0)
        return -1;
    struct ir_shape out = window_result(x, wt->shape.dim[0], &w);
    pass_set_result(g, op, 0, x->dtype, &out);
    return 0;
}

static int
conv_encode(const struct ir_graph *g, const struct ir_op *op,
            struct pass_params *p)
{
    struct rt_window w;
    const struct ir_value *x = pass_operand(g, op, 0);
    const struct ir_value *wt = pass_operand(g, op, 1);
    if (plan_window(g, op, &wt->shape, &w) != 0)
        return -1;
    encode_window(&w, p);
    pass_params_int(p, x->shape.dim[0]);
    pass_params_int(p, x->shape.dim[1]);
    pass_params_int(p, wt->shape.dim[0]);
    pass_params_int(p, ir_op_int(op, "group", 1));
    pass_params_int(p, pass_layout_host_panel_width());
    return 0;
}

/* ---- MaxPool and AveragePool ---- */

/*
 * MaxPool (opsets 1 to 12) takes float32, float64, float16, int8 and
 * uint8; AveragePool (opsets 1 to 19) the three float types.
 */
static int
check_pool_dtype(const struct ir_graph *g, const struct ir_op *op)
{
    enum ir_dtype t = pass_operand(g, op, 0)->dtype;
    bool floating =
        t == IR_DTYPE_FLOAT || t == IR_DTYPE_DOUBLE || t == IR_DTYPE_FLOAT16;
    bool bytes = t == IR_DTYPE_INT8 || t == IR_DTYPE_UINT8;
    if (floating || (bytes && op->kind == IR_OP_MAX_POOL))
        return 0;
    return ir_error(g, op, op->operands[0],
                    "dtype %s is not supported (%s are)", ir_dtype_name(t),
                    op->kind == IR_OP_MAX_POOL
                        ? "float32, float64, float16, int8 and uint8"
                        : "float32, float64 and float16");
}

/* The pool's last int: storage_order for MaxPool, count_include_pad for
 * AveragePool; both are 0 or 1. */
static int
pool_flag(const struct ir_graph *g, const struct ir_op *op, int64_t *flag)
{
    const char *name =
        op->kind == IR_OP_MAX_POOL ? "storage_order" : "count_include_pad";
    *flag = ir_op_int(op, name, 0);
    if (*flag != 0 && *flag != 1)
        return ir_error(g, op, IR_NONE,
                        "attribute %s = %lld is invalid; expected 0 or 1", name,
                        (long long)*flag);
    return 0;
}

static int
pool_infer(struct ir_graph *g, struct ir_op *op)
{
    struct rt_window w;
    int64_t flag;
    if (check_pool_dtype(g, op) != 0 || plan_window(g, op, NULL, &w) != 0 ||
        pool_flag(g, op, &flag) != 0)
        return -1;
    const struct ir_value *x = pass_operand(g, op, 0);
    struct ir_shape out = window_result(x, x->shape.dim[1], &w);
    pass_set_result(g, op, 0, x->dtype, &out);
    if (op->n_results > 1)
        pass_set_result(g, op, 1, IR_DTYPE_INT64, &out);
    return 0;
}

static int
pool_encode(const struct ir_graph *g, const struct ir_op *op,
            struct pass_params *p)
{
    struct rt_window w;
    int64_t flag;
    if (plan_window(g, op, NULL, &w) != 0 || pool_flag(g, op, &flag) != 0)
        return -1;
    const struct ir_shape *x = &pass_operand(g, op, 0)->shape;
    encode_window(&w, p);
    pass_params_int(p, x->dim[0] * x->dim[1]);
    pass_params_int(p, flag);
    return 0;
}

/* ---- ConvTranspose ---- */

/*
 * ConvTranspose (opsets 1, 11): X [N, C, ...], W [C, M / group, k...] and
 * an optional B [M].  Output size per dim is stride * (in - 1) +
 * output_padding + (k - 1) * dilation + 1 - pads, unless output_shape or
 * a SAME auto_pad (output in * stride) fixes it and the pads follow.
 */
static int
plan_conv_transpose(const struct ir_graph *g, const struct ir_op *op,
                    struct rt_window *w, int64_t *m_out)
{
    const struct ir_value *x = pass_operand(g, op, 0);
    const struct ir_value *wt = pass_operand(g, op, 1);
    char xs[160], ws[160];
    ir_shape_format(g, &x->shape, xs, sizeof(xs));
    ir_shape_format(g, &wt->shape, ws, sizeof(ws));
    if (x->dtype != IR_DTYPE_FLOAT && x->dtype != IR_DTYPE_DOUBLE)
        return ir_error(g, op, op->operands[0],
                        "dtype %s is not supported (float32 and float64 "
                        "are)",
                        ir_dtype_name(x->dtype));
    int rank = x->shape.rank, n = rank - 2;
    if (rank < 3 || wt->shape.rank != rank || wt->dtype != x->dtype)
        return ir_error(g, op, op->operands[1],
                        "X %s and W %s must share a dtype and a rank of 3 "
                        "or more",
                        xs, ws);
    int64_t group = ir_op_int(op, "group", 1);
    int64_t c = x->shape.dim[1];
    if (group < 1 || c % group != 0 || wt->shape.dim[0] != c)
        return ir_error(g, op, op->operands[1],
                        "W %s must have X's %lld channels first, and group "
                        "%lld must divide them",
                        ws, (long long)c, (long long)group);
    *m_out = wt->shape.dim[1] * group;
    const struct ir_value *b = pass_operand(g, op, 2);
    if (b && (b->shape.rank != 1 || b->shape.dim[0] != *m_out ||
              b->dtype != x->dtype))
        return ir_error(g, op, op->operands[2],
                        "B must be a vector of the %lld output channels",
                        (long long)*m_out);
    memset(w, 0, sizeof(*w));
    w->n = n;
    int64_t out_pad[RT_WINDOW_MAX_DIMS], pads[2 * RT_WINDOW_MAX_DIMS];
    enum auto_pad auto_pad;
    if (window_ints(g, op, "strides", n, 1, 1, w->stride) != 0 ||
        window_ints(g, op, "dilations", n, 1, 1, w->dilation) != 0 ||
        window_ints(g, op, "output_padding", n, 0, 0, out_pad) != 0 ||
        window_ints(g, op, "pads", 2 * n, 0, 0, pads) != 0 ||
        read_auto_pad(g, op, &auto_pad) != 0)
        return -1;
    const struct ir_attr *kernel = ir_op_attr(op, "kernel_shape");
    const struct ir_attr *out_shape = ir_op_attr(op, "output_shape");
    if (out_shape && (out_shape->kind != IR_ATTR_INTS ||
                      (out_shape->n != n && out_shape->n != n + 2)))
        return ir_error(g, op, IR_NONE,
                        "output_shape must list the %d spatial dims", n);
    for (int i = 0; i < n; i++) {
        w->in[i] = x->shape.dim[2 + i];
        w->kernel[i] = wt->shape.dim[2 + i];
        if (kernel && (kernel->kind != IR_ATTR_INTS || kernel->n != n ||
                       kernel->ints[i] != w->kernel[i]))
            return ir_error(g, op, op->operands[1],
                            "kernel_shape differs from W %s", ws);
        if (out_pad[i] >= w->stride[i] && out_pad[i] >= w->dilation[i])
            return ir_error(g, op, IR_NONE,
                            "output_padding[%d] = %lld must be smaller than "
                            "the stride or the dilation",
                            i, (long long)out_pad[i]);
        int64_t span, reach, full;
        if (w->in[i] < 1 ||
            __builtin_mul_overflow(w->stride[i], w->in[i] - 1, &span) ||
            __builtin_mul_overflow(w->kernel[i] - 1, w->dilation[i], &reach) ||
            __builtin_add_overflow(span, reach + 1 + out_pad[i], &full) ||
            full > ((int64_t)1 << 40))
            return ir_error(g, op, op->operands[0],
                            "dim %d: input %lld, stride %lld and dilation "
                            "%lld give an invalid output size",
                            i, (long long)w->in[i], (long long)w->stride[i],
                            (long long)w->dilation[i]);
        int64_t target = -1;
        if (out_shape)
            target = out_shape->ints[out_shape->n - n + i];
        else if (auto_pad == AUTO_PAD_SAME_UPPER ||
                 auto_pad == AUTO_PAD_SAME_LOWER)
            target = w->in[i] * w->stride[i];
        if (target >= 0) {
            /* A negative total pads the output with bias-only elements;
             * halves round down, as the ONNX reference's // does. */
            int64_t total = full - target;
            int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);
            bool upper = auto_pad == AUTO_PAD_SAME_UPPER;
            w->pad_begin[i] = upper ? half : total - half;
            w->pad_end[i] = upper ? total - half : half;
        } else if (auto_pad != AUTO_PAD_VALID) {
            w->pad_begin[i] = pads[i];
            w->pad_end[i] = pads[n + i];
        }
        w->out[i] = full - w->pad_begin[i] - w->pad_end[i];
        if (w->out[i] < 0 || w->out[i] > ((int64_t)1 << 40))
            return ir_error(g, op, op->operands[0],
                            "dim %d: input %lld with these pads gives an "
                            "invalid output size %lld",
                            i, (long long)w->in[i], (long long)w->out[i]);
    }
    return 0;
}

static int
conv_transpose_infer(struct ir_graph *g, struct ir_op *op)
{
    struct rt_window w;
    int64_t m;
    if (plan_conv_transpose(g, op, &w, &m) != 0)
        return -1;
    const struct ir_value *x = pass_operand(g, op, 0);
    struct ir_shape out = window_result(x, m, &w);
    pass_set_result(g, op, 0, x->dtype, &out);
    return 0;
}

/*
 * ints: the window block with its pads clamped to 0, then [N, C, M,
 * group], then each dim's begin pad, which output_shape can make negative.
 */
static int
conv_transpose_encode(const struct ir_graph *g, const struct ir_op *op,
                      struct pass_params *p)
{
    struct rt_window w;
    int64_t m;
    if (plan_conv_transpose(g, op, &w, &m) != 0)
        return -1;
    const struct ir_shape *x = &pass_operand(g, op, 0)->shape;
    struct rt_window clamped = w;
    for (int i = 0; i < w.n; i++) {
        clamped.pad_begin[i] = w.pad_begin[i] > 0 ? w.pad_begin[i] : 0;
        clamped.pad_end[i] = w.pad_end[i] > 0 ? w.pad_end[i] : 0;
    }
    encode_window(&clamped, p);
    pass_params_int(p, x->dim[0]);
    pass_params_int(p, x->dim[1]);
    pass_params_int(p, m);
    pass_params_int(p, ir_op_int(op, "group", 1));
    for (int i = 0; i < w.n; i++)
        pass_params_int(p, w.pad_begin[i]);
    return 0;
}

/* ---- the table ---- */

#define KERNEL(fn) .kernel_name = #fn, .kernel = fn

const struct pass_op_impl pass_ops_conv[] = {
    {IR_OP_CONV, conv_infer, conv_encode, KERNEL(rt_kernel_conv)},
    {IR_OP_CONV_TRANSPOSE, conv_transpose_infer, conv_transpose_encode,
     KERNEL(rt_kernel_conv_transpose)},
    {IR_OP_MAX_POOL, pool_infer, pool_encode, KERNEL(rt_kernel_max_pool)},
    {IR_OP_AVERAGE_POOL, pool_infer, pool_encode,
     KERNEL(rt_kernel_average_pool)},
    {.kind = IR_OP_COUNT},
};
