/*
 * Kernels driven by index tensors: Gather, GatherElements, GatherND,
 * ScatterElements, ScatterND and OneHot.  Every index is checked against
 * its dim before any element moves, and a bad one fails the kernel with
 * RT_ERR_RUNTIME.  Negative indices count from the end of the dim.
 */
#include "k_shape.h"

#include <stdbool.h>
#include <string.h>

static int64_t
dims_product(const int64_t *dims, int from, int to)
{
    int64_t n = 1;
    for (int i = from; i < to; i++)
        n *= dims[i];
    return n;
}

static void
dense_strides(const struct rt_desc *d, int64_t *strides)
{
    int64_t s = 1;
    for (int i = d->rank - 1; i >= 0; i--) {
        strides[i] = s;
        s *= d->dims[i];
    }
}

/* Element i of an int32 or int64 index tensor. */
static inline int64_t
index_at(const void *buf, int32_t dtype, int64_t i)
{
    if (dtype == RT_INT32)
        return ((const int32_t *)buf)[i];
    return ((const int64_t *)buf)[i];
}

static int
check_index_dtype(struct rt_ctx *ctx, const struct rt_node *node, int input)
{
    int32_t t = node->descs[input].dtype;
    if (t != RT_INT32 && t != RT_INT64)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT,
                       "input %d must hold int32 or int64 indices", input);
    return RT_OK;
}

static int
index_error(struct rt_ctx *ctx, const struct rt_node *node, int64_t index,
            int64_t at, int axis, int64_t size)
{
    return rt_fail(ctx, node, RT_ERR_RUNTIME,
                   "index %lld (element %lld of the indices) is out of "
                   "range for axis %d of size %lld",
                   (long long)index, (long long)at, axis, (long long)size);
}

static inline void
copy_elem(char *dst, const char *src, size_t esize)
{
    switch (esize) {
    case 1:
        *(uint8_t *)dst = *(const uint8_t *)src;
        break;
    case 2:
        *(uint16_t *)dst = *(const uint16_t *)src;
        break;
    case 4:
        *(uint32_t *)dst = *(const uint32_t *)src;
        break;
    default:
        *(uint64_t *)dst = *(const uint64_t *)src;
        break;
    }
}

/* Round to nearest even, keeping a NaN's payload (rt_bf16_from_double
 * makes it the quiet NaN). */
static uint16_t
float_to_bfloat16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffff) > 0x7f800000)
        return (uint16_t)((x >> 16) | 0x40);
    x += 0x7fff + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}

static inline float
reduce_float(int reduction, float a, float b)
{
    switch (reduction) {
    case RT_SCATTER_ADD:
        return a + b;
    case RT_SCATTER_MUL:
        return a * b;
    case RT_SCATTER_MAX:
        return a > b ? a : b;
    case RT_SCATTER_MIN:
        return a < b ? a : b;
    default:
        return b;
    }
}

/* Integer add and multiply wrap around, computed in uint64_t. */
#define COMBINE(T, ADD, MUL)                                                   \
    do {                                                                       \
        T *restrict d = (T *)dst;                                              \
        const T *restrict s = (const T *)src;                                  \
        for (int64_t i = 0; i < n; i++) {                                      \
            T a = d[i], b = s[i];                                              \
            switch (reduction) {                                               \
            case RT_SCATTER_ADD:                                               \
                d[i] = (T)(ADD);                                               \
                break;                                                         \
            case RT_SCATTER_MUL:                                               \
                d[i] = (T)(MUL);                                               \
                break;                                                         \
            case RT_SCATTER_MAX:                                               \
                d[i] = a > b ? a : b;                                          \
                break;                                                         \
            case RT_SCATTER_MIN:                                               \
                d[i] = a < b ? a : b;                                          \
                break;                                                         \
            default:                                                           \
                d[i] = b;                                                      \
                break;                                                         \
            }                                                                  \
        }                                                                      \
    } while (0)

#define COMBINE_FLOAT(T) COMBINE(T, a + b, a * b)
#define COMBINE_INT(T)                                                         \
    COMBINE(T, (uint64_t)a + (uint64_t)b, (uint64_t)a * (uint64_t)b)

/*
 * dst[i] = dst[i] (reduction) src[i] for n elements of dtype.  Bool adds
 * and takes the max as logical or, multiplies and takes the min as and.
 */
static void
combine(int32_t dtype, int reduction, char *dst, const char *src, int64_t n)
{
    switch (dtype) {
    case RT_FLOAT:
        COMBINE_FLOAT(float);
        break;
    case RT_DOUBLE:
        COMBINE_FLOAT(double);
        break;
    case RT_INT8:
        COMBINE_INT(int8_t);
        break;
    case RT_UINT8:
        COMBINE_INT(uint8_t);
        break;
    case RT_INT16:
        COMBINE_INT(int16_t);
        break;
    case RT_UINT16:
        COMBINE_INT(uint16_t);
        break;
    case RT_INT32:
        COMBINE_INT(int32_t);
        break;
    case RT_UINT32:
        COMBINE_INT(uint32_t);
        break;
    case RT_INT64:
        COMBINE_INT(int64_t);
        break;
    case RT_UINT64:
        COMBINE_INT(uint64_t);
        break;
    case RT_BOOL:
        COMBINE(uint8_t, a | b, a & b);
        break;
    case RT_FLOAT16:
    case RT_BFLOAT16: {
        uint16_t *d = (uint16_t *)dst;
        const uint16_t *s = (const uint16_t *)src;
        bool half = dtype == RT_FLOAT16;
        for (int64_t i = 0; i < n; i++) {
            float a = half ? (float)rt_f16_to_double(d[i])
                           : (float)rt_bf16_to_double(d[i]);
            float b = half ? (float)rt_f16_to_double(s[i])
                           : (float)rt_bf16_to_double(s[i]);
            float r = reduce_float(reduction, a, b);
            d[i] = half ? rt_f16_from_double(r) : float_to_bfloat16(r);
        }
        break;
    }
    default:
        memcpy(dst, src, (size_t)n * rt_dtype_size(dtype));
        break;
    }
}

/*
 * Gather's copy.  Item r is index k = r % n_idx of row o = r / n_idx (an
 * index of the dims before axis), and tasks are ranges of items.  With
 * inner == 1, tasks are ranges of whole rows instead.
 */
struct gather_job {
    const char *data;
    const void *idx;
    int32_t idx_dtype;
    char *dst;
    size_t esize;
    int64_t n, n_idx, inner, outer;
    int64_t count, per_task; /* items or rows */
};

#define GATHER_SCALARS(T)                                                      \
    do {                                                                       \
        const T *restrict s = (const T *)base;                                 \
        T *restrict d = (T *)dst;                                              \
        for (int64_t k = 0; k < job->n_idx; k++) {                             \
            int64_t i = index_at(job->idx, job->idx_dtype, k);                 \
            d[k] = s[i < 0 ? i + job->n : i];                                  \
        }                                                                      \
    } while (0)

static void
gather_task(void *arg, int64_t task)
{
    const struct gather_job *job = arg;
    int64_t from = task * job->per_task;
    int64_t to =
        from + job->per_task < job->count ? from + job->per_task : job->count;
    size_t run = (size_t)job->inner * job->esize;
    if (job->inner != 1) {
        char *dst = job->dst + (size_t)from * run;
        for (int64_t r = from; r < to; r++, dst += run) {
            int64_t o = r / job->n_idx;
            int64_t i = index_at(job->idx, job->idx_dtype, r % job->n_idx);
            const char *base = job->data + (size_t)(o * job->n) * run;
            memcpy(dst, base + (size_t)(i < 0 ? i + job->n : i) * run, run);
        }
        return;
    }
    for (int64_t o = from; o < to; o++) {
        const char *base = job->data + (size_t)(o * job->n) * job->esize;
        char *dst = job->dst + (size_t)(o * job->n_idx) * job->esize;
        switch (job->esize) {
        case 1:
            GATHER_SCALARS(uint8_t);
            break;
        case 2:
            GATHER_SCALARS(uint16_t);
            break;
        case 4:
            GATHER_SCALARS(uint32_t);
            break;
        default:
            GATHER_SCALARS(uint64_t);
            break;
        }
    }
}

/*
 * Gather.  ints: [axis], in [0, data rank).  For each index of the dims
 * before axis, each index copies one run of (product of the later dims)
 * elements.  So an embedding lookup is one memcpy per id.
 */
int
rt_kernel_gather(struct rt_ctx *ctx, const struct rt_node *node,
                 void *const *bufs)
{
    const struct rt_desc *data = &node->descs[0];
    if (node->n_ints < 1 || node->ints[0] < 0 || node->ints[0] >= data->rank)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT, "axis is out of range");
    if (check_index_dtype(ctx, node, 1) != RT_OK)
        return RT_ERR_ARGUMENT;
    int axis = (int)node->ints[0];
    struct gather_job job = {.data = bufs[0],
                             .idx = bufs[1],
                             .idx_dtype = node->descs[1].dtype,
                             .dst = bufs[2],
                             .esize = rt_dtype_size(data->dtype),
                             .n = data->dims[axis],
                             .n_idx = rt_numel(&node->descs[1])};
    for (int64_t k = 0; k < job.n_idx; k++) {
        int64_t i = index_at(job.idx, job.idx_dtype, k);
        if (i < -job.n || i >= job.n)
            return index_error(ctx, node, i, k, axis, job.n);
    }

    job.outer = dims_product(data->dims, 0, axis);
    job.inner = dims_product(data->dims, axis + 1, data->rank);
    int64_t bytes = job.outer * job.n_idx * job.inner * (int64_t)job.esize;
    if (bytes == 0)
        return RT_OK;
    job.count = job.inner == 1 ? job.outer : job.outer * job.n_idx;
    int64_t tasks = rt_shape_tasks(ctx->pool, bytes, job.count);
    job.per_task = (job.count + tasks - 1) / tasks;
    if (tasks == 1)
        gather_task(&job, 0);
    else
        rt_parallel_for(ctx->pool, tasks, gather_task, &job);
    return RT_OK;
}

/* The operands of GatherElements and ScatterElements and their axis. */
struct elements_walk {
    const struct rt_desc *data, *indices;
    const void *idx;
    int axis;
};

static int
elements_check(struct rt_ctx *ctx, const struct rt_node *node,
               const struct elements_walk *w)
{
    int64_t count = rt_numel(w->indices), n = w->data->dims[w->axis];
    for (int64_t k = 0; k < count; k++) {
        int64_t i = index_at(w->idx, w->indices->dtype, k);
        if (i < -n || i >= n)
            return index_error(ctx, node, i, k, w->axis, n);
    }
    return RT_OK;
}

/*
 * Both element ops walk the index tensor in row-major order and move one
 * element per index.  They go block by block, so the array of data offsets
 * has a fixed size.
 */
#define ELEMENTS_BLOCK 1024

/*
 * Set offsets[k - from] to the data offset (in elements) that index
 * element k selects, for k in [from, to).  Indices must be checked.
 */
static void
elements_walk_block(const struct elements_walk *w, int64_t from, int64_t to,
                    int64_t *offsets)
{
    int rank = w->indices->rank;
    int64_t dstride[RT_MAX_RANK], c[RT_MAX_RANK];
    dense_strides(w->data, dstride);
    int64_t rest = from, base = 0;
    for (int d = rank - 1; d >= 0; d--) {
        c[d] = rest % w->indices->dims[d];
        rest /= w->indices->dims[d];
        if (d != w->axis)
            base += c[d] * dstride[d];
    }
    int64_t n = w->data->dims[w->axis];
    for (int64_t k = from; k < to; k++) {
        int64_t i = index_at(w->idx, w->indices->dtype, k);
        offsets[k - from] = base + (i < 0 ? i + n : i) * dstride[w->axis];
        for (int d = rank - 1; d >= 0; d--) {
            int64_t step = d == w->axis ? 0 : dstride[d];
            base += step;
            if (++c[d] < w->indices->dims[d])
                break;
            base -= step * w->indices->dims[d];
            c[d] = 0;
        }
    }
}

static int
elements_setup(struct rt_ctx *ctx, const struct rt_node *node,
               void *const *bufs, struct elements_walk *w)
{
    w->data = &node->descs[0];
    w->indices = &node->descs[1];
    w->idx = bufs[1];
    if (node->n_ints < 1 || node->ints[0] < 0 ||
        node->ints[0] >= w->data->rank || w->indices->rank != w->data->rank)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT,
                       "axis is out of range or the ranks differ");
    if (check_index_dtype(ctx, node, 1) != RT_OK)
        return RT_ERR_ARGUMENT;
    w->axis = (int)node->ints[0];
    return elements_check(ctx, node, w);
}

/*
 * GatherElements.  ints: [axis], in [0, rank).  Output element at c is
 * data at c with c[axis] replaced by indices[c].
 */
int
rt_kernel_gather_elements(struct rt_ctx *ctx, const struct rt_node *node,
                          void *const *bufs)
{
    struct elements_walk w;
    int status = elements_setup(ctx, node, bufs, &w);
    if (status != RT_OK)
        return status;
    size_t esize = rt_dtype_size(w.data->dtype);
    int64_t count = rt_numel(w.indices);
    const char *src = bufs[0];
    char *dst = bufs[2];
    int64_t offsets[ELEMENTS_BLOCK];
    for (int64_t from = 0; from < count; from += ELEMENTS_BLOCK) {
        int64_t to =
            count - from > ELEMENTS_BLOCK ? from + ELEMENTS_BLOCK : count;
        elements_walk_block(&w, from, to, offsets);
        for (int64_t k = from; k < to; k++)
            copy_elem(dst + (size_t)k * esize,
                      src + (size_t)offsets[k - from] * esize, esize);
    }
    return RT_OK;
}

static int
reduction_param(struct rt_ctx *ctx, const struct rt_node *node, int at,
                int *reduction)
{
    if (node->n_ints <= at || node->ints[at] < RT_SCATTER_NONE ||
        node->ints[at] > RT_SCATTER_MIN)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT,
                       "the reduction parameter is missing or invalid");
    *reduction = (int)node->ints[at];
    return RT_OK;
}

/*
 * ScatterElements.  ints: [axis, reduction (enum rt_scatter_reduction)].
 * The output starts as a copy of data.  Then updates[c] goes to the
 * output at c with c[axis] replaced by indices[c], in row-major order of
 * c.  Without a reduction the last of duplicate indices wins.
 */
int
rt_kernel_scatter_elements(struct rt_ctx *ctx, const struct rt_node *node,
                           void *const *bufs)
{
    struct elements_walk w;
    int status = elements_setup(ctx, node, bufs, &w);
    int reduction = RT_SCATTER_NONE;
    if (status != RT_OK)
        return status;
    if (reduction_param(ctx, node, 1, &reduction) != RT_OK)
        return RT_ERR_ARGUMENT;
    size_t esize = rt_dtype_size(w.data->dtype);
    char *dst = bufs[3];
    const char *upd = bufs[2];
    size_t bytes = (size_t)rt_numel(w.data) * esize;
    if (bytes)
        memcpy(dst, bufs[0], bytes);
    int64_t count = rt_numel(w.indices);
    int64_t offsets[ELEMENTS_BLOCK];
    for (int64_t from = 0; from < count; from += ELEMENTS_BLOCK) {
        int64_t to =
            count - from > ELEMENTS_BLOCK ? from + ELEMENTS_BLOCK : count;
        elements_walk_block(&w, from, to, offsets);
        for (int64_t k = from; k < to; k++) {
            char *d = dst + (size_t)offsets[k - from] * esize;
            if (reduction == RT_SCATTER_NONE)
                copy_elem(d, upd + (size_t)k * esize, esize);
            else
                combine(w.data->dtype, reduction, d, upd + (size_t)k * esize,
                        1);
        }
    }
    return RT_OK;
}

/*
 * The data offset (in elements) of index tuple t of an ND op: m indices
 * into dims first..first+m of data.  Returns -1 after rt_fail.
 */
static int64_t
nd_offset(struct rt_ctx *ctx, const struct rt_node *node,
          const struct rt_desc *data, const int64_t *dstride, int first,
          const void *idx, int32_t idx_dtype, int64_t t, int m)
{
    int64_t off = 0;
    for (int k = 0; k < m; k++) {
        int64_t i = index_at(idx, idx_dtype, t * m + k);
        int64_t n = data->dims[first + k];
        if (i < -n || i >= n) {
            index_error(ctx, node, i, t * m + k, first + k, n);
            return -1;
        }
        off += (i < 0 ? i + n : i) * dstride[first + k];
    }
    return off;
}

/*
 * GatherND.  ints: [batch_dims].  With b = batch_dims and m = the last
 * indices dim, each index tuple of batch j selects the slice
 * data[j, i_0, ..., i_{m-1}, ...] of (product of data dims b+m..) elements.
 */
int
rt_kernel_gather_nd(struct rt_ctx *ctx, const struct rt_node *node,
                    void *const *bufs)
{
    const struct rt_desc *data = &node->descs[0], *ind = &node->descs[1];
    if (check_index_dtype(ctx, node, 1) != RT_OK)
        return RT_ERR_ARGUMENT;
    int b = node->n_ints > 0 ? (int)node->ints[0] : 0;
    int q = ind->rank, m = q > 0 ? (int)ind->dims[q - 1] : -1;
    if (q < 1 || b < 0 || b >= q || b >= data->rank || m < 0 ||
        m > data->rank - b)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT,
                       "indices rank or batch_dims do not fit the data");
    size_t esize = rt_dtype_size(data->dtype);
    int64_t dstride[RT_MAX_RANK];
    dense_strides(data, dstride);
    int64_t batches = dims_product(data->dims, 0, b);
    int64_t per_batch = dims_product(ind->dims, b, q - 1);
    int64_t slice = dims_product(data->dims, b + m, data->rank);
    int64_t batch_size = dims_product(data->dims, b, data->rank);
    for (int64_t t = 0; t < batches * per_batch; t++)
        if (nd_offset(ctx, node, data, dstride, b, bufs[1], ind->dtype, t, m) <
            0)
            return RT_ERR_RUNTIME;

    size_t run = (size_t)slice * esize;
    if (run == 0)
        return RT_OK;
    char *dst = bufs[2];
    for (int64_t j = 0; j < batches; j++) {
        const char *base =
            (const char *)bufs[0] + (j * batch_size) * (int64_t)esize;
        for (int64_t t = j * per_batch; t < (j + 1) * per_batch; t++) {
            int64_t off = nd_offset(ctx, node, data, dstride, b, bufs[1],
                                    ind->dtype, t, m);
            memcpy(dst, base + off * (int64_t)esize, run);
            dst += run;
        }
    }
    return RT_OK;
}

/*
 * ScatterND.  ints: [reduction (enum rt_scatter_reduction)].  The output
 * starts as a copy of data.  With k = the last indices dim, update slice
 * t (of product of data dims k.. elements) then goes to the slice that
 * index tuple t selects, tuples in order.
 */
int
rt_kernel_scatter_nd(struct rt_ctx *ctx, const struct rt_node *node,
                     void *const *bufs)
{
    const struct rt_desc *data = &node->descs[0], *ind = &node->descs[1];
    int reduction = RT_SCATTER_NONE;
    if (check_index_dtype(ctx, node, 1) != RT_OK ||
        reduction_param(ctx, node, 0, &reduction) != RT_OK)
        return RT_ERR_ARGUMENT;
    int q = ind->rank, k = q > 0 ? (int)ind->dims[q - 1] : -1;
    if (q < 1 || k < 0 || k > data->rank)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT,
                       "the last indices dim does not fit the data rank");
    size_t esize = rt_dtype_size(data->dtype);
    int64_t dstride[RT_MAX_RANK];
    dense_strides(data, dstride);
    int64_t tuples = dims_product(ind->dims, 0, q - 1);
    int64_t slice = dims_product(data->dims, k, data->rank);
    for (int64_t t = 0; t < tuples; t++)
        if (nd_offset(ctx, node, data, dstride, 0, bufs[1], ind->dtype, t, k) <
            0)
            return RT_ERR_RUNTIME;

    char *dst = bufs[3];
    const char *upd = bufs[2];
    size_t bytes = (size_t)rt_numel(data) * esize;
    if (bytes)
        memcpy(dst, bufs[0], bytes);
    if (slice == 0)
        return RT_OK;
    for (int64_t t = 0; t < tuples; t++) {
        int64_t off =
            nd_offset(ctx, node, data, dstride, 0, bufs[1], ind->dtype, t, k);
        char *d = dst + off * (int64_t)esize;
        const char *s = upd + t * slice * (int64_t)esize;
        if (reduction == RT_SCATTER_NONE)
            memcpy(d, s, (size_t)slice * esize);
        else
            combine(data->dtype, reduction, d, s, slice);
    }
    return RT_OK;
}

/*
 * Element i of a OneHot indices tensor (any numeric dtype) truncated to an
 * integer; false when it has no int64 value (NaN, huge, unknown dtype).
 */
static bool
numeric_index(const void *buf, int32_t dtype, int64_t i, int64_t *out)
{
    double v;
    switch (dtype) {
    case RT_INT64:
        *out = ((const int64_t *)buf)[i];
        return true;
    case RT_INT32:
        *out = ((const int32_t *)buf)[i];
        return true;
    case RT_INT16:
        *out = ((const int16_t *)buf)[i];
        return true;
    case RT_INT8:
        *out = ((const int8_t *)buf)[i];
        return true;
    case RT_UINT8:
        *out = ((const uint8_t *)buf)[i];
        return true;
    case RT_UINT16:
        *out = ((const uint16_t *)buf)[i];
        return true;
    case RT_UINT32:
        *out = ((const uint32_t *)buf)[i];
        return true;
    case RT_UINT64:
        v = (double)((const uint64_t *)buf)[i];
        break;
    case RT_FLOAT:
        v = ((const float *)buf)[i];
        break;
    case RT_DOUBLE:
        v = ((const double *)buf)[i];
        break;
    case RT_FLOAT16:
        v = (float)rt_f16_to_double(((const uint16_t *)buf)[i]);
        break;
    case RT_BFLOAT16:
        v = (float)rt_bf16_to_double(((const uint16_t *)buf)[i]);
        break;
    default:
        return false;
    }
    if (!(v > -9.2e18 && v < 9.2e18))
        return false;
    *out = (int64_t)v;
    return true;
}

/*
 * OneHot.  ints: [axis], the new dim's position in [0, output rank).
 * Input 2 contains [off_value, on_value] in the output dtype, and the
 * output dims give the depth.  An index below zero counts from depth.  An
 * index outside [-depth, depth) sets no element to on_value.
 */
int
rt_kernel_one_hot(struct rt_ctx *ctx, const struct rt_node *node,
                  void *const *bufs)
{
    const struct rt_desc *ind = &node->descs[0];
    const struct rt_desc *out = &node->descs[node->n_inputs];
    if (node->n_ints < 1 || node->ints[0] < 0 || node->ints[0] >= out->rank)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT, "axis is out of range");
    int axis = (int)node->ints[0];
    size_t esize = rt_dtype_size(out->dtype);
    const char *values = bufs[2];
    char *dst = bufs[node->n_inputs];
    int64_t depth = out->dims[axis];
    int64_t outer = dims_product(ind->dims, 0, axis);
    int64_t inner = dims_product(ind->dims, axis, ind->rank);
    rt_shape_fill(dst, values, esize, rt_numel(out));
    for (int64_t o = 0; o < outer; o++) {
        for (int64_t i = 0; i < inner; i++) {
            int64_t v;
            if (!numeric_index(bufs[0], ind->dtype, o * inner + i, &v))
                continue;
            if (v < 0)
                v += depth;
            if (v < 0 || v >= depth)
                continue;
            copy_elem(dst + (size_t)((o * depth + v) * inner + i) * esize,
                      values + esize, esize);
        }
    }
    return RT_OK;
}

/*
 * ReverseSequence: x viewed as [outer, middle, inner] where the time and
 * batch axes are the outer two in some order.  For batch b, the first
 * seq_lens[b] time steps are reversed and the rest copied.
 * ints: [time_axis, T, B, inner].  descs: x, seq_lens, y.
 */
int
rt_kernel_reverse_sequence(struct rt_ctx *ctx, const struct rt_node *node,
                           void *const *bufs)
{
    if (node->n_ints != 4)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT, "bad parameters");
    int64_t time_axis = node->ints[0], t_count = node->ints[1];
    int64_t b_count = node->ints[2], inner = node->ints[3];
    size_t esize = rt_dtype_size(node->descs[0].dtype);
    const char *x = bufs[0];
    char *y = bufs[2];
    for (int64_t b = 0; b < b_count; b++) {
        int64_t len = rt_load_i64(bufs[1], node->descs[1].dtype, b);
        if (len < 0 || len > t_count)
            return rt_fail(ctx, node, RT_ERR_RUNTIME,
                           "sequence_lens[%lld] is %lld, outside [0, %lld]",
                           (long long)b, (long long)len, (long long)t_count);
        for (int64_t t = 0; t < t_count; t++) {
            int64_t from = t < len ? len - 1 - t : t;
            int64_t dst = time_axis == 0 ? t * b_count + b : b * t_count + t;
            int64_t src =
                time_axis == 0 ? from * b_count + b : b * t_count + from;
            memcpy(y + (size_t)(dst * inner) * esize,
                   x + (size_t)(src * inner) * esize, (size_t)inner * esize);
        }
    }
    return RT_OK;
}
