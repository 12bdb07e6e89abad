/* mpi_pool_left_open.c - rank 0 returns from main with an MPI pool not
 * destroyed: the worker ranks are still serving it, so rank 0's exit
 * aborts the job with one line, rather than leaving the ranks waiting.
 * tests/mpi/run_mpi_test.sh checks the status, the line and that no
 * process is left. */
#include "mpi_util.h"

int main(void)
{
    pool_t *pool;
    if (pool_create(&pool, NULL) != POOL_OK)
        return 2;
    pool_value out;
    if (pool_apply(pool, twice, pool_tuple(1, pool_int(3)), NULL, &out) != POOL_OK)
        return 2;
    printf("rank 0 got %lld and returns without pool_destroy\n", out.as.i);
    pool_value_free(&out);
    return 0;
}
