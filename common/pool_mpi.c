/* pool_mpi.c - the MPI build's job: MPI starts before main() in every rank
 * mpirun starts; ranks other than 0 then serve rank 0's pools
 * (pool_mpi_rank.c) and never return, and rank 0, at exit, ends them and
 * MPI. pool_mpi.h lists the build's files and their messages. */
#include "pool_mpi.h"

#include <sched.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int mpi_rank = -1, mpi_size;

void mpi_idle(unsigned *rounds)
{
    if (++*rounds < SPIN_ROUNDS) {
        sched_yield();
        return;
    }
    unsigned us = *rounds - SPIN_ROUNDS;
    struct timespec ts = {0, (long)(us < IDLE_SLEEP_US ? us + 1 : IDLE_SLEEP_US) * 1000};
    nanosleep(&ts, NULL); /* EINTR only shortens a nap */
}

/* Rank 0's last act: the worker ranks end, then MPI. */
static void finish_job(void)
{
    if (rank_link_busy()) {
        report("pool: rank 0 exits with an MPI pool not destroyed; the job is aborted");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    for (int r = 1; r < mpi_size; r++)
        MPI_Send("", 0, MPI_BYTE, r, T_FINISH, MPI_COMM_WORLD);
    MPI_Finalize();
}

/* Runs before main() in every rank started by mpirun: ranks other than 0
 * serve the pool and never return. */
__attribute__((constructor)) static void mpi_start(void)
{
    if (!getenv("OMPI_COMM_WORLD_SIZE") && !getenv("PMIX_RANK"))
        return; /* not started by mpirun: pool_create() says how to run it */
    int provided = 0;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS) {
        report("pool: MPI_Init_thread failed");
        _exit(1);
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &mpi_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &mpi_size);
    if (provided < MPI_THREAD_MULTIPLE) {
        report("pool: this MPI library does not give MPI_THREAD_MULTIPLE");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (mpi_rank == 0) {
        if (atexit(finish_job) != 0) {
            report("pool: atexit failed");
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        return;
    }
    rank_serve();
}
