/*
 * GEMM micro-benchmark: GFLOP/s of rt_gemm_f32 on the matrix shapes of the
 * three benchmark models, next to the FMA peak of one core measured by a
 * loop of independent vector FMAs.  Build it the way codegen builds the
 * runtime, with clang 19 for the host CPU:
 *
 *   clang-19 -O2 -march=native -mprefer-vector-width=512 -Iruntime \
 *       bench/gemm_bench.c runtime/k_gemm.c runtime/pool.c runtime/util.c \
 *       -o build-perf/gemm_bench -lm -lpthread
 *   ./build-perf/gemm_bench [--threads N] [--nr 8|16|32] [--cold]
 *
 * --cold reads B from a different copy in each run, so that it comes from
 * memory, as the weights of a model do in one inference.
 * Each shape runs for about 0.2 s; the minimum time over runs is reported,
 * because other processes share the cores.
 */
#include "k_gemm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef float v16f __attribute__((vector_size(64)));

static double
now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/*
 * Peak FMA rate of one core in GFLOP/s: 12 independent chains of 16-wide
 * FMAs, enough to cover the latency of two FMA units.  The best of 100
 * short runs is returned, because other processes share the cores.
 */
static double
peak_gflops(void)
{
    v16f acc[12];
    v16f mul = {0}, add = {0};
    for (int i = 0; i < 16; i++) {
        mul[i] = 0.999999f;
        add[i] = 1e-7f;
    }
    for (int c = 0; c < 12; c++)
        acc[c] = mul * (float)c;
    const long iters = 1000 * 1000;
    double best = 0;
    for (int run = 0; run < 100; run++) {
        double t0 = now();
        for (long i = 0; i < iters; i++) {
            for (int c = 0; c < 12; c++)
                acc[c] = acc[c] * mul + add;
            __asm__ volatile(""
                             : "+v"(acc[0]), "+v"(acc[1]), "+v"(acc[2]),
                               "+v"(acc[3]), "+v"(acc[4]), "+v"(acc[5]));
        }
        double dt = now() - t0;
        double gf = (double)iters * 12 * 16 * 2 / dt * 1e-9;
        if (gf > best)
            best = gf;
    }
    float sink = 0;
    for (int c = 0; c < 12; c++)
        for (int i = 0; i < 16; i++)
            sink += acc[c][i];
    if (sink == 12345.0f)
        printf("%g\n", (double)sink);
    return best;
}

static float *
random_matrix(int64_t n)
{
    float *p = aligned_alloc(64, (size_t)((n * 4 + 63) / 64 * 64));
    for (int64_t i = 0; i < n; i++)
        p[i] = (float)(rand() % 2001 - 1000) / 1000.0f;
    return p;
}

struct shape {
    const char *model;
    const char *matrix;
    int64_t m, k, n;
};

static const struct shape shapes[] = {
    {"transformer", "proj, src", 32, 256, 256},
    {"transformer", "ff1, src", 32, 256, 1024},
    {"transformer", "ff2, src", 32, 1024, 256},
    {"transformer", "proj, tgt", 16, 256, 256},
    {"bert", "qkv/out", 128, 768, 768},
    {"bert", "ff1", 128, 768, 3072},
    {"bert", "ff2", 128, 3072, 768},
    {"seq2seq", "proj, enc", 64, 512, 512},
    {"seq2seq", "ff1, enc", 64, 512, 2048},
    {"seq2seq", "ff2, enc", 64, 2048, 512},
    {"seq2seq", "proj, dec", 16, 512, 512},
    {"seq2seq", "ff1, dec", 16, 512, 2048},
    {"seq2seq", "logits", 16, 512, 8000},
};

/*
 * Best GFLOP/s of C = A B over runs that take about 0.2 s in all.  With
 * n_copies > 1, run r reads B from copy r % n_copies, all of them with the
 * layout of the first, so B comes from memory as a model's weights do.
 */
static double
time_gemm(struct rt_pool *pool, const struct rt_gemm *g, float *const *copies,
          int n_copies)
{
    double flop = 2.0 * (double)g->m * (double)g->k * (double)g->n;
    double best = 1e30, total = 0;
    struct rt_gemm run_g = *g;
    rt_gemm_f32(pool, g);
    for (int run = 0; run < 1000 && (run < 5 || total < 0.2); run++) {
        if (n_copies > 1)
            run_g.b.data = copies[run % n_copies];
        double t0 = now();
        rt_gemm_f32(pool, &run_g);
        double dt = now() - t0;
        total += dt;
        if (dt < best)
            best = dt;
    }
    return flop / best * 1e-9;
}

/* Largest difference between the packed product and a plain reference. */
static double
check_gemm(const struct rt_gemm *g, const float *a, const float *b)
{
    double worst = 0;
    for (int64_t i = 0; i < g->m; i += 7) {
        for (int64_t j = 0; j < g->n; j += 5) {
            double s = 0;
            for (int64_t l = 0; l < g->k; l++)
                s += (double)a[i * g->k + l] * b[l * g->n + j];
            double d = s - g->c[i * g->ldc + j];
            d = d < 0 ? -d : d;
            if (d > worst)
                worst = d;
        }
    }
    return worst;
}

int
main(int argc, char **argv)
{
    int threads = 1, nr = RT_GEMM_NR_AVX512, cold = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--nr") == 0 && i + 1 < argc)
            nr = atoi(argv[++i]);
        else if (strcmp(argv[i], "--cold") == 0)
            cold = 1;
    }
    if (!rt_gemm_valid_panel(nr)) {
        fprintf(stderr, "--nr %d is not supported (use 8, 16 or 32)\n", nr);
        return 1;
    }
    double peak = peak_gflops();
    printf("FMA peak of one core: %.1f GFLOP/s; %d thread(s), panel "
           "width %d\n\n",
           peak, threads, nr);
    printf("| model | matrix | M x K x N | packed GFLOP/s | %% of peak | "
           "unpacked GFLOP/s | %% of peak | max error |\n");
    printf("|---|---|---|---|---|---|---|---|\n");
    struct rt_pool *pool = rt_pool_create(threads);
    double scale = peak * threads;
    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
        const struct shape *sh = &shapes[s];
        float *a = random_matrix(sh->m * sh->k);
        float *b = random_matrix(sh->k * sh->n);
        float *packed = random_matrix(sh->k * sh->n);
        float *c = random_matrix(sh->m * sh->n);
        rt_gemm_pack_b(b, sh->n, 1, sh->k, sh->n, nr, packed);
        /* --cold: enough copies of B for 512 MB, more than the caches. */
        int n_copies = 1;
        float *copies[64] = {packed};
        if (cold) {
            int64_t want = (512 << 20) / (sh->k * sh->n * 4) + 1;
            n_copies = want < 64 ? (int)want : 64;
            for (int i = 1; i < n_copies; i++) {
                copies[i] = random_matrix(sh->k * sh->n);
                memcpy(copies[i], packed, (size_t)(sh->k * sh->n) * 4);
            }
        }
        struct rt_gemm g = {
            .m = sh->m,
            .n = sh->n,
            .k = sh->k,
            .alpha = 1,
            .a = a,
            .a_rs = sh->k,
            .a_cs = 1,
            .b = {.data = packed, .rs = sh->n, .cs = 1, .nr = nr, .packed = 1},
            .c = c,
            .ldc = sh->n,
        };
        double packed_gf = time_gemm(pool, &g, copies, n_copies);
        double err = check_gemm(&g, a, b);
        g.b.data = b;
        g.b.packed = 0;
        for (int i = 1; i < n_copies; i++)
            memcpy(copies[i], b, (size_t)(sh->k * sh->n) * 4);
        double plain_gf = time_gemm(pool, &g, copies, n_copies);
        double err2 = check_gemm(&g, a, b);
        printf("| %s | %s | %lldx%lldx%lld | %.1f | %.0f%% | %.1f | %.0f%% "
               "| %.1e |\n",
               sh->model, sh->matrix, (long long)sh->m, (long long)sh->k,
               (long long)sh->n, packed_gf, 100 * packed_gf / scale, plain_gf,
               100 * plain_gf / scale, err > err2 ? err : err2);
        for (int i = 1; i < n_copies; i++)
            free(copies[i]);
        free(a);
        free(b);
        free(packed);
        free(c);
    }
    rt_pool_destroy(pool);
    return 0;
}
