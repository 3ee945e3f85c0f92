/*
 * The recurrent layers RNN, GRU and LSTM, forward, reverse or both ways.
 * Weights and states are converted to double once; each time step then
 * computes the gates of every batch row as dot products.
 * NOTE: the products do not go through the GEMM core, so large layers
 * (hidden sizes in the thousands) run far below MatMul's speed.
 */
#include "k_math.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct activation {
    int code;
    double alpha, beta;
};

static double
activate(const struct activation *a, double x)
{
    switch (a->code) {
    case RT_RNN_RELU:
        return x > 0 ? x : 0;
    case RT_RNN_TANH:
        return tanh(x);
    case RT_RNN_AFFINE:
        return a->alpha * x + a->beta;
    case RT_RNN_LEAKY_RELU:
        return x >= 0 ? x : a->alpha * x;
    case RT_RNN_THRESHOLDED_RELU:
        return x > a->alpha ? x : 0;
    case RT_RNN_SCALED_TANH:
        return a->alpha * tanh(a->beta * x);
    case RT_RNN_HARD_SIGMOID:
        return fmin(1, fmax(0, a->alpha * x + a->beta));
    case RT_RNN_ELU:
        return x >= 0 ? x : a->alpha * (exp(x) - 1);
    case RT_RNN_SOFTSIGN:
        return x / (1 + fabs(x));
    case RT_RNN_SOFTPLUS:
        return log1p(exp(x));
    default: /* sigmoid */
        return 1 / (1 + exp(-x));
    }
}

/* The whole of a layer's parameters and buffers, converted to double. */
struct rnn {
    int kind, dirs, gates;
    int64_t seq, batch, input, hidden;
    bool batch_first, linear_before_reset, input_forget;
    double clip;
    struct activation act[6]; /* per direction: f, g, h (LSTM), f, g (GRU) */
    int n_act;                /* per direction */
    double *w, *r, *b, *p, *h0, *c0, *x;
    int64_t *lens;
};

static double *
to_double(const void *src, int32_t dtype, int64_t n, double dflt)
{
    double *d = malloc((size_t)(n > 0 ? n : 1) * sizeof(double));
    if (!d)
        return NULL;
    for (int64_t i = 0; i < n; i++)
        d[i] = src ? rt_load_f64(src, dtype, i) : dflt;
    return d;
}

static double
clip_gate(const struct rnn *m, double v)
{
    if (m->clip > 0)
        v = fmin(m->clip, fmax(-m->clip, v));
    return v;
}

/* Row j of matrix w [rows, cols] dotted with v [cols]. */
static double
dot(const double *w, int64_t j, int64_t cols, const double *v)
{
    double s = 0;
    for (int64_t k = 0; k < cols; k++)
        s += w[j * cols + k] * v[k];
    return s;
}

/*
 * One time step of direction d for batch row n: x [input], h and c the
 * state, updated in place.  scratch has room for gates * hidden doubles.
 */
static void
step(const struct rnn *m, int d, const double *x, double *h, double *c,
     double *scratch)
{
    int64_t hs = m->hidden, g = m->gates;
    const double *w = m->w + (size_t)d * g * hs * m->input;
    const double *r = m->r + (size_t)d * g * hs * hs;
    const double *wb = m->b + (size_t)d * 2 * g * hs, *rb = wb + g * hs;
    const struct activation *act = m->act + d * m->n_act;
    double *pre = scratch;
    for (int64_t j = 0; j < g * hs; j++)
        pre[j] = dot(w, j, m->input, x) + wb[j];
    if (m->kind == RT_RNN_GRU) {
        /* Gates z, r, h. */
        double *z = pre, *rg = pre + hs, *hh = pre + 2 * hs;
        for (int64_t j = 0; j < 2 * hs; j++)
            pre[j] = activate(&act[0],
                              clip_gate(m, pre[j] + dot(r, j, hs, h) + rb[j]));
        double *next = scratch + 3 * hs;
        for (int64_t j = 0; j < hs; j++) {
            double rec;
            if (m->linear_before_reset) {
                rec = rg[j] * (dot(r, 2 * hs + j, hs, h) + rb[2 * hs + j]);
            } else {
                double gated = 0;
                for (int64_t k = 0; k < hs; k++)
                    gated += r[(2 * hs + j) * hs + k] * rg[k] * h[k];
                rec = gated + rb[2 * hs + j];
            }
            double cand = activate(&act[1], clip_gate(m, hh[j] + rec));
            next[j] = (1 - z[j]) * cand + z[j] * h[j];
        }
        memcpy(h, next, (size_t)hs * sizeof(double));
        return;
    }
    for (int64_t j = 0; j < g * hs; j++)
        pre[j] += dot(r, j, hs, h) + rb[j];
    if (m->kind == RT_RNN_SIMPLE) {
        for (int64_t j = 0; j < hs; j++)
            h[j] = activate(&act[0], clip_gate(m, pre[j]));
        return;
    }
    /* LSTM gates i, o, f, c; peepholes i, o, f. */
    const double *p = m->p + (size_t)d * 3 * hs;
    for (int64_t j = 0; j < hs; j++) {
        double i = activate(&act[0], clip_gate(m, pre[j] + p[j] * c[j]));
        double f =
            m->input_forget
                ? 1 - i
                : activate(&act[0], clip_gate(m, pre[2 * hs + j] +
                                                     p[2 * hs + j] * c[j]));
        double cand = activate(&act[1], clip_gate(m, pre[3 * hs + j]));
        c[j] = f * c[j] + i * cand;
        double o =
            activate(&act[0], clip_gate(m, pre[hs + j] + p[hs + j] * c[j]));
        h[j] = o * activate(&act[2], c[j]);
    }
}

static void
free_rnn(struct rnn *m)
{
    free(m->w);
    free(m->r);
    free(m->b);
    free(m->p);
    free(m->h0);
    free(m->c0);
    free(m->x);
    free(m->lens);
}

/* Index of X[t, n, :] or Y[t, d, n, :] in the layout. */
static int64_t
x_at(const struct rnn *m, int64_t t, int64_t n)
{
    return (m->batch_first ? n * m->seq + t : t * m->batch + n) * m->input;
}

static int64_t
y_at(const struct rnn *m, int64_t t, int d, int64_t n)
{
    if (m->batch_first)
        return ((n * m->seq + t) * m->dirs + d) * m->hidden;
    return ((t * m->dirs + d) * m->batch + n) * m->hidden;
}

/* Index of a state [dirs, batch, hidden], or [batch, dirs, hidden] when
 * the layout is batch first. */
static int64_t
state_at(const struct rnn *m, int d, int64_t n)
{
    if (m->batch_first)
        return (n * m->dirs + d) * m->hidden;
    return (d * m->batch + n) * m->hidden;
}

/*
 * ints: [kind, direction (enum rt_rnn_direction), seq, batch, input,
 * hidden, layout,
 * linear_before_reset, input_forget, activations per direction, then
 * per activation its code].  floats: [clip (0: none), then per activation
 * alpha and beta].
 * descs: X, W, R, B, sequence_lens, initial_h, [initial_c, P,] Y, Y_h,
 * [Y_c]; omitted inputs have dtype 0.
 */
int
rt_kernel_rnn(struct rt_ctx *ctx, const struct rt_node *node, void *const *bufs)
{
    if (node->n_ints < 10)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT, "bad parameters");
    const int64_t *p = node->ints;
    struct rnn m = {
        .kind = (int)p[0],
        .dirs = p[1] == RT_RNN_BIDIRECTIONAL ? 2 : 1,
        .seq = p[2],
        .batch = p[3],
        .input = p[4],
        .hidden = p[5],
        .batch_first = p[6] != 0,
        .linear_before_reset = p[7] != 0,
        .input_forget = p[8] != 0,
        .n_act = (int)p[9],
        .clip = node->floats[0],
    };
    m.gates = rt_rnn_gates(m.kind);
    int total_act = m.n_act * m.dirs;
    if (m.dirs < 1 || m.dirs > 2 || m.n_act < 1 || m.n_act > 3 ||
        node->n_ints != 10 + total_act || node->n_floats != 1 + 2 * total_act)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT, "bad parameters");
    for (int a = 0; a < total_act; a++)
        m.act[a] = (struct activation){(int)p[10 + a], node->floats[1 + 2 * a],
                                       node->floats[2 + 2 * a]};
    const struct rt_desc *d = node->descs;
    int ni = node->n_inputs;
    int64_t hs = m.hidden, g = m.gates;
#define INPUT(i) (ni > (i) && d[i].dtype ? bufs[i] : NULL)
    m.x = to_double(bufs[0], d[0].dtype, rt_numel(&d[0]), 0);
    m.w = to_double(bufs[1], d[1].dtype, m.dirs * g * hs * m.input, 0);
    m.r = to_double(bufs[2], d[2].dtype, m.dirs * g * hs * hs, 0);
    m.b = to_double(INPUT(3), ni > 3 ? d[3].dtype : 0, m.dirs * 2 * g * hs, 0);
    m.h0 =
        to_double(INPUT(5), ni > 5 ? d[5].dtype : 0, m.dirs * m.batch * hs, 0);
    m.c0 =
        to_double(INPUT(6), ni > 6 ? d[6].dtype : 0, m.dirs * m.batch * hs, 0);
    m.p = to_double(INPUT(7), ni > 7 ? d[7].dtype : 0, m.dirs * 3 * hs, 0);
    m.lens = malloc((size_t)(m.batch > 0 ? m.batch : 1) * sizeof(int64_t));
    double *scratch = malloc((size_t)(4 * hs + 1) * sizeof(double) * 2);
    if (!m.x || !m.w || !m.r || !m.b || !m.h0 || !m.c0 || !m.p || !m.lens ||
        !scratch) {
        free_rnn(&m);
        free(scratch);
        return rt_fail(ctx, node, RT_ERR_MEMORY, "no memory for the layer");
    }
    for (int64_t n = 0; n < m.batch; n++) {
        m.lens[n] = INPUT(4) ? rt_load_i64(bufs[4], d[4].dtype, n) : m.seq;
        if (m.lens[n] < 0 || m.lens[n] > m.seq) {
            int64_t bad = m.lens[n];
            free_rnn(&m);
            free(scratch);
            return rt_fail(ctx, node, RT_ERR_RUNTIME,
                           "sequence_lens[%lld] is %lld, outside [0, %lld]",
                           (long long)n, (long long)bad, (long long)m.seq);
        }
    }
#undef INPUT
    const struct rt_desc *dy = &d[ni], *dyh = &d[ni + 1];
    int32_t out_t = dy->dtype;
    int64_t y_count = rt_numel(dy);
    for (int64_t i = 0; i < y_count; i++)
        math_store_f64(bufs[ni], out_t, i, 0);

    for (int dir = 0; dir < m.dirs; dir++) {
        bool reverse = dir == 1 || p[1] == RT_RNN_REVERSE;
        for (int64_t n = 0; n < m.batch; n++) {
            double *h = m.h0 + state_at(&m, dir, n);
            double *c = m.c0 + state_at(&m, dir, n);
            for (int64_t s = 0; s < m.lens[n]; s++) {
                int64_t t = reverse ? m.lens[n] - 1 - s : s;
                step(&m, dir, m.x + x_at(&m, t, n), h, c, scratch);
                for (int64_t j = 0; j < hs; j++)
                    math_store_f64(bufs[ni], out_t, y_at(&m, t, dir, n) + j,
                                   h[j]);
            }
            for (int64_t j = 0; j < hs; j++) {
                int64_t at = state_at(&m, dir, n) + j;
                if (node->n_outputs > 1)
                    math_store_f64(bufs[ni + 1], dyh->dtype, at, h[j]);
                if (node->n_outputs > 2)
                    math_store_f64(bufs[ni + 2], d[ni + 2].dtype, at, c[j]);
            }
        }
    }
    free_rnn(&m);
    free(scratch);
    return RT_OK;
}
