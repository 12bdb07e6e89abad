/* 05_sharing_data_with_callback.c - the callback shares main's globals.
 *
 * The callback runs in the main process, so it reads the global `data`
 * that main set, changes it, and main sees the change after pool_join().
 * Run it with `make run-05`. Compare with lesson 04: which process runs it.
 */
#include "lesson.h"

/* [data] No lock and no _Atomic: main reads `data` only before the pool
 * exists and after pool_join(), and the callback's write happens before
 * pool_join() returns (docs/05_sharing_data_with_callback.md says why). */
static double data;

/* [task] */
static pool_value task(const pool_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    lesson_sleep(1.0);
    return pool_none();
}

/* [callback] */
static pool_value result_callback(const pool_value *value, void *user_data)
{
    (void)value;
    (void)user_data;
    lesson_say("Callback data: %s", lesson_float(data).text);
    data = lesson_random();
    lesson_say("Callback data now: %s", lesson_float(data).text);
    return pool_none();
}

int main(void)
{
    pool_t *pool;
    pool_result *result;
    pool_opts opts = {.callback = result_callback};

    lesson_seed();
    data = lesson_random();
    lesson_say("Main data: %s", lesson_float(data).text);

    LESSON_TRY(pool_create(&pool, NULL));

    /* [submit] */
    LESSON_TRY(pool_apply_async(pool, task, pool_tuple(1, pool_int(0)), &opts,
                                &result));

    /* [close-join] */
    LESSON_TRY(pool_close(pool));
    LESSON_TRY(pool_join(pool));

    /* [after-join] */
    lesson_say("Main data: %s", lesson_float(data).text);

    pool_result_release(result);
    pool_destroy(pool);
    return 0;
}
