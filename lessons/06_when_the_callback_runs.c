/* 06_when_the_callback_runs.c - the callback runs before the wait returns.
 *
 * Five tasks print as they finish; the callback runs once, after the last
 * of them, and only then does pool_result_wait() let main go on.
 * Run it with `make run-06`. Compare with lesson 02, which never waits.
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
    lesson_say("Callback done.");
    return pool_none();
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

    /* [close-join] */
    LESSON_TRY(pool_close(pool));
    LESSON_TRY(pool_join(pool));

    pool_result_release(result);
    pool_destroy(pool);
    return 0;
}
