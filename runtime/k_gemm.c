/*
 * The float32 GEMM core.  A tile of C loops over blocks of KC rows of B.
 * For each block it copies its rows of A into micro-panels of MR rows,
 * column by column, so the micro-kernel reads A sequentially.  Then it
 * walks the panels of NR columns of B and runs an MR x NR register-tile
 * micro-kernel over the micro-panels.  The micro-kernels use GNU C vector
 * types, which LLVM lowers to the registers of the CPU that codegen
 * targets, so one bitcode serves SSE, AVX2 and AVX-512 hosts.
 */
#include "k_gemm.h"
#include "rt_vmath.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

enum {
    KC = 256,       /* rows of B per block */
    MT_LIMIT = 128, /* rows of A packed at once, rounded down to MR */
    NC_PANELS = 32, /* panels of B per block of columns */
    MR_MAX = 8,
    NR_MAX = 32,
};

typedef float v16f __attribute__((vector_size(64)));
typedef float v8f __attribute__((vector_size(32)));
typedef float v4f __attribute__((vector_size(16)));
/* The same vectors at any float-aligned address, for loads and stores. */
typedef float v16f_mem __attribute__((vector_size(64), aligned(4), may_alias));
typedef float v8f_mem __attribute__((vector_size(32), aligned(4), may_alias));
typedef float v4f_mem __attribute__((vector_size(16), aligned(4), may_alias));

/* The update a micro-kernel applies to its tile of C with its sums S. */
enum store_mode {
    STORE_SET = 0,   /* C = alpha S */
    STORE_SCALE = 1, /* C = alpha S + beta C */
    STORE_ADD = 2,   /* C += alpha S */
};

/*
 * lda 0: ap is a packed micro-panel, A(r, l) = ap[l * MR + r].  Otherwise
 * ap points into A itself, A(r, l) = ap[r * lda + l].
 */
typedef void micro_fn(int rows, int64_t kc, const float *restrict ap,
                      int64_t lda, const float *restrict bp, int64_t ldb,
                      const float *next, int64_t next_ld, int64_t n_next,
                      float *restrict c, int64_t ldc, float alpha, float beta,
                      int mode);

/* One step l of the micro-kernel below: add A(:, l) B(l, :) to the sums. */
#define MICRO_STEP(VF, VF_MEM, W, MR)                                          \
    VF b0 = *(const VF_MEM *)(bp + l * ldb);                                   \
    VF b1 = *(const VF_MEM *)(bp + l * ldb + W);                               \
    for (int r = 0; r < rows; r++) {                                           \
        VF a = (direct ? ap[r * lda + l] : ap[l * MR + r]) - (VF){0};          \
        lo[r] += a * b0;                                                       \
        hi[r] += a * b1;                                                       \
    }

/*
 * The micro-kernel for vectors VF of W floats and tiles of up to MR rows
 * by 2 W columns: C(rows x 2W) op= alpha * sum over l of A(:, l) B(l, :),
 * where ap contains A as kc columns of MR floats (direct 0) or as rows
 * lda floats apart (direct 1), and bp kc rows of B ldb floats apart.
 * rows and direct are constants once the function is inlined into the
 * dispatcher below, so the sums stay in registers.  Row l of the next
 * panel, at next + l * next_ld, is prefetched into L2 as the kernel goes:
 * the hardware prefetchers do not cross the page boundaries between
 * panels, nor follow the long row step of an unpacked B.
 */
#define DEFINE_MICRO(NAME, VF, VF_MEM, W, MR)                                  \
    static inline __attribute__((always_inline)) void NAME##_rows(             \
        const int rows, const int direct, int64_t kc,                          \
        const float *restrict ap, int64_t lda, const float *restrict bp,       \
        int64_t ldb, const float *next, int64_t next_ld, int64_t n_next,       \
        float *restrict c, int64_t ldc, float alpha, float beta, int mode)     \
    {                                                                          \
        VF lo[MR], hi[MR];                                                     \
        for (int r = 0; r < MR; r++) {                                         \
            lo[r] = (VF){0};                                                   \
            hi[r] = (VF){0};                                                   \
        }                                                                      \
        int64_t l = 0;                                                         \
        for (; l < n_next; l++) {                                              \
            __builtin_prefetch(next + l * next_ld, 0, 2);                      \
            __builtin_prefetch(next + l * next_ld + W, 0, 2);                  \
            MICRO_STEP(VF, VF_MEM, W, MR)                                      \
        }                                                                      \
        for (; l < kc; l++) {                                                  \
            MICRO_STEP(VF, VF_MEM, W, MR)                                      \
        }                                                                      \
        for (int r = 0; r < rows; r++) {                                       \
            VF_MEM *c0 = (VF_MEM *)(c + r * ldc);                              \
            VF_MEM *c1 = (VF_MEM *)(c + r * ldc + W);                          \
            VF v0 = alpha * lo[r], v1 = alpha * hi[r];                         \
            if (mode == STORE_SCALE) {                                         \
                v0 += beta * *c0;                                              \
                v1 += beta * *c1;                                              \
            } else if (mode == STORE_ADD) {                                    \
                v0 += *c0;                                                     \
                v1 += *c1;                                                     \
            }                                                                  \
            *c0 = v0;                                                          \
            *c1 = v1;                                                          \
        }                                                                      \
    }

DEFINE_MICRO(micro16, v16f, v16f_mem, 16, 8)
DEFINE_MICRO(micro8, v8f, v8f_mem, 8, 6)
DEFINE_MICRO(micro4, v4f, v4f_mem, 4, 6)

#define MICRO_CASE(NAME, R)                                                    \
    case R:                                                                    \
        if (lda)                                                               \
            NAME##_rows(R, 1, kc, ap, lda, bp, ldb, next, next_ld, n_next, c,  \
                        ldc, alpha, beta, mode);                               \
        else                                                                   \
            NAME##_rows(R, 0, kc, ap, 0, bp, ldb, next, next_ld, n_next, c,    \
                        ldc, alpha, beta, mode);                               \
        break;

static void
micro16(int rows, int64_t kc, const float *restrict ap, int64_t lda,
        const float *restrict bp, int64_t ldb, const float *next,
        int64_t next_ld, int64_t n_next, float *restrict c, int64_t ldc,
        float alpha, float beta, int mode)
{
    switch (rows) {
        MICRO_CASE(micro16, 1)
        MICRO_CASE(micro16, 2)
        MICRO_CASE(micro16, 3)
        MICRO_CASE(micro16, 4)
        MICRO_CASE(micro16, 5)
        MICRO_CASE(micro16, 6)
        MICRO_CASE(micro16, 7)
        MICRO_CASE(micro16, 8)
    default:
        break;
    }
}

static void
micro8(int rows, int64_t kc, const float *restrict ap, int64_t lda,
       const float *restrict bp, int64_t ldb, const float *next,
       int64_t next_ld, int64_t n_next, float *restrict c, int64_t ldc,
       float alpha, float beta, int mode)
{
    switch (rows) {
        MICRO_CASE(micro8, 1)
        MICRO_CASE(micro8, 2)
        MICRO_CASE(micro8, 3)
        MICRO_CASE(micro8, 4)
        MICRO_CASE(micro8, 5)
        MICRO_CASE(micro8, 6)
    default:
        break;
    }
}

static void
micro4(int rows, int64_t kc, const float *restrict ap, int64_t lda,
       const float *restrict bp, int64_t ldb, const float *next,
       int64_t next_ld, int64_t n_next, float *restrict c, int64_t ldc,
       float alpha, float beta, int mode)
{
    switch (rows) {
        MICRO_CASE(micro4, 1)
        MICRO_CASE(micro4, 2)
        MICRO_CASE(micro4, 3)
        MICRO_CASE(micro4, 4)
        MICRO_CASE(micro4, 5)
        MICRO_CASE(micro4, 6)
    default:
        break;
    }
}

/* The register tile of one panel width. */
struct tile_shape {
    int mr, nr;
    micro_fn *micro;
};

static const struct tile_shape *
tile_shape(int64_t nr)
{
    static const struct tile_shape shapes[] = {
        {8, RT_GEMM_NR_AVX512, micro16},
        {6, RT_GEMM_NR_AVX2, micro8},
        {6, RT_GEMM_NR_SSE, micro4},
    };
    for (int i = 0; i < 3; i++)
        if (shapes[i].nr == nr)
            return &shapes[i];
    return &shapes[0];
}

int
rt_gemm_valid_panel(int64_t nr)
{
    return nr == RT_GEMM_NR_AVX512 || nr == RT_GEMM_NR_AVX2 ||
           nr == RT_GEMM_NR_SSE;
}

void
rt_gemm_pack_b(const float *b, int64_t rs, int64_t cs, int64_t k, int64_t n,
               int64_t nr, float *out)
{
    for (int64_t j0 = 0; j0 < n; j0 += nr) {
        int64_t w = n - j0 < nr ? n - j0 : nr;
        float *panel = out + j0 * k;
        for (int64_t l = 0; l < k; l++)
            for (int64_t j = 0; j < w; j++)
                panel[l * w + j] = b[l * rs + (j0 + j) * cs];
    }
}

/* Copy rows [i0, i1) and columns [l0, l0 + kc) of A into micro-panels. */
static void
pack_a(const struct rt_gemm *g, int64_t i0, int64_t i1, int64_t l0, int64_t kc,
       int mr, float *restrict out)
{
    for (int64_t i = i0; i < i1; i += mr) {
        int rows = i1 - i < mr ? (int)(i1 - i) : mr;
        float *panel = out + (i - i0) * kc;
        for (int r = 0; r < rows; r++) {
            const float *row = g->a + (i + r) * g->a_rs + l0 * g->a_cs;
            if (g->a_cs == 1)
                for (int64_t l = 0; l < kc; l++)
                    panel[l * mr + r] = row[l];
            else
                for (int64_t l = 0; l < kc; l++)
                    panel[l * mr + r] = row[l * g->a_cs];
        }
    }
}

/*
 * Return rows [l0, l0 + kc) of the panel of B that starts at column j0,
 * with its row step in *ldb.  Full panels, packed or with contiguous rows,
 * are read in place; other panels are copied into buf (kc x nr, zero
 * beyond the panel's width).  Copying every panel would cost as much as
 * the product when A has only a few rows.
 */
static const float *
panel_b(const struct rt_gemm *g, int64_t j0, int64_t l0, int64_t kc, int nr,
        float *restrict buf, int64_t *ldb)
{
    const struct rt_gemm_b *b = &g->b;
    int64_t w = g->n - j0 < nr ? g->n - j0 : nr;
    *ldb = nr;
    if (b->packed) {
        const float *panel = b->data + j0 * g->k + l0 * w;
        if (w == nr)
            return panel;
        for (int64_t l = 0; l < kc; l++) {
            for (int64_t j = 0; j < w; j++)
                buf[l * nr + j] = panel[l * w + j];
            for (int64_t j = w; j < nr; j++)
                buf[l * nr + j] = 0;
        }
        return buf;
    }
    const float *src = b->data + l0 * b->rs + j0 * b->cs;
    if (w == nr && b->cs == 1) {
        *ldb = b->rs;
        return src;
    }
    for (int64_t l = 0; l < kc; l++) {
        if (b->cs == 1)
            for (int64_t j = 0; j < w; j++)
                buf[l * nr + j] = src[l * b->rs + j];
        else
            for (int64_t j = 0; j < w; j++)
                buf[l * nr + j] = src[l * b->rs + j * b->cs];
        for (int64_t j = w; j < nr; j++)
            buf[l * nr + j] = 0;
    }
    return buf;
}

/* Combine a rows x cols block of sums (row step nr) into C. */
static void
merge_tile(const float *restrict sums, int nr, float *restrict c, int64_t ldc,
           int rows, int64_t cols, float beta, int mode)
{
    for (int r = 0; r < rows; r++) {
        const float *s = sums + r * nr;
        float *y = c + r * ldc;
        for (int64_t j = 0; j < cols; j++)
            y[j] = mode == STORE_SET     ? s[j]
                   : mode == STORE_SCALE ? s[j] + beta * y[j]
                                         : s[j] + y[j];
    }
}

static float
gelu_erf(float x)
{
    return 0.5f * x * (1.0f + rt_erff(x * 0.70710678118654752f));
}

static float
gelu_tanh(float x)
{
    return 0.5f * x *
           (1.0f +
            rt_tanhf(0.79788456080286536f * (x + 0.044715f * x * x * x)));
}

/* Apply the epilogue to rows [i0, i0 + rows) and columns [j0, j0 + cols). */
static void
epilogue(const struct rt_gemm *g, int64_t i0, int rows, int64_t j0,
         int64_t cols)
{
    const struct rt_gemm_epilogue *ep = &g->ep;
    for (int r = 0; r < rows; r++) {
        float *restrict y = g->c + (i0 + r) * g->ldc + j0;
        if (ep->bias) {
            const float *restrict bias = ep->bias + j0;
            for (int64_t j = 0; j < cols; j++)
                y[j] += bias[j];
        }
        switch (ep->activation) {
        case RT_GEMM_ACT_RELU:
            for (int64_t j = 0; j < cols; j++)
                y[j] = y[j] < 0 ? 0.0f : y[j];
            break;
        case RT_GEMM_ACT_GELU:
            for (int64_t j = 0; j < cols; j++)
                y[j] = gelu_erf(y[j]);
            break;
        case RT_GEMM_ACT_GELU_TANH:
            for (int64_t j = 0; j < cols; j++)
                y[j] = gelu_tanh(y[j]);
            break;
        default:
            break;
        }
        if (ep->residual) {
            const float *restrict res =
                ep->residual + (i0 + r) * ep->residual_ld + j0;
            for (int64_t j = 0; j < cols; j++)
                y[j] += res[j];
        }
    }
}

static int
has_epilogue(const struct rt_gemm *g)
{
    return g->ep.bias || g->ep.residual || g->ep.activation != RT_GEMM_ACT_NONE;
}

/* K = 0: C = beta C, then the epilogue. */
static void
tile_empty_k(const struct rt_gemm *g, int64_t i0, int64_t i1, int64_t j0,
             int64_t j1)
{
    for (int64_t i = i0; i < i1; i++) {
        float *y = g->c + i * g->ldc;
        for (int64_t j = j0; j < j1; j++)
            y[j] = g->ep.beta == 0 ? 0.0f : g->ep.beta * y[j];
        if (has_epilogue(g))
            epilogue(g, i, 1, j0, j1 - j0);
    }
}

/* Rows of A packed at once for tiles of mr rows. */
static int64_t
rows_per_block(int mr)
{
    return MT_LIMIT / mr * mr;
}

/*
 * Point *next at rows l0.. of the full panel of B at column j, with their
 * row step in *next_ld, for prefetching: only panels that the micro-kernel
 * reads in place need it.  Otherwise point at the current panel, which is
 * in cache already.
 */
static void
next_panel(const struct rt_gemm *g, int nr, int64_t j, int64_t l0,
           const float *bp, int64_t ldb, const float **next, int64_t *next_ld)
{
    *next = bp;
    *next_ld = ldb;
    if (j + nr > g->n || l0 >= g->k)
        return;
    if (g->b.packed) {
        *next = g->b.data + j * g->k + l0 * nr;
        *next_ld = nr;
    } else if (g->b.cs == 1) {
        *next = g->b.data + l0 * g->b.rs + j;
        *next_ld = g->b.rs;
    }
}

/*
 * Compute rows [i0, i1), at most rows_per_block, and columns [j0, j1).
 * Columns go in blocks of NC_PANELS panels, whose part of C stays in L2.
 * For each of those and each block of KC rows of B, pack A and run the
 * micro-kernel on every register tile.
 */
static void
tile_rows(const struct rt_gemm *g, const struct tile_shape *ts, int64_t i0,
          int64_t i1, int64_t j0, int64_t j1)
{
    /* NOTE: about 160 KiB of stack; a caller's thread with a smaller
     * stack than glibc's default of 8 MiB may overflow. */
    float apack[MT_LIMIT * KC];
    float bpack[KC * NR_MAX] __attribute__((aligned(64)));
    float sums[MR_MAX * NR_MAX] __attribute__((aligned(64)));
    int mr = ts->mr, nr = ts->nr;
    int64_t nc = NC_PANELS * (int64_t)nr;
    /*
     * Rows of A that are contiguous are read in place, not packed: when
     * threads split the columns, each would otherwise pack all of A.
     */
    bool direct = g->a_cs == 1;
    int64_t n_tiles = (i1 - i0 + mr - 1) / mr;

    for (int64_t jc = j0; jc < j1; jc += nc) {
        int64_t jc1 = j1 - jc < nc ? j1 : jc + nc;
        for (int64_t l0 = 0; l0 < g->k; l0 += KC) {
            int64_t kc = g->k - l0 < KC ? g->k - l0 : KC;
            int mode = l0 > 0            ? STORE_ADD
                       : g->ep.beta != 0 ? STORE_SCALE
                                         : STORE_SET;
            int last = l0 + kc == g->k;
            if (!direct)
                pack_a(g, i0, i1, l0, kc, mr, apack);
            for (int64_t j = jc; j < jc1; j += nr) {
                int64_t cols = jc1 - j < nr ? jc1 - j : nr;
                int64_t ldb;
                const float *bp = panel_b(g, j, l0, kc, nr, bpack, &ldb);
                const float *next;
                int64_t next_ld;
                if (j + nr < jc1)
                    next_panel(g, nr, j + nr, l0, bp, ldb, &next, &next_ld);
                else if (!last)
                    next_panel(g, nr, jc, l0 + kc, bp, ldb, &next, &next_ld);
                else
                    next_panel(g, nr, jc1, 0, bp, ldb, &next, &next_ld);
                int64_t share = (kc + n_tiles - 1) / n_tiles;
                for (int64_t i = i0; i < i1; i += mr) {
                    int rows = i1 - i < mr ? (int)(i1 - i) : mr;
                    int64_t pf0 = (i - i0) / mr * share;
                    int64_t n_next = kc - pf0 < share ? kc - pf0 : share;
                    const float *pf = next;
                    if (n_next > 0)
                        pf += pf0 * next_ld;
                    else
                        n_next = 0;
                    const float *ap = direct ? g->a + i * g->a_rs + l0
                                             : apack + (i - i0) * kc;
                    int64_t lda = direct ? g->a_rs : 0;
                    float *c = g->c + i * g->ldc + j;
                    if (cols == nr) {
                        ts->micro(rows, kc, ap, lda, bp, ldb, pf, next_ld,
                                  n_next, c, g->ldc, g->alpha, g->ep.beta,
                                  mode);
                    } else {
                        ts->micro(rows, kc, ap, lda, bp, ldb, pf, next_ld,
                                  n_next, sums, nr, g->alpha, 0, STORE_SET);
                        merge_tile(sums, nr, c, g->ldc, rows, cols, g->ep.beta,
                                   mode);
                    }
                    if (last && has_epilogue(g))
                        epilogue(g, i, rows, j, cols);
                }
            }
        }
    }
}

void
rt_gemm_tile(const struct rt_gemm *g, int64_t i0, int64_t i1, int64_t j0,
             int64_t j1)
{
    if (i0 >= i1 || j0 >= j1)
        return;
    if (g->k == 0) {
        tile_empty_k(g, i0, i1, j0, j1);
        return;
    }
    const struct tile_shape *ts = tile_shape(g->b.nr);
    int64_t block = rows_per_block(ts->mr);
    for (int64_t i = i0; i < i1; i += block)
        tile_rows(g, ts, i, i1 - i < block ? i1 : i + block, j0, j1);
}

static int64_t
round_up(int64_t x, int64_t to)
{
    return (x + to - 1) / to * to;
}

void
rt_gemm_plan_split(const struct rt_gemm *g, int64_t n_items, int n_threads,
                   struct rt_gemm_split *split)
{
    const struct tile_shape *ts = tile_shape(g->b.nr);
    int64_t m = g->m > 0 ? g->m : 1;
    int64_t block = rows_per_block(ts->mr);
    split->m_tiles = (m + block - 1) / block;
    split->mt = round_up((m + split->m_tiles - 1) / split->m_tiles, ts->mr);
    split->n_tiles = 1;
    split->nt = round_up(g->n > 0 ? g->n : 1, ts->nr);
    if (n_threads <= 1)
        return;
    /* Several tiles per thread let a thread that other processes slow
     * down hand its share to the others.  Each tile keeps at least two
     * panels, so packing A stays a small part of its work. */
    int64_t want = 4 * (int64_t)n_threads;
    while (n_items * split->m_tiles * split->n_tiles < want &&
           split->nt >= 4 * ts->nr) {
        split->n_tiles *= 2;
        split->nt =
            round_up((g->n + split->n_tiles - 1) / split->n_tiles, ts->nr);
    }
    split->n_tiles = (g->n + split->nt - 1) / split->nt;
}

struct gemm_job {
    const struct rt_gemm *g;
    struct rt_gemm_split split;
};

static void
gemm_task(void *arg, int64_t t)
{
    const struct gemm_job *job = arg;
    const struct rt_gemm *g = job->g;
    int64_t i0 = t / job->split.n_tiles * job->split.mt;
    int64_t j0 = t % job->split.n_tiles * job->split.nt;
    int64_t i1 = i0 + job->split.mt < g->m ? i0 + job->split.mt : g->m;
    int64_t j1 = j0 + job->split.nt < g->n ? j0 + job->split.nt : g->n;
    rt_gemm_tile(g, i0, i1, j0, j1);
}

void
rt_gemm_f32(struct rt_pool *pool, const struct rt_gemm *g)
{
    if (g->m <= 0 || g->n <= 0)
        return;
    struct gemm_job job = {.g = g};
    rt_gemm_plan_split(g, 1, rt_pool_size(pool), &job.split);
    rt_parallel_for(pool, job.split.m_tiles * job.split.n_tiles, gemm_task,
                    &job);
}
