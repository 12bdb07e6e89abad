/* test_waiters.c - many threads waiting at once, each on its own handle:
 * every one of them returns as soon as its own handle is ready. A pool that
 * wakes one waiter per ready handle, not all of them, wakes the wrong thread
 * whenever the handles finish in another order than the waiters began, and
 * the right one sleeps on until its timeout, or for ever. */
#include "check.h"
#include "pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define WAITERS 8
#define ROUNDS 3


static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Shared with the workers (mapped before pool_create, so they inherit it):
 * a round's tasks start their naps together, once every waiter waits. */
static atomic_int *go_round;

/* args: (round, nap in ms, id). Waits for the round, naps, returns id. */
static pool_value nap_then_id(const pool_value *args, size_t nargs)
{
    if (nargs != 3)
        return pool_error("nap_then_id wants 3 args, got %zu", nargs);
    while (atomic_load(go_round) < args[0].as.i)
        usleep(2000);
    usleep((useconds_t)args[1].as.i * 1000);
    return pool_int(args[2].as.i);
}

/* When each handle became ready: its callback runs just before. */
static _Atomic long long ready_at[WAITERS];

static pool_value note_ready(const pool_value *value, void *user_data)
{
    (void)value;
    atomic_store(&ready_at[(long)(intptr_t)user_data], now_ns());
    return pool_none();
}

typedef struct waiter {
    int id;
    pool_result *handle;
    atomic_int *started;
    _Atomic long long returned_at; /* 0 while it waits */
    int rc;
    long long value;
} waiter;

/* Four ways to wait, one per waiter in turn: wait and get, each without
 * a limit and with one far beyond what the test allows. */
static const char *const way_name[4] = {"wait forever", "wait 600 s", "get forever",
                                        "get 600 s"};

static void *wait_on_handle(void *arg)
{
    waiter *w = arg;
    const pool_value *v = NULL;
    atomic_fetch_add(w->started, 1);
    switch (w->id % 4) {
    case 0: w->rc = pool_result_wait(w->handle, POOL_FOREVER); break;
    case 1: w->rc = pool_result_wait(w->handle, 600.0); break;
    case 2: w->rc = pool_result_get(w->handle, POOL_FOREVER, &v); break;
    default: w->rc = pool_result_get(w->handle, 600.0, &v); break;
    }
    if (v && v->type == POOL_INT)
        w->value = v->as.i;
    atomic_store(&w->returned_at, now_ns());
    return NULL;
}

/* rank[i]: the place of handle i in the order the handles finish. */
static void run_round(pool_t *pool, int round, const int rank[WAITERS])
{
    const bool slow = check_instrumented();
    const long gap_ms = slow ? 250 : 60;
    const long long bound = (slow ? 10 : 2) * 1000000000LL;
    waiter w[WAITERS];
    pthread_t threads[WAITERS];
    atomic_int started = 0;

    for (int i = 0; i < WAITERS; i++) {
        atomic_store(&ready_at[i], 0);
        w[i] = (waiter){.id = i, .started = &started, .value = -1};
        pool_value args = pool_tuple(3, pool_int(round), pool_int(rank[i] * gap_ms), pool_int(i));
        pool_opts o = {.callback = note_ready, .user_data = (void *)(intptr_t)i};
        CHECK_OK(pool_apply_async(pool, nap_then_id, args, &o, &w[i].handle));
    }
    for (int i = 0; i < WAITERS; i++) {
        int rc = pthread_create(&threads[i], NULL, wait_on_handle, &w[i]);
        CHECK(rc == 0, "pthread_create: %s", strerror(rc));
        if (rc != 0)
            exit(check_done("test_waiters"));
    }
    /* Every waiter is in its wait well before the first nap ends. */
    while (atomic_load(&started) < WAITERS)
        usleep(1000);
    usleep(20000);
    atomic_store(go_round, round);

    /* Poll until every waiter is back, or one is still asleep `bound`
     * after the last handle became ready. */
    long long give_up = now_ns() + 120 * 1000000000LL;
    for (;;) {
        int back = 0, ready = 0;
        long long last_ready = 0;
        for (int i = 0; i < WAITERS; i++) {
            back += atomic_load(&w[i].returned_at) != 0;
            long long r = atomic_load(&ready_at[i]);
            ready += r != 0;
            if (r > last_ready)
                last_ready = r;
        }
        long long now = now_ns();
        if (back == WAITERS || (ready == WAITERS && now - last_ready > bound) || now > give_up)
            break;
        usleep(5000);
    }
    for (int i = 0; i < WAITERS; i++) {
        long long r = atomic_load(&ready_at[i]), back = atomic_load(&w[i].returned_at);
        CHECK(r != 0, "round %d: handle %d never became ready", round, i);
        CHECK(back != 0 && back - r <= bound,
              "round %d: waiter %d (%s) was still asleep %.1f s after its handle became "
              "ready (number %d of %d to finish)", round, i, way_name[i % 4],
              (double)((back ? back : now_ns()) - r) / 1e9, rank[i] + 1, WAITERS);
    }
    /* A waiter left asleep is woken by join's last broadcast, if at all. */
    bool stuck = false;
    for (int i = 0; i < WAITERS; i++)
        stuck |= atomic_load(&w[i].returned_at) == 0;
    if (stuck) {
        CHECK_OK(pool_close(pool));
        CHECK_OK(pool_join(pool));
    }
    for (int i = 0; i < WAITERS; i++) {
        struct timespec limit;
        clock_gettime(CLOCK_REALTIME, &limit);
        limit.tv_sec += 30;
        int rc = pthread_timedjoin_np(threads[i], NULL, &limit);
        if (rc != 0) {
            fprintf(stderr, "test_waiters: waiter %d never returned, even after join\n", i);
            _exit(1);
        }
        CHECK_EQ_INT(POOL_OK, w[i].rc);
        if (i % 4 >= 2)
            CHECK(w[i].value == i, "round %d: waiter %d got %lld, not %d", round, i,
                  w[i].value, i);
        pool_result_release(w[i].handle);
    }
    if (stuck) /* the pool is closed: the later rounds would prove nothing */
        exit(check_done("test_waiters"));
}

int main(void)
{
    go_round = mmap(NULL, sizeof *go_round, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (go_round == MAP_FAILED) {
        perror("test_waiters: mmap");
        return 1;
    }
    atomic_init(go_round, 0);

    /* One worker per waiter, so the naps, not the queue, set the order. */
    pool_t *pool;
    CHECK_OK(pool_create(&pool, &(pool_config){.processes = WAITERS}));
    static const int ranks[ROUNDS][WAITERS] = {
        {7, 6, 5, 4, 3, 2, 1, 0}, /* the last waiter's handle first */
        {3, 7, 0, 5, 1, 6, 2, 4}, /* shuffled */
        {1, 3, 5, 7, 0, 2, 4, 6}, /* the halves interleaved, the second first */
    };
    for (int r = 0; r < ROUNDS; r++)
        run_round(pool, r + 1, ranks[r]);
    CHECK_OK(pool_close(pool));
    CHECK_OK(pool_join(pool));
    pool_destroy(pool);
    if (munmap(go_round, sizeof *go_round) != 0)
        perror("test_waiters: munmap");
    return check_done("test_waiters");
}
