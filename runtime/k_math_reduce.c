/*
 * Reductions: the Reduce* family, ArgMax/ArgMin and TopK.  Reductions
 * accumulate floating-point data in double and integer data in 64 bits,
 * which wrap on overflow.  The thread pool gets output elements, or
 * chunks of contiguous output elements, as units of work.
 */
#include "k_math.h"

#include <math.h>

enum {
    SEG = 256,           /* elements loaded and combined at a time */
    TASK_WORK = 1 << 14, /* input elements a task aims at */
    OP_SUM_EXP = 100,    /* internal: sum of exp(x - shift), for LSE */
};

/*
 * A reduction over collapsed dims.  In the row form the last input dim is
 * reduced and contiguous: each output combines segments of seg elements.
 * In the column form the last dim is kept: each task combines up to SEG
 * contiguous outputs of one row at once.
 */
struct reduce_job {
    int op;
    int32_t dtype, out_dtype;
    int acc_float;     /* accumulate in double (else in int64) */
    int flip;          /* uint64 MAX/MIN: compare with the top bit flipped */
    int n_kept, n_red; /* kept dims exclude the last one in column form */
    int64_t kept_dim[RT_MAX_RANK], kept_stride[RT_MAX_RANK];
    int64_t red_dim[RT_MAX_RANK], red_stride[RT_MAX_RANK];
    int64_t n_iter; /* segments (row form) or elements (column form) */
    int64_t count;  /* reduced elements per output */
    int64_t seg;    /* row form: last dim; column form: outputs per row */
    int column;
    int64_t units, per_task, chunks;
    const void *x;
    void *y;
};

/* Load n elements at x[off] into buf as doubles. */
static void
load_f64(const struct reduce_job *p, int64_t off, int64_t n, double *buf)
{
    switch (p->dtype) {
    case RT_FLOAT: {
        const float *x = (const float *)p->x + off;
        for (int64_t i = 0; i < n; i++)
            buf[i] = x[i];
        break;
    }
    case RT_DOUBLE:
        memcpy(buf, (const double *)p->x + off, (size_t)n * sizeof(double));
        break;
    default:
        for (int64_t i = 0; i < n; i++)
            buf[i] = rt_load_f64(p->x, p->dtype, off + i);
        break;
    }
}

/* Load n elements at x[off] into buf as int64; see flip. */
static void
load_i64(const struct reduce_job *p, int64_t off, int64_t n, int64_t *buf)
{
    for (int64_t i = 0; i < n; i++)
        buf[i] = rt_load_i64(p->x, p->dtype, off + i);
    if (p->flip)
        for (int64_t i = 0; i < n; i++)
            buf[i] ^= INT64_MIN;
}

static double
identity_f64(int op)
{
    switch (op) {
    case RT_REDUCE_PROD:
        return 1;
    case RT_REDUCE_MAX:
        return -INFINITY;
    case RT_REDUCE_MIN:
        return INFINITY;
    default:
        return 0;
    }
}

static int64_t
identity_i64(int op)
{
    switch (op) {
    case RT_REDUCE_PROD:
        return 1;
    case RT_REDUCE_MAX:
        return INT64_MIN;
    case RT_REDUCE_MIN:
        return INT64_MAX;
    default:
        return 0;
    }
}

/* The sum of v[0..n) in four lanes so that it vectorises. */
static double
sum_lanes(const double *v, int64_t n)
{
    double lane[4] = {0};
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int l = 0; l < 4; l++)
            lane[l] += v[i + l];
    double s = (lane[0] + lane[1]) + (lane[2] + lane[3]);
    for (; i < n; i++)
        s += v[i];
    return s;
}

/* Combine a segment v[0..n) into the scalar acc; v is overwritten. */
static double
combine_seg_f64(int op, double acc, double *v, int64_t n, double shift)
{
    switch (op) {
    case RT_REDUCE_PROD:
        for (int64_t i = 0; i < n; i++)
            acc *= v[i];
        return acc;
    case RT_REDUCE_MAX:
        for (int64_t i = 0; i < n; i++)
            acc = v[i] > acc || v[i] != v[i] ? v[i] : acc;
        return acc;
    case RT_REDUCE_MIN:
        for (int64_t i = 0; i < n; i++)
            acc = v[i] < acc || v[i] != v[i] ? v[i] : acc;
        return acc;
    case RT_REDUCE_L1:
        for (int64_t i = 0; i < n; i++)
            v[i] = fabs(v[i]);
        break;
    case RT_REDUCE_L2:
    case RT_REDUCE_SUM_SQUARE:
        for (int64_t i = 0; i < n; i++)
            v[i] *= v[i];
        break;
    case OP_SUM_EXP:
        for (int64_t i = 0; i < n; i++)
            v[i] = exp(v[i] - shift);
        break;
    default:
        break;
    }
    return acc + sum_lanes(v, n);
}

/* Combine v[0..n) elementwise into acc[0..n). */
static void
combine_vec_f64(int op, double *restrict acc, const double *restrict v,
                int64_t n, const double *restrict shift)
{
    switch (op) {
    case RT_REDUCE_PROD:
        for (int64_t i = 0; i < n; i++)
            acc[i] *= v[i];
        break;
    case RT_REDUCE_MAX:
        for (int64_t i = 0; i < n; i++)
            acc[i] = v[i] > acc[i] || v[i] != v[i] ? v[i] : acc[i];
        break;
    case RT_REDUCE_MIN:
        for (int64_t i = 0; i < n; i++)
            acc[i] = v[i] < acc[i] || v[i] != v[i] ? v[i] : acc[i];
        break;
    case RT_REDUCE_L1:
        for (int64_t i = 0; i < n; i++)
            acc[i] += fabs(v[i]);
        break;
    case RT_REDUCE_L2:
    case RT_REDUCE_SUM_SQUARE:
        for (int64_t i = 0; i < n; i++)
            acc[i] += v[i] * v[i];
        break;
    case OP_SUM_EXP:
        for (int64_t i = 0; i < n; i++)
            acc[i] += exp(v[i] - shift[i]);
        break;
    default:
        for (int64_t i = 0; i < n; i++)
            acc[i] += v[i];
        break;
    }
}

/* Combine v[0..n) elementwise into acc[0..n), wrapping on overflow. */
static void
combine_vec_i64(int op, int64_t *restrict acc, const int64_t *restrict v,
                int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        uint64_t a = (uint64_t)acc[i], x = (uint64_t)v[i];
        switch (op) {
        case RT_REDUCE_PROD:
            a *= x;
            break;
        case RT_REDUCE_MAX:
            a = v[i] > acc[i] ? x : a;
            break;
        case RT_REDUCE_MIN:
            a = v[i] < acc[i] ? x : a;
            break;
        case RT_REDUCE_L1:
            a += v[i] < 0 ? -x : x;
            break;
        case RT_REDUCE_SUM_SQUARE:
            a += x * x;
            break;
        default:
            a += x;
            break;
        }
        memcpy(&acc[i], &a, sizeof(a));
    }
}

/* The dtype's smallest (want_max 0) or largest value, for empty MAX/MIN. */
static int64_t
int_limit(int32_t dtype, int want_max)
{
    switch (dtype) {
    case RT_INT8:
        return want_max ? INT8_MAX : INT8_MIN;
    case RT_UINT8:
        return want_max ? UINT8_MAX : 0;
    case RT_INT16:
        return want_max ? INT16_MAX : INT16_MIN;
    case RT_UINT16:
        return want_max ? UINT16_MAX : 0;
    case RT_INT32:
        return want_max ? INT32_MAX : INT32_MIN;
    case RT_UINT32:
        return want_max ? (int64_t)UINT32_MAX : 0;
    case RT_INT64:
        return want_max ? INT64_MAX : INT64_MIN;
    case RT_UINT64:
        return want_max ? -1 : 0;
    default:
        return 0;
    }
}

/* Finish one float accumulator and store it as output element o. */
static void
store_f64(const struct reduce_job *p, int64_t o, double acc, double m)
{
    switch (p->op) {
    case RT_REDUCE_MEAN:
        acc /= (double)p->count;
        break;
    case RT_REDUCE_L2:
        acc = sqrt(acc);
        break;
    case RT_REDUCE_LOG_SUM:
        acc = log(acc);
        break;
    case RT_REDUCE_LOG_SUM_EXP:
        /* m is the max: -inf for an empty or all -inf input. */
        acc = isfinite(m) ? m + log(acc) : m;
        break;
    default:
        break;
    }
    if (math_is_float(p->out_dtype)) {
        math_store_f64(p->y, p->out_dtype, o, acc);
        return;
    }
    /* Integer outputs of L2, LogSum and LogSumExp truncate, as astype. */
    int64_t v = isfinite(acc) ? (int64_t)acc : 0;
    math_store_i64(p->y, p->out_dtype, o, v);
}

/* Finish one integer accumulator and store it as output element o. */
static void
store_i64(const struct reduce_job *p, int64_t o, int64_t acc)
{
    if (p->op == RT_REDUCE_MEAN)
        acc = p->count ? acc / p->count : 0;
    if ((p->op == RT_REDUCE_MAX || p->op == RT_REDUCE_MIN) && !p->count)
        acc = int_limit(p->dtype, p->op == RT_REDUCE_MIN);
    else if (p->flip)
        acc ^= INT64_MIN;
    math_store_i64(p->y, p->out_dtype, o, acc);
}

/* Offset in x of the first element that feeds output unit u. */
static int64_t
kept_offset(const struct reduce_job *p, int64_t u)
{
    int64_t off = 0;
    for (int d = p->n_kept - 1; d >= 0; d--) {
        off += u % p->kept_dim[d] * p->kept_stride[d];
        u /= p->kept_dim[d];
    }
    return off;
}

/* Step the odometer idx over the reduced dims; returns the offset delta. */
static int64_t
next_reduced(const struct reduce_job *p, int64_t *idx)
{
    int64_t delta = 0;
    for (int d = p->n_red - 1; d >= 0; d--) {
        delta += p->red_stride[d];
        if (++idx[d] < p->red_dim[d])
            break;
        delta -= p->red_stride[d] * p->red_dim[d];
        idx[d] = 0;
    }
    return delta;
}

/* Row form, float accumulation: output o reduces n_iter segments. */
static void
reduce_row_f64(const struct reduce_job *p, int64_t o)
{
    double buf[SEG];
    int64_t base = kept_offset(p, o);
    double m = 0, acc;
    for (int phase = p->op == RT_REDUCE_LOG_SUM_EXP ? 0 : 1; phase < 2;
         phase++) {
        int op = p->op;
        if (op == RT_REDUCE_LOG_SUM_EXP)
            op = phase == 0 ? RT_REDUCE_MAX : OP_SUM_EXP;
        acc = identity_f64(op);
        int64_t idx[RT_MAX_RANK] = {0}, off = base;
        for (int64_t it = 0; it < p->n_iter; it++) {
            for (int64_t s = 0; s < p->seg; s += SEG) {
                int64_t n = p->seg - s < SEG ? p->seg - s : SEG;
                load_f64(p, off + s, n, buf);
                acc = combine_seg_f64(op, acc, buf, n, m);
            }
            off += next_reduced(p, idx);
        }
        if (phase == 0) {
            m = acc;
            if (isinf(m) || m != m)
                break;
        }
    }
    store_f64(p, o, acc, m);
}

/* Row form, integer accumulation. */
static void
reduce_row_i64(const struct reduce_job *p, int64_t o)
{
    int64_t buf[SEG], acc = identity_i64(p->op);
    int64_t idx[RT_MAX_RANK] = {0}, off = kept_offset(p, o);
    for (int64_t it = 0; it < p->n_iter; it++) {
        for (int64_t s = 0; s < p->seg; s += SEG) {
            int64_t n = p->seg - s < SEG ? p->seg - s : SEG;
            load_i64(p, off + s, n, buf);
            for (int64_t i = 0; i < n; i++)
                combine_vec_i64(p->op, &acc, &buf[i], 1);
        }
        off += next_reduced(p, idx);
    }
    store_i64(p, o, acc);
}

/* Column form: outputs c0..c0+w of row r over every reduced element. */
static void
reduce_cols(const struct reduce_job *p, int64_t r, int64_t c0, int64_t w)
{
    int64_t base = kept_offset(p, r) + c0;
    int64_t obase = r * p->seg + c0;

    if (!p->acc_float) {
        int64_t buf[SEG], acc[SEG];
        for (int64_t c = 0; c < w; c++)
            acc[c] = identity_i64(p->op);
        int64_t idx[RT_MAX_RANK] = {0}, off = base;
        for (int64_t it = 0; it < p->n_iter; it++) {
            load_i64(p, off, w, buf);
            combine_vec_i64(p->op, acc, buf, w);
            off += next_reduced(p, idx);
        }
        for (int64_t c = 0; c < w; c++)
            store_i64(p, obase + c, acc[c]);
        return;
    }

    double buf[SEG], acc[SEG], mx[SEG], shift[SEG];
    for (int64_t c = 0; c < w; c++)
        mx[c] = shift[c] = 0;
    for (int phase = p->op == RT_REDUCE_LOG_SUM_EXP ? 0 : 1; phase < 2;
         phase++) {
        int op = p->op;
        if (op == RT_REDUCE_LOG_SUM_EXP)
            op = phase == 0 ? RT_REDUCE_MAX : OP_SUM_EXP;
        for (int64_t c = 0; c < w; c++)
            acc[c] = identity_f64(op);
        int64_t idx[RT_MAX_RANK] = {0}, off = base;
        for (int64_t it = 0; it < p->n_iter; it++) {
            load_f64(p, off, w, buf);
            combine_vec_f64(op, acc, buf, w, shift);
            off += next_reduced(p, idx);
        }
        if (phase == 0) {
            for (int64_t c = 0; c < w; c++) {
                mx[c] = acc[c];
                shift[c] = isfinite(mx[c]) ? mx[c] : 0;
            }
        }
    }
    for (int64_t c = 0; c < w; c++)
        store_f64(p, obase + c, acc[c], mx[c]);
}

static void
reduce_task(void *arg, int64_t t)
{
    const struct reduce_job *p = arg;
    if (p->column) {
        int64_t r = t / p->chunks, c0 = t % p->chunks * SEG;
        int64_t w = p->seg - c0 < SEG ? p->seg - c0 : SEG;
        reduce_cols(p, r, c0, w);
        return;
    }
    int64_t u1 = (t + 1) * p->per_task;
    if (u1 > p->units)
        u1 = p->units;
    for (int64_t u = t * p->per_task; u < u1; u++) {
        if (p->acc_float)
            reduce_row_f64(p, u);
        else
            reduce_row_i64(p, u);
    }
}

/* Fill the dims, strides and work split of the job from the parameters. */
static int
reduce_setup(struct reduce_job *p, const int64_t *ints, int n_ints)
{
    int nd = (int)ints[1];
    if (nd < 0 || nd > RT_MAX_RANK || n_ints != 2 + 2 * nd)
        return -1;
    const int64_t *dims = ints + 2, *red = ints + 2 + nd;
    int64_t stride = 1;
    int64_t kd[RT_MAX_RANK], ks[RT_MAX_RANK], rd[RT_MAX_RANK], rs[RT_MAX_RANK];
    int nk = 0, nr = 0;
    for (int d = nd - 1; d >= 0; d--) {
        if (red[d]) {
            rd[nr] = dims[d];
            rs[nr++] = stride;
        } else {
            kd[nk] = dims[d];
            ks[nk++] = stride;
        }
        stride *= dims[d];
    }
    /* The arrays above run innermost first; the job wants outermost first. */
    for (int i = 0; i < nk; i++) {
        p->kept_dim[i] = kd[nk - 1 - i];
        p->kept_stride[i] = ks[nk - 1 - i];
    }
    for (int i = 0; i < nr; i++) {
        p->red_dim[i] = rd[nr - 1 - i];
        p->red_stride[i] = rs[nr - 1 - i];
    }
    p->n_kept = nk;
    p->n_red = nr;
    p->count = 1;
    for (int i = 0; i < nr; i++)
        p->count *= p->red_dim[i];
    p->column = nd > 0 && !red[nd - 1];
    if (p->column) {
        p->seg = p->kept_dim[--p->n_kept];
        p->n_iter = p->count;
    } else {
        p->seg = nr > 0 ? p->red_dim[--p->n_red] : 1;
        p->n_iter = p->seg ? p->count / p->seg : 0;
        if (nr == 0)
            p->n_iter = 1;
    }
    p->units = 1;
    for (int i = 0; i < p->n_kept; i++)
        p->units *= p->kept_dim[i];
    return 0;
}

/*
 * Reduce* over any set of axes.  ints: op (enum rt_reduce_op), nd, then
 * nd collapsed input dims, then nd flags (1 = reduced).  Adjacent dims
 * may be collapsed; the output is the kept dims in order, contiguous.
 * Numeric dtypes.  An empty reduction gives the op's identity: 0 for
 * sums, 1 for Prod, -inf or the dtype's minimum for Max, NaN for a float
 * Mean.
 */
int
rt_kernel_reduce(struct rt_ctx *ctx, const struct rt_node *node,
                 void *const *bufs)
{
    struct reduce_job p = {0};
    if (node->n_ints < 2)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT, "bad parameters");
    p.op = (int)node->ints[0];
    p.dtype = node->descs[0].dtype;
    p.out_dtype = node->descs[node->n_inputs].dtype;
    p.x = bufs[0];
    p.y = bufs[node->n_inputs];
    if (rt_dtype_size(p.dtype) == 0 || p.dtype == RT_BOOL ||
        p.dtype == RT_FLOAT16 || p.dtype == RT_BFLOAT16)
        return rt_fail(ctx, node, RT_ERR_SHAPE, "dtype %d is not supported",
                       (int)p.dtype);
    p.acc_float = math_is_float(p.dtype) || p.op == RT_REDUCE_L2 ||
                  p.op == RT_REDUCE_LOG_SUM || p.op == RT_REDUCE_LOG_SUM_EXP;
    p.flip = p.dtype == RT_UINT64 &&
             (p.op == RT_REDUCE_MAX || p.op == RT_REDUCE_MIN);
    if (reduce_setup(&p, node->ints, node->n_ints) != 0)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT, "bad parameters");
    if (p.units == 0 || (p.seg == 0 && p.column))
        return RT_OK;

    int64_t tasks;
    if (p.column) {
        p.chunks = (p.seg + SEG - 1) / SEG;
        tasks = p.units * p.chunks;
    } else {
        int64_t work = p.count > 0 ? p.count : 1;
        p.per_task = TASK_WORK / work > 0 ? TASK_WORK / work : 1;
        tasks = (p.units + p.per_task - 1) / p.per_task;
    }
    rt_parallel_for(ctx->pool, tasks, reduce_task, &p);
    return RT_OK;
}

/* Data of ArgMax/ArgMin and TopK viewed as [outer, n, inner]. */
struct select_job {
    int32_t dtype;
    int64_t outer, n, inner, k;
    int is_min, last, largest;
    const void *x;
    int64_t *idx;
    void *values;
};

/*
 * Order of elements a and b of x for selection: >0 when a is greater.
 * NaN is greater than every number, as in numpy's sort order.
 */
static int
cmp_elem(const struct select_job *p, int64_t a, int64_t b)
{
    if (p->dtype == RT_INT64 || p->dtype == RT_UINT64) {
        int64_t va = rt_load_i64(p->x, p->dtype, a);
        int64_t vb = rt_load_i64(p->x, p->dtype, b);
        if (p->dtype == RT_UINT64) {
            va ^= INT64_MIN;
            vb ^= INT64_MIN;
        }
        return (va > vb) - (va < vb);
    }
    double va = rt_load_f64(p->x, p->dtype, a);
    double vb = rt_load_f64(p->x, p->dtype, b);
    if (va != va || vb != vb)
        return (va != va) - (vb != vb);
    return (va > vb) - (va < vb);
}

static void
arg_task(void *arg, int64_t o)
{
    const struct select_job *p = arg;
    for (int64_t i = 0; i < p->inner; i++) {
        int64_t base = o * p->n * p->inner + i, best = 0;
        for (int64_t k = 1; k < p->n; k++) {
            int c = cmp_elem(p, base + k * p->inner, base + best * p->inner);
            if (p->is_min)
                c = -c;
            if (c > 0 || (c == 0 && p->last))
                best = k;
        }
        p->idx[o * p->inner + i] = best;
    }
}

/*
 * ArgMax and ArgMin along the middle axis of [outer, n, inner] (n > 0;
 * infer rejects an empty axis).  ints: outer, n, inner, is_min,
 * select_last_index.  Output int64 [outer, inner].  The first NaN counts
 * as the maximum.
 */
int
rt_kernel_arg_reduce(struct rt_ctx *ctx, const struct rt_node *node,
                     void *const *bufs)
{
    if (node->n_ints != 5)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT, "bad parameters");
    struct select_job p = {
        .dtype = node->descs[0].dtype,
        .outer = node->ints[0],
        .n = node->ints[1],
        .inner = node->ints[2],
        .is_min = node->ints[3] != 0,
        .last = node->ints[4] != 0,
        .x = bufs[0],
        .idx = bufs[1],
    };
    if (p.outer * p.inner == 0)
        return RT_OK;
    if (p.n == 0)
        return rt_fail(ctx, node, RT_ERR_SHAPE,
                       "cannot select from an empty axis");
    rt_parallel_for(ctx->pool, p.outer, arg_task, &p);
    return RT_OK;
}

/*
 * True when element a (an index along the axis) ranks before b in TopK's
 * output: the larger (or smaller) value, and the lower index on a tie.
 */
static int
ranks_before(const struct select_job *p, int64_t base, int64_t a, int64_t b)
{
    int c = cmp_elem(p, base + a * p->inner, base + b * p->inner);
    if (!p->largest)
        c = -c;
    return c > 0 || (c == 0 && a < b);
}

/* Restore the heap below slot i: every parent ranks after its children. */
static void
sift_down(const struct select_job *p, int64_t base, int64_t *h, int64_t stride,
          int64_t size, int64_t i)
{
    for (;;) {
        int64_t worst = i, l = 2 * i + 1, r = l + 1;
        if (l < size && ranks_before(p, base, h[worst * stride], h[l * stride]))
            worst = l;
        if (r < size && ranks_before(p, base, h[worst * stride], h[r * stride]))
            worst = r;
        if (worst == i)
            return;
        int64_t tmp = h[i * stride];
        h[i * stride] = h[worst * stride];
        h[worst * stride] = tmp;
        i = worst;
    }
}

static void
topk_task(void *arg, int64_t o)
{
    const struct select_job *p = arg;
    size_t es = rt_dtype_size(p->dtype);
    int64_t stride = p->inner;
    for (int64_t i = 0; i < p->inner; i++) {
        int64_t base = o * p->n * p->inner + i;
        int64_t *h = p->idx + o * p->k * p->inner + i;
        /* Keep the best k seen so far in a heap whose root ranks last. */
        for (int64_t j = 0; j < p->k; j++) {
            h[j * stride] = j;
            for (int64_t c = j; c > 0;) {
                int64_t parent = (c - 1) / 2;
                if (!ranks_before(p, base, h[parent * stride], h[c * stride]))
                    break;
                int64_t tmp = h[c * stride];
                h[c * stride] = h[parent * stride];
                h[parent * stride] = tmp;
                c = parent;
            }
        }
        for (int64_t j = p->k; j < p->n; j++) {
            if (!ranks_before(p, base, j, h[0]))
                continue;
            h[0] = j;
            sift_down(p, base, h, stride, p->k, 0);
        }
        /* Heap sort: move the last-ranked to the end, best first. */
        for (int64_t s = p->k - 1; s > 0; s--) {
            int64_t tmp = h[0];
            h[0] = h[s * stride];
            h[s * stride] = tmp;
            sift_down(p, base, h, stride, s, 0);
        }
        for (int64_t j = 0; j < p->k; j++) {
            int64_t dst = o * p->k * p->inner + j * stride + i;
            memcpy((char *)p->values + dst * (int64_t)es,
                   (const char *)p->x +
                       (base + h[j * stride] * p->inner) * (int64_t)es,
                   es);
        }
    }
}

/*
 * TopK along the middle axis of [outer, n, inner].  ints: outer, n, inner,
 * k, largest.  Inputs X and K (not read: infer resolved it); outputs
 * Values [outer, k, inner] like X and Indices int64.  Results are always
 * sorted; equal values keep the lower index first.
 */
int
rt_kernel_topk(struct rt_ctx *ctx, const struct rt_node *node,
               void *const *bufs)
{
    if (node->n_ints != 5)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT, "bad parameters");
    struct select_job p = {
        .dtype = node->descs[0].dtype,
        .outer = node->ints[0],
        .n = node->ints[1],
        .inner = node->ints[2],
        .k = node->ints[3],
        .largest = node->ints[4] != 0,
        .x = bufs[0],
        .values = bufs[node->n_inputs],
        .idx = bufs[node->n_inputs + 1],
    };
    if (p.k < 0 || p.k > p.n)
        return rt_fail(ctx, node, RT_ERR_RUNTIME,
                       "k = %lld is outside [0, %lld]", (long long)p.k,
                       (long long)p.n);
    if (rt_dtype_size(p.dtype) == 0)
        return rt_fail(ctx, node, RT_ERR_SHAPE, "dtype %d is not supported",
                       (int)p.dtype);
    if (p.outer * p.inner == 0 || p.k == 0)
        return RT_OK;
    rt_parallel_for(ctx->pool, p.outer, topk_task, &p);
    return RT_OK;
}
