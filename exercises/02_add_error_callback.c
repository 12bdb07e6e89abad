/* 02_add_error_callback.c - exercise: give a map an error callback.
 *
 * Six readings are checked in the workers; reading 4 is broken, so its task
 * fails. As shipped, nothing reports why: main only learns that the map
 * failed. Add an error callback that prints the pool's message.
 * Check it with `make exercise-02`; the statement is
 * docs/exercises/02_add_error_callback.md. Lesson 08 shows error callbacks.
 */
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

/* TODO 1: write an error callback, with the same signature as
 * result_callback(), that prints one line:
 *     Error callback got: <the error's text, error->as.s>
 * and returns pool_none(). */

int main(void)
{
    pool_t *pool;
    pool_result *result;
    /* TODO 2: hand your error callback to the pool here, too. */
    pool_opts opts = {.callback = result_callback};

    LESSON_TRY(pool_create(&pool, NULL));
    LESSON_TRY(pool_map_async(pool, check_reading, pool_range(READINGS), &opts, &result));
    LESSON_TRY(pool_result_wait(result, POOL_FOREVER));
    lesson_say("Main successful: %s", pool_result_successful(result) ? "True" : "False");

    LESSON_TRY(pool_close(pool));
    LESSON_TRY(pool_join(pool));
    pool_result_release(result);
    pool_destroy(pool);
    return 0;
}
