/*
 * Conv over 1 to 6 spatial dims.  float32 runs as GEMMs on the core of
 * k_gemm.c: for image n and group g, Y[n, g] (M/group x P output
 * positions) = W[g] (M/group x K) times the im2col matrix of X[n, g]
 * (K = C/group * kernel taps rows, P columns).  A task builds one block of
 * that matrix's columns straight into the GEMM's packed panel layout and
 * multiplies it.  A 1x1 conv without stride or padding reads X in place.
 * float64, and float32 depthwise convolutions with too few taps to feed a
 * GEMM, use a direct loop.
 */
#include "k_conv.h"
#include "k_gemm.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum {
    COL_FLOATS = 64 * 1024, /* im2col block of a task: 256 KiB */
    COL_ROWS_MAX = 256,     /* rows of that block (KC of k_gemm.c) */
    ROW_ALIGN = 8,          /* row blocks of W are multiples of this */
};

struct conv_job {
    struct rt_window w;
    int32_t dtype;
    int64_t batch, c, m, group;
    int64_t cg, mg, k; /* C / group, M / group, cg * taps */
    const void *x, *wt, *bias;
    void *y;
    int64_t nr;     /* GEMM panel width, an enum rt_gemm_panel value */
    bool pointwise; /* 1x1, stride 1, no padding: X is the matrix */
    /* The GEMM path's tasks: column blocks of P times row blocks of W. */
    int64_t col_block, col_blocks;
    int64_t row_block, row_blocks;
    int64_t k_block; /* rows of the im2col matrix built at once */
    int failed;      /* an im2col buffer could not be allocated; atomic */
};

/* ---- the direct loop ---- */

/* Add weight times the input to acc[j]. */
#define MUL_ADD_STEP(T, weight, acc, src, j, S)                                \
    do {                                                                       \
        acc[j] += (weight) * (src)[(j) * (S)];                                 \
    } while (0)

/*
 * One task of the direct loop: the output rows of plane (n, m) that
 * rt_window_task_rows gives it.  Each output is the bias plus, for every
 * channel of the group and kernel row inside the input, each tap of the
 * last dim swept across a chunk of the output row.
 */
#define DEFINE_CONV_DIRECT(NAME, T)                                            \
    static void NAME(void *arg, int64_t task)                                  \
    {                                                                          \
        const struct conv_job *job = arg;                                      \
        const struct rt_window *w = &job->w;                                   \
        int last = w->n - 1;                                                   \
        int64_t plane, row, o[RT_WINDOW_MAX_DIMS];                             \
        int64_t rows = rt_window_task_rows(w, task, &plane, o, &row);          \
        int64_t n = plane / job->m, m = plane % job->m, g = m / job->mg;       \
        const T *x =                                                           \
            (const T *)job->x + (n * job->c + g * job->cg) * w->in_size;       \
        const T *wm = (const T *)job->wt + m * job->k;                         \
        T bias = job->bias ? ((const T *)job->bias)[m] : 0;                    \
        int64_t s = w->stride[last], width = w->out[last];                     \
        for (int64_t r = 0; r < rows; r++, rt_window_next_row(w, o)) {         \
            T *y = (T *)job->y + plane * w->out_size + (row + r) * width;      \
            for (int64_t o0 = 0; o0 < width; o0 += RT_WINDOW_CHUNK) {          \
                int64_t o1 = o0 + RT_WINDOW_CHUNK < width                      \
                                 ? o0 + RT_WINDOW_CHUNK                        \
                                 : width;                                      \
                T sum[RT_WINDOW_CHUNK];                                        \
                for (int64_t j = 0; j < o1 - o0; j++)                          \
                    sum[j] = bias;                                             \
                for (int64_t c = 0; c < job->cg; c++) {                        \
                    const T *xc = x + c * w->in_size;                          \
                    const T *wc = wm + c * w->k_size;                          \
                    struct rt_window_rows it;                                  \
                    int64_t in_row, k_row;                                     \
                    int any = rt_window_rows_begin(&it, w, o);                 \
                    while (any && rt_window_rows_next(&it, &in_row, &k_row)) { \
                        for (int64_t t = 0; t < w->kernel[last]; t++) {        \
                            int64_t lo, hi, first;                             \
                            rt_window_last_range(w, t, o0, o1, &lo, &hi,       \
                                                 &first);                      \
                            const T *src = xc + in_row + first + o0 * s;       \
                            T wt = wc[k_row + t];                              \
                            RT_WINDOW_SWEEP(MUL_ADD_STEP, T, wt, sum, src,     \
                                            lo - o0, hi - o0, s);              \
                        }                                                      \
                    }                                                          \
                }                                                              \
                for (int64_t j = o0; j < o1; j++)                              \
                    y[j] = sum[j - o0];                                        \
            }                                                                  \
        }                                                                      \
    }

DEFINE_CONV_DIRECT(conv_direct_f32, float)
DEFINE_CONV_DIRECT(conv_direct_f64, double)

/* ---- the GEMM path ---- */

/*
 * Copy n floats.  The runs of pack_columns are at most one panel (32
 * floats) long, and a call to memcpy would cost more than the copy, so
 * they are copied as fixed-size blocks, which compile to plain loads and
 * stores.  A loop would be turned back into a call.
 */
static inline void
copy_floats(float *restrict dst, const float *restrict src, int64_t n)
{
    if (n > 32) {
        memcpy(dst, src, sizeof(float) * (size_t)n);
        return;
    }
    for (int size = 32; size >= 1; size /= 2) {
        if (n & size) {
            __builtin_memcpy(dst, src, sizeof(float) * (size_t)size);
            dst += size;
            src += size;
        }
    }
}

/*
 * Fill dst[0, count) with src[t * stride] for t in [lo, hi) and zeros
 * elsewhere.  src may be NULL when hi <= lo.
 */
static inline void
fill_row(const float *src, int64_t stride, int64_t lo, int64_t hi,
         int64_t count, float *restrict dst)
{
    for (int64_t t = 0; t < lo; t++)
        dst[t] = 0;
    if (stride == 1)
        copy_floats(dst + lo, src + lo, hi - lo);
    else
        for (int64_t t = lo; t < hi; t++)
            dst[t] = src[t * stride];
    for (int64_t t = hi > lo ? hi : lo; t < count; t++)
        dst[t] = 0;
}

enum {
    TAPS_CACHED = 64, /* taps of the last dim whose ranges a run caches */
};

/*
 * Write rows [l0, l1) and columns [j0, j1) of the im2col matrix of x (one
 * image, one group) into buf in the packed layout of rt_gemm_pack_b for
 * a (l1 - l0) x (j1 - j0) matrix.  Row l is channel l / taps at the tap
 * l % taps; column j is output position j in row-major order.  The
 * columns go in runs that stay in one panel and one row of the last
 * output dim, and each run fills its part of every row.  Within a run,
 * the columns that tap t of the last dim finds inside the input depend
 * only on t, and the input row only on the channel and the outer taps.
 */
static void
pack_columns(const struct conv_job *job, const float *x, int64_t l0, int64_t l1,
             int64_t j0, int64_t j1, float *restrict buf)
{
    const struct rt_window *w = &job->w;
    int last = w->n - 1;
    int64_t kb = l1 - l0, nr = job->nr;
    int64_t s = w->stride[last], k_last = w->kernel[last];
    for (int64_t j = j0; j < j1;) {
        int64_t base[RT_WINDOW_MAX_DIMS], pos = j;
        for (int i = last; i >= 0; i--) {
            base[i] = pos % w->out[i] * w->stride[i] - w->pad_begin[i];
            pos /= w->out[i];
        }
        int64_t panel = (j - j0) / nr, p0 = j0 + panel * nr;
        int64_t p1 = p0 + nr < j1 ? p0 + nr : j1;
        int64_t end = j + w->out[last] - (base[last] + w->pad_begin[last]) / s;
        if (end > p1)
            end = p1;
        int64_t count = end - j;
        int64_t range[TAPS_CACHED][2];
        for (int64_t t = 0; t < k_last && t < TAPS_CACHED; t++) {
            int64_t first = base[last] + t * w->dilation[last];
            rt_window_taps_between(first, s, count, 0, w->in[last],
                                   &range[t][0], &range[t][1]);
            if (range[t][0] > count)
                range[t][0] = count;
        }
        float *dst = buf + panel * nr * kb + (j - p0);
        int64_t tap[RT_WINDOW_MAX_DIMS], c = l0;
        for (int i = last; i >= 0; i--) {
            tap[i] = c % w->kernel[i];
            c /= w->kernel[i];
        }
        const float *row = NULL;
        bool row_known = false;
        for (int64_t l = l0; l < l1; l++, dst += p1 - p0) {
            if (!row_known) {
                row = x + c * w->in_size;
                for (int i = 0; i < last && row; i++) {
                    int64_t q = base[i] + tap[i] * w->dilation[i];
                    row =
                        q >= 0 && q < w->in[i] ? row + q * w->in_step[i] : NULL;
                }
                row_known = true;
            }
            int64_t t = tap[last], first = base[last] + t * w->dilation[last];
            int64_t lo = 0, hi = 0;
            if (row && t < TAPS_CACHED) {
                lo = range[t][0];
                hi = range[t][1];
            } else if (row) {
                rt_window_taps_between(first, s, count, 0, w->in[last], &lo,
                                       &hi);
                if (lo > count)
                    lo = count;
            }
            fill_row(row ? row + first : NULL, s, lo, hi, count, dst);
            int i = last;
            while (i >= 0 && ++tap[i] == w->kernel[i])
                tap[i--] = 0;
            c += i < 0;
            row_known = i == last;
        }
        j = end;
    }
}

/* Set rows [i0, i1) and columns [j0, j1) of y (ld columns) to the bias. */
static void
fill_bias(const float *bias, float *y, int64_t ld, int64_t i0, int64_t i1,
          int64_t j0, int64_t j1)
{
    for (int64_t i = i0; i < i1; i++)
        for (int64_t j = j0; j < j1; j++)
            y[i * ld + j] = bias[i];
}

static void
conv_gemm_task(void *arg, int64_t task)
{
    struct conv_job *job = arg;
    const struct rt_window *w = &job->w;
    int64_t per_item = job->col_blocks * job->row_blocks;
    int64_t item = task / per_item;
    int64_t cb = task % per_item / job->row_blocks;
    int64_t rb = task % job->row_blocks;
    int64_t n = item / job->group, g = item % job->group;
    int64_t p = w->out_size;
    const float *x =
        (const float *)job->x + (n * job->c + g * job->cg) * w->in_size;
    const float *wg = (const float *)job->wt + g * job->mg * job->k;
    float *y = (float *)job->y + (n * job->m + g * job->mg) * p;
    int64_t j0 = cb * job->col_block;
    int64_t j1 = j0 + job->col_block < p ? j0 + job->col_block : p;
    int64_t i0 = rb * job->row_block;
    int64_t i1 = i0 + job->row_block < job->mg ? i0 + job->row_block : job->mg;
    float beta = 0.0f;
    if (job->bias) {
        fill_bias((const float *)job->bias + g * job->mg, y, p, i0, i1, j0, j1);
        beta = 1.0f;
    }
    struct rt_gemm gm = {
        .m = job->mg,
        .alpha = 1.0f,
        .a_rs = job->k,
        .a_cs = 1,
        .b = {.nr = (int32_t)job->nr},
        .ldc = p,
    };
    if (job->pointwise) {
        gm.n = p;
        gm.k = job->k;
        gm.a = wg;
        gm.b.data = x;
        gm.b.rs = p;
        gm.b.cs = 1;
        gm.c = y;
        gm.ep.beta = beta;
        rt_gemm_tile(&gm, i0, i1, j0, j1);
        return;
    }
    /* NOTE: the memory plan gives kernels no scratch space, so each task
     * allocates its im2col block (at most COL_FLOATS floats) during the
     * run. */
    float *buf =
        malloc(sizeof(float) * (size_t)(job->k_block * job->col_block));
    if (!buf) {
        __atomic_store_n(&job->failed, 1, __ATOMIC_RELAXED);
        return;
    }
    for (int64_t l0 = 0; l0 < job->k; l0 += job->k_block) {
        int64_t l1 = l0 + job->k_block < job->k ? l0 + job->k_block : job->k;
        pack_columns(job, x, l0, l1, j0, j1, buf);
        gm.n = j1 - j0;
        gm.k = l1 - l0;
        gm.a = wg + l0;
        gm.b.data = buf;
        gm.b.packed = 1;
        gm.c = y + j0;
        gm.ep.beta = l0 == 0 ? beta : 1.0f;
        rt_gemm_tile(&gm, i0, i1, 0, j1 - j0);
    }
    free(buf);
}

static int64_t
round_up(int64_t x, int64_t to)
{
    return (x + to - 1) / to * to;
}

static int64_t
ceil_div(int64_t x, int64_t y)
{
    return (x + y - 1) / y;
}

/*
 * Split the GEMMs into tasks: column blocks of at most COL_FLOATS / k_block
 * columns, fewer when that leaves the pool's threads fewer than four
 * tasks each, then row blocks of W when the columns alone do not.
 */
static void
plan_gemm(struct conv_job *job, int n_threads)
{
    int64_t p = job->w.out_size, nr = job->nr;
    int64_t items = job->batch * job->group;
    int64_t want = 4 * (int64_t)n_threads;
    job->k_block = ceil_div(job->k, ceil_div(job->k, COL_ROWS_MAX));
    int64_t cols = COL_FLOATS / job->k_block / nr * nr;
    job->col_block = cols > nr ? cols : nr;
    if (job->col_block > round_up(p, nr))
        job->col_block = round_up(p, nr);
    if (n_threads > 1 && items * ceil_div(p, job->col_block) < want) {
        int64_t per_item = ceil_div(want, items);
        int64_t block = round_up(ceil_div(p, per_item), nr);
        if (block < job->col_block)
            job->col_block = block;
    }
    job->col_blocks = ceil_div(p, job->col_block);
    job->row_block = job->mg;
    job->row_blocks = 1;
    if (n_threads > 1 && items * job->col_blocks < want &&
        job->mg >= 2 * ROW_ALIGN) {
        int64_t parts = ceil_div(want, items * job->col_blocks);
        job->row_block = round_up(ceil_div(job->mg, parts), ROW_ALIGN);
        job->row_blocks = ceil_div(job->mg, job->row_block);
    }
}

static bool
is_pointwise(const struct rt_window *w)
{
    for (int i = 0; i < w->n; i++)
        if (w->kernel[i] != 1 || w->stride[i] != 1 || w->pad_begin[i] != 0 ||
            w->in[i] != w->out[i])
            return false;
    return true;
}

/* Check the descriptors of X, W, B and Y against the parameters. */
static bool
conv_shapes_ok(const struct rt_node *node, const struct conv_job *job)
{
    const struct rt_window *w = &job->w;
    const struct rt_desc *x = &node->descs[0], *wt = &node->descs[1];
    const struct rt_desc *b = node->n_inputs > 2 ? &node->descs[2] : NULL;
    const struct rt_desc *y = &node->descs[node->n_inputs];
    if (x->rank != w->n + 2 || wt->rank != w->n + 2 || y->rank != w->n + 2)
        return false;
    if (x->dims[0] != job->batch || x->dims[1] != job->c ||
        wt->dims[0] != job->m || wt->dims[1] != job->cg ||
        y->dims[0] != job->batch || y->dims[1] != job->m)
        return false;
    for (int i = 0; i < w->n; i++)
        if (x->dims[2 + i] != w->in[i] || wt->dims[2 + i] != w->kernel[i] ||
            y->dims[2 + i] != w->out[i])
            return false;
    if (wt->dtype != x->dtype || y->dtype != x->dtype)
        return false;
    return !b || b->dtype == 0 ||
           (b->dtype == x->dtype && b->rank == 1 && b->dims[0] == job->m);
}

/*
 * Conv: ints are the window block (struct rt_window), then N, C, M, group
 * and the GEMM panel width (enum rt_gemm_panel).  Inputs X [N, C, in...],
 * W [M, C / group, kernel...] and the optional bias B [M]; output Y
 * [N, M, out...].  float32 and float64.
 */
int
rt_kernel_conv(struct rt_ctx *ctx, const struct rt_node *node,
               void *const *bufs)
{
    struct conv_job job;
    memset(&job, 0, sizeof(job));
    int used = rt_window_read(node, &job.w);
    if (used < 0 || node->n_ints != used + 5 || node->n_inputs < 2 ||
        node->n_inputs > 3 || node->n_outputs != 1)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT, "bad parameters");
    const int64_t *p = node->ints + used;
    job.batch = p[0];
    job.c = p[1];
    job.m = p[2];
    job.group = p[3];
    job.nr = p[4];
    if (job.group < 1 || job.c % job.group != 0 || job.m % job.group != 0 ||
        !rt_gemm_valid_panel(job.nr))
        return rt_fail(ctx, node, RT_ERR_ARGUMENT, "bad parameters");
    job.cg = job.c / job.group;
    job.mg = job.m / job.group;
    job.k = job.cg * job.w.k_size;
    if (!conv_shapes_ok(node, &job))
        return rt_fail(ctx, node, RT_ERR_SHAPE,
                       "an input or the output does not match the "
                       "convolution's parameters");
    job.dtype = node->descs[0].dtype;
    job.x = bufs[0];
    job.wt = bufs[1];
    job.bias = node->n_inputs > 2 ? bufs[2] : NULL;
    job.y = bufs[node->n_inputs];
    if (job.dtype != RT_FLOAT && job.dtype != RT_DOUBLE)
        return rt_fail(ctx, node, RT_ERR_SHAPE, "dtype %d is not supported",
                       (int)job.dtype);
    int64_t planes = job.batch * job.m;
    if (planes == 0 || job.w.out_size == 0)
        return RT_OK;

    /* Packing costs more than the product when the GEMM has few rows
     * and a short K, so depthwise convolutions take the direct loop. */
    if (job.dtype == RT_DOUBLE || job.k == 0 || (job.mg < 4 && job.k < 64)) {
        rt_parallel_for(
            ctx->pool, rt_window_task_count(&job.w, planes),
            job.dtype == RT_DOUBLE ? conv_direct_f64 : conv_direct_f32, &job);
        return RT_OK;
    }
    job.pointwise = is_pointwise(&job.w);
    plan_gemm(&job, rt_pool_size(ctx->pool));
    rt_parallel_for(ctx->pool,
                    job.batch * job.group * job.col_blocks * job.row_blocks,
                    conv_gemm_task, &job);
    if (job.failed)
        return rt_fail(ctx, node, RT_ERR_MEMORY,
                       "out of memory for the im2col buffer");
    return RT_OK;
}
