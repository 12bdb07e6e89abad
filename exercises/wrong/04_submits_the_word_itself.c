/* WRONG: submits the callback's own word as the follow-up's argument, without pool_value_copy(), so the pool frees it twice. Caught by: owned-values|asan|crash */
#include "lesson.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ITEMS 5

/* What the callbacks share with main. The mutex guards everything below it. */
typedef struct work {
    pool_t *pool;
    pthread_mutex_t lock;
    pthread_cond_t changed; /* signalled whenever done grows */
    char *results[ITEMS];   /* follow-up results by item, main's own copies */
    int submitted;          /* follow-ups submitted by the first callback */
    int done;               /* follow-ups finished, failed ones included */
    int failed;             /* follow-ups that failed */
    char failure[160];      /* the first failed follow-up's error */
} work;

static const char *const words[ITEMS] = {"zero", "one", "two", "three", "four"};

static pool_value spell(const pool_value *args, size_t nargs)
{
    (void)nargs;
    return pool_str(words[args[0].as.i]);
}

/* A follow-up task: args are (item, word); it returns (item, WORD). */
static pool_value shout(const pool_value *args, size_t nargs)
{
    pool_value out = pool_tuple(2, pool_int(args[0].as.i), pool_str(args[1].as.s));

    (void)nargs;
    for (char *c = out.as.items[1].as.s; *c; c++)
        *c = (char)(*c - 'a' + 'A');
    return out;
}

static pool_value follow_up_callback(const pool_value *value, void *user_data)
{
    work *w = user_data;
    long long item = value->as.items[0].as.i;
    char *copy = strdup(value->as.items[1].as.s); /* the value dies with its handle */

    if (!copy)
        return pool_error("out of memory");
    pthread_mutex_lock(&w->lock);
    w->results[item] = copy;
    w->done++;
    pthread_cond_signal(&w->changed);
    pthread_mutex_unlock(&w->lock);
    return pool_none();
}

static pool_value follow_up_failed(const pool_value *error, void *user_data)
{
    work *w = user_data;

    pthread_mutex_lock(&w->lock);
    if (w->failed++ == 0)
        snprintf(w->failure, sizeof w->failure, "%s", error->as.s);
    w->done++;
    pthread_cond_signal(&w->changed);
    pthread_mutex_unlock(&w->lock);
    return pool_none();
}

static pool_value words_callback(const pool_value *value, void *user_data)
{
    work *w = user_data;
    pool_task_fn follow_up = shout;
    pool_opts follow_up_opts = {.callback = follow_up_callback,
                                .error_callback = follow_up_failed,
                                .user_data = w};

    lesson_say("Words: %s", lesson_repr(value).text);
    for (uint32_t i = 0; i < value->len; i++) {
        pool_value args = pool_tuple(2, pool_int(i), value->as.items[i]);
        pool_result *result;
        int err = pool_apply_async(w->pool, follow_up, args, &follow_up_opts, &result);

        if (err != POOL_OK)
            return pool_error("follow-up %u: %s", i, pool_strerror(err));
        pool_result_release(result);
        pthread_mutex_lock(&w->lock);
        w->submitted++;
        pthread_mutex_unlock(&w->lock);
    }
    return pool_none();
}

int main(void)
{
    work w = {.done = 0};
    pool_result *first;
    const pool_value *outcome;
    pool_opts opts = {.callback = words_callback, .user_data = &w};
    char line[128];
    int len, status = 0;

    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.changed, NULL);
    LESSON_TRY(pool_create(&w.pool, NULL));

    LESSON_TRY(pool_map_async(w.pool, spell, pool_range(ITEMS), &opts, &first));
    /* Once this returns, the first callback has run: submitted is final. */
    if (pool_result_get(first, 10.0, &outcome) != POOL_OK) {
        fprintf(stderr, "Main: the first stage failed: %s\n", outcome->as.s);
        status = 1;
    }

    pthread_mutex_lock(&w.lock);
    while (w.done < w.submitted)
        pthread_cond_wait(&w.changed, &w.lock);
    len = snprintf(line, sizeof line, "Follow-ups:");
    for (int i = 0; i < ITEMS; i++)
        len += snprintf(line + len, sizeof line - (size_t)len, " %s",
                        w.results[i] ? w.results[i] : "?");
    if (w.failed > 0) {
        fprintf(stderr, "Main: %d follow-up(s) failed, the first with: %s\n", w.failed,
                w.failure);
        status = 1;
    }
    pthread_mutex_unlock(&w.lock);
    lesson_say("%s", line);

    LESSON_TRY(pool_close(w.pool));
    LESSON_TRY(pool_join(w.pool));
    lesson_say("Main: pool closed and joined.");

    pool_result_release(first);
    pool_destroy(w.pool);
    for (int i = 0; i < ITEMS; i++)
        free(w.results[i]);
    pthread_cond_destroy(&w.changed);
    pthread_mutex_destroy(&w.lock);
    return status;
}
