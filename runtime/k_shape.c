/*
 * Data movement kernels: the plain copy behind Reshape and its relatives,
 * Transpose, Concat, Split, Slice, Expand, Tile and Pad.  They move
 * elements by size (1, 2, 4 or 8 bytes), so one kernel serves every dtype.
 * Strided copies go through one helper that first merges dims which are
 * contiguous in both source and destination, so long runs become memcpy.
 */
#include "k_shape.h"

#include <stdbool.h>
#include <string.h>

/* Tile gives a view two dims per input dim. */
#define VIEW_MAX_RANK (2 * RT_MAX_RANK)

/* Side of the square blocks that the blocked 2-D transpose copies. */
#define TRANSPOSE_BLOCK 16

/*
 * A strided copy.  The element at coordinate c (over dims) is read from
 * src + sum(c[i] * sstride[i]) and written to dst + sum(c[i] * dstride[i]).
 * Strides count elements, and source strides may be 0 or negative.
 */
struct view {
    int rank;
    int64_t dims[VIEW_MAX_RANK];
    int64_t sstride[VIEW_MAX_RANK];
    int64_t dstride[VIEW_MAX_RANK];
};

void
rt_shape_fill(void *dst, const void *elem, size_t esize, int64_t n)
{
    if (n <= 0)
        return;
    switch (esize) {
    case 1:
        memset(dst, *(const uint8_t *)elem, (size_t)n);
        break;
    case 2: {
        uint16_t v, *restrict d = dst;
        memcpy(&v, elem, 2);
        for (int64_t i = 0; i < n; i++)
            d[i] = v;
        break;
    }
    case 4: {
        uint32_t v, *restrict d = dst;
        memcpy(&v, elem, 4);
        for (int64_t i = 0; i < n; i++)
            d[i] = v;
        break;
    }
    case 8: {
        uint64_t v, *restrict d = dst;
        memcpy(&v, elem, 8);
        for (int64_t i = 0; i < n; i++)
            d[i] = v;
        break;
    }
    default:
        for (int64_t i = 0; i < n; i++)
            memcpy((char *)dst + (size_t)i * esize, elem, esize);
        break;
    }
}

/* Row-major element strides of desc's dims. */
static void
dense_strides(const struct rt_desc *d, int64_t *strides)
{
    int64_t s = 1;
    for (int i = d->rank - 1; i >= 0; i--) {
        strides[i] = s;
        s *= d->dims[i];
    }
}

static int64_t
dims_product(const int64_t *dims, int from, int to)
{
    int64_t n = 1;
    for (int i = from; i < to; i++)
        n *= dims[i];
    return n;
}

/* Drop size-1 dims and merge neighbours that are contiguous in both. */
static void
view_simplify(struct view *v)
{
    int n = 0;
    for (int i = 0; i < v->rank; i++) {
        if (v->dims[i] == 1)
            continue;
        if (n > 0 && v->sstride[n - 1] == v->sstride[i] * v->dims[i] &&
            v->dstride[n - 1] == v->dstride[i] * v->dims[i]) {
            v->dims[n - 1] *= v->dims[i];
            v->sstride[n - 1] = v->sstride[i];
            v->dstride[n - 1] = v->dstride[i];
            continue;
        }
        v->dims[n] = v->dims[i];
        v->sstride[n] = v->sstride[i];
        v->dstride[n] = v->dstride[i];
        n++;
    }
    v->rank = n;
}

#define COPY_ROW(T)                                                            \
    do {                                                                       \
        T *restrict d = (T *)dst;                                              \
        const T *restrict s = (const T *)src;                                  \
        for (int64_t i = 0; i < n; i++)                                        \
            d[i * dstep] = s[i * sstep];                                       \
    } while (0)

/* Copy n elements with the given element steps. */
static void
copy_row(char *dst, int64_t dstep, const char *src, int64_t sstep, int64_t n,
         size_t esize)
{
    if (dstep == 1 && sstep == 1) {
        memcpy(dst, src, (size_t)n * esize);
        return;
    }
    switch (esize) {
    case 1:
        COPY_ROW(uint8_t);
        break;
    case 2:
        COPY_ROW(uint16_t);
        break;
    case 4:
        COPY_ROW(uint32_t);
        break;
    case 8:
        COPY_ROW(uint64_t);
        break;
    default:
        for (int64_t i = 0; i < n; i++)
            memcpy(dst + (size_t)(i * dstep) * esize,
                   src + (size_t)(i * sstep) * esize, esize);
        break;
    }
}

/*
 * Advance coordinate c over dims[0..n) in row-major order and move the two
 * offsets along.  Wraps to all zeros after the last coordinate.
 */
static inline void
view_next(const struct view *v, int n, int64_t *c, int64_t *soff, int64_t *doff)
{
    for (int i = n - 1; i >= 0; i--) {
        *soff += v->sstride[i];
        *doff += v->dstride[i];
        if (++c[i] < v->dims[i])
            return;
        *soff -= v->sstride[i] * v->dims[i];
        *doff -= v->dstride[i] * v->dims[i];
        c[i] = 0;
    }
}

/*
 * Set c to coordinate `index` over dims[0..n) in row-major order and
 * return the source and destination offsets of that coordinate.
 */
static void
view_seek(const struct view *v, int n, int64_t index, int64_t *c, int64_t *soff,
          int64_t *doff)
{
    *soff = 0;
    *doff = 0;
    for (int i = n - 1; i >= 0; i--) {
        c[i] = index % v->dims[i];
        index /= v->dims[i];
        *soff += c[i] * v->sstride[i];
        *doff += c[i] * v->dstride[i];
    }
}

int64_t
rt_shape_tasks(struct rt_pool *pool, int64_t bytes, int64_t max_tasks)
{
    int64_t threads = rt_pool_size(pool);
    if (threads <= 1)
        return 1;
    int64_t n = bytes / RT_SHAPE_TASK_BYTES;
    if (n > 4 * threads)
        n = 4 * threads;
    if (n > max_tasks)
        n = max_tasks;
    return n < 1 ? 1 : n;
}

/* A simplified view split into tasks of whole rows of its last dim. */
struct view_job {
    struct view v;
    char *dst;
    const char *src;
    size_t esize;
    int64_t rows, rows_per_task;
};

static void
view_task(void *arg, int64_t task)
{
    const struct view_job *job = arg;
    const struct view *v = &job->v;
    int last = v->rank - 1;
    int64_t from = task * job->rows_per_task;
    int64_t to = from + job->rows_per_task < job->rows
                     ? from + job->rows_per_task
                     : job->rows;
    int64_t c[VIEW_MAX_RANK], soff, doff;
    view_seek(v, last, from, c, &soff, &doff);
    for (int64_t k = from; k < to; k++) {
        copy_row(job->dst + doff * (int64_t)job->esize, v->dstride[last],
                 job->src + soff * (int64_t)job->esize, v->sstride[last],
                 v->dims[last], job->esize);
        view_next(v, last, c, &soff, &doff);
    }
}

/*
 * Run the copy that view describes; dst and src point at coordinate 0.
 * Large copies are split into row ranges over the pool.
 */
static void
view_copy(struct rt_pool *pool, const struct view *view, char *dst,
          const char *src, size_t esize)
{
    struct view_job job = {.v = *view, .dst = dst, .src = src, .esize = esize};
    for (int i = 0; i < job.v.rank; i++)
        if (job.v.dims[i] == 0)
            return;
    view_simplify(&job.v);
    if (job.v.rank == 0) {
        memcpy(dst, src, esize);
        return;
    }
    int last = job.v.rank - 1;
    job.rows = dims_product(job.v.dims, 0, last);
    int64_t bytes = job.rows * job.v.dims[last] * (int64_t)esize;
    int64_t tasks = rt_shape_tasks(pool, bytes, job.rows);
    job.rows_per_task = (job.rows + tasks - 1) / tasks;
    if (tasks == 1)
        view_task(&job, 0);
    else
        rt_parallel_for(pool, tasks, view_task, &job);
}

/*
 * Reshape, Flatten, Squeeze and Unsqueeze: the bytes stay as they are.
 * No ints or floats; extra inputs (shape, axes) are ignored.
 */
int
rt_kernel_shape_copy(struct rt_ctx *ctx, const struct rt_node *node,
                     void *const *bufs)
{
    (void)ctx;
    const struct rt_desc *out = &node->descs[node->n_inputs];
    size_t bytes = (size_t)rt_numel(out) * rt_dtype_size(out->dtype);
    if (bytes)
        memcpy(bufs[node->n_inputs], bufs[0], bytes);
    return RT_OK;
}

#define DEFINE_TRANSPOSE_2D(name, T)                                           \
    static void name(char *dst_bytes, int64_t dld, const char *src_bytes,      \
                     int64_t sld, int64_t rows, int64_t cols)                  \
    {                                                                          \
        T *restrict dst = (T *)dst_bytes;                                      \
        const T *restrict src = (const T *)src_bytes;                          \
        for (int64_t i0 = 0; i0 < rows; i0 += TRANSPOSE_BLOCK) {               \
            int64_t i1 =                                                       \
                i0 + TRANSPOSE_BLOCK < rows ? i0 + TRANSPOSE_BLOCK : rows;     \
            for (int64_t j0 = 0; j0 < cols; j0 += TRANSPOSE_BLOCK) {           \
                int64_t j1 =                                                   \
                    j0 + TRANSPOSE_BLOCK < cols ? j0 + TRANSPOSE_BLOCK : cols; \
                for (int64_t i = i0; i < i1; i++)                              \
                    for (int64_t j = j0; j < j1; j++)                          \
                        dst[i * dld + j] = src[j * sld + i];                   \
            }                                                                  \
        }                                                                      \
    }

/* dst[i * dld + j] = src[j * sld + i] for i < rows, j < cols. */
DEFINE_TRANSPOSE_2D(transpose_2d_u8, uint8_t)
DEFINE_TRANSPOSE_2D(transpose_2d_u16, uint16_t)
DEFINE_TRANSPOSE_2D(transpose_2d_u32, uint32_t)
DEFINE_TRANSPOSE_2D(transpose_2d_u64, uint64_t)

/*
 * A simplified transpose view whose innermost output dim is strided in the
 * source.  Dim q is the one that is contiguous in the source.  The plane
 * of q and the last dim is copied in square blocks, so both reads and
 * writes stay within a few cache lines.  Tasks are (outer index, band of
 * block rows) pairs.
 */
struct transpose_job {
    struct view outer; /* every dim but q and the last */
    char *dst;
    const char *src;
    size_t esize;
    int64_t rows, cols, dld, sld;
    int64_t bands, rows_per_band;
};

static void
transpose_task(void *arg, int64_t task)
{
    const struct transpose_job *job = arg;
    int64_t c[VIEW_MAX_RANK], soff, doff;
    view_seek(&job->outer, job->outer.rank, task / job->bands, c, &soff, &doff);
    int64_t r0 = task % job->bands * job->rows_per_band;
    int64_t r1 = r0 + job->rows_per_band < job->rows ? r0 + job->rows_per_band
                                                     : job->rows;
    int64_t e = (int64_t)job->esize;
    char *d = job->dst + (doff + r0 * job->dld) * e;
    const char *s = job->src + (soff + r0) * e;
    int64_t rows = r1 - r0, cols = job->cols, dld = job->dld, sld = job->sld;
    switch (job->esize) {
    case 1:
        transpose_2d_u8(d, dld, s, sld, rows, cols);
        break;
    case 2:
        transpose_2d_u16(d, dld, s, sld, rows, cols);
        break;
    case 4:
        transpose_2d_u32(d, dld, s, sld, rows, cols);
        break;
    default:
        transpose_2d_u64(d, dld, s, sld, rows, cols);
        break;
    }
}

static void
transpose_blocked(struct rt_pool *pool, const struct view *v, int q, char *dst,
                  const char *src, size_t esize)
{
    int last = v->rank - 1;
    struct transpose_job job = {.dst = dst, .src = src, .esize = esize};
    for (int i = 0; i < last; i++) {
        if (i == q)
            continue;
        job.outer.dims[job.outer.rank] = v->dims[i];
        job.outer.sstride[job.outer.rank] = v->sstride[i];
        job.outer.dstride[job.outer.rank] = v->dstride[i];
        job.outer.rank++;
    }
    job.rows = v->dims[q];
    job.cols = v->dims[last];
    job.dld = v->dstride[q];
    job.sld = v->sstride[last];
    int64_t count = dims_product(job.outer.dims, 0, job.outer.rank);
    int64_t blocks = (job.rows + TRANSPOSE_BLOCK - 1) / TRANSPOSE_BLOCK;
    int64_t bytes = count * job.rows * job.cols * (int64_t)esize;
    int64_t tasks = rt_shape_tasks(pool, bytes, count * blocks);
    /* Split each plane into bands only when the planes are too few. */
    job.bands = tasks > count ? (tasks + count - 1) / count : 1;
    int64_t band_blocks = (blocks + job.bands - 1) / job.bands;
    job.rows_per_band = band_blocks * TRANSPOSE_BLOCK;
    job.bands = (blocks + band_blocks - 1) / band_blocks;
    if (tasks == 1) {
        for (int64_t t = 0; t < count * job.bands; t++)
            transpose_task(&job, t);
    } else {
        rt_parallel_for(pool, count * job.bands, transpose_task, &job);
    }
}

/*
 * Transpose.  ints: perm[0..rank), output dim k is input dim perm[k].
 * The kernel first merges dims that stay adjacent and drops size-1 dims.
 * A perm that then keeps the innermost dim in place copies whole rows
 * with memcpy, as for [0,2,1,3], the attention head split and merge.  A
 * perm that moves the innermost dim copies square blocks.
 */
int
rt_kernel_transpose(struct rt_ctx *ctx, const struct rt_node *node,
                    void *const *bufs)
{
    const struct rt_desc *in = &node->descs[0], *out = &node->descs[1];
    int rank = in->rank;
    size_t esize = rt_dtype_size(in->dtype);
    if (node->n_ints != rank || esize == 0 || esize > 8)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT,
                       "expected %d perm entries and a known dtype", rank);
    if (rt_numel(out) == 0)
        return RT_OK;

    int64_t istride[RT_MAX_RANK], ostride[RT_MAX_RANK];
    dense_strides(in, istride);
    dense_strides(out, ostride);
    struct view v = {.rank = rank};
    for (int k = 0; k < rank; k++) {
        int64_t p = node->ints[k];
        if (p < 0 || p >= rank)
            return rt_fail(ctx, node, RT_ERR_ARGUMENT,
                           "perm entry %lld is out of range", (long long)p);
        if (out->dims[k] != in->dims[p])
            return rt_fail(ctx, node, RT_ERR_SHAPE,
                           "output dim %d does not match input dim %lld", k,
                           (long long)p);
        v.dims[k] = out->dims[k];
        v.sstride[k] = istride[p];
        v.dstride[k] = ostride[k];
    }
    view_simplify(&v);

    int q = -1;
    for (int i = 0; i + 1 < v.rank; i++)
        if (v.sstride[i] == 1)
            q = i;
    if (q >= 0 && v.sstride[v.rank - 1] != 1)
        transpose_blocked(ctx->pool, &v, q, bufs[1], bufs[0], esize);
    else
        view_copy(ctx->pool, &v, bufs[1], bufs[0], esize);
    return RT_OK;
}

/* Check that ints[0] is an axis of desc and return it in *axis. */
static int
axis_param(struct rt_ctx *ctx, const struct rt_node *node,
           const struct rt_desc *desc, int *axis)
{
    if (node->n_ints < 1 || node->ints[0] < 0 || node->ints[0] >= desc->rank)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT,
                       "the axis parameter is missing or out of range");
    *axis = (int)node->ints[0];
    return RT_OK;
}

/*
 * Concat and Split move runs between one joined tensor and its parts.
 * For each index o of the dims before axis, part p owns a run of
 * dims_p[axis] * inner elements, and the parts' runs lie side by side in
 * the joined tensor.  Tasks are ranges of o.
 */
struct join_job {
    const struct rt_desc *parts; /* n_parts descs */
    void *const *part_bufs;
    int n_parts;
    char *joined;
    size_t joined_run; /* bytes per index o in the joined tensor */
    bool split;        /* copy joined -> parts instead of parts -> joined */
    int axis;
    size_t esize;
    int64_t outer, inner, per_task;
};

static void
join_task(void *arg, int64_t task)
{
    const struct join_job *job = arg;
    int64_t from = task * job->per_task;
    int64_t to =
        from + job->per_task < job->outer ? from + job->per_task : job->outer;
    for (int64_t o = from; o < to; o++) {
        char *joined = job->joined + (size_t)o * job->joined_run;
        for (int p = 0; p < job->n_parts; p++) {
            size_t run = (size_t)(job->parts[p].dims[job->axis] * job->inner) *
                         job->esize;
            if (run == 0)
                continue;
            char *part = (char *)job->part_bufs[p] + (size_t)o * run;
            if (job->split)
                memcpy(part, joined, run);
            else
                memcpy(joined, part, run);
            joined += run;
        }
    }
}

/* Run a join job; fails when the parts' axis dims do not add up. */
static int
join_run(struct rt_ctx *ctx, const struct rt_node *node, struct join_job *job,
         const struct rt_desc *joined)
{
    int64_t sum = 0;
    for (int p = 0; p < job->n_parts; p++)
        sum += job->parts[p].dims[job->axis];
    if (sum != joined->dims[job->axis])
        return rt_fail(ctx, node, RT_ERR_SHAPE,
                       "the parts' axis dims add up to %lld, not %lld",
                       (long long)sum, (long long)joined->dims[job->axis]);
    job->esize = rt_dtype_size(joined->dtype);
    job->outer = dims_product(joined->dims, 0, job->axis);
    job->inner = dims_product(joined->dims, job->axis + 1, joined->rank);
    job->joined_run =
        (size_t)(joined->dims[job->axis] * job->inner) * job->esize;
    if (job->outer == 0 || job->joined_run == 0)
        return RT_OK;
    int64_t tasks = rt_shape_tasks(
        ctx->pool, job->outer * (int64_t)job->joined_run, job->outer);
    job->per_task = (job->outer + tasks - 1) / tasks;
    if (tasks == 1)
        join_task(job, 0);
    else
        rt_parallel_for(ctx->pool, tasks, join_task, job);
    return RT_OK;
}

/*
 * Concat.  ints: [axis], in [0, rank).  Zero-size inputs contribute
 * nothing.
 */
int
rt_kernel_concat(struct rt_ctx *ctx, const struct rt_node *node,
                 void *const *bufs)
{
    int n_in = node->n_inputs;
    const struct rt_desc *out = &node->descs[n_in];
    struct join_job job = {.parts = node->descs,
                           .part_bufs = bufs,
                           .n_parts = n_in,
                           .joined = bufs[n_in],
                           .split = false};
    if (axis_param(ctx, node, out, &job.axis) != RT_OK)
        return RT_ERR_ARGUMENT;
    return join_run(ctx, node, &job, out);
}

/*
 * Split, the mirror image of Concat.  ints: [axis], in [0, rank).  The
 * output dims give the sizes of the parts.
 */
int
rt_kernel_split(struct rt_ctx *ctx, const struct rt_node *node,
                void *const *bufs)
{
    const struct rt_desc *in = &node->descs[0];
    struct join_job job = {.parts = node->descs + node->n_inputs,
                           .part_bufs = bufs + node->n_inputs,
                           .n_parts = node->n_outputs,
                           .joined = bufs[0],
                           .split = true};
    if (axis_param(ctx, node, in, &job.axis) != RT_OK)
        return RT_ERR_ARGUMENT;
    return join_run(ctx, node, &job, in);
}

/*
 * Slice.  ints: [start_0, step_0, start_1, step_1, ...], one pair per
 * input dim, with starts already clamped to the dim; the output dims give
 * the element counts.  Unsliced dims have start 0 and step 1.
 */
int
rt_kernel_slice(struct rt_ctx *ctx, const struct rt_node *node,
                void *const *bufs)
{
    const struct rt_desc *in = &node->descs[0];
    const struct rt_desc *out = &node->descs[node->n_inputs];
    if (node->n_ints != 2 * in->rank)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT,
                       "expected %d slice parameters, got %d", 2 * in->rank,
                       (int)node->n_ints);
    if (rt_numel(out) == 0)
        return RT_OK;
    size_t esize = rt_dtype_size(in->dtype);
    int64_t istride[RT_MAX_RANK], ostride[RT_MAX_RANK];
    dense_strides(in, istride);
    dense_strides(out, ostride);
    struct view v = {.rank = in->rank};
    int64_t base = 0;
    for (int d = 0; d < in->rank; d++) {
        int64_t start = node->ints[2 * d], step = node->ints[2 * d + 1];
        int64_t n = out->dims[d];
        if (start < 0 || start >= in->dims[d] || start + (n - 1) * step < 0 ||
            start + (n - 1) * step >= in->dims[d])
            return rt_fail(ctx, node, RT_ERR_ARGUMENT,
                           "slice of dim %d leaves the input", d);
        base += start * istride[d];
        v.dims[d] = n;
        v.sstride[d] = step * istride[d];
        v.dstride[d] = ostride[d];
    }
    view_copy(ctx->pool, &v, bufs[node->n_inputs],
              (const char *)bufs[0] + base * (int64_t)esize, esize);
    return RT_OK;
}

/*
 * Expand.  No ints or floats.  The input dims align with the last output
 * dims; an input dim of 1 (or a missing leading one) repeats along the
 * output dim.
 */
int
rt_kernel_expand(struct rt_ctx *ctx, const struct rt_node *node,
                 void *const *bufs)
{
    const struct rt_desc *in = &node->descs[0];
    const struct rt_desc *out = &node->descs[node->n_inputs];
    size_t esize = rt_dtype_size(in->dtype);
    int64_t istride[RT_MAX_RANK], ostride[RT_MAX_RANK];
    dense_strides(in, istride);
    dense_strides(out, ostride);
    int shift = out->rank - in->rank;
    struct view v = {.rank = out->rank};
    for (int d = 0; d < out->rank; d++) {
        int id = d - shift;
        if (id >= 0 && in->dims[id] != 1 && in->dims[id] != out->dims[d])
            return rt_fail(ctx, node, RT_ERR_SHAPE,
                           "input dim %d (%lld) does not broadcast to %lld", id,
                           (long long)in->dims[id], (long long)out->dims[d]);
        v.dims[d] = out->dims[d];
        v.sstride[d] = id >= 0 && in->dims[id] != 1 ? istride[id] : 0;
        v.dstride[d] = ostride[d];
    }
    view_copy(ctx->pool, &v, bufs[node->n_inputs], bufs[0], esize);
    return RT_OK;
}

/*
 * Tile.  No ints or floats; repeats[i] = output dim / input dim.  Output
 * index a * dim + b along dim i reads input index b, so the copy is a view
 * with two dims per input dim: (repeat a, source stride 0) and (b).
 */
int
rt_kernel_tile(struct rt_ctx *ctx, const struct rt_node *node,
               void *const *bufs)
{
    const struct rt_desc *in = &node->descs[0];
    const struct rt_desc *out = &node->descs[node->n_inputs];
    if (rt_numel(out) == 0)
        return RT_OK;
    size_t esize = rt_dtype_size(in->dtype);
    int64_t istride[RT_MAX_RANK], ostride[RT_MAX_RANK];
    dense_strides(in, istride);
    dense_strides(out, ostride);
    struct view v = {.rank = 2 * in->rank};
    for (int d = 0; d < in->rank; d++) {
        if (out->dims[d] % in->dims[d] != 0)
            return rt_fail(ctx, node, RT_ERR_SHAPE,
                           "output dim %d is not a multiple of the input's", d);
        v.dims[2 * d] = out->dims[d] / in->dims[d];
        v.sstride[2 * d] = 0;
        v.dstride[2 * d] = in->dims[d] * ostride[d];
        v.dims[2 * d + 1] = in->dims[d];
        v.sstride[2 * d + 1] = istride[d];
        v.dstride[2 * d + 1] = ostride[d];
    }
    view_copy(ctx->pool, &v, bufs[node->n_inputs], bufs[0], esize);
    return RT_OK;
}

/*
 * The input index that output index o of a dim reads, given `before` pad
 * elements (negative crops) and an input dim of size; -1 for the constant.
 */
static int64_t
pad_source(int64_t o, int64_t before, int64_t size, int mode)
{
    int64_t x = o - before;
    if (x >= 0 && x < size)
        return x;
    if (size <= 0)
        return -1;
    switch (mode) {
    case RT_PAD_EDGE:
        return x < 0 ? 0 : size - 1;
    case RT_PAD_REFLECT: {
        if (size == 1)
            return 0;
        int64_t period = 2 * (size - 1);
        x %= period;
        if (x < 0)
            x += period;
        return x < size ? x : period - x;
    }
    case RT_PAD_WRAP:
        x %= size;
        return x < 0 ? x + size : x;
    default:
        return -1;
    }
}

static int64_t
clamp64(int64_t x, int64_t lo, int64_t hi)
{
    if (x < lo)
        return lo;
    if (x > hi)
        return hi;
    return x;
}

/*
 * Pad.  ints: [mode (enum rt_pad_mode), before_0, ..., before_{rank-1}]:
 * the pad at the start of each dim, negative to crop; the output dims
 * give the end pads.  Input 2, when present, contains the constant value
 * (dtype of the data); without it the constant is zero.  Each output row
 * copies its in-range middle with memcpy and maps the pad elements one by
 * one.
 */
int
rt_kernel_pad(struct rt_ctx *ctx, const struct rt_node *node, void *const *bufs)
{
    const struct rt_desc *in = &node->descs[0];
    const struct rt_desc *out = &node->descs[node->n_inputs];
    int rank = in->rank;
    if (node->n_ints != rank + 1)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT,
                       "expected %d pad parameters, got %d", rank + 1,
                       (int)node->n_ints);
    int mode = (int)node->ints[0];
    const int64_t *before = node->ints + 1;
    size_t esize = rt_dtype_size(in->dtype);
    uint64_t value = 0;
    if (node->n_inputs > 2 && bufs[2] && node->descs[2].dtype != 0 &&
        rt_numel(&node->descs[2]) > 0)
        memcpy(&value, bufs[2], esize);
    if (rt_numel(out) == 0)
        return RT_OK;
    char *dst = bufs[node->n_inputs];
    const char *src = bufs[0];
    if (rank == 0) {
        memcpy(dst, src, esize);
        return RT_OK;
    }

    int last = rank - 1;
    int64_t istride[RT_MAX_RANK];
    dense_strides(in, istride);
    int64_t width = out->dims[last], in_width = in->dims[last];
    int64_t lo = clamp64(before[last], 0, width);
    int64_t hi = clamp64(before[last] + in_width, lo, width);
    int64_t rows = dims_product(out->dims, 0, last);
    int64_t c[RT_MAX_RANK] = {0};
    size_t row_bytes = (size_t)width * esize;
    for (int64_t r = 0; r < rows; r++, dst += row_bytes) {
        int64_t off = 0;
        bool inside = true;
        for (int i = 0; i < last && inside; i++) {
            int64_t x = pad_source(c[i], before[i], in->dims[i], mode);
            inside = x >= 0;
            off += x * istride[i];
        }
        for (int i = last - 1; i >= 0; i--) {
            if (++c[i] < out->dims[i])
                break;
            c[i] = 0;
        }
        if (!inside) {
            rt_shape_fill(dst, &value, esize, width);
            continue;
        }
        const char *row = src + off * (int64_t)esize;
        for (int64_t o = 0; o < width; o++) {
            if (o == lo && hi > lo) {
                memcpy(dst + (size_t)lo * esize,
                       row + (lo - before[last]) * (int64_t)esize,
                       (size_t)(hi - lo) * esize);
                o = hi - 1;
                continue;
            }
            int64_t x = pad_source(o, before[last], in_width, mode);
            memcpy(dst + (size_t)o * esize,
                   x >= 0 ? row + x * (int64_t)esize : (const char *)&value,
                   esize);
        }
    }
    return RT_OK;
}

/*
 * DepthToSpace and SpaceToDepth on [N, C, H, W], as a Transpose of a 6-D
 * view with block size b (C' = C / b^2 for DepthToSpace):
 *   DCR: [N, b, b, C', H, W] perm [0, 3, 4, 1, 5, 2] -> [N, C', H*b, W*b]
 *   CRD: [N, C', b, b, H, W] perm [0, 1, 4, 2, 5, 3] -> [N, C', H*b, W*b]
 *   SpaceToDepth: [N, C, H/b, b, W/b, b] perm [0, 3, 5, 1, 2, 4]
 *                                                -> [N, C*b*b, H/b, W/b]
 * ints: [mode (enum rt_depth_mode), b].  descs: x, y.
 */
int
rt_kernel_depth_to_space(struct rt_ctx *ctx, const struct rt_node *node,
                         void *const *bufs)
{
    const struct rt_desc *in = &node->descs[0];
    if (node->n_ints != 2 || in->rank != 4 || node->ints[1] < 1)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT,
                       "expected a 4-D input, a mode and a block size");
    int64_t mode = node->ints[0], b = node->ints[1];
    int64_t n = in->dims[0], c = in->dims[1], h = in->dims[2], w = in->dims[3];
    struct rt_desc view[2] = {{.dtype = in->dtype, .rank = 6},
                              {.dtype = in->dtype, .rank = 6}};
    int64_t perm[6];
    if (mode == RT_SPACE_TO_DEPTH) {
        int64_t dims[6] = {n, c, h / b, b, w / b, b};
        int64_t p[6] = {0, 3, 5, 1, 2, 4};
        memcpy(view[0].dims, dims, sizeof(dims));
        memcpy(perm, p, sizeof(p));
    } else if (mode == RT_DEPTH_TO_SPACE_CRD) {
        int64_t dims[6] = {n, c / (b * b), b, b, h, w};
        int64_t p[6] = {0, 1, 4, 2, 5, 3};
        memcpy(view[0].dims, dims, sizeof(dims));
        memcpy(perm, p, sizeof(p));
    } else {
        int64_t dims[6] = {n, b, b, c / (b * b), h, w};
        int64_t p[6] = {0, 3, 4, 1, 5, 2};
        memcpy(view[0].dims, dims, sizeof(dims));
        memcpy(perm, p, sizeof(p));
    }
    for (int k = 0; k < 6; k++)
        view[1].dims[k] = view[0].dims[perm[k]];
    if (rt_numel(&view[0]) != rt_numel(in))
        return rt_fail(ctx, node, RT_ERR_SHAPE,
                       "the block size %lld does not divide the input",
                       (long long)b);
    struct rt_node t = *node;
    t.descs = view;
    t.ints = perm;
    t.n_ints = 6;
    return rt_kernel_transpose(ctx, &t, bufs);
}
