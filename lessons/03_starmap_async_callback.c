/* 03_starmap_async_callback.c - tasks that take two arguments each.
 *
 * The main process draws the five random numbers and sends (id, value)
 * tuples; starmap_async unpacks each tuple into task()'s arguments.
 * Run it with `make run-03`. Compare with lesson 02, where tasks draw them.
 */
#include "lesson.h"

/* [task] */
static pool_value task(const pool_value *args, size_t nargs)
{
    long long id = args[0].as.i;
    double value = args[1].as.f;

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
    pool_value items = pool_list(5);

    lesson_seed();
    /* [items] */
    for (uint32_t i = 0; i < items.len; i++)
        items.as.items[i] = pool_tuple(2, pool_int(i), pool_float(lesson_random()));

    LESSON_TRY(pool_create(&pool, NULL));

    /* [submit] */
    LESSON_TRY(pool_starmap_async(pool, task, items, &opts, &result));

    /* [close-join] */
    LESSON_TRY(pool_close(pool));
    LESSON_TRY(pool_join(pool));

    pool_result_release(result);
    pool_destroy(pool);
    return 0;
}
