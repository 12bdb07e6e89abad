/* pool_bench.c - the pool against Python's multiprocessing.Pool and against
 * the pipe floor, side by side, in one run and one table.
 *
 * The program measures, in this order:
 *   1. the floor: what pipes and fork cost on this machine, with no pool;
 *   2. the C pool: seven cases, each with its own pool of 2 workers;
 *   3. Python: it runs bench/pool_bench.py under python3, which measures the
 *      same cases with multiprocessing.Pool (fork start method) and prints
 *      JSON, and it reads that JSON back.
 * It then prints one table: the C figure, the Python figure, the ratio, the
 * floor, and whether each target is met. A missing python3 prints the C
 * column and says the comparison was skipped.
 *
 * The exit status is 0 when every case ran and gave sane numbers (finite,
 * positive, correct results), whatever the targets say; the benchmark is
 * never a timed test. Run with --help for the options.
 */
#include "pool.h"

#include <errno.h>
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
} sizes;

static const sizes full_sizes = {
    .workers = 2, .reps = 5, .start_reps = 20, .cpu_reps = 3,
    .tasks = 20000, .items = 1000000, .bytes = 16L << 20,
    .cpu_tasks = 8, .cpu_secs = 0.25,
    .rt_iters = 20000, .msg_iters = 200000, .fork_iters = 200,
};

/* For the smoke test: every case runs, in a few seconds. */
static const sizes quick_sizes = {
    .workers = 2, .reps = 2, .start_reps = 3, .cpu_reps = 1,
    .tasks = 500, .items = 20000, .bytes = 1L << 20,
    .cpu_tasks = 4, .cpu_secs = 0.01,
    .rt_iters = 500, .msg_iters = 5000, .fork_iters = 10,
};

enum { MSG_SIZE = 32 }; /* bytes of one pipelined floor message */

static double op_timeout = 300; /* seconds any single wait may take */

/* ---- Helpers ----------------------------------------------------------- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs("pool_bench: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static void ok(int rc, const char *what)
{
    if (rc != POOL_OK)
        die("%s: %s", what, pool_strerror(rc));
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *v, int n)
{
    double *s = malloc((size_t)n * sizeof *s);
    if (!s)
        die("out of memory");
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    double m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    free(s);
    return m;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die("out of memory (%zu bytes)", n);
    return p;
}

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

static void reap(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            die("waitpid: %s", strerror(errno));
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

static pool_value t_square(const pool_value *a, size_t n)
{
    if (n != 1 || a[0].type != POOL_INT)
        return pool_error("square: wants one int");
    return pool_int(a[0].as.i * a[0].as.i);
}

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

static pool_t *new_pool(const sizes *sz)
{
    pool_config cfg = {.processes = sz->workers};
    pool_t *p = NULL;
    ok(pool_create(&p, &cfg), "pool_create");
    if (pool_processes(p) != sz->workers)
        die("pool_processes says %ld, wanted %ld", pool_processes(p), sz->workers);
    return p;
}

static void end_pool(pool_t *p)
{
    ok(pool_close(p), "pool_close");
    ok(pool_join(p), "pool_join");
    pool_destroy(p);
}

/* A blocking map whose result is checked: item i must come back as i * i. */
static double timed_square_map(pool_t *p, long n, long chunksize)
{
    pool_opts opts = {.chunksize = chunksize};
    pool_value out = pool_none();
    double t0 = now();
    ok(pool_map(p, t_square, pool_range((size_t)n), &opts, &out), "pool_map");
    double t = now() - t0;
    if (out.type != POOL_LIST || out.len != (uint32_t)n)
        die("pool_map: wanted a list of %ld items", n);
    for (long i = 0; i < n; i++)
        if (out.as.items[i].type != POOL_INT || out.as.items[i].as.i != (long long)i * i)
            die("pool_map: item %ld is wrong", i);
    pool_value_free(&out);
    return t;
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

/* Case 2: apply_async with a callback, handles released at once (the pool
 * frees them when ready); the callbacks count down to the last one. */
typedef struct countdown {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    long left, errors;
    long long sum;
} countdown;

static pool_value cb_count(const pool_value *v, void *ud)
{
    countdown *c = ud;
    pthread_mutex_lock(&c->mu);
    c->sum += v->type == POOL_INT ? v->as.i : 0;
    if (--c->left == 0)
        pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return pool_none();
}

static pool_value cb_error(const pool_value *v, void *ud)
{
    countdown *c = ud;
    pthread_mutex_lock(&c->mu);
    if (c->errors++ == 0)
        fprintf(stderr, "pool_bench: task failed: %s\n",
                v->type == POOL_ERROR ? v->as.s : "(no message)");
    if (--c->left == 0)
        pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return pool_none();
}

static double apply_batch(pool_t *p, long n)
{
    countdown c = {.left = n};
    pthread_mutex_init(&c.mu, NULL);
    pthread_cond_init(&c.cv, NULL);
    pool_opts opts = {.callback = cb_count, .error_callback = cb_error, .user_data = &c};

    double t0 = now();
    for (long i = 0; i < n; i++) {
        pool_result *h = NULL;
        ok(pool_apply_async(p, t_square, pool_tuple(1, pool_int(i)), &opts, &h),
           "pool_apply_async");
        pool_result_release(h);
    }
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += (time_t)op_timeout;
    pthread_mutex_lock(&c.mu);
    while (c.left > 0)
        if (pthread_cond_timedwait(&c.cv, &c.mu, &dl) == ETIMEDOUT)
            die("apply_async: %ld of %ld callbacks missing after %.0f s", c.left, n,
                op_timeout);
    pthread_mutex_unlock(&c.mu);
    double t = now() - t0;

    long long want = 0;
    for (long i = 0; i < n; i++)
        want += (long long)i * i;
    if (c.errors)
        die("apply_async: %ld tasks failed", c.errors);
    if (c.sum != want)
        die("apply_async: the callbacks saw a sum of %lld, wanted %lld", c.sum, want);
    pthread_cond_destroy(&c.cv);
    pthread_mutex_destroy(&c.mu);
    return t;
}

/* Microseconds per task. */
static double case_apply(const sizes *sz)
{
    pool_t *p = new_pool(sz);
    apply_batch(p, 200); /* warm up: workers running, memory touched */
    double *v = xmalloc((size_t)sz->reps * sizeof *v);
    for (int r = 0; r < sz->reps; r++)
        v[r] = apply_batch(p, sz->tasks) / (double)sz->tasks * 1e6;
    end_pool(p);
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
    char buf[128] = "";
    size_t len = 0;
    ssize_t n;
    while (len < sizeof buf - 1 && (n = read(out[0], buf + len, sizeof buf - 1 - len)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("read: %s", strerror(errno));
        len += (size_t)n;
    }
    close(out[0]);
    reap(pid);
    long self_kib = 0, kids_kib = 0;
    if (sscanf(buf, "%ld %ld", &self_kib, &kids_kib) != 2)
        die("rss child: unexpected output \"%s\"", buf);
    return (rss_result){self_kib / 1024.0, kids_kib / 1024.0};
}

/* ---- Python ------------------------------------------------------------ */

typedef struct figures {
    double start_ms, apply_us, map1_us, map_big_ips, bytes_mbs;
    cpu_result cpu;
    rss_result rss;
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
    char a[12][32];
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
        "--cpu-tasks", a[7], "--cpu-secs", a[8], NULL,
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

    size_t cap = 4096, len = 0;
    char *json = xmalloc(cap);
    ssize_t n;
    for (;;) {
        if (len + 1 >= cap)
            json = realloc(json, cap *= 2);
        if (!json)
            die("out of memory");
        n = read(out[0], json + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    json[len] = '\0';
    close(out[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
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
    py->bytes_mbs = json_num(json, "bytes_round_trip_mb_per_s");
    py->cpu.speedup = json_num(json, "cpu_speedup");
    py->cpu.serial_s = json_num(json, "cpu_serial_s");
    py->cpu.pool_s = json_num(json, "cpu_pool_s");
    py->cpu.task_s = json_num(json, "cpu_task_s");
    py->rss.parent_mib = json_num(json, "rss_parent_mib");
    py->rss.worker_mib = json_num(json, "rss_worker_mib");
    json_str(json, "python_version", version, vsize);
    free(json);
    return true;
}

/* ---- The table --------------------------------------------------------- */

static int insane; /* numbers that are not finite and positive */

static void sane(const char *what, double v)
{
    if (!(isfinite(v) && v > 0)) {
        fprintf(stderr, "pool_bench: %s is not a sane number (%g)\n", what, v);
        insane++;
    }
}

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

static int met_count, missed_count, skipped_count;

static const char *verdict(double value, double limit, bool at_least)
{
    if (isnan(value)) {
        skipped_count++;
        return "skipped";
    }
    if (at_least ? value >= limit : value <= limit) {
        met_count++;
        return "yes";
    }
    missed_count++;
    return "NO";
}

#define ROW_FMT "%-3s%-37s%-8s%10s%10s%8s%9s%9s  %-14s%s"

/* gain: how many times better C is than Python (>1: C is better). */
static void row(const char *id, const char *name, const char *unit, double c,
                double py, double gain, double floorv, double vs_floor,
                const char *target, const char *met)
{
    char b1[24], b2[24], b3[24], b4[24], b5[24], line[256];
    int n = snprintf(line, sizeof line, ROW_FMT, id, name, unit, num(b1, c), num(b2, py),
                     times(b3, gain), num(b4, floorv), times(b5, vs_floor), target, met);
    if (n > (int)sizeof line - 1)
        n = (int)sizeof line - 1;
    while (n > 0 && line[n - 1] == ' ')
        line[--n] = '\0';
    puts(line);
}

static void row_head(void)
{
    printf(ROW_FMT "\n", "#", "case", "unit", "C", "Python", "C gain", "floor", "vs floor",
           "target", "met");
}

/* The 1-minute load average, to show how busy the machine was. */
static double loadavg(void)
{
    double l = NAN;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1)
            l = NAN;
        fclose(f);
    }
    return l;
}

static void usage(FILE *f)
{
    fputs("usage: pool_bench [--quick] [--script PATH] [--python PROG] [--no-python]\n"
          "                  [--reps N] [--tasks N] [--items N] [--bytes N]\n"
          "                  [--cpu-secs S] [--timeout S] [--only LIST]\n"
          "  --quick        tiny sizes, for the smoke test (no thresholds anywhere)\n"
          "  --script PATH  the Python side (default bench/pool_bench.py)\n"
          "  --python PROG  the interpreter (default python3)\n"
          "  --no-python    print the C column only\n"
          "  --only LIST    only these, comma-separated, no Python: floor, c (every C\n"
          "                 case), start, apply, map1, map, bytes, cpu, rss\n"
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

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--rss-child") == 0)
        return rss_child(arg_long("--rss-child", argv[2]), arg_long("--rss-child", argv[3]));

    sizes sz = full_sizes;
    const char *script = "bench/pool_bench.py", *python = "python3", *only = NULL;
    bool use_python = true, quick = false;
    double timeout = 900;
    long reps = 0, tasks = 0, items = 0, bytes = 0;
    double cpu_secs = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--quick") == 0) {
            quick = true;
        } else if (strcmp(a, "--no-python") == 0) {
            use_python = false;
        } else if (!v) {
            usage(stderr);
            return 2;
        } else if (strcmp(a, "--script") == 0) {
            script = v, i++;
        } else if (strcmp(a, "--python") == 0) {
            python = v, i++;
        } else if (strcmp(a, "--only") == 0) {
            only = v, i++;
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
        } else if (strcmp(a, "--timeout") == 0) {
            timeout = (double)arg_long(a, v), i++;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (quick)
        sz = quick_sizes;
    if (reps)
        sz.reps = (int)reps;
    if (tasks)
        sz.tasks = tasks;
    if (items)
        sz.items = items;
    if (bytes)
        sz.bytes = bytes;
    if (cpu_secs > 0)
        sz.cpu_secs = cpu_secs;
    if (only)
        use_python = false;
    op_timeout = timeout;
    /* The whole run has a deadline; the default action of SIGALRM ends it,
     * and the pool's workers die with their parent. Python gets its own. */
    alarm((unsigned)timeout * (use_python ? 2 : 1) + 10);

    /* Which parts run: all of them, or those --only names (for profiling
     * one case with perf or strace). */
    static const char *const part_names[] = {"floor", "start", "apply", "map1",
                                             "map", "bytes", "cpu", "rss"};
    enum { P_FLOOR, P_START, P_APPLY, P_MAP1, P_MAP, P_BYTES, P_CPU, P_RSS, P_N };
    bool part[P_N];
    for (int k = 0; k < P_N; k++)
        part[k] = !only;
    if (only) {
        char *list = strdup(only);
        for (char *save = NULL, *t = strtok_r(list, ",", &save); t;
             t = strtok_r(NULL, ",", &save)) {
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
    }
    double load_before = loadavg();
    bool do_floor = part[P_FLOOR];
    bool do_c = false;
    for (int k = 1; k < P_N; k++)
        do_c = do_c || part[k];
    double nan_ = NAN;

    /* The floor first, while this process is small (fork copies its page
     * tables), and with no pool running beside it. */
    /* Each pipe figure twice: both processes on one CPU (the lower bound,
     * and the reference for the targets), and on two CPUs (every wakeup
     * crosses CPUs, as between the pool's parent and a busy worker). */
    floor_fig fl = {nan_, nan_, nan_, nan_, nan_, nan_, nan_};
    if (do_floor)
        measure_floor(&sz, &fl);

    figures c = {nan_, nan_, nan_, nan_, nan_, {nan_, nan_, nan_, nan_}, {nan_, nan_}};
    if (do_c) {
        if (part[P_START])
            c.start_ms = case_start_stop(&sz);
        if (part[P_APPLY])
            c.apply_us = case_apply(&sz);
        if (part[P_MAP1])
            c.map1_us = case_map1(&sz);
        if (part[P_MAP])
            c.map_big_ips = case_map_big(&sz);
        if (part[P_BYTES])
            c.bytes_mbs = case_bytes(&sz);
        if (part[P_CPU])
            c.cpu = case_cpu(&sz);
        if (part[P_RSS])
            c.rss = case_rss(&sz);
    }

    figures py = {nan_, nan_, nan_, nan_, nan_, {nan_, nan_, nan_, nan_}, {nan_, nan_}};
    char version[64] = "", why[256] = "--no-python";
    bool have_py = use_python && run_python(python, script, &sz, timeout, &py, version,
                                            sizeof version, why, sizeof why);

    /* ---- Print ---- */
    printf("pool benchmark: %ld workers; median of %d runs (start/stop %d, CPU-bound %d)%s\n",
           sz.workers, sz.reps, sz.start_reps, sz.cpu_reps, quick ? "; QUICK sizes" : "");
    if (have_py)
        printf("C pool vs Python %s multiprocessing.Pool (fork start method), same run\n",
               version);
    else if (do_c)
        printf("Python comparison skipped: %s\n", only ? "--only" : why);
    printf("load average (1 min) %.2f before, %.2f after, on %ld online CPUs; every "
           "figure is from this run\n", load_before, loadavg(), sysconf(_SC_NPROCESSORS_ONLN));
    printf("\"C gain\": how many times better C is than Python; \"vs floor\": C / floor\n\n");
    row_head();

    double rss_c = fmax(c.rss.parent_mib, c.rss.worker_mib);
    double rss_py = fmax(py.rss.parent_mib, py.rss.worker_mib);
    double task_floor = 2 * fl.msg1; /* a request and a reply */
    char label[64];
    if (do_c) {
        row("1", "start + stop (create..destroy)", "ms", c.start_ms, py.start_ms,
            py.start_ms / c.start_ms, (double)sz.workers * fl.fork / 1e3,
            c.start_ms / ((double)sz.workers * fl.fork / 1e3), ">=5x Python",
            verdict(py.start_ms / c.start_ms, 5, true));
        snprintf(label, sizeof label, "apply_async + callback, %ld", sz.tasks);
        row("2", label, "us/task", c.apply_us, py.apply_us, py.apply_us / c.apply_us,
            BLANK, BLANK, ">=10x Python", verdict(py.apply_us / c.apply_us, 10, true));
        row("", "  the same against the floor", "", BLANK, BLANK, BLANK, task_floor,
            c.apply_us / task_floor, "<=4x floor", verdict(c.apply_us / task_floor, 4, false));
        snprintf(label, sizeof label, "map chunksize 1, %ld", sz.tasks);
        row("3", label, "us/task", c.map1_us, py.map1_us, py.map1_us / c.map1_us,
            BLANK, BLANK, ">=10x Python", verdict(py.map1_us / c.map1_us, 10, true));
        row("", "  the same against the floor", "", BLANK, BLANK, BLANK, task_floor,
            c.map1_us / task_floor, "<=4x floor", verdict(c.map1_us / task_floor, 4, false));
        snprintf(label, sizeof label, "map %ld items, default chunks", sz.items);
        row("4", label, "items/s", c.map_big_ips, py.map_big_ips,
            c.map_big_ips / py.map_big_ips, BLANK, BLANK, ">=5x Python",
            verdict(c.map_big_ips / py.map_big_ips, 5, true));
        snprintf(label, sizeof label, "round trip of %.3g MiB bytes", (double)sz.bytes / (1 << 20));
        row("5", label, "MB/s", c.bytes_mbs, py.bytes_mbs, c.bytes_mbs / py.bytes_mbs,
            fl.bulk1, c.bytes_mbs / fl.bulk1, "(none)", "-");
        snprintf(label, sizeof label, "CPU-bound %ldx%.3g s, speedup", sz.cpu_tasks,
                 c.cpu.task_s);
        row("6", label, "x", c.cpu.speedup, py.cpu.speedup, c.cpu.speedup / py.cpu.speedup,
            (double)sz.workers, c.cpu.speedup / (double)sz.workers, ">=1.8x serial",
            verdict(c.cpu.speedup, 1.8, true));
        row("7", "peak RSS of case 4, largest process", "MiB", rss_c, rss_py, rss_py / rss_c,
            BLANK, BLANK, "<=64 MiB", verdict(rss_c, 64, false));
        row("", "  parent", "MiB", c.rss.parent_mib, py.rss.parent_mib,
            py.rss.parent_mib / c.rss.parent_mib, BLANK, BLANK, "", "");
        row("", "  largest child (after join)", "MiB", c.rss.worker_mib, py.rss.worker_mib,
            py.rss.worker_mib / c.rss.worker_mib, BLANK, BLANK, "", "");
    }
    if (do_floor) {
        row("F1", "pipe round trip, 1 byte, one CPU", "us", fl.rt1, BLANK, BLANK, BLANK,
            BLANK, "", "");
        row("", "  the same, two CPUs", "us", fl.rt2, BLANK, BLANK, BLANK, BLANK, "", "");
        snprintf(label, sizeof label, "pipelined %d B message, one CPU", MSG_SIZE);
        row("F2", label, "us/msg", fl.msg1, BLANK, BLANK, BLANK, BLANK, "", "");
        row("", "  the same, two CPUs", "us/msg", fl.msg2, BLANK, BLANK, BLANK, BLANK, "", "");
        row("F3", "fork + exit + wait", "us", fl.fork, BLANK, BLANK, BLANK, BLANK, "", "");
        snprintf(label, sizeof label, "pipe echo of %.3g MiB, one CPU", (double)sz.bytes / (1 << 20));
        row("F4", label, "MB/s", fl.bulk1, BLANK, BLANK, BLANK, BLANK, "", "");
        row("", "  the same, two CPUs", "MB/s", fl.bulk2, BLANK, BLANK, BLANK, BLANK, "", "");
    }
    if (do_c) {
        printf("\nfloor column: 1 = %ld x F3 (one fork per worker); 2, 3 = 2 x F2 one CPU "
               "(a request and a reply);\n5 = F4 one CPU; 6 = %ld workers (the ideal speedup)\n",
               sz.workers, sz.workers);
        char b1[24], b2[24];
        char b3[24], b4[24];
        if (part[P_CPU])
            printf("case 6: C serial %s s, pool %s s; Python serial %s s, pool %s s\n",
                   num(b3, c.cpu.serial_s), num(b4, c.cpu.pool_s), num(b1, py.cpu.serial_s),
                   num(b2, py.cpu.pool_s));
        printf("targets: %d met, %d not met%s\n", met_count, missed_count,
               skipped_count ? ", the Python ones skipped" : "");
    }

    /* Sanity: every figure measured must be finite and positive. */
    if (do_floor) {
        sane("F1", fl.rt1);
        sane("F2", fl.msg1);
        sane("F3", fl.fork);
        sane("F4", fl.bulk1);
    }
    const double cfig[] = {0, c.start_ms, c.apply_us, c.map1_us, c.map_big_ips,
                           c.bytes_mbs, c.cpu.speedup, rss_c};
    for (int k = 1; k < P_N; k++) {
        char what[32];
        snprintf(what, sizeof what, "C case %d", k);
        if (part[k])
            sane(what, cfig[k]);
    }
    if (have_py) {
        sane("Python case 1", py.start_ms);
        sane("Python case 2", py.apply_us);
        sane("Python case 3", py.map1_us);
        sane("Python case 4", py.map_big_ips);
        sane("Python case 5", py.bytes_mbs);
        sane("Python case 6", py.cpu.speedup);
        sane("Python case 7", rss_py);
    }
    return insane ? 1 : 0;
}
