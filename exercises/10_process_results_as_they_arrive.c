/* 10_process_results_as_they_arrive.c - exercise: handle each result the
 * moment its task is done, not after the slowest one.
 *
 * Five "downloads" run on five workers. Download 0 is the slowest and
 * download 3 fails. The starter uses pool_map(), which gives nothing until
 * every task is done, and fails as a whole when one task fails. Main
 * should instead print each result as soon as it arrives, report the
 * failed download with its index, and go on with the others.
 * Check it with `make exercise-10`; the statement is
 * docs/exercises/10_process_results_as_they_arrive.md. Lesson 14 shows
 * pool_imap_unordered().
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
    pool_config config = {.processes = DOWNLOADS};
    long long next = 0;
    int received = 0, failed = 0;

    LESSON_TRY(pool_create(&pool, &config));

    /* TODO 1: replace pool_map() by pool_imap_unordered() over next_item
     * (chunksize 1), and loop on pool_iter_next() with a 10-second limit.
     * For each POOL_OK print "Main got item I: VALUE" at once, with I
     * from pool_iter_index(); for each POOL_ETASK print
     * "Main: item I failed: MESSAGE" and go on; stop at POOL_END. */
    pool_value all = pool_range(DOWNLOADS), out;
    (void)next_item;
    (void)next;
    int err = pool_map(pool, download, all, NULL, &out);
    if (err == POOL_OK) {
        for (uint32_t i = 0; i < out.len; i++) {
            lesson_say("Main got item %u: %s", i, lesson_repr(&out.as.items[i]).text);
            received++;
        }
    } else {
        lesson_say("Main: map failed: %s", out.type == POOL_ERROR ? out.as.s : "");
        failed++;
    }
    pool_value_free(&out);

    /* TODO 2: give the iterator back with pool_iter_destroy(). */
    lesson_say("Main: %d results, %d failed.", received, failed);

    LESSON_TRY(pool_close(pool));
    LESSON_TRY(pool_join(pool));
    pool_destroy(pool);
    return 0;
}
