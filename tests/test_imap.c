/* test_imap.c - pool_imap() and pool_imap_unordered(): imap gives results
 * in item order whatever order they finish in; imap_unordered gives every
 * item exactly once, in the order they finish; a failed item comes back as
 * its own error with its index, and later items still come; an empty input
 * ends at once; a timeout returns; pool_close() cuts the input short; a
 * call on the result-handler thread is refused; and the input is never
 * read more than POOL_IMAP_AHEAD chunks per worker ahead of the caller. */
#include "check.h"
#include "pool.h"

#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* An input of n integers 0..n-1 (n < 0: endless) that counts its reads. */
typedef struct counter {
    long long n, reads;
} counter;

static bool next_int(void *state, pool_value *item)
{
    counter *c = state;
    if (c->n >= 0 && c->reads >= c->n)
        return false;
    *item = pool_int(c->reads++);
    return true;
}

/* Squares its item after a pseudo-random sleep of 0-2 ms, so items finish
 * out of order; item 0 sleeps 300 ms, so it finishes last of a short run. */
static pool_value square_jitter(const pool_value *args, size_t nargs)
{
    if (nargs != 1 || args[0].type != POOL_INT)
        return pool_error("want an int");
    long long i = args[0].as.i;
    usleep(i == 0 ? 300000 : (useconds_t)((i * 2654435761u) % 2000));
    return pool_int(i * i);
}

/* Fails items 3, 8, 13...; squares the others. */
static pool_value square_or_fail(const pool_value *args, size_t nargs)
{
    long long i = args[0].as.i;
    (void)nargs;
    if (i % 5 == 3)
        return pool_error("item %lld is bad", i);
    return pool_int(i * i);
}

static pool_value square(const pool_value *args, size_t nargs)
{
    (void)nargs;
    return pool_int(args[0].as.i * args[0].as.i);
}

static pool_value sleep_long(const pool_value *args, size_t nargs)
{
    (void)args, (void)nargs;
    sleep(3);
    return pool_none();
}

static void test_ordered(pool_t *pool, long chunksize)
{
    counter in = {.n = 1000};
    pool_iter *it;
    CHECK_OK(pool_imap(pool, square_jitter, next_int, &in, chunksize, &it));
    long long got = 0;
    bool in_order = true;
    pool_value v;
    int rc;
    while ((rc = pool_iter_next(it, 30, &v)) == POOL_OK) {
        in_order = in_order && v.type == POOL_INT && v.as.i == got * got &&
                   pool_iter_index(it) == (size_t)got;
        got++;
        pool_value_free(&v);
    }
    CHECK_EQ_INT(POOL_END, rc);
    CHECK_EQ_INT(1000, got);
    CHECK(in_order, "imap (chunksize %ld) gave a result out of item order", chunksize);
    CHECK_EQ_INT(POOL_END, pool_iter_next(it, 0, &v)); /* repeatable */
    pool_iter_destroy(it);
}

static void test_unordered(pool_t *pool, long chunksize)
{
    enum { N = 40 };
    counter in = {.n = N};
    pool_iter *it;
    CHECK_OK(pool_imap_unordered(pool, square_jitter, next_int, &in, chunksize, &it));
    int seen[N] = {0};
    size_t order[N];
    int got = 0, bad = 0;
    pool_value v;
    int rc;
    while ((rc = pool_iter_next(it, 30, &v)) == POOL_OK) {
        size_t i = pool_iter_index(it);
        if (i < N && v.type == POOL_INT && v.as.i == (long long)(i * i) && got < N) {
            seen[i]++;
            order[got] = i;
        } else {
            bad++;
        }
        got++;
        pool_value_free(&v);
    }
    CHECK_EQ_INT(POOL_END, rc);
    CHECK_EQ_INT(N, got);
    CHECK_EQ_INT(0, bad);
    int once = 0;
    for (int i = 0; i < N; i++)
        once += seen[i] == 1;
    CHECK_EQ_INT(N, once);
    /* Item 0 sleeps 300 ms; the others' few ms each end long before, so
     * item 0 comes in the second half (a chunk queued behind it on its
     * worker waits for it too). */
    int at = -1;
    for (int k = 0; k < got && k < N; k++)
        if (order[k] == 0)
            at = k;
    CHECK(at >= N / 2 && order[0] != 0,
          "imap_unordered (chunksize %ld) gave the slow item 0 at position %d of %d",
          chunksize, at, N);
    pool_iter_destroy(it);
}

static void test_errors(pool_t *pool, long chunksize, bool ordered)
{
    enum { N = 50 };
    counter in = {.n = N};
    pool_iter *it;
    if (ordered)
        CHECK_OK(pool_imap(pool, square_or_fail, next_int, &in, chunksize, &it));
    else
        CHECK_OK(pool_imap_unordered(pool, square_or_fail, next_int, &in, chunksize, &it));
    int ok = 0, failed = 0, wrong = 0;
    pool_value v;
    int rc;
    while ((rc = pool_iter_next(it, 30, &v)) == POOL_OK || rc == POOL_ETASK) {
        size_t i = pool_iter_index(it);
        if (rc == POOL_ETASK) {
            char want[64];
            snprintf(want, sizeof want, "task %zu failed in PoolWorker-", i);
            char tail[64];
            snprintf(tail, sizeof tail, "item %zu is bad", i);
            if (i % 5 == 3 && v.type == POOL_ERROR && strstr(v.as.s, want) &&
                strstr(v.as.s, tail))
                failed++;
            else
                wrong++, fprintf(stderr, "unexpected error for %zu: %s\n", i,
                                 v.type == POOL_ERROR ? v.as.s : "(not an error)");
        } else if (i % 5 != 3 && v.type == POOL_INT && v.as.i == (long long)(i * i)) {
            ok++;
        } else {
            wrong++;
        }
        pool_value_free(&v);
    }
    CHECK_EQ_INT(POOL_END, rc);
    CHECK_EQ_INT(N / 5, failed);
    CHECK_EQ_INT(N - N / 5, ok);
    CHECK_EQ_INT(0, wrong);
    pool_iter_destroy(it);
}

static void test_empty(pool_t *pool)
{
    counter in = {.n = 0};
    pool_iter *it;
    CHECK_OK(pool_imap_unordered(pool, square, next_int, &in, 1, &it));
    pool_value v;
    double t0 = now();
    CHECK_EQ_INT(POOL_END, pool_iter_next(it, 10, &v));
    CHECK_EQ_INT(POOL_END, pool_iter_next(it, 10, &v));
    CHECK(now() - t0 < 1, "an empty input took %.3f s to end", now() - t0);
    CHECK_EQ_INT(POOL_NONE, v.type);
    pool_iter_destroy(it);
}

/* The bound: at every step, reads - consumed <= AHEAD * processes * chunksize. */
static void test_bound(pool_t *pool, long chunksize)
{
    counter in = {.n = 3000};
    pool_iter *it;
    CHECK_OK(pool_imap_unordered(pool, square, next_int, &in, chunksize, &it));
    long long bound = POOL_IMAP_AHEAD * pool_processes(pool) * chunksize;
    long long consumed = 0, worst = in.reads;
    pool_value v;
    while (pool_iter_next(it, 30, &v) == POOL_OK) {
        consumed++;
        if (in.reads - consumed > worst)
            worst = in.reads - consumed;
        pool_value_free(&v);
    }
    CHECK_EQ_INT(3000, consumed);
    CHECK(worst <= bound, "chunksize %ld: read %lld items ahead of the caller; at most %lld "
                          "allowed", chunksize, worst, bound);
    CHECK(worst >= chunksize, "chunksize %ld: never read ahead at all (%lld)", chunksize, worst);
    pool_iter_destroy(it);
}

/* A separate pool: the timeout leaves a task running, terminate ends it. */
static void test_timeout(void)
{
    pool_t *pool;
    CHECK_OK(pool_create(&pool, &(pool_config){.processes = 1}));
    counter in = {.n = 1};
    pool_iter *it;
    CHECK_OK(pool_imap(pool, sleep_long, next_int, &in, 1, &it));
    pool_value v;
    double t0 = now();
    CHECK_EQ_INT(POOL_ETIMEDOUT, pool_iter_next(it, 0.2, &v));
    double took = now() - t0;
    CHECK(took >= 0.19 && took < 2.5, "a 0.2 s timeout returned after %.3f s", took);
    CHECK_EQ_INT(POOL_ETIMEDOUT, pool_iter_next(it, 0, &v));
    pool_terminate(pool);
    CHECK_EQ_INT(POOL_ETERMINATED, pool_iter_next(it, 10, &v));
    CHECK_STR_CONTAINS(v.type == POOL_ERROR ? v.as.s : "", "terminated");
    pool_value_free(&v);
    CHECK_EQ_INT(POOL_END, pool_iter_next(it, 10, &v));
    pool_iter_destroy(it);
    pool_destroy(pool);
}

/* pool_close() ends an endless input: the submitted chunks come, then
 * POOL_ENOTRUNNING, and next() is never called again. */
static void test_close_cuts(void)
{
    pool_t *pool;
    CHECK_OK(pool_create(&pool, &(pool_config){.processes = 2}));
    counter in = {.n = -1};
    pool_iter *it;
    CHECK_OK(pool_imap(pool, square, next_int, &in, 3, &it));
    pool_value v;
    for (int i = 0; i < 5; i++) {
        CHECK_OK(pool_iter_next(it, 30, &v));
        pool_value_free(&v);
    }
    CHECK_OK(pool_close(pool));
    long long reads = in.reads, after = 5;
    int rc;
    while ((rc = pool_iter_next(it, 30, &v)) == POOL_OK) {
        CHECK(v.type == POOL_INT && v.as.i == after * after, "item %lld after close", after);
        after++;
        pool_value_free(&v);
    }
    CHECK_EQ_INT(POOL_ENOTRUNNING, rc);
    CHECK_EQ_INT(POOL_ENOTRUNNING, pool_iter_next(it, 30, &v));
    CHECK_EQ_INT(reads, in.reads);
    CHECK_EQ_INT(reads, after); /* every item read before close was handed over */
    pool_iter_destroy(it);
    CHECK_OK(pool_join(pool));
    pool_destroy(pool);
}

/* On the result-handler thread both calls are refused. */
static pool_iter *shared_it;
static atomic_int next_rc, imap_rc;

static pool_value callback_tries(const pool_value *value, void *user_data)
{
    (void)value, (void)user_data;
    pool_value v;
    atomic_store(&next_rc, pool_iter_next(shared_it, 1, &v));
    counter in = {.n = 3};
    pool_iter *it = NULL;
    atomic_store(&imap_rc, pool_imap(user_data, square, next_int, &in, 1, &it));
    pool_iter_destroy(it);
    return pool_none();
}

static void test_deadlock(pool_t *pool)
{
    counter in = {.n = 4};
    CHECK_OK(pool_imap(pool, square, next_int, &in, 1, &shared_it));
    pool_result *r;
    CHECK_OK(pool_apply_async(pool, square, pool_tuple(1, pool_int(2)),
                              &(pool_opts){.callback = callback_tries, .user_data = pool}, &r));
    CHECK_OK(pool_result_wait(r, 30));
    pool_result_release(r);
    CHECK_EQ_INT(POOL_EDEADLK, atomic_load(&next_rc));
    CHECK_EQ_INT(POOL_EDEADLK, atomic_load(&imap_rc));
    pool_value v;
    int got = 0;
    while (pool_iter_next(shared_it, 30, &v) == POOL_OK) {
        got++;
        pool_value_free(&v);
    }
    CHECK_EQ_INT(4, got);
    pool_iter_destroy(shared_it);
}

/* Item 2 nests lists deeper than a worker decodes: it fails alone, with
 * its index, and the items around it still come. */
static bool next_with_deep(void *state, pool_value *item)
{
    counter *c = state;
    if (c->reads >= c->n)
        return false;
    if (c->reads == 2) {
        pool_value v = pool_int(0);
        for (int d = 0; d < POOL_MAX_DEPTH + 5; d++) {
            pool_value l = pool_list(1);
            l.as.items[0] = v;
            v = l;
        }
        *item = v;
        c->reads++;
        return true;
    }
    *item = pool_int(c->reads++);
    return true;
}

static void test_deep_item(pool_t *pool, bool ordered)
{
    counter in = {.n = 7};
    pool_iter *it;
    if (ordered)
        CHECK_OK(pool_imap(pool, square, next_with_deep, &in, 3, &it));
    else
        CHECK_OK(pool_imap_unordered(pool, square, next_with_deep, &in, 3, &it));
    pool_value v;
    int rc, ok = 0, deep = 0, wrong = 0;
    while ((rc = pool_iter_next(it, 30, &v)) == POOL_OK || rc == POOL_ETASK) {
        size_t i = pool_iter_index(it);
        if (rc == POOL_ETASK && i == 2 && v.type == POOL_ERROR &&
            strstr(v.as.s, "task 2 failed: its item nests lists deeper"))
            deep++;
        else if (rc == POOL_OK && i != 2 && v.type == POOL_INT && v.as.i == (long long)(i * i))
            ok++;
        else
            wrong++;
        pool_value_free(&v);
    }
    CHECK_EQ_INT(POOL_END, rc);
    CHECK_EQ_INT(1, deep);
    CHECK_EQ_INT(6, ok);
    CHECK_EQ_INT(0, wrong);
    pool_iter_destroy(it);
}

static void test_args(pool_t *pool)
{
    counter in = {.n = 1};
    pool_iter *it = (pool_iter *)1;
    CHECK_EQ_INT(POOL_EINVAL, pool_imap(NULL, square, next_int, &in, 1, &it));
    CHECK(it == NULL, "*it is not cleared on failure");
    CHECK_EQ_INT(POOL_EINVAL, pool_imap(pool, NULL, next_int, &in, 1, &it));
    CHECK_EQ_INT(POOL_EINVAL, pool_imap(pool, square, NULL, &in, 1, &it));
    CHECK_EQ_INT(POOL_EINVAL, pool_imap_unordered(pool, square, next_int, &in, -1, &it));
    CHECK_EQ_INT(POOL_EINVAL, pool_iter_next(NULL, 1, NULL));
    CHECK_EQ_INT(0, in.reads);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    pool_t *pool;
    CHECK_OK(pool_create(&pool, &(pool_config){.processes = 4}));
    test_args(pool);
    test_ordered(pool, 1);
    test_ordered(pool, 7);
    test_errors(pool, 1, true);
    test_errors(pool, 4, true);
    test_errors(pool, 4, false);
    test_empty(pool);
    test_deep_item(pool, true);
    test_deep_item(pool, false);
    test_bound(pool, 1);
    test_bound(pool, 10);
    test_deadlock(pool);
    CHECK_OK(pool_close(pool));
    CHECK_OK(pool_join(pool));
    pool_destroy(pool);

    CHECK_OK(pool_create(&pool, &(pool_config){.processes = 2}));
    test_unordered(pool, 1);
    test_unordered(pool, 2);
    CHECK_OK(pool_close(pool));
    CHECK_OK(pool_join(pool));
    pool_destroy(pool);

    test_timeout();
    test_close_cuts();
    return check_done("test_imap");
}
