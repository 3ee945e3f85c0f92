/*
 * Det: the determinant of each matrix of a [..., M, M] tensor, by LU
 * decomposition with partial pivoting in double.
 */
#include "k_math.h"

#include <math.h>
#include <stdlib.h>

/*
 * ints: [M].  descs: x, y; y has one element per matrix.
 */
int
rt_kernel_det(struct rt_ctx *ctx, const struct rt_node *node, void *const *bufs)
{
    if (node->n_ints != 1)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT, "bad parameters");
    int64_t m = node->ints[0];
    int32_t dtype = node->descs[0].dtype;
    int64_t count = rt_numel(&node->descs[1]);
    double *a = malloc((size_t)(m * m > 0 ? m * m : 1) * sizeof(double));
    if (!a)
        return rt_fail(ctx, node, RT_ERR_MEMORY,
                       "no memory for a %lldx%lld "
                       "matrix",
                       (long long)m, (long long)m);
    for (int64_t b = 0; b < count; b++) {
        for (int64_t i = 0; i < m * m; i++)
            a[i] = rt_load_f64(bufs[0], dtype, b * m * m + i);
        double det = 1;
        for (int64_t c = 0; c < m && det != 0; c++) {
            int64_t pivot = c;
            for (int64_t r = c + 1; r < m; r++)
                if (fabs(a[r * m + c]) > fabs(a[pivot * m + c]))
                    pivot = r;
            if (a[pivot * m + c] == 0) {
                det = 0;
                break;
            }
            if (pivot != c) {
                for (int64_t k = 0; k < m; k++) {
                    double t = a[c * m + k];
                    a[c * m + k] = a[pivot * m + k];
                    a[pivot * m + k] = t;
                }
                det = -det;
            }
            det *= a[c * m + c];
            for (int64_t r = c + 1; r < m; r++) {
                double f = a[r * m + c] / a[c * m + c];
                for (int64_t k = c; k < m; k++)
                    a[r * m + k] -= f * a[c * m + k];
            }
        }
        math_store_f64(bufs[1], dtype, b, det);
    }
    free(a);
    return RT_OK;
}
