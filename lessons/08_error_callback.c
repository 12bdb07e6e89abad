/* 08_error_callback.c - a task that fails calls the error callback instead.
 *
 * Five tasks divide 12 by (3 - n); task 3 divides by zero and fails. The
 * error callback runs once, with a message naming task 3; the result
 * callback never runs, and the handle reports the failure.
 * Run it with `make run-08`. Compare with lesson 07, where the callback fails.
 */
#include "lesson.h"

/* [task] */
static pool_value task(const pool_value *args, size_t nargs)
{
    long long n = args[0].as.i;

    (void)nargs;
    if (n == 3)
        return pool_error("division by zero");
    return pool_int(12 / (3 - n));
}

/* [callback] */
static pool_value result_callback(const pool_value *value, void *user_data)
{
    (void)user_data;
    lesson_say("Callback got: %s", lesson_repr(value).text);
    return pool_none();
}

/* [error-callback] */
static pool_value error_callback(const pool_value *error, void *user_data)
{
    (void)user_data;
    lesson_say("Error callback got: %s", error->as.s);
    return pool_none();
}

int main(void)
{
    pool_t *pool;
    pool_result *result;
    const pool_value *value;
    int err;
    pool_opts opts = {.callback = result_callback, .error_callback = error_callback};

    LESSON_TRY(pool_create(&pool, NULL));

    /* [submit] */
    LESSON_TRY(pool_map_async(pool, task, pool_range(5), &opts, &result));
    lesson_say("Main tasks issued.");

    /* [get] */
    err = pool_result_get(result, POOL_FOREVER, &value);
    lesson_say("Main get: %s, %s", pool_strerror(err), lesson_repr(value).text);
    lesson_say("Main successful: %s",
               pool_result_successful(result) ? "True" : "False");

    /* [close-join] */
    LESSON_TRY(pool_close(pool));
    LESSON_TRY(pool_join(pool));

    pool_result_release(result);
    pool_destroy(pool);
    return 0;
}
