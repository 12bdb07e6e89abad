/* fault_parent_sigkill: the pool's owner is killed with SIGKILL.
 * The test is the driver: it forks a child that makes a pool (or two) and
 * runs long tasks, waits until the tasks run, SIGKILLs the child and polls
 * /proc. Within 1 s every worker and fork server is gone (10 s under
 * Valgrind, where each process exits through Valgrind's own shutdown). The
 * cases: a task running; a map with items queued; an idle pool; two pools. */
#include "fault/fault.h"

typedef struct shm {
    _Atomic int started; /* long tasks that began */
} shm;
static shm *sh;

static pool_value task_long(const pool_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    atomic_fetch_add(&sh->started, 1);
    for (int i = 0; i < 3000; i++) /* 30 s at most */
        fu_sleep(0.01);
    return pool_int(0);
}

enum { RUNNING, QUEUED, IDLE, TWO_POOLS };
static const char *case_name[] = {"a task running", "a map with items queued",
                                  "an idle pool", "two pools"};

static void child(int which)
{
    int pools = which == TWO_POOLS ? 2 : 1;
    pool_t *pool[2] = {0};
    pool_config cfg = {.processes = 2};
    for (int p = 0; p < pools; p++) {
        if (pool_create(&pool[p], &cfg) != POOL_OK)
            _exit(10);
        /* The second pool is forked while the first pool's threads exist:
         * let them go idle first, so that none holds a lock (malloc's, say)
         * that the new fork server would inherit. */
        pool_value out = pool_none();
        if (pool_apply(pool[p], fu_task_double, pool_tuple(1, pool_int(1)), NULL, &out) !=
            POOL_OK)
            _exit(12);
        pool_value_free(&out);
    }
    for (int p = 0; p < pools; p++) {
        pool_result *r;
        if (which == RUNNING || which == TWO_POOLS)
            pool_apply_async(pool[p], task_long, pool_tuple(0), NULL, &r);
        if (which == QUEUED) {
            pool_opts o = {.chunksize = 1};
            pool_map_async(pool[p], task_long, pool_range(50), &o, &r);
        }
    }
    if (which == IDLE)
        atomic_store(&sh->started, 1);
    for (int i = 0; i < 6000; i++) /* the driver kills us long before */
        fu_sleep(0.01);
    _exit(11);
}

static void run_case(int which)
{
    const char *name = case_name[which];
    atomic_store(&sh->started, 0);
    int want_started = which == TWO_POOLS ? 2 : which == QUEUED ? 2 : 1;
    int want_procs = which == TWO_POOLS ? 6 : 3; /* fork servers and workers */
    fflush(NULL);
    pid_t kid = fork();
    if (kid < 0) {
        CHECK(0, "fork: %s", strerror(errno));
        return;
    }
    if (kid == 0)
        child(which);

    /* Wait until the tasks run and every pool process is up. */
    fu_proc procs[64];
    int n = 0;
    FU_WAIT_UNTIL((n = fu_descendants(kid, FU_LIVE | FU_POOL_NAMED, procs, 64),
                   atomic_load(&sh->started) >= want_started && n >= want_procs),
                  FU_TIMEOUT);
    CHECK(atomic_load(&sh->started) >= want_started, "%s: the tasks never started", name);
    CHECK(n == want_procs, "%s: %d pool processes, not %d", name, n, want_procs);
    if (n > want_procs)
        fu_print_procs(procs, n, 64);

    CHECK(kill(kid, SIGKILL) == 0, "kill: %s", strerror(errno));
    int status = 0;
    waitpid(kid, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
          "%s: the child ended with status %#x", name, (unsigned)status);

    /* Every pool process is gone within the bound. */
    double bound = fu_under_valgrind() ? 10.0 : 1.0;
    double t0 = fu_now();
    int alive = fu_wait_gone(procs, n < 64 ? n : 64, bound);
    double took = fu_now() - t0;
    CHECK(alive == 0, "%s: %d of %d pool processes still alive %.1f s after their parent "
          "was killed", name, alive, n, took);
    if (alive) {
        for (int i = 0; i < n && i < 64; i++)
            if (fu_alive(procs[i].pid))
                fprintf(stderr, "    pid %d %s\n", (int)procs[i].pid, procs[i].comm);
    }
    /* Nothing else of the child lingers either; clean up if it does. */
    int left = fu_wait_no_descendants(getpid(), alive ? 0.1 : bound);
    CHECK(left == 0, "%s: %d processes left behind", name, left);
    if (left > 0)
        fu_kill_descendants();
    fu_reap_zombies();
    fprintf(stderr, "fault_parent_sigkill: %s: all gone after %.3f s\n", name, took);
}

int main(void)
{
    fu_become_subreaper();
    sh = fu_shared(sizeof *sh);
    int fds0 = fu_count_fds();
    for (int which = RUNNING; which <= TWO_POOLS; which++)
        run_case(which);
    CHECK_EQ_INT(fds0, fu_count_fds());
    return check_done("fault_parent_sigkill");
}
