/* 04_follow_up_tasks.c - exercise: submit follow-up tasks from a callback.
 *
 * A first map cubes 0..4. For each cube, its callback must submit one
 * follow-up task, add_one(), whose callback stores the result and counts
 * it. Main waits until all five follow-ups are counted, prints them in
 * order, and only then closes and joins the pool.
 * Check it with `make exercise-04` (it also runs under ThreadSanitizer); the
 * statement is docs/exercises/04_follow_up_tasks.md. Lesson 10 shows
 * follow-up tasks that are waited for through their handles.
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

    /* TODO 3: store result in w->results[item] and add one to w->done,
     * both while holding w->lock, then signal w->changed. */
    (void)w;
    (void)item;
    (void)result;
    return pool_none();
}

static pool_value cube_callback(const pool_value *value, void *user_data)
{
    work *w = user_data;
    pool_task_fn follow_up = add_one;
    pool_opts follow_up_opts = {.callback = follow_up_callback, .user_data = w};

    lesson_say("Cubes: %s", lesson_repr(value).text);
    for (uint32_t i = 0; i < value->len; i++) {
        /* TODO 1: submit follow_up to w->pool with pool_apply_async() and
         * &follow_up_opts. Its args are the tuple (i, cube): copy the cube,
         * value->as.items[i], with pool_value_copy(), as the pool takes over
         * the args. Release the handle right away; if the submission fails,
         * return a pool_error() that says so. */
    }
    (void)follow_up;
    (void)follow_up_opts;
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

    /* TODO 2: wait, holding w.lock, until w.done reaches ITEMS. Keep the
     * lock while the line below is built from w.results. */
    len = snprintf(line, sizeof line, "Follow-ups:");
    for (int i = 0; i < ITEMS; i++)
        len += snprintf(line + len, sizeof line - (size_t)len, " %lld", w.results[i]);
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
