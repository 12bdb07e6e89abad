/* 01_apply_async_callback.c - one task, one result, one result callback.
 *
 * A worker process draws a random number, sleeps that long and returns it;
 * the pool hands the number to result_callback() back in this process.
 * Run it with `make run-01`. Lesson 02 submits five tasks instead of one.
 */
#include "lesson.h"

/* [task] */
static pool_value task(const pool_value *args, size_t nargs)
{
    long long id = args[0].as.i;
    double value = lesson_random();

    (void)nargs;
    lesson_say("Task %lld executing with %s", id, lesson_float(value).text);
    lesson_sleep(value);
    return pool_float(value);
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

    pool_result_release(result);
    pool_destroy(pool);
    return 0;
}
