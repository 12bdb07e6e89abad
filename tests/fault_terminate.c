/* fault_terminate: pool_terminate() while tasks run and more wait.
 * terminate returns promptly with no worker left alive; every unfinished
 * handle becomes ready and unsuccessful with POOL_ETERMINATED and a message
 * saying "terminated", its error callback runs exactly once and its result
 * callback never; handles that finished before stay successful. */
#include "fault/fault.h"

static _Atomic int *started; /* shared: sleeping tasks that began */

/* Sleeps for up to 60 s, so only terminate can end it in time. */
static pool_value task_sleep(const pool_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    atomic_fetch_add(started, 1);
    for (int i = 0; i < 6000; i++)
        fu_sleep(0.01);
    return pool_int(0);
}

enum { DONE = 10, SLEEPERS = 12, MAPS = 2 };

int main(void)
{
    started = fu_shared(sizeof *started);
    pool_t *pool = fu_pool_open((pool_config){.processes = 2});
    if (!pool)
        return check_done("fault_terminate");

    enum { N = DONE + SLEEPERS + MAPS };
    fu_track t;
    fu_track_init(&t, N);
    pool_result *h[N] = {0};

    /* Finished before the terminate. */
    for (int i = 0; i < DONE; i++) {
        pool_opts o = fu_opts(&t, i, 0);
        CHECK_OK(pool_apply_async(pool, fu_task_double, pool_tuple(1, pool_int(i)), &o, &h[i]));
    }
    for (int i = 0; i < DONE; i++)
        CHECK_OK(pool_result_wait(h[i], FU_TIMEOUT));
    /* Two run, the rest wait. */
    for (int i = DONE; i < DONE + SLEEPERS; i++) {
        pool_opts o = fu_opts(&t, i, 0);
        CHECK_OK(pool_apply_async(pool, task_sleep, pool_tuple(0), &o, &h[i]));
    }
    pool_opts om = fu_opts(&t, DONE + SLEEPERS, 1);
    CHECK_OK(pool_map_async(pool, task_sleep, pool_range(8), &om, &h[DONE + SLEEPERS]));
    pool_opts om2 = fu_opts(&t, DONE + SLEEPERS + 1, 0);
    CHECK_OK(pool_map_async(pool, fu_task_double, pool_range(100000), &om2,
                            &h[DONE + SLEEPERS + 1]));

    FU_WAIT_UNTIL(atomic_load(started) >= 2, FU_TIMEOUT);
    CHECK_EQ_INT(2, atomic_load(started));

    double t0 = fu_now();
    CHECK_OK(pool_terminate(pool));
    double took = fu_now() - t0;
    CHECK(took < 30, "pool_terminate took %.1f s while tasks slept", took);

    /* No worker survives the terminate. */
    fu_proc procs[64];
    int live = fu_descendants(getpid(), FU_LIVE | FU_POOL_NAMED, procs, 64), workers = 0;
    for (int i = 0; i < live && i < 64; i++)
        if (strncmp(procs[i].comm, "PoolWorker-", 11) == 0)
            workers++;
    CHECK(workers == 0, "%d workers alive after pool_terminate returned", workers);
    if (workers)
        fu_print_procs(procs, live, 64);

    for (int i = 0; i < N; i++) {
        const pool_value *v = NULL;
        int rc = fu_get(h[i], &v, "a handle after terminate");
        if (i < DONE) {
            CHECK(rc == POOL_OK && pool_result_successful(h[i]),
                  "#%d finished before the terminate but now gives %d", i, rc);
        } else {
            CHECK(rc == POOL_ETERMINATED, "#%d: expected POOL_ETERMINATED, got %d (%s) %s", i,
                  rc, pool_strerror(rc), fu_msg(v));
            CHECK_STR_CONTAINS(fu_msg(v), "terminated");
            CHECK(!pool_result_successful(h[i]), "#%d: successful after terminate", i);
        }
    }
    CHECK_EQ_INT(N, fu_track_wait(&t, N, FU_TIMEOUT));
    fu_track_check(&t, -1, "terminate");
    for (int i = 0; i < N; i++) {
        if (i < DONE)
            CHECK(t.slots[i].ok_calls == 1, "#%d: no result callback", i);
        else
            CHECK(t.slots[i].err_calls == 1 && t.slots[i].ok_calls == 0,
                  "#%d: %d error and %d result callbacks after terminate", i,
                  t.slots[i].err_calls, t.slots[i].ok_calls);
    }
    CHECK(atomic_load(started) == 2, "%d sleeping tasks started; the queued ones ran",
          atomic_load(started));

    CHECK_OK(pool_join(pool));
    for (int i = 0; i < N; i++)
        pool_result_release(h[i]);
    fu_pool_destroy(pool, "after pool_destroy");
    fu_track_free(&t);
    return check_done("fault_terminate");
}
