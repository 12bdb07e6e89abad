/* test_big_lists.c - what makes a big map cheap must not make it wrong:
 * the item arrays of big lists are kept for the next big list, yet a new
 * list is all NONE; a map's results are decoded into the slots its items
 * left, yet every result lands at its index, a failed map frees what it
 * held, and the caller's list is its own; and the pool counts the system
 * calls its workers make, not only its own. */
#include "check.h"
#include "pool.h"

#include <time.h>

#define BIG 200000 /* items: 3 MiB of values, above the kept size */

static pool_value square(const pool_value *a, size_t n)
{
    if (n != 1 || a[0].type != POOL_INT)
        return pool_error("square: wants one int");
    return pool_int(a[0].as.i * a[0].as.i);
}

/* "s<i>" for item i, so a result at the wrong index shows. */
static pool_value name_of(const pool_value *a, size_t n)
{
    if (n != 1 || a[0].type != POOL_INT)
        return pool_error("name_of: wants one int");
    char s[32];
    snprintf(s, sizeof s, "s%lld", a[0].as.i);
    return pool_str(s);
}

/* Fails on one item, so the map fails with slots of both kinds left. */
static pool_value fail_at_7777(const pool_value *a, size_t n)
{
    if (n == 1 && a[0].type == POOL_INT && a[0].as.i == 7777)
        return pool_error("item 7777 fails");
    return name_of(a, n);
}

static pool_value echo(const pool_value *a, size_t n)
{
    return n == 1 ? pool_value_copy(&a[0]) : pool_error("echo: wants one value");
}

/* A list freed full of numbers is kept; the next one must still be NONE. */
static void test_new_list_is_none(void)
{
    for (int round = 0; round < 3; round++) {
        pool_value full = pool_range(BIG);
        pool_value_free(&full);
        pool_value fresh = pool_list(BIG);
        size_t bad = 0;
        for (size_t i = 0; i < BIG; i++)
            bad += fresh.as.items[i].type != POOL_NONE || fresh.as.items[i].as.i != 0;
        CHECK(bad == 0, "round %d: %zu items of a new list are not NONE", round, bad);
        pool_value_free(&fresh);
    }
    pool_value r = pool_range(BIG);
    size_t bad = 0;
    for (size_t i = 0; i < BIG; i++)
        bad += r.as.items[i].type != POOL_INT || r.as.items[i].as.i != (long long)i;
    CHECK(bad == 0, "pool_range: %zu items wrong after reuse", bad);
    pool_value_free(&r);
}

static void test_map_in_place(pool_t *pool)
{
    for (int round = 0; round < 3; round++) {
        pool_value out = pool_none();
        CHECK_OK(pool_map(pool, square, pool_range(BIG), NULL, &out));
        size_t bad = out.type == POOL_LIST && out.len == BIG ? 0 : BIG;
        for (size_t i = 0; !bad && i < BIG; i++)
            bad += out.as.items[i].type != POOL_INT ||
                   out.as.items[i].as.i != (long long)i * (long long)i;
        CHECK(bad == 0, "round %d: %zu squares wrong", round, bad);
        pool_value_free(&out);
    }
    /* Strings: each slot's result is a new allocation, its item a number. */
    pool_value out = pool_none();
    pool_opts small = {.chunksize = 1000};
    CHECK_OK(pool_map(pool, name_of, pool_range(BIG), &small, &out));
    size_t bad = out.type == POOL_LIST && out.len == BIG ? 0 : BIG;
    char want[32];
    for (size_t i = 0; !bad && i < BIG; i++) {
        snprintf(want, sizeof want, "s%zu", i);
        bad += out.as.items[i].type != POOL_STR || strcmp(out.as.items[i].as.s, want) != 0;
    }
    CHECK(bad == 0, "%zu names wrong", bad);
    pool_value_free(&out);

    /* Strings in, strings out: every item freed once, every result kept. */
    pool_value items = pool_list(BIG / 10);
    for (size_t i = 0; i < items.len; i++) {
        snprintf(want, sizeof want, "item %zu", i);
        items.as.items[i] = pool_str(want);
    }
    CHECK_OK(pool_map(pool, echo, items, &small, &out));
    bad = out.type == POOL_LIST && out.len == BIG / 10 ? 0 : BIG;
    for (size_t i = 0; !bad && i < BIG / 10; i++) {
        snprintf(want, sizeof want, "item %zu", i);
        bad += out.as.items[i].type != POOL_STR || strcmp(out.as.items[i].as.s, want) != 0;
    }
    CHECK(bad == 0, "%zu echoed strings wrong", bad);
    pool_value_free(&out);
}

/* A failed map holds results, items never sent and empty slots at once;
 * freeing it must free each exactly once (Valgrind and ASan watch). */
static void test_failed_map(pool_t *pool)
{
    pool_value out = pool_none();
    pool_opts o = {.chunksize = 100};
    int rc = pool_map(pool, fail_at_7777, pool_range(BIG), &o, &out);
    CHECK(rc == POOL_ETASK, "a failing map returned %d (%s)", rc, pool_strerror(rc));
    CHECK(out.type == POOL_ERROR && strstr(out.as.s, "task 7777"),
          "the error names task 7777: %s", out.type == POOL_ERROR ? out.as.s : "(not an error)");
    pool_value_free(&out);
    /* The async form: the handle holds the failed job until released. */
    pool_result *h = NULL;
    CHECK_OK(pool_map_async(pool, fail_at_7777, pool_range(BIG), &o, &h));
    const pool_value *v = NULL;
    CHECK(pool_result_get(h, 60, &v) == POOL_ETASK, "async: the failing map did not fail");
    pool_result_release(h);
}

/* The pool's counts once the worker is idle: it counts a read before it
 * blocks in it, so the read it waits in is counted once the counts stop
 * moving. */
static void settled_stats(pool_t *pool, pool_stats *s)
{
    pool_stats again;
    CHECK_OK(pool_get_stats(pool, s));
    for (int i = 0; i < 100; i++) { /* 50 ms without a change, under valgrind too */
        nanosleep(&(struct timespec){.tv_nsec = 50 * 1000 * 1000}, NULL);
        CHECK_OK(pool_get_stats(pool, &again));
        if (again.worker_syscalls == s->worker_syscalls)
            return;
        *s = again;
    }
    CHECK(false, "the worker's counts never stopped moving");
}

/* Through the pipes, a 4 MiB value needs several writes to the task pipe,
 * which is nonblocking and holds at most 1 MiB, and at least one for the
 * reply; then each small apply costs its worker a read and a write. */
static void test_counts(void)
{
    pool_t *pool = NULL;
    CHECK_OK(pool_create(&pool, &(pool_config){.processes = 1, .shm_min = POOL_SHM_NEVER}));
    if (!pool)
        return;
    size_t n = (size_t)4 << 20;
    unsigned char *raw = calloc(1, n);
    pool_stats a, b;
    CHECK_OK(pool_get_stats(pool, &a));
    pool_value out = pool_none();
    CHECK_OK(pool_apply(pool, echo, pool_tuple(1, pool_bytes(raw, n)), NULL, &out));
    CHECK_OK(pool_get_stats(pool, &b));
    CHECK(out.type == POOL_BYTES && out.len == n && memcmp(out.as.bytes, raw, n) == 0,
          "the 4 MiB value came back changed");
    unsigned long long writes = b.writes - a.writes, bytes = b.pipe_bytes - a.pipe_bytes;
    unsigned long long parent = writes - (b.worker_writes - a.worker_writes);
    CHECK(parent >= 5, "%llu write() calls of the parent's for 4 MiB; at least 5", parent);
    CHECK(b.worker_writes - a.worker_writes >= 1, "the worker's reply was not counted");
    CHECK(b.syscalls - a.syscalls > writes, "%llu system calls, not more than the writes",
          b.syscalls - a.syscalls);
    CHECK(bytes >= 2 * n, "%llu bytes through the pipes, not 2 x 4 MiB", bytes);
    CHECK(b.shm_values == a.shm_values, "a value crossed in shared memory with POOL_SHM_NEVER");
    settled_stats(pool, &b); /* with the read that brings the first apply */
    for (int i = 0; i < 20; i++) {
        pool_value_free(&out);
        CHECK_OK(pool_apply(pool, square, pool_tuple(1, pool_int(i)), NULL, &out));
    }
    /* At once: a write is counted before it is made, so the last reply's
     * write is counted by the time its result is seen. */
    CHECK_OK(pool_get_stats(pool, &a));
    CHECK(b.worker_writes + 20 <= a.worker_writes,
          "20 applies: the worker's writes went from %llu to %llu as the last result came back; "
          "wanted a write each", b.worker_writes, a.worker_writes);
    settled_stats(pool, &a); /* with the read after the last */
    CHECK(b.worker_writes + 20 <= a.worker_writes && b.worker_syscalls + 40 <= a.worker_syscalls,
          "20 applies: the worker's writes went from %llu to %llu, its calls from %llu to %llu; "
          "wanted a read and a write each at least", b.worker_writes, a.worker_writes,
          b.worker_syscalls, a.worker_syscalls);
    CHECK(a.writes >= a.worker_writes && a.syscalls >= a.worker_syscalls,
          "the totals hold the workers' share");
    CHECK(pool_get_stats(NULL, &b) == POOL_EINVAL && pool_get_stats(pool, NULL) == POOL_EINVAL,
          "pool_get_stats takes NULL");
    pool_value_free(&out);
    free(raw);
    CHECK_OK(pool_close(pool));
    CHECK_OK(pool_join(pool));
    pool_destroy(pool);
}

int main(void)
{
    test_new_list_is_none();
    pool_t *pool = NULL;
    CHECK_OK(pool_create(&pool, &(pool_config){.processes = 2}));
    if (pool) {
        test_map_in_place(pool);
        test_failed_map(pool);
        CHECK_OK(pool_close(pool));
        CHECK_OK(pool_join(pool));
        pool_destroy(pool);
    }
    test_counts();
    return check_done("test_big_lists");
}
