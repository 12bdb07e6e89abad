/* 04_follow_up_tasks.c - reference solution of exercise 04.
 *
 * The cubes' callback submits one add_one() per cube; each follow-up's
 * callback stores its result and counts it under the mutex, and main waits
 * on the condition variable until all five are in.
 * Students work on exercises/04_follow_up_tasks.c.
 */
#include "lesson.h"

#include <pthread.h>
#include <stdio.h>

#define ITEMS 5

/* What the callbacks share with main. The mutex guards results and done. */
typedef struct work {
    pool_t *pool;
    pthread_mutex_t lock;
    pthread_cond_t changed;   /* signalled whenever done grows */
    long long results[ITEMS]; /* follow-up results, by item */
    int done;                 /* follow-up results stored so far */
} work;

static pool_value cube(const pool_value *args, size_t nargs)
{
    long long n = args[0].as.i;

    (void)nargs;
    return pool_int(n * n * n);
}

/* A follow-up task: args are (item, cube); it returns (item, cube + 1). */
static pool_value add_one(const pool_value *args, size_t nargs)
{
    (void)nargs;
    return pool_tuple(2, pool_int(args[0].as.i), pool_int(args[1].as.i + 1));
}

static pool_value follow_up_callback(const pool_value *value, void *user_data)
{
    work *w = user_data;
    long long item = value->as.items[0].as.i;
    long long result = value->as.items[1].as.i;

    pthread_mutex_lock(&w->lock);
    w->results[item] = result;
    w->done++;
    pthread_cond_signal(&w->changed);
    pthread_mutex_unlock(&w->lock);
    return pool_none();
}

static pool_value cube_callback(const pool_value *value, void *user_data)
{
    work *w = user_data;
    pool_task_fn follow_up = add_one;
    pool_opts follow_up_opts = {.callback = follow_up_callback, .user_data = w};

    lesson_say("Cubes: %s", lesson_repr(value).text);
    for (uint32_t i = 0; i < value->len; i++) {
        pool_value args = pool_tuple(2, pool_int(i), pool_value_copy(&value->as.items[i]));
        pool_result *result;
        int err = pool_apply_async(w->pool, follow_up, args, &follow_up_opts, &result);

        if (err != POOL_OK)
            return pool_error("follow-up %u: %s", i, pool_strerror(err));
        pool_result_release(result);
    }
    return pool_none();
}

int main(void)
{
    work w = {.done = 0};
    pool_result *first;
    pool_opts opts = {.callback = cube_callback, .user_data = &w};
    char line[128];
    int len;

    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.changed, NULL);
    for (int i = 0; i < ITEMS; i++)
        w.results[i] = -1;
    LESSON_TRY(pool_create(&w.pool, NULL));

    LESSON_TRY(pool_map_async(w.pool, cube, pool_range(ITEMS), &opts, &first));
    LESSON_TRY(pool_result_wait(first, POOL_FOREVER));

    pthread_mutex_lock(&w.lock);
    while (w.done < ITEMS)
        pthread_cond_wait(&w.changed, &w.lock);
    len = snprintf(line, sizeof line, "Follow-ups:");
    for (int i = 0; i < ITEMS; i++)
        len += snprintf(line + len, sizeof line - (size_t)len, " %lld", w.results[i]);
    pthread_mutex_unlock(&w.lock);
    lesson_say("%s", line);

    LESSON_TRY(pool_close(w.pool));
    LESSON_TRY(pool_join(w.pool));
    lesson_say("Main: pool closed and joined.");

    pool_result_release(first);
    pool_destroy(w.pool);
    pthread_cond_destroy(&w.changed);
    pthread_mutex_destroy(&w.lock);
    return 0;
}
