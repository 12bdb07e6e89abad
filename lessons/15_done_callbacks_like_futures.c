/* 15_done_callbacks_like_futures.c - callbacks added after submitting.
 *
 * Main submits a slow task, then adds a done callback at once, while the
 * task still runs: that one runs later, on the pool's result-handler
 * thread, after the submission's own callback. Once the handle is ready,
 * main adds a second done callback: that one runs at once, inside the
 * call, on main's own thread. Python's Future.add_done_callback() has the
 * same two rules. Run it with `make run-15`. Compare with lesson 04.
 */
#include "lesson.h"

/* [task] */
static pool_value task(const pool_value *args, size_t nargs)
{
    (void)nargs;
    lesson_sleep(0.5); /* long enough for main to add its first done callback */
    return pool_int(args[0].as.i * 2);
}

/* [callback] */
static pool_value result_callback(const pool_value *value, void *user_data)
{
    (void)user_data;
    lesson_say("Callback got %s", lesson_repr(value).text);
    lesson_say("Callback Thread: %s", lesson_thread().text);
    return pool_none();
}

/* [done-callback] A done callback gets the handle; user_data names it. */
static void done_callback(pool_result *result, void *user_data)
{
    const char *which = user_data;
    const pool_value *value;
    int err = pool_result_get(result, 0.0, &value); /* ready: get does not wait */
    lesson_say("%s Done Callback got %s", which, err == POOL_OK ? lesson_repr(value).text : "?");
    lesson_say("%s Done Callback Thread: %s", which, lesson_thread().text);
}

int main(void)
{
    pool_t *pool;
    pool_result *result;
    pool_opts opts = {.callback = result_callback};

    LESSON_TRY(pool_create(&pool, NULL));

    /* [submit] The task takes half a second: the handle is not ready yet. */
    LESSON_TRY(pool_apply_async(pool, task, pool_tuple(1, pool_int(21)), &opts, &result));
    LESSON_TRY(pool_result_add_done_callback(result, done_callback, "Early"));

    /* [main] */
    lesson_say("Main Thread: %s", lesson_thread().text);
    const pool_value *value;
    LESSON_TRY(pool_result_get(result, POOL_FOREVER, &value));
    lesson_say("Main: get returned %s; now add a done callback", lesson_repr(value).text);
    /* [late] Ready now: the done callback runs here, before the call returns. */
    LESSON_TRY(pool_result_add_done_callback(result, done_callback, "Late"));
    lesson_say("Main: add_done_callback returned");

    /* [close-join] join waits for the result handler, early callback and all. */
    LESSON_TRY(pool_close(pool));
    LESSON_TRY(pool_join(pool));

    pool_result_release(result);
    pool_destroy(pool);
    return 0;
}
