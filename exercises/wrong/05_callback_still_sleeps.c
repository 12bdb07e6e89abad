/* WRONG: the callback queues the value but still sleeps as long as a save takes, so it holds up every later callback. Caught by: quick-callbacks */
#include "lesson.h"

#include <pthread.h>

#define TASKS 5

/* Values handed from the callbacks to main. The mutex guards all of it. */
typedef struct queue {
    pthread_mutex_t lock;
    pthread_cond_t nonempty; /* signalled whenever a value is added */
    long long values[TASKS];
    int added, taken;        /* values[taken..added) wait to be saved */
} queue;

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

static pool_value save_callback(const pool_value *value, void *user_data)
{
    queue *q = user_data;

    pthread_mutex_lock(&q->lock);
    q->values[q->added++] = value->as.i;
    pthread_cond_signal(&q->nonempty);
    pthread_mutex_unlock(&q->lock);
    lesson_sleep(0.2);
    return pool_none();
}

int main(void)
{
    pool_t *pool;
    pool_result *results[TASKS];
    queue q = {.added = 0, .taken = 0};
    pool_opts opts = {.callback = save_callback, .user_data = &q};

    pthread_mutex_init(&q.lock, NULL);
    pthread_cond_init(&q.nonempty, NULL);
    lesson_say("Main runs on %s.", lesson_thread().text);
    LESSON_TRY(pool_create(&pool, NULL));

    for (int i = 0; i < TASKS; i++)
        LESSON_TRY(pool_apply_async(pool, square, pool_tuple(1, pool_int(i)), &opts,
                                    &results[i]));

    for (int i = 0; i < TASKS; i++) {
        pthread_mutex_lock(&q.lock);
        while (q.taken == q.added)
            pthread_cond_wait(&q.nonempty, &q.lock);
        long long value = q.values[q.taken++];
        pthread_mutex_unlock(&q.lock);
        save(value);
    }

    for (int i = 0; i < TASKS; i++)
        LESSON_TRY(pool_result_wait(results[i], POOL_FOREVER));
    lesson_say("Main: all saved.");

    LESSON_TRY(pool_close(pool));
    LESSON_TRY(pool_join(pool));
    for (int i = 0; i < TASKS; i++)
        pool_result_release(results[i]);
    pool_destroy(pool);
    pthread_cond_destroy(&q.nonempty);
    pthread_mutex_destroy(&q.lock);
    return 0;
}
