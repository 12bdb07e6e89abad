/* 06_which_thread_runs_the_callback.c - a second correct answer to exercise 06, asking the kernel through syscall() and prctl(), and reading the record once pool_result_wait() returns instead of after the join. */
#include "lesson.h"

#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* What the callback saw. Main reads it once a wait on the handle returns. */
typedef struct sighting {
    long pid;
    long tid;
    char name[16]; /* PR_GET_NAME fills 16 bytes, NUL included */
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
    s->pid = (long)syscall(SYS_getpid);
    s->tid = (long)syscall(SYS_gettid);
    if (prctl(PR_GET_NAME, s->name) != 0)
        return pool_error("prctl(PR_GET_NAME) failed");
    return pool_none();
}

int main(void)
{
    pool_t *pool;
    pool_result *result;
    sighting s = {.pid = 0, .tid = 0, .name = "?"};

    LESSON_TRY(pool_create(&pool, NULL));
    LESSON_TRY(pool_apply_async(pool, task, pool_tuple(1, pool_int(0)),
                                &(pool_opts){.callback = where_callback, .user_data = &s},
                                &result));
    /* The callback has returned before the wait does. */
    LESSON_TRY(pool_result_wait(result, 10.0));
    pool_result_release(result);

    lesson_say("Main: pid=%ld tid=%ld", (long)syscall(SYS_getpid), (long)syscall(SYS_gettid));
    lesson_say("Callback: pid=%ld tid=%ld name=%s", s.pid, s.tid, s.name);

    LESSON_TRY(pool_close(pool));
    LESSON_TRY(pool_join(pool));
    pool_destroy(pool);
    return 0;
}
