/* 10_follow_up_tasks_from_callback.c - a callback that submits more work.
 *
 * A first map squares 0..4. Its callback submits one second-stage task per
 * square, which doubles it, and keeps the five new handles. Main waits for
 * the first map, then for every second-stage handle, then prints the final
 * results in order.
 * Run it with `make run-10`. Compare with lesson 02, a single stage.
 */
#include "lesson.h"

#define ITEMS 5

/* [stages] What the first callback needs to submit and where the second
 * stage's handles go. Main reads `second` only after its wait on `first`
 * has returned, and the callback filled it in before that handle became
 * ready, so no lock of our own is needed. */
typedef struct stages {
    pool_t *pool;
    pool_result *second[ITEMS];
} stages;

/* [tasks] */
static pool_value square(const pool_value *args, size_t nargs)
{
    long long n = args[0].as.i;

    (void)nargs;
    lesson_say("Stage 1 task %lld: %lld", n, n * n);
    return pool_int(n * n);
}

static pool_value double_it(const pool_value *args, size_t nargs)
{
    long long n = args[0].as.i, v = args[1].as.i;

    (void)nargs;
    lesson_say("Stage 2 task %lld: %lld", n, 2 * v);
    return pool_int(2 * v);
}

/* [callback] */
static pool_value first_callback(const pool_value *value, void *user_data)
{
    stages *s = user_data;

    lesson_say("Stage 1 callback got: %s", lesson_repr(value).text);
    for (uint32_t i = 0; i < value->len; i++) {
        pool_value args = pool_tuple(2, pool_int(i), pool_value_copy(&value->as.items[i]));
        int err = pool_apply_async(s->pool, double_it, args, NULL, &s->second[i]);
        if (err != POOL_OK)
            return pool_error("follow-up task %u: %s", i, pool_strerror(err));
    }
    return pool_none();
}

int main(void)
{
    stages s = {0};
    pool_result *first;
    const pool_value *value;
    pool_opts opts = {.callback = first_callback, .user_data = &s};

    LESSON_TRY(pool_create(&s.pool, NULL));

    /* [submit] */
    LESSON_TRY(pool_map_async(s.pool, square, pool_range(ITEMS), &opts, &first));

    /* [wait] The first stage is done once its callback has submitted the
     * second; then every second-stage task must be waited for. */
    LESSON_TRY(pool_result_get(first, POOL_FOREVER, &value));
    for (int i = 0; i < ITEMS; i++)
        LESSON_TRY(pool_result_wait(s.second[i], POOL_FOREVER));

    /* [results] */
    for (int i = 0; i < ITEMS; i++) {
        LESSON_TRY(pool_result_get(s.second[i], 0.0, &value));
        lesson_say("Main result %d: %s", i, lesson_repr(value).text);
    }

    /* [close-join] */
    LESSON_TRY(pool_close(s.pool));
    LESSON_TRY(pool_join(s.pool));

    pool_result_release(first);
    for (int i = 0; i < ITEMS; i++)
        pool_result_release(s.second[i]);
    pool_destroy(s.pool);
    return 0;
}
