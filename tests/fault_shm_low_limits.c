/* fault_shm_low_limits: big values (config.shm_min in pool.h) when a
 * process has no descriptor number left. pool.h promises that a value
 * whose memfd cannot be made or passed crosses through the pipe instead;
 * so a full descriptor table fails no task, on either side:
 *   the parent full   a big result comes back (the parent cannot take its
 *                     memfd), and a big argument goes out (it cannot make
 *                     one);
 *   a worker full     a task fills its worker's table and keeps it full;
 *                     then a big argument goes to that worker, and a big
 *                     result comes from it.
 * Each must succeed with the value intact; afterwards no pool-value memfd
 * is left in any process and the parent has its descriptors back. The soft
 * RLIMIT_NOFILE is lowered to 64 above what is open, so filling is quick.
 * Under Valgrind, which emulates the descriptor limit, it does nothing. */
#include <fcntl.h>
#include <sys/resource.h>

#include "fault/fault.h"

#define BIG 8192
#define MIN 4096
enum { MAX_FILL = 4096 };

static unsigned char byte_at(size_t i) { return (unsigned char)(i % 251 ? i * 7 + 3 : 0); }

static pool_value make_bytes(size_t len)
{
    unsigned char raw[BIG];
    for (size_t i = 0; i < len && i < BIG; i++)
        raw[i] = byte_at(i);
    return pool_bytes(raw, len);
}

static bool intact(const pool_value *v, size_t len)
{
    if (v->type != POOL_BYTES || v->len != len)
        return false;
    for (size_t i = 0; i < len; i++)
        if (v->as.bytes[i] != byte_at(i))
            return false;
    return true;
}

/* Opens /dev/null until no number is left; returns how many, in fds. */
static int fill(int *fds)
{
    int n = 0;
    while (n < MAX_FILL && (fds[n] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
        n++;
    return n;
}

static pool_value make(const pool_value *args, size_t nargs)
{
    (void)args, (void)nargs;
    return make_bytes(BIG);
}

static pool_value length(const pool_value *args, size_t nargs)
{
    return pool_int(nargs && intact(&args[0], BIG) ? BIG : -1);
}

/* Fills this worker's table for good: the next tasks run so. */
static pool_value fill_worker(const pool_value *args, size_t nargs)
{
    (void)args, (void)nargs;
    static int fds[MAX_FILL];
    int n = fill(fds);
    return pool_int(errno == EMFILE ? n : -1);
}

static void expect_big(pool_t *pool, pool_task_fn fn, bool big_arg, const char *what)
{
    pool_value args = big_arg ? pool_tuple(1, make_bytes(BIG)) : pool_none();
    pool_value out = pool_none();
    int rc = pool_apply(pool, fn, args, NULL, &out);
    CHECK(rc == POOL_OK, "%s: %d (%s) %s", what, rc, pool_strerror(rc), fu_msg(&out));
    if (rc == POOL_OK && big_arg)
        CHECK(out.type == POOL_INT && out.as.i == BIG, "%s: the argument arrived corrupt", what);
    else if (rc == POOL_OK)
        CHECK(intact(&out, BIG), "%s: the result arrived corrupt", what);
    pool_value_free(&out);
}

static void nothing_left(const char *what)
{
    int left = fu_memfds_anywhere(FU_MEMFD, NULL);
    CHECK(left == 0, "%s: %d descriptors or mappings of %s left", what, left, FU_MEMFD);
    if (left)
        fu_memfds_anywhere(FU_MEMFD, stderr);
}

int main(void)
{
    if (fu_under_valgrind()) {
        CHECK(1, "skipped");
        return check_done("fault_shm_low_limits");
    }
    struct rlimit old;
    CHECK(getrlimit(RLIMIT_NOFILE, &old) == 0, "getrlimit: %s", strerror(errno));
    struct rlimit low = {(rlim_t)fu_count_fds() + 64, old.rlim_max};
    CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0, "setrlimit: %s", strerror(errno));
    static int fds[MAX_FILL];

    /* the parent full */
    pool_t *pool = fu_pool_open((pool_config){.processes = 1, .shm_min = MIN});
    if (!pool)
        return check_done("fault_shm_low_limits");
    expect_big(pool, make, false, "a big result, before"); /* the worker is up */
    int n = fill(fds);
    CHECK(errno == EMFILE && n > 0, "filling the table: %d opened, %s", n, strerror(errno));
    expect_big(pool, make, false, "a big result to a full parent");
    expect_big(pool, length, true, "a big argument from a full parent");
    for (int i = 0; i < n; i++)
        close(fds[i]);
    expect_big(pool, make, false, "a big result, after");
    nothing_left("the parent full");
    fu_pool_close(pool, "the parent full");

    /* a worker full */
    pool = fu_pool_open((pool_config){.processes = 1, .shm_min = MIN});
    if (!pool)
        return check_done("fault_shm_low_limits");
    pool_value out = pool_none();
    CHECK_OK(pool_apply(pool, fill_worker, pool_none(), NULL, &out));
    CHECK(out.type == POOL_INT && out.as.i > 0, "the worker did not fill its table: %lld",
          out.as.i);
    pool_value_free(&out);
    expect_big(pool, length, true, "a big argument to a full worker");
    expect_big(pool, make, false, "a big result from a full worker");
    nothing_left("a worker full");
    fu_pool_close(pool, "a worker full");

    setrlimit(RLIMIT_NOFILE, &old); /* back as it was: it was allowed */
    return check_done("fault_shm_low_limits");
}
