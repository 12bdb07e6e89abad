/* 01_sum_in_map_callback.c - a second correct answer to exercise 01, walking the list with a pointer, and reading the total once a wait on the handle returns instead of after the join. */
#include "lesson.h"

#define ITEMS 10

static pool_value square(const pool_value *args, size_t nargs)
{
    (void)nargs;
    return pool_int(args[0].as.i * args[0].as.i);
}

static pool_value sum_callback(const pool_value *value, void *user_data)
{
    long long *total = user_data;
    const pool_value *end = value->as.items + value->len;

    lesson_say("Callback got %u results.", (unsigned)value->len);
    for (const pool_value *item = value->as.items; item < end; item++)
        *total += item->as.i;
    lesson_say("Callback sum: %lld", *total);
    return pool_none();
}

int main(void)
{
    pool_t *pool;
    pool_result *result;
    long long total = 0;

    LESSON_TRY(pool_create(&pool, NULL));
    LESSON_TRY(pool_map_async(pool, square, pool_range(ITEMS),
                              &(pool_opts){.callback = sum_callback, .user_data = &total}, &result));

    /* The callbacks run before a wait on the handle returns. */
    LESSON_TRY(pool_result_wait(result, 10.0));
    pool_result_release(result);
    lesson_say("Main sum: %lld", total);

    LESSON_TRY(pool_close(pool));
    LESSON_TRY(pool_join(pool));
    pool_destroy(pool);
    return 0;
}
