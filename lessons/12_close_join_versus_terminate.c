/* 12_close_join_versus_terminate.c - two ways to end a pool with work in it.
 *
 * The same five slow tasks, a second each, go to two pools of five workers.
 * The first pool is closed and joined: every task finishes. The second is
 * terminated at once: its workers are killed, and every unfinished handle
 * becomes ready and unsuccessful, with the error "terminated".
 * Run it with `make run-12`. Compare with lesson 02, which closes and joins.
 */
#include "lesson.h"

#define TASKS 5

/* [task] */
static pool_value task(const pool_value *args, size_t nargs)
{
    long long n = args[0].as.i;

    (void)nargs;
    lesson_sleep(1.0);
    lesson_say("Task %lld done.", n);
    return pool_int(n * n);
}

static void submit_all(pool_t *pool, pool_result *results[TASKS])
{
    for (int i = 0; i < TASKS; i++)
        LESSON_TRY(pool_apply_async(pool, task, pool_tuple(1, pool_int(i)), NULL,
                                    &results[i]));
}

/* [report] The handles are all ready by now, so get does not wait. */
static void report(const char *how, pool_result *results[TASKS])
{
    for (int i = 0; i < TASKS; i++) {
        const pool_value *value;
        int err = pool_result_get(results[i], 0.0, &value);

        lesson_say("After %s, handle %d: ready %s, successful %s, %s", how, i,
                   pool_result_ready(results[i]) ? "True" : "False",
                   pool_result_successful(results[i]) ? "True" : "False",
                   err == POOL_ETIMEDOUT ? "no value yet" : lesson_repr(value).text);
        pool_result_release(results[i]);
    }
}

int main(void)
{
    pool_t *pool;
    pool_result *results[TASKS];
    pool_config config = {.processes = TASKS};

    /* [close-join] */
    LESSON_TRY(pool_create(&pool, &config));
    submit_all(pool, results);
    lesson_say("Main: close and join.");
    LESSON_TRY(pool_close(pool));
    LESSON_TRY(pool_join(pool));
    report("join", results);
    pool_destroy(pool);

    /* [terminate] */
    LESSON_TRY(pool_create(&pool, &config));
    submit_all(pool, results);
    lesson_say("Main: terminate.");
    LESSON_TRY(pool_terminate(pool));
    LESSON_TRY(pool_join(pool));
    report("terminate", results);
    pool_destroy(pool);
    return 0;
}
