/* 17_thread_pool_callbacks.c - lesson 04's questions, asked of a pool of
 * threads.
 *
 * Main, the task and the callback each print their process and thread.
 * The pool is made with config.threads, as Python's ThreadPool: the task
 * runs in main's own process, on a worker thread named PoolWorker-N, and
 * the callback still runs on the pool's result-handler thread. Run it with
 * `make run-17`. Compare with lesson 04, the same program on processes.
 */
#include "lesson.h"

/* [task] */
static pool_value task(const pool_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    lesson_say("Task Process: %s", lesson_process().text);
    lesson_say("Task Thread: %s", lesson_thread().text);
    return pool_none();
}

/* [callback] */
static pool_value result_callback(const pool_value *value, void *user_data)
{
    (void)value;
    (void)user_data;
    lesson_say("Callback Process: %s", lesson_process().text);
    lesson_say("Callback Thread: %s", lesson_thread().text);
    return pool_none();
}

int main(void)
{
    pool_t *pool;
    pool_result *result;
    pool_opts opts = {.callback = result_callback};

    /* [config] The one change from lesson 04: the workers are threads. */
    pool_config config = {.threads = true};
    LESSON_TRY(pool_create(&pool, &config));

    /* [submit] */
    LESSON_TRY(pool_apply_async(pool, task, pool_tuple(1, pool_int(0)), &opts,
                                &result));

    /* [main] */
    lesson_say("Main Process: %s", lesson_process().text);
    lesson_say("Main Thread: %s", lesson_thread().text);

    /* [close-join] */
    LESSON_TRY(pool_close(pool));
    LESSON_TRY(pool_join(pool));

    pool_result_release(result);
    pool_destroy(pool);
    return 0;
}
