/* 11_worker_crash.c - a worker that crashes fails one task, not the pool.
 *
 * Five tasks go to a pool of one worker. Task 2 crashes the worker with
 * SIGSEGV. Its error callback names the signal and the worker; the pool
 * starts a new worker, which runs tasks 3 and 4, and their callbacks run.
 * Run it with `make run-11`. Compare with lesson 08, where a task fails politely.
 */
#include "lesson.h"

#include <signal.h>

#define TASKS 5

/* [task] raise() stands in for a NULL dereference: the worker dies of the
 * same signal, and no sanitizer stops it first as undefined behaviour. */
static pool_value task(const pool_value *args, size_t nargs)
{
    long long n = args[0].as.i;

    (void)nargs;
    if (n == 2) {
        lesson_say("Task 2 crashing in %s.", lesson_worker().text);
        raise(SIGSEGV);
    }
    lesson_say("Task %lld done in %s.", n, lesson_worker().text);
    return pool_int(10 * n);
}

/* [callbacks] user_data says which task a callback is about. */
static pool_value result_callback(const pool_value *value, void *user_data)
{
    lesson_say("Callback for task %d got: %s", *(const int *)user_data,
               lesson_repr(value).text);
    return pool_none();
}

static pool_value error_callback(const pool_value *error, void *user_data)
{
    lesson_say("Error callback for task %d got: %s", *(const int *)user_data,
               error->as.s);
    return pool_none();
}

int main(void)
{
    static const int ids[TASKS] = {0, 1, 2, 3, 4};
    pool_t *pool;
    pool_result *results[TASKS];
    pool_config config = {.processes = 1};

    LESSON_TRY(pool_create(&pool, &config));

    /* [submit] One submission per task, so one crash fails only one of them. */
    for (int i = 0; i < TASKS; i++) {
        pool_opts opts = {.callback = result_callback,
                          .error_callback = error_callback,
                          .user_data = (void *)&ids[i]};
        LESSON_TRY(pool_apply_async(pool, task, pool_tuple(1, pool_int(i)), &opts,
                                    &results[i]));
    }

    /* [close-join] */
    LESSON_TRY(pool_close(pool));
    LESSON_TRY(pool_join(pool));

    /* [successful] */
    for (int i = 0; i < TASKS; i++)
        lesson_say("Main task %d successful: %s", i,
                   pool_result_successful(results[i]) ? "True" : "False");

    for (int i = 0; i < TASKS; i++)
        pool_result_release(results[i]);
    pool_destroy(pool);
    return 0;
}
