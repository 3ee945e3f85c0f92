/*
 * The training losses NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss.
 * The second is the first applied after a LogSoftmax over the class axis.
 * Inputs are viewed as [N, C, D] and targets as [N, D], D being the product of
 * the dims after the class axis.  Sums are taken in double.
 */
#include "k_math.h"

#include <math.h>
#include <stdbool.h>

/*
 * log(sum_c exp(x[n, c, d])) over the C classes, with the max shifted out.
 * A NaN or +inf makes it NaN, and all -inf gives -inf, so that x minus it
 * is NaN in both cases, as in the Softmax kernel.
 */
static double
log_sum_exp(const void *x, int32_t dtype, int64_t base, int64_t c_count,
            int64_t stride)
{
    double m = -INFINITY;
    for (int64_t c = 0; c < c_count; c++) {
        double v = rt_load_f64(x, dtype, base + c * stride);
        if (v > m || isnan(v))
            m = v;
    }
    if (isnan(m) || (isinf(m) && m > 0))
        return NAN;
    if (isinf(m))
        return m;
    double s = 0;
    for (int64_t c = 0; c < c_count; c++)
        s += exp(rt_load_f64(x, dtype, base + c * stride) - m);
    return m + log(s);
}

/*
 * loss[n, d] = -w[t] * x'[n, t, d] with t = target[n, d], where x' is x,
 * or log_softmax(x) over C when ints[6] is set, and w the weights (1 when
 * there are none).  A target equal to ignore_index gives loss 0 and weight
 * 0.  Reduction none writes loss as [N, D], and sum writes its sum.  Mean
 * writes the sum over the sum of the weights used, which is NaN when that
 * is 0.
 * The optional second output receives x' (SoftmaxCrossEntropyLoss).
 * ints: [N, C, D, reduction, has_ignore_index, ignore_index, softmax].
 * descs: x, target, [weight,] loss, [log_prob].
 */
int
rt_kernel_nll_loss(struct rt_ctx *ctx, const struct rt_node *node,
                   void *const *bufs)
{
    if (node->n_ints < 7 || node->n_inputs < 2 || node->n_inputs > 3 ||
        node->n_outputs < 1 || node->n_outputs > 2)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT,
                       "bad parameters for a loss kernel");
    const int64_t *p = node->ints;
    int64_t n_count = p[0], c_count = p[1], d_count = p[2];
    int reduction = (int)p[3];
    bool has_ignore = p[4] != 0;
    int64_t ignore = p[5];
    bool softmax = p[6] != 0;
    int n_in = node->n_inputs;
    const void *x = bufs[0], *target = bufs[1];
    const void *weight = n_in > 2 ? bufs[2] : NULL;
    int32_t dtype = node->descs[0].dtype;
    int32_t t_dtype = node->descs[1].dtype;
    int32_t w_dtype = n_in > 2 ? node->descs[2].dtype : 0;
    void *loss = bufs[n_in];
    void *log_prob = node->n_outputs > 1 ? bufs[n_in + 1] : NULL;
    if (dtype != RT_FLOAT && dtype != RT_DOUBLE)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT, "dtype %d is not supported",
                       (int)dtype);

    double total = 0, weight_total = 0;
    for (int64_t n = 0; n < n_count; n++) {
        for (int64_t d = 0; d < d_count; d++) {
            int64_t base = n * c_count * d_count + d;
            double lse =
                softmax ? log_sum_exp(x, dtype, base, c_count, d_count) : 0;
            if (log_prob)
                for (int64_t c = 0; c < c_count; c++)
                    math_store_f64(log_prob, dtype, base + c * d_count,
                                   rt_load_f64(x, dtype, base + c * d_count) -
                                       lse);
            int64_t i = n * d_count + d;
            int64_t t = rt_load_i64(target, t_dtype, i);
            double value = 0, w = 0;
            if (!has_ignore || t != ignore) {
                if (t < 0 || t >= c_count)
                    return rt_fail(ctx, node, RT_ERR_RUNTIME,
                                   "target %lld at index %lld is outside [0, "
                                   "%lld) and is not ignore_index",
                                   (long long)t, (long long)i,
                                   (long long)c_count);
                w = weight ? rt_load_f64(weight, w_dtype, t) : 1.0;
                double xt = rt_load_f64(x, dtype, base + t * d_count) - lse;
                value = -xt * w;
            }
            if (reduction == RT_LOSS_NONE)
                math_store_f64(loss, dtype, i, value);
            total += value;
            weight_total += w;
        }
    }
    if (reduction == RT_LOSS_SUM)
        math_store_f64(loss, dtype, 0, total);
    else if (reduction == RT_LOSS_MEAN)
        math_store_f64(loss, dtype, 0, total / weight_total);
    return RT_OK;
}
