/* fault_parent_sigint: SIGINT during a map.
 * The test forks a child that runs a long map in its own process group,
 * then interrupts it. Three cases:
 *   Ctrl-C, default action: SIGINT to the whole group while the child
 *     blocks in pool_map; the child dies of SIGINT and every pool process
 *     is gone within 1 s (10 s under Valgrind);
 *   Ctrl-C, handled: the child's handler sets a flag, its main loop sees
 *     it, terminates, joins and destroys the pool, checks it has no
 *     process left, and exits 0 (a clean exit) - the fork server and the
 *     workers got the SIGINT too;
 *   SIGINT to the parent alone, handled: the same clean exit. */
#include "fault/fault.h"

typedef struct shm {
    _Atomic int started;
} shm;
static shm *sh;
static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static pool_value task_slow(const pool_value *args, size_t nargs)
{
    (void)nargs;
    atomic_fetch_add(&sh->started, 1);
    for (int i = 0; i < 10; i++) /* 0.1 s per item */
        fu_sleep(0.01);
    return pool_int(args[0].as.i);
}

enum { DEFAULT_GROUP, HANDLED_GROUP, HANDLED_PARENT };
static const char *case_name[] = {"Ctrl-C with the default action",
                                  "Ctrl-C handled", "SIGINT to the parent, handled"};

static void child(int which)
{
    setpgid(0, 0);
    if (which != DEFAULT_GROUP) {
        struct sigaction sa = {.sa_handler = on_sigint};
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
    } else {
        signal(SIGINT, SIG_DFL);
    }
    pool_t *pool = NULL;
    pool_config cfg = {.processes = 2};
    if (pool_create(&pool, &cfg) != POOL_OK)
        _exit(10);
    pool_opts o = {.chunksize = 1};
    if (which == DEFAULT_GROUP) {
        pool_value out = pool_none();
        pool_map(pool, task_slow, pool_range(600), &o, &out); /* 30 s */
        _exit(11); /* the SIGINT kills us first */
    }
    pool_result *r = NULL;
    if (pool_map_async(pool, task_slow, pool_range(600), &o, &r) != POOL_OK)
        _exit(12);
    FU_WAIT_UNTIL(interrupted || pool_result_wait(r, 0.05) != POOL_ETIMEDOUT, 60);
    if (!interrupted)
        _exit(13); /* the map ended before the SIGINT came */
    if (pool_terminate(pool) != POOL_OK || pool_join(pool) != POOL_OK)
        _exit(14);
    const pool_value *v;
    int rc = pool_result_get(r, 10, &v);
    if (rc != POOL_ETERMINATED && rc != POOL_ETASK)
        _exit(15); /* interrupted: the map cannot have succeeded */
    pool_destroy(pool);
    if (fu_descendants(getpid(), FU_LIVE | FU_POOL_NAMED, NULL, 0) != 0)
        _exit(16);
    _exit(0);
}

static void run_case(int which)
{
    const char *name = case_name[which];
    atomic_store(&sh->started, 0);
    fflush(NULL);
    pid_t kid = fork();
    if (kid < 0) {
        CHECK(0, "fork: %s", strerror(errno));
        return;
    }
    if (kid == 0)
        child(which);
    setpgid(kid, kid); /* also here, so it is done before the kill */

    fu_proc procs[64];
    int n = 0;
    FU_WAIT_UNTIL((n = fu_descendants(kid, FU_LIVE | FU_POOL_NAMED, procs, 64),
                   atomic_load(&sh->started) >= 2 && n >= 3),
                  FU_TIMEOUT);
    CHECK(atomic_load(&sh->started) >= 2, "%s: the map never started", name);
    CHECK_EQ_INT(3, n);

    int rc = which == HANDLED_PARENT ? kill(kid, SIGINT) : kill(-kid, SIGINT);
    CHECK(rc == 0, "kill: %s", strerror(errno));
    int status = 0;
    pid_t w;
    FU_WAIT_UNTIL((w = waitpid(kid, &status, WNOHANG)) != 0, FU_TIMEOUT);
    CHECK(w == kid, "%s: the child did not end within %.0f s", name, FU_TIMEOUT);
    if (w != kid) {
        kill(-kid, SIGKILL);
        waitpid(kid, &status, 0);
    }
    double t0 = fu_now();
    if (which == DEFAULT_GROUP)
        CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT,
              "%s: the child ended with wait status %#x, not by SIGINT", name,
              (unsigned)status);
    else
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "%s: the child ended with wait status %#x, not a clean exit", name,
              (unsigned)status);

    double bound = fu_under_valgrind() ? 10.0 : 1.0;
    int alive = fu_wait_gone(procs, n < 64 ? n : 64, bound);
    CHECK(alive == 0, "%s: %d pool processes alive %.1f s after the child ended", name,
          alive, fu_now() - t0);
    int left = fu_wait_no_descendants(getpid(), 0.5);
    CHECK(left == 0, "%s: %d processes left behind", name, left);
    if (left > 0)
        fu_kill_descendants();
    fu_reap_zombies();
}

int main(void)
{
    fu_become_subreaper();
    sh = fu_shared(sizeof *sh);
    int fds0 = fu_count_fds();
    for (int which = DEFAULT_GROUP; which <= HANDLED_PARENT; which++)
        run_case(which);
    CHECK_EQ_INT(fds0, fu_count_fds());
    return check_done("fault_parent_sigint");
}
