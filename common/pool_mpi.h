/* pool_mpi.h - what the MPI build's files share (built only with
 * -DPOOL_MPI, by make mpi): the job's ranks, the messages between rank 0
 * and a worker rank, and the idle wait.
 *   pool_mpi.c       the job: MPI's start before main(), and its end;
 *   pool_mpi_rank.c  a worker rank, which runs the worker loop on messages;
 *   pool_mpi_link.c  rank 0's link thread, which carries each slot's pipes
 *                    to and from its rank.
 *
 * Messages, rank 0 to a worker rank, in order: START, DATA..., END, and
 * START again for a new worker of the slot, or FINISH once rank 0 exits.
 * A worker rank to rank 0: HELLO, then OUT, ERR and RESULTS, then EXIT.
 * END means "the pool is done with this worker": after it, the worker
 * starts no further item. After EXIT the rank reads up to END, drops what
 * it reads, and waits for the next START. */
#ifndef POOL_MPI_H
#define POOL_MPI_H

#include "pool_wire.h"

#include <mpi.h>

enum { T_START = 1, T_DATA, T_END, T_FINISH,      /* rank 0 to a worker rank */
       T_HELLO = 11, T_OUT, T_ERR, T_RESULTS, T_EXIT }; /* a worker rank to rank 0 */

#define PIECE (1 << 20)      /* task bytes per DATA message */
#define MAX_SEND (1 << 30)   /* an MPI count is an int: bigger results go in parts */
#define SPIN_ROUNDS 2000     /* busy rounds (with sched_yield) before sleeping */
#define IDLE_SLEEP_US 1000   /* the longest sleep between looks at MPI */

typedef struct start_msg {
    int32_t number, traced;
    int64_t maxtasksperchild;
    uint64_t initializer, initarg; /* names, as pool_names.c makes them */
    uint32_t id_len;
    unsigned char id[64];          /* rank 0's build id */
} start_msg;

typedef struct hello_msg {
    int32_t pid;
    char host[64];
} hello_msg;


/* The job's ranks: set before main() when mpirun started the program;
 * mpi_rank is -1 otherwise. */
extern int mpi_rank, mpi_size;

/* Sleeps a little longer each idle round, up to IDLE_SLEEP_US, so an idle
 * rank costs almost nothing, and a busy one answers at once. */
void mpi_idle(unsigned *rounds);

/* pool_mpi_rank.c: a worker rank's life, from start-up; never returns. */
void rank_serve(void) __attribute__((noreturn));
/* pool_mpi_link.c: whether an MPI pool exists, for rank 0's exit. */
bool rank_link_busy(void);

#endif
