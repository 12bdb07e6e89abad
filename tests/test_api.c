/* test_api.c - the calls themselves: creating, submitting, the blocking
 * forms, handles, closing and joining, and the errors for misuse. */
#include "check.h"
#include "pool.h"

#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

static pool_value square(const pool_value *args, size_t nargs)
{
    if (nargs != 1 || args[0].type != POOL_INT)
        return pool_error("square wants one int, got %zu args", nargs);
    return pool_int(args[0].as.i * args[0].as.i);
}

static pool_value add(const pool_value *args, size_t nargs)
{
    if (nargs != 2)
        return pool_error("add wants two args, got %zu", nargs);
    return pool_int(args[0].as.i + args[1].as.i);
}

static pool_value count_args(const pool_value *args, size_t nargs)
{
    (void)args;
    return pool_int((long long)nargs);
}

static pool_value sleep_then_pid(const pool_value *args, size_t nargs)
{
    if (nargs == 1)
        usleep((useconds_t)args[0].as.i * 1000);
    return pool_int(getpid());
}

static void test_create(void)
{
    pool_t *pool = NULL;
    CHECK_EQ_INT(POOL_EINVAL, pool_create(&pool, &(pool_config){.processes = -1}));
    CHECK(pool == NULL, "a failed create must leave no pool");
    CHECK_EQ_INT(POOL_EINVAL, pool_create(&pool, &(pool_config){.maxtasksperchild = -1}));
    CHECK_EQ_INT(POOL_EINVAL, pool_create(&pool, &(pool_config){.processes = 1000000}));
    CHECK_EQ_INT(POOL_EINVAL, pool_create(NULL, NULL));

    CHECK_OK(pool_create(&pool, NULL));
    CHECK_EQ_INT(sysconf(_SC_NPROCESSORS_ONLN), pool_processes(pool));
    CHECK_OK(pool_close(pool));
    CHECK_OK(pool_join(pool));
    pool_destroy(pool);

    CHECK_OK(pool_create(&pool, &(pool_config){.processes = 3}));
    CHECK_EQ_INT(3, pool_processes(pool));
    pool_destroy(pool); /* without close: destroy terminates */
}

static void test_messages(void)
{
    CHECK(strcmp(pool_strerror(POOL_ERUNNING), "pool is still running") == 0, "ERUNNING text");
    CHECK(strcmp(pool_strerror(POOL_ENOTRUNNING), "pool not running") == 0, "ENOTRUNNING text");
    CHECK(strcmp(pool_strerror(POOL_ETERMINATED), "terminated") == 0, "ETERMINATED text");
    CHECK(pool_strerror(12345) != NULL, "an unknown code still gets a message");
}

static void test_blocking_forms(pool_t *pool)
{
    pool_value out;
    CHECK_OK(pool_apply(pool, square, pool_tuple(1, pool_int(12)), NULL, &out));
    CHECK(out.type == POOL_INT && out.as.i == 144, "apply: expected 144");
    pool_value_free(&out);

    CHECK_OK(pool_apply(pool, count_args, pool_none(), NULL, &out));
    CHECK(out.type == POOL_INT && out.as.i == 0, "apply with no args passes nargs 0");
    pool_value_free(&out);

    CHECK_OK(pool_map(pool, square, pool_range(100), &(pool_opts){.chunksize = 7}, &out));
    CHECK_EQ_INT(100, out.len);
    int wrong = 0;
    for (uint32_t i = 0; i < out.len; i++)
        wrong += out.as.items[i].as.i != (long long)i * i;
    CHECK_EQ_INT(0, wrong);
    pool_value_free(&out);

    pool_value pairs = pool_list(50);
    for (int i = 0; i < 50; i++)
        pairs.as.items[i] = pool_tuple(2, pool_int(i), pool_int(1000));
    CHECK_OK(pool_starmap(pool, add, pairs, NULL, &out));
    CHECK(out.len == 50 && out.as.items[49].as.i == 1049, "starmap: expected 1049 last");
    pool_value_free(&out);

    /* A failed task: the error value comes back to the caller. */
    CHECK_EQ_INT(POOL_ETASK, pool_apply(pool, square, pool_tuple(1, pool_str("x")), NULL, &out));
    CHECK(out.type == POOL_ERROR, "a failed apply hands back the error value");
    CHECK_STR_CONTAINS(out.as.s, "square wants one int");
    pool_value_free(&out);
}

static void test_bad_arguments(pool_t *pool)
{
    pool_result *r = (pool_result *)&r;
    pool_value out;
    CHECK_EQ_INT(POOL_EINVAL, pool_apply_async(pool, NULL, pool_none(), NULL, &r));
    CHECK(r == NULL, "a failed submit sets the handle to NULL");
    CHECK_EQ_INT(POOL_EINVAL, pool_apply_async(NULL, square, pool_none(), NULL, &r));
    CHECK_EQ_INT(POOL_EINVAL, pool_map_async(pool, square, pool_range(3),
                                             &(pool_opts){.chunksize = -1}, &r));
    CHECK_EQ_INT(POOL_EINVAL, pool_map_async(pool, square, pool_range(3),
                                             &(pool_opts){.chunksize = 1L << 40}, &r));
    CHECK_EQ_INT(POOL_EINVAL, pool_map_async(pool, square, pool_int(3), NULL, &r));
    CHECK_EQ_INT(POOL_EINVAL, pool_starmap_async(pool, add, pool_range(3), NULL, &r));
    CHECK_EQ_INT(POOL_EINVAL, pool_apply_async(pool, square, pool_int(1), NULL, &r));
    CHECK_EQ_INT(POOL_EINVAL, pool_map(pool, square, pool_range(3), NULL, NULL));
    CHECK_EQ_INT(POOL_EINVAL, pool_result_wait(NULL, 1));
    CHECK_EQ_INT(POOL_EINVAL, pool_close(NULL));
    CHECK_EQ_INT(POOL_EINVAL, pool_join(NULL));
    CHECK_EQ_INT(POOL_EINVAL, pool_terminate(NULL));
    CHECK(!pool_result_ready(NULL) && !pool_result_successful(NULL), "NULL handle is not ready");
    pool_destroy(NULL);
    pool_result_release(NULL);

    /* Python never calls back for an empty map; this pool does, with []. */
    CHECK_OK(pool_map(pool, square, pool_list(0), NULL, &out));
    CHECK(out.type == POOL_LIST && out.len == 0, "an empty map gives an empty list");
    pool_value_free(&out);
}

static atomic_int empty_calls;
static pool_value on_empty(const pool_value *value, void *user_data)
{
    (void)user_data;
    if (value->type == POOL_LIST && value->len == 0)
        atomic_fetch_add(&empty_calls, 1);
    return pool_none();
}

static void test_handles(pool_t *pool)
{
    pool_result *slow, *empty;
    CHECK_OK(pool_apply_async(pool, sleep_then_pid, pool_tuple(1, pool_int(300)), NULL, &slow));
    CHECK_EQ_INT(POOL_ETIMEDOUT, pool_result_wait(slow, 0.05));
    const pool_value *v = NULL;
    CHECK_EQ_INT(POOL_ETIMEDOUT, pool_result_get(slow, 0.0, &v));
    CHECK(!pool_result_ready(slow), "not ready while the task sleeps");
    CHECK(!pool_result_successful(slow), "not successful before it is ready");
    CHECK_OK(pool_result_get(slow, 10.0, &v));
    CHECK(v && v->type == POOL_INT && v->as.i != getpid(), "the task ran in another process");
    CHECK(pool_result_ready(slow) && pool_result_successful(slow), "ready and successful");
    pool_result_release(slow);

    CHECK_OK(pool_map_async(pool, square, pool_list(0), &(pool_opts){.callback = on_empty}, &empty));
    CHECK_OK(pool_result_wait(empty, 10.0));
    CHECK_EQ_INT(1, atomic_load(&empty_calls));
    /* empty is never released: pool_destroy frees it, as memcheck proves. */

    /* Many handles released early do not pile up. */
    for (int i = 0; i < 2000; i++) {
        pool_result *r;
        CHECK_OK(pool_apply_async(pool, square, pool_tuple(1, pool_int(i)), NULL, &r));
        pool_result_release(r);
    }
}

static void test_lifecycle(void)
{
    pool_t *pool;
    pool_result *r;
    CHECK_OK(pool_create(&pool, &(pool_config){.processes = 2}));
    CHECK_EQ_INT(POOL_ERUNNING, pool_join(pool));
    CHECK_OK(pool_apply_async(pool, sleep_then_pid, pool_tuple(1, pool_int(100)), NULL, &r));
    CHECK_OK(pool_close(pool));
    CHECK_OK(pool_close(pool)); /* twice is harmless, as in Python */
    pool_result *late = (pool_result *)&late;
    CHECK_EQ_INT(POOL_ENOTRUNNING, pool_apply_async(pool, square, pool_tuple(1, pool_int(1)), NULL, &late));
    CHECK(late == NULL, "a refused submit gives no handle");
    CHECK_OK(pool_join(pool));
    CHECK(pool_result_successful(r), "close + join finishes the work already submitted");
    CHECK_OK(pool_join(pool)); /* twice is harmless too */
    pool_destroy(pool);

    CHECK_OK(pool_create(&pool, &(pool_config){.processes = 1}));
    CHECK_OK(pool_apply_async(pool, sleep_then_pid, pool_tuple(1, pool_int(5000)), NULL, &r));
    CHECK_OK(pool_terminate(pool));
    CHECK_OK(pool_terminate(pool));
    CHECK_EQ_INT(POOL_ENOTRUNNING, pool_map_async(pool, square, pool_range(2), NULL, &late));
    CHECK_OK(pool_join(pool));
    const pool_value *v;
    CHECK_EQ_INT(POOL_ETERMINATED, pool_result_get(r, 0, &v));
    CHECK_STR_CONTAINS(v->as.s, "terminated");
    pool_destroy(pool);
}

/* maxtasksperchild: a worker is replaced after that many chunks. */
static void test_maxtasksperchild(void)
{
    pool_t *pool;
    pool_value out;
    CHECK_OK(pool_create(&pool, &(pool_config){.processes = 2, .maxtasksperchild = 1}));
    CHECK_OK(pool_map(pool, sleep_then_pid, pool_range(6), &(pool_opts){.chunksize = 1}, &out));
    int distinct = 0;
    for (uint32_t i = 0; i < out.len; i++) {
        int seen = 0;
        for (uint32_t j = 0; j < i; j++)
            seen |= out.as.items[j].as.i == out.as.items[i].as.i;
        distinct += !seen;
    }
    CHECK_EQ_INT(6, distinct); /* six chunks, six different workers */
    pool_value_free(&out);
    pool_close(pool);
    pool_join(pool);
    pool_destroy(pool);
}

static _Atomic long init_marker;
static void init_worker(void *arg) { atomic_store(&init_marker, (long)(intptr_t)arg); }
static pool_value read_marker(const pool_value *args, size_t nargs)
{
    (void)args, (void)nargs;
    return pool_int(atomic_load(&init_marker));
}

static void test_initializer(void)
{
    pool_t *pool;
    pool_value out;
    CHECK_OK(pool_create(&pool, &(pool_config){.processes = 2, .initializer = init_worker,
                                                .initarg = (void *)(intptr_t)77}));
    CHECK_OK(pool_map(pool, read_marker, pool_range(8), &(pool_opts){.chunksize = 1}, &out));
    int wrong = 0;
    for (uint32_t i = 0; i < out.len; i++)
        wrong += out.as.items[i].as.i != 77;
    CHECK_EQ_INT(0, wrong);
    CHECK_EQ_INT(0, atomic_load(&init_marker)); /* it ran in the workers, not here */
    pool_value_free(&out);
    pool_destroy(pool);
}

int main(void)
{
    test_create();
    test_messages();

    pool_t *pool;
    CHECK_OK(pool_create(&pool, &(pool_config){.processes = 2}));
    test_blocking_forms(pool);
    test_bad_arguments(pool);
    test_handles(pool);
    CHECK_OK(pool_close(pool));
    CHECK_OK(pool_join(pool));
    pool_destroy(pool);

    test_lifecycle();
    test_maxtasksperchild();
    test_initializer();
    return check_done("test_api");
}
