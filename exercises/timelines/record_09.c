/* record_09.c - the run whose traces exercise 09 gives its students.
 *
 * Two workers, three submissions. Job 1 is one task whose callback sleeps
 * a long time; job 2 is a map whose callback sleeps a shorter time; job 3
 * is a map of six items of different lengths, with a quick callback (15 ms). Its
 * results come back while the slow callbacks hold the result-handler
 * thread, so its callback waits behind them. The variant (a, b or c) changes
 * the lengths, so that each trace has other answers; in c every task is
 * instant, so that job 3's last result may be read before job 1's callback
 * has started (09_c.json is a run where it was).
 * It is not an exercise and prints nothing: it exists to be traced.
 *     make build/exercises/timelines/record_09
 *     POOL_TRACE=exercises/timelines/09_a.json build/exercises/timelines/record_09 a
 * Compare with lesson 13, where one slow callback holds up the others.
 */
#include "lesson.h"

#include <stdio.h>
#include <string.h>

#define ITEMS 6

typedef struct variant {
    const char *name;
    double job1_task, job1_callback;       /* seconds */
    long job2_items;                       /* job 2 maps this many items */
    double job2_task, job2_callback;
    double job3_tasks[ITEMS];              /* job 3's items, each this long */
    double before_job3;                    /* main sleeps this long first */
} variant;

static const variant variants[] = {
    {"a", 0.020, 0.250, 4, 0.030, 0.150, {0.040, 0.120, 0.060, 0.090, 0.030, 0.100}, 0.0},
    {"b", 0.030, 0.300, 5, 0.020, 0.100, {0.060, 0.030, 0.050, 0.040, 0.070, 0.020}, 0.0},
    {"c", 0.000, 0.200, 3, 0.000, 0.180, {0.000, 0.000, 0.000, 0.000, 0.000, 0.000}, 0.0},
};

/* A task sleeps for its argument, in seconds, and returns it. */
static pool_value nap(const pool_value *args, size_t nargs)
{
    (void)nargs;
    lesson_sleep(args[0].as.f);
    return pool_float(args[0].as.f);
}

/* user_data: how long the callback sleeps, in seconds. */
static pool_value sleepy_callback(const pool_value *value, void *user_data)
{
    (void)value;
    lesson_sleep(*(const double *)user_data);
    return pool_none();
}

/* n items, each of the same length t, or of the lengths in ts. */
static pool_value lengths(long n, double t, const double *ts)
{
    pool_value items = pool_list((size_t)n);

    for (long i = 0; i < n; i++)
        items.as.items[i] = pool_float(ts ? ts[i] : t);
    return items;
}

int main(int argc, char **argv)
{
    const variant *v = NULL;
    pool_t *pool;
    pool_result *results[3];
    pool_config config = {.processes = 2};

    for (size_t i = 0; argc == 2 && i < sizeof variants / sizeof variants[0]; i++)
        if (strcmp(argv[1], variants[i].name) == 0)
            v = &variants[i];
    if (!v) {
        fprintf(stderr, "usage: POOL_TRACE=FILE %s a|b|c\n", argv[0]);
        return 2;
    }

    LESSON_TRY(pool_create(&pool, &config));

    pool_opts opts1 = {.callback = sleepy_callback, .user_data = (void *)&v->job1_callback};
    LESSON_TRY(pool_apply_async(pool, nap, pool_tuple(1, pool_float(v->job1_task)), &opts1,
                                &results[0]));
    pool_opts opts2 = {.chunksize = 1, .callback = sleepy_callback,
                       .user_data = (void *)&v->job2_callback};
    LESSON_TRY(pool_map_async(pool, nap, lengths(v->job2_items, v->job2_task, NULL), &opts2,
                              &results[1]));
    if (v->before_job3 > 0)
        lesson_sleep(v->before_job3);
    static const double job3_callback = 0.015;
    pool_opts opts3 = {.chunksize = 1, .callback = sleepy_callback,
                       .user_data = (void *)&job3_callback};
    LESSON_TRY(pool_map_async(pool, nap, lengths(ITEMS, 0, v->job3_tasks), &opts3, &results[2]));

    for (int i = 0; i < 3; i++)
        LESSON_TRY(pool_result_wait(results[i], POOL_FOREVER));
    LESSON_TRY(pool_close(pool));
    LESSON_TRY(pool_join(pool));
    for (int i = 0; i < 3; i++)
        pool_result_release(results[i]);
    pool_destroy(pool);
    return 0;
}
