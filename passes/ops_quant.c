/*
 * Shape inference and kernel parameters of linear quantization:
 * QuantizeLinear and DequantizeLinear (opsets 10 to 25, per-tensor or
 * per-axis) and DynamicQuantizeLinear (opset 11).
 */
#include "passes.h"
#include "../runtime/k_math.h"

int pass_quant_infer(struct ir_graph *g, struct ir_op *op);
int pass_quant_encode(const struct ir_graph *g, const struct ir_op *op,
                      struct pass_params *p);

/* The quantized dtypes of op: 8-bit and int32, and 16-bit from opset 21. */
static bool
is_quantized(const struct ir_op *op, enum ir_dtype t)
{
    if (t == IR_DTYPE_INT16 || t == IR_DTYPE_UINT16)
        return op->opset >= 21;
    return t == IR_DTYPE_INT8 || t == IR_DTYPE_UINT8 || t == IR_DTYPE_INT32;
}

/*
 * The view of x for a scale of one value or one per index of the axis:
 * elements between two steps of the axis (inner) and the axis length.
 */
static int
quant_axis(const struct ir_graph *g, const struct ir_op *op, int64_t *inner,
           int64_t *axis_len)
{
    const struct ir_value *x = pass_operand(g, op, 0);
    const struct ir_value *scale = pass_operand(g, op, 1);
    *inner = 1;
    *axis_len = 1;
    if (op->kind == IR_OP_DYNAMIC_QUANTIZE_LINEAR ||
        ir_shape_numel(&scale->shape) == 1)
        return 0;
    int axis;
    if (pass_axis(g, op, ir_op_int(op, "axis", 1), x->shape.rank, &axis) != 0)
        return -1;
    char buf[160];
    if (scale->shape.rank != 1 || scale->shape.dim[0] != x->shape.dim[axis])
        return ir_error(g, op, op->operands[1],
                        "the scale %s must be one value or a vector of the "
                        "%lld entries of axis %d",
                        ir_shape_format(g, &scale->shape, buf, sizeof(buf)),
                        (long long)x->shape.dim[axis], axis);
    *axis_len = x->shape.dim[axis];
    for (int i = axis + 1; i < x->shape.rank; i++)
        *inner *= x->shape.dim[i];
    return 0;
}

/*
 * Reject the attributes of opsets 21 to 25 that change the computation in
 * ways the kernel does not implement: blocked scales, and a float32
 * scale used at another precision or producing another output dtype.
 */
static int
check_attributes(const struct ir_graph *g, const struct ir_op *op)
{
    int64_t block_size = ir_op_int(op, "block_size", 0);
    if (block_size != 0)
        return ir_error(g, op, IR_NONE,
                        "block_size %lld is not supported (only per-tensor "
                        "and per-axis scales are)",
                        (long long)block_size);
    int64_t precision = ir_op_int(op, "precision", 0);
    if (op->kind == IR_OP_QUANTIZE_LINEAR && precision != 0 &&
        precision != IR_DTYPE_FLOAT)
        return ir_error(g, op, IR_NONE,
                        "precision %lld is not supported (only float32 "
                        "division is)",
                        (long long)precision);
    int64_t output_dtype = ir_op_int(op, "output_dtype", 0);
    if (op->kind == IR_OP_DEQUANTIZE_LINEAR && output_dtype != 0 &&
        output_dtype != IR_DTYPE_FLOAT)
        return ir_error(g, op, IR_NONE,
                        "output_dtype %lld is not supported (float32 is)",
                        (long long)output_dtype);
    return 0;
}

int
pass_quant_infer(struct ir_graph *g, struct ir_op *op)
{
    const struct ir_value *x = pass_operand(g, op, 0);
    if (!x)
        return ir_error(g, op, IR_NONE, "input 0 is missing");
    struct ir_shape xs = x->shape;
    if (op->kind == IR_OP_DYNAMIC_QUANTIZE_LINEAR) {
        if (x->dtype != IR_DTYPE_FLOAT)
            return ir_error(g, op, op->operands[0],
                            "dtype %s is not supported (float32 is)",
                            ir_dtype_name(x->dtype));
        struct ir_shape scalar = ir_shape_make(0, NULL);
        pass_set_result(g, op, 0, IR_DTYPE_UINT8, &xs);
        pass_set_result(g, op, 1, IR_DTYPE_FLOAT, &scalar);
        pass_set_result(g, op, 2, IR_DTYPE_UINT8, &scalar);
        return 0;
    }
    const struct ir_value *scale = pass_operand(g, op, 1);
    const struct ir_value *zp = pass_operand(g, op, 2);
    bool quantize = op->kind == IR_OP_QUANTIZE_LINEAR;
    if (!scale)
        return ir_error(g, op, IR_NONE, "input 1, the scale, is missing");
    if (scale->dtype != IR_DTYPE_FLOAT)
        return ir_error(g, op, op->operands[1],
                        "the scale has dtype %s, which is not supported "
                        "(float32 is)",
                        ir_dtype_name(scale->dtype));
    if (check_attributes(g, op) != 0)
        return -1;
    if (quantize ? x->dtype != IR_DTYPE_FLOAT && x->dtype != IR_DTYPE_INT32
                 : !is_quantized(op, x->dtype))
        return ir_error(
            g, op, op->operands[0], "input 0 of dtype %s is not supported (%s)",
            ir_dtype_name(x->dtype),
            quantize ? "float32 and int32 are"
                     : "int8, uint8, int32, and from opset 21 int16 and "
                       "uint16 are");
    enum ir_dtype q = quantize ? IR_DTYPE_UINT8 : x->dtype;
    int64_t output_dtype = ir_op_int(op, "output_dtype", 0);
    if (quantize && output_dtype != 0) {
        if (output_dtype < 0 || output_dtype == IR_DTYPE_INT32 ||
            !is_quantized(op, (enum ir_dtype)output_dtype))
            return ir_error(g, op, IR_NONE,
                            "output_dtype %lld is not supported (int8, "
                            "uint8, int16 and uint16 are)",
                            (long long)output_dtype);
        if (zp && zp->dtype != output_dtype)
            return ir_error(g, op, op->operands[2],
                            "the zero point has dtype %s, but output_dtype "
                            "is %s",
                            ir_dtype_name(zp->dtype),
                            ir_dtype_name((enum ir_dtype)output_dtype));
        q = (enum ir_dtype)output_dtype;
    }
    if (zp) {
        if (!quantize && zp->dtype != x->dtype)
            return ir_error(g, op, op->operands[2],
                            "the zero point has dtype %s; expected %s, the "
                            "dtype of x",
                            ir_dtype_name(zp->dtype), ir_dtype_name(x->dtype));
        if (quantize &&
            (!is_quantized(op, zp->dtype) || zp->dtype == IR_DTYPE_INT32))
            return ir_error(g, op, op->operands[2],
                            "the zero point has dtype %s, which is not "
                            "supported (%s)",
                            ir_dtype_name(zp->dtype),
                            op->opset >= 21
                                ? "int8, uint8, int16 and uint16 are"
                                : "int8 and uint8 are");
        if (!ir_shape_equal(&zp->shape, &scale->shape))
            return ir_error(g, op, op->operands[2],
                            "the zero point's shape differs from the scale's");
        q = zp->dtype;
    }
    int64_t inner, axis_len;
    if (quant_axis(g, op, &inner, &axis_len) != 0)
        return -1;
    pass_set_result(g, op, 0, quantize ? q : IR_DTYPE_FLOAT, &xs);
    return 0;
}

/* ints: [mode, inner, axis_len]. */
int
pass_quant_encode(const struct ir_graph *g, const struct ir_op *op,
                  struct pass_params *p)
{
    int64_t inner, axis_len;
    if (quant_axis(g, op, &inner, &axis_len) != 0)
        return -1;
    int mode = op->kind == IR_OP_QUANTIZE_LINEAR     ? 0
               : op->kind == IR_OP_DEQUANTIZE_LINEAR ? 1
                                                     : 2;
    pass_params_int(p, mode);
    pass_params_int(p, inner);
    pass_params_int(p, axis_len);
    return 0;
}
