/*
 * Quantized matrix products: MatMulInteger, which returns the int32
 * product of (A - a_zero_point) and (B - b_zero_point), and QLinearMatMul,
 * which requantizes that product with scale a_scale * b_scale / y_scale
 * and Y's zero point, rounding to nearest even and saturating.  The int32
 * sums wrap around on overflow, as numpy's int32 product does.
 */
#include "k_math.h"

#include <math.h>
#include <stdbool.h>

/* Value k of an optional per-row operand (input at), or dflt. */
static double
per_row(const struct rt_node *node, void *const *bufs, int64_t at, int64_t k,
        double dflt)
{
    if (at < 0 || !bufs[at])
        return dflt;
    const struct rt_desc *d = &node->descs[at];
    int64_t i = rt_numel(d) == 1 ? 0 : k;
    return rt_load_f64(bufs[at], d->dtype, i);
}

/*
 * ints: [M, K, N, loops, (size, A step, B step) per loop, then the input
 * positions of a_zero_point, b_zero_point, a_scale, b_scale, y_scale and
 * y_zero_point, -1 where absent].  descs: the inputs, then Y.
 */
int
rt_kernel_int_product(struct rt_ctx *ctx, const struct rt_node *node,
                      void *const *bufs)
{
    if (node->n_ints < 4)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT, "bad parameters");
    const int64_t *p = node->ints;
    int64_t m = p[0], k = p[1], n = p[2], loops = p[3];
    if (loops < 0 || loops > RT_MAX_RANK || node->n_ints != 10 + 3 * loops)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT, "bad parameters");
    const int64_t *at = p + 4 + 3 * loops;
    bool quantized_out = at[4] >= 0;
    int ni = node->n_inputs;
    int a_in = 0, b_in = quantized_out ? 3 : 1;
    const struct rt_desc *da = &node->descs[a_in], *db = &node->descs[b_in];
    const struct rt_desc *dy = &node->descs[ni];
    double multiplier = 0, y_zp = 0;
    if (quantized_out) {
        y_zp = per_row(node, bufs, at[5], 0, 0);
        multiplier = 1 / per_row(node, bufs, at[4], 0, 1);
    }
    int64_t idx[RT_MAX_RANK] = {0};
    int64_t count = 1;
    for (int64_t l = 0; l < loops; l++)
        count *= p[4 + 3 * l];
    for (int64_t batch = 0; batch < count; batch++) {
        int64_t a_off = 0, b_off = 0;
        for (int64_t l = 0; l < loops; l++) {
            a_off += idx[l] * p[5 + 3 * l];
            b_off += idx[l] * p[6 + 3 * l];
        }
        int64_t y_off = batch * m * n;
        for (int64_t i = 0; i < m; i++) {
            int64_t az = (int64_t)per_row(node, bufs, at[0], i, 0);
            for (int64_t j = 0; j < n; j++) {
                int64_t bz = (int64_t)per_row(node, bufs, at[1], j, 0);
                uint32_t acc = 0;
                for (int64_t l = 0; l < k; l++) {
                    int64_t av =
                        rt_load_i64(bufs[a_in], da->dtype, a_off + i * k + l) -
                        az;
                    int64_t bv =
                        rt_load_i64(bufs[b_in], db->dtype, b_off + l * n + j) -
                        bz;
                    acc += (uint32_t)(av * bv);
                }
                int32_t sum = (int32_t)acc;
                int64_t o = y_off + i * n + j;
                if (!quantized_out) {
                    ((int32_t *)bufs[ni])[o] = sum;
                    continue;
                }
                double scale = per_row(node, bufs, at[2], i, 1) *
                               per_row(node, bufs, at[3], j, 1) * multiplier;
                double q = rint((double)sum * scale) + y_zp;
                double lo = dy->dtype == RT_INT8 ? -128 : 0;
                double hi = dy->dtype == RT_INT8 ? 127 : 255;
                q = fmin(fmax(q, lo), hi);
                if (dy->dtype == RT_INT8)
                    ((int8_t *)bufs[ni])[o] = (int8_t)q;
                else
                    ((uint8_t *)bufs[ni])[o] = (uint8_t)q;
            }
        }
        for (int64_t l = loops - 1; l >= 0 && ++idx[l] == p[4 + 3 * l]; l--)
            idx[l] = 0;
    }
    return RT_OK;
}
