/* 02_map_async_callback.c - five tasks, one callback with all five results.
 *
 * map_async runs task() once for each of 0..4; when the last one is done
 * the callback gets one list of the results, in the order of the items.
 * Run it with `make run-02`. Compare with lesson 01, which submits one task.
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
    for (uint32_t i = 0; i < value->len; i++)
        lesson_say("Callback got: %s", lesson_repr(&value->as.items[i]).text);
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

    /* [close-join] */
    LESSON_TRY(pool_close(pool));
    LESSON_TRY(pool_join(pool));

    pool_result_release(result);
    pool_destroy(pool);
    return 0;
}
