/*
 * Sessions: what a generated library's entry points do behind their
 * prefix.  A session owns its workspace, thread pool and error message, so
 * two sessions can run at once on two threads.
 */
#include "rt.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORKSPACE_ALIGN 64
/* The max num_threads of rt_session_create.  A larger count is taken as a
 * caller's mistake, because the pool would start that many threads. */
#define RT_MAX_THREADS 1024

struct rt_session {
    const struct rt_model *model;
    struct rt_pool *pool;
    char *arena;       /* 64-byte aligned workspace */
    void *arena_owned; /* what to free, when the session allocated it */
    size_t arena_size;
    void **in_ptrs;
    void **out_ptrs;
    struct rt_strings *strings; /* strings of the last run's outputs */
    char error[RT_ERROR_SIZE];
};

static const char *
dtype_name(int32_t t)
{
    switch (t) {
    case RT_FLOAT:
        return "float32";
    case RT_UINT8:
        return "uint8";
    case RT_INT8:
        return "int8";
    case RT_UINT16:
        return "uint16";
    case RT_INT16:
        return "int16";
    case RT_INT32:
        return "int32";
    case RT_INT64:
        return "int64";
    case RT_STRING:
        return "string";
    case RT_BOOL:
        return "bool";
    case RT_FLOAT16:
        return "float16";
    case RT_DOUBLE:
        return "float64";
    case RT_UINT32:
        return "uint32";
    case RT_UINT64:
        return "uint64";
    case RT_BFLOAT16:
        return "bfloat16";
    default:
        return "unknown";
    }
}

static int
format_dims(char *buf, size_t size, const int64_t *dims, int rank)
{
    size_t at = 0;
    at += (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < rank && at < size; i++)
        at += (size_t)snprintf(buf + at, size - at, "%s%lld", i ? "," : "",
                               (long long)dims[i]);
    if (at < size)
        snprintf(buf + at, size - at, "]");
    return 0;
}

/*
 * Whether this CPU runs code compiled for isa.  Code generation targets
 * the compiling machine's CPU, so a library moved to an older CPU would
 * otherwise die of an illegal instruction.
 */
static int
cpu_supports(int32_t isa)
{
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (isa >= RT_ISA_AVX512 && !__builtin_cpu_supports("avx512f"))
        return 0;
    if (isa >= RT_ISA_AVX2 &&
        !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")))
        return 0;
#else
    (void)isa;
#endif
    return 1;
}

int
rt_session_create(const struct rt_model *m, int n_threads,
                  struct rt_session **out)
{
    if (!out)
        return RT_ERR_ARGUMENT;
    *out = NULL;
    if (!m || n_threads > RT_MAX_THREADS)
        return RT_ERR_ARGUMENT;
    if (!cpu_supports(m->isa))
        return RT_ERR_UNSUPPORTED_CPU;
    struct rt_session *s = calloc(1, sizeof(*s));
    if (!s)
        return RT_ERR_MEMORY;
    s->model = m;
    s->in_ptrs = calloc((size_t)m->n_inputs + 1, sizeof(void *));
    s->out_ptrs = calloc((size_t)m->n_outputs + 1, sizeof(void *));
    size_t size = (size_t)m->arena_size;
    s->arena_owned = malloc(size + WORKSPACE_ALIGN);
    s->strings = rt_strings_create();
    if (!s->in_ptrs || !s->out_ptrs || !s->arena_owned || !s->strings) {
        rt_session_destroy(s);
        return RT_ERR_MEMORY;
    }
    uintptr_t base = (uintptr_t)s->arena_owned;
    base = (base + WORKSPACE_ALIGN - 1) & ~(uintptr_t)(WORKSPACE_ALIGN - 1);
    s->arena = (char *)base;
    s->arena_size = size;
    if (n_threads <= 0)
        n_threads = 1;
    s->pool = rt_pool_create(n_threads);
    *out = s;
    return RT_OK;
}

int
rt_session_set_workspace(struct rt_session *s, void *workspace, size_t size)
{
    if (!s)
        return RT_ERR_ARGUMENT;
    if (!workspace || ((uintptr_t)workspace & (WORKSPACE_ALIGN - 1))) {
        snprintf(s->error, sizeof(s->error),
                 "workspace must be a non-NULL pointer aligned to %d bytes",
                 WORKSPACE_ALIGN);
        return RT_ERR_ARGUMENT;
    }
    if (size < (size_t)s->model->arena_size) {
        snprintf(s->error, sizeof(s->error),
                 "workspace of %zu bytes is too small: the model needs %lld",
                 size, (long long)s->model->arena_size);
        return RT_ERR_ARGUMENT;
    }
    free(s->arena_owned);
    s->arena_owned = NULL;
    s->arena = workspace;
    s->arena_size = size;
    return RT_OK;
}

/* Check one caller tensor against the compiled descriptor. */
static int
check_tensor(struct rt_session *s, const char *role, const struct rt_io *io,
             const struct rt_tensor *t)
{
    const struct rt_desc *d = &io->desc;
    if (!t->data && rt_numel(d) > 0) {
        snprintf(s->error, sizeof(s->error), "%s '%s': data is NULL", role,
                 io->name);
        return RT_ERR_ARGUMENT;
    }
    if (t->dtype != d->dtype) {
        snprintf(s->error, sizeof(s->error),
                 "%s '%s': dtype is %s, expected %s", role, io->name,
                 dtype_name(t->dtype), dtype_name(d->dtype));
        return RT_ERR_SHAPE;
    }
    int same = t->rank == d->rank && (t->rank == 0 || t->shape);
    for (int i = 0; same && i < d->rank; i++)
        same = t->shape[i] == d->dims[i];
    if (!same) {
        char want[160], got[160] = "(no shape)";
        format_dims(want, sizeof(want), d->dims, d->rank);
        if (t->shape && t->rank >= 0 && t->rank <= RT_MAX_RANK)
            format_dims(got, sizeof(got), t->shape, t->rank);
        else if (t->rank < 0 || t->rank > RT_MAX_RANK)
            snprintf(got, sizeof(got), "(rank %d)", (int)t->rank);
        snprintf(s->error, sizeof(s->error),
                 "%s '%s': shape is %s, expected %s", role, io->name, got,
                 want);
        return RT_ERR_SHAPE;
    }
    if (d->dtype == RT_STRING && role[0] == 'i') {
        const char *const *str = t->data;
        for (int64_t i = 0, n = rt_numel(d); i < n; i++)
            if (!str[i]) {
                snprintf(s->error, sizeof(s->error),
                         "input '%s': string %lld is NULL", io->name,
                         (long long)i);
                return RT_ERR_ARGUMENT;
            }
    }
    return RT_OK;
}

/* The bytes [*lo, *hi) that tensor t of descriptor io covers. */
static void
byte_range(const struct rt_io *io, const struct rt_tensor *t, uintptr_t *lo,
           uintptr_t *hi)
{
    size_t n = (size_t)rt_numel(&io->desc) * rt_dtype_size(io->desc.dtype);
    *lo = (uintptr_t)t->data;
    *hi = t->data ? *lo + n : *lo;
}

/*
 * Reject an output that shares memory with an input or another output:
 * kernels assume outputs alias nothing, so such a run would return wrong
 * values instead of an error.
 */
static int
check_overlaps(struct rt_session *s, const struct rt_tensor *inputs,
               const struct rt_tensor *outputs)
{
    const struct rt_model *m = s->model;
    for (int32_t i = 0; i < m->n_outputs; i++) {
        uintptr_t lo, hi;
        byte_range(&m->outputs[i], &outputs[i], &lo, &hi);
        for (int32_t j = 0; lo < hi && j < m->n_inputs + i; j++) {
            bool is_input = j < m->n_inputs;
            const struct rt_io *io =
                is_input ? &m->inputs[j] : &m->outputs[j - m->n_inputs];
            uintptr_t olo, ohi;
            byte_range(io, is_input ? &inputs[j] : &outputs[j - m->n_inputs],
                       &olo, &ohi);
            if (olo < ohi && lo < ohi && olo < hi) {
                snprintf(s->error, sizeof(s->error),
                         "output '%s' overlaps %s '%s': outputs must not "
                         "share memory with inputs or other outputs",
                         m->outputs[i].name, is_input ? "input" : "output",
                         io->name);
                return RT_ERR_ARGUMENT;
            }
        }
    }
    return RT_OK;
}

int
rt_session_run(struct rt_session *s, const struct rt_tensor *inputs,
               int32_t n_inputs, struct rt_tensor *outputs, int32_t n_outputs)
{
    if (!s)
        return RT_ERR_ARGUMENT;
    const struct rt_model *m = s->model;
    s->error[0] = 0;
    if (n_inputs != m->n_inputs || n_outputs != m->n_outputs) {
        snprintf(s->error, sizeof(s->error),
                 "expected %d inputs and %d outputs, got %d and %d",
                 (int)m->n_inputs, (int)m->n_outputs, (int)n_inputs,
                 (int)n_outputs);
        return RT_ERR_ARGUMENT;
    }
    if ((n_inputs && !inputs) || (n_outputs && !outputs)) {
        snprintf(s->error, sizeof(s->error), "inputs or outputs is NULL");
        return RT_ERR_ARGUMENT;
    }
    for (int32_t i = 0; i < n_inputs; i++) {
        int rc = check_tensor(s, "input", &m->inputs[i], &inputs[i]);
        if (rc)
            return rc;
        s->in_ptrs[i] = inputs[i].data;
    }
    for (int32_t i = 0; i < n_outputs; i++) {
        int rc = check_tensor(s, "output", &m->outputs[i], &outputs[i]);
        if (rc)
            return rc;
        s->out_ptrs[i] = outputs[i].data;
    }
    int rc = check_overlaps(s, inputs, outputs);
    if (rc)
        return rc;
    rt_strings_clear(s->strings);
    struct rt_ctx ctx = {
        .pool = s->pool, .error = s->error, .strings = s->strings};
    return m->forward(&ctx, s->in_ptrs, s->out_ptrs, s->arena);
}

const char *
rt_session_error(const struct rt_session *s)
{
    return s ? s->error : "session is NULL";
}

void
rt_session_destroy(struct rt_session *s)
{
    if (!s)
        return;
    rt_pool_destroy(s->pool);
    free(s->arena_owned);
    free(s->in_ptrs);
    free(s->out_ptrs);
    rt_strings_destroy(s->strings);
    free(s);
}
