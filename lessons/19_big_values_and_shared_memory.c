/* 19_big_values_and_shared_memory.c - a big result crosses in shared
 * memory, not through the pipe.
 *
 * A task builds 64 MiB of bytes (and a random tail). Main gets that result
 * twice, from two pools that differ in one setting: the first sends every
 * value by copy through its pipes (shm_min = POOL_SHM_NEVER), the second
 * is a default one, which sends a value this big in a sealed memfd. For
 * each, main prints how long the result took, and what the pool counted
 * (pool_get_stats): its system calls and write() calls, and the worker's
 * share of each, the bytes through its pipes, and the values in shared
 * memory. Then main compares the two results byte for byte.
 * Run it with `make run-19`. Compare with lesson 01: one task, one result.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lesson.h"

#define MIB ((size_t)1 << 20)

/* [task] The same bytes for the same length, every time: an xorshift
 * sequence from a fixed seed, so that a byte out of place anywhere shows. */
static pool_value task(const pool_value *args, size_t nargs)
{
    size_t n = (size_t)args[0].as.i;
    unsigned char *data = malloc(n);
    uint64_t x = 0x9e3779b97f4a7c15u;
    pool_value value;

    (void)nargs;
    if (!data)
        return pool_error("no memory for %zu bytes", n);
    for (size_t i = 0; i < n; i += sizeof x) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(data + i, &x, n - i < sizeof x ? n - i : sizeof x);
    }
    value = pool_bytes(data, n);
    free(data);
    return value;
}

/* Seconds since `since`. clock_gettime() fails only on a bad clock id. */
static double seconds_since(const struct timespec *since)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - since->tv_sec) + (now.tv_nsec - since->tv_nsec) / 1e9;
}

/* [one-way] Gets the task's n bytes from a pool with this shm_min, and
 * prints what they cost. The result is main's: it outlives the pool. */
static pool_value one_way(const char *way, size_t shm_min, size_t n)
{
    pool_config config = {.processes = 1, .shm_min = shm_min};
    pool_stats before, after;
    struct timespec start;
    pool_value value;
    pool_t *pool;
    double took;

    LESSON_TRY(pool_create(&pool, &config));

    /* [measure] The pool's own counts, read just before and just after. */
    LESSON_TRY(pool_get_stats(pool, &before));
    clock_gettime(CLOCK_MONOTONIC, &start);
    LESSON_TRY(pool_apply(pool, task, pool_tuple(1, pool_int((long long)n)), NULL, &value));
    took = seconds_since(&start);
    LESSON_TRY(pool_get_stats(pool, &after));

    lesson_say("%s: %u bytes back in %.3f s", way, value.len, took);
    lesson_say("%s: syscalls %llu (worker %llu), writes %llu (worker %llu), pipe_bytes %llu, "
               "shm_values %llu, shm_bytes %llu",
               way, after.syscalls - before.syscalls,
               after.worker_syscalls - before.worker_syscalls, after.writes - before.writes,
               after.worker_writes - before.worker_writes, after.pipe_bytes - before.pipe_bytes,
               after.shm_values - before.shm_values, after.shm_bytes - before.shm_bytes);

    LESSON_TRY(pool_close(pool));
    LESSON_TRY(pool_join(pool));
    pool_destroy(pool);
    return value;
}

/* [same] Equal when both have the same length and the same bytes. */
static bool same_bytes(const pool_value *a, const pool_value *b)
{
    return a->len == b->len && memcmp(a->as.bytes, b->as.bytes, a->len) == 0;
}

int main(void)
{
    pool_value copied, shared;
    size_t n;

    /* [size] 64 MiB and a random tail, so that no count below can be
     * known before the run. */
    lesson_seed();
    n = 64 * MIB + (size_t)(lesson_random() * 4096);
    lesson_say("Main: the task builds %zu bytes (64 MiB and %zu).", n, n - 64 * MIB);

    /* [two-pools] The one difference: by copy, or in shared memory. */
    copied = one_way("By copy", POOL_SHM_NEVER, n);
    shared = one_way("In shared memory", 0, n);

    /* [compare] */
    lesson_say("Main: the two results are byte-identical: %s",
               same_bytes(&copied, &shared) ? "True" : "False");
    /* [own-copy] The shared result is main's private copy: main may change
     * it, and nobody else sees the change. */
    shared.as.bytes[shared.len - 1] ^= 1;
    lesson_say("Main: with one byte of it changed, still identical: %s",
               same_bytes(&copied, &shared) ? "True" : "False");

    pool_value_free(&copied);
    pool_value_free(&shared);
    return 0;
}
