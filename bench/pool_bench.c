/* pool_bench.c - the pool against Python's multiprocessing.Pool and against
 * the pipe floor, side by side, in one run and one table.
 *
 * The program measures, in this order:
 *   1. the floor: what pipes and fork cost on this machine, with no pool;
 *   2. the C pool: seven cases, each with its own pool of 2 workers;
 *   3. Python: it runs bench/pool_bench.py under python3, which measures the
 *      same cases with multiprocessing.Pool (fork start method) and prints
 *      JSON, and it reads that JSON back;
 *   4. MPI: it runs bench/pool_bench_mpi.c's program (the MPI build) as a
 *      job of 1 + 2 ranks on this machine, with scripts/mpirun.sh, which
 *      measures cases 2 and 4 on a pool whose workers are ranks, and reads
 *      its JSON line back: rows 2m and 4m.
 * It then prints one table: the C figure, the Python figure, the ratio, the
 * floor, and whether each target is met. A missing python3 prints the C
 * column and says the comparison was skipped; a missing MPI program or
 * mpirun prints "MPI: not built (make mpi)" in the MPI rows.
 *
 * The exit status is 0 when every case ran and gave sane numbers (finite,
 * positive, correct results), whatever the targets say; the benchmark is
 * never a timed test. Run with --help for the options.
 */
#include "bench_common.h"
#include "pool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- Sizes and options ------------------------------------------------- */

typedef struct sizes {
    long workers;      /* pool size for every case */
    int reps;          /* repetitions of cases 2-5; the median is shown */
    int start_reps;    /* repetitions of case 1 */
    int cpu_reps;      /* repetitions of case 6 */
    long tasks;        /* cases 2 and 3 */
    long items;        /* cases 4 and 7 */
    long bytes;        /* case 5 */
    long cpu_tasks;    /* case 6 */
    double cpu_secs;   /* case 6: seconds per task */
    long rt_iters;     /* floor: pipe round trips per repetition */
    long msg_iters;    /* floor: pipelined messages per repetition */
    long fork_iters;   /* floor: forks per repetition */
    long imap_items;   /* case 8: imap_unordered's items */
    long big_bytes;    /* case 9: the big round trip */
} sizes;

static const sizes full_sizes = {
    .workers = 2, .reps = 5, .start_reps = 20, .cpu_reps = 3,
    .tasks = 20000, .items = 1000000, .bytes = 16L << 20,
    .cpu_tasks = 8, .cpu_secs = 0.25,
    .rt_iters = 20000, .msg_iters = 200000, .fork_iters = 200,
    .imap_items = 10000000, .big_bytes = 256L << 20,
};

/* For the smoke test: every case runs, in a few seconds. */
static const sizes quick_sizes = {
    .workers = 2, .reps = 2, .start_reps = 3, .cpu_reps = 1,
    .tasks = 500, .items = 20000, .bytes = 1L << 20,
    .cpu_tasks = 4, .cpu_secs = 0.01,
    .rt_iters = 500, .msg_iters = 5000, .fork_iters = 10,
    .imap_items = 20000, .big_bytes = 2L << 20,
};

enum { MSG_SIZE = 32 }; /* bytes of one pipelined floor message */

static double op_timeout = 300; /* seconds any single wait may take */

/* ---- Helpers ----------------------------------------------------------- */

/* The pool's own write_all and clock are internal to the library, not exported. */

static void write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            die("write: %s", strerror(errno));
        p += n;
        len -= (size_t)n;
    }
}

/* Reads exactly len bytes; returns false on end of file before any. */
static bool read_all(int fd, void *buf, size_t len)
{
    char *p = buf;
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, p + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("read: %s", strerror(errno));
        if (n == 0) {
            if (got == 0)
                return false;
            die("read: short message");
        }
        got += (size_t)n;
    }
    return true;
}

static void xpipe(int fds[2])
{
    if (pipe(fds) != 0)
        die("pipe: %s", strerror(errno));
}

static pid_t xfork(void)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    return pid;
}

/* Everything up to end of file, as a string (the caller frees it). */
static char *read_to_eof(int fd)
{
    size_t cap = 4096, len = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        if (len + 1 >= cap) {
            buf = realloc(buf, cap *= 2);
            if (!buf)
                die("out of memory");
        }
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("read: %s", strerror(errno));
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    return buf;
}

/* Waits for the child; returns its wait status. */
static int wait_for(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            die("waitpid: %s", strerror(errno));
    return st;
}

/* Waits for the child, which must exit with status 0. */
static void reap(pid_t pid)
{
    int st = wait_for(pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        die("child %d failed (status 0x%x)", (int)pid, st);
}

/* ---- Steadiness: a median and how far the runs spread ------------------ */

/* (max - min) / median of n runs: 0.3 means the runs spread over 30% of
 * the figure shown. A row above NOISY_SPREAD is marked noisy. */
#define NOISY_SPREAD 0.30

static double spread_of(const double *v, int n)
{
    double lo = v[0], hi = v[0];
    for (int i = 1; i < n; i++) {
        lo = fmin(lo, v[i]);
        hi = fmax(hi, v[i]);
    }
    double m = median(v, n);
    return m != 0 ? (hi - lo) / fabs(m) : 0;
}

/* The median of n runs, and their spread in *spread. */
static double med_sp(const double *v, int n, double *spread)
{
    *spread = spread_of(v, n);
    return median(v, n);
}

/* ---- What a run costs: page faults and the pool's system calls --------- */

/* A process of ours and its minor page faults so far. */
typedef struct proc_flt {
    pid_t pid;
    long flt;
} proc_flt;

typedef struct flt_set {
    proc_flt *v;
    size_t n;
} flt_set;

/* Reads /proc/PID/stat: its parent, name and minor faults. False when the
 * process is gone by now, which a scan of /proc must expect. */
static bool read_stat(const char *pid, pid_t *ppid, char *comm, size_t csize, long *flt)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%s/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd); /* read only: nothing to lose */
    if (n <= 0)
        return false;
    buf[n] = '\0';
    /* The name sits in parentheses and may hold any character but NUL. */
    char *open_paren = strchr(buf, '('), *close_paren = strrchr(buf, ')');
    if (!open_paren || !close_paren || close_paren < open_paren)
        return false;
    snprintf(comm, csize, "%.*s", (int)(close_paren - open_paren - 1), open_paren + 1);
    int pp;
    unsigned long mf;
    /* state ppid pgrp session tty_nr tpgid flags minflt */
    if (sscanf(close_paren + 2, "%*c %d %*d %*d %*d %*d %*u %lu", &pp, &mf) != 2)
        return false;
    *ppid = pp;
    *flt = (long)mf;
    return true;
}

/* The workers of this process's pools: the children of each child named
 * pool-forkserver (the fork server forks them), with their faults. */
static flt_set scan_workers(void)
{
    DIR *d = opendir("/proc");
    if (!d)
        die("opendir /proc: %s", strerror(errno));
    size_t cap = 64, n = 0;
    struct ent {
        pid_t pid, ppid;
        bool server;
        long flt;
    } *all = xmalloc(cap * sizeof *all);
    pid_t self = getpid();
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char comm[64];
        pid_t ppid;
        long flt;
        if (!read_stat(e->d_name, &ppid, comm, sizeof comm, &flt))
            continue;
        if (n == cap) {
            all = realloc(all, (cap *= 2) * sizeof *all);
            if (!all)
                die("out of memory");
        }
        all[n++] = (struct ent){(pid_t)atol(e->d_name), ppid,
                                ppid == self && strcmp(comm, "pool-forkserver") == 0, flt};
    }
    closedir(d);
    flt_set s = {xmalloc(n * sizeof *s.v), 0};
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (all[j].server && all[i].ppid == all[j].pid) {
                s.v[s.n++] = (proc_flt){all[i].pid, all[i].flt};
                break;
            }
    free(all);
    return s;
}

/* The workers' faults between two scans; a worker new in the second counts
 * from its start (one that died between them is lost: none does here). */
static long workers_flt_delta(const flt_set *before, const flt_set *after)
{
    long sum = 0;
    for (size_t i = 0; i < after->n; i++) {
        long was = 0;
        for (size_t j = 0; j < before->n; j++)
            if (before->v[j].pid == after->v[i].pid)
                was = before->v[j].flt;
        sum += after->v[i].flt - was;
    }
    return sum;
}

static long self_minflt(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        die("getrusage: %s", strerror(errno));
    return ru.ru_minflt;
}

/* Everything a run's costs are measured from, taken before and after it,
 * outside its timing. */
typedef struct probe {
    long self_flt;
    flt_set workers;
    pool_stats st;
} probe;

/* Before a run: this process's faults last, after the scan's own. */
static void probe_begin(pool_t *p, probe *pr)
{
    pr->workers = scan_workers();
    pr->st = (pool_stats){0};
    if (p)
        ok(pool_get_stats(p, &pr->st), "pool_get_stats");
    pr->self_flt = self_minflt();
}

/* After a run: this process's faults first, before the scan's own. */
static void probe_end(pool_t *p, probe *pr)
{
    pr->self_flt = self_minflt();
    pr->st = (pool_stats){0};
    if (p)
        ok(pool_get_stats(p, &pr->st), "pool_get_stats");
    pr->workers = scan_workers();
}

/* What one run cost: faults of the parent (every thread of this process)
 * and of the workers; the pool's system calls and write() calls per item. */
typedef struct cost {
    double parent_flt, worker_flt, calls, writes;
} cost;

#define COST_NONE ((cost){NAN, NAN, NAN, NAN})

/* The costs between two probes, per items (for the calls) into v[0..3]. */
static void probe_diff(probe *a, probe *b, double items, double *v)
{
    v[0] = (double)(b->self_flt - a->self_flt);
    v[1] = (double)workers_flt_delta(&a->workers, &b->workers);
    v[2] = (double)(b->st.syscalls - a->st.syscalls) / items;
    v[3] = (double)(b->st.writes - a->st.writes) / items;
    free(a->workers.v);
    free(b->workers.v);
}

/* The median of each cost over reps runs, laid out 4 to a run. */
static cost cost_median(const double *v, int reps)
{
    double *col = xmalloc((size_t)reps * sizeof *col), m[4];
    for (int k = 0; k < 4; k++) {
        for (int r = 0; r < reps; r++)
            col[r] = v[4 * r + k];
        m[k] = median(col, reps);
    }
    free(col);
    return (cost){m[0], m[1], m[2], m[3]};
}

/* ---- The floor: pipes and fork, no pool -------------------------------- */

/* Where the two processes of a floor measurement run: parent_cpu and
 * child_cpu, or anywhere when they are -1. On this kind of machine a wakeup
 * across CPUs costs far more than one on the same CPU, and an unpinned pair
 * lands on either, so the figure would jump from run to run. */
static int parent_cpu = -1, child_cpu = -1;
static cpu_set_t saved_affinity;

static void pin_to(int cpu)
{
    if (cpu < 0)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0)
        die("sched_setaffinity(CPU %d): %s", cpu, strerror(errno));
}

static void pin_begin(int parent, int child)
{
    parent_cpu = parent;
    child_cpu = child;
    if (sched_getaffinity(0, sizeof saved_affinity, &saved_affinity) != 0)
        die("sched_getaffinity: %s", strerror(errno));
    pin_to(parent);
}

static void pin_end(void)
{
    if (parent_cpu >= 0 && sched_setaffinity(0, sizeof saved_affinity, &saved_affinity) != 0)
        die("sched_setaffinity: %s", strerror(errno));
    parent_cpu = child_cpu = -1;
}

/* One byte to a child and back, rt_iters times: microseconds per round trip. */
static double floor_round_trip(long iters)
{
    int up[2], down[2];
    xpipe(up);
    xpipe(down);
    pid_t pid = xfork();
    if (pid == 0) {
        pin_to(child_cpu);
        close(up[1]);
        close(down[0]);
        char c;
        while (read_all(up[0], &c, 1))
            write_all(down[1], &c, 1);
        _exit(0);
    }
    close(up[0]);
    close(down[1]);
    char c = 'x';
    double t0 = now();
    for (long i = 0; i < iters; i++) {
        write_all(up[1], &c, 1);
        if (!read_all(down[0], &c, 1))
            die("floor: child closed the pipe");
    }
    double t = now() - t0;
    close(up[1]);
    close(down[0]);
    reap(pid);
    return t / (double)iters * 1e6;
}

/* iters messages of MSG_SIZE bytes, one write each, read one by one by a
 * child, with as many in flight as the pipe holds: microseconds per message. */
static double floor_pipelined(long iters)
{
    int data[2], ack[2];
    xpipe(data);
    xpipe(ack);
    pid_t pid = xfork();
    if (pid == 0) {
        pin_to(child_cpu);
        close(data[1]);
        close(ack[0]);
        char m[MSG_SIZE];
        long n = 0;
        while (read_all(data[0], m, sizeof m))
            n++;
        write_all(ack[1], &n, sizeof n);
        _exit(0);
    }
    close(data[0]);
    close(ack[1]);
    char m[MSG_SIZE];
    memset(m, 'm', sizeof m);
    double t0 = now();
    for (long i = 0; i < iters; i++)
        write_all(data[1], m, sizeof m);
    close(data[1]);
    long n = 0;
    if (!read_all(ack[0], &n, sizeof n) || n != iters)
        die("floor: the child read %ld of %ld messages", n, iters);
    double t = now() - t0;
    close(ack[0]);
    reap(pid);
    return t / (double)iters * 1e6;
}

/* fork, _exit(0) in the child, waitpid in the parent: microseconds each. */
static double floor_fork(long iters)
{
    double t0 = now();
    for (long i = 0; i < iters; i++) {
        pid_t pid = fork();
        if (pid < 0)
            die("fork: %s", strerror(errno));
        if (pid == 0)
            _exit(0);
        reap(pid);
    }
    return (now() - t0) / (double)iters * 1e6;
}

/* bytes to a child through a pipe and back (the child reads it all, then
 * writes it all back): MB/s of payload moved, both ways counted. */
static double floor_bulk(long bytes)
{
    int up[2], down[2];
    xpipe(up);
    xpipe(down);
    char *buf = xmalloc((size_t)bytes);
    memset(buf, 0x5a, (size_t)bytes);
    pid_t pid = xfork();
    if (pid == 0) {
        pin_to(child_cpu);
        close(up[1]);
        close(down[0]);
        char *in = xmalloc((size_t)bytes);
        while (read_all(up[0], in, (size_t)bytes))
            write_all(down[1], in, (size_t)bytes);
        _exit(0);
    }
    close(up[0]);
    close(down[1]);
    char *back = xmalloc((size_t)bytes);
    memset(back, 0, (size_t)bytes); /* fault the pages in before timing */
    double t0 = now();
    write_all(up[1], buf, (size_t)bytes);
    if (!read_all(down[0], back, (size_t)bytes))
        die("floor: child closed the pipe");
    double t = now() - t0;
    if (memcmp(buf, back, (size_t)bytes) != 0)
        die("floor: the bulk echo came back different");
    close(up[1]);
    close(down[0]);
    reap(pid);
    free(buf);
    free(back);
    return 2.0 * (double)bytes / t / 1e6;
}

typedef struct floor_fig {
    double rt1, rt2;     /* F1: pipe round trip, one CPU / two CPUs, us */
    double msg1, msg2;   /* F2: pipelined message, us */
    double fork;         /* F3: fork + exit + wait, us */
    double bulk1, bulk2; /* F4: bulk echo, MB/s */
    double sp[7];        /* the spreads of the seven, in this order */
} floor_fig;

/* The first two CPUs this process may run on; false with only one. */
static bool two_cpus(int *a, int *b)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return false;
    *a = *b = -1;
    for (int i = 0; i < CPU_SETSIZE && *b < 0; i++)
        if (CPU_ISSET(i, &set)) {
            if (*a < 0)
                *a = i;
            else
                *b = i;
        }
    return *b >= 0;
}

static double floor_median(double (*fn)(long), long arg, int reps, int pcpu, int ccpu,
                           double *sp)
{
    double *v = xmalloc((size_t)reps * sizeof *v);
    pin_begin(pcpu, ccpu);
    for (int r = 0; r < reps; r++)
        v[r] = fn(arg);
    pin_end();
    double m = med_sp(v, reps, sp);
    free(v);
    return m;
}

static void measure_floor(const sizes *sz, floor_fig *f)
{
    int a = -1, b = -1;
    bool two = two_cpus(&a, &b);
    if (a < 0)
        a = -1; /* no affinity to read: leave both unpinned */
    f->rt1 = floor_median(floor_round_trip, sz->rt_iters, sz->reps, a, a, &f->sp[0]);
    f->msg1 = floor_median(floor_pipelined, sz->msg_iters, sz->reps, a, a, &f->sp[2]);
    f->bulk1 = floor_median(floor_bulk, sz->bytes, sz->reps, a, a, &f->sp[5]);
    if (two) {
        f->rt2 = floor_median(floor_round_trip, sz->rt_iters, sz->reps, a, b, &f->sp[1]);
        f->msg2 = floor_median(floor_pipelined, sz->msg_iters, sz->reps, a, b, &f->sp[3]);
        f->bulk2 = floor_median(floor_bulk, sz->bytes, sz->reps, a, b, &f->sp[6]);
    }
    f->fork = floor_median(floor_fork, sz->fork_iters, sz->reps, -1, -1, &f->sp[4]);
}

/* ---- Tasks ------------------------------------------------------------- */

static pool_value t_echo(const pool_value *a, size_t n)
{
    if (n != 1)
        return pool_error("echo: wants one value");
    return pool_value_copy(&a[0]);
}

/* CPU-bound work that the compiler cannot fold: n xorshift steps. */
static unsigned long long burn(long long n)
{
    unsigned long long x = 88172645463325252ULL;
    for (long long i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    return x;
}

static pool_value t_burn(const pool_value *a, size_t n)
{
    if (n != 1 || a[0].type != POOL_INT)
        return pool_error("burn: wants one int");
    return pool_int((long long)(burn(a[0].as.i) >> 1));
}

/* ---- The C pool cases -------------------------------------------------- */

/* The figures that have a spread (row "noisy" above NOISY_SPREAD). */
enum { S_START, S_APPLY, S_TRACED, S_MAP1, S_MAP, S_THREADS, S_SHM, S_COPY, S_CPU, S_FLT, S_N };
/* The rows of the cost block: what a run of each case cost. */
enum { K_START, K_APPLY, K_MAP1, K_MAP, K_THREADS, K_SHM, K_COPY, K_CPU, K_ALONE, K_IMAP, K_BIG,
       K_N };

static pool_t *new_pool_cfg(const sizes *sz, pool_config cfg)
{
    cfg.processes = sz->workers;
    pool_t *p = NULL;
    ok(pool_create(&p, &cfg), "pool_create");
    if (pool_processes(p) != sz->workers)
        die("pool_processes says %ld, wanted %ld", pool_processes(p), sz->workers);
    return p;
}

static pool_t *new_pool(const sizes *sz)
{
    return new_pool_cfg(sz, (pool_config){0});
}

static void end_pool(pool_t *p)
{
    ok(pool_close(p), "pool_close");
    ok(pool_join(p), "pool_join");
    pool_destroy(p);
}

/* The faults of this process's children that ended and were waited for,
 * and of theirs in turn: for case 1, whose fork server and workers end
 * inside the run, where no scan of /proc can see them. */
static long children_minflt(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_CHILDREN, &ru) != 0)
        die("getrusage: %s", strerror(errno));
    return ru.ru_minflt;
}

/* Case 1: create, close, join, destroy: milliseconds. */
static double case_start_stop(const sizes *sz, double *sp, cost *k)
{
    int n = sz->start_reps;
    double *v = xmalloc(5 * (size_t)n * sizeof *v), *cv = v + n;
    for (int r = 0; r < n; r++) {
        long kids = children_minflt(), self = self_minflt();
        double t0 = now();
        pool_t *p = new_pool(sz);
        end_pool(p);
        v[r] = (now() - t0) * 1e3;
        cv[4 * r] = (double)(self_minflt() - self);
        cv[4 * r + 1] = (double)(children_minflt() - kids); /* the fork server's too */
        cv[4 * r + 2] = cv[4 * r + 3] = NAN; /* no items, and the pool is gone */
    }
    *k = cost_median(cv, n);
    double m = med_sp(v, n, sp);
    free(v);
    return m;
}

/* Case 2: apply_async with a callback (bench_common.c's apply_batch). */
enum { IDLE_TRIPS = 20 };
static long idle_ms = 20; /* --idle-ms; bench/pool_bench_mpi.c gets the same */

/* What case_apply measures besides case 2's figure, for the MPI note. */
typedef struct apply_more {
    double traced_us;     /* case 2t */
    double round_trip_us; /* a blocking apply, one at a time */
    double idle_rt_us;    /* the same after idle_ms of nothing */
    double cpu_us;        /* the parent's CPU per task of case 2 */
} apply_more;

/* Microseconds per task, untraced and, in more->traced_us, with a trace
 * file written: batches of the two pools alternate, so a drift of the
 * machine moves both figures alike. sp gets both spreads: [0] untraced,
 * [1] traced. */
static double case_apply(const sizes *sz, apply_more *more, double sp[2], cost *k)
{
    char path[] = "/tmp/pool_bench_trace.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        die("mkstemp: %s", strerror(errno));
    close(fd); /* the pool opens it by name */
    pool_t *p = new_pool(sz), *q = new_pool_cfg(sz, (pool_config){.trace = path});
    apply_batch(p, 200, op_timeout); /* warm up: workers running, memory touched */
    apply_batch(q, 200, op_timeout);
    double *v = xmalloc(7 * (size_t)sz->reps * sizeof *v), *vt = v + sz->reps;
    double *cpu = vt + sz->reps, *cv = cpu + sz->reps;
    for (int r = 0; r < sz->reps; r++) {
        probe a, b; /* q's workers are idle meanwhile: they add no faults */
        probe_begin(p, &a);
        double c0 = cpu_self();
        v[r] = apply_batch(p, sz->tasks, op_timeout) / (double)sz->tasks * 1e6;
        cpu[r] = (cpu_self() - c0) / (double)sz->tasks * 1e6;
        probe_end(p, &b);
        probe_diff(&a, &b, (double)sz->tasks, cv + 4 * r);
        vt[r] = apply_batch(q, sz->tasks, op_timeout) / (double)sz->tasks * 1e6;
    }
    *k = cost_median(cv, sz->reps);
    more->traced_us = med_sp(vt, sz->reps, &sp[1]);
    more->cpu_us = median(cpu, sz->reps);
    /* As bench/pool_bench_mpi.c measures it: tasks / 10 round trips. */
    for (int r = 0; r < sz->reps; r++)
        vt[r] = round_trips(p, sz->tasks / 10 > 100 ? sz->tasks / 10 : 100);
    more->round_trip_us = median(vt, sz->reps);
    more->idle_rt_us = idle_round_trip(p, IDLE_TRIPS, (int)idle_ms);
    end_pool(p);
    end_pool(q);
    if (unlink(path) != 0)
        die("unlink %s: %s", path, strerror(errno));
    double m = med_sp(v, sz->reps, &sp[0]);
    free(v);
    return m;
}

/* A map of t_square over range(n), reps times on pool p, each with its
 * costs: the median of per(seconds) over the runs, its spread in *sp, the
 * costs in *k, and, when flt is not NULL, the faults of parent and workers
 * together per run (median; their spread in flt[1]) in flt[0]. */
static double map_runs(pool_t *p, const sizes *sz, long n, long chunksize,
                       double (*per)(double secs, long n), double *sp, cost *k, double *flt)
{
    double *v = xmalloc(6 * (size_t)sz->reps * sizeof *v), *f = v + sz->reps;
    double *cv = f + sz->reps;
    for (int r = 0; r < sz->reps; r++) {
        probe a, b;
        probe_begin(p, &a);
        v[r] = per(timed_square_map(p, n, chunksize), n);
        probe_end(p, &b);
        probe_diff(&a, &b, (double)n, cv + 4 * r);
        f[r] = cv[4 * r] + cv[4 * r + 1];
    }
    *k = cost_median(cv, sz->reps);
    if (flt)
        flt[0] = med_sp(f, sz->reps, &flt[1]);
    double m = med_sp(v, sz->reps, sp);
    free(v);
    return m;
}

static double us_per_task(double secs, long n) { return secs / (double)n * 1e6; }
static double items_per_s(double secs, long n) { return (double)n / secs; }

/* Case 3: map with chunksize 1: microseconds per task. */
static double case_map1(const sizes *sz, double *sp, cost *k)
{
    pool_t *p = new_pool(sz);
    timed_square_map(p, 200, 1);
    double m = map_runs(p, sz, sz->tasks, 1, us_per_task, sp, k, NULL);
    end_pool(p);
    return m;
}

/* Case 4: map over many items with the default chunksize: items per
 * second, and in flt the faults per run, after a warm-up of the full size
 * (and in Python's too), so the runs show the steady state; the first
 * run's cost is row 4f's "alone". */
static double case_map_big(const sizes *sz, double *sp, cost *k, double flt[2])
{
    pool_t *p = new_pool(sz);
    timed_square_map(p, sz->items, 0);
    double m = map_runs(p, sz, sz->items, 0, items_per_s, sp, k, flt);
    end_pool(p);
    return m;
}

/* Case 4t: case 4 on a pool of threads (config.threads): items per second.
 * Its workers are threads, so every fault is the parent's. */
static double case_map_threads(const sizes *sz, double *sp, cost *k)
{
    pool_t *p = new_pool_cfg(sz, (pool_config){.threads = true});
    timed_square_map(p, sz->items, 0); /* warm-up at full size, as case 4's */
    double m = map_runs(p, sz, sz->items, 0, items_per_s, sp, k, NULL);
    end_pool(p);
    k->worker_flt = NAN; /* no worker processes: not measured, not zero */
    return m;
}

/* The byte at i of the values cases 5 and 9 send: recomputed to check a
 * result, so no copy of what was sent has to be kept. */
static unsigned char pattern(size_t i)
{
    return (unsigned char)(i * 131 + (i >> 12));
}

/* Whether v is bytes of the pattern, len long. */
static bool is_pattern(const pool_value *v, size_t len)
{
    if (v->type != POOL_BYTES || v->len != (uint32_t)len)
        return false;
    for (size_t i = 0; i < len; i++)
        if (v->as.bytes[i] != pattern(i))
            return false;
    return true;
}

/* Case 5: a bytes value to a worker that sends it back: seconds. */
static double echo_once(pool_t *p, const unsigned char *data, long bytes)
{
    pool_value args = pool_tuple(1, pool_bytes(data, (size_t)bytes)); /* untimed */
    pool_value out = pool_none();
    double t0 = now();
    ok(pool_apply(p, t_echo, args, NULL, &out), "pool_apply(echo)");
    double t = now() - t0;
    if (!is_pattern(&out, (size_t)bytes))
        die("echo: the result is not the %ld bytes sent", bytes);
    pool_value_free(&out);
    return t;
}

/* Case 5 (shm_min 0: the default, so 16 MiB crosses in shared memory) and
 * 5c (POOL_SHM_NEVER: by copy through the pipes): MB/s, both ways; the
 * costs are per round trip. */
static double case_bytes(const sizes *sz, size_t shm_min, double *sp, cost *k)
{
    unsigned char *data = xmalloc((size_t)sz->bytes);
    for (long i = 0; i < sz->bytes; i++)
        data[i] = pattern((size_t)i);
    pool_t *p = new_pool_cfg(sz, (pool_config){.shm_min = shm_min});
    echo_once(p, data, sz->bytes);
    double *v = xmalloc(5 * (size_t)sz->reps * sizeof *v), *cv = v + sz->reps;
    for (int r = 0; r < sz->reps; r++) {
        probe a, b;
        probe_begin(p, &a);
        v[r] = 2.0 * (double)sz->bytes / echo_once(p, data, sz->bytes) / 1e6;
        probe_end(p, &b);
        probe_diff(&a, &b, 1, cv + 4 * r);
    }
    *k = cost_median(cv, sz->reps);
    end_pool(p);
    double m = med_sp(v, sz->reps, sp);
    free(v);
    free(data);
    return m;
}

/* Case 6: cpu_tasks tasks of cpu_secs each, serial in this process and then
 * through the pool (chunksize 1): the speedup. */
typedef struct cpu_result {
    double speedup, serial_s, pool_s, task_s;
} cpu_result;

static long long calibrate_burn(double secs)
{
    long long n = 1 << 20;
    double t;
    burn(n); /* let the clock settle */
    for (;;) {
        double t0 = now();
        volatile unsigned long long sink = burn(n);
        (void)sink;
        t = now() - t0;
        if (t > 0.02 || t > secs / 4)
            break;
        n *= 4;
    }
    long long want = (long long)((double)n * secs / t);
    return want > 1 ? want : 1;
}

static cpu_result case_cpu(const sizes *sz, double *spread, cost *k)
{
    long long n = calibrate_burn(sz->cpu_secs);
    pool_t *p = new_pool(sz);
    pool_opts opts = {.chunksize = 1};
    int reps = sz->cpu_reps;
    double *sp = xmalloc(7 * (size_t)reps * sizeof *sp);
    double *ser = sp + reps, *par = ser + reps, *cv = par + reps;
    unsigned long long want = burn(n) >> 1;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        for (long i = 0; i < sz->cpu_tasks; i++) {
            volatile unsigned long long sink = burn(n);
            (void)sink;
        }
        ser[r] = now() - t0;

        pool_value items = pool_list((size_t)sz->cpu_tasks);
        for (long i = 0; i < sz->cpu_tasks; i++)
            items.as.items[i] = pool_int(n);
        pool_value out = pool_none();
        probe a, b;
        probe_begin(p, &a);
        t0 = now();
        ok(pool_map(p, t_burn, items, &opts, &out), "pool_map(burn)");
        par[r] = now() - t0;
        probe_end(p, &b);
        probe_diff(&a, &b, (double)sz->cpu_tasks, cv + 4 * r);
        if (out.type != POOL_LIST || out.len != (uint32_t)sz->cpu_tasks)
            die("burn: wanted %ld results", sz->cpu_tasks);
        for (long i = 0; i < sz->cpu_tasks; i++)
            if (out.as.items[i].type != POOL_INT ||
                (unsigned long long)out.as.items[i].as.i != want)
                die("burn: result %ld is wrong", i);
        pool_value_free(&out);
        sp[r] = ser[r] / par[r];
    }
    end_pool(p);
    *k = cost_median(cv, reps);
    cpu_result res = {
        .speedup = med_sp(sp, reps, spread),
        .serial_s = median(ser, reps),
        .pool_s = median(par, reps),
    };
    res.task_s = res.serial_s / (double)sz->cpu_tasks;
    free(sp);
    return res;
}

/* This process's peak RSS in KiB: VmHWM, not ru_maxrss, since the latter
 * keeps the peak of the process this one was exec'd from (the benchmark
 * itself), and VmHWM starts anew. */
static long vm_hwm_kib(void)
{
    long hwm = -1;
    char line[256];
    FILE *f = fopen("/proc/self/status", "re");
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &hwm) == 1)
            break;
    if (f)
        fclose(f); /* read only: nothing to lose */
    if (hwm < 0)
        die("no VmHWM in /proc/self/status");
    return hwm;
}

/* The largest peak RSS, in KiB, of the children waited for, and of theirs:
 * after the join, the fork server and the workers. */
static long children_maxrss_kib(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_CHILDREN, &ru) != 0)
        die("getrusage: %s", strerror(errno));
    return ru.ru_maxrss;
}

/* Prints a probe's costs as a child reports them: "pflt wflt calls writes". */
static void print_costs(probe *a, probe *b, double items)
{
    double v[4];
    probe_diff(a, b, items, v);
    printf(" %.0f %.0f %.6g %.6g", v[0], v[1], v[2], v[3]);
}

/* Case 7: peak RSS of case 4, in a fresh process (this program run again
 * with --rss-child), so nothing measured before pollutes it. The child
 * reports its own peak and, after the join, the largest of its children's
 * (the fork server and the workers, reaped under it); and what the run
 * cost, the first map in a fresh process: "alone" in the table. */
static int rss_child(long items, long workers)
{
    sizes sz = full_sizes;
    sz.items = items;
    sz.workers = workers;
    pool_t *p = new_pool(&sz);
    probe a, b;
    probe_begin(p, &a);
    timed_square_map(p, items, 0);
    probe_end(p, &b);
    end_pool(p);
    printf("%ld %ld", vm_hwm_kib(), children_maxrss_kib());
    print_costs(&a, &b, (double)items);
    printf("\n");
    return 0;
}

typedef struct rss_result {
    double parent_mib, worker_mib;
} rss_result;

/* Runs this program again as "pool_bench MODE ARGS...", and returns what
 * it printed (the caller frees it). */
static char *run_child(const char *mode, const char *a1, const char *a2)
{
    int out[2];
    xpipe(out);
    pid_t pid = xfork();
    if (pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        execl("/proc/self/exe", "pool_bench", mode, a1, a2, (char *)NULL);
        fprintf(stderr, "pool_bench: exec /proc/self/exe: %s\n", strerror(errno));
        _exit(127);
    }
    close(out[1]);
    char *buf = read_to_eof(out[0]);
    close(out[0]);
    reap(pid);
    return buf;
}

static rss_result case_rss(const sizes *sz, cost *k)
{
    char items[32], workers[32];
    snprintf(items, sizeof items, "%ld", sz->items);
    snprintf(workers, sizeof workers, "%ld", sz->workers);
    char *buf = run_child("--rss-child", items, workers);
    long self_kib = 0, kids_kib = 0;
    if (sscanf(buf, "%ld %ld %lf %lf %lf %lf", &self_kib, &kids_kib, &k->parent_flt,
               &k->worker_flt, &k->calls, &k->writes) != 6)
        die("rss child: unexpected output \"%s\"", buf);
    free(buf);
    return (rss_result){self_kib / 1024.0, kids_kib / 1024.0};
}

/* Case 8: pool_imap_unordered() over many items, 1000 a chunk, in a fresh
 * process (this program again, with --imap-child), so its peak RSS is the
 * parent's own: items per second and that peak. The input is made item by
 * item and never held whole; every result is checked (their sum). */
enum { IMAP_CHUNK = 1000 };

static bool next_index(void *state, pool_value *item)
{
    long *left = state; /* counts down; the item is the index */
    if (left[0] == left[1])
        return false;
    *item = pool_int(left[0]++);
    return true;
}

static int imap_child(long items, long workers)
{
    sizes sz = full_sizes;
    sz.workers = workers;
    pool_t *p = new_pool(&sz);
    long range[2] = {0, items};
    pool_iter *it;
    probe a, b;
    probe_begin(p, &a);
    double t0 = now();
    ok(pool_imap_unordered(p, t_square, next_index, range, IMAP_CHUNK, &it),
       "pool_imap_unordered");
    pool_value v;
    long long sum = 0, want = 0;
    long got = 0;
    int rc;
    while ((rc = pool_iter_next(it, op_timeout, &v)) == POOL_OK) {
        sum += v.as.i;
        got++;
    }
    if (rc != POOL_END)
        die("pool_iter_next: %s", pool_strerror(rc));
    double t = now() - t0;
    probe_end(p, &b);
    pool_iter_destroy(it);
    end_pool(p);
    for (long i = 0; i < items; i++)
        want += (long long)i * i;
    if (got != items || sum != want)
        die("imap_unordered: %ld results, sum %lld; wanted %ld, %lld", got, sum, items, want);
    printf("%.1f %ld", (double)items / t, vm_hwm_kib());
    print_costs(&a, &b, (double)items);
    printf("\n");
    return 0;
}

typedef struct imap_result {
    double ips, parent_mib;
} imap_result;

static imap_result case_imap(const sizes *sz, cost *k)
{
    char items[32], workers[32];
    snprintf(items, sizeof items, "%ld", sz->imap_items);
    snprintf(workers, sizeof workers, "%ld", sz->workers);
    char *buf = run_child("--imap-child", items, workers);
    double ips = 0;
    long self_kib = 0;
    if (sscanf(buf, "%lf %ld %lf %lf %lf %lf", &ips, &self_kib, &k->parent_flt,
               &k->worker_flt, &k->calls, &k->writes) != 6)
        die("imap child: unexpected output \"%s\"", buf);
    free(buf);
    return (imap_result){ips, self_kib / 1024.0};
}

/* Case 9: one round trip of a big bytes value (256 MiB; 2 MiB with
 * --quick) in a fresh process (--big-child), with the pool's defaults, so
 * it crosses in shared memory: MB/s both ways, and the peak RSS of the
 * parent and of its largest child. The value is made by pool_bytes() from
 * a buffer freed before the submission; making it holds two copies for a
 * moment, so the peak is then reset (/proc/self/clear_refs, 5) to what the
 * process holds: one copy. The result is checked against the pattern,
 * recomputed, not against a kept copy. */
static int big_child(long bytes, long workers)
{
    sizes sz = full_sizes;
    sz.workers = workers;
    pool_t *p = new_pool(&sz); /* first: the fork server is forked small */
    unsigned char *data = xmalloc((size_t)bytes);
    for (long i = 0; i < bytes; i++)
        data[i] = pattern((size_t)i);
    pool_value v = pool_bytes(data, (size_t)bytes);
    free(data);
    long made_kib = vm_hwm_kib();
    int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "5", 1) != 1)
        die("resetting the peak RSS (/proc/self/clear_refs): %s", strerror(errno));
    close(fd); /* written: nothing to lose */
    pool_value out = pool_none();
    probe a, b;
    probe_begin(p, &a);
    double t0 = now();
    ok(pool_apply(p, t_echo, pool_tuple(1, v), NULL, &out), "pool_apply(echo)");
    double t = now() - t0;
    probe_end(p, &b);
    if (!is_pattern(&out, (size_t)bytes))
        die("big echo: the result is not the %ld bytes sent", bytes);
    pool_value_free(&out);
    end_pool(p);
    printf("%.1f %ld %ld %ld", 2.0 * (double)bytes / t / 1e6, vm_hwm_kib(),
           children_maxrss_kib(), made_kib); /* made: the peak while making the value */
    print_costs(&a, &b, 1);
    printf("\n");
    return 0;
}

typedef struct big_result {
    double mbs, parent_mib, worker_mib, made_mib;
} big_result;

static big_result case_big(const sizes *sz, cost *k)
{
    char bytes[32], workers[32];
    snprintf(bytes, sizeof bytes, "%ld", sz->big_bytes);
    snprintf(workers, sizeof workers, "%ld", sz->workers);
    char *buf = run_child("--big-child", bytes, workers);
    double mbs = 0;
    long self_kib = 0, kids_kib = 0, made_kib = 0;
    if (sscanf(buf, "%lf %ld %ld %ld %lf %lf %lf %lf", &mbs, &self_kib, &kids_kib, &made_kib,
               &k->parent_flt, &k->worker_flt, &k->calls, &k->writes) != 8)
        die("big child: unexpected output \"%s\"", buf);
    free(buf);
    return (big_result){mbs, self_kib / 1024.0, kids_kib / 1024.0, made_kib / 1024.0};
}

/* ---- Case 4, split: each stage of its work alone ----------------------- */

/* Where case 4's nanoseconds per item go. Each stage is timed by itself in
 * this process, on the same data and with the pool's own functions, reps
 * times (the median shown, the spread beside it):
 *   encode:    pool_encode() of every item into its chunk's buffer (the
 *              parent's part) and of every result (the workers' part);
 *   pipe:      those bytes through a pipe to a child and back, 1 MiB pipe
 *              buffers as the pool's, both ends on one CPU: what the
 *              copies cost the two processes together;
 *   decode:    pool_decode() of every item (the workers') and of every
 *              result into a scratch value (the parent's);
 *   task call: t_square() on every item;
 *   placement: decoding the results into a new output list (pool_list()),
 *              as the pool does, less decoding them into a scratch value.
 * The stages are CPU work; in the map, three processes share them over two
 * CPUs, so the map's wall time per item may be above or below their sum. */
enum { SPLIT_ENCODE, SPLIT_PIPE, SPLIT_DECODE, SPLIT_CALL, SPLIT_PLACE, SPLIT_N };

typedef struct split_fig {
    double ns[SPLIT_N], sp[SPLIT_N]; /* ns per item: medians and spreads */
    double range_ns;                 /* not a stage: pool_range(), which the timed map includes */
} split_fig;

/* One chunk's encoded items and results. */
typedef struct split_chunk {
    pool_buf args, results;
} split_chunk;

/* The chunks through a pipe to a child and back: the child reads each
 * chunk's items and writes its results, reps times; a thread of the parent
 * writes while the parent reads, as the pool's two handler threads do.
 * Returns seconds per repetition in v. */
typedef struct pipe_writer {
    int fd;
    const split_chunk *c;
    long n;
} pipe_writer;

static void *write_chunks(void *arg)
{
    const pipe_writer *w = arg;
    for (long i = 0; i < w->n; i++)
        write_all(w->fd, w->c[i].args.data, w->c[i].args.len);
    return NULL;
}

static void set_pipe_size(int fd)
{
    /* As the pool sizes its pipes; a smaller limit here only slows it. */
    if (fcntl(fd, F_SETPIPE_SZ, 1 << 20) < 0)
        fprintf(stderr, "pool_bench: F_SETPIPE_SZ: %s\n", strerror(errno));
}

static void split_pipe(const split_chunk *c, long nchunks, size_t max_len, int reps, double *v)
{
    int up[2], down[2];
    xpipe(up);
    xpipe(down);
    set_pipe_size(up[1]);
    set_pipe_size(down[1]);
    unsigned char *buf = xmalloc(max_len);
    memset(buf, 0, max_len); /* fault it in before timing, in both processes */
    int a = -1, b = -1;
    two_cpus(&a, &b);
    pin_begin(a, a);
    pid_t pid = xfork();
    if (pid == 0) {
        pin_to(child_cpu);
        close(up[1]);
        close(down[0]);
        for (int r = 0; r < reps; r++)
            for (long i = 0; i < nchunks; i++) {
                if (!read_all(up[0], buf, c[i].args.len))
                    _exit(1);
                write_all(down[1], c[i].results.data, c[i].results.len);
            }
        _exit(0);
    }
    close(up[0]);
    close(down[1]);
    for (int r = 0; r < reps; r++) {
        pipe_writer w = {up[1], c, nchunks};
        pthread_t t;
        double t0 = now();
        int e = pthread_create(&t, NULL, write_chunks, &w);
        if (e != 0)
            die("pthread_create: %s", strerror(e));
        for (long i = 0; i < nchunks; i++)
            if (!read_all(down[0], buf, c[i].results.len))
                die("split: the child closed the pipe");
        pthread_join(t, NULL); /* cannot fail: a joinable thread of ours */
        v[r] = now() - t0;
    }
    close(up[1]);
    close(down[0]);
    reap(pid);
    pin_end();
    free(buf);
}

/* Decodes every value of the chunks' bufs (args or results) into out[i],
 * or into one scratch value when out is NULL; sums the ints it saw. */
static long long decode_all(const split_chunk *c, long nchunks, bool results, pool_value *out)
{
    long long sum = 0;
    long k = 0;
    for (long i = 0; i < nchunks; i++) {
        const pool_buf *b = results ? &c[i].results : &c[i].args;
        for (size_t used = 0; used < b->len; k++) {
            pool_value scratch, *v = out ? &out[k] : &scratch;
            size_t n = pool_decode(b->data + used, b->len - used, v);
            if (n == 0)
                die("split: pool_decode failed at value %ld", k);
            used += n;
            sum += v->as.i;
            if (!out)
                pool_value_free(v);
        }
    }
    return sum;
}

static split_fig case_split(const sizes *sz)
{
    long n = sz->items, per = (n + 4 * sz->workers - 1) / (4 * sz->workers); /* the default */
    long nchunks = (n + per - 1) / per;
    split_fig f;
    double t0 = now();
    pool_value in = pool_range((size_t)n);
    f.range_ns = (now() - t0) / (double)n * 1e9;
    pool_value res = pool_list((size_t)n);
    long long want = 0;
    for (long i = 0; i < n; i++) {
        res.as.items[i] = pool_int((long long)i * i);
        want += (long long)i * i;
    }
    split_chunk *c = xmalloc((size_t)nchunks * sizeof *c);
    for (long i = 0; i < nchunks; i++)
        c[i] = (split_chunk){{NULL, 0, 0}, {NULL, 0, 0}};
    int reps = sz->reps;
    double *v = xmalloc((size_t)(SPLIT_N + 1) * (size_t)reps * sizeof *v);
    double *enc = v, *pipe_s = v + reps, *dec = v + 2 * reps, *call = v + 3 * reps;
    double *place = v + 4 * reps, *scratch = v + 5 * reps;
    for (int r = -1; r < reps; r++) { /* r = -1: a warm-up, as the pool's buffers are */
        double e = 0;
        for (long i = 0; i < nchunks; i++) {
            long first = i * per, count = first + per > n ? n - first : per;
            c[i].args.len = c[i].results.len = 0; /* kept: the pool reuses its buffers */
            t0 = now();
            for (long j = first; j < first + count; j++)
                pool_encode(&c[i].args, &in.as.items[j]);
            for (long j = first; j < first + count; j++)
                pool_encode(&c[i].results, &res.as.items[j]);
            e += now() - t0;
        }
        if (r < 0)
            continue;
        enc[r] = e;

        t0 = now();
        long long s_args = decode_all(c, nchunks, false, NULL);
        long long s_res = decode_all(c, nchunks, true, NULL);
        dec[r] = now() - t0;
        if (s_args != (long long)n * (n - 1) / 2 || s_res != want)
            die("split: the decoded values are not the items and results encoded");

        t0 = now();
        long long s = 0;
        for (long j = 0; j < n; j++) {
            pool_value out = t_square(&in.as.items[j], 1);
            s += out.as.i;
            pool_value_free(&out);
        }
        call[r] = now() - t0;
        if (s != want)
            die("split: t_square gave a sum of %lld, wanted %lld", s, want);

        t0 = now();
        decode_all(c, nchunks, true, NULL);
        scratch[r] = now() - t0;
        t0 = now();
        pool_value out = pool_list((size_t)n);
        s = decode_all(c, nchunks, true, out.as.items);
        place[r] = now() - t0 - scratch[r];
        for (long j = 0; j < n; j++)
            if (out.as.items[j].as.i != (long long)j * j)
                die("split: result %ld was placed wrong", j);
        pool_value_free(&out);
    }
    size_t max_len = 0;
    for (long i = 0; i < nchunks; i++)
        for (const pool_buf *b = &c[i].args; b <= &c[i].results; b++)
            max_len = b->len > max_len ? b->len : max_len;
    split_pipe(c, nchunks, max_len, reps, pipe_s);
    for (int k = 0; k < SPLIT_N; k++) {
        for (int r = 0; r < reps; r++)
            v[k * reps + r] *= 1e9 / (double)n;
        f.ns[k] = med_sp(v + k * reps, reps, &f.sp[k]);
    }
    for (long i = 0; i < nchunks; i++) {
        free(c[i].args.data);
        free(c[i].results.data);
    }
    free(c);
    free(v);
    pool_value_free(&in);
    pool_value_free(&res);
    return f;
}

/* ---- Python ------------------------------------------------------------ */

typedef struct figures {
    double start_ms, apply_us, map1_us, map_big_ips, bytes_mbs;
    apply_more apply;       /* case 2t, and more of case 2 for the MPI note */
    cpu_result cpu;
    rss_result rss;
    imap_result imap;       /* case 8 */
    double map_threads_ips; /* case 4t: case 4 on threads; Python's on ThreadPool */
    /* C only: */
    double bytes_copy_mbs;  /* case 5c: case 5 by copy (POOL_SHM_NEVER) */
    double flt_warm[2];     /* case 4's faults per run, parent and workers: median, spread */
    big_result big;         /* case 9 */
    split_fig split;        /* case 4, split */
    double sp[S_N];         /* the spreads of the C figures */
    cost cost[K_N];         /* what a run of each case cost */
} figures;

/* Every figure NAN: not measured. figures holds doubles only. */
static void figures_none(figures *f)
{
    _Static_assert(sizeof(figures) % sizeof(double) == 0, "figures holds doubles only");
    double *d = (double *)f;
    for (size_t i = 0; i < sizeof(figures) / sizeof(double); i++)
        d[i] = NAN;
}

/* Finds "key": number in a flat JSON object; NAN when absent. */
static double json_num(const char *json, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *p = strstr(json, pat);
    if (!p)
        return NAN;
    p += strlen(pat);
    while (*p == ' ' || *p == ':')
        p++;
    char *end;
    double v = strtod(p, &end);
    return end == p ? NAN : v;
}

static void json_str(const char *json, const char *key, char *out, size_t size)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *p = strstr(json, pat);
    snprintf(out, size, "?");
    if (!p)
        return;
    p = strchr(p + strlen(pat), '"');
    if (!p)
        return;
    const char *e = strchr(++p, '"');
    if (e)
        snprintf(out, size, "%.*s", (int)(e - p), p);
}

/* Runs python3 on the script with the same sizes; returns false (and says
 * why in *why) when the comparison cannot be made. */
static bool run_python(const char *python, const char *script, const sizes *sz,
                       double timeout, figures *py, char *version, size_t vsize,
                       char *why, size_t wsize)
{
    if (access(script, R_OK) != 0) {
        snprintf(why, wsize, "%s not found", script);
        return false;
    }
    char a[12][32], imap_items[32];
    snprintf(imap_items, sizeof imap_items, "%ld", sz->imap_items);
    snprintf(a[0], 32, "%ld", sz->workers);
    snprintf(a[1], 32, "%d", sz->reps);
    snprintf(a[2], 32, "%d", sz->start_reps);
    snprintf(a[3], 32, "%d", sz->cpu_reps);
    snprintf(a[4], 32, "%ld", sz->tasks);
    snprintf(a[5], 32, "%ld", sz->items);
    snprintf(a[6], 32, "%ld", sz->bytes);
    snprintf(a[7], 32, "%ld", sz->cpu_tasks);
    snprintf(a[8], 32, "%g", sz->cpu_secs);
    const char *argv[] = {
        python, script, "--workers", a[0], "--reps", a[1], "--start-reps", a[2],
        "--cpu-reps", a[3], "--tasks", a[4], "--items", a[5], "--bytes", a[6],
        "--cpu-tasks", a[7], "--cpu-secs", a[8], "--imap-items", imap_items, NULL,
    };
    int out[2], err[2];
    xpipe(out);
    xpipe(err); /* tells the parent why exec failed */
    pid_t pid = xfork();
    if (pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        close(err[0]);
        alarm((unsigned)timeout); /* survives the exec: the default action kills */
        execvp(python, (char *const *)argv);
        int e = errno;
        write_all(err[1], &e, sizeof e);
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    int e = 0;
    bool exec_failed = read_all(err[0], &e, sizeof e);
    close(err[0]);
    char *json = read_to_eof(out[0]);
    close(out[0]);
    int st = wait_for(pid);
    if (exec_failed) {
        snprintf(why, wsize, "%s: %s", python, strerror(e));
        free(json);
        return false;
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM)
            die("%s %s: no answer after %.0f s", python, script, timeout);
        die("%s %s failed (status 0x%x)", python, script, st);
    }
    py->start_ms = json_num(json, "start_stop_ms");
    py->apply_us = json_num(json, "apply_async_us_per_task");
    py->map1_us = json_num(json, "map_chunksize1_us_per_task");
    py->map_big_ips = json_num(json, "map_items_per_s");
    py->map_threads_ips = json_num(json, "thread_pool_map_items_per_s");
    py->bytes_mbs = json_num(json, "bytes_round_trip_mb_per_s");
    py->cpu.speedup = json_num(json, "cpu_speedup");
    py->cpu.serial_s = json_num(json, "cpu_serial_s");
    py->cpu.pool_s = json_num(json, "cpu_pool_s");
    py->cpu.task_s = json_num(json, "cpu_task_s");
    py->rss.parent_mib = json_num(json, "rss_parent_mib");
    py->rss.worker_mib = json_num(json, "rss_worker_mib");
    py->imap.ips = json_num(json, "imap_items_per_s");
    py->imap.parent_mib = json_num(json, "imap_rss_parent_mib");
    json_str(json, "python_version", version, vsize);
    free(json);
    return true;
}

/* ---- MPI --------------------------------------------------------------- */

/* Cases 2 and 4 on an MPI pool (bench/pool_bench_mpi.c), and where case
 * 2's time went; NAN where not measured. */
typedef struct mpi_figures {
    double apply_us, map_big_ips;
    double round_trip_us;          /* a blocking pool_apply, one at a time */
    double idle_rt_us;             /* the same after idle_ms of nothing */
    double rank0_cpu_us, ranks_cpu_us; /* CPU per task of case 2m */
    char host[64];
    char threads[512];             /* rank 0's threads: "name us, ..." */
} mpi_figures;

/* Whether prog is an executable file in a folder of $PATH. */
static bool on_path(const char *prog)
{
    const char *path = getenv("PATH");
    char *dirs = strdup(path ? path : "/usr/bin:/bin");
    if (!dirs)
        die("out of memory");
    bool found = false;
    for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d && !found;
         d = strtok_r(NULL, ":", &save)) {
        char f[PATH_MAX];
        snprintf(f, sizeof f, "%s/%s", d, prog);
        found = access(f, X_OK) == 0;
    }
    free(dirs);
    return found;
}

/* Runs the MPI program as a job of workers + 1 ranks on this machine,
 * under timeout(1), and reads its JSON line. Returns 1 when it ran, 0 when
 * it cannot run here (not built, no mpirun), -1 when it failed; *why says
 * why in the last two. */
static int run_mpi(const char *mpirun, const char *prog, const sizes *sz, double timeout,
                   mpi_figures *m, char *why, size_t wsize)
{
    if (access(prog, X_OK) != 0 || access(mpirun, X_OK) != 0 || !on_path("mpirun")) {
        snprintf(why, wsize, "not built (make mpi)%s",
                 access(prog, X_OK) != 0 ? "" : ": no mpirun");
        return 0;
    }
    char np[32], t[32], tasks[32], items[32], reps[32], workers[32], idle[32];
    snprintf(np, sizeof np, "%ld", sz->workers + 1);
    snprintf(t, sizeof t, "%.0f", timeout);
    snprintf(tasks, sizeof tasks, "%ld", sz->tasks);
    snprintf(items, sizeof items, "%ld", sz->items);
    snprintf(reps, sizeof reps, "%d", sz->reps);
    snprintf(workers, sizeof workers, "%ld", sz->workers);
    snprintf(idle, sizeof idle, "%ld", idle_ms);
    /* timeout(1) signals mpirun with TERM, on which mpirun ends its ranks;
     * KILL follows if it does not. */
    const char *argv[] = {"timeout", "-k", "10", t, mpirun, prog, "--tasks", tasks,
                          "--items", items, "--reps", reps, "--workers", workers,
                          "--idle-ms", idle, NULL};
    int out[2];
    xpipe(out);
    pid_t pid = xfork();
    if (pid == 0) {
        if (dup2(out[1], 1) < 0)
            _exit(126); /* the parent then reads no figures: "failed" */
        close(out[0]);
        close(out[1]);
        /* These rows are about this machine: no hosts from the environment. */
        if (setenv("MPI_NP", np, 1) != 0 || unsetenv("MPI_HOSTS") != 0)
            _exit(126);
        execvp("timeout", (char *const *)argv);
        fprintf(stderr, "pool_bench: exec timeout: %s\n", strerror(errno));
        _exit(127);
    }
    close(out[1]);
    char *json = read_to_eof(out[0]);
    close(out[0]);
    int st = wait_for(pid);
    int rc = -1;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 124)
        snprintf(why, wsize, "failed: no answer after %s s", t);
    else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        snprintf(why, wsize, "failed: %s exited with status 0x%x", mpirun, st);
    else {
        m->apply_us = json_num(json, "apply_async_us_per_task");
        m->map_big_ips = json_num(json, "map_items_per_s");
        m->round_trip_us = json_num(json, "apply_round_trip_us");
        m->idle_rt_us = json_num(json, "apply_after_idle_us");
        m->rank0_cpu_us = json_num(json, "rank0_cpu_us_per_task");
        m->ranks_cpu_us = json_num(json, "workers_cpu_us_per_task");
        json_str(json, "host", m->host, sizeof m->host);
        json_str(json, "rank0_threads_cpu_us_per_task", m->threads, sizeof m->threads);
        if (isnan(m->apply_us) || isnan(m->map_big_ips))
            snprintf(why, wsize, "failed: no figures in its output");
        else
            rc = 1;
    }
    if (rc < 0 && *json)
        fprintf(stderr, "pool_bench: the MPI job printed: %s\n", json);
    free(json);
    return rc;
}

/* ---- The table: each row prints, and judges its target ----------------- */

/* BLANK prints nothing, NAN prints "-" (not measured or not applicable). */
#define BLANK (-INFINITY)

static const char *num(char *buf, double v)
{
    if (v == BLANK)
        return "";
    if (isnan(v))
        return "-";
    double a = fabs(v);
    if (a >= 1e7)
        snprintf(buf, 24, "%.3g", v);
    else if (a >= 1000)
        snprintf(buf, 24, "%.0f", v);
    else if (a >= 100)
        snprintf(buf, 24, "%.1f", v);
    else if (a >= 10)
        snprintf(buf, 24, "%.2f", v);
    else
        snprintf(buf, 24, "%.3f", v);
    return buf;
}

static const char *times(char *buf, double v)
{
    if (v == BLANK)
        return "";
    if (isnan(v))
        return "-";
    snprintf(buf, 24, v >= 100 ? "%.0fx" : v >= 10 ? "%.1fx" : "%.2fx", v);
    return buf;
}

/* A target, as numbers: its text (">=5x Python") is printed from them and
 * the verdict is judged by them, so the two cannot disagree. */
typedef struct target {
    enum {
        EMPTY,       /* a row with nothing in the target columns */
        NOT_SET,     /* a case with no target: "(none)" */
        ON_C,        /* judges the C column */
        ON_GAIN,     /* judges the C gain column */
        ON_VS_FLOOR, /* judges the vs floor column */
    } on;
    bool at_least;   /* the column must be >= limit, else <= limit */
    double limit;
    const char *of;  /* printed after the limit: what it is a multiple of, or its unit */
} target;

#define AT_LEAST(on, limit, of) {on, true, limit, of}
#define AT_MOST(on, limit, of) {on, false, limit, of}
#define NO_TARGET {NOT_SET, false, 0, ""}
#define NO_TARGET_COLUMN {EMPTY, false, 0, ""}

/* One row of the table. */
typedef struct row {
    const char *id, *name, *unit;
    double c, py;  /* py BLANK: a row with no Python column */
    enum {
        HIGHER,     /* higher is better: the C gain is C / Python */
        LOWER,      /* lower is better: the C gain is Python / C */
        FLOOR_ONLY, /* the row above again: its C figure only against the floor */
    } better;
    double floor;  /* BLANK: a row with no floor; vs floor is C / floor */
    target t;
    const double *spread; /* the C figure's spread over its runs; NULL: none shown */
} row;

typedef struct tally {
    int met, missed, skipped;
} tally;

/* The verdict on a figure: "yes", "NO", or "skipped" when it is unknown. */
static const char *judge_target(const target *t, double v, tally *n)
{
    if (isnan(v)) {
        n->skipped++;
        return "skipped";
    }
    if (t->at_least ? v >= t->limit : v <= t->limit) {
        n->met++;
        return "yes";
    }
    n->missed++;
    return "NO";
}

#define ROW_FMT "%-3s%-37s%-8s%10s%7s%10s%8s%9s%9s  %-14s%s"

/* A spread as a percentage; "" for none. */
static const char *pct(char *buf, const double *spread)
{
    if (!spread || isnan(*spread))
        return "";
    if (*spread >= 9.995) /* keeps the column: beyond this only "very noisy" matters */
        return ">999%";
    snprintf(buf, 24, "%.0f%%", *spread * 100);
    return buf;
}

static void print_row(const row *r, tally *n)
{
    double gain = BLANK, vs_floor = BLANK;
    if (r->py != BLANK)
        gain = r->better == LOWER ? r->py / r->c : r->c / r->py;
    if (r->floor != BLANK)
        vs_floor = r->c / r->floor;
    char text[32] = "";
    const char *met = "";
    if (r->t.on == NOT_SET) {
        snprintf(text, sizeof text, "(none)");
        met = "-";
    } else if (r->t.on != EMPTY) {
        snprintf(text, sizeof text, "%s%g%s", r->t.at_least ? ">=" : "<=", r->t.limit, r->t.of);
        double v = r->t.on == ON_C ? r->c : r->t.on == ON_GAIN ? gain : vs_floor;
        met = judge_target(&r->t, v, n);
    }
    char b1[24], b2[24], b3[24], b4[24], b5[24], b6[24], line[256];
    const double *spread = r->better == FLOOR_ONLY ? NULL : r->spread;
    bool noisy = spread && *spread > NOISY_SPREAD; /* false for NAN */
    int len = snprintf(line, sizeof line, ROW_FMT "%s", r->id, r->name, r->unit,
                       num(b1, r->better == FLOOR_ONLY ? BLANK : r->c), pct(b6, spread),
                       num(b2, r->py), times(b3, gain), num(b4, r->floor), times(b5, vs_floor),
                       text, met, noisy ? (*met ? " noisy" : "noisy") : "");
    if (len > (int)sizeof line - 1)
        len = (int)sizeof line - 1;
    while (len > 0 && line[len - 1] == ' ')
        line[--len] = '\0';
    puts(line);
}

static void print_rows(const row *rows, size_t count, tally *n)
{
    for (size_t i = 0; i < count; i++)
        print_row(&rows[i], n);
}

/* The larger of the parent's peak RSS and its largest child's: case 7. */
static double rss_peak(const figures *f)
{
    return fmax(f->rss.parent_mib, f->rss.worker_mib);
}

/* The 1-minute load average, to show how busy the machine was. */
static double loadavg(void)
{
    double l = NAN;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1)
            l = NAN;
        fclose(f); /* read only: nothing to lose */
    }
    return l;
}

/* ---- Options: parse and select ----------------------------------------- */

/* The parts of a run, as --only names them; part k >= 1 is C case k. */
enum { P_FLOOR, P_START, P_APPLY, P_MAP1, P_MAP, P_BYTES, P_CPU, P_RSS, P_IMAP, P_BIG,
       P_SPLIT, P_N };
static const char *const part_names[P_N] = {"floor", "start", "apply", "map1", "map", "bytes",
                                            "cpu",   "rss",   "imap",  "big",  "split"};

typedef struct options {
    sizes sz;
    const char *script, *python, *only;
    const char *mpirun, *mpi_bench; /* the MPI rows' job: scripts/mpirun.sh and its program */
    bool use_python, quick;
    bool use_mpi;    /* the MPI rows run */
    double timeout;  /* seconds for the whole run, and as many for Python's */
    bool part[P_N];  /* the parts that run */
} options;

static void usage(FILE *f)
{
    fputs("usage: pool_bench [--quick] [--script PATH] [--python PROG] [--no-python]\n"
          "                  [--mpi-bench PATH] [--mpirun PATH] [--no-mpi] [--idle-ms N]\n"
          "                  [--reps N] [--tasks N] [--items N] [--bytes N]\n"
          "                  [--cpu-secs S] [--timeout S] [--only LIST]\n"
          "  --quick        tiny sizes, for the smoke test (no thresholds anywhere)\n"
          "  --script PATH  the Python side (default bench/pool_bench.py)\n"
          "  --python PROG  the interpreter (default python3)\n"
          "  --no-python    print the C column only\n"
          "  --mpi-bench P  the MPI rows' program (default build/mpi/bench/pool_bench_mpi)\n"
          "  --mpirun P     what runs it as a job (default scripts/mpirun.sh)\n"
          "  --no-mpi       no MPI rows\n"
          "  --idle-ms N    the MPI note's idle gap before a blocking apply (default 20)\n"
          "  --only LIST    only these, comma-separated, no Python: floor, c (every C\n"
          "                 case), start, apply, map1, map, bytes, cpu, rss, imap, big,\n"
          "                 split (case 4's stages), mpi\n"
          "  --timeout S    the whole run, and the Python run, each get S seconds\n",
          f);
}

static long arg_long(const char *opt, const char *v)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || *end || n <= 0)
        die("%s wants a positive integer, not \"%s\"", opt, v);
    return n;
}

/* Fills *o from the command line; exits after --help (0) or a bad one (2). */
static void parse_args(int argc, char **argv, options *o)
{
    *o = (options){.sz = full_sizes, .script = "bench/pool_bench.py", .python = "python3",
                   .mpirun = "scripts/mpirun.sh",
                   .mpi_bench = "build/mpi/bench/pool_bench_mpi",
                   .use_python = true, .use_mpi = true, .timeout = 900};
    long reps = 0, tasks = 0, items = 0, bytes = 0;
    double cpu_secs = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(a, "--quick") == 0) {
            o->quick = true;
        } else if (strcmp(a, "--no-python") == 0) {
            o->use_python = false;
        } else if (strcmp(a, "--no-mpi") == 0) {
            o->use_mpi = false;
        } else if (!v) {
            usage(stderr);
            exit(2);
        } else if (strcmp(a, "--script") == 0) {
            o->script = v, i++;
        } else if (strcmp(a, "--python") == 0) {
            o->python = v, i++;
        } else if (strcmp(a, "--mpi-bench") == 0) {
            o->mpi_bench = v, i++;
        } else if (strcmp(a, "--mpirun") == 0) {
            o->mpirun = v, i++;
        } else if (strcmp(a, "--only") == 0) {
            o->only = v, i++;
        } else if (strcmp(a, "--reps") == 0) {
            reps = arg_long(a, v), i++;
        } else if (strcmp(a, "--tasks") == 0) {
            tasks = arg_long(a, v), i++;
        } else if (strcmp(a, "--items") == 0) {
            items = arg_long(a, v), i++;
        } else if (strcmp(a, "--bytes") == 0) {
            bytes = arg_long(a, v), i++;
        } else if (strcmp(a, "--cpu-secs") == 0) {
            cpu_secs = atof(v), i++;
            if (!(cpu_secs > 0))
                die("--cpu-secs wants a positive number");
        } else if (strcmp(a, "--idle-ms") == 0) {
            idle_ms = arg_long(a, v), i++;
        } else if (strcmp(a, "--timeout") == 0) {
            o->timeout = (double)arg_long(a, v), i++;
        } else {
            usage(stderr);
            exit(2);
        }
    }
    /* The sizes named on the command line override those of --quick. */
    if (o->quick)
        o->sz = quick_sizes;
    if (reps)
        o->sz.reps = (int)reps;
    if (tasks)
        o->sz.tasks = tasks;
    if (items)
        o->sz.items = items;
    if (bytes)
        o->sz.bytes = bytes;
    if (cpu_secs > 0)
        o->sz.cpu_secs = cpu_secs;
    if (o->only)
        o->use_python = false;
}

/* Which parts run: all of them, or those --only names (for profiling one
 * case with perf or strace). */
static void select_parts(const char *only, bool part[P_N], bool *use_mpi)
{
    for (int k = 0; k < P_N; k++)
        part[k] = !only;
    if (!only)
        return;
    bool mpi = false;
    char *list = strdup(only);
    if (!list)
        die("out of memory");
    for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (strcmp(t, "mpi") == 0) {
            mpi = true;
            continue;
        }
        bool found = strcmp(t, "c") == 0;
        for (int k = 1; found && k < P_N; k++)
            part[k] = true;
        for (int k = 0; k < P_N; k++)
            if (strcmp(t, part_names[k]) == 0)
                part[k] = found = true;
        if (!found)
            die("--only: unknown part \"%s\"", t);
    }
    free(list);
    *use_mpi &= mpi;
}

static bool any_case(const options *o)
{
    if (o->use_mpi)
        return true;
    for (int k = P_START; k < P_N; k++)
        if (o->part[k])
            return true;
    return false;
}

/* ---- Measure ----------------------------------------------------------- */

/* Everything one run measured; NAN where a part did not run. */
typedef struct results {
    double load_before;  /* the 1-minute load average */
    floor_fig fl;
    figures c, py;
    bool have_py;        /* py holds Python's figures */
    char version[64];    /* Python's version */
    char why[256];       /* why py does not */
    mpi_figures mpi;
    int mpi_ran;         /* run_mpi's answer: 1 ran, 0 cannot run here, -1 failed */
    char mpi_why[256];   /* why the MPI rows are empty */
} results;

static void measure(const options *o, results *r)
{
    *r = (results){.fl = {NAN, NAN, NAN, NAN, NAN, NAN, NAN,
                          {NAN, NAN, NAN, NAN, NAN, NAN, NAN}},
                   .why = "--no-python", .mpi = {NAN, NAN, NAN, NAN, NAN, NAN, "?", "?"},
                   .mpi_why = "skipped (--no-mpi)"};
    figures_none(&r->c);
    figures_none(&r->py);
    const sizes *sz = &o->sz;
    op_timeout = o->timeout;
    /* The whole run has a deadline; the default action of SIGALRM ends it,
     * and the pool's workers die with their parent. Python gets its own,
     * and so does the MPI job (timeout(1)). */
    alarm((unsigned)o->timeout * (1 + o->use_python + o->use_mpi) + 30);
    r->load_before = loadavg();

    /* The floor first, while this process is small (fork copies its page
     * tables), and with no pool running beside it. */
    /* Each pipe figure twice: both processes on one CPU (the lower bound,
     * and the reference for the targets), and on two CPUs (every wakeup
     * crosses CPUs, as between the pool's parent and a busy worker). */
    if (o->part[P_FLOOR])
        measure_floor(sz, &r->fl);

    figures *c = &r->c;
    if (o->part[P_START])
        c->start_ms = case_start_stop(sz, &c->sp[S_START], &c->cost[K_START]);
    if (o->part[P_APPLY])
        c->apply_us = case_apply(sz, &c->apply, &c->sp[S_APPLY], &c->cost[K_APPLY]);
    if (o->part[P_MAP1])
        c->map1_us = case_map1(sz, &c->sp[S_MAP1], &c->cost[K_MAP1]);
    if (o->part[P_MAP])
        c->map_big_ips = case_map_big(sz, &c->sp[S_MAP], &c->cost[K_MAP], c->flt_warm);
    if (o->part[P_MAP])
        c->map_threads_ips = case_map_threads(sz, &c->sp[S_THREADS], &c->cost[K_THREADS]);
    if (o->part[P_SPLIT])
        c->split = case_split(sz);
    if (o->part[P_BYTES]) {
        c->bytes_mbs = case_bytes(sz, 0, &c->sp[S_SHM], &c->cost[K_SHM]);
        c->bytes_copy_mbs = case_bytes(sz, POOL_SHM_NEVER, &c->sp[S_COPY], &c->cost[K_COPY]);
    }
    if (o->part[P_CPU])
        c->cpu = case_cpu(sz, &c->sp[S_CPU], &c->cost[K_CPU]);
    if (o->part[P_RSS])
        c->rss = case_rss(sz, &c->cost[K_ALONE]);
    if (o->part[P_IMAP])
        c->imap = case_imap(sz, &c->cost[K_IMAP]);
    if (o->part[P_BIG])
        c->big = case_big(sz, &c->cost[K_BIG]);

    /* Like Python's, the MPI job runs alone: this process only waits. */
    if (o->use_mpi)
        r->mpi_ran = run_mpi(o->mpirun, o->mpi_bench, sz, o->timeout, &r->mpi, r->mpi_why,
                             sizeof r->mpi_why);
    r->have_py = o->use_python && run_python(o->python, o->script, sz, o->timeout, &r->py,
                                             r->version, sizeof r->version, r->why,
                                             sizeof r->why);
}

/* ---- Print ------------------------------------------------------------- */

static void print_head(const options *o, const results *r)
{
    const sizes *sz = &o->sz;
    if (r->load_before > 0.5)
        printf("WARNING: the load average (1 min) was %.2f at the start, above 0.5: other "
               "work shares the CPUs, and the figures may be off\n", r->load_before);
    printf("pool benchmark: %ld workers; median of %d runs (start/stop %d, CPU-bound %d)%s\n",
           sz->workers, sz->reps, sz->start_reps, sz->cpu_reps, o->quick ? "; QUICK sizes" : "");
    if (r->have_py)
        printf("C pool vs Python %s multiprocessing.Pool (fork start method), same run\n",
               r->version);
    else if (any_case(o))
        printf("Python comparison skipped: %s\n", o->only ? "--only" : r->why);
    printf("load average (1 min) %.2f before, %.2f after, on %ld online CPUs; every "
           "figure is from this run\n", r->load_before, loadavg(), sysconf(_SC_NPROCESSORS_ONLN));
    printf("\"C gain\": how many times better C is than Python; \"vs floor\": C / floor;\n"
           "\"spread\": (max - min) / median of C's runs, \"noisy\" above %.0f%%; targets "
           "judge the median\n\n", NOISY_SPREAD * 100);
    printf(ROW_FMT "\n", "#", "case", "unit", "C", "spread", "Python", "C gain", "floor",
           "vs floor", "target", "met");
}

/* The C cases and every target, each written once. */
static void print_cases(const options *o, const results *r, tally *n)
{
    const sizes *sz = &o->sz;
    const figures *c = &r->c, *py = &r->py;
    char apply[64], map1[64], map[64], bytes[64], cpu[64], imap[64];
    snprintf(imap, sizeof imap, "imap_unordered %ld, chunks %d", sz->imap_items,
             IMAP_CHUNK);
    snprintf(apply, sizeof apply, "apply_async + callback, %ld", sz->tasks);
    snprintf(map1, sizeof map1, "map chunksize 1, %ld", sz->tasks);
    snprintf(map, sizeof map, "map %ld items, default chunks", sz->items);
    snprintf(bytes, sizeof bytes, "round trip of %.3g MiB bytes", (double)sz->bytes / (1 << 20));
    char big[64];
    snprintf(big, sizeof big, "%.3g MiB round trip, fresh process",
             (double)sz->big_bytes / (1 << 20));
    double big_limit = 2.0 * (double)sz->big_bytes / (1 << 20); /* twice the payload */
    double alone = c->cost[K_ALONE].parent_flt + c->cost[K_ALONE].worker_flt;
    snprintf(cpu, sizeof cpu, "CPU-bound %ldx%.3g s, speedup", sz->cpu_tasks, c->cpu.task_s);
    double forks_ms = (double)sz->workers * r->fl.fork / 1e3; /* one fork per worker */
    double task_floor = 2 * r->fl.msg1;                       /* a request and a reply */
    const char *same = "  the same against the floor";
    /* The MPI rows: their floor column is the pipe pool's figure. */
    char over_mpi[64];
    if (r->mpi_ran == 1)
        snprintf(over_mpi, sizeof over_mpi, "  the same over MPI, np %ld", sz->workers + 1);
    else
        snprintf(over_mpi, sizeof over_mpi, "  MPI: %s",
                 r->mpi_ran == 0 && o->use_mpi ? "not built (make mpi)"
                 : r->mpi_ran < 0 ? "failed (see below)" : "skipped");
    const mpi_figures *m = &r->mpi;
    const double *sp = c->sp;
    const row rows[] = {
        {"1", "start + stop (create..destroy)", "ms", c->start_ms, py->start_ms, LOWER,
         forks_ms, AT_LEAST(ON_GAIN, 5, "x Python"), &sp[S_START]},
        {"2", apply, "us/task", c->apply_us, py->apply_us, LOWER, BLANK,
         AT_LEAST(ON_GAIN, 10, "x Python"), &sp[S_APPLY]},
        {"", same, "", c->apply_us, BLANK, FLOOR_ONLY, task_floor,
         AT_MOST(ON_VS_FLOOR, 4, "x floor"), NULL},
        {"2m", over_mpi, "us/task", m->apply_us, py->apply_us, LOWER, c->apply_us, NO_TARGET, NULL},
        {"2t", "  the same, traced (floor: untraced)", "us/task", c->apply.traced_us, BLANK,
         LOWER, c->apply_us, AT_MOST(ON_VS_FLOOR, 2, "x untraced"), &sp[S_TRACED]},
        {"3", map1, "us/task", c->map1_us, py->map1_us, LOWER, BLANK,
         AT_LEAST(ON_GAIN, 10, "x Python"), &sp[S_MAP1]},
        {"", same, "", c->map1_us, BLANK, FLOOR_ONLY, task_floor,
         AT_MOST(ON_VS_FLOOR, 4, "x floor"), NULL},
        {"4", map, "items/s", c->map_big_ips, py->map_big_ips, HIGHER, BLANK,
         AT_LEAST(ON_GAIN, 10, "x Python"), &sp[S_MAP]},
        {"4f", "  faults per run, parent + workers", "faults", c->flt_warm[0], BLANK, LOWER,
         BLANK, AT_MOST(ON_C, 2750, ""), &c->flt_warm[1]},
        {"", "  the same alone: first run, fresh", "faults", alone, BLANK, LOWER, BLANK,
         AT_MOST(ON_C, 11000, ""), NULL},
        {"4t", "  the same on threads / ThreadPool", "items/s", c->map_threads_ips,
         py->map_threads_ips, HIGHER, BLANK, NO_TARGET, &sp[S_THREADS]},
        {"4m", over_mpi, "items/s", m->map_big_ips, py->map_big_ips, HIGHER, c->map_big_ips,
         NO_TARGET, NULL},
        {"5", bytes, "MB/s", c->bytes_mbs, py->bytes_mbs, HIGHER, BLANK,
         AT_LEAST(ON_GAIN, 5, "x Python"), &sp[S_SHM]},
        {"", same, "", c->bytes_mbs, BLANK, FLOOR_ONLY, r->fl.bulk1,
         AT_LEAST(ON_VS_FLOOR, 1, "x floor"), NULL},
        {"5c", "  the same by copy (POOL_SHM_NEVER)", "MB/s", c->bytes_copy_mbs, py->bytes_mbs,
         HIGHER, r->fl.bulk1, NO_TARGET, &sp[S_COPY]},
        {"6", cpu, "x", c->cpu.speedup, py->cpu.speedup, HIGHER, (double)sz->workers,
         AT_LEAST(ON_C, 1.8, "x serial"), &sp[S_CPU]},
        {"7", "peak RSS of case 4, largest process", "MiB", rss_peak(c), rss_peak(py), LOWER,
         BLANK, AT_MOST(ON_C, 64, " MiB"), NULL},
        {"", "  parent", "MiB", c->rss.parent_mib, py->rss.parent_mib, LOWER, BLANK,
         NO_TARGET_COLUMN, NULL},
        {"", "  largest child (after join)", "MiB", c->rss.worker_mib, py->rss.worker_mib, LOWER,
         BLANK, NO_TARGET_COLUMN, NULL},
        {"8", imap, "items/s", c->imap.ips, py->imap.ips, HIGHER, BLANK, NO_TARGET, NULL},
        {"", "  parent's peak RSS", "MiB", c->imap.parent_mib, py->imap.parent_mib, LOWER,
         BLANK, AT_MOST(ON_C, 64, " MiB"), NULL},
        {"9", big, "MB/s", c->big.mbs, BLANK, HIGHER, r->fl.bulk1, NO_TARGET, NULL},
        {"", "  parent's peak RSS", "MiB", c->big.parent_mib, BLANK, LOWER, BLANK,
         AT_MOST(ON_C, big_limit, " MiB"), NULL},
        {"", "  largest child (after join)", "MiB", c->big.worker_mib, BLANK, LOWER, BLANK,
         NO_TARGET_COLUMN, NULL},
    };
    print_rows(rows, sizeof rows / sizeof rows[0], n);
}

static void print_floor(const options *o, const results *r, tally *n)
{
    const floor_fig *f = &r->fl;
    char msg[64], echo[64];
    snprintf(msg, sizeof msg, "pipelined %d B message, one CPU", MSG_SIZE);
    snprintf(echo, sizeof echo, "pipe echo of %.3g MiB, one CPU", (double)o->sz.bytes / (1 << 20));
    const char *two = "  the same, two CPUs";
    const row rows[] = {
        {"F1", "pipe round trip, 1 byte, one CPU", "us", f->rt1, BLANK, LOWER, BLANK,
         NO_TARGET_COLUMN, &f->sp[0]},
        {"", two, "us", f->rt2, BLANK, LOWER, BLANK, NO_TARGET_COLUMN, &f->sp[1]},
        {"F2", msg, "us/msg", f->msg1, BLANK, LOWER, BLANK, NO_TARGET_COLUMN, &f->sp[2]},
        {"", two, "us/msg", f->msg2, BLANK, LOWER, BLANK, NO_TARGET_COLUMN, &f->sp[3]},
        {"F3", "fork + exit + wait", "us", f->fork, BLANK, LOWER, BLANK, NO_TARGET_COLUMN,
         &f->sp[4]},
        {"F4", echo, "MB/s", f->bulk1, BLANK, HIGHER, BLANK, NO_TARGET_COLUMN, &f->sp[5]},
        {"", two, "MB/s", f->bulk2, BLANK, HIGHER, BLANK, NO_TARGET_COLUMN, &f->sp[6]},
    };
    print_rows(rows, sizeof rows / sizeof rows[0], n);
}

/* What a run of each case cost, measured around each run (outside its
 * timing): the medians over the runs. */
#define COST_FMT "%-3s%-37s%-8s%10s%10s%10s%10s"

/* A cost: as num(), but a small one per item keeps its digits (4.1e-04). */
static const char *cost_num(char *buf, double v)
{
    if (v != 0 && fabs(v) < 0.01) {
        snprintf(buf, 24, "%.1e", v);
        return buf;
    }
    return num(buf, v);
}

static void print_cost_block(const options *o, const results *r)
{
    const cost *k = r->c.cost;
    static const struct {
        const char *id, *name, *per;
        int k, part;
    } rows[] = {
        {"1", "start + stop", "run", K_START, P_START},
        {"2", "apply_async + callback", "task", K_APPLY, P_APPLY},
        {"3", "map chunksize 1", "task", K_MAP1, P_MAP1},
        {"4", "map, default chunks", "item", K_MAP, P_MAP},
        {"4t", "  the same on threads", "item", K_THREADS, P_MAP},
        {"5", "round trip of bytes, shared memory", "trip", K_SHM, P_BYTES},
        {"5c", "  the same by copy", "trip", K_COPY, P_BYTES},
        {"6", "CPU-bound", "task", K_CPU, P_CPU},
        {"7", "case 4 alone: first run, fresh", "item", K_ALONE, P_RSS},
        {"8", "imap_unordered", "item", K_IMAP, P_IMAP},
        {"9", "big round trip, fresh process", "trip", K_BIG, P_BIG},
    };
    printf("\nwhat a run cost, measured around each run (median): minor page faults of the "
           "parent (all its threads)\nand of the workers (/proc; 1: the fork server's too); "
           "the pool's own system calls (pool_get_stats)\n");
    printf(COST_FMT "\n", "#", "case", "per", "faults", "workers", "syscalls", "writes");
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (!o->part[rows[i].part])
            continue;
        const cost *c = &k[rows[i].k];
        char b1[24], b2[24], b3[24], b4[24];
        printf(COST_FMT "\n", rows[i].id, rows[i].name, rows[i].per, num(b1, c->parent_flt),
               num(b2, c->worker_flt), cost_num(b3, c->calls), cost_num(b4, c->writes));
    }
}

/* Case 4's nanoseconds per item, stage by stage (case_split). */
#define SPLIT_FMT "   %-60s%10s%7s"

static void split_line(const char *name, double ns, const double *spread)
{
    char b1[24], b2[24], line[256];
    int len = snprintf(line, sizeof line, SPLIT_FMT, name, num(b1, ns), pct(b2, spread));
    while (len > 0 && line[len - 1] == ' ')
        line[--len] = '\0';
    puts(line);
}

static void print_split(const options *o, const results *r)
{
    const split_fig *f = &r->c.split;
    static const char *const names[SPLIT_N] = {
        "encode: pool_encode() of items (parent), results (workers)",
        "pipe: those bytes there and back, 1 MiB pipes, one CPU",
        "decode: pool_decode() of items (workers), results (parent)",
        "task call: t_square() on each item",
        "result placement: into a new pool_list(), less a scratch",
    };
    printf("\ncase 4 split, ns per item: each stage alone in this process, on the same %ld "
           "items (median of %d)\n", o->sz.items, o->sz.reps);
    double sum = 0;
    for (int k = 0; k < SPLIT_N; k++) {
        split_line(names[k], f->ns[k], &f->sp[k]);
        sum += f->ns[k];
    }
    split_line("sum of the stages (CPU time of parent and workers)", sum, NULL);
    /* The map's spread is that of its items/s, the same runs. */
    split_line("the map (case 4): wall time per item", 1e9 / r->c.map_big_ips,
               o->part[P_MAP] ? &r->c.sp[S_MAP] : NULL);
    split_line("not a stage: pool_range() of the input, in case 4's time", f->range_ns, NULL);
}

static const char *m_host(const results *r)
{
    return r->mpi.host[0] ? r->mpi.host : "?";
}

static void print_notes(const options *o, const results *r, const tally *n)
{
    long workers = o->sz.workers;
    printf("\nfloor column: 1 = %ld x F3 (one fork per worker); 2, 3 = 2 x F2 one CPU "
           "(a request and a reply);\n5, 5c, 9 = F4 one CPU; 6 = %ld workers (the ideal speedup)\n",
           workers, workers);
    char b1[24], b2[24], b3[24], b4[24], b5[24], b6[24], b7[24];
    if (o->part[P_CPU])
        printf("case 6: C serial %s s, pool %s s; Python serial %s s, pool %s s\n",
               num(b1, r->c.cpu.serial_s), num(b2, r->c.cpu.pool_s), num(b3, r->py.cpu.serial_s),
               num(b4, r->py.cpu.pool_s));
    const char *threads = r->mpi.threads[0] ? r->mpi.threads
                                            : "per thread: too short for /proc's ticks";
    if (r->mpi_ran == 1)
        printf("2m, 4m: cases 2 and 4 on an MPI pool (bench/pool_bench_mpi.c, %ld worker ranks "
               "and rank 0 on %s);\nfloor column: the pipe pool's figure. A blocking apply's "
               "round trip: MPI %s us, pipes %s us;\nthe same after %ld ms idle: MPI %s us, "
               "pipes %s us;\nCPU time per task, case 2m: rank 0 %s us "
               "(%s), the worker ranks %s us;\ncase 2: the parent %s us\n", workers, m_host(r),
               num(b1, r->mpi.round_trip_us), num(b4, r->c.apply.round_trip_us), idle_ms,
               num(b5, r->mpi.idle_rt_us), num(b6, r->c.apply.idle_rt_us),
               num(b2, r->mpi.rank0_cpu_us), threads, num(b3, r->mpi.ranks_cpu_us),
               num(b7, r->c.apply.cpu_us));
    else if (o->use_mpi)
        printf("MPI rows: %s (%s under %s)\n", r->mpi_why, o->mpi_bench, o->mpirun);
    if (o->part[P_BIG])
        printf("case 9: while the value was made (two copies for a moment), before the peak "
               "was reset: %s MiB\n",
               num(b1, r->c.big.made_mib));
    printf("targets: %d met, %d not met%s\n", n->met, n->missed,
           n->skipped ? ", the Python ones skipped" : "");
}

static void print_table(const options *o, const results *r)
{
    tally n = {0, 0, 0};
    print_head(o, r);
    if (any_case(o))
        print_cases(o, r, &n);
    if (o->part[P_FLOOR])
        print_floor(o, r, &n);
    if (any_case(o))
        print_cost_block(o, r);
    if (o->part[P_SPLIT])
        print_split(o, r);
    if (any_case(o))
        print_notes(o, r, &n);
}

/* ---- Judge the run ----------------------------------------------------- */

/* Counts v if it is not a sane figure: finite and positive. */
static int insane(const char *what, double v)
{
    if (isfinite(v) && v > 0)
        return 0;
    fprintf(stderr, "pool_bench: %s is not a sane number (%g)\n", what, v);
    return 1;
}

/* Cases 1-9's figures, and the split's sum, by part: the ones judged. */
static void case_figures(const figures *f, double fig[P_N])
{
    double split = 0;
    for (int k = 0; k < SPLIT_N; k++)
        split += f->split.ns[k];
    const double v[P_N] = {NAN, f->start_ms, f->apply_us, f->map1_us, f->map_big_ips,
                           f->bytes_mbs, f->cpu.speedup, rss_peak(f),
                           f->imap.ips, f->big.mbs, split};
    memcpy(fig, v, sizeof v);
}

/* The exit status: 0 when every figure measured is sane, whatever the
 * targets say (the benchmark is never a timed test). */
static int judge(const options *o, const results *r)
{
    int bad = 0;
    if (o->part[P_FLOOR]) {
        bad += insane("F1", r->fl.rt1);
        bad += insane("F2", r->fl.msg1);
        bad += insane("F3", r->fl.fork);
        bad += insane("F4", r->fl.bulk1);
    }
    double c[P_N], py[P_N];
    case_figures(&r->c, c);
    case_figures(&r->py, py);
    char what[64];
    for (int k = P_START; k < P_N; k++) {
        snprintf(what, sizeof what, "C case %d", k);
        if (o->part[k])
            bad += insane(what, c[k]);
    }
    if (o->part[P_MAP])
        bad += insane("C case 4t", r->c.map_threads_ips);
    if (o->part[P_MAP] && r->have_py)
        bad += insane("Python case 4t", r->py.map_threads_ips);
    if (o->part[P_BYTES])
        bad += insane("C case 5c", r->c.bytes_copy_mbs);
    if (o->part[P_BIG]) {
        bad += insane("C case 9's parent peak RSS", r->c.big.parent_mib);
        bad += insane("C case 9's largest child's peak RSS", r->c.big.worker_mib);
    }
    /* Placement is a difference, and may be near 0 on few items: not judged. */
    for (int k = 0; k < SPLIT_PLACE && o->part[P_SPLIT]; k++) {
        snprintf(what, sizeof what, "case 4's split, stage %d", k + 1);
        bad += insane(what, r->c.split.ns[k]);
    }
    if (r->mpi_ran < 0) {
        fprintf(stderr, "pool_bench: the MPI rows %s\n", r->mpi_why);
        bad++;
    }
    if (r->mpi_ran > 0) {
        bad += insane("MPI case 2m", r->mpi.apply_us);
        bad += insane("MPI case 4m", r->mpi.map_big_ips);
    }
    for (int k = P_START; k <= P_IMAP && r->have_py; k++) { /* Python runs cases 1-8 */
        snprintf(what, sizeof what, "Python case %d", k);
        bad += insane(what, py[k]);
    }
    return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--rss-child") == 0)
        return rss_child(arg_long("--rss-child", argv[2]), arg_long("--rss-child", argv[3]));
    if (argc == 4 && strcmp(argv[1], "--imap-child") == 0)
        return imap_child(arg_long("--imap-child", argv[2]), arg_long("--imap-child", argv[3]));
    if (argc == 4 && strcmp(argv[1], "--big-child") == 0)
        return big_child(arg_long("--big-child", argv[2]), arg_long("--big-child", argv[3]));
    options o;
    parse_args(argc, argv, &o);
    select_parts(o.only, o.part, &o.use_mpi);
    results r;
    measure(&o, &r);
    print_table(&o, &r);
    return judge(&o, &r);
}
