/*
 * MatMul and Gemm kernels.  Both reduce to C += alpha * A * B on row-major
 * matrices with arbitrary element strides, split into tiles of output rows
 * and columns that run on the thread pool.  float32 goes to the GEMM core
 * in k_gemm.c, which also reads weights that the layout pass packed at
 * compile time.  Other dtypes use a plain i-k-j loop.
 */
#include "k_gemm.h"
#include "k_math.h"

#include <stdbool.h>

enum {
    MT = 48, /* output rows per task of the plain loop */
};

/* One matrix product C += alpha * A * B, possibly over a batch. */
struct mm {
    int32_t dtype;
    int64_t m, k, n;
    const void *a, *b;
    void *c;
    int64_t a_rs, a_cs; /* A(i,l) = a[i * a_rs + l * a_cs] */
    int64_t b_rs, b_cs; /* B(l,j) = b[l * b_rs + j * b_cs] */
    int64_t nr;         /* float32: panel width of the GEMM core */
    int packed;         /* float32: B is in the layout of rt_gemm_pack_b */
    double alpha;
    /* The initial value of C: zero, or beta * bias(i,j). */
    const void *bias;
    int64_t bias_rs, bias_cs;
    double beta;
    /* Batch dims as (size, A step, B step) triples; steps in elements. */
    int n_batch;
    const int64_t *batch;
    int64_t batch_count;
    /* Tiling of each product into tasks. */
    int64_t mt, nt, m_tiles, n_tiles;
};

/* True when the bias is one row that the GEMM epilogue can add as is. */
static int
bias_is_row(const struct mm *p)
{
    return p->bias && p->bias_rs == 0 && p->bias_cs == 1 && p->beta == 1;
}

/* The float32 product of one batch item, for the GEMM core. */
static void
sgemm_item(const struct mm *p, const float *a, const float *b, float *c,
           struct rt_gemm *g)
{
    *g = (struct rt_gemm){
        .m = p->m,
        .n = p->n,
        .k = p->k,
        .alpha = (float)p->alpha,
        .a = a,
        .a_rs = p->a_rs,
        .a_cs = p->a_cs,
        .b = {.data = b,
              .rs = p->b_rs,
              .cs = p->b_cs,
              .nr = (int32_t)p->nr,
              .packed = p->packed},
        .c = c,
        .ldc = p->n,
    };
    if (bias_is_row(p))
        g->ep.bias = p->bias;
    else if (p->bias && p->beta != 0)
        g->ep.beta = 1; /* init_tile has stored beta * bias in C */
}

/*
 * C(i0..i1, j0..j1) += alpha * A * B for the other dtypes.  Integers wrap
 * around on overflow, as unsigned arithmetic of their width does; alpha
 * applies to floating-point dtypes only (infer rejects it for integers).
 */
#define DEFINE_GEMM_REF(name, T, U)                                            \
    static void name(const struct mm *p, const T *a, const T *b, T *c,         \
                     int64_t i0, int64_t i1, int64_t j0, int64_t j1)           \
    {                                                                          \
        for (int64_t i = i0; i < i1; i++) {                                    \
            T *restrict crow = c + i * p->n;                                   \
            for (int64_t l = 0; l < p->k; l++) {                               \
                U al = (U)a[i * p->a_rs + l * p->a_cs];                        \
                if (math_is_float(p->dtype))                                   \
                    al = (U)(p->alpha * (double)al);                           \
                const T *bl = b + l * p->b_rs;                                 \
                for (int64_t j = j0; j < j1; j++)                              \
                    crow[j] = (T)((U)crow[j] + al * (U)bl[j * p->b_cs]);       \
            }                                                                  \
        }                                                                      \
    }

DEFINE_GEMM_REF(dgemm_tile, double, double)
DEFINE_GEMM_REF(i32gemm_tile, int32_t, uint32_t)
DEFINE_GEMM_REF(u32gemm_tile, uint32_t, uint32_t)
DEFINE_GEMM_REF(i64gemm_tile, int64_t, uint64_t)
DEFINE_GEMM_REF(u64gemm_tile, uint64_t, uint64_t)

/* Set C(i0..i1, j0..j1) to beta * bias, or to zero without a bias. */
static void
init_tile(const struct mm *p, void *c, int64_t i0, int64_t i1, int64_t j0,
          int64_t j1)
{
    size_t es = rt_dtype_size(p->dtype);
    if (!p->bias || p->beta == 0) {
        for (int64_t i = i0; i < i1; i++)
            memset((char *)c + (i * p->n + j0) * (int64_t)es, 0,
                   (size_t)(j1 - j0) * es);
        return;
    }
    for (int64_t i = i0; i < i1; i++) {
        for (int64_t j = j0; j < j1; j++) {
            int64_t src = i * p->bias_rs + j * p->bias_cs;
            int64_t dst = i * p->n + j;
            if (math_is_float(p->dtype))
                math_store_f64(c, p->dtype, dst,
                               p->beta * rt_load_f64(p->bias, p->dtype, src));
            else
                math_store_i64(c, p->dtype, dst,
                               rt_load_i64(p->bias, p->dtype, src));
        }
    }
}

/* Task t of the product: one tile of output rows and columns of one item. */
static void
mm_task(void *arg, int64_t t)
{
    const struct mm *p = arg;
    int64_t per_item = p->m_tiles * p->n_tiles;
    int64_t item = t / per_item;
    int64_t mi = t % per_item / p->n_tiles;
    int64_t ni = t % p->n_tiles;
    int64_t i0 = mi * p->mt, i1 = i0 + p->mt < p->m ? i0 + p->mt : p->m;
    int64_t j0 = ni * p->nt, j1 = j0 + p->nt < p->n ? j0 + p->nt : p->n;
    if (i0 >= i1 || j0 >= j1)
        return;

    int64_t a_off = 0, b_off = 0, rest = item;
    for (int d = p->n_batch - 1; d >= 0; d--) {
        int64_t size = p->batch[3 * d];
        int64_t idx = rest % size;
        rest /= size;
        a_off += idx * p->batch[3 * d + 1];
        b_off += idx * p->batch[3 * d + 2];
    }
    size_t es = rt_dtype_size(p->dtype);
    const char *a = (const char *)p->a + a_off * (int64_t)es;
    const char *b = (const char *)p->b + b_off * (int64_t)es;
    char *c = (char *)p->c + item * p->m * p->n * (int64_t)es;

    if (p->dtype == RT_FLOAT) {
        if (!bias_is_row(p) && p->bias && p->beta != 0)
            init_tile(p, c, i0, i1, j0, j1);
        struct rt_gemm g;
        sgemm_item(p, (const float *)a, (const float *)b, (float *)c, &g);
        rt_gemm_tile(&g, i0, i1, j0, j1);
        return;
    }
    init_tile(p, c, i0, i1, j0, j1);
    if (p->k == 0)
        return;
    switch (p->dtype) {
    case RT_DOUBLE:
        dgemm_tile(p, (const double *)a, (const double *)b, (double *)c, i0, i1,
                   j0, j1);
        break;
    case RT_INT32:
        i32gemm_tile(p, (const int32_t *)a, (const int32_t *)b, (int32_t *)c,
                     i0, i1, j0, j1);
        break;
    case RT_UINT32:
        u32gemm_tile(p, (const uint32_t *)a, (const uint32_t *)b, (uint32_t *)c,
                     i0, i1, j0, j1);
        break;
    case RT_INT64:
        i64gemm_tile(p, (const int64_t *)a, (const int64_t *)b, (int64_t *)c,
                     i0, i1, j0, j1);
        break;
    case RT_UINT64:
        u64gemm_tile(p, (const uint64_t *)a, (const uint64_t *)b, (uint64_t *)c,
                     i0, i1, j0, j1);
        break;
    default:
        break;
    }
}

/*
 * Split each product into tiles of MT rows and, when rows alone give the
 * pool too few tasks, of columns (at least 64 wide), and run them.
 */
static void
mm_run(struct rt_ctx *ctx, struct mm *p)
{
    if (p->batch_count == 0 || p->m == 0 || p->n == 0)
        return;
    if (p->dtype == RT_FLOAT) {
        struct rt_gemm g;
        struct rt_gemm_split split;
        sgemm_item(p, p->a, p->b, p->c, &g);
        rt_gemm_plan_split(&g, p->batch_count, rt_pool_size(ctx->pool), &split);
        p->mt = split.mt;
        p->nt = split.nt;
        p->m_tiles = split.m_tiles;
        p->n_tiles = split.n_tiles;
        rt_parallel_for(ctx->pool, p->batch_count * p->m_tiles * p->n_tiles,
                        mm_task, p);
        return;
    }
    p->mt = MT;
    p->m_tiles = (p->m + MT - 1) / MT;
    p->n_tiles = 1;
    int64_t want = 4 * (int64_t)rt_pool_size(ctx->pool);
    if (want > 4)
        while (p->batch_count * p->m_tiles * p->n_tiles < want &&
               p->n / (2 * p->n_tiles) >= 64)
            p->n_tiles *= 2;
    p->nt = (p->n + p->n_tiles - 1) / p->n_tiles;
    p->nt = (p->nt + 15) / 16 * 16;
    rt_parallel_for(ctx->pool, p->batch_count * p->m_tiles * p->n_tiles,
                    mm_task, p);
}

static int
check_dtype(struct rt_ctx *ctx, const struct rt_node *node, int32_t dtype)
{
    switch (dtype) {
    case RT_FLOAT:
    case RT_DOUBLE:
    case RT_INT32:
    case RT_UINT32:
    case RT_INT64:
    case RT_UINT64:
        return RT_OK;
    default:
        return rt_fail(ctx, node, RT_ERR_SHAPE, "dtype %d is not supported",
                       (int)dtype);
    }
}

/*
 * Read the float32 layout parameters at ints[at] and ints[at + 1], the
 * panel width and 1 if B is packed.  They are optional, and `after` more
 * ints may follow them.  Without them B is unpacked and the default width
 * applies.
 */
static int
read_layout(struct rt_ctx *ctx, const struct rt_node *node, int at, int after,
            struct mm *p)
{
    p->nr = RT_GEMM_NR_DEFAULT;
    p->packed = 0;
    if (node->n_ints == at + after)
        return RT_OK;
    if (node->n_ints != at + 2 + after ||
        !rt_gemm_valid_panel(node->ints[at]) ||
        (node->ints[at + 1] != 0 && node->ints[at + 1] != 1))
        return rt_fail(ctx, node, RT_ERR_ARGUMENT, "bad parameters");
    p->nr = node->ints[at];
    p->packed = (int)node->ints[at + 1];
    if (p->packed && p->dtype != RT_FLOAT)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT,
                       "a packed B is float32 only");
    return RT_OK;
}

/*
 * MatMul with numpy semantics.  ints: M, K, N, nb, then nb triples
 * (batch dim size, A step, B step) with steps in elements (0 where that
 * operand is broadcast), then optionally the panel width and 1 if B is
 * packed (see read_layout), then optionally B's row and column steps
 * when B is not a row-major [K, N] (a Transpose read in place).  The
 * output is [batch..., M, N] contiguous.  A is [M, K] and B is [K, N] per
 * batch item.  Encode has already promoted 1-D operands, and folded the
 * batch of A into M when B has none.  A packed B is one matrix shared by
 * the whole batch.
 */
int
rt_kernel_matmul(struct rt_ctx *ctx, const struct rt_node *node,
                 void *const *bufs)
{
    int64_t nb = node->n_ints >= 4 ? node->ints[3] : -1;
    if (nb < 0 || (node->n_ints != 4 + 3 * nb && node->n_ints != 6 + 3 * nb &&
                   node->n_ints != 8 + 3 * nb))
        return rt_fail(ctx, node, RT_ERR_ARGUMENT, "bad parameters");
    bool b_steps = node->n_ints == 8 + 3 * nb;
    int rc = check_dtype(ctx, node, node->descs[0].dtype);
    if (rc != RT_OK)
        return rc;

    struct mm p = {0};
    p.dtype = node->descs[0].dtype;
    p.m = node->ints[0];
    p.k = node->ints[1];
    p.n = node->ints[2];
    p.a = bufs[0];
    p.b = bufs[1];
    p.c = bufs[2];
    p.a_rs = p.k;
    p.a_cs = 1;
    p.b_rs = b_steps ? node->ints[6 + 3 * nb] : p.n;
    p.b_cs = b_steps ? node->ints[7 + 3 * nb] : 1;
    p.alpha = 1;
    p.n_batch = (int)nb;
    p.batch = node->ints + 4;
    p.batch_count = 1;
    bool packed = node->n_ints > 4 + 3 * nb && node->ints[5 + 3 * nb];
    for (int d = 0; d < p.n_batch; d++) {
        p.batch_count *= p.batch[3 * d];
        if (p.batch[3 * d + 2] != 0 && packed)
            return rt_fail(ctx, node, RT_ERR_ARGUMENT,
                           "a packed B cannot have batch dims");
    }
    if (b_steps && packed)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT,
                       "a packed B has no row and column steps");
    rc = read_layout(ctx, node, 4 + 3 * p.n_batch, b_steps ? 2 : 0, &p);
    if (rc != RT_OK)
        return rc;
    mm_run(ctx, &p);
    return RT_OK;
}

/*
 * Gemm: Y = alpha * A' * B' + beta * C, where A' is A or its transpose and
 * likewise B'.  ints: M, K, N, transA, transB, C row step, C column step
 * (steps in elements, 0 along a broadcast dim), then optionally the panel
 * width and 1 if B' is packed (see read_layout; a packed B' is K x N
 * whatever transB says).  floats: alpha, beta.  Inputs A, B and the
 * optional C; output Y [M, N].
 */
int
rt_kernel_gemm(struct rt_ctx *ctx, const struct rt_node *node,
               void *const *bufs)
{
    if ((node->n_ints != 7 && node->n_ints != 9) || node->n_floats != 2)
        return rt_fail(ctx, node, RT_ERR_ARGUMENT, "bad parameters");
    int rc = check_dtype(ctx, node, node->descs[0].dtype);
    if (rc != RT_OK)
        return rc;

    const int64_t *in = node->ints;
    struct mm p = {0};
    p.dtype = node->descs[0].dtype;
    p.m = in[0];
    p.k = in[1];
    p.n = in[2];
    p.a = bufs[0];
    p.b = bufs[1];
    p.c = bufs[node->n_inputs];
    p.a_rs = in[3] ? 1 : p.k;
    p.a_cs = in[3] ? p.m : 1;
    p.b_rs = in[4] ? 1 : p.n;
    p.b_cs = in[4] ? p.k : 1;
    p.alpha = node->floats[0];
    p.beta = node->floats[1];
    if (node->n_inputs > 2 && bufs[2]) {
        p.bias = bufs[2];
        p.bias_rs = in[5];
        p.bias_cs = in[6];
    }
    p.batch_count = 1;
    rc = read_layout(ctx, node, 7, 0, &p);
    if (rc != RT_OK)
        return rc;
    mm_run(ctx, &p);
    return RT_OK;
}
