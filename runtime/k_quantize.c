/*
 * Linear quantization: QuantizeLinear, DequantizeLinear and
 * DynamicQuantizeLinear.  Scales and zero points are one value, or one per
 * index of the quantized axis: element i uses entry (i / inner) % axis_len.
 * Quantizing divides and rounds in float32, ties to even, as the ONNX
 * reference does with numpy, then adds the zero point and saturates.
 */
#include "k_math.h"

#include <math.h>

/* The range of a quantized dtype. */
static void
quant_range(int32_t dtype, double *lo, double *hi)
{
    switch (dtype) {
    case RT_INT8:
        *lo = -128;
        *hi = 127;
        break;
    case RT_UINT8:
        *lo = 0;
        *hi = 255;
        break;
    case RT_INT16:
        *lo = -32768;
        *hi = 32767;
        break;
    case RT_UINT16:
        *lo = 0;
        *hi = 65535;
        break;
    default: /* int32 */
        *lo = -2147483648.0;
        *hi = 2147483647.0;
        break;
    }
}

/* Quantize x (float) with scale and zero point zp into element i of y. */
static void
quantize_one(float x, float scale, double zp, void *y, int32_t y_dtype,
             int64_t i)
{
    double lo, hi;
    quant_range(y_dtype, &lo, &hi);
    double q = (double)rintf(x / scale) + zp;
    if (isnan(q))
        q = zp; /* NOTE: ONNX leaves NaN undefined; it becomes zp here. */
    q = fmin(fmax(q, lo), hi);
    math_store_i64(y, y_dtype, i, (int64_t)q);
}

/*
 * ints: [mode, inner, axis_len] with mode 0 QuantizeLinear, 1
 * DequantizeLinear, 2 DynamicQuantizeLinear.
 * descs: Quantize/Dequantize: x, scale, [zero_point,] y.
 *        Dynamic: x, y, y_scale, y_zero_point.
 */
int
rt_kernel_quantize(struct rt_ctx *ctx, const struct rt_node *node,
                   void *const *bufs)
{
    if (node->n_ints != 3)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT, "bad parameters");
    int64_t mode = node->ints[0], inner = node->ints[1],
            axis_len = node->ints[2];
    const struct rt_desc *d = node->descs;
    int ni = node->n_inputs;
    int64_t n = rt_numel(&d[0]);
    const void *x = bufs[0];

    if (mode == 2) {
        void *y = bufs[1], *y_scale = bufs[2], *y_zp = bufs[3];
        float lo = 0, hi = 0;
        for (int64_t i = 0; i < n; i++) {
            float v = ((const float *)x)[i];
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        float scale = (hi - lo) / 255.0f;
        /* NOTE: an all-zero input has scale 0.  The reference would divide
         * by zero; here the zero point and y are 0. */
        float zp = 0;
        if (scale != 0) {
            zp = rintf((0 - lo) / scale);
            zp = fminf(fmaxf(zp, 0), 255);
        }
        ((float *)y_scale)[0] = scale;
        ((uint8_t *)y_zp)[0] = (uint8_t)zp;
        for (int64_t i = 0; i < n; i++) {
            if (scale == 0)
                ((uint8_t *)y)[i] = 0;
            else
                quantize_one(((const float *)x)[i], scale, zp, y, RT_UINT8, i);
        }
        return RT_OK;
    }

    const void *scale = bufs[1];
    const void *zp = ni > 2 ? bufs[2] : NULL;
    int32_t zp_dtype = ni > 2 ? d[2].dtype : 0;
    void *y = bufs[ni];
    int32_t y_dtype = d[ni].dtype;
    for (int64_t i = 0; i < n; i++) {
        int64_t k = axis_len > 1 ? (i / inner) % axis_len : 0;
        float s = (float)rt_load_f64(scale, d[1].dtype, k);
        double z = zp && zp_dtype ? (double)rt_load_i64(zp, zp_dtype, k) : 0;
        if (mode == 0) {
            float v = (float)rt_load_f64(x, d[0].dtype, i);
            quantize_one(v, s, z, y, y_dtype, i);
        } else {
            float v = (float)rt_load_i64(x, d[0].dtype, i) - (float)z;
            math_store_f64(y, y_dtype, i, (double)(v * s));
        }
    }
    return RT_OK;
}
