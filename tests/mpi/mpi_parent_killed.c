/* mpi_parent_killed.c - rank 0, the parent, killed from outside (SIGKILL)
 * while a task runs ends the whole job: no worker rank is left serving a
 * pool that is gone. A task on rank 1 kills rank 0, whose pid it gets as
 * its argument; this works when rank 1 runs on rank 0's host, as under
 * scripts/mpirun.sh without MPI_HOSTS. tests/mpi/run_mpi_test.sh checks the
 * job's end. */
#include "pool.h"

#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static pool_value kill_parent(const pool_value *args, size_t nargs)
{
    (void)nargs;
    /* Rank 0 is waiting for this task by now; EINTR would only shorten the nap. */
    nanosleep(&(struct timespec){0, 300 * 1000 * 1000}, NULL);
    if (kill((pid_t)args[0].as.i, SIGKILL) != 0)
        return pool_error("kill failed");
    sleep(30); /* the job ends long before */
    return pool_none();
}

int main(void)
{
    pool_t *pool;
    pool_config cfg = {.processes = 1};
    if (pool_create(&pool, &cfg) != POOL_OK)
        return 2;
    printf("rank 0: pid %d, killed by its task\n", (int)getpid());
    fflush(stdout);
    pool_value out;
    int rc = pool_apply(pool, kill_parent, pool_tuple(1, pool_int(getpid())), NULL, &out);
    printf("rank 0 went on after the kill: %s\n", pool_strerror(rc));
    pool_value_free(&out);
    pool_destroy(pool);
    return 0;
}
