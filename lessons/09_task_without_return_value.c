/* 09_task_without_return_value.c - the callback runs when a task returns nothing.
 *
 * The task only prints; it returns pool_none(), C's spelling of a Python
 * function that ends without a return. The callback still runs, and what it
 * gets is None.
 * Run it with `make run-09`. Compare with lesson 01, whose task returns a number.
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
    (void)user_data;
    lesson_say("Callback got: %s", lesson_repr(value).text);
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

    /* [close-join] */
    LESSON_TRY(pool_close(pool));
    LESSON_TRY(pool_join(pool));

    /* [successful] */
    lesson_say("Main successful: %s",
               pool_result_successful(result) ? "True" : "False");

    pool_result_release(result);
    pool_destroy(pool);
    return 0;
}
