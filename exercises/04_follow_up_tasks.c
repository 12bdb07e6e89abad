/* 04_follow_up_tasks.c - exercise: submit follow-up tasks from a callback.
 *
 * A first map spells 0..4 as words. For each word, its callback must submit
 * one follow-up task, shout(), whose callback keeps the result and counts
 * it. Main waits until every follow-up that was submitted is counted,
 * prints the results in order, and only then closes and joins the pool.
 * Any stage may fail: then the program must still end, with a message on
 * stderr and exit status 1; the check makes stages fail on purpose.
 * Check it with `make exercise-04` (it also runs under ThreadSanitizer and
 * AddressSanitizer); the statement is docs/exercises/04_follow_up_tasks.md.
 * Lesson 10 shows follow-up tasks that are waited for through their handles.
 */
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
    const char *word = value->as.items[1].as.s;

    /* TODO 3: keep a copy of word in w->results[item] (strdup(): the value
     * is freed with its handle), add one to w->done, both while holding
     * w->lock, then signal w->changed. */
    (void)w;
    (void)item;
    (void)word;
    return pool_none();
}

static pool_value follow_up_failed(const pool_value *error, void *user_data)
{
    work *w = user_data;

    /* TODO 4: a failed follow-up is finished too. Holding w->lock, add
     * one to w->failed and to w->done, keep the first error's text in
     * w->failure, then signal w->changed. */
    (void)w;
    (void)error;
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
        /* TODO 1: submit follow_up to w->pool with pool_apply_async() and
         * &follow_up_opts. Its args are the tuple (i, word): copy the word,
         * value->as.items[i], with pool_value_copy(), as the pool takes
         * over the args. Release the handle right away, and count it in
         * w->submitted under w->lock. If the submission fails, return a
         * pool_error() that says so: the pool reports it, and main sees
         * that the first stage failed. */
    }
    (void)follow_up;
    (void)follow_up_opts;
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

    /* TODO 2: wait, holding w.lock, until w.done reaches w.submitted, and
     * keep the lock while the lines below read w.results and w.failed. */
    len = snprintf(line, sizeof line, "Follow-ups:");
    for (int i = 0; i < ITEMS; i++)
        len += snprintf(line + len, sizeof line - (size_t)len, " %s",
                        w.results[i] ? w.results[i] : "?");
    if (w.failed > 0) {
        fprintf(stderr, "Main: %d follow-up(s) failed, the first with: %s\n", w.failed,
                w.failure);
        status = 1;
    }
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
