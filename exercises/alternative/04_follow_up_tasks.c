/* 04_follow_up_tasks.c - a second correct answer to exercise 04, with no
 * counter and no condition variable: the words' callback keeps each
 * follow-up's handle, and main gets every one of them, with a time limit.
 * pool.h's rule that a submission's callbacks run before wait or get on its
 * handle returns orders each callback's writes before main's reads.
 */
#include "lesson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ITEMS 5

typedef struct work {
    pool_t *pool;
    pool_result *follow_ups[ITEMS]; /* written by the first callback only */
    char *results[ITEMS];           /* each written by its follow-up's callback */
} work;

static const char *const words[ITEMS] = {"zero", "one", "two", "three", "four"};

static pool_value spell(const pool_value *args, size_t nargs)
{
    (void)nargs;
    return pool_str(words[args[0].as.i]);
}

static pool_value shout(const pool_value *args, size_t nargs)
{
    char loud[16];
    size_t n = 0;

    (void)nargs;
    for (const char *c = args[1].as.s; *c && n + 1 < sizeof loud; c++)
        loud[n++] = (char)(*c - 'a' + 'A');
    loud[n] = '\0';
    return pool_tuple(2, pool_int(args[0].as.i), pool_str(loud));
}

static pool_value keep_result(const pool_value *value, void *user_data)
{
    work *w = user_data;
    const pool_value *item = &value->as.items[0], *word = &value->as.items[1];

    w->results[item->as.i] = strdup(word->as.s);
    return w->results[item->as.i] ? pool_none() : pool_error("out of memory");
}

static pool_value submit_follow_ups(const pool_value *value, void *user_data)
{
    work *w = user_data;
    pool_opts opts = {.callback = keep_result, .user_data = w};

    lesson_say("Words: %s", lesson_repr(value).text);
    for (uint32_t i = 0; i < value->len; i++) {
        pool_value word = pool_value_copy(&value->as.items[i]);
        int err = pool_apply_async(w->pool, shout, pool_tuple(2, pool_int(i), word), &opts,
                                   &w->follow_ups[i]);
        if (err != POOL_OK)
            return pool_error("follow-up %u: %s", i, pool_strerror(err));
    }
    return pool_none();
}

int main(void)
{
    work w = {.pool = NULL};
    pool_result *first;
    const pool_value *got;
    pool_opts opts = {.callback = submit_follow_ups, .user_data = &w};
    const pool_value *first_failure = NULL;
    char line[128] = "Follow-ups:";
    int failed = 0, status = 0;

    LESSON_TRY(pool_create(&w.pool, NULL));
    LESSON_TRY(pool_map_async(w.pool, spell, pool_range(ITEMS), &opts, &first));
    if (pool_result_get(first, 10.0, &got) != POOL_OK) {
        fprintf(stderr, "Main: the first stage failed: %s\n", got->as.s);
        status = 1;
    }

    for (int i = 0; i < ITEMS; i++) {
        if (!w.follow_ups[i]) /* never submitted */
            continue;
        if (pool_result_get(w.follow_ups[i], 10.0, &got) != POOL_OK && failed++ == 0)
            first_failure = got; /* valid until the handle is released */
    }
    if (failed > 0) {
        fprintf(stderr, "Main: %d follow-up(s) failed, the first with: %s\n", failed,
                first_failure->as.s);
        status = 1;
    }
    for (int i = 0; i < ITEMS; i++) {
        strcat(line, " ");
        strcat(line, w.results[i] ? w.results[i] : "?");
    }
    lesson_say("%s", line);

    LESSON_TRY(pool_close(w.pool));
    LESSON_TRY(pool_join(w.pool));
    lesson_say("Main: pool closed and joined.");

    for (int i = 0; i < ITEMS; i++) {
        if (w.follow_ups[i])
            pool_result_release(w.follow_ups[i]);
        free(w.results[i]);
    }
    pool_result_release(first);
    pool_destroy(w.pool);
    return status;
}
