/*
 * MatMul and Gemm kernels.  Both reduce to C += alpha * A * B on row-major
 * matrices with arbitrary element strides, split into tiles of output rows
 * and columns that run on the thread pool.  The float32 path is
 * cache-blocked and computes MR x NR tiles of C in registers.  Contiguous
 * axpy loops over columns handle the edges.  Other dtypes use a plain
 * i-k-j loop.
 */
#include "k_math.h"

/* Cache and register blocking of the float32 path, in elements. */
enum {
    KC = 256,      /* rows of B per block */
    NC = 256,      /* columns of B and C per block */
    KC_PACK = 64,  /* a block of a strided B is copied into KC_PACK x */
    NC_PACK = 128, /* NC_PACK floats on the stack (32 KiB) */
    MR = 6,        /* rows of a register tile of C */
    NR = 16,       /* columns of a register tile of C */
    MT = 48,       /* output rows per task */
};

/* One matrix product C += alpha * A * B, possibly over a batch. */
struct mm {
    int32_t dtype;
    int64_t m, k, n;
    const void *a, *b;
    void *c;
    int64_t a_rs, a_cs; /* A(i,l) = a[i * a_rs + l * a_cs] */
    int64_t b_rs, b_cs; /* B(l,j) = b[l * b_rs + j * b_cs] */
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

/*
 * Add alpha * A(MR rows, 0..kc) * B(0..kc, NR columns) to a tile of C.  The
 * tile's sums stay in a local array that the compiler keeps in vector
 * registers once it unrolls the constant-length loops.
 */
static void
tile_mr_nr(const struct mm *p, const float *a, const float *restrict b,
           int64_t ldb, float *restrict c, int64_t kc)
{
    float acc[MR][NR] = {{0}};
    for (int64_t l = 0; l < kc; l++) {
        const float *restrict bl = b + l * ldb;
        const float *al = a + l * p->a_cs;
        for (int r = 0; r < MR; r++) {
            float ar = al[r * p->a_rs];
            for (int j = 0; j < NR; j++)
                acc[r][j] += ar * bl[j];
        }
    }
    float alpha = (float)p->alpha;
    for (int r = 0; r < MR; r++)
        for (int j = 0; j < NR; j++)
            c[r * p->n + j] += alpha * acc[r][j];
}

/* Add alpha * A(i, 0..kc) * B to one row of C of nb columns. */
static void
axpy_row1(const struct mm *p, const float *a, const float *restrict b,
          int64_t ldb, float *restrict c, int64_t kc, int64_t nb)
{
    float alpha = (float)p->alpha;

    for (int64_t l = 0; l < kc; l++) {
        float al = alpha * a[l * p->a_cs];
        const float *restrict bl = b + l * ldb;
        for (int64_t j = 0; j < nb; j++)
            c[j] += al * bl[j];
    }
}

/* Copy B(l0..l0+kc, j0..j0+nb) into pack as a kc x nb row-major block. */
static void
pack_b(const struct mm *p, const float *b, int64_t kc, int64_t nb,
       float *restrict pack)
{
    if (p->b_rs == 1) {
        for (int64_t j = 0; j < nb; j++)
            for (int64_t l = 0; l < kc; l++)
                pack[l * nb + j] = b[j * p->b_cs + l];
    } else {
        for (int64_t l = 0; l < kc; l++)
            for (int64_t j = 0; j < nb; j++)
                pack[l * nb + j] = b[l * p->b_rs + j * p->b_cs];
    }
}

/* C(i0..i1, j0..j1) += alpha * A * B for float32. */
static void
sgemm_tile(const struct mm *p, const float *a, const float *b, float *c,
           int64_t i0, int64_t i1, int64_t j0, int64_t j1)
{
    float pack[KC_PACK * NC_PACK];
    int packed = p->b_cs != 1;
    int64_t kc_max = packed ? KC_PACK : KC;
    int64_t nc_max = packed ? NC_PACK : NC;

    for (int64_t jb = j0; jb < j1; jb += nc_max) {
        int64_t nb = j1 - jb < nc_max ? j1 - jb : nc_max;
        for (int64_t kb = 0; kb < p->k; kb += kc_max) {
            int64_t kc = p->k - kb < kc_max ? p->k - kb : kc_max;
            const float *bp = b + kb * p->b_rs + jb * p->b_cs;
            int64_t ldb = p->b_rs;
            if (packed) {
                pack_b(p, bp, kc, nb, pack);
                bp = pack;
                ldb = nb;
            }
            const float *ak = a + kb * p->a_cs;
            float *cb = c + jb;
            int64_t nr_end = nb / NR * NR;
            int64_t i = i0;
            for (; i + MR <= i1; i += MR) {
                for (int64_t j = 0; j < nr_end; j += NR)
                    tile_mr_nr(p, ak + i * p->a_rs, bp + j, ldb,
                               cb + i * p->n + j, kc);
                for (int64_t r = i; r < i + MR && nr_end < nb; r++)
                    axpy_row1(p, ak + r * p->a_rs, bp + nr_end, ldb,
                              cb + r * p->n + nr_end, kc, nb - nr_end);
            }
            for (; i < i1; i++)
                axpy_row1(p, ak + i * p->a_rs, bp, ldb, cb + i * p->n, kc,
                          nb);
        }
    }
}

/*
 * C(i0..i1, j0..j1) += alpha * A * B for the other dtypes.  Integers wrap
 * around on overflow, as unsigned arithmetic of their width does; alpha
 * applies to floating-point dtypes only (infer rejects it for integers).
 */
#define DEFINE_GEMM_REF(name, T, U)                                         \
    static void                                                             \
    name(const struct mm *p, const T *a, const T *b, T *c, int64_t i0,      \
         int64_t i1, int64_t j0, int64_t j1)                                \
    {                                                                       \
        for (int64_t i = i0; i < i1; i++) {                                 \
            T *restrict crow = c + i * p->n;                                \
            for (int64_t l = 0; l < p->k; l++) {                            \
                U al = (U)a[i * p->a_rs + l * p->a_cs];                     \
                if (math_is_float(p->dtype))                                \
                    al = (U)(p->alpha * (double)al);                        \
                const T *bl = b + l * p->b_rs;                              \
                for (int64_t j = j0; j < j1; j++)                           \
                    crow[j] = (T)((U)crow[j] + al * (U)bl[j * p->b_cs]);    \
            }                                                               \
        }                                                                   \
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
                               p->beta *
                                   math_load_f64(p->bias, p->dtype, src));
            else
                math_store_i64(c, p->dtype, dst,
                               math_load_i64(p->bias, p->dtype, src));
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

    init_tile(p, c, i0, i1, j0, j1);
    if (p->k == 0)
        return;
    switch (p->dtype) {
    case RT_FLOAT:
        sgemm_tile(p, (const float *)a, (const float *)b, (float *)c, i0,
                   i1, j0, j1);
        break;
    case RT_DOUBLE:
        dgemm_tile(p, (const double *)a, (const double *)b, (double *)c, i0,
                   i1, j0, j1);
        break;
    case RT_INT32:
        i32gemm_tile(p, (const int32_t *)a, (const int32_t *)b,
                     (int32_t *)c, i0, i1, j0, j1);
        break;
    case RT_UINT32:
        u32gemm_tile(p, (const uint32_t *)a, (const uint32_t *)b,
                     (uint32_t *)c, i0, i1, j0, j1);
        break;
    case RT_INT64:
        i64gemm_tile(p, (const int64_t *)a, (const int64_t *)b,
                     (int64_t *)c, i0, i1, j0, j1);
        break;
    case RT_UINT64:
        u64gemm_tile(p, (const uint64_t *)a, (const uint64_t *)b,
                     (uint64_t *)c, i0, i1, j0, j1);
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
 * MatMul with numpy semantics.  ints: M, K, N, nb, then nb triples
 * (batch dim size, A step, B step) with steps in elements (0 where that
 * operand is broadcast).  The output is [batch..., M, N] contiguous.  A
 * is [M, K] and B is [K, N] per batch item.  Encode has already promoted
 * 1-D operands, and folded the batch of A into M when B has none.
 */
int
rt_kernel_matmul(struct rt_ctx *ctx, const struct rt_node *node,
                 void *const *bufs)
{
    if (node->n_ints < 4 || node->n_ints != 4 + 3 * node->ints[3])
        return rt_fail(ctx, node, RT_ERR_ARGUMENT, "bad parameters");
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
    p.b_rs = p.n;
    p.b_cs = 1;
    p.alpha = 1;
    p.n_batch = (int)node->ints[3];
    p.batch = node->ints + 4;
    p.batch_count = 1;
    for (int d = 0; d < p.n_batch; d++)
        p.batch_count *= p.batch[3 * d];
    mm_run(ctx, &p);
    return RT_OK;
}

/*
 * Gemm: Y = alpha * A' * B' + beta * C, where A' is A or its transpose and
 * likewise B'.  ints: M, K, N, transA, transB, C row step, C column step
 * (steps in elements, 0 along a broadcast dim).  floats: alpha, beta.
 * Inputs A, B and the optional C; output Y [M, N].
 */
int
rt_kernel_gemm(struct rt_ctx *ctx, const struct rt_node *node,
               void *const *bufs)
{
    if (node->n_ints != 7 || node->n_floats != 2)
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
    mm_run(ctx, &p);
    return RT_OK;
}
