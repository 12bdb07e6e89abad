/* 03_count_callbacks_with_a_lock.c - a second correct answer to exercise 03, where main blocks on a POSIX semaphore that each callback posts, and reads the locked counter only once the round's posts are in. */
#include "lesson.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>

#define ROUNDS 2
#define PER_ROUND 10

/* Shared by main and the result-handler thread, which runs the callbacks. */
typedef struct counter {
    pthread_mutex_t lock; /* guards done */
    sem_t counted;        /* posted once per callback, after done grows */
    int done;             /* callbacks run so far */
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
    pthread_mutex_lock(&c->lock);
    c->done++;
    pthread_mutex_unlock(&c->lock);
    if (sem_post(&c->counted) != 0)
        return pool_error("sem_post: errno %d", errno);
    return pool_none();
}

static int read_done(counter *c)
{
    pthread_mutex_lock(&c->lock);
    int done = c->done;
    pthread_mutex_unlock(&c->lock);
    return done;
}

int main(void)
{
    pool_t *pool;
    counter c = {.done = 0};
    pool_opts opts = {.callback = count_callback, .user_data = &c};

    pthread_mutex_init(&c.lock, NULL);
    if (sem_init(&c.counted, 0, 0) != 0)
        lesson_try(POOL_ESYS, "sem_init(&c.counted, 0, 0)");
    LESSON_TRY(pool_create(&pool, NULL));

    for (int round = 1; round <= ROUNDS; round++) {
        for (int i = 0; i < PER_ROUND; i++) {
            pool_result *result;
            LESSON_TRY(pool_apply_async(pool, task, pool_tuple(1, pool_int(i)), &opts,
                                        &result));
            pool_result_release(result);
        }
        for (int posts = 0; posts < PER_ROUND;)
            if (sem_wait(&c.counted) == 0)
                posts++;
            else if (errno != EINTR)
                lesson_try(POOL_ESYS, "sem_wait(&c.counted)");
        lesson_say("Round %d: %d callbacks counted.", round, read_done(&c));
    }

    LESSON_TRY(pool_close(pool));
    LESSON_TRY(pool_join(pool));
    lesson_say("Main: %d callbacks in all.", read_done(&c));

    pool_destroy(pool);
    sem_destroy(&c.counted);
    pthread_mutex_destroy(&c.lock);
    return 0;
}
