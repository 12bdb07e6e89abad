/* WRONG: main numbers the results by arrival, not by pool_iter_index(). Caught by: ARRIVE */
#include "lesson.h"

#define DOWNLOADS 5

/* Download i takes seconds[i]; download 3 fails. */
static pool_value download(const pool_value *args, size_t nargs)
{
    static const double seconds[DOWNLOADS] = {1.2, 0.2, 0.6, 0.4, 0.8};
    (void)nargs;
    long long i = args[0].as.i;
    lesson_sleep(seconds[i]);
    lesson_say("Task %lld done.", i);
    if (i == 3)
        return pool_error("download %lld: connection reset", i);
    return pool_int(100 * (i + 1));
}

/* The items 0 .. DOWNLOADS - 1, one at a time. */
static bool next_item(void *state, pool_value *item)
{
    long long *next = state;
    if (*next == DOWNLOADS)
        return false;
    *item = pool_int((*next)++);
    return true;
}

int main(void)
{
    pool_t *pool;
    pool_config config = {.processes = DOWNLOADS};
    long long next = 0;
    int received = 0, failed = 0;

    LESSON_TRY(pool_create(&pool, &config));

    pool_iter *it;
    LESSON_TRY(pool_imap_unordered(pool, download, next_item, &next, 1, &it));
    pool_value value;
    int err;
    while ((err = pool_iter_next(it, 10.0, &value)) == POOL_OK || err == POOL_ETASK) {
        if (err == POOL_OK) {
            lesson_say("Main got item %d: %s", received + failed, lesson_repr(&value).text);
            received++;
        } else {
            lesson_say("Main: item %zu failed: %s", pool_iter_index(it), value.as.s);
            failed++;
        }
        pool_value_free(&value);
    }
    if (err != POOL_END)
        LESSON_TRY(err);

    pool_iter_destroy(it);
    lesson_say("Main: %d results, %d failed.", received, failed);

    LESSON_TRY(pool_close(pool));
    LESSON_TRY(pool_join(pool));
    pool_destroy(pool);
    return 0;
}
