/* mpi_rank_killed.c - a worker rank killed from outside (SIGKILL) while its
 * task runs ends the whole job. Rank 0 learns the rank's pid from a first
 * task and kills it while a second, long task runs there; this works when
 * rank 1 runs on rank 0's host, as under scripts/mpirun.sh without
 * MPI_HOSTS. tests/mpi/run_mpi_test.sh checks the job's end. */
#include "pool.h"

#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static pool_value whoami(const pool_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    return pool_int(getpid());
}

static pool_value long_task(const pool_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    sleep(30); /* the kill comes long before */
    return pool_int(getpid());
}

int main(void)
{
    pool_t *pool;
    pool_config cfg = {.processes = 1};
    if (pool_create(&pool, &cfg) != POOL_OK)
        return 2;
    pool_value pid;
    if (pool_apply(pool, whoami, pool_tuple(0), NULL, &pid) != POOL_OK || pid.type != POOL_INT)
        return 2;
    pool_result *r;
    if (pool_apply_async(pool, long_task, pool_tuple(0), NULL, &r) != POOL_OK)
        return 2;
    /* The task starts; EINTR would only shorten this, and the kill still comes mid-task. */
    nanosleep(&(struct timespec){0, 300 * 1000 * 1000}, NULL);
    printf("rank 0: killing worker rank pid %lld\n", pid.as.i);
    fflush(stdout);
    if (kill((pid_t)pid.as.i, SIGKILL) != 0) {
        perror("kill");
        return 2;
    }
    int rc = pool_result_wait(r, 60);
    printf("rank 0 went on after the kill: %s\n", pool_strerror(rc));
    pool_destroy(pool);
    return 0;
}
