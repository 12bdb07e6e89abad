/* 08_predict_chunks.c - reference solution of exercise 08.
 *
 * The default chunksize is ceil(items / (4 * workers)), at least 1, and
 * item i is in chunk i / chunksize.
 * Students work on exercises/08_predict_chunks.c.
 */
#include "lesson.h"

#include <stdio.h>
#include <unistd.h>

#define ITEMS 10

static long default_chunksize(long items, long workers)
{
    long per = 4 * workers;
    long size = (items + per - 1) / per;

    return size > 0 ? size : 1;
}

static long chunk_of(long item, long chunksize)
{
    return item / chunksize;
}

/* ---- Nothing to change below ------------------------------------------- */

static pool_value whose(const pool_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    return pool_int(getpid());
}

/* Writes the items 0..ITEMS-1 as a list of lists, the way Python prints
 * one: an item starts a new inner list when its key differs from the key
 * of the item before it. */
static lesson_text group(const long long key[ITEMS])
{
    lesson_text t;
    size_t len = 0;

    for (long i = 0; i < ITEMS && len < sizeof t.text; i++) {
        const char *sep = i == 0 ? "[[" : key[i] != key[i - 1] ? "], [" : ", ";
        len += (size_t)snprintf(t.text + len, sizeof t.text - len, "%s%ld", sep, i);
    }
    if (len < sizeof t.text)
        snprintf(t.text + len, sizeof t.text - len, "]]");
    return t;
}

static void run(pool_t *pool, const char *what, long chunksize, long predicted_size)
{
    pool_opts opts = {.chunksize = chunksize};
    pool_value out;
    long long pids[ITEMS], chunks[ITEMS];

    LESSON_TRY(pool_map(pool, whose, pool_range(ITEMS), &opts, &out));
    for (long i = 0; i < ITEMS; i++) {
        pids[i] = out.as.items[i].as.i;
        chunks[i] = chunk_of(i, predicted_size);
    }
    lesson_say("%s, predicted: %s", what, group(chunks).text);
    lesson_say("%s, observed: %s", what, group(pids).text);
    pool_value_free(&out);
}

int main(void)
{
    pool_t *pool;
    pool_config config = {.processes = 2, .maxtasksperchild = 1};
    long size;

    LESSON_TRY(pool_create(&pool, &config));

    run(pool, "Chunksize 4", 4, 4);
    size = default_chunksize(ITEMS, pool_processes(pool));
    lesson_say("Default chunksize for %d items on %ld workers, predicted: %ld", ITEMS,
               pool_processes(pool), size);
    run(pool, "Default chunksize", 0, size);

    LESSON_TRY(pool_close(pool));
    LESSON_TRY(pool_join(pool));
    pool_destroy(pool);
    return 0;
}
