/* 07_wait_with_a_timeout.c - a second correct answer to exercise 07, taking the first look with pool_result_get() itself and the second with a named patience, then a get that no longer waits. */
#include "lesson.h"

static pool_value slow_answer(const pool_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    lesson_sleep(2.0);
    return pool_int(42);
}

static pool_value result_callback(const pool_value *value, void *user_data)
{
    (void)user_data;
    lesson_say("Callback got: %s", lesson_repr(value).text);
    return pool_none();
}

int main(void)
{
    const double first_look = 0.5; /* seconds: less than the task takes */
    const double patience = 10.0;  /* seconds: far more than it takes */
    pool_t *pool;
    pool_result *result;
    const pool_value *value = NULL;
    int err;

    LESSON_TRY(pool_create(&pool, NULL));
    LESSON_TRY(pool_apply_async(pool, slow_answer, pool_none(),
                                &(pool_opts){.callback = result_callback}, &result));

    err = pool_result_get(result, first_look, &value);
    lesson_say("Main after 0.5 s: %s, ready %s", pool_strerror(err),
               pool_result_ready(result) ? "True" : "False");
    lesson_say("Main: doing other work.");

    err = pool_result_wait(result, patience);
    if (err == POOL_OK)
        err = pool_result_get(result, 0, &value); /* ready: returns at once */
    lesson_say("Main get: %s, %s", pool_strerror(err),
               err == POOL_OK ? lesson_repr(value).text : "no value");

    pool_result_release(result);
    LESSON_TRY(pool_close(pool));
    LESSON_TRY(pool_join(pool));
    pool_destroy(pool);
    return 0;
}
