/* fault_create_destroy: 1,000 pools made and destroyed in a row.
 * Each pool runs a task, then ends one of three ways (close and join,
 * terminate and join, destroy alone with a handle never released). After
 * every 100 cycles no descriptor, process or zombie is left over, and after
 * the last the heap in use (mallinfo2) grew by at most 64 KiB and the
 * resident set by at most 4 MiB since cycle 20. Under Valgrind it runs 40
 * cycles; there and under the sanitizers the memory figures are not checked
 * (their leak checkers do that job). */
#include <malloc.h>

#include "fault/fault.h"

static void cycle(int i)
{
    pool_t *pool = NULL;
    pool_config cfg = {.processes = 2};
    int rc = pool_create(&pool, &cfg);
    CHECK(rc == POOL_OK, "cycle %d: pool_create gave %d (%s)", i, rc, pool_strerror(rc));
    if (!pool)
        return;
    pool_result *r = NULL;
    CHECK_OK(pool_apply_async(pool, fu_task_double, pool_tuple(1, pool_int(i)), NULL, &r));
    const pool_value *v = NULL;
    rc = fu_get(r, &v, "a task in a short-lived pool");
    CHECK(rc == POOL_OK && v->as.i == 2 * i, "cycle %d: the task gave %d", i, rc);
    switch (i % 3) {
    case 0:
        pool_result_release(r);
        CHECK_OK(pool_close(pool));
        CHECK_OK(pool_join(pool));
        break;
    case 1:
        CHECK_OK(pool_apply_async(pool, fu_task_double, pool_tuple(1, pool_int(i)), NULL, &r));
        CHECK_OK(pool_terminate(pool));
        CHECK_OK(pool_join(pool));
        break;
    default:
        CHECK_OK(pool_map_async(pool, fu_task_double, pool_range(100), NULL, &r));
        break; /* destroy alone, handles never released */
    }
    pool_destroy(pool);
}

int main(void)
{
    fu_become_subreaper();
    const int cycles = fu_under_valgrind() ? 40 : 1000;
    int fds0 = fu_count_fds();
    size_t heap20 = 0;
    long rss20 = 0;
    int failures_before = 0;
    for (int i = 0; i < cycles; i++) {
        cycle(i);
        if (i == 20) {
            heap20 = mallinfo2().uordblks;
            rss20 = fu_status_kib("VmRSS");
        }
        if ((i + 1) % 100 == 0 || i + 1 == cycles) {
            char when[64];
            snprintf(when, sizeof when, "after %d cycles", i + 1);
            fu_after_destroy(fds0, when);
            if (check_failures > failures_before + 20)
                break; /* one broken cycle is enough to see */
            failures_before = check_failures;
        }
    }
    size_t heap = mallinfo2().uordblks;
    long rss = fu_status_kib("VmRSS");
    fprintf(stderr, "fault_create_destroy: %d cycles; heap in use %zu -> %zu bytes, "
            "RSS %ld -> %ld KiB since cycle 20\n", cycles, heap20, heap, rss20, rss);
    if (!fu_instrumented()) {
        CHECK(heap <= heap20 + 64 * 1024, "the heap grew by %zd bytes over %d cycles",
              (ssize_t)(heap - heap20), cycles - 21);
        CHECK(rss <= rss20 + 4 * 1024, "the RSS grew by %ld KiB over %d cycles", rss - rss20,
              cycles - 21);
    }
    return check_done("fault_create_destroy");
}
