/* mpi_other_build.c - a job whose worker ranks run another build of the
 * program: built twice, once with -DVARIANT=1, which changes its build id,
 * and run as mpirun -np 1 THIS : -np 2 VARIANT (tests/mpi/other_build.sh).
 * Every task fails with an error saying the worker runs another build;
 * nothing crashes, and rank 0 exits 0. */
#include "mpi_util.h"

#ifndef VARIANT
#define VARIANT 0
#endif

/* A different constant gives a different executable, so a different build id. */
const int variant = VARIANT;

int main(void)
{
    pool_t *pool;
    CHECK_OK(pool_create(&pool, NULL));
    pool_value out;
    for (int i = 0; i < 4; i++) { /* both workers, more than once */
        CHECK_EQ_INT(POOL_ETASK, pool_apply(pool, twice, pool_tuple(1, pool_int(i)), NULL, &out));
        CHECK(out.type == POOL_ERROR, "the refused task's value has type %d", out.type);
        if (out.type == POOL_ERROR) {
            if (i == 0)
                printf("error value: %s\n", out.as.s);
            CHECK_STR_CONTAINS(out.as.s, "runs another build of the program than rank 0");
        }
        pool_value_free(&out);
    }
    CHECK_OK(pool_close(pool));
    CHECK_OK(pool_join(pool));
    pool_destroy(pool);
    printf("variant %d: rank 0 done\n", variant);
    return check_done("mpi_other_build");
}
