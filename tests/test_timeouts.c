/* test_timeouts.c - a wait with a timeout on a handle that stays pending
 * returns POOL_ETIMEDOUT, no sooner than the timeout and not much later,
 * whatever the clock's nanoseconds were when it began. The deadline is the
 * clock plus the timeout, so its nanoseconds pass one second whenever they
 * start above 1e9 minus the timeout's fraction; each timeout is tried at
 * such a phase (a "carry") and at one below it. */
#include "check.h"
#include "pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>


#define NS 1000000000LL
#define WATCH_NS (15 * NS) /* beyond every bound below, even under Valgrind */

static long long ns_of(struct timespec ts)
{
    return ts.tv_sec * NS + ts.tv_nsec;
}

static struct timespec clock_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts;
}

/* A task that outlives every wait here; pool_terminate() ends it. */
static pool_value stay_pending(const pool_value *args, size_t nargs)
{
    (void)args, (void)nargs;
    for (;;)
        pause();
    return pool_none();
}

/* A wait whose deadline is malformed may spin with the pool lock held and
 * never return: then this thread ends the test, as nothing else can. */
static _Atomic long long hang_deadline; /* 0: no wait in progress */
static _Atomic long long hang_timeout;
static atomic_bool watch_stop;

static void *watchdog(void *arg)
{
    (void)arg;
    while (!atomic_load(&watch_stop)) {
        long long d = atomic_load(&hang_deadline);
        if (d && ns_of(clock_now()) > d) {
            fprintf(stderr, "test_timeouts: FAILED: a wait with a %.3f s timeout has "
                            "not returned %.0f s after it should have\n",
                    (double)atomic_load(&hang_timeout) / 1e9, (double)WATCH_NS / 1e9);
            _exit(1);
        }
        usleep(20000);
    }
    return NULL;
}

/* Returns the clock once its nanoseconds are in [lo, hi]: a sleep to just
 * before lo, then a spin, so the phase is hit to within microseconds. */
static struct timespec reach_phase(long lo, long hi)
{
    for (;;) {
        struct timespec now = clock_now();
        if (now.tv_nsec >= lo && now.tv_nsec <= hi)
            return now;
        long long until = lo - now.tv_nsec;
        if (until < 0)
            until += NS;
        if (until > 5000000) {
            until -= 4000000; /* a sleep may overshoot: spin the last 4 ms */
            struct timespec nap = {0, (long)until};
            nanosleep(&nap, NULL); /* woken early by a signal: the loop goes on */
        }
    }
}

typedef struct wait_case {
    double timeout;
    long lo, hi;    /* the start phase, in ns after the second */
} wait_case;

/* In this order each case can start soon after the one before ends. */
static const wait_case cases[] = {
    {0.001, 999100000, 999500000}, /* carry, from a window 0.4 ms wide */
    {0.999, 0, 400000},            /* no carry, just */
    {0.001, 999100000, 999500000}, /* carry again: the window is narrow */
    {0.999, 1000000, 300000000},   /* carry */
    {0.3, 0, 500000000},           /* no carry */
    {0.3, 700000000, 950000000},   /* carry */
    {0.001, 0, 500000000},         /* no carry */
    {1.5, 500000000, 900000000},   /* carry */
};

int main(void)
{
    const bool slow = check_instrumented();
    const double late = slow ? 5.0 : 1.0; /* a generous bound, not a measure */
    pool_t *pool;
    pool_result *pending = NULL;
    CHECK_OK(pool_create(&pool, &(pool_config){.processes = 1}));
    CHECK_OK(pool_apply_async(pool, stay_pending, pool_none(), NULL, &pending));

    pthread_t watcher;
    int rc = pthread_create(&watcher, NULL, watchdog, NULL);
    CHECK(rc == 0, "pthread_create: %s", strerror(rc));
    if (rc != 0) /* without it a hang would last until CTest's timeout */
        return check_done("test_timeouts");

    int carries = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const wait_case *c = &cases[i];
        long long t_ns = (long long)(c->timeout * 1e9 + 0.5);
        bool get = i % 2; /* get waits the same way: half the cases use it */
        const pool_value *v = NULL;

        struct timespec start = reach_phase(c->lo, c->hi);
        atomic_store(&hang_timeout, t_ns);
        atomic_store(&hang_deadline, ns_of(start) + t_ns + WATCH_NS);
        int got = get ? pool_result_get(pending, c->timeout, &v)
                      : pool_result_wait(pending, c->timeout);
        long long took = ns_of(clock_now()) - ns_of(start);
        atomic_store(&hang_deadline, 0);

        bool carry = start.tv_nsec + t_ns % NS >= NS;
        carries += carry;
        printf("%s %.3f s from phase .%09ld%s: %d after %.6f s\n", get ? "get " : "wait",
               c->timeout, start.tv_nsec, carry ? " (carry)" : "", got, (double)took / 1e9);
        CHECK(got == POOL_ETIMEDOUT, "%s(%.3f) from phase .%09ld: expected POOL_ETIMEDOUT, got %d",
              get ? "get" : "wait", c->timeout, start.tv_nsec, got);
        /* 1 us for the timeout's rounding to whole nanoseconds. */
        CHECK(took >= t_ns - 1000, "%s(%.3f) from phase .%09ld returned early, after %.6f s",
              get ? "get" : "wait", c->timeout, start.tv_nsec, (double)took / 1e9);
        CHECK(took <= t_ns + (long long)(late * NS),
              "%s(%.3f) from phase .%09ld returned late, after %.6f s", get ? "get" : "wait",
              c->timeout, start.tv_nsec, (double)took / 1e9);
    }
    printf("%d of %zu waits began at a phase whose deadline carries a second\n", carries,
           sizeof cases / sizeof cases[0]);
    CHECK(!pool_result_ready(pending), "the pending task's handle became ready: the waits "
                                       "above proved nothing");

    atomic_store(&watch_stop, true);
    rc = pthread_join(watcher, NULL);
    CHECK(rc == 0, "pthread_join: %s", strerror(rc));
    CHECK_OK(pool_terminate(pool));
    CHECK_OK(pool_join(pool));
    const pool_value *v = NULL;
    CHECK_EQ_INT(POOL_ETERMINATED, pool_result_get(pending, 0, &v));
    pool_result_release(pending);
    pool_destroy(pool);
    return check_done("test_timeouts");
}
