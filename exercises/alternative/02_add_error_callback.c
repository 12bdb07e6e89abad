/* 02_add_error_callback.c - a second correct answer to exercise 02, with one report callback for both outcomes, told apart by the value's type, and a get with a time limit in place of the wait. */
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

/* The pool calls it with the result list, or with the error value. */
static pool_value report_callback(const pool_value *value, void *user_data)
{
    (void)user_data;
    if (value->type == POOL_ERROR)
        lesson_say("Error callback got: %s", value->as.s);
    else
        lesson_say("Callback got: %s", lesson_repr(value).text);
    return pool_none();
}

int main(void)
{
    pool_t *pool;
    pool_result *result;
    const pool_value *outcome;
    pool_opts opts = {.callback = report_callback, .error_callback = report_callback};
    int err;

    LESSON_TRY(pool_create(&pool, NULL));
    LESSON_TRY(pool_map_async(pool, check_reading, pool_range(READINGS), &opts, &result));
    err = pool_result_get(result, 10.0, &outcome);
    if (err == POOL_ETIMEDOUT)
        lesson_try(err, "pool_result_get(result, 10.0, &outcome)");
    lesson_say("Main successful: %s", err == POOL_OK ? "True" : "False");
    pool_result_release(result);

    LESSON_TRY(pool_close(pool));
    LESSON_TRY(pool_join(pool));
    pool_destroy(pool);
    return 0;
}
