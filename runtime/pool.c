/*
 * A persistent thread pool.  Workers are created once per session.  After
 * a job they spin for SPIN_NS, since a model's next kernel usually starts
 * within microseconds, and then sleep on a condition variable.
 * rt_parallel_for hands out indices from a shared counter, so uneven tasks
 * balance themselves.  It waits only for the workers that joined the job
 * before the caller ran out of tasks, because on a loaded machine a worker
 * that the OS has not scheduled yet would otherwise delay the caller.
 */
#include "rt.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

enum {
    SPIN_NS = 20 * 1000, /* how long an idle thread polls before sleeping */
    SPIN_CHECK = 64,     /* pauses between clock reads while polling */
};

struct rt_pool {
    int n_threads; /* the caller included */
    pthread_t *workers;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_cond_t done;
    uint64_t generation; /* bumped for each parallel_for; atomic */
    int open;            /* workers may still join the current job */
    uint64_t active;     /* workers inside the current job; atomic */
    int stop;
    void (*fn)(void *arg, int64_t i);
    void *arg;
    int64_t n;
    int64_t next; /* next index to hand out; guarded by atomics */
};

static void
run_job(struct rt_pool *p)
{
    for (;;) {
        int64_t i = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED);
        if (i >= p->n)
            break;
        p->fn(p->arg, i);
    }
}

static int64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/*
 * Poll until *word differs from value (or equals it, when until_equal is
 * set) or SPIN_NS pass.  The caller then checks again under the lock, so
 * a timeout only costs the sleep that polling tried to avoid.
 */
static void
spin_on(const uint64_t *word, uint64_t value, int until_equal)
{
    int64_t start = 0;
    for (int i = 1;; i++) {
        uint64_t v = __atomic_load_n(word, __ATOMIC_ACQUIRE);
        if ((v == value) == (until_equal != 0))
            return;
        cpu_relax();
        if (i % SPIN_CHECK != 0)
            continue;
        int64_t t = now_ns();
        if (start == 0)
            start = t;
        else if (t - start > SPIN_NS)
            return;
    }
}

static void *
worker_main(void *arg)
{
    struct rt_pool *p = arg;
    uint64_t seen = 0;

    for (;;) {
        spin_on(&p->generation, seen, 0);
        pthread_mutex_lock(&p->lock);
        while (!p->stop && p->generation == seen)
            pthread_cond_wait(&p->wake, &p->lock);
        if (p->stop)
            break;
        seen = p->generation;
        if (!p->open) {
            pthread_mutex_unlock(&p->lock);
            continue;
        }
        __atomic_add_fetch(&p->active, 1, __ATOMIC_RELAXED);
        pthread_mutex_unlock(&p->lock);
        run_job(p);
        pthread_mutex_lock(&p->lock);
        if (__atomic_sub_fetch(&p->active, 1, __ATOMIC_RELEASE) == 0 &&
            !p->open)
            pthread_cond_signal(&p->done);
        pthread_mutex_unlock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

struct rt_pool *
rt_pool_create(int n_threads)
{
    if (n_threads <= 1)
        return NULL;
    struct rt_pool *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->workers = calloc((size_t)n_threads, sizeof(pthread_t));
    if (!p->workers) {
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    p->n_threads = 1;
    for (int i = 0; i < n_threads - 1; i++) {
        if (pthread_create(&p->workers[i], NULL, worker_main, p) != 0)
            break;
        p->n_threads++;
    }
    return p;
}

void
rt_pool_destroy(struct rt_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->n_threads - 1; i++)
        pthread_join(p->workers[i], NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    free(p->workers);
    free(p);
}

int
rt_pool_size(const struct rt_pool *p)
{
    return p ? p->n_threads : 1;
}

void
rt_parallel_for(struct rt_pool *p, int64_t n, void (*fn)(void *, int64_t),
                void *arg)
{
    if (n <= 0)
        return;
    if (!p || p->n_threads == 1 || n == 1) {
        for (int64_t i = 0; i < n; i++)
            fn(arg, i);
        return;
    }
    pthread_mutex_lock(&p->lock);
    p->fn = fn;
    p->arg = arg;
    p->n = n;
    __atomic_store_n(&p->next, 0, __ATOMIC_RELAXED);
    p->open = 1;
    __atomic_store_n(&p->generation, p->generation + 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);

    run_job(p);

    /* Every index is handed out: close the job to late workers, then wait
     * for those inside it to finish their last task. */
    pthread_mutex_lock(&p->lock);
    p->open = 0;
    pthread_mutex_unlock(&p->lock);
    spin_on(&p->active, 0, 1);
    pthread_mutex_lock(&p->lock);
    while (__atomic_load_n(&p->active, __ATOMIC_ACQUIRE) > 0)
        pthread_cond_wait(&p->done, &p->lock);
    pthread_mutex_unlock(&p->lock);
}
