/* mpi_callback_fail.c - a failing callback, as in lesson 07, on MPI: the
 * wait does not hang, the pool reports it in one stderr line, the handle
 * is unsuccessful, and later submissions still work. */
#include "mpi_util.h"

static pool_value refuse(const pool_value *value, void *user_data)
{
    (void)user_data;
    return pool_error("callback refused %lld", value->as.i);
}

int main(void)
{
    pool_t *pool;
    CHECK_OK(pool_create(&pool, NULL));
    pool_opts opts = {.callback = refuse};
    pool_result *r;
    capture c = capture_begin(2);
    double t0 = now_s();
    CHECK_OK(pool_apply_async(pool, twice, pool_tuple(1, pool_int(21)), &opts, &r));
    int rc = pool_result_wait(r, 30);
    double waited = now_s() - t0;
    char *err = capture_end(&c);
    CHECK_EQ_INT(POOL_OK, rc);
    CHECK(waited < 10, "the wait took %.1f s", waited);
    CHECK_STR_CONTAINS(err, "pool: callback failed: callback refused 42\n");
    CHECK_EQ_INT(1, count_lines(err, "\n"));
    CHECK(!pool_result_successful(r), "a failed callback left the handle successful");
    const pool_value *v;
    CHECK_EQ_INT(POOL_ECALLBACK, pool_result_get(r, 0, &v));
    pool_result_release(r);
    free(err);

    /* The pool keeps working. */
    for (int i = 0; i < 5; i++) {
        pool_value out;
        CHECK_OK(pool_apply(pool, twice, pool_tuple(1, pool_int(i)), NULL, &out));
        CHECK(out.type == POOL_INT && out.as.i == 2 * i, "apply %d gave %lld", i, out.as.i);
        pool_value_free(&out);
    }
    CHECK_OK(pool_close(pool));
    CHECK_OK(pool_join(pool));
    pool_destroy(pool);
    return check_done("mpi_callback_fail");
}
