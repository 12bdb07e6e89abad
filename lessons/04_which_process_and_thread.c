/* 04_which_process_and_thread.c - where the task and the callback run.
 *
 * Main, the task and the callback each print their process and thread.
 * The task runs in a worker process; the callback runs back in the main
 * process, but on the pool's result-handler thread, not on main's thread.
 * Run it with `make run-04`. Compare with lesson 01, the same submission.
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

    LESSON_TRY(pool_create(&pool, NULL));

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
