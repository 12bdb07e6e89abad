/* test_callbacks.c - where, when and how often callbacks run: on the
 * result-handler thread of the parent, once per submission, after every
 * item and before wait returns; what a failed task or a failing callback
 * does; and submitting from callbacks and from many threads. */
#include "check.h"
#include "pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Sleeps args[0] ms and returns when it finished, on the system-wide clock. */
static pool_value nap(const pool_value *args, size_t nargs)
{
    if (nargs >= 1 && args[0].type == POOL_INT)
        usleep((useconds_t)(args[0].as.i % 5) * 20000);
    return pool_int(now_ns());
}

static pool_value fail_on_three(const pool_value *args, size_t nargs)
{
    (void)nargs;
    if (args[0].as.i == 3)
        return pool_error("three is not allowed");
    return pool_int(args[0].as.i);
}

typedef struct seen {
    pthread_mutex_t lock;
    int calls, error_calls;
    pid_t pid;
    pthread_t thread;
    char thread_name[16];
    long long called_at;
    long long latest_task_end;
    char error[256];
} seen;

static pool_value record(const pool_value *value, void *user_data)
{
    seen *s = user_data;
    pthread_mutex_lock(&s->lock);
    s->calls++;
    s->pid = getpid();
    s->thread = pthread_self();
    pthread_getname_np(pthread_self(), s->thread_name, sizeof s->thread_name);
    s->called_at = now_ns();
    const pool_value *items = value->type == POOL_LIST ? value->as.items : value;
    size_t n = value->type == POOL_LIST ? value->len : 1;
    for (size_t i = 0; i < n; i++)
        if (items[i].type == POOL_INT && items[i].as.i > s->latest_task_end)
            s->latest_task_end = items[i].as.i;
    pthread_mutex_unlock(&s->lock);
    return pool_none();
}

static pool_value record_error(const pool_value *error, void *user_data)
{
    seen *s = user_data;
    pthread_mutex_lock(&s->lock);
    s->error_calls++;
    snprintf(s->error, sizeof s->error, "%s", error->as.s);
    pthread_mutex_unlock(&s->lock);
    return pool_none();
}

#define SEEN_INIT {.lock = PTHREAD_MUTEX_INITIALIZER}

/* Where and when callbacks run (pool.h, before pool_apply_async): on the
 * parent's result-handler thread; once, after every item, before wait
 * returns. */
static void test_where_and_when(pool_t *pool)
{
    seen s = SEEN_INIT;
    pool_result *r;
    pool_opts o = {.chunksize = 1, .callback = record, .error_callback = record_error, .user_data = &s};
    CHECK_OK(pool_map_async(pool, nap, pool_range(10), &o, &r));
    CHECK_OK(pool_result_wait(r, 30));
    pthread_mutex_lock(&s.lock);
    CHECK_EQ_INT(1, s.calls); /* already 1 when wait returns: it ran before */
    CHECK_EQ_INT(0, s.error_calls);
    CHECK_EQ_INT(getpid(), s.pid);
    CHECK(!pthread_equal(s.thread, pthread_self()), "the callback ran on the caller's thread");
    CHECK(strcmp(s.thread_name, "result-handler") == 0,
          "expected the thread named result-handler, got \"%s\"", s.thread_name);
    CHECK(s.called_at >= s.latest_task_end,
          "the callback ran %lld ns before the last task ended", s.latest_task_end - s.called_at);
    pthread_t first_thread = s.thread;
    pthread_mutex_unlock(&s.lock);
    pool_result_release(r);

    /* apply_async: the same thread again, and exactly one call. */
    seen t = SEEN_INIT;
    o.user_data = &t;
    CHECK_OK(pool_apply_async(pool, nap, pool_tuple(1, pool_int(1)), &o, &r));
    CHECK_OK(pool_result_wait(r, 30));
    CHECK_EQ_INT(1, t.calls);
    CHECK(pthread_equal(first_thread, t.thread), "every callback runs on the same one thread");
    CHECK(t.called_at >= t.latest_task_end, "apply callback ran before its task ended");
    pool_result_release(r);
}

/* A failed task (pool.h, before pool_apply_async) calls the error callback
 * once, naming the task and the worker; the result callback is not called. */
static void test_failed_task(pool_t *pool)
{
    seen s = SEEN_INIT;
    pool_result *r;
    pool_opts o = {.chunksize = 1, .callback = record, .error_callback = record_error, .user_data = &s};
    CHECK_OK(pool_map_async(pool, fail_on_three, pool_range(8), &o, &r));
    const pool_value *v;
    CHECK_EQ_INT(POOL_ETASK, pool_result_get(r, 30, &v));
    CHECK_EQ_INT(0, s.calls);
    CHECK_EQ_INT(1, s.error_calls);
    CHECK_STR_CONTAINS(s.error, "task 3");
    CHECK_STR_CONTAINS(s.error, "PoolWorker-");
    CHECK_STR_CONTAINS(s.error, "three is not allowed");
    CHECK(v->type == POOL_ERROR && strcmp(v->as.s, s.error) == 0,
          "get gives the same error the error callback got");
    CHECK(!pool_result_successful(r), "a failed map is not successful");
    pool_result_release(r);
}

/* Captures what the pool writes to stderr while fn runs. */
static void capture_stderr(void (*fn)(pool_t *), pool_t *pool, char *out, size_t size)
{
    fflush(stderr);
    FILE *tmp = tmpfile();
    int saved = dup(2);
    dup2(fileno(tmp), 2);
    fn(pool);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(tmp);
    size_t n = fread(out, 1, size - 1, tmp);
    out[n] = '\0';
    fclose(tmp);
}

static pool_value failing_callback(const pool_value *value, void *user_data)
{
    (void)value;
    atomic_fetch_add((atomic_int *)user_data, 1);
    return pool_error("Something bad happened");
}

static pool_value failing_error_callback(const pool_value *error, void *user_data)
{
    (void)error;
    atomic_fetch_add((atomic_int *)user_data, 1);
    return pool_error("the error callback broke too");
}

static pool_result *fail_result, *fail_error_result;
static atomic_int fail_calls;

static void run_failing_callbacks(pool_t *pool)
{
    CHECK_OK(pool_map_async(pool, nap, pool_range(5), &(pool_opts){.callback = failing_callback,
             .user_data = &fail_calls}, &fail_result));
    CHECK_OK(pool_result_wait(fail_result, 30));
    CHECK_OK(pool_map_async(pool, fail_on_three, pool_range(5), &(pool_opts){
             .error_callback = failing_error_callback, .user_data = &fail_calls}, &fail_error_result));
    CHECK_OK(pool_result_wait(fail_error_result, 30));
}

/* A failing callback (pool.h, before pool_apply_async) is reported in one
 * line on stderr, the handle becomes ready and unsuccessful with that error,
 * and the pool goes on. */
static void test_failing_callback(pool_t *pool)
{
    char err[2048];
    capture_stderr(run_failing_callbacks, pool, err, sizeof err);
    CHECK_EQ_INT(2, atomic_load(&fail_calls));

    const pool_value *v;
    CHECK_EQ_INT(POOL_ECALLBACK, pool_result_get(fail_result, 0, &v));
    CHECK(v->type == POOL_ERROR && strcmp(v->as.s, "Something bad happened") == 0,
          "the handle carries the callback's error");
    CHECK_EQ_INT(POOL_ECALLBACK, pool_result_get(fail_error_result, 0, &v));
    CHECK_STR_CONTAINS(v->as.s, "the error callback broke too");

    CHECK_STR_CONTAINS(err, "pool: callback failed: Something bad happened\n");
    CHECK_STR_CONTAINS(err, "pool: error callback failed: the error callback broke too\n");
    int lines = 0;
    for (const char *p = err; *p; p++)
        lines += *p == '\n';
    CHECK_EQ_INT(2, lines);
    pool_result_release(fail_result);
    pool_result_release(fail_error_result);

    pool_value out;
    CHECK_OK(pool_map(pool, fail_on_three, pool_range(3), NULL, &out));
    CHECK_EQ_INT(3, out.len);
    pool_value_free(&out);
}

/* Submitting from any thread, callbacks included (pool.h, before
 * pool_apply_async): follow-up tasks from a callback, and from threads. */
typedef struct stage {
    pool_t *pool;
    atomic_int deepest_done;  /* level-3 results seen */
    atomic_int submitted;
    int blocking_rc;          /* what a blocking call said inside a callback */
} stage;

static pool_value echo(const pool_value *args, size_t nargs)
{
    return nargs ? pool_value_copy(&args[0]) : pool_none();
}

static pool_value follow_up(const pool_value *value, void *user_data);

static void submit_level(stage *st, long long level)
{
    pool_result *r;
    pool_opts o = {.callback = follow_up, .user_data = st};
    if (pool_apply_async(st->pool, echo, pool_tuple(1, pool_int(level)), &o, &r) == POOL_OK) {
        atomic_fetch_add(&st->submitted, 1);
        pool_result_release(r);
    }
}

/* Each result of level n < 3 submits two tasks of level n + 1. */
static pool_value follow_up(const pool_value *value, void *user_data)
{
    stage *st = user_data;
    if (value->as.i < 3) {
        submit_level(st, value->as.i + 1);
        submit_level(st, value->as.i + 1);
    } else {
        atomic_fetch_add(&st->deepest_done, 1);
    }
    return pool_none();
}

static void *flood(void *arg)
{
    stage *st = arg;
    for (int i = 0; i < 500; i++) {
        pool_result *r;
        if (pool_apply_async(st->pool, echo, pool_tuple(1, pool_int(i)), NULL, &r) == POOL_OK) {
            atomic_fetch_add(&st->submitted, 1);
            pool_result_release(r);
        }
    }
    return NULL;
}

/* Waiting inside a callback would deadlock: the pool says so instead. */
static pool_value try_blocking(const pool_value *value, void *user_data)
{
    (void)value;
    stage *st = user_data;
    pool_value out;
    st->blocking_rc = pool_apply(st->pool, echo, pool_none(), NULL, &out);
    return pool_none();
}

static void test_submitting_from_callbacks_and_threads(void)
{
    pool_t *pool;
    CHECK_OK(pool_create(&pool, &(pool_config){.processes = 2}));
    stage st = {.pool = pool, .blocking_rc = 1};

    submit_level(&st, 1); /* then 2 of level 2, then 4 of level 3 */
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, flood, &st);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);

    pool_result *r;
    CHECK_OK(pool_apply_async(pool, echo, pool_none(),
                              &(pool_opts){.callback = try_blocking, .user_data = &st}, &r));
    CHECK_OK(pool_result_wait(r, 30));
    CHECK_EQ_INT(POOL_EDEADLK, st.blocking_rc);

    for (int tries = 0; atomic_load(&st.deepest_done) < 4 && tries < 3000; tries++)
        usleep(10000);
    CHECK_OK(pool_close(pool));
    CHECK_OK(pool_join(pool));
    CHECK_EQ_INT(4, atomic_load(&st.deepest_done));
    CHECK_EQ_INT(1 + 2 + 4 + 4 * 500, atomic_load(&st.submitted));
    pool_destroy(pool);
}

int main(void)
{
    pool_t *pool;
    CHECK_OK(pool_create(&pool, &(pool_config){.processes = 2}));
    test_where_and_when(pool);
    test_failed_task(pool);
    test_failing_callback(pool);
    CHECK_OK(pool_close(pool));
    CHECK_OK(pool_join(pool));
    pool_destroy(pool);

    test_submitting_from_callbacks_and_threads();
    return check_done("test_callbacks");
}
