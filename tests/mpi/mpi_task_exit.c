/* mpi_task_exit.c - a task that calls exit(3) on a worker rank ends the
 * whole job, as a crash does. tests/mpi/run_mpi_test.sh checks the job's
 * status, time, Open MPI's message and that no process is left; rank 0
 * must never go on. */
#include "pool.h"

#include <stdio.h>
#include <stdlib.h>

static pool_value leave(const pool_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    exit(3);
}

int main(void)
{
    pool_t *pool;
    if (pool_create(&pool, NULL) != POOL_OK)
        return 2;
    pool_value out;
    int rc = pool_apply(pool, leave, pool_tuple(0), NULL, &out);
    printf("rank 0 went on after the exit: %s\n", pool_strerror(rc));
    pool_value_free(&out);
    pool_destroy(pool);
    return 0;
}
