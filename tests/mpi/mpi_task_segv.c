/* mpi_task_segv.c - a task that crashes on a worker rank ends the whole job
 * (Open MPI's default for a rank killed by a signal). Run by
 * tests/mpi/run_mpi_test.sh, which checks the job's end: status, time,
 * Open MPI's message and no process left. Here rank 0 prints the worker's
 * pid and must never see the task's result. */
#include "pool.h"

#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static pool_value crash(const pool_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    printf("task: pid=%d about to crash\n", (int)getpid());
    fflush(stdout);
    raise(SIGSEGV);
    return pool_none();
}

int main(void)
{
    pool_t *pool;
    if (pool_create(&pool, NULL) != POOL_OK)
        return 2;
    pool_value out;
    int rc = pool_apply(pool, crash, pool_tuple(0), NULL, &out);
    /* Reached only if the crash did not end the job: the test fails. */
    printf("rank 0 went on after the crash: %s\n", pool_strerror(rc));
    pool_value_free(&out);
    pool_destroy(pool);
    return 0;
}
