/*
 * The float32 GEMM core that MatMul, Gemm and the fused kernels share:
 * C = act(alpha * A * B + beta * C + bias) + residual, computed in register
 * tiles of one of three vector widths.  B is read either as a strided
 * matrix or in a packed layout of column panels that the compiler writes
 * for constant weights at compile time (rt_gemm_pack_b).
 */
#ifndef ONNXC_K_GEMM_H
#define ONNXC_K_GEMM_H

#include "rt.h"

/*
 * Panel width: the columns of B per packed panel and per register tile.
 * Each width selects a tile for one vector width, so the compiler picks it
 * from the host's features (pass_layout_panel_width).
 */
enum rt_gemm_panel {
    RT_GEMM_NR_SSE = 8,     /* 4-wide vectors, 6 x 8 tiles */
    RT_GEMM_NR_AVX2 = 16,   /* 8-wide vectors, 6 x 16 tiles */
    RT_GEMM_NR_AVX512 = 32, /* 16-wide vectors, 8 x 32 tiles */
    /* NOTE: used when a kernel's parameters name no width, as in the
     * layouts older than the packed one; slow without AVX-512. */
    RT_GEMM_NR_DEFAULT = RT_GEMM_NR_AVX512,
};

/* The activation of an epilogue; the values match enum rt_fused_activation. */
enum rt_gemm_act {
    RT_GEMM_ACT_NONE = 0,
    RT_GEMM_ACT_RELU = 1,
    RT_GEMM_ACT_GELU = 2,      /* x * (1 + erf(x / sqrt 2)) / 2 */
    RT_GEMM_ACT_GELU_TANH = 3, /* the tanh approximation */
};

/* The B operand, K x N. */
struct rt_gemm_b {
    const float *data;
    int64_t rs, cs; /* unpacked: B(l, j) = data[l * rs + j * cs] */
    int32_t nr;     /* panel width, an enum rt_gemm_panel value */
    int32_t packed; /* 1: data is in the layout rt_gemm_pack_b writes */
};

/* What happens to each tile of C after its product. */
struct rt_gemm_epilogue {
    float beta;            /* 0: C's old contents are never read */
    const float *bias;     /* N floats added to every row, or NULL */
    int32_t activation;    /* enum rt_gemm_act, applied after the bias */
    const float *residual; /* M x N added after the activation, or NULL */
    int64_t residual_ld;   /* row step of residual in elements */
};

/* One product C(M x N) = epilogue(alpha * A(M x K) * B(K x N)). */
struct rt_gemm {
    int64_t m, n, k;
    float alpha;
    const float *a;
    int64_t a_rs, a_cs; /* A(i, l) = a[i * a_rs + l * a_cs] */
    struct rt_gemm_b b;
    float *c;
    int64_t ldc; /* row step of C in elements; columns are contiguous */
    struct rt_gemm_epilogue ep;
};

/* A split of one product into tiles of rows and columns for the pool. */
struct rt_gemm_split {
    int64_t mt, nt;           /* rows and columns per tile */
    int64_t m_tiles, n_tiles; /* tiles along each dim */
};

/* 1 if nr is a panel width that rt_gemm supports. */
int rt_gemm_valid_panel(int64_t nr);

/*
 * Write the K x N matrix B(l, j) = b[l * rs + j * cs] in the packed layout
 * for panel width nr: panel p holds columns [p * nr, p * nr + w) with w =
 * min(nr, N - p * nr), as a K x w row-major block starting at element
 * p * nr * K.  The layout has exactly K * N elements.
 */
void rt_gemm_pack_b(const float *b, int64_t rs, int64_t cs, int64_t k,
                    int64_t n, int64_t nr, float *out);

/*
 * Split products into tiles so that n_items of them (a batch) give each
 * of n_threads threads several tiles when the shapes allow it.
 */
void rt_gemm_plan_split(const struct rt_gemm *g, int64_t n_items, int n_threads,
                        struct rt_gemm_split *split);

/*
 * Compute rows [i0, i1) and columns [j0, j1) of C, epilogue included,
 * on the calling thread.  j0 must be a multiple of g->b.nr when B is
 * packed.
 */
void rt_gemm_tile(const struct rt_gemm *g, int64_t i0, int64_t i1, int64_t j0,
                  int64_t j1);

/* Compute the whole product on the pool (NULL runs it on the caller). */
void rt_gemm_f32(struct rt_pool *pool, const struct rt_gemm *g);

#endif
