/* fault_stop_cont: SIGSTOP and SIGCONT on busy and idle workers and on the
 * fork server. A stopped process is alive but does nothing: it reads no
 * pipe, reaps no child and answers no request. The pool must wait for it
 * without making anything else wait, and no thread may wait on the kernel
 * while it holds the pool lock. The cases, each with its own pool of two
 * workers (STOP is 1 s; QUICK, half of it, bounds one pool_result_ready()
 * plus pool_result_successful() on a ready handle, called in a loop from a
 * second thread; both are tripled under Valgrind and the sanitizers):
 *   1. a busy worker stopped for STOP mid-task: its task is not failed, and
 *      its right result comes after SIGCONT; meanwhile 20 tasks, one at a
 *      time, complete on the other worker, and ready() stays quick;
 *   2. an idle worker stopped, then close and join: a thread sends SIGCONT
 *      after STOP; join returns only once that worker is gone, and ready()
 *      stays quick while join waits;
 *   3. an idle worker stopped, then terminate and join: done within 2 s
 *      (SIGKILL ends a stopped process; 10 s instrumented), every handle
 *      ready, OK or "terminated";
 *   4. the fork server stopped for STOP while a task kills its worker with
 *      raise(SIGKILL): (a) stopped before the death, (b) stopped just after
 *      it reaped the worker, so the request for a replacement meets a
 *      stopped server. ready() stays quick; after SIGCONT the worker is
 *      replaced, the task failed naming SIGKILL, and the pool works.
 * In every case nothing is lost (fu_track), and nothing outlives the pool
 * (fu_after_destroy). Everything stopped is continued, failure or not. */
#include "fault/fault.h"

typedef struct shm {
    _Atomic int busy_pid; /* the worker running task_busy */
    _Atomic int go;       /* task_busy may return */
    _Atomic int killed;   /* the worker task_die killed */
} shm;
static shm *sh;
static double STOP, QUICK;

/* Runs until the test says go (30 s at most). */
static pool_value task_busy(const pool_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    atomic_store(&sh->busy_pid, (int)getpid());
    FU_WAIT_UNTIL(atomic_load(&sh->go), 30);
    return pool_int(4242);
}

static pool_value task_die(const pool_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    atomic_store(&sh->killed, (int)getpid());
    raise(SIGKILL);
    return pool_none();
}

static pid_t stopped[8];
static int n_stopped;

/* (pid 0 would stop the test's own process group) */
static void stop_proc(pid_t pid)
{
    if (pid > 0 && n_stopped < 8)
        stopped[n_stopped++] = pid;
    CHECK(pid > 0 && kill(pid, SIGSTOP) == 0, "kill(%d, SIGSTOP) failed", (int)pid);
}

/* Continues everything stopped; a process gone since is no error. */
static void cont_all(void)
{
    for (int i = 0; i < n_stopped; i++)
        kill(stopped[i], SIGCONT);
    n_stopped = 0;
}

/* A thread that continues everything after STOP, while main is blocked. */
static double cont_at;
static void *cont_later(void *arg)
{
    (void)arg;
    fu_sleep(STOP);
    cont_at = fu_now();
    cont_all();
    return NULL;
}

enum { TRIES = 40, SLOTS = TRIES + 2 };

/* A pool of two workers, warmed up, with slot 0's handle ready in *done. */
static pool_t *start_pool(fu_track *t, pool_result **done, const char *name)
{
    atomic_store(&sh->busy_pid, 0);
    atomic_store(&sh->go, 0);
    atomic_store(&sh->killed, 0);
    pool_t *pool = fu_pool_open((pool_config){.processes = 2});
    if (!pool)
        return NULL;
    fu_track_init(t, SLOTS);
    CHECK_EQ_INT(2, fu_wait_workers(2, FU_TIMEOUT));
    pool_opts o = fu_opts(t, 0, 0);
    CHECK_OK(pool_apply_async(pool, fu_task_double, pool_tuple(1, pool_int(21)), &o, done));
    CHECK_EQ_INT(POOL_OK, fu_get(*done, NULL, name));
    return pool;
}

/* Nothing lost, nothing left: slots 0 .. used - 1 each got one callback. */
static void finish(pool_t *pool, fu_track *t, int used, int expect_ok, const char *name)
{
    cont_all();
    fu_pool_destroy(pool, name);
    t->n = used; /* only the slots this case used */
    fu_track_check(t, expect_ok, name);
    fu_track_free(t);
}

/* The fork server (our child, not a worker just forked by it) */
static pid_t find_server(void)
{
    fu_proc procs[16];
    int n = fu_descendants(getpid(), FU_LIVE | FU_POOL_NAMED, procs, 16);
    for (int i = 0; i < n && i < 16; i++)
        if (procs[i].ppid == getpid() && strcmp(procs[i].comm, "pool-forkserver") == 0)
            return procs[i].pid;
    return 0;
}

/* How many children pid has, live or not. */
static int children_of(pid_t pid)
{
    fu_proc procs[16];
    int n = fu_descendants(getpid(), FU_LIVE | FU_ZOMBIE, procs, 16), k = 0;
    for (int i = 0; i < n && i < 16; i++)
        k += procs[i].ppid == pid;
    return k;
}

/* A worker, stopped while idle. */
static pid_t stop_idle_worker(void)
{
    pid_t pids[4];
    CHECK_EQ_INT(2, fu_worker_pids(pids, 4));
    stop_proc(pids[0]);
    return pids[0];
}

static void case_busy(void)
{
    const char *name = "busy worker stopped";
    fu_track t;
    pool_result *done = NULL, *busy = NULL;
    pool_t *pool = start_pool(&t, &done, name);
    if (!pool)
        return;
    pool_opts o = fu_opts(&t, 1, 0);
    CHECK_OK(pool_apply_async(pool, task_busy, pool_tuple(0), &o, &busy));
    FU_WAIT_UNTIL(atomic_load(&sh->busy_pid), FU_TIMEOUT);
    pid_t victim = atomic_load(&sh->busy_pid);
    CHECK(victim > 0, "%s: the busy task never started", name);
    stop_proc(victim);
    atomic_store(&sh->go, 1); /* it may end, once continued */
    fu_prober p;
    fu_prober_start(&p, done);

    /* One at a time, so each goes to the worker with nothing in flight. */
    enum { OTHERS = 20 };
    int completed = 0, elsewhere = 0;
    double t0 = fu_now();
    for (int i = 0; i < OTHERS; i++) {
        pool_result *h = NULL;
        pool_opts oo = fu_opts(&t, 2 + i, 0);
        CHECK_OK(pool_apply_async(pool, fu_task_getpid, pool_tuple(0), &oo, &h));
        const pool_value *v = NULL;
        if (h && pool_result_get(h, STOP, &v) == POOL_OK) {
            completed++;
            elsewhere += v->type == POOL_INT && v->as.i != victim;
        }
        pool_result_release(h);
    }
    CHECK(completed == OTHERS && elsewhere == OTHERS,
          "%s: of %d tasks sent while a worker was stopped, %d completed, %d on the "
          "other worker", name, OTHERS, completed, elsewhere);
    fu_sleep(STOP - (fu_now() - t0));
    CHECK(!pool_result_ready(busy), "%s: the stopped worker's task was ended while it "
          "was stopped", name);
    cont_all();
    const pool_value *v = NULL;
    int rc = fu_get(busy, &v, name);
    CHECK(rc == POOL_OK && v->type == POOL_INT && v->as.i == 4242,
          "%s: the stopped task after SIGCONT: %d (%s) \"%s\"", name, rc,
          pool_strerror(rc), fu_msg(v));
    fu_prober_check(&p, QUICK, name);
    pool_result_release(busy);
    pool_result_release(done);
    CHECK_OK(pool_close(pool));
    CHECK_OK(pool_join(pool));
    finish(pool, &t, 2 + OTHERS, 1, name);
}

static void case_idle_close(void)
{
    const char *name = "idle worker stopped, close and join";
    fu_track t;
    pool_result *done = NULL;
    pool_t *pool = start_pool(&t, &done, name);
    if (!pool)
        return;
    pid_t idle = stop_idle_worker();
    fu_prober p;
    fu_prober_start(&p, done);
    pthread_t cont;
    cont_at = 0;
    CHECK(pthread_create(&cont, NULL, cont_later, NULL) == 0, "pthread_create");
    CHECK_OK(pool_close(pool));
    double t0 = fu_now();
    CHECK_OK(pool_join(pool));
    double joined = fu_now();
    bool left = fu_alive(idle);
    pthread_join(cont, NULL);
    fprintf(stderr, "fault_stop_cont: %s: join took %.3f s, SIGCONT after %.3f s\n", name,
            joined - t0, cont_at - t0);
    CHECK(!left, "%s: join returned after %.3f s while the stopped worker %d still "
          "lived", name, joined - t0, (int)idle);
    CHECK(joined - t0 < STOP + 10, "%s: join took %.1f s", name, joined - t0);
    fu_prober_check(&p, QUICK, name);
    pool_result_release(done);
    finish(pool, &t, 1, 1, name);
}

static void case_idle_terminate(void)
{
    const char *name = "idle worker stopped, terminate and join";
    fu_track t;
    pool_result *h[5] = {0};
    pool_t *pool = start_pool(&t, &h[0], name);
    if (!pool)
        return;
    pid_t idle = stop_idle_worker();
    for (int i = 1; i < 5; i++) { /* some of them wait in the stopped one's pipe */
        pool_opts o = fu_opts(&t, i, 0);
        CHECK_OK(pool_apply_async(pool, fu_task_double, pool_tuple(1, pool_int(i)), &o,
                                  &h[i]));
    }
    double t0 = fu_now();
    CHECK_OK(pool_terminate(pool));
    CHECK_OK(pool_join(pool));
    double took = fu_now() - t0, bound = fu_instrumented() ? 10.0 : 2.0;
    CHECK(took < bound, "%s: terminate and join took %.2f s (bound %.0f s) with a "
          "stopped worker", name, took, bound);
    CHECK(!fu_alive(idle), "%s: the stopped worker %d outlived join", name, (int)idle);
    for (int i = 0; i < 5; i++) {
        CHECK(pool_result_ready(h[i]), "%s: handle %d not ready after join", name, i);
        const pool_value *v = NULL;
        int rc = pool_result_get(h[i], 0, &v);
        CHECK(rc == POOL_OK || rc == POOL_ETERMINATED, "%s: handle %d: %d (%s)", name, i,
              rc, pool_strerror(rc));
        pool_result_release(h[i]);
    }
    finish(pool, &t, 5, -1, name);
}

/* The server is stopped, then a task kills its worker. (a) The server stays
 * stopped for STOP. (b) It is continued until it has reaped the worker and
 * stopped again at once, so the parent's request for a replacement meets
 * a stopped server; false if the replacement was forked before the stop. */
static bool server_round(pool_t *pool, fu_track *t, int slot, pool_result *done,
                         bool after_reap, const char *name)
{
    pid_t server = find_server();
    CHECK(server > 0, "%s: no pool-forkserver found", name);
    if (server <= 0)
        return false;
    atomic_store(&sh->killed, 0);
    fu_prober p;
    fu_prober_start(&p, done);
    stop_proc(server);
    pool_result *r = NULL;
    pool_opts o = fu_opts(t, slot, 0);
    CHECK_OK(pool_apply_async(pool, task_die, pool_tuple(0), &o, &r));
    double t0 = fu_now(), end = t0 + FU_TIMEOUT;
    fu_proc proc;
    pid_t victim = 0;
    FU_WAIT_UNTIL((victim = atomic_load(&sh->killed)) != 0, FU_TIMEOUT);
    CHECK(victim > 0, "%s: the killing task never ran", name);
    FU_WAIT_UNTIL(victim <= 0 || !fu_alive(victim), end - fu_now()); /* a zombie: not reaped */
    bool tested = true;
    if (after_reap && victim > 0) {
        int kids = children_of(server), fds = fu_count_fds();
        kill(server, SIGCONT);
        while (fu_proc_read(victim, &proc) && fu_now() < end) /* spin: short window */
            ;
        kill(server, SIGSTOP);
        t0 = fu_now();
        /* Tested if the parent let go of the dead worker's pipes, so it knows
         * of the death, and no replacement was forked before the stop. */
        fu_sleep(0.05);
        tested = fu_count_fds() < fds && children_of(server) < kids;
    }
    if (tested)
        fu_sleep(STOP - (fu_now() - t0));
    cont_all();
    fu_prober_check(&p, QUICK, name);
    const pool_value *v = NULL;
    int rc = fu_get(r, &v, name);
    CHECK(rc == POOL_ETASK && fu_names_signal(fu_msg(v), SIGKILL) &&
              fu_names_pid(fu_msg(v), victim),
          "%s: the task that killed its worker %d: %d (%s) \"%s\"", name, (int)victim, rc,
          pool_strerror(rc), fu_msg(v));
    pool_result_release(r);
    CHECK_EQ_INT(2, fu_wait_workers(2, FU_TIMEOUT));
    fu_check_pool_works(pool, 100, name);
    return tested;
}

static void case_server(void)
{
    const char *name = "fork server stopped";
    fu_track t;
    pool_result *done = NULL;
    pool_t *pool = start_pool(&t, &done, name);
    if (!pool)
        return;
    server_round(pool, &t, 1, done, false, "fork server stopped before a worker died");
    /* (b) is a race the test wins often, not always: it tries again. */
    const char *b = "fork server stopped after it reaped a worker";
    int tries = 0;
    bool tested = false;
    int failed0 = check_failures; /* a failed try ends the tries */
    while (!tested && tries < TRIES && check_failures == failed0)
        tested = server_round(pool, &t, 2 + tries++, done, true, b);
    fprintf(stderr, "fault_stop_cont: %s: %s after %d tries\n", b,
            tested ? "a request met the stopped server" : "NOT TESTED, the replacement was "
            "always forked before the stop", tries);
    pool_result_release(done);
    CHECK_OK(pool_close(pool));
    CHECK_OK(pool_join(pool));
    finish(pool, &t, 2 + tries, -1, name);
}

int main(void)
{
    fu_become_subreaper();
    sh = fu_shared(sizeof *sh);
    STOP = fu_instrumented() ? 3.0 : 1.0;
    QUICK = STOP / 2;
    case_busy();
    case_idle_close();
    case_idle_terminate();
    case_server();
    cont_all();
    return check_done("fault_stop_cont");
}
