/* mpi_misuse.c - what pool_create refuses on MPI, each with POOL_EINVAL and
 * one stderr line: more workers than worker ranks, an initarg on the heap,
 * a second MPI pool while one exists, and any pool at all in a job of one
 * rank (--np 1) or run without mpirun (run_mpi_test.sh --plain). And what it
 * allows: an initializer with a global initarg runs on every worker rank. */
#include "mpi_util.h"

#include <stdlib.h>
#include <sys/prctl.h>

/* The initarg: a global, as it was at start-up on every rank. */
static long init_base = 1000;
/* Set by the initializer in each worker rank; 0 means it never ran there. */
static long init_seen;

static void init(void *arg)
{
    init_seen = *(long *)arg + 1;
}

/* Returns (pid, what the initializer left), after a pause so the map's
 * items spread over both workers. */
static pool_value report_init(const pool_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    sleep_s(0.02);
    return pool_tuple(2, pool_int(getpid()), pool_int(init_seen));
}

/* pool_create's result, and what it wrote to stderr. */
static int create_quietly(pool_t **pool, const pool_config *cfg, char **err)
{
    capture c = capture_begin(2);
    int rc = pool_create(pool, cfg);
    *err = capture_end(&c);
    fprintf(stderr, "%s", *err); /* shown, for the log */
    return rc;
}

int main(void)
{
    pool_t *pool;
    char *err;
    if (!getenv("OMPI_COMM_WORLD_SIZE")) { /* not under mpirun */
        CHECK_EQ_INT(POOL_EINVAL, create_quietly(&pool, NULL, &err));
        CHECK_STR_CONTAINS(err, "this program is built for MPI: run it with mpirun");
        CHECK_EQ_INT(1, count_lines(err, "\n"));
        free(err);
        return check_done("mpi_misuse (no mpirun)");
    }
    long ranks = atol(getenv("OMPI_COMM_WORLD_SIZE"));
    if (ranks == 1) { /* mpirun -np 1: no worker rank at all */
        CHECK_EQ_INT(POOL_EINVAL, create_quietly(&pool, NULL, &err));
        CHECK_STR_CONTAINS(err, "an MPI pool needs worker ranks");
        CHECK_EQ_INT(1, count_lines(err, "\n"));
        free(err);
        return check_done("mpi_misuse (one rank)");
    }

    pool_config too_many = {.processes = ranks};
    CHECK_EQ_INT(POOL_EINVAL, create_quietly(&pool, &too_many, &err));
    CHECK_STR_CONTAINS(err, "worker ranks");
    CHECK_EQ_INT(1, count_lines(err, "\n"));
    free(err);

    long *heap = malloc(sizeof *heap);
    if (!heap) {
        perror("malloc");
        return 2;
    }
    pool_config on_heap = {.initializer = init, .initarg = heap};
    CHECK_EQ_INT(POOL_EINVAL, create_quietly(&pool, &on_heap, &err));
    CHECK_STR_CONTAINS(err, "initarg must be NULL or a global");
    CHECK_EQ_INT(1, count_lines(err, "\n"));
    free(err);
    free(heap);

    /* Every worker rank runs the initializer on the global. */
    pool_config good = {.initializer = init, .initarg = &init_base};
    CHECK_EQ_INT(POOL_OK, create_quietly(&pool, &good, &err));
    CHECK_EQ_INT(0, count_lines(err, "\n"));
    free(err);
    CHECK_EQ_INT(ranks - 1, pool_processes(pool));
    pool_value out;
    pool_opts one = {.chunksize = 1};
    CHECK_OK(pool_map(pool, report_init, pool_range(40), &one, &out));
    long long pids[64];
    int npids = 0;
    for (uint32_t i = 0; out.type == POOL_LIST && i < out.len; i++) {
        const pool_value *t = out.as.items[i].as.items;
        CHECK_EQ_INT(1001, t[1].as.i);
        int k = 0;
        while (k < npids && pids[k] != t[0].as.i)
            k++;
        if (k == npids && npids < 64)
            pids[npids++] = t[0].as.i;
    }
    pool_value_free(&out);
    CHECK_EQ_INT(ranks - 1, npids); /* so each worker rank ran it */
    CHECK_EQ_INT(0, init_seen);     /* and rank 0 never did */

    /* A second MPI pool while this one exists. */
    pool_t *second;
    CHECK_EQ_INT(POOL_EINVAL, create_quietly(&second, NULL, &err));
    CHECK_STR_CONTAINS(err, "one MPI pool at a time");
    CHECK_EQ_INT(1, count_lines(err, "\n"));
    free(err);

    CHECK_OK(pool_close(pool));
    CHECK_OK(pool_join(pool));
    pool_destroy(pool);
    /* Once it is gone, a new one is allowed. */
    CHECK_EQ_INT(POOL_OK, create_quietly(&second, NULL, &err));
    free(err);
    CHECK_OK(pool_close(second));
    CHECK_OK(pool_join(second));
    pool_destroy(second);
    return check_done("mpi_misuse");
}
