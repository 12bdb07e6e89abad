/* WRONG: the counter is an _Atomic int, and main sleeps and looks again until it reaches the target, instead of waiting on the condition variable. Caught by: no-polling */
#include "lesson.h"

#include <pthread.h>
#include <stdatomic.h>

#define ROUNDS 2
#define PER_ROUND 10

/* Shared by main and the result-handler thread, which runs the callbacks. */
typedef struct counter {
    pthread_mutex_t lock;
    pthread_cond_t changed; /* signalled whenever done grows */
    _Atomic int done;       /* callbacks run so far */
} counter;

static pool_value task(const pool_value *args, size_t nargs)
{
    (void)nargs;
    lesson_sleep(0.05);
    return pool_int(args[0].as.i);
}

static pool_value count_callback(const pool_value *value, void *user_data)
{
    counter *c = user_data;

    (void)value;
    atomic_fetch_add(&c->done, 1);
    return pool_none();
}

int main(void)
{
    pool_t *pool;
    counter c = {.done = 0};
    pool_opts opts = {.callback = count_callback, .user_data = &c};

    pthread_mutex_init(&c.lock, NULL);
    pthread_cond_init(&c.changed, NULL);
    LESSON_TRY(pool_create(&pool, NULL));

    for (int round = 1; round <= ROUNDS; round++) {
        for (int i = 0; i < PER_ROUND; i++) {
            pool_result *result;
            LESSON_TRY(pool_apply_async(pool, task, pool_tuple(1, pool_int(i)), &opts,
                                        &result));
            pool_result_release(result); /* the pool frees it once ready */
        }
        while (atomic_load(&c.done) < round * PER_ROUND)
            lesson_sleep(0.01);
        int done = atomic_load(&c.done);
        lesson_say("Round %d: %d callbacks counted.", round, done);
    }

    LESSON_TRY(pool_close(pool));
    LESSON_TRY(pool_join(pool));
    lesson_say("Main: %d callbacks in all.", c.done);

    pool_destroy(pool);
    pthread_cond_destroy(&c.changed);
    pthread_mutex_destroy(&c.lock);
    return 0;
}
