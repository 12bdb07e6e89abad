/* fault_imap_abandon: iterators that are not read to the end.
 *   1. abandoned half-way through an endless input, then destroyed: no
 *      leak (memcheck), no hang, the input is read no further, and the
 *      pool still works, closes and joins;
 *   2. destroyed with items still in flight on a pool terminated under it;
 *   3. a worker killed (SIGKILL) while it runs one item: that item comes
 *      back as its error, naming its index, and every later item still
 *      comes, in order. */
#include "fault/fault.h"

typedef struct counter {
    long long n, reads; /* n < 0: endless */
} counter;

static bool next_int(void *state, pool_value *item)
{
    counter *c = state;
    if (c->n >= 0 && c->reads >= c->n)
        return false;
    *item = pool_int(c->reads++);
    return true;
}

static pool_value slow_double(const pool_value *args, size_t nargs)
{
    (void)nargs;
    fu_sleep(0.002);
    return pool_int(2 * args[0].as.i);
}

/* Item 7 kills its own worker, once: its pid goes to shared memory. */
static _Atomic int *killed_once;
static pool_value double_or_die(const pool_value *args, size_t nargs)
{
    (void)nargs;
    if (args[0].as.i == 7 && atomic_exchange(killed_once, 1) == 0) {
        fu_quiet_valgrind();
        raise(SIGKILL);
    }
    return pool_int(2 * args[0].as.i);
}

static void abandon_half_way(void)
{
    pool_t *pool = fu_pool_open((pool_config){.processes = 2});
    if (!pool)
        return;
    for (int round = 0; round < 2; round++) {
        counter in = {.n = -1};
        pool_iter *it;
        if (round == 0)
            CHECK_OK(pool_imap(pool, slow_double, next_int, &in, 3, &it));
        else
            CHECK_OK(pool_imap_unordered(pool, slow_double, next_int, &in, 3, &it));
        pool_value v;
        for (int i = 0; i < 20; i++) {
            CHECK_OK(pool_iter_next(it, FU_TIMEOUT, &v));
            pool_value_free(&v);
        }
        long long reads = in.reads;
        double t0 = fu_now();
        pool_iter_destroy(it);
        CHECK(fu_now() - t0 < 1.0, "destroy took %.3f s", fu_now() - t0);
        CHECK_EQ_INT(reads, in.reads);
        CHECK(reads <= 20 + POOL_IMAP_AHEAD * 2 * 3, "read %lld items for 20 handed over", reads);
    }
    fu_check_pool_works(pool, 50, "after two abandoned iterators");
    fu_pool_close(pool, "after abandoned iterators");
}

static pool_value sleep_then_double(const pool_value *args, size_t nargs)
{
    (void)nargs;
    fu_sleep(5);
    return pool_int(2 * args[0].as.i);
}

static void destroy_after_terminate(void)
{
    pool_t *pool = fu_pool_open((pool_config){.processes = 2});
    if (!pool)
        return;
    counter in = {.n = 100};
    pool_iter *it;
    CHECK_OK(pool_imap_unordered(pool, sleep_then_double, next_int, &in, 1, &it));
    pool_value v;
    CHECK_EQ_INT(POOL_ETIMEDOUT, pool_iter_next(it, 0.2, &v));
    double t0 = fu_now();
    CHECK_OK(pool_terminate(pool));
    pool_iter_destroy(it); /* its chunks were failed by terminate, not yet handed over */
    CHECK(fu_now() - t0 < 4.0, "terminate and destroy took %.3f s", fu_now() - t0);
    CHECK(in.reads <= POOL_IMAP_AHEAD * 2, "read %lld items", in.reads);
    CHECK_OK(pool_join(pool));
    fu_pool_destroy(pool, "after terminate under an iterator");
}

static void worker_killed(long chunksize)
{
    pool_t *pool = fu_pool_open((pool_config){.processes = 2});
    if (!pool)
        return;
    atomic_store(killed_once, 0);
    counter in = {.n = 30};
    pool_iter *it;
    CHECK_OK(pool_imap(pool, double_or_die, next_int, &in, chunksize, &it));
    pool_value v;
    int rc;
    long long expect = 0, ok = 0, dead = 0, wrong = 0;
    size_t first_dead = (size_t)(7 / chunksize * chunksize);
    while ((rc = pool_iter_next(it, FU_TIMEOUT, &v)) == POOL_OK || rc == POOL_ETASK) {
        size_t i = pool_iter_index(it);
        bool in_chunk = i >= first_dead && i < first_dead + (size_t)chunksize;
        if (i != (size_t)expect)
            wrong++;
        else if (rc == POOL_OK && !in_chunk && v.type == POOL_INT && v.as.i == 2 * expect)
            ok++;
        else if (rc == POOL_ETASK && in_chunk && fu_names_signal(fu_msg(&v), SIGKILL) &&
                 strstr(fu_msg(&v), chunksize == 1 ? "while running task 7" : "while running tasks 6-8"))
            dead++;
        else
            wrong++, fprintf(stderr, "item %zu: rc %d, %s\n", i, rc, fu_msg(&v));
        expect++;
        pool_value_free(&v);
    }
    CHECK_EQ_INT(POOL_END, rc);
    CHECK_EQ_INT(30, expect);
    CHECK_EQ_INT(chunksize, dead);
    CHECK_EQ_INT(30 - chunksize, ok);
    CHECK_EQ_INT(0, wrong);
    pool_iter_destroy(it);
    fu_pool_close(pool, "after a worker died under imap");
}

int main(void)
{
    killed_once = fu_shared(sizeof *killed_once);
    abandon_half_way();
    destroy_after_terminate();
    worker_killed(1);
    worker_killed(3);
    return check_done("fault_imap_abandon");
}
