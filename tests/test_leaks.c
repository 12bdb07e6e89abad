/* test_leaks.c - every failure's memory comes back: the parent holds as
 * many heap blocks after a pool's failed tasks, failed callbacks, dead
 * workers and terminated tasks are done and released as before them, so a
 * leak fails a plain run, not only the memcheck one.
 *
 * This program counts the blocks itself: it defines malloc and its kin,
 * which forward to the C library's own and count what is live. The C
 * library calls them too, for its own use, so one warm-up run goes first:
 * what it sets up once and keeps (a thread's TLS block, kept with the
 * thread's cached stack for the next thread) is then in place, and the
 * measured run must end, after pool_destroy, with exactly the count it
 * began with. Where a
 * sanitizer or Valgrind brings its own malloc, only the other checks run:
 * the leaks are then left to ASan's leak check at exit and to memcheck's.
 *
 * Expected on stderr: the pool's one-line reports of a failed callback and
 * of failures never retrieved. */
#include "check.h"
#include "pool.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>


#if defined(__GLIBC__) && !CHECK_SANITIZED

/* glibc's own allocator, under the names it exports for programs that
 * replace malloc and still want it. */
void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);
void *__libc_memalign(size_t alignment, size_t size);
void *__libc_valloc(size_t size);
void *__libc_pvalloc(size_t size);
void __libc_free(void *p);

static atomic_long live_blocks;

static void *counted(void *p)
{
    if (p)
        atomic_fetch_add_explicit(&live_blocks, 1, memory_order_relaxed);
    return p;
}

void *malloc(size_t size) { return counted(__libc_malloc(size)); }
void *calloc(size_t n, size_t size) { return counted(__libc_calloc(n, size)); }

void free(void *p)
{
    if (p)
        atomic_fetch_sub_explicit(&live_blocks, 1, memory_order_relaxed);
    __libc_free(p);
}

void *realloc(void *p, size_t size)
{
    void *q = __libc_realloc(p, size);
    if (!p)
        return counted(q);
    if (size == 0 && !q) /* glibc freed p */
        atomic_fetch_sub_explicit(&live_blocks, 1, memory_order_relaxed);
    return q;
}

/* The aligned forms too: left to glibc, they would hand out blocks that
 * free() above counts down but nothing counted up. */
void *memalign(size_t alignment, size_t size) { return counted(__libc_memalign(alignment, size)); }
void *aligned_alloc(size_t alignment, size_t size) { return memalign(alignment, size); }
void *valloc(size_t size) { return counted(__libc_valloc(size)); }
void *pvalloc(size_t size) { return counted(__libc_pvalloc(size)); }

int posix_memalign(void **out, size_t alignment, size_t size)
{
    if (alignment % sizeof(void *) != 0 || (alignment & (alignment - 1)) != 0)
        return EINVAL;
    void *p = memalign(alignment, size);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

static long live(void)
{
    return atomic_load(&live_blocks);
}

/* Whether the malloc above is the one called: Valgrind replaces even a
 * program's own. Through a volatile pointer, so the compiler cannot drop
 * the pair. */
static bool counting(void)
{
    void *(*volatile alloc)(size_t) = malloc;
    long before = live();
    void *p = alloc(1);
    bool counted = live() == before + 1;
    free(p);
    return counted;
}
#else
static long live(void)
{
    return 0;
}

static bool counting(void)
{
    return false;
}
#endif

#define ROUNDS 4 /* of each kind of failure per run */

static pool_value fail(const pool_value *args, size_t nargs)
{
    if (nargs == 1 && args[0].type == POOL_INT && args[0].as.i % 3 != 2)
        return pool_int(args[0].as.i);
    return pool_error("failed on purpose with %zu args", nargs);
}

static pool_value succeed(const pool_value *args, size_t nargs)
{
    (void)args;
    return pool_int((long long)nargs);
}

static pool_value die(const pool_value *args, size_t nargs)
{
    (void)args, (void)nargs;
    raise(SIGKILL);
    return pool_none();
}

static pool_value stay_pending(const pool_value *args, size_t nargs)
{
    (void)args, (void)nargs;
    for (;;)
        pause();
    return pool_none();
}

static atomic_int error_calls;

static pool_value count_error(const pool_value *value, void *user_data)
{
    (void)user_data;
    if (value->type == POOL_ERROR)
        atomic_fetch_add(&error_calls, 1);
    return pool_none();
}

static pool_value refuse(const pool_value *value, void *user_data)
{
    (void)value, (void)user_data;
    return pool_error("this callback fails on purpose");
}

/* Checks that a handle failed with code, then releases it. */
static void get_then_release(pool_result *h, int code, const char *what)
{
    const pool_value *v = NULL;
    int rc = pool_result_get(h, 60, &v);
    CHECK(rc == code, "%s: expected %d, got %d (%s)", what, code, rc, pool_strerror(rc));
    CHECK(v && v->type == POOL_ERROR, "%s: no error value", what);
    pool_result_release(h);
}

/* Every way a handle can end up holding an error value. */
static void fail_in_every_way(pool_t *pool)
{
    const pool_opts on_error = {.error_callback = count_error};
    atomic_store(&error_calls, 0);
    for (int r = 0; r < ROUNDS; r++) {
        pool_result *h;
        pool_value out;

        /* The error read with get, then released. */
        CHECK_OK(pool_apply_async(pool, fail, pool_tuple(0), NULL, &h));
        get_then_release(h, POOL_ETASK, "apply, get");
        CHECK_OK(pool_map_async(pool, fail, pool_range(7), NULL, &h));
        get_then_release(h, POOL_ETASK, "map, get");

        /* Seen through successful(), then released. */
        CHECK_OK(pool_apply_async(pool, fail, pool_tuple(0), NULL, &h));
        CHECK_OK(pool_result_wait(h, 60));
        CHECK(!pool_result_successful(h), "a failed apply was successful");
        pool_result_release(h);

        /* Released before it is ready, the error going to a callback: the
         * result handler frees it. */
        CHECK_OK(pool_apply_async(pool, fail, pool_tuple(0), &on_error, &h));
        pool_result_release(h);
        CHECK_OK(pool_map_async(pool, fail, pool_range(7), &on_error, &h));
        pool_result_release(h);

        /* The blocking forms hand the caller a copy of the error. */
        CHECK_EQ_INT(POOL_ETASK, pool_apply(pool, fail, pool_tuple(0), NULL, &out));
        pool_value_free(&out);
        CHECK_EQ_INT(POOL_ETASK, pool_map(pool, fail, pool_range(4), NULL, &out));
        pool_value_free(&out);

        /* A failing callback's error replaces the task's result. */
        CHECK_OK(pool_apply_async(pool, succeed, pool_tuple(0), &(pool_opts){.callback = refuse}, &h));
        get_then_release(h, POOL_ECALLBACK, "failing callback");

        /* A dead worker's message. */
        CHECK_OK(pool_apply_async(pool, die, pool_tuple(0), NULL, &h));
        get_then_release(h, POOL_ETASK, "dead worker");
    }
    /* Never retrieved: the pool reports it on stderr as it frees it. */
    pool_result *h;
    CHECK_OK(pool_apply_async(pool, fail, pool_tuple(0), NULL, &h));
    CHECK_OK(pool_result_wait(h, 60));
    pool_result_release(h);
}

/* One pool's whole life. The counts: before pool_create, after it, after
 * the failures and join, and after pool_destroy. */
static void pool_life(long counts[4])
{
    pool_t *pool;
    counts[0] = live();
    CHECK_OK(pool_create(&pool, &(pool_config){.processes = 2}));
    counts[1] = live();
    fail_in_every_way(pool);
    CHECK_OK(pool_close(pool));
    CHECK_OK(pool_join(pool));
    CHECK_EQ_INT(ROUNDS * 2, atomic_load(&error_calls));
    counts[2] = live();
    pool_destroy(pool);
    counts[3] = live();
}

/* Terminated tasks: released before the terminate, after it, and never. */
static void terminate_life(long counts[2])
{
    pool_t *pool;
    pool_result *before, *after, *kept;
    counts[0] = live();
    CHECK_OK(pool_create(&pool, &(pool_config){.processes = 1}));
    CHECK_OK(pool_apply_async(pool, stay_pending, pool_tuple(0), NULL, &before));
    CHECK_OK(pool_apply_async(pool, stay_pending, pool_tuple(0), NULL, &after));
    CHECK_OK(pool_map_async(pool, stay_pending, pool_range(9), NULL, &kept));
    pool_result_release(before);
    CHECK_OK(pool_terminate(pool));
    CHECK_OK(pool_join(pool));
    get_then_release(after, POOL_ETERMINATED, "terminated");
    const pool_value *v = NULL;
    CHECK_EQ_INT(POOL_ETERMINATED, pool_result_get(kept, 0, &v));
    pool_destroy(pool); /* frees kept */
    counts[1] = live();
}

int main(void)
{
    long warm[4], counts[4], term_warm[2], term[2];
    pool_life(warm);
    terminate_life(term_warm);
    pool_life(counts);
    terminate_life(term);
    if (counting()) {
        printf("live heap blocks: %ld before pool_create, %ld after it, %ld after the failures "
               "and join, %ld after pool_destroy (warm-up: %ld %ld %ld %ld); a terminated "
               "pool: %ld before, %ld after\n", counts[0], counts[1], counts[2], counts[3],
               warm[0], warm[1], warm[2], warm[3], term[0], term[1]);
        /* Join ends the pool's threads: glibc keeps a thread's TLS block
         * with its stack for reuse, or frees both when the stack is too big
         * to cache (ulimit -s 65536), so here the count may drop, never rise. */
        CHECK(counts[2] <= counts[1],
              "%ld heap blocks more after the failed handles were released and the pool "
              "joined than after pool_create", counts[2] - counts[1]);
        CHECK(counts[3] == counts[0], "%ld heap blocks more after pool_destroy than before "
                                      "pool_create", counts[3] - counts[0]);
        CHECK(term[1] == term[0], "%ld heap blocks more after a terminated pool's "
                                  "pool_destroy than before its pool_create", term[1] - term[0]);
        /* The counter itself must see the pool: else the checks above pass
         * whatever the pool does. */
        CHECK(counts[1] > counts[0], "pool_create allocated no block that was counted");
    } else {
        printf("test_leaks: heap blocks not counted: a sanitizer or Valgrind brings its own "
               "malloc, and its leak check stands in (make sanitize, make memcheck)\n");
    }
    return check_done("test_leaks");
}
