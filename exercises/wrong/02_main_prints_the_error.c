/* WRONG: main fetches the error with pool_result_get() and prints the "Error callback got:" line itself; there is no error callback. Caught by: callback-lines */
#include "lesson.h"

#define READINGS 6

static pool_value check_reading(const pool_value *args, size_t nargs)
{
    long long n = args[0].as.i;

    (void)nargs;
    if (n == 4)
        return pool_error("reading %lld is broken", n);
    return pool_int(100 + n);
}

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
    const pool_value *error;
    pool_opts opts = {.callback = result_callback};

    LESSON_TRY(pool_create(&pool, NULL));
    LESSON_TRY(pool_map_async(pool, check_reading, pool_range(READINGS), &opts, &result));
    if (pool_result_get(result, POOL_FOREVER, &error) == POOL_ETASK)
        lesson_say("Error callback got: %s", error->as.s);
    lesson_say("Main successful: %s", pool_result_successful(result) ? "True" : "False");

    LESSON_TRY(pool_close(pool));
    LESSON_TRY(pool_join(pool));
    pool_result_release(result);
    pool_destroy(pool);
    return 0;
}
