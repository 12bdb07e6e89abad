/* 14_imap_unordered_results_as_they_finish.c - main takes each result the
 * moment its task ends.
 *
 * Four tasks start together on four workers; task 0 sleeps longest and
 * task 3 shortest. pool_imap_unordered() hands main each result as soon as
 * its task is done, so main handles item 3 first and item 0 last, and it
 * has handled three results before the last task ends. No callback is
 * involved: main itself gets the results, one pool_iter_next() at a time.
 * Run it with `make run-14`. Compare with lesson 02, where one callback
 * gets every result at once, in item order, after the last task.
 */
#include "lesson.h"

#define ITEMS 4

/* [task] Item i sleeps 0.2 + 0.4 * (3 - i) seconds: the higher, the sooner. */
static pool_value task(const pool_value *args, size_t nargs)
{
    (void)nargs;
    long long i = args[0].as.i;
    double seconds = 0.2 + 0.4 * (double)(ITEMS - 1 - i);
    lesson_say("Task %lld started, sleeping %.1f s.", i, seconds);
    lesson_sleep(seconds);
    lesson_say("Task %lld done.", i);
    return pool_int(i * i);
}

/* [input] The items, one at a time, as the pool asks for them. */
static bool next_item(void *state, pool_value *item)
{
    long long *next = state;
    if (*next == ITEMS)
        return false;
    *item = pool_int((*next)++);
    return true;
}

int main(void)
{
    pool_t *pool;
    pool_iter *it;
    long long next = 0;
    pool_config config = {.processes = ITEMS};

    LESSON_TRY(pool_create(&pool, &config));

    /* [submit] chunksize 1: each item goes to a worker alone. */
    LESSON_TRY(pool_imap_unordered(pool, task, next_item, &next, 1, &it));

    /* [main] Each result is handled the moment it arrives. */
    pool_value value;
    int rc;
    while ((rc = pool_iter_next(it, POOL_FOREVER, &value)) == POOL_OK) {
        lesson_say("Main got %s from item %zu.", lesson_repr(&value).text,
                   pool_iter_index(it));
        pool_value_free(&value);
    }
    if (rc != POOL_END)
        LESSON_TRY(rc);
    lesson_say("Main: no more results.");
    pool_iter_destroy(it);

    LESSON_TRY(pool_close(pool));
    LESSON_TRY(pool_join(pool));
    pool_destroy(pool);
    return 0;
}
