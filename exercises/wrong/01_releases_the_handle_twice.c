/* WRONG: the handle is given back twice, and the second time the pool has already freed it. Caught by: handles */
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

    lesson_say("Callback got %u results.", (unsigned)value->len);
    for (uint32_t i = 0; i < value->len; i++)
        *total += value->as.items[i].as.i;
    lesson_say("Callback sum: %lld", *total);
    return pool_none();
}

int main(void)
{
    pool_t *pool;
    pool_result *result;
    long long total = 0;
    pool_opts opts = {.callback = sum_callback, .user_data = &total};

    LESSON_TRY(pool_create(&pool, NULL));
    LESSON_TRY(pool_map_async(pool, square, pool_range(ITEMS), &opts, &result));
    LESSON_TRY(pool_close(pool));
    LESSON_TRY(pool_join(pool));

    /* After pool_join() the callback has returned, so main may read total. */
    lesson_say("Main sum: %lld", total);

    pool_result_release(result);
    pool_result_release(result); /* to be sure it is given back */
    pool_destroy(pool);
    return 0;
}
