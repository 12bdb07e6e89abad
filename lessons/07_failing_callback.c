/* 07_failing_callback.c - a callback that fails does not hang the program.
 *
 * As in lesson 06, but the callback fails. The pool reports the failure on
 * stderr, marks the result unsuccessful, and main's wait still returns.
 * Run it with `make run-07`. Compare with lesson 06, where the callback works.
 */
#include "lesson.h"

/* [task] */
static pool_value task(const pool_value *args, size_t nargs)
{
    (void)nargs;
    lesson_say("Task %lld done.", args[0].as.i);
    return pool_none();
}

/* [callback] */
static pool_value result_callback(const pool_value *value, void *user_data)
{
    (void)value;
    (void)user_data;
    lesson_say("Callback running.");
    return pool_error("Something bad happened");
}

int main(void)
{
    pool_t *pool;
    pool_result *result;
    pool_opts opts = {.callback = result_callback};

    LESSON_TRY(pool_create(&pool, NULL));

    /* [submit] */
    LESSON_TRY(pool_map_async(pool, task, pool_range(5), &opts, &result));
    lesson_say("Main tasks issued.");

    /* [wait] */
    LESSON_TRY(pool_result_wait(result, POOL_FOREVER));
    lesson_say("Main tasks done.");

    /* [successful] */
    lesson_say("Main successful: %s",
               pool_result_successful(result) ? "True" : "False");

    /* [close-join] */
    LESSON_TRY(pool_close(pool));
    LESSON_TRY(pool_join(pool));

    pool_result_release(result);
    pool_destroy(pool);
    return 0;
}
