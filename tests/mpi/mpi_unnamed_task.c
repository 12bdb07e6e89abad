/* mpi_unnamed_task.c - a task the worker rank cannot name: a function of a
 * shared library (libc's labs, cast to a task; it is never called). That
 * task fails with POOL_ETASK and an error value saying why; the pool goes
 * on. */
#include "mpi_util.h"

#include <stdint.h>

int main(void)
{
    pool_t *pool;
    CHECK_OK(pool_create(&pool, NULL));
    /* labs lives in libc.so, outside the executable: its offset names nothing. */
    pool_task_fn foreign = (pool_task_fn)(uintptr_t)&labs;
    pool_value out;
    CHECK_EQ_INT(POOL_ETASK, pool_apply(pool, foreign, pool_tuple(1, pool_int(-5)), NULL, &out));
    CHECK(out.type == POOL_ERROR, "the failed task's value has type %d", out.type);
    if (out.type == POOL_ERROR) {
        printf("error value: %s\n", out.as.s);
        CHECK_STR_CONTAINS(out.as.s, "not a function of the program's executable");
    }
    pool_value_free(&out);

    /* In a map, every item fails the same way, and the map fails. */
    CHECK_EQ_INT(POOL_ETASK, pool_map(pool, foreign, pool_range(4), NULL, &out));
    pool_value_free(&out);

    /* The pool goes on. */
    CHECK_OK(pool_apply(pool, twice, pool_tuple(1, pool_int(4)), NULL, &out));
    CHECK(out.type == POOL_INT && out.as.i == 8, "twice(4) gave type %d", out.type);
    pool_value_free(&out);
    CHECK_OK(pool_close(pool));
    CHECK_OK(pool_join(pool));
    pool_destroy(pool);
    return check_done("mpi_unnamed_task");
}
