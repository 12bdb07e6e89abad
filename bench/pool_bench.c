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

#include <errno.h>
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
} sizes;

static const sizes full_sizes = {
    .workers = 2, .reps = 5, .start_reps = 20, .cpu_reps = 3,
    .tasks = 20000, .items = 1000000, .bytes = 16L << 20,
    .cpu_tasks = 8, .cpu_secs = 0.25,
    .rt_iters = 20000, .msg_iters = 200000, .fork_iters = 200,
    .imap_items = 10000000,
};

/* For the smoke test: every case runs, in a few seconds. */
static const sizes quick_sizes = {
    .workers = 2, .reps = 2, .start_reps = 3, .cpu_reps = 1,
    .tasks = 500, .items = 20000, .bytes = 1L << 20,
    .cpu_tasks = 4, .cpu_secs = 0.01,
    .rt_iters = 500, .msg_iters = 5000, .fork_iters = 10,
    .imap_items = 20000,
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

static double floor_median(double (*fn)(long), long arg, int reps, int pcpu, int ccpu)
{
    double *v = xmalloc((size_t)reps * sizeof *v);
    pin_begin(pcpu, ccpu);
    for (int r = 0; r < reps; r++)
        v[r] = fn(arg);
    pin_end();
    double m = median(v, reps);
    free(v);
    return m;
}

static void measure_floor(const sizes *sz, floor_fig *f)
{
    int a = -1, b = -1;
    bool two = two_cpus(&a, &b);
    if (a < 0)
        a = -1; /* no affinity to read: leave both unpinned */
    f->rt1 = floor_median(floor_round_trip, sz->rt_iters, sz->reps, a, a);
    f->msg1 = floor_median(floor_pipelined, sz->msg_iters, sz->reps, a, a);
    f->bulk1 = floor_median(floor_bulk, sz->bytes, sz->reps, a, a);
    if (two) {
        f->rt2 = floor_median(floor_round_trip, sz->rt_iters, sz->reps, a, b);
        f->msg2 = floor_median(floor_pipelined, sz->msg_iters, sz->reps, a, b);
        f->bulk2 = floor_median(floor_bulk, sz->bytes, sz->reps, a, b);
    }
    f->fork = floor_median(floor_fork, sz->fork_iters, sz->reps, -1, -1);
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

static pool_t *new_traced_pool(const sizes *sz, const char *trace)
{
    pool_config cfg = {.processes = sz->workers, .trace = trace};
    pool_t *p = NULL;
    ok(pool_create(&p, &cfg), "pool_create");
    if (pool_processes(p) != sz->workers)
        die("pool_processes says %ld, wanted %ld", pool_processes(p), sz->workers);
    return p;
}

static pool_t *new_pool(const sizes *sz)
{
    return new_traced_pool(sz, NULL);
}

static void end_pool(pool_t *p)
{
    ok(pool_close(p), "pool_close");
    ok(pool_join(p), "pool_join");
    pool_destroy(p);
}

/* Case 1: create, close, join, destroy: milliseconds. */
static double case_start_stop(const sizes *sz)
{
    double *v = xmalloc((size_t)sz->start_reps * sizeof *v);
    for (int r = 0; r < sz->start_reps; r++) {
        double t0 = now();
        pool_t *p = new_pool(sz);
        end_pool(p);
        v[r] = (now() - t0) * 1e3;
    }
    double m = median(v, sz->start_reps);
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
 * machine moves both figures alike. */
static double case_apply(const sizes *sz, apply_more *more)
{
    char path[] = "/tmp/pool_bench_trace.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        die("mkstemp: %s", strerror(errno));
    close(fd); /* the pool opens it by name */
    pool_t *p = new_pool(sz), *q = new_traced_pool(sz, path);
    apply_batch(p, 200, op_timeout); /* warm up: workers running, memory touched */
    apply_batch(q, 200, op_timeout);
    double *v = xmalloc(3 * (size_t)sz->reps * sizeof *v), *vt = v + sz->reps;
    double *cpu = vt + sz->reps;
    for (int r = 0; r < sz->reps; r++) {
        double c0 = cpu_self();
        v[r] = apply_batch(p, sz->tasks, op_timeout) / (double)sz->tasks * 1e6;
        cpu[r] = (cpu_self() - c0) / (double)sz->tasks * 1e6;
        vt[r] = apply_batch(q, sz->tasks, op_timeout) / (double)sz->tasks * 1e6;
    }
    more->traced_us = median(vt, sz->reps);
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
    double m = median(v, sz->reps);
    free(v);
    return m;
}

/* Case 3: map with chunksize 1: microseconds per task. */
static double case_map1(const sizes *sz)
{
    pool_t *p = new_pool(sz);
    timed_square_map(p, 200, 1);
    double *v = xmalloc((size_t)sz->reps * sizeof *v);
    for (int r = 0; r < sz->reps; r++)
        v[r] = timed_square_map(p, sz->tasks, 1) / (double)sz->tasks * 1e6;
    end_pool(p);
    double m = median(v, sz->reps);
    free(v);
    return m;
}

/* Case 4: map over many items with the default chunksize: items per second. */
static double case_map_big(const sizes *sz)
{
    pool_t *p = new_pool(sz);
    timed_square_map(p, 1000, 0);
    double *v = xmalloc((size_t)sz->reps * sizeof *v);
    for (int r = 0; r < sz->reps; r++)
        v[r] = (double)sz->items / timed_square_map(p, sz->items, 0);
    end_pool(p);
    double m = median(v, sz->reps);
    free(v);
    return m;
}

/* Case 4t: case 4 on a pool of threads (config.threads): items per second. */
static double case_map_threads(const sizes *sz)
{
    pool_t *p = NULL;
    ok(pool_create(&p, &(pool_config){.processes = sz->workers, .threads = true}),
       "pool_create(threads)");
    timed_square_map(p, 1000, 0);
    double *v = xmalloc((size_t)sz->reps * sizeof *v);
    for (int r = 0; r < sz->reps; r++)
        v[r] = (double)sz->items / timed_square_map(p, sz->items, 0);
    end_pool(p);
    double m = median(v, sz->reps);
    free(v);
    return m;
}

/* Case 5: a bytes value to a worker that sends it back: MB/s, both ways. */
static double echo_once(pool_t *p, const unsigned char *data, long bytes)
{
    pool_value args = pool_tuple(1, pool_bytes(data, (size_t)bytes)); /* untimed */
    pool_value out = pool_none();
    double t0 = now();
    ok(pool_apply(p, t_echo, args, NULL, &out), "pool_apply(echo)");
    double t = now() - t0;
    if (out.type != POOL_BYTES || out.len != (uint32_t)bytes ||
        memcmp(out.as.bytes, data, (size_t)bytes) != 0)
        die("echo: the result is not the %ld bytes sent", bytes);
    pool_value_free(&out);
    return t;
}

static double case_bytes(const sizes *sz)
{
    unsigned char *data = xmalloc((size_t)sz->bytes);
    for (long i = 0; i < sz->bytes; i++)
        data[i] = (unsigned char)(i * 131 + (i >> 12));
    pool_t *p = new_pool(sz);
    echo_once(p, data, sz->bytes);
    double *v = xmalloc((size_t)sz->reps * sizeof *v);
    for (int r = 0; r < sz->reps; r++)
        v[r] = 2.0 * (double)sz->bytes / echo_once(p, data, sz->bytes) / 1e6;
    end_pool(p);
    double m = median(v, sz->reps);
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

static cpu_result case_cpu(const sizes *sz)
{
    long long n = calibrate_burn(sz->cpu_secs);
    pool_t *p = new_pool(sz);
    pool_opts opts = {.chunksize = 1};
    double *sp = xmalloc((size_t)sz->cpu_reps * sizeof *sp);
    double *ser = xmalloc((size_t)sz->cpu_reps * sizeof *ser);
    double *par = xmalloc((size_t)sz->cpu_reps * sizeof *par);
    unsigned long long want = burn(n) >> 1;
    for (int r = 0; r < sz->cpu_reps; r++) {
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
        t0 = now();
        ok(pool_map(p, t_burn, items, &opts, &out), "pool_map(burn)");
        par[r] = now() - t0;
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
    cpu_result res = {
        .speedup = median(sp, sz->cpu_reps),
        .serial_s = median(ser, sz->cpu_reps),
        .pool_s = median(par, sz->cpu_reps),
    };
    res.task_s = res.serial_s / (double)sz->cpu_tasks;
    free(sp);
    free(ser);
    free(par);
    return res;
}

/* Case 7: peak RSS of case 4, in a fresh process (this program run again
 * with --rss-child), so nothing measured before pollutes it. The child
 * reports its own peak and, after the join, the largest of its children's
 * (the fork server and the workers, reaped under it). */
static int rss_child(long items, long workers)
{
    sizes sz = full_sizes;
    sz.items = items;
    sz.workers = workers;
    pool_t *p = new_pool(&sz);
    timed_square_map(p, items, 0);
    end_pool(p);
    struct rusage self, kids;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &kids);
    printf("%ld %ld\n", self.ru_maxrss, kids.ru_maxrss);
    return 0;
}

typedef struct rss_result {
    double parent_mib, worker_mib;
} rss_result;

static rss_result case_rss(const sizes *sz)
{
    int out[2];
    xpipe(out);
    char items[32], workers[32];
    snprintf(items, sizeof items, "%ld", sz->items);
    snprintf(workers, sizeof workers, "%ld", sz->workers);
    pid_t pid = xfork();
    if (pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        execl("/proc/self/exe", "pool_bench", "--rss-child", items, workers, (char *)NULL);
        fprintf(stderr, "pool_bench: exec /proc/self/exe: %s\n", strerror(errno));
        _exit(127);
    }
    close(out[1]);
    char *buf = read_to_eof(out[0]);
    close(out[0]);
    reap(pid);
    long self_kib = 0, kids_kib = 0;
    if (sscanf(buf, "%ld %ld", &self_kib, &kids_kib) != 2)
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
    pool_iter_destroy(it);
    end_pool(p);
    for (long i = 0; i < items; i++)
        want += (long long)i * i;
    if (got != items || sum != want)
        die("imap_unordered: %ld results, sum %lld; wanted %ld, %lld", got, sum, items, want);
    /* VmHWM, not ru_maxrss: the latter keeps the peak of the process this
     * one was exec'd from (the benchmark itself), and VmHWM starts anew. */
    long hwm = -1;
    char line[256];
    FILE *f = fopen("/proc/self/status", "re");
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &hwm) == 1)
            break;
    if (f)
        fclose(f);
    if (hwm < 0)
        die("imap child: no VmHWM in /proc/self/status");
    printf("%.1f %ld\n", (double)items / t, hwm);
    return 0;
}

typedef struct imap_result {
    double ips, parent_mib;
} imap_result;

static imap_result case_imap(const sizes *sz)
{
    int out[2];
    xpipe(out);
    char items[32], workers[32];
    snprintf(items, sizeof items, "%ld", sz->imap_items);
    snprintf(workers, sizeof workers, "%ld", sz->workers);
    pid_t pid = xfork();
    if (pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        execl("/proc/self/exe", "pool_bench", "--imap-child", items, workers, (char *)NULL);
        fprintf(stderr, "pool_bench: exec /proc/self/exe: %s\n", strerror(errno));
        _exit(127);
    }
    close(out[1]);
    char *buf = read_to_eof(out[0]);
    close(out[0]);
    reap(pid);
    double ips = 0;
    long self_kib = 0;
    if (sscanf(buf, "%lf %ld", &ips, &self_kib) != 2)
        die("imap child: unexpected output \"%s\"", buf);
    free(buf);
    return (imap_result){ips, self_kib / 1024.0};
}

/* ---- Python ------------------------------------------------------------ */

typedef struct figures {
    double start_ms, apply_us, map1_us, map_big_ips, bytes_mbs;
    apply_more apply;       /* case 2t, and more of case 2 for the MPI note */
    cpu_result cpu;
    rss_result rss;
    imap_result imap;       /* case 8 */
    double map_threads_ips; /* case 4t: case 4 on threads; Python's on ThreadPool */
} figures;

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

#define ROW_FMT "%-3s%-37s%-8s%10s%10s%8s%9s%9s  %-14s%s"

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
    char b1[24], b2[24], b3[24], b4[24], b5[24], line[256];
    int len = snprintf(line, sizeof line, ROW_FMT, r->id, r->name, r->unit,
                       num(b1, r->better == FLOOR_ONLY ? BLANK : r->c), num(b2, r->py),
                       times(b3, gain), num(b4, r->floor), times(b5, vs_floor), text, met);
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
enum { P_FLOOR, P_START, P_APPLY, P_MAP1, P_MAP, P_BYTES, P_CPU, P_RSS, P_IMAP, P_N };
static const char *const part_names[P_N] = {"floor", "start", "apply", "map1",
                                            "map",   "bytes", "cpu",   "rss",
                                            "imap"};

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
          "                 case), start, apply, map1, map, bytes, cpu, rss, imap, mpi\n"
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
    static const figures none = {NAN, NAN, NAN, NAN, NAN, {NAN, NAN, NAN, NAN},
                                 {NAN, NAN, NAN, NAN}, {NAN, NAN}, {NAN, NAN}, NAN};
    *r = (results){.fl = {NAN, NAN, NAN, NAN, NAN, NAN, NAN}, .c = none, .py = none,
                   .why = "--no-python", .mpi = {NAN, NAN, NAN, NAN, NAN, NAN, "?", "?"},
                   .mpi_why = "skipped (--no-mpi)"};
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

    if (o->part[P_START])
        r->c.start_ms = case_start_stop(sz);
    if (o->part[P_APPLY])
        r->c.apply_us = case_apply(sz, &r->c.apply);
    if (o->part[P_MAP1])
        r->c.map1_us = case_map1(sz);
    if (o->part[P_MAP])
        r->c.map_big_ips = case_map_big(sz);
    if (o->part[P_MAP])
        r->c.map_threads_ips = case_map_threads(sz);
    if (o->part[P_BYTES])
        r->c.bytes_mbs = case_bytes(sz);
    if (o->part[P_CPU])
        r->c.cpu = case_cpu(sz);
    if (o->part[P_RSS])
        r->c.rss = case_rss(sz);
    if (o->part[P_IMAP])
        r->c.imap = case_imap(sz);

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
    printf("pool benchmark: %ld workers; median of %d runs (start/stop %d, CPU-bound %d)%s\n",
           sz->workers, sz->reps, sz->start_reps, sz->cpu_reps, o->quick ? "; QUICK sizes" : "");
    if (r->have_py)
        printf("C pool vs Python %s multiprocessing.Pool (fork start method), same run\n",
               r->version);
    else if (any_case(o))
        printf("Python comparison skipped: %s\n", o->only ? "--only" : r->why);
    printf("load average (1 min) %.2f before, %.2f after, on %ld online CPUs; every "
           "figure is from this run\n", r->load_before, loadavg(), sysconf(_SC_NPROCESSORS_ONLN));
    printf("\"C gain\": how many times better C is than Python; \"vs floor\": C / floor\n\n");
    printf(ROW_FMT "\n", "#", "case", "unit", "C", "Python", "C gain", "floor", "vs floor",
           "target", "met");
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
    const row rows[] = {
        {"1", "start + stop (create..destroy)", "ms", c->start_ms, py->start_ms, LOWER,
         forks_ms, AT_LEAST(ON_GAIN, 5, "x Python")},
        {"2", apply, "us/task", c->apply_us, py->apply_us, LOWER, BLANK,
         AT_LEAST(ON_GAIN, 10, "x Python")},
        {"", same, "", c->apply_us, BLANK, FLOOR_ONLY, task_floor,
         AT_MOST(ON_VS_FLOOR, 4, "x floor")},
        {"2m", over_mpi, "us/task", m->apply_us, py->apply_us, LOWER, c->apply_us, NO_TARGET},
        {"2t", "  the same, traced (floor: untraced)", "us/task", c->apply.traced_us, BLANK,
         LOWER, c->apply_us, AT_MOST(ON_VS_FLOOR, 2, "x untraced")},
        {"3", map1, "us/task", c->map1_us, py->map1_us, LOWER, BLANK,
         AT_LEAST(ON_GAIN, 10, "x Python")},
        {"", same, "", c->map1_us, BLANK, FLOOR_ONLY, task_floor,
         AT_MOST(ON_VS_FLOOR, 4, "x floor")},
        {"4", map, "items/s", c->map_big_ips, py->map_big_ips, HIGHER, BLANK,
         AT_LEAST(ON_GAIN, 5, "x Python")},
        {"4t", "  the same on threads / ThreadPool", "items/s", c->map_threads_ips,
         py->map_threads_ips, HIGHER, BLANK, NO_TARGET},
        {"4m", over_mpi, "items/s", m->map_big_ips, py->map_big_ips, HIGHER, c->map_big_ips,
         NO_TARGET},
        {"5", bytes, "MB/s", c->bytes_mbs, py->bytes_mbs, HIGHER, r->fl.bulk1, NO_TARGET},
        {"6", cpu, "x", c->cpu.speedup, py->cpu.speedup, HIGHER, (double)sz->workers,
         AT_LEAST(ON_C, 1.8, "x serial")},
        {"7", "peak RSS of case 4, largest process", "MiB", rss_peak(c), rss_peak(py), LOWER,
         BLANK, AT_MOST(ON_C, 64, " MiB")},
        {"", "  parent", "MiB", c->rss.parent_mib, py->rss.parent_mib, LOWER, BLANK,
         NO_TARGET_COLUMN},
        {"", "  largest child (after join)", "MiB", c->rss.worker_mib, py->rss.worker_mib, LOWER,
         BLANK, NO_TARGET_COLUMN},
        {"8", imap, "items/s", c->imap.ips, py->imap.ips, HIGHER, BLANK, NO_TARGET},
        {"", "  parent's peak RSS", "MiB", c->imap.parent_mib, py->imap.parent_mib, LOWER,
         BLANK, AT_MOST(ON_C, 64, " MiB")},
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
         NO_TARGET_COLUMN},
        {"", two, "us", f->rt2, BLANK, LOWER, BLANK, NO_TARGET_COLUMN},
        {"F2", msg, "us/msg", f->msg1, BLANK, LOWER, BLANK, NO_TARGET_COLUMN},
        {"", two, "us/msg", f->msg2, BLANK, LOWER, BLANK, NO_TARGET_COLUMN},
        {"F3", "fork + exit + wait", "us", f->fork, BLANK, LOWER, BLANK, NO_TARGET_COLUMN},
        {"F4", echo, "MB/s", f->bulk1, BLANK, HIGHER, BLANK, NO_TARGET_COLUMN},
        {"", two, "MB/s", f->bulk2, BLANK, HIGHER, BLANK, NO_TARGET_COLUMN},
    };
    print_rows(rows, sizeof rows / sizeof rows[0], n);
}

static const char *m_host(const results *r)
{
    return r->mpi.host[0] ? r->mpi.host : "?";
}

static void print_notes(const options *o, const results *r, const tally *n)
{
    long workers = o->sz.workers;
    printf("\nfloor column: 1 = %ld x F3 (one fork per worker); 2, 3 = 2 x F2 one CPU "
           "(a request and a reply);\n5 = F4 one CPU; 6 = %ld workers (the ideal speedup)\n",
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

/* Cases 1-7's figures, by part: the ones judged. */
static void case_figures(const figures *f, double fig[P_N])
{
    const double v[P_N] = {NAN, f->start_ms, f->apply_us, f->map1_us, f->map_big_ips,
                           f->bytes_mbs, f->cpu.speedup, rss_peak(f),
                           f->imap.ips};
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
    char what[32];
    for (int k = P_START; k < P_N; k++) {
        snprintf(what, sizeof what, "C case %d", k);
        if (o->part[k])
            bad += insane(what, c[k]);
    }
    if (o->part[P_MAP])
        bad += insane("C case 4t", r->c.map_threads_ips);
    if (o->part[P_MAP] && r->have_py)
        bad += insane("Python case 4t", r->py.map_threads_ips);
    if (r->mpi_ran < 0) {
        fprintf(stderr, "pool_bench: the MPI rows %s\n", r->mpi_why);
        bad++;
    }
    if (r->mpi_ran > 0) {
        bad += insane("MPI case 2m", r->mpi.apply_us);
        bad += insane("MPI case 4m", r->mpi.map_big_ips);
    }
    for (int k = P_START; k < P_N && r->have_py; k++) {
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
    options o;
    parse_args(argc, argv, &o);
    select_parts(o.only, o.part, &o.use_mpi);
    results r;
    measure(&o, &r);
    print_table(&o, &r);
    return judge(&o, &r);
}
