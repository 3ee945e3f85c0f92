/*
 * Scaled dot-product attention, softmax(q k^T * scale + mask) v, computed
 * over blocks of keys with a running maximum and sum per query row (online
 * softmax), so the [batch, T, S] score tensor never exists.  A tile of
 * TILE_ROWS query rows goes through each key block together, so every k
 * and v row loaded serves all of them.  Tasks are (batch item, block of
 * query rows) pairs on the thread pool.  When the heads are among the
 * batch dims, a batch item is one head of one sequence.
 *
 * Results equal the unfused MatMul, Mul/Div, Add/Where, Softmax, MatMul
 * up to float rounding, including the edge cases: a row whose scores are
 * all -inf, or that contains +inf or NaN, is NaN, as Softmax makes it; and a
 * masked key whose value row contains inf or NaN still poisons the output,
 * as 0 * inf does in the second MatMul.  The weights use the exp of the
 * Softmax kernel, rt_exp_f32, which vectorises where libm's expf does not.
 */
#include "k_fused.h"
#include "k_math.h"

#include <math.h>
#include <stdbool.h>

enum {
    KEY_BLOCK = 64,    /* keys scored together */
    TILE_ROWS = 4,     /* query rows that share each loaded k and v row */
    ROW_BLOCK = 64,    /* query rows per task, a multiple of TILE_ROWS */
    KT_FLOATS = 16384, /* largest D x S of a k that a task transposes */
    HEAD_MAX = 1024,   /* largest head size D or Dv (stack buffers) */
    MASK_DIMS = 8,     /* batch dims of the scores, at most */
};

/*
 * Steps that place row r of batch item b of an operand at element
 * b / div * outer + b % div * inner + r * row.  Columns are contiguous.
 */
struct operand_steps {
    int64_t div, outer, inner, row;
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
    struct operand_steps q_steps, k_steps, v_steps, out_steps;
    int64_t row_blocks;
    const float *q, *k, *v;
    const void *mask;
    float *out;
};

/* Running state of the online softmax for up to TILE_ROWS query rows. */
struct row_tile {
    int n;                          /* rows in use */
    float m[TILE_ROWS];             /* maximum score so far */
    float l[TILE_ROWS];             /* sum of exp(score - m) */
    bool nan_seen[TILE_ROWS];       /* a score was NaN */
    float s[TILE_ROWS][KEY_BLOCK];  /* scores, then weights */
    float q[TILE_ROWS][HEAD_MAX];   /* scaled query rows */
    float acc[TILE_ROWS][HEAD_MAX]; /* weighted sum of v rows */
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

static inline int64_t
batch_offset(const struct operand_steps *st, int64_t b)
{
    return b / st->div * st->outer + b % st->div * st->inner;
}

/*
 * Dot products of every tile row with one key row kj of n floats into
 * column j of the scores.  Each row sums in eight lanes, which are then
 * added pairwise, so that the sums of all rows vectorise.
 */
static void
dot_tile(struct row_tile *tl, const float *restrict kj, int64_t n, int64_t j)
{
    float lane[TILE_ROWS][8] = {{0}};
    int64_t c = 0;
    for (; c + 8 <= n; c += 8)
        for (int r = 0; r < TILE_ROWS; r++)
            for (int l = 0; l < 8; l++)
                lane[r][l] += tl->q[r][c + l] * kj[c + l];
    for (; c < n; c++)
        for (int r = 0; r < TILE_ROWS; r++)
            lane[r][0] += tl->q[r][c] * kj[c];
    for (int half = 4; half >= 1; half /= 2)
        for (int r = 0; r < TILE_ROWS; r++)
            for (int l = 0; l < half; l++)
                lane[r][l] += lane[r][l + half];
    for (int r = 0; r < TILE_ROWS; r++)
        tl->s[r][j] = lane[r][0];
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

/*
 * Compute the scores of the tile rows for a full block of keys from k^T
 * ([D, S], kt at the block's first key), vectorised over the keys.
 */
static void
score_full_block(const struct attention_job *p, struct row_tile *tl,
                 const float *kt)
{
    float sum[TILE_ROWS][KEY_BLOCK] = {{0}};
    for (int64_t d = 0; d < p->d; d++) {
        const float *restrict kd = kt + d * p->s;
        for (int r = 0; r < TILE_ROWS; r++) {
            float qd = tl->q[r][d];
            for (int j = 0; j < KEY_BLOCK; j++)
                sum[r][j] += qd * kd[j];
        }
    }
    for (int r = 0; r < TILE_ROWS; r++)
        for (int j = 0; j < KEY_BLOCK; j++)
            tl->s[r][j] = sum[r][j];
}

/*
 * Scores q . k_j of the tile rows for keys j0 .. j0 + nk.  kt is k^T
 * ([D, S]) when the kernel has it, given or transposed by the task, and
 * NULL otherwise.
 */
static void
score_tile(const struct attention_job *p, struct row_tile *tl, const float *k,
           const float *kt, int64_t j0, int64_t nk)
{
    if (kt && nk == KEY_BLOCK) {
        score_full_block(p, tl, kt + j0);
    } else if (kt) {
        /* Accumulate row d of k^T into all nk scores. */
        for (int r = 0; r < TILE_ROWS; r++)
            for (int64_t j = 0; j < nk; j++)
                tl->s[r][j] = 0;
        for (int64_t d = 0; d < p->d; d++) {
            const float *restrict kd = kt + d * p->s + j0;
            for (int r = 0; r < TILE_ROWS; r++) {
                float qd = tl->q[r][d];
                for (int64_t j = 0; j < nk; j++)
                    tl->s[r][j] += qd * kd[j];
            }
        }
    } else {
        for (int64_t j = 0; j < nk; j++)
            dot_tile(tl, k + (j0 + j) * p->k_steps.row, p->d, j);
    }
}

/* Apply the scale and the mask of row t to the scores of keys j0 ... */
static void
mask_block(const struct attention_job *p, int64_t base, int64_t t, int64_t j0,
           int64_t nk, float *restrict s)
{
    /* One loop per mode, so that each vectorises. */
    if (p->scale_mode == RT_ATTENTION_SCALE_MUL)
        for (int64_t j = 0; j < nk; j++)
            s[j] *= p->scale;
    else if (p->scale_mode == RT_ATTENTION_SCALE_DIV)
        for (int64_t j = 0; j < nk; j++)
            s[j] /= p->scale;
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
 * Turn the nk masked scores of tile row r into weights exp(s - m) and
 * return the factor that rescales the row's earlier sum and accumulator.
 */
static float
softmax_step(struct row_tile *tl, int r, int64_t nk)
{
    float *restrict s = tl->s[r];
    /*
     * The maximum ignores NaN as Softmax's does; NaN poisons later.  It is
     * taken in 16 lanes so that the loop vectorises.
     */
    float m = tl->m[r], lane_max[16];
    bool lane_nan[16];
    for (int l = 0; l < 16; l++) {
        lane_max[l] = m;
        lane_nan[l] = false;
    }
    int64_t j = 0;
    for (; j + 16 <= nk; j += 16)
        for (int l = 0; l < 16; l++) {
            float x = s[j + l];
            lane_nan[l] |= x != x;
            lane_max[l] = x > lane_max[l] ? x : lane_max[l];
        }
    for (; j < nk; j++) {
        lane_nan[0] |= s[j] != s[j];
        lane_max[0] = s[j] > lane_max[0] ? s[j] : lane_max[0];
    }
    float m_new = m;
    for (int l = 0; l < 16; l++) {
        tl->nan_seen[r] |= lane_nan[l];
        m_new = lane_max[l] > m_new ? lane_max[l] : m_new;
    }
    /*
     * While every score so far is -inf the weights stay 0 (not
     * exp(-inf - -inf) = NaN), so that a later finite score starts the
     * sum cleanly; an all -inf row becomes NaN at the end.
     */
    float corr = 1;
    if (m_new != -INFINITY) {
        corr = m == m_new ? 1.0f : rt_exp_f32(m - m_new);
        for (j = 0; j < nk; j++)
            s[j] = rt_exp_f32(s[j] - m_new);
    } else {
        for (j = 0; j < nk; j++)
            s[j] = 0;
    }
    tl->l[r] = tl->l[r] * corr + rt_sum_f32(s, nk);
    tl->m[r] = m_new;
    return corr;
}

/*
 * acc[r] += sum over the nk keys of weight s[r][j] times v row j, for all
 * tile rows; a chunk of 16 columns of every row stays in registers while
 * the v rows stream past.
 */
static void
accumulate_tile(const struct attention_job *p, struct row_tile *tl,
                const float *v, int64_t j0, int64_t nk)
{
    int64_t c0 = 0;
    for (; c0 + 16 <= p->dv; c0 += 16) {
        float a[TILE_ROWS][16];
        for (int r = 0; r < TILE_ROWS; r++)
            for (int c = 0; c < 16; c++)
                a[r][c] = tl->acc[r][c0 + c];
        for (int64_t j = 0; j < nk; j++) {
            const float *restrict vj = v + (j0 + j) * p->v_steps.row + c0;
            for (int r = 0; r < TILE_ROWS; r++) {
                float w = tl->s[r][j];
                for (int c = 0; c < 16; c++)
                    a[r][c] += w * vj[c];
            }
        }
        for (int r = 0; r < TILE_ROWS; r++)
            for (int c = 0; c < 16; c++)
                tl->acc[r][c0 + c] = a[r][c];
    }
    for (int64_t j = 0; j < nk; j++) {
        const float *restrict vj = v + (j0 + j) * p->v_steps.row;
        for (int r = 0; r < TILE_ROWS; r++)
            for (int64_t c = c0; c < p->dv; c++)
                tl->acc[r][c] += tl->s[r][j] * vj[c];
    }
}

/* Divide the accumulators by the sums and store rows t0 .. t0 + n. */
static void
store_tile(const struct attention_job *p, const struct row_tile *tl, int64_t b,
           int64_t t0)
{
    for (int r = 0; r < tl->n; r++) {
        float *restrict out = p->out + batch_offset(&p->out_steps, b) +
                              (t0 + r) * p->out_steps.row;
        if (p->s > 0 && (tl->m[r] == -INFINITY || tl->nan_seen[r])) {
            for (int64_t c = 0; c < p->dv; c++)
                out[c] = NAN;
            continue;
        }
        /* With no keys the weights are empty and the product is zero. */
        float inv = p->s > 0 ? 1.0f / tl->l[r] : 0.0f;
        for (int64_t c = 0; c < p->dv; c++)
            out[c] = p->s > 0 ? tl->acc[r][c] * inv : 0.0f;
    }
}

/*
 * Attention of query rows t0 .. t0 + n (n <= TILE_ROWS) of batch item b,
 * whose k^T is kt or NULL (see score_tile).
 */
static void
attention_tile(const struct attention_job *p, struct row_tile *tl, int64_t b,
               int64_t t0, int n, int64_t base, const float *kt)
{
    const float *q = p->q + batch_offset(&p->q_steps, b);
    const float *k = p->k + batch_offset(&p->k_steps, b);
    const float *v = p->v + batch_offset(&p->v_steps, b);
    tl->n = n;
    /* Rows past n are zero, so the fixed-size loops compute finite values. */
    for (int r = 0; r < TILE_ROWS; r++) {
        for (int64_t d = 0; d < p->d; d++)
            tl->q[r][d] = 0;
        if (r < n) {
            const float *qr = q + (t0 + r) * p->q_steps.row;
            for (int64_t d = 0; d < p->d; d++)
                tl->q[r][d] = scaled(p->q_scale_mode, qr[d], p->q_scale);
        }
        for (int64_t d = 0; d < p->dv; d++)
            tl->acc[r][d] = 0;
        tl->m[r] = -INFINITY;
        tl->l[r] = 0;
        tl->nan_seen[r] = false;
    }
    for (int64_t j0 = 0; j0 < p->s; j0 += KEY_BLOCK) {
        int64_t nk = p->s - j0 < KEY_BLOCK ? p->s - j0 : KEY_BLOCK;
        score_tile(p, tl, k, kt, j0, nk);
        for (int r = 0; r < TILE_ROWS; r++) {
            float corr = 0;
            if (r < n) {
                mask_block(p, base, t0 + r, j0, nk, tl->s[r]);
                corr = softmax_step(tl, r, nk);
            } else {
                for (int64_t j = 0; j < nk; j++)
                    tl->s[r][j] = 0;
            }
            for (int64_t d = 0; d < p->dv; d++)
                tl->acc[r][d] *= corr;
        }
        accumulate_tile(p, tl, v, j0, nk);
    }
    store_tile(p, tl, b, t0);
}

static void
attention_task(void *arg, int64_t task)
{
    const struct attention_job *p = arg;
    int64_t b = task / p->row_blocks;
    int64_t t0 = task % p->row_blocks * ROW_BLOCK;
    int64_t t1 = t0 + ROW_BLOCK < p->t ? t0 + ROW_BLOCK : p->t;
    int64_t base = p->mask ? mask_base(p, b) : 0;
    /*
     * Scores read k^T by rows, so that they vectorise over keys.  A k
     * given as [S, D] that fits the buffer is transposed once here for
     * all the task's rows.  A larger one is read by rows of k instead.
     * NOTE: a task uses about 100 KB of stack with kt_buf.  Tasks run on
     * the pool's threads and on the thread that calls the run function.
     */
    float kt_buf[KT_FLOATS];
    const float *kt = NULL;
    const float *k = p->k + batch_offset(&p->k_steps, b);
    if (p->k_transposed) {
        kt = k;
    } else if (p->d * p->s <= KT_FLOATS) {
        for (int64_t j = 0; j < p->s; j++) {
            const float *kj = k + j * p->k_steps.row;
            for (int64_t d = 0; d < p->d; d++)
                kt_buf[d * p->s + j] = kj[d];
        }
        kt = kt_buf;
    }
    struct row_tile tl;
    for (int64_t t = t0; t < t1; t += TILE_ROWS) {
        int n = t1 - t < TILE_ROWS ? (int)(t1 - t) : TILE_ROWS;
        attention_tile(p, &tl, b, t, n, base, kt);
    }
}

/*
 * Attention over batch items (the leading dims of the scores, flattened).
 * Inputs q [batch, T, D]; k [batch, S, D], or [batch, D, S] when k is
 * given transposed; v [batch, S, Dv]; optional mask, float for an additive
 * mask and bool for a Where.  Output [batch, T, Dv].  q, k, v and the
 * output need not be contiguous: each has steps (struct operand_steps),
 * so heads can be read from and written to [B, S, H * D] tensors.
 * ints: batch, T, S, D, Dv, k transposed, q scale mode, score scale mode
 * (enum rt_attention_scale), mask kind (enum rt_attention_mask), nb, then
 * nb batch dim sizes, then nb + 2 mask steps in elements (batch dims, T,
 * S; 0 where the mask broadcasts), then div, outer, inner and row steps
 * of q, k, v and the output.  A transposed k uses only its outer step.
 * floats: q scale, score scale, fill value of a Where mask.
 */
int
rt_kernel_attention(struct rt_ctx *ctx, const struct rt_node *node,
                    void *const *bufs)
{
    const int64_t *in = node->ints;
    if (node->n_ints < 10 || node->n_floats != 3 || in[9] < 0 ||
        in[9] > MASK_DIMS || node->n_ints != 10 + 2 * in[9] + 2 + 16 ||
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
    struct operand_steps *op_steps[4] = {&p.q_steps, &p.k_steps, &p.v_steps,
                                         &p.out_steps};
    const int64_t *st = steps + p.n_batch_dims + 2;
    for (int i = 0; i < 4; i++, st += 4) {
        if (st[0] < 1)
            return rt_fail(ctx, node, RT_ERR_ARGUMENT, "bad parameters");
        *op_steps[i] = (struct operand_steps){st[0], st[1], st[2], st[3]};
    }
    if (p.batch == 0 || p.t == 0 || p.dv == 0)
        return RT_OK;
    p.row_blocks = (p.t + ROW_BLOCK - 1) / ROW_BLOCK;
    rt_parallel_for(ctx->pool, p.batch * p.row_blocks, attention_task, &p);
    return RT_OK;
}
