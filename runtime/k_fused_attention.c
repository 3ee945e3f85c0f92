/*
 * Scaled dot-product attention, softmax(q k^T * scale + mask) v, computed
 * one query row at a time over blocks of keys with a running maximum and
 * sum (online softmax), so the [batch, T, S] score tensor never exists.
 * Tasks are (batch item, block of query rows) pairs on the thread pool.
 *
 * Results equal the unfused MatMul, Mul/Div, Add/Where, Softmax, MatMul
 * up to float rounding, including the edge cases: a row whose scores are
 * all -inf, or that contains +inf or NaN, is NaN, as Softmax makes it; and a
 * masked key whose value row contains inf or NaN still poisons the output,
 * as 0 * inf does in the second MatMul.
 */
#include "k_fused.h"

#include <math.h>
#include <stdbool.h>

enum {
    KEY_BLOCK = 64,  /* keys scored together */
    ROW_BLOCK = 16,  /* query rows per task */
    HEAD_MAX = 1024, /* largest head size D or Dv (stack buffers) */
    MASK_DIMS = 8,   /* batch dims of the scores, at most */
};

struct attention_job {
    int64_t batch, t, s, d, dv;
    bool k_transposed;
    int q_scale_mode, scale_mode, mask_kind;
    float q_scale, scale, fill;
    int n_batch_dims;
    int64_t batch_dims[MASK_DIMS];
    int64_t mask_batch_step[MASK_DIMS];
    int64_t mask_t_step, mask_s_step;
    int64_t row_blocks;
    const float *q, *k, *v;
    const void *mask;
    float *out;
};

static inline float
scaled(int mode, float x, float c)
{
    if (mode == RT_ATTENTION_SCALE_MUL)
        return x * c;
    if (mode == RT_ATTENTION_SCALE_DIV)
        return x / c;
    return x;
}

/* The dot product of two rows of n floats, in eight lanes. */
static float
dot8(const float *restrict a, const float *restrict b, int64_t n)
{
    float lane[8] = {0};
    int64_t j = 0;
    for (; j + 8 <= n; j += 8)
        for (int l = 0; l < 8; l++)
            lane[l] += a[j + l] * b[j + l];
    float s = 0;
    for (; j < n; j++)
        s += a[j] * b[j];
    for (int l = 0; l < 8; l++)
        s += lane[l];
    return s;
}

/* Element offset of the mask for batch item b, before t and s steps. */
static int64_t
mask_base(const struct attention_job *p, int64_t b)
{
    int64_t off = 0;
    for (int i = p->n_batch_dims - 1; i >= 0; i--) {
        off += b % p->batch_dims[i] * p->mask_batch_step[i];
        b /= p->batch_dims[i];
    }
    return off;
}

/* Scores q . k_j for keys j0 .. j0 + nk of one batch item into s. */
static void
score_block(const struct attention_job *p, const float *restrict q,
            const float *k, int64_t j0, int64_t nk, float *restrict s)
{
    if (p->k_transposed) {
        /* k is [D, S]: accumulate row d of k into all nk scores. */
        for (int64_t j = 0; j < nk; j++)
            s[j] = 0;
        for (int64_t d = 0; d < p->d; d++) {
            const float *restrict kd = k + d * p->s + j0;
            float qd = q[d];
            for (int64_t j = 0; j < nk; j++)
                s[j] += qd * kd[j];
        }
    } else {
        for (int64_t j = 0; j < nk; j++)
            s[j] = dot8(q, k + (j0 + j) * p->d, p->d);
    }
}

/* Apply the scale and the mask of row t to the scores of keys j0 ... */
static void
mask_block(const struct attention_job *p, int64_t base, int64_t t, int64_t j0,
           int64_t nk, float *restrict s)
{
    for (int64_t j = 0; j < nk; j++)
        s[j] = scaled(p->scale_mode, s[j], p->scale);
    if (p->mask_kind == RT_ATTENTION_MASK_NONE)
        return;
    int64_t off = base + t * p->mask_t_step + j0 * p->mask_s_step;
    if (p->mask_kind == RT_ATTENTION_MASK_ADD) {
        const float *m = (const float *)p->mask + off;
        for (int64_t j = 0; j < nk; j++)
            s[j] += m[j * p->mask_s_step];
        return;
    }
    const uint8_t *m = (const uint8_t *)p->mask + off;
    bool keep_true = p->mask_kind == RT_ATTENTION_MASK_KEEP_TRUE;
    for (int64_t j = 0; j < nk; j++) {
        bool cond = m[j * p->mask_s_step] != 0;
        s[j] = cond == keep_true ? s[j] : p->fill;
    }
}

/*
 * Attention of one query row: out[dv] from q[d].
 * TODO: score several query rows per key block, as a GEMM tile does; one
 * row at a time loads each k and v element for a single multiply-add, so
 * at T = S = 128, D = 64 the kernel is no faster than the unfused ops.
 */
static void
attention_row(const struct attention_job *p, int64_t b, int64_t t, int64_t base)
{
    const float *q = p->q + (b * p->t + t) * p->d;
    const float *k = p->k + b * p->s * p->d;
    const float *v = p->v + b * p->s * p->dv;
    float *restrict out = p->out + (b * p->t + t) * p->dv;
    float qs[HEAD_MAX], acc[HEAD_MAX], s[KEY_BLOCK];

    for (int64_t d = 0; d < p->d; d++)
        qs[d] = scaled(p->q_scale_mode, q[d], p->q_scale);
    for (int64_t d = 0; d < p->dv; d++)
        acc[d] = 0;
    float m = -INFINITY, l = 0;
    bool nan_seen = false;
    for (int64_t j0 = 0; j0 < p->s; j0 += KEY_BLOCK) {
        int64_t nk = p->s - j0 < KEY_BLOCK ? p->s - j0 : KEY_BLOCK;
        score_block(p, qs, k, j0, nk, s);
        mask_block(p, base, t, j0, nk, s);

        /* The maximum ignores NaN as Softmax's does; NaN poisons later. */
        float m_new = m;
        for (int64_t j = 0; j < nk; j++) {
            nan_seen |= s[j] != s[j];
            m_new = s[j] > m_new ? s[j] : m_new;
        }
        /*
         * While every score so far is -inf the weights stay 0 (not
         * exp(-inf - -inf) = NaN), so that a later finite score starts
         * the sum cleanly; an all -inf row becomes NaN at the end.
         */
        float corr = 1;
        if (m_new != -INFINITY) {
            corr = m == m_new ? 1.0f : expf(m - m_new);
            for (int64_t j = 0; j < nk; j++)
                s[j] = expf(s[j] - m_new);
        } else {
            for (int64_t j = 0; j < nk; j++)
                s[j] = 0;
        }
        float block_sum = 0;
        for (int64_t j = 0; j < nk; j++)
            block_sum += s[j];
        l = l * corr + block_sum;
        for (int64_t d = 0; d < p->dv; d++)
            acc[d] *= corr;
        for (int64_t j = 0; j < nk; j++) {
            const float *restrict vj = v + (j0 + j) * p->dv;
            float w = s[j];
            for (int64_t d = 0; d < p->dv; d++)
                acc[d] += w * vj[d];
        }
        m = m_new;
    }
    if (p->s > 0 && (m == -INFINITY || nan_seen)) {
        for (int64_t d = 0; d < p->dv; d++)
            out[d] = NAN;
        return;
    }
    /* With no keys the weights are empty and the product is zero. */
    float inv = p->s > 0 ? 1.0f / l : 0.0f;
    for (int64_t d = 0; d < p->dv; d++)
        out[d] = p->s > 0 ? acc[d] * inv : 0.0f;
}

static void
attention_task(void *arg, int64_t task)
{
    const struct attention_job *p = arg;
    int64_t b = task / p->row_blocks;
    int64_t t0 = task % p->row_blocks * ROW_BLOCK;
    int64_t t1 = t0 + ROW_BLOCK < p->t ? t0 + ROW_BLOCK : p->t;
    int64_t base = p->mask ? mask_base(p, b) : 0;
    for (int64_t t = t0; t < t1; t++)
        attention_row(p, b, t, base);
}

/*
 * Attention over batch items (the leading dims of the scores, flattened).
 * Inputs q [batch, T, D]; k [batch, S, D], or [batch, D, S] when k is
 * given transposed; v [batch, S, Dv]; optional mask, float for an additive
 * mask and bool for a Where.  Output [batch, T, Dv].
 * ints: batch, T, S, D, Dv, k transposed, q scale mode, score scale mode
 * (enum rt_attention_scale), mask kind (enum rt_attention_mask), nb, then
 * nb batch dim sizes, then nb + 2 mask steps in elements (batch dims, T,
 * S; 0 where the mask broadcasts).  floats: q scale, score scale, fill
 * value of a Where mask.
 */
int
rt_kernel_attention(struct rt_ctx *ctx, const struct rt_node *node,
                    void *const *bufs)
{
    const int64_t *in = node->ints;
    if (node->n_ints < 10 || node->n_floats != 3 || in[9] < 0 ||
        in[9] > MASK_DIMS || node->n_ints != 10 + 2 * in[9] + 2 ||
        node->n_inputs < 3)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT, "bad parameters");
    for (int i = 0; i < 3; i++)
        if (node->descs[i].dtype != RT_FLOAT)
            return rt_fail(ctx, node, RT_ERR_SHAPE,
                           "input %d has dtype %d; only float32 is "
                           "supported",
                           i, (int)node->descs[i].dtype);
    struct attention_job p = {
        .batch = in[0],
        .t = in[1],
        .s = in[2],
        .d = in[3],
        .dv = in[4],
        .k_transposed = in[5] != 0,
        .q_scale_mode = (int)in[6],
        .scale_mode = (int)in[7],
        .mask_kind = (int)in[8],
        .n_batch_dims = (int)in[9],
        .q_scale = (float)node->floats[0],
        .scale = (float)node->floats[1],
        .fill = (float)node->floats[2],
        .q = bufs[0],
        .k = bufs[1],
        .v = bufs[2],
        .mask = node->n_inputs > 3 ? bufs[3] : NULL,
        .out = bufs[node->n_inputs],
    };
    if (p.d > HEAD_MAX || p.dv > HEAD_MAX)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT,
                       "head sizes %lld and %lld must be at most %d",
                       (long long)p.d, (long long)p.dv, HEAD_MAX);
    if (!p.mask)
        p.mask_kind = RT_ATTENTION_MASK_NONE;
    const int64_t *steps = in + 10 + p.n_batch_dims;
    for (int i = 0; i < p.n_batch_dims; i++) {
        p.batch_dims[i] = in[10 + i] > 0 ? in[10 + i] : 1;
        p.mask_batch_step[i] = steps[i];
    }
    p.mask_t_step = steps[p.n_batch_dims];
    p.mask_s_step = steps[p.n_batch_dims + 1];
    if (p.batch == 0 || p.t == 0 || p.dv == 0)
        return RT_OK;
    p.row_blocks = (p.t + ROW_BLOCK - 1) / ROW_BLOCK;
    rt_parallel_for(ctx->pool, p.batch * p.row_blocks, attention_task, &p);
    return RT_OK;
}
