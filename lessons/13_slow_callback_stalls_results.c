/* 13_slow_callback_stalls_results.c - a slow callback delays every later one.
 *
 * Three tasks run on one worker and finish almost at once. Task 0's callback
 * sleeps for half a second. The results of tasks 1 and 2 are back by then,
 * but their callbacks, and so their handles, wait for it: one thread runs
 * every callback of the pool, one at a time.
 * Run it with `make run-13`. Compare with lesson 06, one quick callback.
 */
#include "lesson.h"

#define TASKS 3

/* [task] */
static pool_value task(const pool_value *args, size_t nargs)
{
    (void)nargs;
    lesson_say("Task %lld done.", args[0].as.i);
    return pool_int(10 * args[0].as.i);
}

/* [callbacks] user_data says which task a callback is about. */
static pool_value slow_callback(const pool_value *value, void *user_data)
{
    int id = *(const int *)user_data;

    lesson_say("Callback %d got %s on %s; sleeping 0.5 s.", id,
               lesson_repr(value).text, lesson_thread().text);
    lesson_sleep(0.5);
    lesson_say("Callback %d done.", id);
    return pool_none();
}

static pool_value quick_callback(const pool_value *value, void *user_data)
{
    lesson_say("Callback %d got %s on %s.", *(const int *)user_data,
               lesson_repr(value).text, lesson_thread().text);
    return pool_none();
}

int main(void)
{
    static const int ids[TASKS] = {0, 1, 2};
    pool_t *pool;
    pool_result *results[TASKS];
    pool_config config = {.processes = 1};

    LESSON_TRY(pool_create(&pool, &config));

    /* [submit] */
    for (int i = 0; i < TASKS; i++) {
        pool_opts opts = {.callback = i == 0 ? slow_callback : quick_callback,
                          .user_data = (void *)&ids[i]};
        LESSON_TRY(pool_apply_async(pool, task, pool_tuple(1, pool_int(i)), &opts,
                                    &results[i]));
    }

    /* [wait] */
    for (int i = 0; i < TASKS; i++)
        LESSON_TRY(pool_result_wait(results[i], POOL_FOREVER));
    lesson_say("Main: every handle is ready.");

    /* [close-join] */
    LESSON_TRY(pool_close(pool));
    LESSON_TRY(pool_join(pool));

    for (int i = 0; i < TASKS; i++)
        pool_result_release(results[i]);
    pool_destroy(pool);
    return 0;
}
