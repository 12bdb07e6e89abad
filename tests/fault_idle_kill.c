/* fault_idle_kill: workers killed with SIGKILL while idle.
 * The pool replaces a dead idle worker on its own, before any task needs
 * it; a submission made right after the death (the victim already gone) is
 * not failed or lost; killing every worker at once changes nothing either. */
#include "fault/fault.h"

enum { WORKERS = 2 };

/* Waits until victim is dead (reaped or a zombie). */
static bool wait_dead(pid_t victim)
{
    FU_WAIT_UNTIL(!fu_alive(victim), FU_TIMEOUT);
    return !fu_alive(victim);
}

/* WORKERS live workers run, and none of them is in gone[]. */
static bool replaced(const pid_t *gone, int n_gone)
{
    pid_t pids[64];
    int n = fu_worker_pids(pids, 64);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n_gone; j++)
            if (pids[i] == gone[j])
                return false;
    return n == WORKERS;
}

static bool wait_replaced(const pid_t *gone, int n_gone)
{
    bool done;
    FU_WAIT_UNTIL((done = replaced(gone, n_gone)), FU_TIMEOUT);
    return done;
}

/* Submits 20 apply tasks and a map of 200 items, all of which must
 * succeed. */
static void submit_and_check(pool_t *pool, const char *when)
{
    enum { N = 21 };
    fu_track t;
    fu_track_init(&t, N);
    pool_result *h[N] = {0};
    for (int i = 0; i < N - 1; i++) {
        pool_opts o = fu_opts(&t, i, 0);
        CHECK_OK(pool_apply_async(pool, fu_task_double, pool_tuple(1, pool_int(i)), &o,
                                  &h[i]));
    }
    pool_opts o = fu_opts(&t, N - 1, 1);
    CHECK_OK(pool_map_async(pool, fu_task_double, pool_range(200), &o, &h[N - 1]));
    for (int i = 0; i < N; i++) {
        const pool_value *v = NULL;
        int rc = fu_get(h[i], &v, when);
        CHECK(rc == POOL_OK, "%s: submission %d failed: %d (%s) %s", when, i, rc,
              pool_strerror(rc), fu_msg(v));
        if (rc == POOL_OK && i < N - 1)
            CHECK(v->type == POOL_INT && v->as.i == 2 * i, "%s: wrong result for %d", when,
                  i);
        if (rc == POOL_OK && i == N - 1)
            CHECK(v->type == POOL_LIST && v->len == 200 && v->as.items[199].as.i == 398,
                  "%s: wrong map result", when);
        pool_result_release(h[i]);
    }
    CHECK_EQ_INT(N, fu_track_wait(&t, N, FU_TIMEOUT));
    fu_track_check(&t, 1, when);
    fu_track_free(&t);
}

int main(void)
{
    pool_t *pool = fu_pool_open((pool_config){.processes = WORKERS});
    if (!pool)
        return check_done("fault_idle_kill");
    CHECK_EQ_INT(WORKERS, fu_wait_workers(WORKERS, FU_TIMEOUT));
    fu_check_pool_works(pool, 100, "before any kill");

    for (int round = 0; round < 3; round++) {
        pid_t pids[64];
        int n = fu_worker_pids(pids, 64);
        CHECK_EQ_INT(WORKERS, n);
        if (n < 1)
            break;
        pid_t victim = pids[round % n];
        CHECK(kill(victim, SIGKILL) == 0, "kill: %s", strerror(errno));
        CHECK(wait_dead(victim), "round %d: worker %d did not die", round, (int)victim);
        if (round == 0) {
            /* Nothing submitted: the pool replaces the worker by itself. */
            CHECK(wait_replaced(&victim, 1),
                  "round %d: the idle worker %d was not replaced", round, (int)victim);
            submit_and_check(pool, "after an idle worker was replaced");
        } else {
            /* Submitted at once: the next task must not go to the dead one. */
            submit_and_check(pool, "right after an idle worker died");
            CHECK(wait_replaced(&victim, 1),
                  "round %d: the idle worker %d was not replaced", round, (int)victim);
        }
    }

    /* Every worker at once. */
    pid_t all[64];
    int n = fu_worker_pids(all, 64);
    CHECK_EQ_INT(WORKERS, n);
    for (int i = 0; i < n; i++)
        kill(all[i], SIGKILL);
    for (int i = 0; i < n; i++)
        CHECK(wait_dead(all[i]), "worker %d did not die", (int)all[i]);
    submit_and_check(pool, "right after every idle worker died");
    CHECK(wait_replaced(all, n), "the workers killed together were not all replaced");
    CHECK_EQ_INT(WORKERS, pool_processes(pool));

    fu_pool_close(pool, "after pool_destroy");
    return check_done("fault_idle_kill");
}
