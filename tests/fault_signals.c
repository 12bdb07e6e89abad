/* fault_signals: the pool in a program that takes signals (issue 10, item 5).
 * Every blocking system call of the pool must survive EINTR, in every
 * process: the program's thread, the fork server and the workers. Handlers
 * are installed without SA_RESTART, so an interrupted call fails with EINTR
 * unless the pool retries it. Each case runs in a process of its own under
 * a watchdog (35 s; 170 s under Valgrind): a pool that hangs fails the case.
 *   SIGCHLD handler  200 rounds (20 under Valgrind) of create with 2 workers,
 *                    a map of 50, close, join, destroy, while children of
 *                    the program's own exit: every create succeeds, every
 *                    map is right; after each 50 rounds no pool process
 *                    lives or is a zombie and no descriptor is left.
 *   SIGALRM timer    the same rounds under a 200 us ITIMER_REAL.
 *   storm            SIGUSR1 every 100 us (1 ms under Valgrind) to the
 *                    program, its fork servers and every worker. Meanwhile:
 *                    a map of 2000 items one by one, apply, timed waits,
 *                    get, napping tasks, a worker killed by its task
 *                    (POOL_ETASK for that one, the worker replaced), close
 *                    and join; then 5 more pools (2 under Valgrind) created,
 *                    busy, terminated and joined. All results right, every
 *                    callback once, no orphan, no fd growth.
 * Each case also asserts that its signals came (the storm: > 100 to the
 * program, > 10 to the fork servers and > 10 to the workers). */
#include <sys/prctl.h>
#include <sys/time.h>

#include "fault/fault.h"

enum { IN_TEST, IN_SERVER, IN_WORKER, ELSEWHERE, ROLES };
enum { STORM_OFF, STORM_ON, STORM_EXIT };

typedef struct shm {
    int test_pid;             /* the process of the running case */
    _Atomic long hits[ROLES]; /* signals handled, by kind of process */
    _Atomic int storm;
    _Atomic int busy;         /* task_busy calls that began */
} shm;
static shm *sh;

/* Counts where it ran: the fork server and the workers inherit it, and
 * the shared memory shows their counts to the test. */
static void on_signal(int sig)
{
    (void)sig;
    int saved = errno;
    int role = ELSEWHERE;
    if (getpid() == sh->test_pid) {
        role = IN_TEST;
    } else {
        char name[17] = "";
        prctl(PR_GET_NAME, name); /* only async-signal-safe calls here */
        if (memcmp(name, "PoolWorker-", 11) == 0)
            role = IN_WORKER;
        else if (memcmp(name, "pool-forkserver", 15) == 0)
            role = IN_SERVER;
    }
    atomic_fetch_add(&sh->hits[role], 1);
    errno = saved;
}

static void install(int sig)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: that is the point */
    CHECK(sigaction(sig, &sa, NULL) == 0, "sigaction: %s", strerror(errno));
}

/* A map's output is [2 * 0, 2 * 1, ...] of n items. */
static bool doubled(const pool_value *out, uint32_t n)
{
    if (out->type != POOL_LIST || out->len != n)
        return false;
    for (uint32_t i = 0; i < n; i++)
        if (out->as.items[i].type != POOL_INT || out->as.items[i].as.i != 2 * (long long)i)
            return false;
    return true;
}

/* Create, map, close, join, destroy, over and over, while signal sig comes
 * (cases 1 and 2). With own_child, each round first forks a child of the
 * program's own that exits 0 to 1.4 ms later, so that its SIGCHLD lands
 * while pool_create() waits, as in any program that runs helpers. */
static void rounds(const char *name, int sig, bool own_child)
{
    int n = fu_under_valgrind() ? 20 : 200, failed = 0, eintr = 0, wrong = 0;
    int first_rc = 0, first_errno = 0;
    int fds0 = fu_count_fds();
    for (int i = 1; i <= n; i++) {
        pid_t kid = own_child ? fork() : 0;
        if (kid == 0 && own_child) {
            fu_sleep((i % 8) * 0.0002);
            _exit(0);
        }
        pool_t *pool = NULL;
        pool_config cfg = {.processes = 2};
        errno = 0;
        int rc = pool_create(&pool, &cfg);
        if (rc != POOL_OK) {
            if (failed++ == 0)
                first_rc = rc, first_errno = errno;
            eintr += errno == EINTR;
        } else {
            pool_value out = pool_none();
            int mrc = pool_map(pool, fu_task_double, pool_range(50), NULL, &out);
            if ((mrc != POOL_OK || !doubled(&out, 50)) && wrong++ == 0)
                fprintf(stderr, "%s: round %d: map gave %d (%s) %s\n", name, i, mrc,
                        pool_strerror(mrc), fu_msg(&out));
            pool_value_free(&out);
            CHECK_OK(pool_close(pool));
            CHECK_OK(pool_join(pool));
            pool_destroy(pool);
        }
        while (kid > 0 && waitpid(kid, NULL, 0) < 0 && errno == EINTR) {
        }
        if (i % 50 == 0 || i == n) {
            char when[96];
            snprintf(when, sizeof when, "%s, after %d rounds", name, i);
            fu_after_destroy(fds0, when);
        }
    }
    CHECK(failed == 0, "%s: %d of %d pool_create calls failed, %d with errno EINTR; the "
          "first returned %d (%s) with errno %d (%s)", name, failed, n, eintr, first_rc,
          pool_strerror(first_rc), first_errno, strerror(first_errno));
    CHECK(wrong == 0, "%s: %d of %d maps failed or were wrong", name, wrong, n - failed);
    long hits = atomic_load(&sh->hits[IN_TEST]);
    CHECK(hits > 0, "%s: %s never came, so nothing was tested", name, sigabbrev_np(sig));
    fprintf(stderr, "fault_signals: %s: the handler ran %ld times\n", name, hits);
}

static void case_sigchld(void)
{
    install(SIGCHLD);
    rounds("SIGCHLD handler", SIGCHLD, true);
}

static void case_sigalrm(void)
{
    struct itimerval on = {{0, 200}, {0, 200}}, off = {{0, 0}, {0, 0}};
    install(SIGALRM);
    CHECK(setitimer(ITIMER_REAL, &on, NULL) == 0, "setitimer: %s", strerror(errno));
    rounds("SIGALRM timer", SIGALRM, false);
    setitimer(ITIMER_REAL, &off, NULL);
}

/* ---- The storm ---------------------------------------------------------- */

/* Runs in a child of the case, forked before any pool, so it holds none of
 * the pool's descriptors. It sends SIGUSR1 to the case's process and to each
 * of its pool processes every period seconds, and lists those processes
 * again every few ms. (A pid reused by a stranger within those ms is not a
 * worry on a test machine.) */
static void storm_main(pid_t test, double period)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != test)
        _exit(1);
    double every = fu_under_valgrind() ? 0.25 : 0.005, refresh = 0; /* a scan is slow there */
    fu_proc procs[64];
    int n = 0;
    while (atomic_load(&sh->storm) != STORM_EXIT) {
        if (atomic_load(&sh->storm) == STORM_ON) {
            if (fu_now() >= refresh) {
                n = fu_descendants(test, FU_LIVE | FU_POOL_NAMED, procs, 64);
                refresh = fu_now() + every;
            }
            kill(test, SIGUSR1);
            for (int i = 0; i < n && i < 64; i++)
                kill(procs[i].pid, SIGUSR1);
        }
        fu_sleep(period);
    }
    _exit(0);
}

/* Naps 2 ms, so the caller's waits really block; returns twice its item. */
static pool_value task_nap(const pool_value *args, size_t nargs)
{
    fu_sleep(0.002);
    return fu_task_double(args, nargs);
}

/* Kills its worker on FU_KILLER_ITEM; doubles anything else. */
static pool_value task_killer(const pool_value *args, size_t nargs)
{
    if (fu_death_mark(args, nargs))
        raise(SIGKILL);
    return fu_task_double(args, nargs);
}

/* Keeps a pool busy until it is terminated (10 s at most). */
static pool_value task_busy(const pool_value *args, size_t nargs)
{
    atomic_fetch_add(&sh->busy, 1);
    for (int i = 0; i < 1000; i++)
        fu_sleep(0.01);
    return fu_task_double(args, nargs);
}

enum { NAP_MAP, KILLER, APPLIES = 10, TRACKED = 2 + APPLIES };

/* Async work on a running pool during the storm: a napping map waited on
 * with short timeouts, a task that kills its worker, and plain applies. */
static void storm_async(pool_t *pool, int naps)
{
    fu_track t;
    fu_track_init(&t, TRACKED);
    pool_result *h[TRACKED] = {0};
    pool_opts o = fu_opts(&t, NAP_MAP, 1);
    CHECK_OK(pool_map_async(pool, task_nap, pool_range((size_t)naps), &o, &h[NAP_MAP]));
    o = fu_opts(&t, KILLER, 0);
    CHECK_OK(pool_apply_async(pool, task_killer, pool_tuple(1, pool_int(FU_KILLER_ITEM)), &o,
                              &h[KILLER]));
    for (int i = 2; i < TRACKED; i++) {
        o = fu_opts(&t, i, 0);
        CHECK_OK(pool_apply_async(pool, fu_task_double, pool_tuple(1, pool_int(i)), &o, &h[i]));
    }
    /* A timed wait that times out must have waited its time: a signal
     * neither ends it early nor turns it into an error. */
    double end = fu_now() + FU_TIMEOUT;
    int rc = POOL_ETIMEDOUT, short_waits = 0;
    while (rc == POOL_ETIMEDOUT && fu_now() < end) {
        double t0 = fu_now();
        rc = pool_result_wait(h[NAP_MAP], 0.02);
        short_waits += rc == POOL_ETIMEDOUT && fu_now() - t0 < 0.018;
    }
    CHECK(rc == POOL_OK, "storm: a timed wait returned %d (%s)", rc, pool_strerror(rc));
    CHECK(short_waits == 0, "storm: %d timed waits returned before their timeout",
          short_waits);

    const pool_value *v = NULL;
    rc = fu_get(h[NAP_MAP], &v, "storm: the napping map");
    CHECK(rc == POOL_OK && v && doubled(v, (uint32_t)naps),
          "storm: the napping map gave %d (%s) %s", rc, pool_strerror(rc), fu_msg(v));
    rc = fu_get(h[KILLER], &v, "storm: the killing task");
    const char *msg = rc == POOL_ETASK ? fu_msg(v) : "";
    CHECK(rc == POOL_ETASK && fu_names_pid(msg, atomic_load(&fu_death->pid)) &&
              fu_names_signal(msg, SIGKILL),
          "storm: the task that killed its worker gave %d (%s) \"%s\", not POOL_ETASK "
          "naming its worker and SIGKILL", rc, pool_strerror(rc), msg);
    for (int i = 2; i < TRACKED; i++) {
        rc = fu_get(h[i], &v, "storm: an apply");
        CHECK(rc == POOL_OK && v && v->type == POOL_INT && v->as.i == 2 * i,
              "storm: apply #%d gave %d (%s) %s", i, rc, pool_strerror(rc), fu_msg(v));
    }
    CHECK_EQ_INT(TRACKED, fu_track_wait(&t, TRACKED, FU_TIMEOUT));
    fu_track_check(&t, -1, "storm");
    CHECK(t.slots[KILLER].err_calls == 1 && t.ok == TRACKED - 1,
          "storm: %ld result callbacks, killer got %d error callbacks", t.ok,
          t.slots[KILLER].err_calls);
    CHECK_EQ_INT(1, atomic_load(&fu_death->runs));
    for (int i = 0; i < TRACKED; i++)
        pool_result_release(h[i]);
    fu_track_free(&t);
}

/* Another pool, made during the storm, busy, then terminated and joined. */
static void storm_terminated_pool(void)
{
    atomic_store(&sh->busy, 0);
    pool_t *pool = NULL;
    pool_config cfg = {.processes = 2};
    errno = 0;
    int rc = pool_create(&pool, &cfg);
    CHECK(rc == POOL_OK, "storm: creating another pool gave %d (%s) with errno %d (%s)",
          rc, pool_strerror(rc), errno, strerror(errno));
    if (!pool)
        return;
    fu_track t;
    fu_track_init(&t, 2);
    pool_result *h[2] = {0};
    pool_opts o = fu_opts(&t, 0, 1);
    CHECK_OK(pool_map_async(pool, task_busy, pool_range(100), &o, &h[0]));
    o = fu_opts(&t, 1, 0);
    CHECK_OK(pool_apply_async(pool, task_busy, pool_tuple(1, pool_int(1)), &o, &h[1]));
    FU_WAIT_UNTIL(atomic_load(&sh->busy) >= 2, FU_TIMEOUT);
    CHECK(atomic_load(&sh->busy) >= 2, "storm: the busy tasks never started");
    CHECK_OK(pool_terminate(pool));
    CHECK_OK(pool_join(pool));
    CHECK_EQ_INT(2, fu_track_wait(&t, 2, FU_TIMEOUT));
    fu_track_check(&t, 0, "storm: the terminated pool");
    for (int i = 0; i < 2; i++)
        CHECK_EQ_INT(POOL_ETERMINATED, fu_get(h[i], NULL, "storm: a terminated task"));
    pool_destroy(pool);
    fu_track_free(&t);
}

static void case_storm(void)
{
    bool vg = fu_under_valgrind();
    int items = vg ? 1000 : 2000, naps = vg ? 100 : 200;
    fu_death = fu_shared(sizeof *fu_death);
    install(SIGUSR1); /* before any pool: its processes inherit it */
    int fds0 = fu_count_fds();
    pid_t storm = fork();
    if (storm == 0)
        storm_main(sh->test_pid, vg ? 1e-3 : 1e-4);
    CHECK(storm > 0, "fork: %s", strerror(errno));

    pool_t *pool = NULL;
    pool_config cfg = {.processes = 2};
    CHECK_OK(pool_create(&pool, &cfg));
    atomic_store(&sh->storm, STORM_ON);
    /* Go on once the storm reaches every kind of process. */
    FU_WAIT_UNTIL(!pool || (atomic_load(&sh->hits[IN_TEST]) &&
                            atomic_load(&sh->hits[IN_SERVER]) &&
                            atomic_load(&sh->hits[IN_WORKER])),
                  FU_TIMEOUT);

    if (pool) {
        pool_opts one = {.chunksize = 1};
        pool_value out = pool_none();
        int rc = pool_map(pool, fu_task_double, pool_range((size_t)items), &one, &out);
        CHECK(rc == POOL_OK && doubled(&out, (uint32_t)items),
              "storm: a map of %d items one by one gave %d (%s) %s", items, rc,
              pool_strerror(rc), fu_msg(&out));
        pool_value_free(&out);
        rc = pool_apply(pool, fu_task_double, pool_tuple(1, pool_int(21)), NULL, &out);
        CHECK(rc == POOL_OK && out.type == POOL_INT && out.as.i == 42,
              "storm: apply gave %d (%s) %s", rc, pool_strerror(rc), fu_msg(&out));
        pool_value_free(&out);
        storm_async(pool, naps);
        CHECK_EQ_INT(2, fu_wait_workers(2, FU_TIMEOUT)); /* the dead one replaced */
        fu_check_pool_works(pool, 100, "storm: after a worker died");
        CHECK_OK(pool_close(pool));
        CHECK_OK(pool_join(pool));
    }
    /* One create under the storm may slip between signals; a few may not. */
    for (int i = 0; i < (vg ? 2 : 5); i++)
        storm_terminated_pool();
    pool_destroy(pool);

    atomic_store(&sh->storm, STORM_EXIT);
    if (storm > 0)
        FU_WAIT_UNTIL(waitpid(storm, NULL, WNOHANG) != 0, FU_TIMEOUT);
    long test = atomic_load(&sh->hits[IN_TEST]), server = atomic_load(&sh->hits[IN_SERVER]),
         workers = atomic_load(&sh->hits[IN_WORKER]);
    fprintf(stderr, "fault_signals: the storm reached the program %ld times, the fork "
            "servers %ld, the workers %ld\n", test, server, workers);
    CHECK(test > 100, "storm: only %ld signals reached the program", test);
    CHECK(server > 10, "storm: only %ld signals reached the fork servers", server);
    CHECK(workers > 10, "storm: only %ld signals reached the workers", workers);
    fu_after_destroy(fds0, "storm");
}

/* ---- Each case in a process of its own, under a watchdog ---------------- */

static void run_case(const char *name, void (*fn)(void))
{
    double budget = fu_under_valgrind() ? 170 : 35;
    memset(sh, 0, sizeof *sh);
    fflush(NULL);
    pid_t kid = fork();
    if (kid == 0) {
        check_count = check_failures = 0; /* the case counts its own */
        fu_become_subreaper();
        sh->test_pid = getpid();
        fn();
        exit(check_done(name));
    }
    CHECK(kid > 0, "fork: %s", strerror(errno));
    if (kid < 0)
        return;
    int status = 0, got = 0;
    double t0 = fu_now();
    FU_WAIT_UNTIL((got = waitpid(kid, &status, WNOHANG)) != 0, budget);
    CHECK(got == kid, "%s: hung: not done after %.0f s", name, budget);
    if (got != kid) {
        kill(kid, SIGKILL);
        waitpid(kid, &status, 0);
    }
    CHECK(got == kid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "%s: the case failed (wait status %#x); its messages are above", name,
          (unsigned)status);
    fprintf(stderr, "fault_signals: %s: %.1f s\n", name, fu_now() - t0);
    /* A hung or crashed case leaves processes: ours now, as subreaper. */
    fu_kill_descendants();
}

int main(void)
{
    fu_become_subreaper();
    sh = fu_shared(sizeof *sh);
    int fds0 = fu_count_fds();
    run_case("SIGCHLD handler without SA_RESTART", case_sigchld);
    run_case("fast SIGALRM timer", case_sigalrm);
    run_case("storm on every process", case_storm);
    fu_after_destroy(fds0, "after every case");
    return check_done("fault_signals");
}
