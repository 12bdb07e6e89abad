/* 10_process_results_as_they_arrive.c - a second right answer: one
 * for (;;) loop with a switch on what pool_iter_next() returned, the
 * counts kept in one array indexed by outcome.
 */
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
    pool_iter *it;
    pool_config config = {.processes = DOWNLOADS};
    long long next = 0;
    int count[2] = {0, 0}; /* [0]: results, [1]: failures */

    LESSON_TRY(pool_create(&pool, &config));
    LESSON_TRY(pool_imap_unordered(pool, download, next_item, &next, 0, &it));

    for (bool more = true; more;) {
        pool_value v = pool_none();
        int rc = pool_iter_next(it, 10.0, &v);
        size_t index = pool_iter_index(it);
        switch (rc) {
        case POOL_OK:
            lesson_say("Main got item %zu: %s", index, lesson_repr(&v).text);
            count[0]++;
            break;
        case POOL_ETASK:
            lesson_say("Main: item %zu failed: %s", index, v.as.s);
            count[1]++;
            break;
        case POOL_END:
            more = false;
            break;
        default:
            pool_value_free(&v);
            pool_iter_destroy(it);
            LESSON_TRY(rc);
        }
        pool_value_free(&v);
    }
    pool_iter_destroy(it);
    lesson_say("Main: %d results, %d failed.", count[0], count[1]);

    LESSON_TRY(pool_close(pool));
    LESSON_TRY(pool_join(pool));
    pool_destroy(pool);
    return 0;
}
