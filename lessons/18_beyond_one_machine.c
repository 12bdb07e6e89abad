/* 18_beyond_one_machine.c - what changes when the workers are on other
 * hosts, and what stays.
 *
 * Main sets a global before and after pool_create(), then maps a task over
 * three items that hold bytes, text and a float. Each task says which value
 * of the global it sees and where it runs; the callback checks that every
 * item came back equal to the one sent, and says where it runs. Built as
 * usual, the workers are forked and see the global as it was at
 * pool_create(); built for MPI (docs/mpi.md), they are ranks of an MPI job
 * that never ran main(), and see it as it was at start-up. Run it with
 * `make run-18`. Compare with lesson 04: where the task and callback run.
 */
#include <stdlib.h>
#include <string.h>

#include "lesson.h"

#define ITEMS 3

/* [global] 1 at start-up. Main changes it before and after pool_create();
 * only main writes it, and a worker reads its own copy, so no lock. */
static long long setting = 1;

/* [task] */
static pool_value task(const pool_value *args, size_t nargs)
{
    const pool_value *item = &args[0];

    (void)nargs;
    lesson_say("Task %lld: setting=%lld %s", item->as.items[0].as.i, setting,
               lesson_process().text);
    return pool_value_copy(item);
}

/* [same] Two values are equal when they encode to the same bytes. */
static bool same_value(const pool_value *a, const pool_value *b)
{
    pool_buf x = {0}, y = {0};
    bool same;

    pool_encode(&x, a);
    pool_encode(&y, b);
    same = x.len == y.len && memcmp(x.data, y.data, x.len) == 0;
    free(x.data);
    free(y.data);
    return same;
}

/* [callback] */
static pool_value result_callback(const pool_value *value, void *user_data)
{
    const pool_value *sent = user_data;

    lesson_say("Callback Process: %s", lesson_process().text);
    lesson_say("Callback Thread: %s", lesson_thread().text);
    for (uint32_t i = 0; i < value->len; i++)
        lesson_say("Callback: item %u came back %s, equal to the one sent: %s", i,
                   lesson_repr(&value->as.items[i]).text,
                   same_value(&value->as.items[i], &sent->as.items[i]) ? "True" : "False");
    return pool_none();
}

/* [items] [i, bytes with a NUL and 0xff, text with a newline, a float] */
static pool_value make_items(void)
{
    static const unsigned char raw[] = {0x00, 0x01, 0x7f, 0x80, 0xff};
    pool_value items = pool_list(ITEMS);

    for (int i = 0; i < ITEMS; i++)
        items.as.items[i] = pool_tuple(4, pool_int(i), pool_bytes(raw, sizeof raw),
                                       pool_str("two\nlines"), pool_float(i + 0.25));
    return items;
}

int main(void)
{
    pool_t *pool;
    pool_result *result;
    pool_value sent = make_items();
    pool_opts opts = {.callback = result_callback, .user_data = &sent};

    lesson_say("Main Process: %s", lesson_process().text);
    lesson_say("Main Thread: %s", lesson_thread().text);
    lesson_say("Main: setting=%lld at start-up", setting);

    /* [create] */
    setting = 2;
    lesson_say("Main: setting=%lld before pool_create", setting);
    LESSON_TRY(pool_create(&pool, NULL));
    setting = 3;
    lesson_say("Main: setting=%lld after pool_create", setting);

    /* [submit] The pool takes over the items; `sent` is kept to compare. */
    LESSON_TRY(pool_map_async(pool, task, pool_value_copy(&sent), &opts, &result));

    /* [close-join] */
    LESSON_TRY(pool_close(pool));
    LESSON_TRY(pool_join(pool));

    pool_result_release(result);
    pool_destroy(pool);
    pool_value_free(&sent);
    return 0;
}
