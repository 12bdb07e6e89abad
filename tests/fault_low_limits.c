/* fault_low_limits: pool_create() and worker replacement under low
 * RLIMIT_NOFILE and RLIMIT_NPROC. Each limit is tried in a forked child (the
 * limit never touches the test), which is a subreaper, has alarm(60) as its
 * watchdog, runs the usual CHECKs and hands their counts back in shared
 * memory; the test reaps it within 70 s and prints a table of outcomes.
 *   nofile sweep  soft limit from (descriptors open) +0 to +40, 4 workers:
 *                 POOL_OK with a right map of 100 and a clean close, join and
 *                 destroy, or POOL_ESYS with errno != 0; the same descriptor
 *                 count before and after (a socket leaked when pipe2 failed);
 *                 right after a FAILED create, with no sleep, no PoolWorker
 *                 or fork server descends from the child, alive or zombie.
 *                 No grace period: a create that reaps what it started has
 *                 done so before it returns (a reaped process leaves /proc at
 *                 once), and as the subreaper only the test could reap a
 *                 stray later. The top limit must succeed, some limit fail.
 *   short reply   a pool of 2, one worker killed and replaced at the normal
 *                 limit; then the soft limit is lowered so that 0, 1 or 2
 *                 descriptor numbers are free once the next victim's pipes
 *                 are closed (a reply then carries 0, 1 or 2 of its two),
 *                 that worker is SIGKILLed, its replacement started, and the
 *                 limit raised again. Then 5 maps of 200 items, chunksize 1,
 *                 must all be right within 20 s each, none failing (no worker
 *                 dies of SIGPIPE), and the pool has 2 workers again.
 *   nproc sweep   as root the child becomes uid 65534 first (RLIMIT_NPROC
 *                 does not bind root); limits from the tasks that uid runs
 *                 +0 to +8, and +24 (threads count too: the pool adds a fork
 *                 server, 4 workers and 2 threads; a sanitizer may add more,
 *                 so there the steps are 3 wide), 4 workers: as the nofile
 *                 sweep, POOL_OK with a right map, or POOL_ESYS with
 *                 errno != 0. The top limit must succeed, +0 fail.
 * Under Valgrind, which keeps descriptors of its own and emulates the
 * descriptor limit, only the nproc sweep runs, from +1. */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "fault/fault.h"

typedef struct report {
    _Atomic int done;  /* the child reached its end */
    int skipped;       /* nproc: could not become an unprivileged user */
    int limit;
    int rc, err;       /* pool_create()'s code and errno (short reply: a map's) */
    int checks, failures;
} report;

enum { NOFILE_STEPS = 41, NPROC_STEPS = 10, VARIANTS = 3 };
static report *reps; /* NOFILE_STEPS + VARIANTS + NPROC_STEPS + 1 of them */
static _Atomic int *inits; /* workers started, counted by their initializer */
static char where[96];     /* which child, for messages */

/* Counts new workers; with an argument, also takes its time, as a real
 * initializer may: a worker that a failed create did not take is then
 * surely still alive when the create gives up on it. */
static void count_init(void *slow)
{
    atomic_fetch_add(inits, 1);
    if (slow)
        fu_sleep(0.1);
}

/* Sets a soft limit; RLIM_INFINITY means back up to the hard limit. */
static void set_soft(int resource, rlim_t soft)
{
    struct rlimit rl;
    getrlimit(resource, &rl);
    rl.rlim_cur = soft == RLIM_INFINITY ? rl.rlim_max : soft;
    if (setrlimit(resource, &rl) != 0)
        fprintf(stderr, "%s: setrlimit: %s\n", where, strerror(errno));
}

/* pool_create() with 4 workers at the limit already set; r says how. */
static void create_and_judge(report *r, int fds0, bool low_nofile)
{
    pool_t *pool = NULL;
    pool_config cfg = {.processes = 4, .initializer = count_init, .initarg = &cfg};
    errno = 0;
    r->rc = pool_create(&pool, &cfg);
    r->err = errno;
    if (low_nofile)
        set_soft(RLIMIT_NOFILE, RLIM_INFINITY); /* counting descriptors needs one */
    if (r->rc != POOL_OK) {
        /* Right now, with no sleep: see the header. */
        fu_proc procs[64];
        int strays = fu_descendants(getpid(), FU_LIVE | FU_ZOMBIE | FU_POOL_NAMED, procs, 64);
        CHECK(r->rc == POOL_ESYS, "%s: pool_create gave %d (%s), not POOL_OK or POOL_ESYS",
              where, r->rc, pool_strerror(r->rc));
        CHECK(r->err != 0, "%s: pool_create gave POOL_ESYS with errno 0", where);
        CHECK(strays == 0, "%s: a failed pool_create left %d pool processes behind", where,
              strays);
        fu_print_procs(procs, strays, 64);
        CHECK(pool == NULL, "%s: a failed pool_create set *pool", where);
        fu_kill_descendants();
        int fds = fu_count_fds();
        CHECK(fds == fds0, "%s: %d descriptors open after a failed pool_create, %d before",
              where, fds, fds0);
        if (fds != fds0)
            fu_print_fds(stderr);
        return;
    }
    fu_check_pool_works(pool, 100, where);
    CHECK_OK(pool_close(pool));
    CHECK_OK(pool_join(pool));
    pool_destroy(pool);
    fu_after_destroy(fds0, where);
}

static void child_nofile(report *r)
{
    int fds0 = fu_count_fds();
    set_soft(RLIMIT_NOFILE, (rlim_t)r->limit);
    create_and_judge(r, fds0, true);
}

/* The test's descriptors on worker pid's pipes: what its death frees. */
static int fds_of_worker(pid_t pid, int *out, int max)
{
    static char objs[32][64];
    int n_objs = fu_kernel_objects(pid, objs, 32, 3), n = 0;
    for (int fd = 0; fd < 1024 && n < max; fd++) {
        char path[64], target[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        ssize_t k = readlink(path, target, sizeof target - 1);
        target[k > 0 ? k : 0] = '\0';
        if (k > 0 && fu_listed(objs, n_objs, target))
            out[n++] = fd;
    }
    return n;
}

/* Lowers the soft limit so that, once the descriptors in gone[] are closed,
 * exactly free_slots descriptor numbers are free below it. */
static int limit_leaving(const int *gone, int n_gone, int free_slots)
{
    for (int fd = 0, seen = 0; fd < 65536; fd++) {
        bool open = fcntl(fd, F_GETFD) != -1;
        for (int i = 0; i < n_gone; i++)
            open = open && fd != gone[i];
        if (!open && seen++ == free_slots)
            return fd;
    }
    return 65536;
}

static void child_short_reply(report *r, int variant)
{
    atomic_store(inits, 0);
    pool_t *pool = fu_pool_open((pool_config){.processes = 2, .initializer = count_init});
    if (!pool)
        return;
    fu_check_pool_works(pool, 100, where);
    /* A first replacement at the normal limit leaves a real reply on the
     * stack of the thread that reads replies. */
    pid_t pids[8];
    CHECK_EQ_INT(2, fu_worker_pids(pids, 8));
    kill(pids[0], SIGKILL);
    /* Its replacement must be past its start-up, where it still holds the
     * fork server's descriptors, before its descriptors are looked at. */
    FU_WAIT_UNTIL(!fu_alive(pids[0]) && atomic_load(inits) >= 3, 10);
    CHECK(atomic_load(inits) == 3, "%s: %d workers started, not 3", where, atomic_load(inits));
    CHECK_EQ_INT(2, fu_wait_workers(2, 10));
    fu_check_pool_works(pool, 100, where);

    CHECK_EQ_INT(2, fu_worker_pids(pids, 8));
    int gone[8], n_gone = fds_of_worker(pids[0], gone, 8);
    CHECK(n_gone >= 2, "%s: found %d of the test's descriptors for worker %d", where, n_gone,
          (int)pids[0]);
    r->limit = limit_leaving(gone, n_gone, variant);
    int started = atomic_load(inits);
    /* From here until the limit is raised, the test opens no descriptor. */
    set_soft(RLIMIT_NOFILE, (rlim_t)r->limit);
    kill(pids[0], SIGKILL);
    FU_WAIT_UNTIL(atomic_load(inits) != started, 10);
    fu_sleep(0.3); /* the pool reads the reply (and may retry a few times) */
    set_soft(RLIMIT_NOFILE, RLIM_INFINITY);
    CHECK(atomic_load(inits) > started, "%s: no replacement was started", where);

    bool broken = false;
    for (int m = 0; m < 5 && !broken; m++) {
        pool_result *h = NULL;
        pool_opts o = {.chunksize = 1};
        CHECK_OK(pool_map_async(pool, fu_task_double, pool_range(200), &o, &h));
        const pool_value *v = NULL;
        int rc = h ? pool_result_get(h, 20.0, &v) : POOL_EINVAL;
        int wrong = 0;
        for (uint32_t i = 0; rc == POOL_OK && i < 200; i++)
            wrong += v->type != POOL_LIST || v->len != 200 ||
                     v->as.items[i].type != POOL_INT || v->as.items[i].as.i != 2 * (long)i;
        CHECK(rc == POOL_OK && wrong == 0,
              "%s: map %d after a replacement at a low limit: %d (%s) %s, %d wrong", where,
              m + 1, rc, pool_strerror(rc), rc == POOL_OK ? "" : fu_msg(v), wrong);
        CHECK(!fu_names_signal(rc == POOL_OK ? "" : fu_msg(v), SIGPIPE),
              "%s: a worker died of SIGPIPE: its reply was short", where);
        broken = rc != POOL_OK;
        if (broken)
            r->rc = rc;
        if (h && rc != POOL_ETIMEDOUT)
            pool_result_release(h);
    }
    CHECK_EQ_INT(2, fu_wait_workers(2, 10));
    if (broken) { /* close might never end: kill it all, then terminate */
        fprintf(stderr, "%s: the pool is broken; killing its processes\n", where);
        fu_kill_descendants();
        CHECK_OK(pool_terminate(pool));
        CHECK_OK(pool_join(pool));
        pool_destroy(pool); /* the child ends here: no checks on a broken pool */
        return;
    }
    fu_pool_close(pool, where);
}

/* A limit below the task handler's poll() entries (3 + 2 per worker): poll
 * then fails with EINVAL, every time. The pool must still take the death of
 * a worker and start another (whose reply the limit truncates). */
static void child_below_poll(report *r)
{
    atomic_store(inits, 0);
    pool_t *pool = fu_pool_open((pool_config){.processes = 4, .initializer = count_init});
    if (!pool)
        return;
    fu_check_pool_works(pool, 100, where);
    pid_t pids[8];
    CHECK_EQ_INT(4, fu_worker_pids(pids, 8));
    CHECK_EQ_INT(4, atomic_load(inits));
    r->limit = 3 + 2 * 4 - 1;
    /* From here until the limit is raised, the test opens no descriptor. */
    set_soft(RLIMIT_NOFILE, (rlim_t)r->limit);
    kill(pids[0], SIGKILL);
    FU_WAIT_UNTIL(atomic_load(inits) > 4, 10);
    set_soft(RLIMIT_NOFILE, RLIM_INFINITY);
    CHECK(atomic_load(inits) > 4, "%s: no replacement was started in 10 s: the dead worker "
          "was never taken", where);
    CHECK_EQ_INT(4, fu_wait_workers(4, 10));
    fu_check_pool_works(pool, 100, where);
    fu_pool_close(pool, where);
}

/* Tasks (threads count against RLIMIT_NPROC) whose real uid is uid. */
static int tasks_of(uid_t uid)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d))) {
        char path[300], line[256];
        snprintf(path, sizeof path, "/proc/%s/status", e->d_name);
        FILE *f = isdigit((unsigned char)e->d_name[0]) ? fopen(path, "re") : NULL;
        unsigned real = ~0u;
        int threads = 1;
        while (f && fgets(line, sizeof line, f))
            if (sscanf(line, "Uid: %u", &real) != 1)
                sscanf(line, "Threads: %d", &threads);
        if (f)
            fclose(f);
        n += real == uid ? threads : 0;
    }
    if (d)
        closedir(d);
    return n;
}

static void child_nproc(report *r, int extra)
{
    /* Under Valgrind each new process opens its log in a folder that only
     * root may write: CAP_DAC_OVERRIDE is kept for that, alone, so that
     * RLIMIT_NPROC still binds. */
    bool keep = geteuid() == 0 && fu_under_valgrind();
    if (keep)
        prctl(PR_SET_KEEPCAPS, 1);
    if (geteuid() == 0 && (setgroups(0, NULL) != 0 || setgid(65534) != 0 ||
                           setuid(65534) != 0)) {
        fprintf(stderr, "%s: cannot become uid 65534 (%s): skipped\n", where,
                strerror(errno));
        r->skipped = 1;
        return;
    }
    if (keep) {
        struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
        struct __user_cap_data_struct d[2] = {{0}};
        d[0].effective = d[0].permitted = 1u << CAP_DAC_OVERRIDE;
        if (syscall(SYS_capset, &h, d) != 0)
            fprintf(stderr, "%s: capset: %s\n", where, strerror(errno));
    }
    prctl(PR_SET_DUMPABLE, 1); /* the uid change made /proc/self root's */
    int fds0 = fu_count_fds();
    r->limit = tasks_of(getuid()) + extra;
    set_soft(RLIMIT_NPROC, (rlim_t)r->limit);
    create_and_judge(r, fds0, false);
}

/* Runs one case in a child and takes in what it checked. */
static void run_child(int kind, int arg, report *r)
{
    memset(r, 0, sizeof *r);
    r->limit = kind == 0 ? fu_count_fds() + arg : 0;
    snprintf(where, sizeof where, "%s %+d",
             kind == 0 ? "nofile" : kind == 1 ? "short reply, free" : kind == 3 ? "below poll"
                                                                              : "nproc", arg);
    fflush(NULL);
    pid_t kid = fork();
    if (kid == 0) {
        check_count = check_failures = 0;
        alarm(60);
        fu_become_subreaper();
        if (kind == 0)
            child_nofile(r);
        else if (kind == 1)
            child_short_reply(r, arg);
        else if (kind == 3)
            child_below_poll(r);
        else
            child_nproc(r, arg);
        r->checks = check_count;
        r->failures = check_failures;
        atomic_store(&r->done, 1);
        fflush(NULL);
        _exit(0);
    }
    CHECK(kid > 0, "fork: %s", strerror(errno));
    if (kid < 0)
        return;
    int status = 0;
    pid_t got;
    FU_WAIT_UNTIL((got = waitpid(kid, &status, WNOHANG)) != 0, 70);
    if (got == 0) {
        kill(kid, SIGKILL);
        waitpid(kid, &status, 0);
    }
    CHECK(got == kid && atomic_load(&r->done) && WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "%s: the child did not finish (status %#x%s)", where, (unsigned)status,
          WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM ? ", its watchdog fired: a hang"
                                                               : "");
    check_count += r->checks;
    check_failures += r->failures;
    /* Whatever the child left comes to the test, its subreaper. */
    int left = fu_wait_no_descendants(getpid(), 2);
    CHECK(left == 0, "%s: %d processes outlive the child", where, left);
    if (left > 0)
        fu_kill_descendants();
    fu_reap_zombies();
}

static void print_outcomes(const char *title, const report *r, int n)
{
    fprintf(stderr, "fault_low_limits: %s\n", title);
    for (int i = 0; i < n; i++) {
        char what[32] = "-";
        if (r[i].done && !r[i].skipped)
            snprintf(what, sizeof what, "%s %s",
                     r[i].rc == POOL_ESYS ? "ESYS" : r[i].rc ? pool_strerror(r[i].rc) : "OK",
                     r[i].rc != POOL_ESYS ? "" : r[i].err ? strerrorname_np(r[i].err) : "errno=0");
        fprintf(stderr, "  %4d: %-13s%s", r[i].limit, what, i % 5 == 4 || i == n - 1 ? "\n" : "");
    }
}

int main(void)
{
    fu_become_subreaper();
    reps = fu_shared((NOFILE_STEPS + VARIANTS + NPROC_STEPS + 1) * sizeof *reps);
    inits = fu_shared(sizeof *inits);
    int fds0 = fu_count_fds();
    bool vg = fu_under_valgrind();

    report *nofile = reps, *shortr = reps + NOFILE_STEPS, *nproc = shortr + VARIANTS;
    if (vg) {
        fprintf(stderr, "fault_low_limits: under Valgrind, which holds descriptors of its "
                        "own and emulates RLIMIT_NOFILE: the nofile cases are skipped\n");
    } else {
        int failed = 0;
        for (int i = 0; i < NOFILE_STEPS; i++) {
            run_child(0, i, &nofile[i]);
            failed += nofile[i].done && nofile[i].rc != POOL_OK;
        }
        print_outcomes("RLIMIT_NOFILE sweep, 4 workers (soft limit: outcome)", nofile,
                       NOFILE_STEPS);
        CHECK(nofile[NOFILE_STEPS - 1].done && nofile[NOFILE_STEPS - 1].rc == POOL_OK,
              "nofile: pool_create failed at the sweep's top limit %d",
              nofile[NOFILE_STEPS - 1].limit);
        CHECK(failed > 0, "nofile: no limit made pool_create fail");
        for (int v = 0; v < VARIANTS; v++)
            run_child(1, v, &shortr[v]);
        print_outcomes("short fork-server reply (limit with 0, 1, 2 free)", shortr, VARIANTS);
        report *below = nproc + NPROC_STEPS;
        run_child(3, 0, below);
        print_outcomes("a limit below the pool's poll() entries", below, 1);
    }
    /* A sanitizer may give each process a thread of its own: wider steps.
     * Valgrind kills its own process when a fork fails with no process to
     * spare, so there the sweep starts at +1. The last limit leaves room
     * for another run of this test, as uid 65534 too, at the same time. */
    int step = fu_under_sanitizer() ? 3 : 1, steps = NPROC_STEPS;
    int ran = 0, failed = 0;
    for (int i = 0; i < steps; i++) {
        int extra = i < steps - 1 ? i * step + (vg ? 1 : 0) : 24 * step;
        run_child(2, extra, &nproc[i]);
        ran += nproc[i].done && !nproc[i].skipped;
        failed += nproc[i].done && !nproc[i].skipped && nproc[i].rc != POOL_OK;
    }
    print_outcomes("RLIMIT_NPROC sweep, 4 workers (soft limit: outcome)", nproc, steps);
    if (ran == steps) {
        CHECK(nproc[steps - 1].rc == POOL_OK,
              "nproc: pool_create failed at the sweep's top limit");
        CHECK(failed > 0, "nproc: no limit made pool_create fail");
    }
    CHECK_EQ_INT(fds0, fu_count_fds());
    return check_done("fault_low_limits");
}
