/* fault_closed_stdio: a program (a daemon, say) closed its standard
 * descriptors before pool_create(). The lowest free descriptor is what
 * open(), pipe() and recvmsg() hand out, so a pool that does not care
 * takes fd 0, 1 or 2, and the program's own printf then writes into the
 * pool: into the fork server's socket (requests for stray workers) or a
 * worker's task pipe (garbage for a task). Three cases: (a) stdin closed;
 * (b) stdin and stdout; (c) all three. Each runs in a forked "program" that
 * reports through shared memory (its checks' messages and counts) and its
 * exit status; the test waits for it with a bound and kills it if needed.
 * In each case the program asserts:
 *   - the closed descriptors stay closed (fcntl gives EBADF) after
 *     pool_create(), after the maps, and after a worker is replaced:
 *     the pool keeps its descriptors above 2;
 *   - while maps of 500 items run, it prints to stdout and stderr
 *     (printf and fprintf with fflush, write(1) and write(2) of lines that
 *     start with "PoolWorker" and of 40 bytes of garbage), and so do the
 *     tasks; every map is right and exactly 2 PoolWorker processes live:
 *     no stray worker;
 *   - a failed task whose handle is released unseen (the pool reports it on
 *     fd 2) breaks nothing: later maps are right, no other task fails, and
 *     every worker lives on;
 *   - after close, join and destroy: no pool process alive, none left a
 *     zombie, as many descriptors as before pool_create().
 * Bounds: a map within 10 s (60 s under Valgrind); a case within 30 s
 * (200 s). */
#include <fcntl.h>

#include "fault/fault.h"

enum { ITEMS = 500, LOG = 32768 };

typedef struct shm {
    int checks, failed;
    char stage[96]; /* what the program was doing, should it hang */
    char log[LOG];  /* the program's check messages */
} shm;
static shm *sh;
static FILE *prog_err; /* the program's own stderr, fd 2, open or closed */
static unsigned char garbage[40];
static const char *case_name[] = {"", "stdin closed", "stdin and stdout closed",
                                  "stdin, stdout and stderr closed"};

static double map_bound(void) { return fu_under_valgrind() ? 60.0 : 10.0; }

static void stage(const char *what, int n)
{
    snprintf(sh->stage, sizeof sh->stage, "%s %d", what, n);
}

/* What a careless program writes; lines of 12 bytes and more are what the
 * fork server would take for a request, were fd 1 its socket. */
static void noise(int round, int k)
{
    printf("PoolWorker-%d: line %d of the program\n", round, k);
    fflush(stdout);
    fprintf(prog_err, "PoolWorker-%d: warning %d of the program\n", round, k);
    fflush(prog_err);
    ssize_t w = write(1, garbage, sizeof garbage);
    w = write(2, garbage, sizeof garbage);
    (void)w;
}

/* Doubles its item, a little slowly so the program's noise overlaps the
 * map; some items print, as tasks do. */
static pool_value task_noisy(const pool_value *args, size_t nargs)
{
    if (nargs < 1 || args[0].type != POOL_INT)
        return pool_error("task_noisy wants an int");
    long long i = args[0].as.i;
    if (i % 100 == 0) {
        printf("PoolWorker task %lld says hello\n", i);
        fflush(stdout);
        fprintf(prog_err, "PoolWorker task %lld warns\n", i);
        fflush(prog_err);
        ssize_t w = write(2, garbage, sizeof garbage);
        (void)w;
    }
    fu_sleep(0.00005);
    return pool_int(2 * i);
}

static pool_value task_fail(const pool_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    return pool_error("the planted failure");
}

static void check_closed(int closed, const char *when)
{
    bool all = true;
    for (int fd = 0; fd < closed; fd++) {
        errno = 0;
        int r = fcntl(fd, F_GETFD);
        bool still_closed = r == -1 && errno == EBADF;
        CHECK(still_closed, "%s: fd %d, closed before pool_create(), is open: the pool took it "
              "(it must keep its descriptors above 2)", when, fd);
        all = all && still_closed;
    }
    if (!all)
        fu_print_fds(stderr);
}

/* A map of ITEMS items with noise meanwhile; true if it was right. */
static bool noisy_map(pool_t *pool, int round, int noise_count)
{
    stage("map", round);
    pool_result *r = NULL;
    pool_opts o = {.chunksize = 10};
    CHECK_OK(pool_map_async(pool, task_noisy, pool_range(ITEMS), &o, &r));
    if (!r)
        return false;
    for (int k = 0; k < noise_count; k++) {
        noise(round, k);
        fu_sleep(0.0005);
    }
    const pool_value *v = NULL;
    int rc = pool_result_get(r, map_bound(), &v);
    CHECK(rc == POOL_OK, "map %d: %d (%s) %s", round, rc, pool_strerror(rc), fu_msg(v));
    int wrong = 0;
    if (rc == POOL_OK) {
        CHECK(v->type == POOL_LIST && v->len == ITEMS, "map %d: type %d len %u", round,
              v->type, v->len);
        for (uint32_t i = 0; v->type == POOL_LIST && i < v->len; i++)
            wrong += v->as.items[i].type != POOL_INT || v->as.items[i].as.i != 2 * (long long)i;
        CHECK(wrong == 0, "map %d: %d wrong results", round, wrong);
    }
    pool_result_release(r); /* freed once ready, should it time out */
    return rc == POOL_OK && wrong == 0;
}

static void check_two_workers(const char *when)
{
    int n = fu_wait_workers(2, 2.0);
    CHECK(n == 2, "%s: %d live PoolWorker processes, not 2: stray workers", when, n);
    if (n != 2) {
        fu_proc procs[16];
        int k = fu_descendants(getpid(), FU_LIVE | FU_POOL_NAMED, procs, 16);
        fu_print_procs(procs, k, 16);
    }
}

/* The fork server and the workers write to the program's stderr, not to
 * the log: a worker's write there would overwrite the program's messages. */
static void restore_stderr(void)
{
    stderr = prog_err;
}

static void finish(void)
{
    sh->checks = check_count;
    sh->failed = check_failures;
    _exit(check_failures ? 1 : 0);
}

static void program(int closed)
{
    /* The checks' messages go to shared memory; the program's own stderr
     * output goes to fd 2 through prog_err. */
    check_count = check_failures = 0; /* the test's own are not ours */
    prog_err = stderr;
    FILE *log = fmemopen(sh->log, LOG - 1, "w");
    if (!log)
        _exit(3);
    setvbuf(log, NULL, _IONBF, 0);
    stderr = log;
    pthread_atfork(NULL, NULL, restore_stderr);
    /* Descriptors left open go to /dev/null, so noise stays off the test's
     * output; closed ones are closed. */
    int null = open("/dev/null", O_WRONLY);
    for (int fd = closed; fd < 3; fd++)
        dup2(null, fd);
    close(null);
    for (int fd = 0; fd < closed; fd++)
        close(fd);
    int rounds = fu_under_valgrind() ? 2 : 4, per_round = fu_under_valgrind() ? 2 : 10;

    stage("pool_create", 0);
    pool_t *pool = fu_pool_open((pool_config){.processes = 2});
    if (!pool)
        finish();
    check_closed(closed, "after pool_create()");
    CHECK_EQ_INT(2, fu_wait_workers(2, map_bound()));

    bool ok = true;
    for (int round = 0; round < rounds && ok; round++)
        ok = noisy_map(pool, round, per_round);
    check_closed(closed, "after the maps");
    check_two_workers("after the program's writes");

    /* The planted failure: get never sees it, so release reports it. */
    stage("planted failure", 0);
    pid_t before[16];
    int n_before = fu_worker_pids(before, 16);
    pool_result *bad = NULL;
    CHECK_OK(pool_apply_async(pool, task_fail, pool_tuple(0), NULL, &bad));
    if (bad) {
        CHECK_OK(pool_result_wait(bad, map_bound()));
        pool_result_release(bad);
    }
    for (int round = rounds; round < rounds + 2 && ok; round++)
        ok = noisy_map(pool, round, per_round);
    for (int i = 0; i < n_before && i < 16; i++)
        CHECK(fu_alive(before[i]), "worker %d died after the planted failure was reported",
              (int)before[i]);

    /* A replaced worker's pipes are new descriptors too. */
    stage("worker replacement", 0);
    pid_t pids[16];
    int n = fu_worker_pids(pids, 16);
    if (ok && n >= 1) {
        kill(pids[0], SIGKILL);
        FU_WAIT_UNTIL(!fu_alive(pids[0]) && fu_worker_pids(pids + 1, 15) >= 2, map_bound());
        CHECK(!fu_alive(pids[0]), "worker %d survived SIGKILL", (int)pids[0]);
        ok = noisy_map(pool, rounds + 2, per_round);
        check_closed(closed, "after a worker was replaced");
    }
    check_two_workers("after the planted failure and the replacement");

    stage("close, join, destroy", 0);
    fu_pool_close(pool, "after pool_destroy()");
    check_closed(closed, "after pool_destroy()");
    finish();
}

static void run_case(int closed)
{
    const char *name = case_name[closed];
    memset(sh, 0, sizeof *sh);
    fflush(NULL);
    double t0 = fu_now();
    pid_t kid = fork();
    if (kid < 0) {
        CHECK(0, "fork: %s", strerror(errno));
        return;
    }
    if (kid == 0)
        program(closed);

    double bound = fu_under_valgrind() ? 200.0 : 30.0;
    int status = 0;
    bool done = false;
    FU_WAIT_UNTIL((done = waitpid(kid, &status, WNOHANG) == kid), bound);
    CHECK(done, "%s: the program did not end within %.0f s; it was at: %s", name, bound,
          sh->stage);
    if (!done) {
        kill(kid, SIGKILL);
        waitpid(kid, &status, 0);
    }
    /* The program's checks count as ours. */
    check_count += sh->checks;
    check_failures += sh->failed;
    if (sh->log[0])
        fprintf(stderr, "-- the program, %s, said:\n%s-- end\n", name, sh->log);
    if (done && WIFSIGNALED(status))
        CHECK(0, "%s: the program was killed by signal %d (%s) at: %s", name,
              WTERMSIG(status), strsignal(WTERMSIG(status)), sh->stage);
    else if (done)
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == (sh->failed ? 1 : 0) &&
                  sh->checks > 0,
              "%s: the program ended with status %#x after %d checks (at: %s)", name,
              (unsigned)status, sh->checks, sh->stage);

    /* Whatever the program left behind was handed to us. */
    int left = fu_wait_no_descendants(getpid(), 2.0);
    CHECK(left == 0, "%s: %d processes outlive the program", name, left);
    if (left > 0) {
        fu_proc rest[64];
        fu_print_procs(rest, fu_descendants(getpid(), FU_LIVE, rest, 64), 64);
        fu_kill_descendants();
    }
    fu_reap_zombies();
    fprintf(stderr, "fault_closed_stdio: %s: %.2f s\n", name, fu_now() - t0);
}

int main(void)
{
    fu_become_subreaper();
    sh = fu_shared(sizeof *sh);
    uint32_t x = 12345; /* fixed garbage, zero bytes included */
    for (size_t i = 0; i < sizeof garbage; i++) {
        x = x * 1103515245u + 12345u;
        garbage[i] = i % 7 == 3 ? 0 : (unsigned char)(x >> 16);
    }
    int fds0 = fu_count_fds();
    for (int closed = 1; closed <= 3; closed++)
        run_case(closed);
    CHECK_EQ_INT(fds0, fu_count_fds());
    return check_done("fault_closed_stdio");
}
