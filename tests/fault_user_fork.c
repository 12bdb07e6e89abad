/* fault_user_fork: the program forks a child of its own, which holds copies
 * of every pool descriptor, or it stops a worker with SIGSTOP. Neither may
 * delay the pool: shutdown must not wait on end of file, nor any thread
 * wait on the kernel with the pool lock held. The cases:
 *   1. join is not delayed: after a map, the program forks a child that
 *      sleeps 3 s; close and join take < 1.5 s (2.5 s under Valgrind or a
 *      sanitizer: still less than the child's 3 s), and pool_result_ready()
 *      on a ready handle, called in a loop by another thread meanwhile, never
 *      takes 0.5 s (1 s with a sanitizer, 1.5 s under Valgrind);
 *   2. terminate is not delayed: the same with terminate and join;
 *   3. a stopped worker: while one idle worker is stopped, ready() and an
 *      apply that the other worker runs answer within 0.5 s (2 s when
 *      instrumented), and the apply the stopped one got is right after
 *      SIGCONT; a worker stopped mid-task gives its right result after
 *      SIGCONT; a pool closed with an idle worker stopped joins once a
 *      thread sends SIGCONT 1 s later (3 s when instrumented), ready() stays
 *      quick meanwhile, and no pool process outlives the join;
 *   4. the parent is SIGKILLed while its forked child lives: a program makes
 *      a pool and forks a child that sleeps 30 s, before pool_create() or
 *      after it (only then does the child hold the pool's descriptors);
 *      within 1 s (10 s under Valgrind) of the program's death every fork
 *      server and worker is gone. The sleeping child is no pool process.
 * Each case ends with the four usual checks. */
#include "fault/fault.h"

typedef struct shm {
    _Atomic int started, pid; /* the slow task began, in this worker */
    _Atomic int go;           /* the slow task may end */
    _Atomic int ready;        /* case 4: the program made its pool and child */
    _Atomic int sleeper;      /* case 4: the program's sleeping child */
} shm;
static shm *sh;

/* Bounds, set in main: a single ready() call, an apply the running worker
 * answers, and the delay before SIGCONT. */
static double ready_bound, prompt_bound, cont_delay;
static bool instrumented;

/* A plain fork that sleeps, holding copies of whatever was open. */
static pid_t fork_sleeper(double seconds)
{
    pid_t pid = fork();
    if (pid == 0) {
        fu_sleep(seconds);
        _exit(0);
    }
    CHECK(pid > 0, "fork: %s", strerror(errno));
    return pid;
}

static void kill_and_reap(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGKILL);
    FU_WAIT_UNTIL(waitpid(pid, NULL, WNOHANG) != 0, FU_TIMEOUT);
}

/* A pool of 2 that ran a map, and a ready handle of it for the prober. */
static pool_t *start_pool(pool_result **ready_handle, const char *name)
{
    pool_t *pool = fu_pool_open((pool_config){.processes = 2});
    if (!pool)
        return NULL;
    fu_check_pool_works(pool, 200, name);
    CHECK_OK(pool_apply_async(pool, fu_task_double, pool_tuple(1, pool_int(21)), NULL,
                              ready_handle));
    const pool_value *v = NULL;
    CHECK(fu_get(*ready_handle, &v, name) == POOL_OK && v->as.i == 42, "%s: apply: %s",
          name, fu_msg(v));
    CHECK_EQ_INT(2, fu_wait_workers(2, FU_TIMEOUT));
    return pool;
}

/* Cases 1 and 2. */
static void case_shutdown_with_child(bool terminate)
{
    const char *name = terminate ? "terminate with a forked child" : "join with a forked child";
    pool_result *r = NULL;
    pool_t *pool = start_pool(&r, name);
    if (!pool)
        return;
    pid_t kid = fork_sleeper(3.0);
    fu_prober w;
    fu_prober_start(&w, r);
    fu_sleep(0.05);
    CHECK(fu_alive(kid), "%s: the forked child is not alive", name);
    double t0 = fu_now();
    CHECK_OK(terminate ? pool_terminate(pool) : pool_close(pool));
    CHECK_OK(pool_join(pool));
    double took = fu_now() - t0;
    fu_prober_check(&w, ready_bound, name);
    double bound = instrumented ? 2.5 : 1.5;
    CHECK(took < bound, "%s: %s and join took %.2f s (bound %.1f s): shutdown waited for "
          "the end of file that the program's child holds back", name,
          terminate ? "terminate" : "close", took, bound);
    kill_and_reap(kid);
    fu_pool_destroy(pool, name);
    fprintf(stderr, "fault_user_fork: %s: shutdown took %.3f s, ready() at most %.3f s\n",
            name, took, w.longest);
}

/* Says it began, waits (30 s at most) until the test says go, then doubles
 * its item: it is surely mid-task when the test stops its worker. */
static pool_value task_slow(const pool_value *args, size_t nargs)
{
    (void)nargs;
    atomic_store(&sh->pid, (int)getpid());
    atomic_store(&sh->started, 1);
    FU_WAIT_UNTIL(atomic_load(&sh->go), 30);
    return pool_int(args[0].as.i * 2);
}

static bool stop_and_wait(pid_t pid)
{
    kill(pid, SIGSTOP);
    fu_proc p = {0};
    FU_WAIT_UNTIL(!fu_proc_read(pid, &p) || p.state == 'T' || p.state == 't', FU_TIMEOUT);
    bool stopped = p.state == 'T' || p.state == 't';
    CHECK(stopped, "worker %d did not stop", (int)pid);
    return stopped;
}

/* An apply that must answer promptly, run by worker other; bounded, so a
 * pool that gives it to the stopped worker fails here instead of hanging. */
static void prompt_apply(pool_t *pool, pid_t other, const char *what)
{
    pool_result *r = NULL;
    double t0 = fu_now();
    CHECK_OK(pool_apply_async(pool, fu_task_getpid, pool_tuple(0), NULL, &r));
    const pool_value *v = NULL;
    int rc = r ? pool_result_get(r, prompt_bound, &v) : POOL_EINVAL;
    double took = fu_now() - t0;
    CHECK(rc == POOL_OK && v->as.i == other, "%s: an apply took %.2f s: %d (%s), ran in "
          "%lld, not the running worker %d", what, took, rc, pool_strerror(rc),
          rc == POOL_OK ? v->as.i : 0, (int)other);
    pool_result_release(r); /* freed once ready, after SIGCONT if need be */
}

static void *cont_later(void *arg)
{
    fu_sleep(cont_delay);
    kill((pid_t)(intptr_t)arg, SIGCONT);
    return NULL;
}

/* Case 3. */
static void case_stopped_worker(void)
{
    const char *name = "a stopped worker";
    pool_result *r = NULL;
    pool_t *pool = start_pool(&r, name);
    if (!pool)
        return;
    pid_t pids[8] = {0};
    CHECK_EQ_INT(2, fu_worker_pids(pids, 8));
    if (pids[0] <= 0 || pids[1] <= 0)
        goto out;

    /* An idle worker stopped: of two applies at once, the one the other
     * worker runs answers promptly; so do applies after it. */
    fu_prober w;
    if (stop_and_wait(pids[0])) {
        fu_prober_start(&w, r);
        pool_result *a[2] = {0};
        double t0 = fu_now();
        for (int i = 0; i < 2; i++)
            CHECK_OK(pool_apply_async(pool, fu_task_getpid, pool_tuple(0), NULL, &a[i]));
        FU_WAIT_UNTIL(pool_result_ready(a[0]) || pool_result_ready(a[1]), 10);
        double took = fu_now() - t0;
        CHECK(took < prompt_bound, "%s: with one worker stopped, neither of two applies "
              "answered within %.1f s", name, prompt_bound);
        for (int i = 0; i < 3; i++)
            prompt_apply(pool, pids[1], "an idle worker stopped");
        kill(pids[0], SIGCONT);
        const pool_value *v0 = NULL, *v1 = NULL;
        int rc0 = fu_get(a[0], &v0, name), rc1 = fu_get(a[1], &v1, name);
        CHECK(rc0 == POOL_OK && rc1 == POOL_OK && v0->as.i + v1->as.i == pids[0] + pids[1] &&
                  v0->as.i != v1->as.i,
              "%s: the two applies: %d and %d, in %lld and %lld, not in %d and %d", name,
              rc0, rc1, rc0 ? 0 : v0->as.i, rc1 ? 0 : v1->as.i, (int)pids[0], (int)pids[1]);
        pool_result_release(a[0]);
        pool_result_release(a[1]);
        fu_prober_check(&w, ready_bound, "an idle worker stopped");
    }

    /* A busy worker stopped mid-task: the other one answers meanwhile, and
     * the task's result comes after SIGCONT and is right. */
    atomic_store(&sh->started, 0);
    atomic_store(&sh->go, 0);
    pool_result *slow = NULL;
    CHECK_OK(pool_apply_async(pool, task_slow, pool_tuple(1, pool_int(50)), NULL, &slow));
    FU_WAIT_UNTIL(atomic_load(&sh->started), FU_TIMEOUT);
    pid_t busy = atomic_load(&sh->pid);
    if (slow && busy > 0 && stop_and_wait(busy)) { /* then right after SIGCONT */
        fu_prober_start(&w, r);
        prompt_apply(pool, busy == pids[0] ? pids[1] : pids[0], "a busy worker stopped");
        fu_sleep(1.0);
        fu_prober_check(&w, ready_bound, "a busy worker stopped");
        atomic_store(&sh->go, 1);
        kill(busy, SIGCONT);
        const pool_value *v = NULL;
        int rc = fu_get(slow, &v, name);
        CHECK(rc == POOL_OK && v->type == POOL_INT && v->as.i == 100,
              "%s: the task of a worker stopped and continued: %d (%s) %s", name, rc,
              pool_strerror(rc), fu_msg(v));
    }
    atomic_store(&sh->go, 1);

    /* Closed with an idle worker stopped: join ends once it continues. */
    if (stop_and_wait(pids[1])) {
        fu_prober_start(&w, r);
        pthread_t cont;
        if (pthread_create(&cont, NULL, cont_later, (void *)(intptr_t)pids[1]) != 0) {
            perror("pthread_create");
            exit(2);
        }
        double t0 = fu_now();
        CHECK_OK(pool_close(pool));
        CHECK_OK(pool_join(pool));
        double took = fu_now() - t0;
        fu_prober_check(&w, ready_bound, "closed with an idle worker stopped");
        pthread_join(cont, NULL);
        CHECK(took < FU_TIMEOUT, "%s: join took %.1f s", name, took);
        int live = fu_descendants(getpid(), FU_LIVE | FU_POOL_NAMED, NULL, 0);
        CHECK(live == 0, "%s: %d pool processes alive after join", name, live);
        fprintf(stderr, "fault_user_fork: %s: join took %.3f s (SIGCONT after %.1f s), "
                "ready() at most %.3f s\n", name, took, cont_delay, w.longest);
    }
out:
    for (int i = 0; i < 2; i++)
        if (pids[i] > 0)
            kill(pids[i], SIGCONT); /* whatever happened above */
    fu_pool_destroy(pool, name);
}

/* Case 4: the program, killed by the test. */
static void program(bool fork_before)
{
    pid_t kid = fork_before ? fork_sleeper(30.0) : 0;
    pool_t *pool = NULL;
    pool_config cfg = {.processes = 2};
    if (pool_create(&pool, &cfg) != POOL_OK)
        _exit(10);
    pool_value out = pool_none();
    if (pool_apply(pool, fu_task_double, pool_tuple(1, pool_int(1)), NULL, &out) != POOL_OK)
        _exit(12);
    pool_value_free(&out);
    if (!fork_before)
        kid = fork_sleeper(30.0);
    atomic_store(&sh->sleeper, (int)kid);
    atomic_store(&sh->ready, 1);
    for (int i = 0; i < 6000; i++) /* the test kills us long before */
        fu_sleep(0.01);
    _exit(11);
}

static void case_parent_killed(bool fork_before)
{
    const char *name = fork_before ? "parent killed, child forked before pool_create"
                                   : "parent killed, child forked after pool_create";
    int fds0 = fu_count_fds();
    atomic_store(&sh->ready, 0);
    atomic_store(&sh->sleeper, 0);
    fflush(NULL);
    pid_t prog = fork();
    if (prog < 0) {
        CHECK(0, "fork: %s", strerror(errno));
        return;
    }
    if (prog == 0)
        program(fork_before);

    fu_proc procs[64];
    int n = 0;
    FU_WAIT_UNTIL((n = fu_descendants(prog, FU_LIVE | FU_POOL_NAMED, procs, 64),
                   atomic_load(&sh->ready) && n >= 3),
                  FU_TIMEOUT);
    pid_t sleeper = atomic_load(&sh->sleeper);
    CHECK(atomic_load(&sh->ready) && sleeper > 0, "%s: the program never got ready", name);
    CHECK(n == 3, "%s: %d pool processes, not 3", name, n);

    /* Orphans come to us, the subreaper: every pool process descends from
     * us until it dies. The sleeping child is none of them. */
    CHECK(kill(prog, SIGKILL) == 0, "kill: %s", strerror(errno));
    waitpid(prog, NULL, 0);
    double bound = fu_under_valgrind() ? 10.0 : 1.0, t0 = fu_now();
    int alive;
    FU_WAIT_UNTIL((alive = fu_descendants(getpid(), FU_LIVE | FU_POOL_NAMED, procs, 64)) <= 0,
                  bound);
    double took = fu_now() - t0;
    CHECK(alive == 0, "%s: %d of %d pool processes alive %.1f s after their parent was "
          "killed, while its forked child lives", name, alive, n, took);
    fu_print_procs(procs, alive, 64);
    CHECK(sleeper <= 0 || fu_alive(sleeper), "%s: the sleeping child died too", name);

    kill_and_reap(sleeper);
    fu_kill_descendants();
    fu_after_destroy(fds0, name);
    fprintf(stderr, "fault_user_fork: %s: pool processes gone after %.3f s\n", name, took);
}

int main(void)
{
    fu_become_subreaper();
    sh = fu_shared(sizeof *sh);
    instrumented = fu_under_valgrind() || fu_under_sanitizer();
    ready_bound = fu_under_valgrind() ? 1.5 : fu_under_sanitizer() ? 1.0 : 0.5;
    prompt_bound = instrumented ? 2.0 : 0.5;
    cont_delay = instrumented ? 3.0 : 1.0;
    int fds0 = fu_count_fds();
    case_shutdown_with_child(false);
    case_shutdown_with_child(true);
    case_stopped_worker();
    case_parent_killed(true);
    case_parent_killed(false);
    CHECK_EQ_INT(fds0, fu_count_fds());
    return check_done("fault_user_fork");
}
