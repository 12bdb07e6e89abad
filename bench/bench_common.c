/* bench_common.c - the helpers and the case-2 timings both benchmark
 * programs share (bench_common.h). */
#include "bench_common.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

void die(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "%s: ", program_invocation_short_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1); /* over MPI, the job ends with rank 0 (common/pool_mpi.c) */
}

void ok(int rc, const char *what)
{
    if (rc != POOL_OK)
        die("%s: %s", what, pool_strerror(rc));
}

double now(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        die("clock_gettime: %s", strerror(errno));
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double median(const double *v, int n)
{
    double *s = xmalloc((size_t)n * sizeof *s);
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    double m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    free(s);
    return m;
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die("out of memory (%zu bytes)", n);
    return p;
}

double cpu_self(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        die("getrusage: %s", strerror(errno));
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

pool_value t_square(const pool_value *a, size_t n)
{
    if (n != 1 || a[0].type != POOL_INT)
        return pool_error("square: wants one int");
    return pool_int(a[0].as.i * a[0].as.i);
}

/* The callbacks count down to the last one. */
typedef struct countdown {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    long left, errors;
    long long sum;
} countdown;

static pool_value cb_count(const pool_value *v, void *ud)
{
    countdown *c = ud;
    pthread_mutex_lock(&c->mu);
    c->sum += v->type == POOL_INT ? v->as.i : 0;
    if (--c->left == 0)
        pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return pool_none();
}

static pool_value cb_error(const pool_value *v, void *ud)
{
    countdown *c = ud;
    pthread_mutex_lock(&c->mu);
    if (c->errors++ == 0)
        fprintf(stderr, "%s: task failed: %s\n", program_invocation_short_name,
                v->type == POOL_ERROR ? v->as.s : "(no message)");
    if (--c->left == 0)
        pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return pool_none();
}

double apply_batch(pool_t *p, long n, double timeout)
{
    countdown c = {.left = n};
    pthread_mutex_init(&c.mu, NULL);
    pthread_cond_init(&c.cv, NULL);
    pool_opts opts = {.callback = cb_count, .error_callback = cb_error, .user_data = &c};

    double t0 = now();
    for (long i = 0; i < n; i++) {
        pool_result *h = NULL;
        ok(pool_apply_async(p, t_square, pool_tuple(1, pool_int(i)), &opts, &h),
           "pool_apply_async");
        pool_result_release(h);
    }
    struct timespec dl; /* pthread_cond_timedwait's clock, not now()'s */
    if (clock_gettime(CLOCK_REALTIME, &dl) != 0)
        die("clock_gettime: %s", strerror(errno));
    dl.tv_sec += (time_t)timeout;
    pthread_mutex_lock(&c.mu);
    while (c.left > 0) {
        if (timeout <= 0) /* the caller bounds the whole run, e.g. timeout(1) */
            pthread_cond_wait(&c.cv, &c.mu);
        else if (pthread_cond_timedwait(&c.cv, &c.mu, &dl) == ETIMEDOUT)
            die("apply_async: %ld of %ld callbacks missing after %.0f s", c.left, n, timeout);
    }
    pthread_mutex_unlock(&c.mu);
    double t = now() - t0;

    long long want = 0;
    for (long i = 0; i < n; i++)
        want += (long long)i * i;
    if (c.errors)
        die("apply_async: %ld tasks failed", c.errors);
    if (c.sum != want)
        die("apply_async: the callbacks saw a sum of %lld, wanted %lld", c.sum, want);
    pthread_cond_destroy(&c.cv);
    pthread_mutex_destroy(&c.mu);
    return t;
}

double timed_square_map(pool_t *p, long n, long chunksize)
{
    pool_opts opts = {.chunksize = chunksize};
    pool_value out = pool_none();
    double t0 = now();
    ok(pool_map(p, t_square, pool_range((size_t)n), &opts, &out), "pool_map");
    double t = now() - t0;
    if (out.type != POOL_LIST || out.len != (uint32_t)n)
        die("pool_map: wanted a list of %ld items", n);
    for (long i = 0; i < n; i++)
        if (out.as.items[i].type != POOL_INT || out.as.items[i].as.i != (long long)i * i)
            die("pool_map: item %ld is wrong", i);
    pool_value_free(&out);
    return t;
}

double round_trips(pool_t *p, long n)
{
    double t0 = now();
    for (long i = 0; i < n; i++) {
        pool_value out = pool_none();
        ok(pool_apply(p, t_square, pool_tuple(1, pool_int(i)), NULL, &out), "pool_apply");
        if (out.type != POOL_INT || out.as.i != (long long)i * i)
            die("pool_apply: wrong result for %ld", i);
        pool_value_free(&out);
    }
    return (now() - t0) / (double)n * 1e6;
}

double idle_round_trip(pool_t *p, int n, int idle)
{
    double *v = xmalloc((size_t)n * sizeof *v);
    for (int i = 0; i < n; i++) {
        struct timespec nap = {idle / 1000, (long)(idle % 1000) * 1000000};
        while (nanosleep(&nap, &nap) != 0 && errno == EINTR)
            continue;
        pool_value out = pool_none();
        double t0 = now();
        ok(pool_apply(p, t_square, pool_tuple(1, pool_int(i)), NULL, &out), "pool_apply");
        v[i] = (now() - t0) * 1e6;
        if (out.type != POOL_INT || out.as.i != (long long)i * i)
            die("pool_apply: wrong result for %d", i);
        pool_value_free(&out);
    }
    double m = median(v, n);
    free(v);
    return m;
}
