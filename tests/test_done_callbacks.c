/* test_done_callbacks.c - pool_result_add_done_callback(): the order, the
 * thread each callback runs on, adding one from inside a callback, after
 * release, a callback that releases its handle, a failed task's handle,
 * and that each runs exactly once. */
#include "check.h"
#include "pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

enum { GATES = 16, MANY = 50 };

/* Gates shared with the workers: a gated task waits until its gate opens,
 * so the test decides when a handle becomes ready, without sleeping. */
static _Atomic int *gates;

static pool_value gated(const pool_value *args, size_t nargs)
{
    if (nargs != 2)
        return pool_error("gated wants a gate and a value");
    long long g = args[0].as.i;
    for (int i = 0; i < 20000 && !atomic_load(&gates[g]); i++) /* 20 s at most */
        usleep(1000);
    return pool_int(args[1].as.i);
}

static pool_value fails(const pool_value *args, size_t nargs)
{
    (void)args, (void)nargs;
    return pool_error("it failed on purpose");
}

/* ---- what the callbacks record --------------------------------------- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int seq;                /* the next step's number */
static int order[MANY + 8];    /* the step each callback ran at */
static int runs[MANY + 8];     /* how many times each ran */
static pthread_t thread_of[MANY + 8];
static int callback_step = -1; /* the submission's own callback */
static pthread_t callback_thread;
static int finished;           /* callbacks that said they are the last */

static void reset(void)
{
    pthread_mutex_lock(&mu);
    seq = 0;
    finished = 0;
    callback_step = -1;
    memset(order, -1, sizeof order);
    memset(runs, 0, sizeof runs);
    pthread_mutex_unlock(&mu);
}

static void record(int i)
{
    pthread_mutex_lock(&mu);
    order[i] = seq++;
    runs[i]++;
    thread_of[i] = pthread_self();
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

/* Waits, with a bound, until n callbacks said they are the last. */
static bool await_finished(int n)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 20;
    pthread_mutex_lock(&mu);
    int rc = 0;
    while (finished < n && rc == 0)
        rc = pthread_cond_timedwait(&cv, &mu, &deadline);
    bool ok = finished >= n;
    pthread_mutex_unlock(&mu);
    return ok;
}

static void mark_finished(void)
{
    pthread_mutex_lock(&mu);
    finished++;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static pool_value on_result(const pool_value *value, void *user_data)
{
    (void)value, (void)user_data;
    pthread_mutex_lock(&mu);
    callback_step = seq++;
    callback_thread = pthread_self();
    pthread_mutex_unlock(&mu);
    return pool_none();
}

static void done_i(pool_result *r, void *user_data)
{
    (void)r;
    record((int)(intptr_t)user_data);
}

static void done_last(pool_result *r, void *user_data)
{
    done_i(r, user_data);
    mark_finished();
}

static pool_value gate_args(int gate, int value)
{
    return pool_tuple(2, pool_int(gate), pool_int(value));
}

/* Many callbacks added before ready: in the order added, each once, on
 * the result handler, after the submission's callback. */
static void test_order(pool_t *pool)
{
    reset();
    pool_result *r;
    CHECK_OK(pool_apply_async(pool, gated, gate_args(0, 7),
                              &(pool_opts){.callback = on_result}, &r));
    for (int i = 0; i < MANY; i++)
        CHECK_OK(pool_result_add_done_callback(r, i == MANY - 1 ? done_last : done_i,
                                               (void *)(intptr_t)i));
    CHECK(!pool_result_ready(r), "the gated task cannot be ready yet");
    atomic_store(&gates[0], 1);
    CHECK(await_finished(1), "the last done callback never ran");
    CHECK(callback_step == 0, "the submission's callback runs first, got step %d",
          callback_step);
    int wrong_order = 0, wrong_runs = 0, wrong_thread = 0;
    for (int i = 0; i < MANY; i++) {
        wrong_order += order[i] != i + 1;
        wrong_runs += runs[i] != 1;
        wrong_thread += !pthread_equal(thread_of[i], callback_thread);
    }
    CHECK_EQ_INT(0, wrong_order);
    CHECK_EQ_INT(0, wrong_runs);
    CHECK_EQ_INT(0, wrong_thread);
    CHECK(!pthread_equal(callback_thread, pthread_self()), "callbacks run off main's thread");

    /* Ready now: the next one runs at once, on this thread, before the
     * call returns. */
    CHECK_OK(pool_result_add_done_callback(r, done_i, (void *)(intptr_t)MANY));
    CHECK_EQ_INT(1, runs[MANY]);
    CHECK(pthread_equal(thread_of[MANY], pthread_self()), "a ready handle's runs on the caller");
    CHECK_EQ_INT(MANY + 1, order[MANY]);
    pool_result_release(r);
}

/* Added from inside the submission's callback (not ready yet: queued) and
 * from inside a done callback (ready: runs at once, nested). */
static pool_result *volatile handle_for_callbacks;

static void nested_inner(pool_result *r, void *user_data)
{
    (void)r, (void)user_data;
    record(3);
}

static void nested_outer(pool_result *r, void *user_data)
{
    (void)user_data;
    record(2);
    CHECK_OK(pool_result_add_done_callback(r, nested_inner, NULL));
    /* It ran before the call returned, on this same thread. */
    pthread_mutex_lock(&mu);
    int inner_runs = runs[3];
    pthread_mutex_unlock(&mu);
    CHECK_EQ_INT(1, inner_runs);
    record(4);
    mark_finished();
}

static pool_value callback_adds(const pool_value *value, void *user_data)
{
    (void)value, (void)user_data;
    record(1);
    CHECK_OK(pool_result_add_done_callback(handle_for_callbacks, nested_outer, NULL));
    return pool_none();
}

static void test_from_callbacks(pool_t *pool)
{
    reset();
    pool_result *r;
    CHECK_OK(pool_apply_async(pool, gated, gate_args(1, 1),
                              &(pool_opts){.callback = callback_adds}, &r));
    handle_for_callbacks = r;
    atomic_store(&gates[1], 1);
    CHECK(await_finished(1), "the done callbacks never ran");
    CHECK(order[1] == 0 && order[2] == 1 && order[3] == 2 && order[4] == 3,
          "callback, outer, nested inner, outer's end: got %d %d %d %d", order[1], order[2],
          order[3], order[4]);
    CHECK(pthread_equal(thread_of[2], thread_of[1]) && pthread_equal(thread_of[3], thread_of[1]),
          "both run on the result handler, as the callback does");
    CHECK_EQ_INT(1, runs[2]);
    pool_result_release(r);
}

/* After release: POOL_EINVAL while the pool still holds the handle. */
static void test_after_release(pool_t *pool)
{
    reset();
    pool_result *r;
    CHECK_OK(pool_apply_async(pool, gated, gate_args(2, 2), NULL, &r));
    CHECK_OK(pool_result_add_done_callback(r, done_last, (void *)(intptr_t)5));
    pool_result_release(r); /* not ready: the pool still holds it */
    CHECK_EQ_INT(POOL_EINVAL, pool_result_add_done_callback(r, done_i, (void *)(intptr_t)6));
    atomic_store(&gates[2], 1);
    /* The one added before release still runs, once; the refused one never. */
    CHECK(await_finished(1), "a done callback added before release never ran");
    CHECK_EQ_INT(1, runs[5]);
    CHECK_EQ_INT(0, runs[6]);
}

/* A done callback that gets the value and releases its handle; memcheck
 * sees the handle freed exactly once. A later one still gets its turn. */
static long long got_value;

static void get_and_release(pool_result *r, void *user_data)
{
    const pool_value *v;
    int rc = pool_result_get(r, 0, &v);
    got_value = rc == POOL_OK && v->type == POOL_INT ? v->as.i : -1;
    record((int)(intptr_t)user_data);
    pool_result_release(r);
    mark_finished();
}

static void test_release_inside(pool_t *pool)
{
    reset();
    pool_result *r;
    CHECK_OK(pool_apply_async(pool, gated, gate_args(3, 33), NULL, &r));
    CHECK_OK(pool_result_add_done_callback(r, get_and_release, (void *)(intptr_t)7));
    atomic_store(&gates[3], 1);
    CHECK(await_finished(1), "the releasing done callback never ran");
    CHECK_EQ_INT(33, got_value);
    CHECK_EQ_INT(1, runs[7]);

    /* The same on a ready handle: it runs here, and frees the handle. */
    reset();
    CHECK_OK(pool_apply_async(pool, gated, gate_args(4, 44), NULL, &r));
    atomic_store(&gates[4], 1);
    CHECK_OK(pool_result_wait(r, 20));
    CHECK_OK(pool_result_add_done_callback(r, get_and_release, (void *)(intptr_t)8));
    CHECK_EQ_INT(44, got_value);
    CHECK_EQ_INT(1, runs[8]);
}

/* A failed task: the error callback first, then the done callback, which
 * sees the failure through successful and get. */
static int failed_rc = 1;
static bool failed_successful = true;
static char failed_message[128];

static pool_value on_error(const pool_value *error, void *user_data)
{
    (void)error, (void)user_data;
    record(9);
    return pool_none();
}

static void done_failed(pool_result *r, void *user_data)
{
    (void)user_data;
    failed_successful = pool_result_successful(r);
    const pool_value *v;
    failed_rc = pool_result_get(r, 0, &v);
    snprintf(failed_message, sizeof failed_message, "%s",
             v && v->type == POOL_ERROR ? v->as.s : "?");
    record(10);
    mark_finished();
}

static void test_failed(pool_t *pool)
{
    reset();
    pool_result *r;
    CHECK_OK(pool_apply_async(pool, fails, pool_none(),
                              &(pool_opts){.error_callback = on_error}, &r));
    CHECK_OK(pool_result_add_done_callback(r, done_failed, NULL));
    CHECK(await_finished(1), "a failed task's done callback never ran");
    CHECK(!failed_successful, "a failed handle is not successful");
    CHECK_EQ_INT(POOL_ETASK, failed_rc);
    CHECK_STR_CONTAINS(failed_message, "it failed on purpose");
    CHECK(order[9] == 0 && order[10] == 1, "error callback, then the done callback");
    CHECK_EQ_INT(1, runs[9]);
    CHECK_EQ_INT(1, runs[10]);
    pool_result_release(r);
}

static void test_bad_args(pool_t *pool)
{
    pool_result *r;
    CHECK_EQ_INT(POOL_EINVAL, pool_result_add_done_callback(NULL, done_i, NULL));
    CHECK_OK(pool_apply_async(pool, gated, gate_args(5, 5), NULL, &r));
    CHECK_EQ_INT(POOL_EINVAL, pool_result_add_done_callback(r, NULL, NULL));
    atomic_store(&gates[5], 1);
    CHECK_OK(pool_result_wait(r, 20));
    pool_result_release(r);
}

int main(void)
{
    gates = mmap(NULL, GATES * sizeof *gates, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (gates == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    pool_t *pool;
    CHECK_OK(pool_create(&pool, &(pool_config){.processes = 2}));
    test_order(pool);
    test_from_callbacks(pool);
    test_after_release(pool);
    test_release_inside(pool);
    test_failed(pool);
    test_bad_args(pool);
    CHECK_OK(pool_close(pool));
    CHECK_OK(pool_join(pool));
    pool_destroy(pool);
    munmap(gates, GATES * sizeof *gates); /* the pool's workers are gone */
    return check_done("test_done_callbacks");
}
