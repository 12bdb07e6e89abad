/* WRONG: main gets the list after the join and prints the callback's two lines itself, so no callback adds anything. Caught by: callback-lines */
#include "lesson.h"

#define ITEMS 10

static pool_value square(const pool_value *args, size_t nargs)
{
    (void)nargs;
    return pool_int(args[0].as.i * args[0].as.i);
}

int main(void)
{
    pool_t *pool;
    pool_result *result;
    const pool_value *value;
    long long total = 0;

    LESSON_TRY(pool_create(&pool, NULL));
    LESSON_TRY(pool_map_async(pool, square, pool_range(ITEMS), NULL, &result));
    LESSON_TRY(pool_close(pool));
    LESSON_TRY(pool_join(pool));

    LESSON_TRY(pool_result_get(result, 10.0, &value));
    lesson_say("Callback got %u results.", (unsigned)value->len);
    for (uint32_t i = 0; i < value->len; i++)
        total += value->as.items[i].as.i;
    lesson_say("Callback sum: %lld", total);
    lesson_say("Main sum: %lld", total);

    pool_result_release(result);
    pool_destroy(pool);
    return 0;
}
