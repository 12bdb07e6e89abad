/* WRONG: one map_async of all five, handled in its callback after the last task. Caught by: ARRIVE|callback-lines */
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

/* The whole list, or the first error, once every task is done. */
static pool_value all_done(const pool_value *value, void *user_data)
{
    (void)user_data;
    for (uint32_t i = 0; value->type == POOL_LIST && i < value->len; i++)
        lesson_say("Main got item %u: %s", i, lesson_repr(&value->as.items[i]).text);
    if (value->type == POOL_ERROR)
        lesson_say("Main: item 3 failed: %s", value->as.s);
    return pool_none();
}

int main(void)
{
    pool_t *pool;
    pool_result *r;
    pool_config config = {.processes = DOWNLOADS};
    pool_opts opts = {.callback = all_done, .error_callback = all_done, .chunksize = 1};

    LESSON_TRY(pool_create(&pool, &config));
    LESSON_TRY(pool_map_async(pool, download, pool_range(DOWNLOADS), &opts, &r));
    LESSON_TRY(pool_result_wait(r, 10.0));
    pool_result_release(r);
    lesson_say("Main: 4 results, 1 failed.");

    LESSON_TRY(pool_close(pool));
    LESSON_TRY(pool_join(pool));
    pool_destroy(pool);
    return 0;
}
