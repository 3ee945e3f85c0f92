/*
 * Einsum as a loop nest over index labels.  Shape inference parses the
 * equation into labels, each with a size and, per operand, a stride (the
 * sum of the strides of every axis carrying it, which yields diagonals, or
 * 0 where the operand lacks it or broadcasts it).  Output labels come
 * first, summed labels after; each output element sums the product of its
 * operands over the summed labels.
 */
#include "k_math.h"

enum {
    MAX_LABELS = 64,
    OUT_PER_TASK = 256, /* output elements per task */
};

struct einsum_job {
    int32_t dtype;
    int n_in, n_labels, n_out_labels;
    const int64_t *dims;    /* [n_labels] */
    const int64_t *strides; /* [n_in][n_labels] */
    int64_t out_count, sum_count;
    void *const *bufs;
};

/* The product of the operands at offsets off[], as double or int64. */
static double
product_f64(const struct einsum_job *p, const int64_t *off)
{
    double v = 1;
    for (int i = 0; i < p->n_in; i++)
        v *= rt_load_f64(p->bufs[i], p->dtype, off[i]);
    return v;
}

static uint64_t
product_u64(const struct einsum_job *p, const int64_t *off)
{
    uint64_t v = 1;
    for (int i = 0; i < p->n_in; i++)
        v *= (uint64_t)rt_load_i64(p->bufs[i], p->dtype, off[i]);
    return v;
}

/* Output element o: the sum over every combination of summed labels. */
static void
einsum_one(const struct einsum_job *p, int64_t o, int64_t *off)
{
    int64_t idx[MAX_LABELS] = {0};
    int first = p->n_out_labels, nl = p->n_labels;
    double sum = 0;
    uint64_t isum = 0;
    int is_float = math_is_float(p->dtype);

    for (int64_t it = 0; it < p->sum_count; it++) {
        if (is_float)
            sum += product_f64(p, off);
        else
            isum += product_u64(p, off);
        for (int l = nl - 1; l >= first; l--) {
            for (int i = 0; i < p->n_in; i++)
                off[i] += p->strides[i * nl + l];
            if (++idx[l] < p->dims[l])
                break;
            for (int i = 0; i < p->n_in; i++)
                off[i] -= p->strides[i * nl + l] * p->dims[l];
            idx[l] = 0;
        }
    }
    void *y = p->bufs[p->n_in];
    if (is_float)
        math_store_f64(y, p->dtype, o, sum);
    else
        math_store_i64(y, p->dtype, o, (int64_t)isum);
}

static void
einsum_task(void *arg, int64_t t)
{
    const struct einsum_job *p = arg;
    int64_t o0 = t * OUT_PER_TASK;
    int64_t o1 =
        o0 + OUT_PER_TASK < p->out_count ? o0 + OUT_PER_TASK : p->out_count;
    int nl = p->n_labels;

    for (int64_t o = o0; o < o1; o++) {
        int64_t off[MAX_LABELS] = {0}, rest = o;
        for (int l = p->n_out_labels - 1; l >= 0; l--) {
            int64_t idx = rest % p->dims[l];
            rest /= p->dims[l];
            for (int i = 0; i < p->n_in; i++)
                off[i] += idx * p->strides[i * nl + l];
        }
        einsum_one(p, o, off);
    }
}

/*
 * Einsum.  ints: n_in, n_labels, n_out_labels, then n_labels label sizes
 * (output labels first, in output order), then n_in rows of n_labels
 * strides in elements.  Inputs n_in tensors of one dtype; output
 * contiguous over the output labels.  Floats accumulate in double,
 * integers in 64 bits with wrap-around.
 */
int
rt_kernel_einsum(struct rt_ctx *ctx, const struct rt_node *node,
                 void *const *bufs)
{
    const int64_t *in = node->ints;
    if (node->n_ints < 3 || in[1] > MAX_LABELS || in[0] > MAX_LABELS ||
        node->n_ints != 3 + in[1] * (1 + in[0]) || in[2] > in[1])
        return rt_fail(ctx, node, RT_ERR_ARGUMENT, "bad parameters");
    struct einsum_job p = {
        .dtype = node->descs[0].dtype,
        .n_in = (int)in[0],
        .n_labels = (int)in[1],
        .n_out_labels = (int)in[2],
        .dims = in + 3,
        .strides = in + 3 + in[1],
        .bufs = bufs,
    };
    if (rt_dtype_size(p.dtype) == 0 || p.dtype == RT_BOOL ||
        p.dtype == RT_FLOAT16 || p.dtype == RT_BFLOAT16)
        return rt_fail(ctx, node, RT_ERR_SHAPE, "dtype %d is not supported",
                       (int)p.dtype);
    p.out_count = 1;
    for (int l = 0; l < p.n_out_labels; l++)
        p.out_count *= p.dims[l];
    p.sum_count = 1;
    for (int l = p.n_out_labels; l < p.n_labels; l++)
        p.sum_count *= p.dims[l];
    if (p.out_count == 0)
        return RT_OK;
    /* NOTE: a plain loop nest; batched products do not use the GEMM path. */
    rt_parallel_for(ctx->pool, (p.out_count + OUT_PER_TASK - 1) / OUT_PER_TASK,
                    einsum_task, &p);
    return RT_OK;
}
