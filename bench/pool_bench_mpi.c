/* pool_bench_mpi.c - the benchmark's MPI rows: case 2 (apply_async with a
 * callback, microseconds per task) and case 4 (map over many items, items
 * per second) of bench/pool_bench.c, on a pool whose workers are MPI ranks.
 * Built by the MPI build (MPI=1) and run as a job of 1 + workers ranks:
 *     scripts/mpirun.sh build/mpi/bench/pool_bench_mpi [--tasks N] [--items N] [--reps N]
 * pool_bench runs it so, and reads the one line of JSON it prints: the
 * medians, a blocking apply's round trip, and where the CPU time of case 2
 * went (rank 0, each of its threads, and the worker ranks). Every result is
 * checked. Built without MPI (make build/bench/pool_bench_mpi) and run
 * alone, it measures the same on a pipe pool, for comparison. */
#include "bench_common.h"
#include "pool.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* ---- Helpers ----------------------------------------------------------- */

/* One thread of this process and its CPU seconds so far. */
typedef struct thread_cpu {
    long tid;
    char name[24];
    double secs;
} thread_cpu;

enum { MAX_THREADS = 64 };
enum { IDLE_TRIPS = 20 };
static long idle_ms = 20; /* as pool_bench.c's pipe pool; --idle-ms changes it */

/* CPU seconds of thread tid (utime + stime in /proc, in clock ticks), NAN
 * if unreadable. */
static double cpu_of(long tid)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/self/task/%ld/stat", tid);
    FILE *f = fopen(path, "re");
    if (!f)
        return NAN; /* a thread that just ended */
    char *got = fgets(line, sizeof line, f);
    fclose(f);
    char *p = got ? strrchr(line, ')') : NULL; /* the name may hold spaces */
    unsigned long ut, st;
    /* After the name: the state and fields 4-13, then utime and stime. */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return NAN;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Every thread of this process, named as the pool and MPI name them: how
 * many were found (at most MAX_THREADS). */
static int threads_now(thread_cpu *t)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return 0;
    int n = 0;
    for (struct dirent *e; n < MAX_THREADS && (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char path[300];
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "re");
        if (!f)
            continue; /* a thread that just ended */
        t[n] = (thread_cpu){.tid = atol(e->d_name)};
        if (!fgets(t[n].name, sizeof t[n].name, f))
            snprintf(t[n].name, sizeof t[n].name, "?");
        fclose(f);
        t[n].name[strcspn(t[n].name, "\n")] = '\0';
        t[n].secs = cpu_of(t[n].tid);
        n++;
    }
    closedir(d);
    return n;
}

/* Adds each thread's CPU seconds since *before to *sum (matched by tid). */
static void threads_add(const thread_cpu *before, int nb, thread_cpu *sum, int *ns)
{
    thread_cpu after[MAX_THREADS];
    int na = threads_now(after);
    for (int i = 0; i < na; i++)
        for (int j = 0; j < nb; j++) {
            if (after[i].tid != before[j].tid || isnan(after[i].secs) || isnan(before[j].secs))
                continue;
            int k = 0;
            while (k < *ns && sum[k].tid != after[i].tid)
                k++;
            if (k == *ns) {
                if (*ns == MAX_THREADS)
                    break;
                sum[(*ns)++] = (thread_cpu){.tid = after[i].tid};
                memcpy(sum[k].name, after[i].name, sizeof sum[k].name);
            }
            sum[k].secs += after[i].secs - before[j].secs;
        }
}

static long arg_long(const char *opt, const char *v)
{
    char *end;
    errno = 0;
    long n = v ? strtol(v, &end, 10) : 0;
    if (!v || errno || *end || n <= 0)
        die("%s wants a positive integer", opt);
    return n;
}

/* ---- Tasks ------------------------------------------------------------- */

/* A worker rank's pid and CPU seconds so far; it sleeps first, so that of
 * two such tasks mapped with chunksize 1 each worker takes one. */
static pool_value t_cpu(const pool_value *a, size_t n)
{
    (void)a;
    (void)n;
    struct timespec nap = {0, 100 * 1000 * 1000}, cpu;
    nanosleep(&nap, NULL); /* EINTR only shortens it: then one worker may take both */
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu) != 0)
        return pool_error("clock_gettime: %s", strerror(errno));
    return pool_tuple(2, pool_int(getpid()),
                      pool_float((double)cpu.tv_sec + (double)cpu.tv_nsec * 1e-9));
}

/* ---- The cases --------------------------------------------------------- */

/* The worker ranks' CPU seconds, summed; NAN unless each of the workers
 * answered (a worker that took two tasks leaves another unheard), or, with
 * pids, unless they are the workers pids lists (the first look's, in
 * *seen). */
static double cpu_workers(pool_t *p, long workers, const long *pids, long *seen)
{
    pool_value out = pool_none();
    pool_opts opts = {.chunksize = 1};
    ok(pool_map(p, t_cpu, pool_range((size_t)workers), &opts, &out), "pool_map(cpu)");
    double sum = 0;
    long distinct = 0;
    for (uint32_t i = 0; i < out.len; i++) {
        const pool_value *t = &out.as.items[i];
        if (t->type != POOL_LIST || t->len != 2)
            die("cpu: a result is not (pid, seconds)");
        long pid = (long)t->as.items[0].as.i;
        bool dup = false;
        for (uint32_t j = 0; j < i; j++)
            dup |= out.as.items[j].as.items[0].as.i == pid;
        if (dup)
            continue;
        bool known = false;
        for (long k = 0; pids && k < workers; k++)
            known |= pids[k] == pid;
        if (pids && !known)
            sum = NAN; /* a new worker: its CPU time began after the first look */
        if (seen && distinct < workers)
            seen[distinct] = pid;
        distinct++;
        sum += t->as.items[1].as.f;
    }
    pool_value_free(&out);
    return distinct == workers ? sum : NAN;
}

int main(int argc, char **argv)
{
    long tasks = 20000, items = 1000000, reps = 5, workers = 2, rt_n = 0;
    for (int i = 1; i < argc; i += 2) {
        if (strcmp(argv[i], "--tasks") == 0)
            tasks = arg_long(argv[i], argv[i + 1]);
        else if (strcmp(argv[i], "--items") == 0)
            items = arg_long(argv[i], argv[i + 1]);
        else if (strcmp(argv[i], "--reps") == 0)
            reps = arg_long(argv[i], argv[i + 1]);
        else if (strcmp(argv[i], "--workers") == 0)
            workers = arg_long(argv[i], argv[i + 1]);
        else if (strcmp(argv[i], "--round-trips") == 0) /* to profile case 2 alone */
            rt_n = arg_long(argv[i], argv[i + 1]);
        else if (strcmp(argv[i], "--idle-ms") == 0)
            idle_ms = arg_long(argv[i], argv[i + 1]);
        else
            die("usage: pool_bench_mpi [--tasks N] [--items N] [--reps N] [--workers N] "
                "[--round-trips N] [--idle-ms N]");
    }
    pool_t *p = NULL;
    ok(pool_create(&p, &(pool_config){.processes = workers}), "pool_create");
    if (pool_processes(p) != workers)
        die("pool_processes says %ld, wanted %ld", pool_processes(p), workers);

    apply_batch(p, 200, 0); /* warm up: ranks started, memory touched */
    double *v = calloc((size_t)reps * 3, sizeof *v);
    if (!v)
        die("out of memory");
    double *rank0 = v + reps, *ranks = v + 2 * reps;
    thread_cpu before[MAX_THREADS], sum[MAX_THREADS];
    int nsum = 0;
    long pids[64] = {0};
    if (workers > 64)
        die("--workers: at most 64");
    for (long r = 0; r < reps; r++) {
        /* Where case 2's time goes: CPU seconds of rank 0 and of the
         * worker ranks across the batch, per task. */
        double w0 = cpu_workers(p, workers, r ? pids : NULL, r ? NULL : pids);
        int nb = threads_now(before);
        double c0 = cpu_self();
        v[r] = apply_batch(p, tasks, 0) / (double)tasks * 1e6;
        double c1 = cpu_self();
        threads_add(before, nb, sum, &nsum);
        double w1 = cpu_workers(p, workers, pids, NULL);
        rank0[r] = (c1 - c0) / (double)tasks * 1e6;
        ranks[r] = (w1 - w0) / (double)tasks * 1e6; /* NAN if a worker went unheard */
    }
    double apply_us = median(v, (int)reps);
    double rank0_us = median(rank0, (int)reps);
    double ranks_us = median(ranks, (int)reps);
    /* Rank 0's threads, each one's mean CPU per task of case 2; /proc
     * counts in clock ticks, so only big batches resolve it: none is
     * listed unless one tick is at most 0.5 us a task. */
    char per_thread[1024] = "";
    size_t len = 0;
    double tick_us = 1e6 / (double)sysconf(_SC_CLK_TCK) / (double)(reps * tasks);
    for (int k = 0; k < nsum && len < sizeof per_thread && tick_us <= 0.5; k++)
        if (sum[k].secs > 0)
            len += (size_t)snprintf(per_thread + len, sizeof per_thread - len, "%s%s %.3g",
                                    len ? ", " : "", sum[k].name,
                                    sum[k].secs / (double)(reps * tasks) * 1e6);

    if (!rt_n)
        rt_n = tasks / 10 > 100 ? tasks / 10 : 100;
    round_trips(p, rt_n < 100 ? rt_n : 100); /* warm up */
    for (long r = 0; r < reps; r++)
        v[r] = round_trips(p, rt_n);
    double rt_us = median(v, (int)reps);
    double idle_us = idle_round_trip(p, IDLE_TRIPS, (int)idle_ms);

    timed_square_map(p, 1000, 0);
    for (long r = 0; r < reps; r++)
        v[r] = (double)items / timed_square_map(p, items, 0);
    double map_ips = median(v, (int)reps);
    free(v);

    ok(pool_close(p), "pool_close");
    ok(pool_join(p), "pool_join");
    pool_destroy(p);

    char host[64] = "?";
    gethostname(host, sizeof host); /* "?" is left if it fails */
    host[sizeof host - 1] = '\0';
    printf("{\"workers\": %ld, \"reps\": %ld, \"tasks\": %ld, \"items\": %ld, "
           "\"host\": \"%s\", \"apply_async_us_per_task\": %.6g, "
           "\"rank0_cpu_us_per_task\": %.6g, \"rank0_threads_cpu_us_per_task\": \"%s\", "
           "\"workers_cpu_us_per_task\": %.6g, "
           "\"apply_round_trip_us\": %.6g, \"apply_after_idle_us\": %.6g, "
           "\"map_items_per_s\": %.6g}\n",
           workers, reps, tasks, items, host, apply_us, rank0_us, per_thread, ranks_us, rt_us,
           idle_us, map_ips);
    if (fflush(stdout) != 0)
        die("stdout: %s", strerror(errno));
    return 0;
}
