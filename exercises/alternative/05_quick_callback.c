/* 05_quick_callback.c - a second correct answer to exercise 05, where the callback writes each value into a pipe and main blocks in read(), so no mutex or condition variable is needed. */
#include "lesson.h"

#include <errno.h>
#include <unistd.h>

#define TASKS 5

static pool_value square(const pool_value *args, size_t nargs)
{
    (void)nargs;
    return pool_int(args[0].as.i * args[0].as.i);
}

/* The slow part. Leave it as it is: the check reads the thread it names. */
static void save(long long value)
{
    lesson_sleep(0.2);
    lesson_say("Saved %lld on %s.", value, lesson_thread().text);
}

/* A write of fewer than PIPE_BUF bytes is atomic and, with five values in
 * an empty pipe, never blocks. */
static pool_value save_callback(const pool_value *value, void *user_data)
{
    int *to_main = user_data;
    long long v = value->as.i;

    if (write(*to_main, &v, sizeof v) != (ssize_t)sizeof v)
        return pool_error("write to main: errno %d", errno);
    return pool_none();
}

/* Blocks until a callback has written the next value. */
static long long next_value(int from_callbacks)
{
    long long v;
    ssize_t n;

    while ((n = read(from_callbacks, &v, sizeof v)) == -1 && errno == EINTR)
        continue;
    if (n != (ssize_t)sizeof v)
        lesson_try(POOL_ESYS, "read(from_callbacks, &v, sizeof v)");
    return v;
}

int main(void)
{
    pool_t *pool;
    pool_result *results[TASKS];
    int fds[2];
    pool_opts opts = {.callback = save_callback, .user_data = &fds[1]};

    lesson_say("Main runs on %s.", lesson_thread().text);
    LESSON_TRY(pool_create(&pool, NULL));
    /* Made after the pool, so that no worker inherits it. */
    if (pipe(fds) == -1)
        lesson_try(POOL_ESYS, "pipe(fds)");

    for (int i = 0; i < TASKS; i++)
        LESSON_TRY(pool_apply_async(pool, square, pool_tuple(1, pool_int(i)), &opts,
                                    &results[i]));
    for (int i = 0; i < TASKS; i++)
        save(next_value(fds[0]));
    lesson_say("Main: all saved.");

    LESSON_TRY(pool_close(pool));
    LESSON_TRY(pool_join(pool));
    for (int i = 0; i < TASKS; i++)
        pool_result_release(results[i]);
    pool_destroy(pool);
    close(fds[0]);
    close(fds[1]);
    return 0;
}
