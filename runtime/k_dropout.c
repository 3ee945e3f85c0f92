/*
 * Dropout in training mode.  The mask comes from the Mersenne Twister
 * (MT19937) seeded with the node's seed attribute, one uniform double in
 * [0, 1) per element in row-major order, made from two 32-bit outputs as
 * genrand_res53 makes it.  That is the generator and the order of numpy's
 * legacy RandomState, which the ONNX reference implementation seeds with
 * the same attribute, so onnxc's masks equal the reference's.  Every run
 * starts from the seed, so a library's runs all draw the same mask.
 */
#include "k_elementwise.h"

#include <stdbool.h>
#include <string.h>

enum {
    MT_N = 624,
    MT_M = 397,
};

struct mt19937 {
    uint32_t state[MT_N];
    int next; /* index of the next state word to temper */
};

static void
mt_seed(struct mt19937 *mt, uint32_t seed)
{
    mt->state[0] = seed;
    for (int i = 1; i < MT_N; i++) {
        uint32_t prev = mt->state[i - 1];
        mt->state[i] = 1812433253u * (prev ^ (prev >> 30)) + (uint32_t)i;
    }
    mt->next = MT_N;
}

/* Regenerate all MT_N state words. */
static void
mt_twist(struct mt19937 *mt)
{
    for (int i = 0; i < MT_N; i++) {
        uint32_t y = (mt->state[i] & 0x80000000u) |
                     (mt->state[(i + 1) % MT_N] & 0x7fffffffu);
        uint32_t next = mt->state[(i + MT_M) % MT_N] ^ (y >> 1);
        mt->state[i] = y & 1 ? next ^ 0x9908b0dfu : next;
    }
    mt->next = 0;
}

static uint32_t
mt_next(struct mt19937 *mt)
{
    if (mt->next >= MT_N)
        mt_twist(mt);
    uint32_t y = mt->state[mt->next++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

/* A uniform double in [0, 1) with 53 random bits. */
static double
mt_uniform(struct mt19937 *mt)
{
    uint32_t a = mt_next(mt) >> 5, b = mt_next(mt) >> 6;
    return ((double)a * 67108864.0 + (double)b) / 9007199254740992.0;
}

/*
 * Dropout with training_mode true: y = mask * x * scale with mask =
 * (uniform >= ratio) and scale = 1 / (1 - ratio) in the ratio's precision.
 * A dropped element is 0 * x, so a dropped NaN or inf becomes NaN, as in
 * the reference.
 * With ratio 0 every element is kept.  A ratio outside [0, 1) is an
 * error.  In inference mode it copies x, as rt_kernel_copy does.  ints:
 * seed.  descs: x, ratio, training_mode, y, then the bool mask if any.
 */
int
rt_kernel_dropout(struct rt_ctx *ctx, const struct rt_node *node,
                  void *const *bufs)
{
    if (node->n_inputs < 1 || node->n_inputs > 3 || node->n_outputs < 1 ||
        node->n_outputs > 2 || node->n_ints != 1)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT, "bad parameters");
    if (node->n_inputs < 3 || !bufs[2] || !*(const uint8_t *)bufs[2])
        return rt_kernel_copy(ctx, node, bufs);
    /* scale is computed in the ratio's precision, as the reference does. */
    double ratio = 0.5, scale = 2.0;
    if (bufs[1]) {
        int32_t dt = node->descs[1].dtype;
        if (dt == RT_FLOAT || dt == RT_FLOAT16) {
            float r = dt == RT_FLOAT
                          ? *(const float *)bufs[1]
                          : (float)rt_f16_to_double(*(const uint16_t *)bufs[1]);
            ratio = r;
            scale = 1.0f / (1.0f - r);
        } else if (dt == RT_DOUBLE) {
            ratio = *(const double *)bufs[1];
            scale = 1.0 / (1.0 - ratio);
        } else
            return rt_fail(ctx, node, RT_ERR_ARGUMENT, "ratio has dtype %d",
                           (int)dt);
    }
    if (!(ratio >= 0 && ratio < 1))
        return rt_fail(ctx, node, RT_ERR_RUNTIME, "ratio %g is outside [0, 1)",
                       ratio);
    if (ratio == 0)
        return rt_kernel_copy(ctx, node, bufs);
    const struct rt_desc *dx = &node->descs[0];
    if (dx->dtype != RT_FLOAT && dx->dtype != RT_DOUBLE)
        return rt_fail(ctx, node, RT_ERR_SHAPE,
                       "training mode supports float and double inputs, "
                       "not dtype %d",
                       (int)dx->dtype);

    struct mt19937 mt;
    mt_seed(&mt, (uint32_t)node->ints[0]);
    int64_t n = rt_numel(dx);
    uint8_t *mask = node->n_outputs == 2 ? bufs[4] : NULL;
    if (dx->dtype == RT_FLOAT) {
        const float *x = bufs[0];
        float *y = bufs[3];
        float scale_f = (float)scale;
        for (int64_t i = 0; i < n; i++) {
            bool keep = mt_uniform(&mt) >= ratio;
            y[i] = (keep ? x[i] : 0.0f * x[i]) * scale_f;
            if (mask)
                mask[i] = keep;
        }
    } else {
        const double *x = bufs[0];
        double *y = bufs[3];
        for (int64_t i = 0; i < n; i++) {
            bool keep = mt_uniform(&mt) >= ratio;
            y[i] = (keep ? x[i] : 0.0 * x[i]) * scale;
            if (mask)
                mask[i] = keep;
        }
    }
    return RT_OK;
}
