/* 11_cancel_what_has_not_started.c - exercise: take back work that has not
 * started.
 *
 * One worker is busy: task 0 has started and waits until main lets it go,
 * and the worker's queue is full behind it, so tasks 1 to 5 wait in the
 * parent. Main changes its mind: it cancels every task that has not
 * started, lets task 0 finish, and reports each handle. A cancelled task
 * never prints "started".
 * Check it with `make exercise-11`; the statement is
 * docs/exercises/11_cancel_what_has_not_started.md. Lesson 16 cancels.
 */
#include "lesson.h"

#define TASKS 6
static lesson_flag *flags; /* 0: task 0 has started; 1: main's go */

static pool_value task(const pool_value *args, size_t nargs)
{
    long long n = args[0].as.i;
    (void)nargs;
    lesson_say("Task %lld started.", n);
    if (n == 0) {
        lesson_flag_raise(lesson_flag_at(flags, 0));
        lesson_flag_wait(lesson_flag_at(flags, 1));
    }
    return pool_int(n * n);
}

static pool_value quick(const pool_value *args, size_t nargs)
{
    (void)args, (void)nargs;
    return pool_none();
}

/* Task 0 starts, and POOL_MAX_SENT - 1 quick items fill the worker's queue. */
static void make_busy(pool_t *pool, pool_result **first, pool_result **filler)
{
    LESSON_TRY(pool_apply_async(pool, task, pool_tuple(1, pool_int(0)), NULL, first));
    pool_value items = pool_list(POOL_MAX_SENT - 1);
    for (uint32_t i = 0; i < items.len; i++)
        items.as.items[i] = pool_none();
    LESSON_TRY(pool_map_async(pool, quick, items, &(pool_opts){.chunksize = 1}, filler));
    lesson_flag_wait(lesson_flag_at(flags, 0));
}

int main(void)
{
    pool_t *pool;
    pool_result *results[TASKS], *filler;
    int cancelled = 0;

    flags = lesson_flags_new(2);
    LESSON_TRY(pool_create(&pool, &(pool_config){.processes = 1}));
    make_busy(pool, &results[0], &filler);
    for (int i = 1; i < TASKS; i++)
        LESSON_TRY(pool_apply_async(pool, task, pool_tuple(1, pool_int(i)), NULL, &results[i]));

    /* shutdown(cancel_pending) cancels what cancel would, then closes. A
     * cancelled handle becomes ready at once, failed; task 0's waits. */
    LESSON_TRY(pool_shutdown(pool, false, true));
    for (int i = 0; i < TASKS; i++)
        if (pool_result_wait(results[i], 0.5) == POOL_OK && !pool_result_successful(results[i]))
            cancelled++;
    lesson_say("Main: cancelled %d of %d tasks.", cancelled, TASKS);

    lesson_flag_raise(lesson_flag_at(flags, 1)); /* task 0 may finish now */

    LESSON_TRY(pool_join(pool)); /* shutdown closed it already */

    for (int i = 0; i < TASKS; i++) {
        const pool_value *value;
        int err = pool_result_get(results[i], 10.0, &value);
        lesson_say("Handle %d: successful %s, %s", i,
                   pool_result_successful(results[i]) ? "True" : "False",
                   err == POOL_ETIMEDOUT ? "no value yet" : lesson_repr(value).text);
        pool_result_release(results[i]);
    }
    pool_result_release(filler);
    pool_destroy(pool);
    lesson_flags_free(flags, 2);
    return 0;
}
