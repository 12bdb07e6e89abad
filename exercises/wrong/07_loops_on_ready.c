/* WRONG: main asks pool_result_ready() in a loop until the value is there, and only then gets it. Caught by: no-polling */
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
    pool_t *pool;
    pool_result *result;
    const pool_value *value = NULL;
    pool_opts opts = {.callback = result_callback};
    int err;

    LESSON_TRY(pool_create(&pool, NULL));
    LESSON_TRY(pool_apply_async(pool, slow_answer, pool_none(), &opts, &result));

    err = pool_result_wait(result, 0.5);
    lesson_say("Main after 0.5 s: %s, ready %s", pool_strerror(err),
               pool_result_ready(result) ? "True" : "False");
    lesson_say("Main: doing other work.");

    while (!pool_result_ready(result))
        continue;
    err = pool_result_get(result, 10.0, &value);
    lesson_say("Main get: %s, %s", pool_strerror(err),
               value ? lesson_repr(value).text : "no value");

    LESSON_TRY(pool_close(pool));
    LESSON_TRY(pool_join(pool));
    pool_result_release(result);
    pool_destroy(pool);
    return 0;
}
