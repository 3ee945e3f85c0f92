/*
 * The pass manager: runs the pipeline in order, skips disabled passes,
 * prints the IR before or after a pass, verifies it between passes and
 * collects timings and statistics.
 */
#include "passes.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct pass *const pipeline[] = {
    &pass_infer,       &pass_canonicalize, &pass_cse,
    &pass_fuse_norm,   &pass_fuse_gelu,    &pass_fuse_attention,
    &pass_fuse_matmul, &pass_dce,          &pass_layout,
};

#define N_PASSES ((int)(sizeof(pipeline) / sizeof(pipeline[0])))

const struct pass *
pass_find(const char *name)
{
    for (int i = 0; i < N_PASSES; i++)
        if (strcmp(pipeline[i]->name, name) == 0)
            return pipeline[i];
    return NULL;
}

void
pass_list(FILE *out)
{
    for (int i = 0; i < N_PASSES; i++)
        fprintf(out, "  %-12s %s\n", pipeline[i]->name, pipeline[i]->summary);
}

static bool
listed(const char *const *names, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return true;
    return false;
}

void
pass_stat_add(struct pass_manager *pm, const char *name, int64_t n)
{
    for (int i = 0; i < pm->n_stats; i++) {
        if (strcmp(pm->stats[i].pass, pm->current) == 0 &&
            strcmp(pm->stats[i].name, name) == 0) {
            pm->stats[i].count += n;
            return;
        }
    }
    if (pm->n_stats >= pm->cap_stats) {
        pm->cap_stats = pm->cap_stats ? 2 * pm->cap_stats : 16;
        pm->stats =
            ir_xrealloc(pm->stats, sizeof(*pm->stats) * (size_t)pm->cap_stats);
    }
    pm->stats[pm->n_stats++] = (struct pass_stat){pm->current, name, n};
}

static double
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int
pass_run_pipeline(struct ir_graph *g, struct pass_manager *pm)
{
    return pass_run_list(g, pm, pipeline, N_PASSES);
}

int
pass_run_list(struct ir_graph *g, struct pass_manager *pm,
              const struct pass *const *passes, int n)
{
    static const struct pass_options no_options;
    const struct pass_options *o = pm->opts ? pm->opts : &no_options;
    FILE *dump = o->dump ? o->dump : stderr;
    double *times = ir_xcalloc((size_t)n + 1, sizeof(double));
    int rc = 0;

    for (int i = 0; i < n && rc == 0; i++) {
        const struct pass *p = passes[i];
        if (listed(o->disabled, o->n_disabled, p->name))
            continue;
        if (listed(o->print_before, o->n_print_before, p->name)) {
            fprintf(dump, "// ----- IR before %s -----\n", p->name);
            ir_print(dump, g);
        }
        pm->current = p->name;
        double t0 = now_ms();
        rc = p->run(g, pm);
        times[i] = now_ms() - t0;
        pm->current = NULL;
        if (rc != 0) {
            rc = -1;
            break;
        }
        if (o->print_after_all ||
            listed(o->print_after, o->n_print_after, p->name)) {
            fprintf(dump, "// ----- IR after %s -----\n", p->name);
            ir_print(dump, g);
        }
#ifndef NDEBUG
        bool verify = true;
#else
        bool verify = o->verify_each;
#endif
        if (verify && ir_verify(g) != 0)
            rc = ir_errorf("the IR is invalid after pass '%s'", p->name);
    }
    if (rc == 0 && o->time_passes) {
        fprintf(dump, "// pass timings (ms)\n");
        for (int i = 0; i < n; i++)
            fprintf(dump, "//   %-20s %9.3f\n", passes[i]->name, times[i]);
    }
    free(times);
    return rc;
}

void
pass_print_stats(FILE *out, const struct pass_manager *pm)
{
    for (int i = 0; i < pm->n_stats; i++)
        fprintf(out, "%-12s %-32s %lld\n", pm->stats[i].pass, pm->stats[i].name,
                (long long)pm->stats[i].count);
}

void
pass_manager_free(struct pass_manager *pm)
{
    free(pm->stats);
    pm->stats = NULL;
    pm->n_stats = pm->cap_stats = 0;
}
