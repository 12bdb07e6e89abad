/* WRONG: main records the pid, tid and name itself after the join, so they describe main, not the thread that ran the callback. Caught by: different */
#include "lesson.h"

#include <pthread.h>
#include <sys/types.h>
#include <unistd.h>

/* What the callback saw. Main reads it only after pool_join(). */
typedef struct sighting {
    long pid;       /* getpid() */
    long tid;       /* gettid() */
    char name[16];  /* pthread_getname_np(pthread_self(), ...) */
} sighting;

static pool_value task(const pool_value *args, size_t nargs)
{
    (void)nargs;
    return pool_int(args[0].as.i);
}

static pool_value where_callback(const pool_value *value, void *user_data)
{
    sighting *s = user_data;

    (void)value;
    (void)s;
    return pool_none();
}

int main(void)
{
    pool_t *pool;
    pool_result *result;
    sighting s = {.pid = 0, .tid = 0, .name = "?"};
    pool_opts opts = {.callback = where_callback, .user_data = &s};

    LESSON_TRY(pool_create(&pool, NULL));
    LESSON_TRY(pool_apply_async(pool, task, pool_tuple(1, pool_int(0)), &opts, &result));
    LESSON_TRY(pool_close(pool));
    LESSON_TRY(pool_join(pool));
    s.pid = (long)getpid();
    s.tid = (long)gettid();
    pthread_getname_np(pthread_self(), s.name, sizeof s.name);

    lesson_say("Main: pid=%ld tid=%ld", (long)getpid(), (long)gettid());
    lesson_say("Callback: pid=%ld tid=%ld name=%s", s.pid, s.tid, s.name);

    pool_result_release(result);
    pool_destroy(pool);
    return 0;
}
