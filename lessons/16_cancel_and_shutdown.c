/* 16_cancel_and_shutdown.c - taking back work that has not started.
 *
 * A pool of one worker runs a task that waits for main's go. Behind it,
 * the worker is sent POOL_MAX_SENT - 1 quick items: the most a worker is
 * sent ahead. What main submits next waits in the parent, so it can be
 * cancelled: it never reaches a worker, and its handle fails "cancelled".
 * The started task cannot be cancelled; it finishes. Then the same pool is
 * ended twice more: pool_shutdown(cancel_pending) lets the started task
 * finish and cancels the queued one; pool_terminate() kills the started
 * task and fails the queued one too, "terminated".
 * Run it with `make run-16`. Compare with lesson 12.
 */
#include "lesson.h"

enum { POOLS = 3 };
static lesson_flag *started, *go; /* one flag each per pool, shared with the worker */

/* [task] Task n prints when it starts; the first of each pool then waits
 * for main's go. */
static pool_value task(const pool_value *args, size_t nargs)
{
    long long n = args[0].as.i;
    (void)nargs;
    lesson_say("Task %lld started.", n);
    if (n % 2 == 1) { /* tasks 1, 3 and 5: the started ones */
        lesson_flag_raise(lesson_flag_at(started, (int)(n / 2)));
        lesson_flag_wait(lesson_flag_at(go, (int)(n / 2)));
    }
    return pool_int(n * 10);
}

static pool_value quick(const pool_value *args, size_t nargs)
{
    (void)args, (void)nargs;
    return pool_none();
}

/* [busy] Task first starts, and the worker's queue is full behind it. */
static void make_busy(pool_t *pool, int first, pool_result **started_one, pool_result **filler)
{
    LESSON_TRY(pool_apply_async(pool, task, pool_tuple(1, pool_int(first)), NULL, started_one));
    pool_value items = pool_list(POOL_MAX_SENT - 1);
    for (uint32_t i = 0; i < items.len; i++)
        items.as.items[i] = pool_none();
    LESSON_TRY(pool_map_async(pool, quick, items, &(pool_opts){.chunksize = 1}, filler));
    lesson_flag_wait(lesson_flag_at(started, first / 2));
}

static void report(const char *when, int n, pool_result *result)
{
    const pool_value *value;
    pool_result_get(result, POOL_FOREVER, &value); /* the value or the error, either way */
    lesson_say("%s, task %d: successful %s, %s", when, n,
               pool_result_successful(result) ? "True" : "False", lesson_repr(value).text);
    pool_result_release(result);
}

int main(void)
{
    pool_t *pool;
    pool_result *first, *filler, *queued[2];
    pool_config config = {.processes = 1};
    started = lesson_flags_new(POOLS);
    go = lesson_flags_new(POOLS);

    /* [cancel] */
    LESSON_TRY(pool_create(&pool, &config));
    make_busy(pool, 1, &first, &filler);
    LESSON_TRY(pool_apply_async(pool, task, pool_tuple(1, pool_int(2)), NULL, &queued[0]));
    LESSON_TRY(pool_apply_async(pool, task, pool_tuple(1, pool_int(4)), NULL, &queued[1]));
    lesson_say("Main: cancel task 1: %s", pool_result_cancel(first) ? "True" : "False");
    lesson_say("Main: cancel task 2: %s", pool_result_cancel(queued[0]) ? "True" : "False");
    lesson_say("Main: cancel task 4: %s", pool_result_cancel(queued[1]) ? "True" : "False");
    lesson_flag_raise(lesson_flag_at(go, 0));
    report("After cancel", 1, first);
    report("After cancel", 2, queued[0]);
    report("After cancel", 4, queued[1]);
    LESSON_TRY(pool_close(pool));
    LESSON_TRY(pool_join(pool));
    pool_result_release(filler);
    pool_destroy(pool);

    /* [shutdown] It cancels what cancel would, then closes. Without wait
     * it returns at once, so main can say go; join then waits as wait would. */
    LESSON_TRY(pool_create(&pool, &config));
    make_busy(pool, 3, &first, &filler);
    LESSON_TRY(pool_apply_async(pool, task, pool_tuple(1, pool_int(6)), NULL, &queued[0]));
    lesson_say("Main: shutdown(wait=False, cancel_pending=True).");
    LESSON_TRY(pool_shutdown(pool, false, true));
    lesson_flag_raise(lesson_flag_at(go, 1));
    LESSON_TRY(pool_join(pool));
    report("After shutdown", 3, first);
    report("After shutdown", 6, queued[0]);
    pool_result_release(filler);
    pool_destroy(pool);

    /* [terminate] */
    LESSON_TRY(pool_create(&pool, &config));
    make_busy(pool, 5, &first, &filler);
    LESSON_TRY(pool_apply_async(pool, task, pool_tuple(1, pool_int(8)), NULL, &queued[0]));
    lesson_say("Main: terminate.");
    LESSON_TRY(pool_terminate(pool));
    LESSON_TRY(pool_join(pool));
    report("After terminate", 5, first);
    report("After terminate", 8, queued[0]);
    pool_result_release(filler);
    pool_destroy(pool);

    lesson_flags_free(started, POOLS);
    lesson_flags_free(go, POOLS);
    return 0;
}
