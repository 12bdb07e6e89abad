/* bench_common.h - what both benchmark programs share: bench/pool_bench.c
 * (the pool against Python and the pipe floor) and bench/pool_bench_mpi.c
 * (the same cases on an MPI pool), so that the two time a case alike. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include "pool.h"

#include <stddef.h>

/* Prints "PROGRAM: message" on stderr and exits with status 1. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Dies unless rc is POOL_OK, naming what failed. */
void ok(int rc, const char *what);
/* Seconds on the monotonic clock: every duration the benchmarks measure. */
double now(void);
/* The median of n values; v is left as it was. */
double median(const double *v, int n);
void *xmalloc(size_t n);
/* CPU seconds of this process, every thread. */
double cpu_self(void);

/* The task of cases 2 and 4: one int, squared. */
pool_value t_square(const pool_value *a, size_t n);
/* Case 2: n apply_async calls of t_square, each with a callback, handles
 * released at once (the pool frees them when ready); seconds until the last
 * callback ran, every result checked. A timeout above 0 ends the program
 * if the callbacks take longer. */
double apply_batch(pool_t *p, long n, double timeout);
/* Case 4: a blocking map of t_square over range(n): seconds, every item
 * checked (chunksize 0: the pool's default). */
double timed_square_map(pool_t *p, long n, long chunksize);
/* Blocking applies, one at a time: microseconds per round trip. */
double round_trips(pool_t *p, long n);
/* Blocking applies, each after idle milliseconds of nothing: the median
 * round trip in microseconds, which shows what waking an idle pool costs. */
double idle_round_trip(pool_t *p, int n, int idle);

#endif
