/*
 * A persistent thread pool.  Workers are created once per session and wait
 * on a condition variable; rt_parallel_for hands out indices from a shared
 * counter, so uneven tasks balance themselves.
 */
#include "rt.h"

#include <pthread.h>
#include <stdlib.h>

struct rt_pool {
    int n_threads; /* the caller included */
    pthread_t *workers;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_cond_t done;
    uint64_t generation; /* bumped for each parallel_for */
    int busy;            /* workers still in the current job */
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

static void *
worker_main(void *arg)
{
    struct rt_pool *p = arg;
    uint64_t seen = 0;

    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stop && p->generation == seen)
            pthread_cond_wait(&p->wake, &p->lock);
        if (p->stop)
            break;
        seen = p->generation;
        pthread_mutex_unlock(&p->lock);
        run_job(p);
        pthread_mutex_lock(&p->lock);
        if (--p->busy == 0)
            pthread_cond_signal(&p->done);
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
    p->busy = p->n_threads - 1;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);

    run_job(p);

    pthread_mutex_lock(&p->lock);
    while (p->busy > 0)
        pthread_cond_wait(&p->done, &p->lock);
    pthread_mutex_unlock(&p->lock);
}
