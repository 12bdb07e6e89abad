/* WRONG: takes the remainder instead of dividing, so chunks interleave. Caught by: FOUR */
#include "lesson.h"

#include <stdio.h>
#include <unistd.h>

#define MAX_ITEMS 17

static long default_chunksize(long items, long workers)
{
    long per = 4 * workers;
    long size = (items + per - 1) / per;

    return size > 0 ? size : 1;
}

static long chunk_of(long item, long chunksize)
{
    return item % chunksize;
}

/* ---- Nothing to change below ------------------------------------------- */

static pool_value whose(const pool_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    return pool_int(getpid());
}

/* Writes the items 0..items-1 as a list of lists, the way Python prints
 * one: an item starts a new inner list when its key differs from the key
 * of the item before it. */
static lesson_text group(const long long key[], long items)
{
    lesson_text t;
    size_t len = 0;

    for (long i = 0; i < items && len < sizeof t.text; i++) {
        const char *sep = i == 0 ? "[[" : key[i] != key[i - 1] ? "], [" : ", ";
        len += (size_t)snprintf(t.text + len, sizeof t.text - len, "%s%ld", sep, i);
    }
    if (len < sizeof t.text)
        snprintf(t.text + len, sizeof t.text - len, "]]");
    return t;
}

/* Maps items 0..items-1 in chunks of chunksize (0: the pool's default),
 * and prints the predicted chunks next to the observed ones. */
static void run(pool_t *pool, const char *what, long items, long chunksize,
                long predicted_size)
{
    pool_opts opts = {.chunksize = chunksize};
    pool_value out;
    long long pids[MAX_ITEMS], chunks[MAX_ITEMS];

    LESSON_TRY(pool_map(pool, whose, pool_range((size_t)items), &opts, &out));
    for (long i = 0; i < items; i++) {
        pids[i] = out.as.items[i].as.i;
        chunks[i] = chunk_of(i, predicted_size);
    }
    lesson_say("%s, predicted: %s", what, group(chunks, items).text);
    lesson_say("%s, observed: %s", what, group(pids, items).text);
    pool_value_free(&out);
}

int main(void)
{
    pool_t *pool;
    pool_config config = {.processes = 2, .maxtasksperchild = 1};
    const long sizes[] = {10, 16, 17};

    LESSON_TRY(pool_create(&pool, &config));

    run(pool, "Chunksize 4", 10, 4, 4);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        long size = default_chunksize(sizes[i], pool_processes(pool));
        lesson_say("Default chunksize for %ld items on %ld workers, predicted: %ld", sizes[i],
                   pool_processes(pool), size);
        run(pool, "Default chunksize", sizes[i], 0, size);
    }

    LESSON_TRY(pool_close(pool));
    LESSON_TRY(pool_join(pool));
    pool_destroy(pool);
    return 0;
}
