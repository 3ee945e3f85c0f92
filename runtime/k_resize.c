/*
 * Resize and Upsample: interpolation that is separable along the axes.
 * The compiler's parameters give each axis's input size, output size and
 * scale.  The kernel turns each output index into at most four taps
 * (input index, weight), then sums over the products of the taps of all
 * axes.  Nearest mode has one tap per axis, so it copies elements of
 * any dtype; linear and cubic modes work in double on float data.
 */
#include "k_math.h"
#include "k_elementwise.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TAPS 4

/* The taps of one output index along one axis. */
struct taps {
    int64_t index[MAX_TAPS];
    double weight[MAX_TAPS];
    int count;
    bool outside; /* tf_crop_and_resize maps it outside the input */
};

struct resize_params {
    int mode, coord, nearest;
    double cubic_a, extrapolation;
    bool exclude_outside;
};

/* The input coordinate of output index y along an axis. */
static double
source_coordinate(const struct resize_params *p, double y, int64_t in,
                  int64_t out, double scale, double roi_start, double roi_end,
                  bool *outside)
{
    double out_width = scale * (double)in, x;
    *outside = false;
    switch (p->coord) {
    case RT_RESIZE_ALIGN_CORNERS:
        x = out_width == 1 ? 0 : y * (double)(in - 1) / (out_width - 1);
        break;
    case RT_RESIZE_ASYMMETRIC:
        x = y / scale;
        break;
    case RT_RESIZE_TF_CROP_AND_RESIZE:
        x = out_width == 1 ? (roi_end - roi_start) * (double)(in - 1) / 2
                           : y * (roi_end - roi_start) * (double)(in - 1) /
                                 (out_width - 1);
        x += roi_start * (double)(in - 1);
        *outside = x < 0 || x > (double)(in - 1);
        break;
    case RT_RESIZE_PYTORCH_HALF_PIXEL:
        x = out_width == 1 ? -0.5 : (y + 0.5) / scale - 0.5;
        break;
    case RT_RESIZE_TF_HALF_PIXEL_FOR_NN:
        x = (y + 0.5) / scale;
        break;
    case RT_RESIZE_HALF_PIXEL_SYMMETRIC: {
        double offset = (double)in / 2 * (1 - (double)out / out_width);
        x = offset + (y + 0.5) / scale - 0.5;
        break;
    }
    default: /* half_pixel */
        x = (y + 0.5) / scale - 0.5;
        break;
    }
    return x;
}

/* Cubic convolution weights of the four taps at distance ratio. */
static void
cubic_weights(double r, double a, double *w)
{
    double s = r + 1, t = 1 - r, u = 2 - r;
    w[0] = ((a * s - 5 * a) * s + 8 * a) * s - 4 * a;
    w[1] = ((a + 2) * r - (a + 3)) * r * r + 1;
    w[2] = ((a + 2) * t - (a + 3)) * t * t + 1;
    w[3] = ((a * u - 5 * a) * u + 8 * a) * u - 4 * a;
}

/*
 * Compute the taps of output index y.  The taps start at floor(x) - n/2 + 1,
 * or at x - n/2 when x is an integer, whose ratio then counts as 1.
 * Indices outside the input are clamped to its edge.  With
 * exclude_outside they are dropped and the weights renormalised.
 */
static void
make_taps(const struct resize_params *p, int64_t y, int64_t in, int64_t out,
          double scale, double roi_start, double roi_end, struct taps *t)
{
    double x = source_coordinate(p, (double)y, in, out, scale, roi_start,
                                 roi_end, &t->outside);
    double base = floor(x), ratio = x - base;
    if (ratio == 0) {
        base -= 1;
        ratio = 1;
    }
    int n = p->mode == RT_RESIZE_CUBIC ? 4 : 2;
    int64_t start = (int64_t)base - (n == 4 ? 1 : 0);
    double w[MAX_TAPS];
    if (p->mode == RT_RESIZE_CUBIC) {
        cubic_weights(ratio, p->cubic_a, w);
    } else if (p->mode == RT_RESIZE_LINEAR) {
        w[0] = 1 - ratio;
        w[1] = ratio;
    } else {
        bool upper;
        switch (p->nearest) {
        case RT_NEAREST_ROUND_PREFER_CEIL:
            upper = ratio >= 0.5;
            break;
        case RT_NEAREST_FLOOR:
            upper = ratio == 1;
            break;
        case RT_NEAREST_CEIL:
            upper = true;
            break;
        default: /* round_prefer_floor */
            upper = ratio > 0.5;
            break;
        }
        w[0] = upper ? 0 : 1;
        w[1] = upper ? 1 : 0;
    }
    double sum = 0;
    t->count = 0;
    for (int k = 0; k < n; k++) {
        int64_t i = start + k;
        bool out_of_range = i < 0 || i >= in;
        if ((p->exclude_outside && out_of_range) || w[k] == 0)
            continue;
        if (i < 0)
            i = 0;
        else if (i >= in)
            i = in - 1;
        t->index[t->count] = i;
        t->weight[t->count] = w[k];
        sum += w[k];
        t->count++;
    }
    if (p->exclude_outside && sum != 0)
        for (int k = 0; k < t->count; k++)
            t->weight[k] /= sum;
}

/*
 * ints: [mode, coordinate mode, nearest mode, exclude_outside, rank, then
 * per axis: input size, output size].  floats: [cubic_coeff_a,
 * extrapolation_value, then per axis: scale, roi start, roi end].
 * descs: x, y (only x's data is read; other inputs are folded away).
 */
int
rt_kernel_resize(struct rt_ctx *ctx, const struct rt_node *node,
                 void *const *bufs)
{
    if (node->n_ints < 5)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT, "bad parameters");
    int rank = (int)node->ints[4];
    if (rank < 1 || rank > RT_MAX_RANK || node->n_ints != 5 + 2 * rank ||
        node->n_floats != 2 + 3 * rank)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT, "bad parameters");
    struct resize_params p = {
        .mode = (int)node->ints[0],
        .coord = (int)node->ints[1],
        .nearest = (int)node->ints[2],
        .exclude_outside = node->ints[3] != 0,
        .cubic_a = node->floats[0],
        .extrapolation = node->floats[1],
    };
    const struct rt_desc *dx = &node->descs[0];
    const struct rt_desc *dy = &node->descs[node->n_inputs];
    int32_t dtype = dx->dtype;
    size_t esize = rt_dtype_size(dtype);
    if (p.mode != RT_RESIZE_NEAREST && !math_is_float(dtype))
        return rt_fail(ctx, node, RT_ERR_ARGUMENT,
                       "linear and cubic modes need float data, not dtype %d",
                       (int)dtype);

    int64_t in[RT_MAX_RANK], out[RT_MAX_RANK], total = 0;
    for (int a = 0; a < rank; a++) {
        in[a] = node->ints[5 + 2 * a];
        out[a] = node->ints[6 + 2 * a];
        total += out[a];
    }
    if (rt_numel(dy) == 0)
        return RT_OK;
    struct taps *table = malloc((size_t)total * sizeof(struct taps));
    if (!table)
        return rt_fail(ctx, node, RT_ERR_MEMORY, "no memory for %lld taps",
                       (long long)total);
    struct taps *axis_taps[RT_MAX_RANK];
    int64_t at = 0;
    for (int a = 0; a < rank; a++) {
        axis_taps[a] = table + at;
        const double *f = node->floats + 2 + 3 * a;
        for (int64_t y = 0; y < out[a]; y++)
            make_taps(&p, y, in[a], out[a], f[0], f[1], f[2], &axis_taps[a][y]);
        at += out[a];
    }

    int64_t in_stride[RT_MAX_RANK];
    in_stride[rank - 1] = 1;
    for (int a = rank - 2; a >= 0; a--)
        in_stride[a] = in_stride[a + 1] * in[a + 1];
    int64_t pos[RT_MAX_RANK] = {0}, count = rt_numel(dy);
    for (int64_t o = 0; o < count; o++) {
        const struct taps *t[RT_MAX_RANK];
        bool outside = false;
        for (int a = 0; a < rank; a++) {
            t[a] = &axis_taps[a][pos[a]];
            outside |= t[a]->outside;
        }
        if (p.mode == RT_RESIZE_NEAREST && !outside) {
            int64_t src = 0;
            for (int a = 0; a < rank; a++)
                src += t[a]->index[0] * in_stride[a];
            memcpy((char *)bufs[node->n_inputs] + (size_t)o * esize,
                   (const char *)bufs[0] + (size_t)src * esize, esize);
        } else {
            double sum = p.extrapolation;
            bool empty = false;
            for (int a = 0; a < rank; a++)
                empty |= t[a]->count == 0;
            if (empty)
                sum = 0;
            if (!outside && !empty) {
                /* Walk the product of the axes' taps like an odometer. */
                int k[RT_MAX_RANK] = {0};
                sum = 0;
                for (;;) {
                    int64_t src = 0;
                    double w = 1;
                    for (int a = 0; a < rank; a++) {
                        src += t[a]->index[k[a]] * in_stride[a];
                        w *= t[a]->weight[k[a]];
                    }
                    sum += w * rt_load_f64(bufs[0], dtype, src);
                    int a = rank - 1;
                    while (a >= 0 && ++k[a] == t[a]->count)
                        k[a--] = 0;
                    if (a < 0)
                        break;
                }
            }
            if (math_is_float(dtype))
                math_store_f64(bufs[node->n_inputs], dtype, o, sum);
            else
                rt_cast_from_double(&sum, dtype,
                                    (char *)bufs[node->n_inputs] +
                                        (size_t)o * esize);
        }
        for (int a = rank - 1; a >= 0 && ++pos[a] == out[a]; a--)
            pos[a] = 0;
    }
    free(table);
    return RT_OK;
}
