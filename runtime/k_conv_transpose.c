/*
 * ConvTranspose: every input element scatters its products with the
 * kernel into the output, at in * stride - pad_begin + tap * dilation
 * along each spatial dim.  Each output plane is summed in double.
 * NOTE: a direct loop, not the GEMM core, so large layers run slowly.
 */
#include "k_conv.h"

#include <stdbool.h>
#include <stdlib.h>

/*
 * ints: the window block of k_conv.h (in: X's spatial dims, out: Y's;
 * its pads are not read), then [N, C, M, group], then each spatial dim's
 * begin pad, which may be negative.  descs: X [N, C, ...], W [C, M / group,
 * ...], [B [M],] Y [N, M, ...].
 */
int
rt_kernel_conv_transpose(struct rt_ctx *ctx, const struct rt_node *node,
                         void *const *bufs)
{
    struct rt_window w;
    int used = rt_window_read(node, &w);
    if (used < 0 || node->n_ints != used + 4 + w.n)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT, "bad parameters");
    const int64_t *p = node->ints + used;
    int64_t n_count = p[0], c_count = p[1], m_count = p[2], groups = p[3];
    int64_t cg = c_count / groups, mg = m_count / groups;
    int32_t dtype = node->descs[0].dtype;
    if (dtype != RT_FLOAT && dtype != RT_DOUBLE)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT, "dtype %d is not supported",
                       (int)dtype);
    const void *x = bufs[0], *wt = bufs[1];
    const void *bias = node->n_inputs > 2 ? bufs[2] : NULL;
    void *y = bufs[node->n_inputs];
    double *acc =
        malloc((size_t)(w.out_size > 0 ? w.out_size : 1) * sizeof(double));
    int64_t *tap_at = malloc((size_t)w.k_size * w.n * sizeof(int64_t));
    if (!acc || !tap_at) {
        free(acc);
        free(tap_at);
        return rt_fail(ctx, node, RT_ERR_MEMORY,
                       "no memory for an output "
                       "plane");
    }
    for (int64_t t = 0; t < w.k_size; t++)
        for (int i = 0; i < w.n; i++)
            tap_at[t * w.n + i] =
                (t / w.k_step[i]) % w.kernel[i] * w.dilation[i];

    for (int64_t n = 0; n < n_count; n++) {
        for (int64_t m = 0; m < m_count; m++) {
            int64_t g = m / mg, mm = m % mg;
            double b0 = bias ? rt_load_f64(bias, dtype, m) : 0;
            for (int64_t o = 0; o < w.out_size; o++)
                acc[o] = b0;
            for (int64_t c = g * cg; c < (g + 1) * cg; c++) {
                const int64_t x_plane = (n * c_count + c) * w.in_size;
                const int64_t w_plane = (c * mg + mm) * w.k_size;
                for (int64_t ip = 0; ip < w.in_size; ip++) {
                    double xv = rt_load_f64(x, dtype, x_plane + ip);
                    int64_t base[RT_WINDOW_MAX_DIMS];
                    for (int i = 0; i < w.n; i++)
                        base[i] = (ip / w.in_step[i]) % w.in[i] * w.stride[i] -
                                  p[4 + i];
                    for (int64_t t = 0; t < w.k_size; t++) {
                        int64_t o = 0;
                        bool inside = true;
                        for (int i = 0; i < w.n && inside; i++) {
                            int64_t at = base[i] + tap_at[t * w.n + i];
                            inside = at >= 0 && at < w.out[i];
                            o = o * w.out[i] + at;
                        }
                        if (inside)
                            acc[o] += xv * rt_load_f64(wt, dtype, w_plane + t);
                    }
                }
            }
            int64_t y_plane = (n * m_count + m) * w.out_size;
            for (int64_t o = 0; o < w.out_size; o++) {
                if (dtype == RT_FLOAT)
                    ((float *)y)[y_plane + o] = (float)acc[o];
                else
                    ((double *)y)[y_plane + o] = acc[o];
            }
        }
    }
    free(acc);
    free(tap_at);
    return RT_OK;
}
