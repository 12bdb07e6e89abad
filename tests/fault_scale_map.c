/* fault_scale_map: a map over 1,000,000 items with bounded memory.
 * Every result is right, and the peak resident memory stays bounded: the
 * test process (its VmHWM) at most 128 MiB, where the items and results
 * alone take 32 MB (16 bytes per pool_value each way), and every worker and
 * the fork server (ru_maxrss of the waited-for descendants) at most 64 MiB.
 * Under Valgrind the map has 100,000 items; under Valgrind and the
 * sanitizers memory figures mean nothing, so the bounds are not checked. */
#include <sys/resource.h>

#include "fault/fault.h"

#define PARENT_BOUND_KIB (128L * 1024)
#define CHILD_BOUND_KIB (64L * 1024)

int main(void)
{
    const size_t n = fu_under_valgrind() ? 100000 : 1000000;
    pool_t *pool = fu_pool_open((pool_config){.processes = 2});
    if (!pool)
        return check_done("fault_scale_map");

    /* 1. the blocking map */
    pool_value out = pool_none();
    int rc = pool_map(pool, fu_task_double, pool_range(n), NULL, &out);
    CHECK(rc == POOL_OK, "map over %zu items: %d (%s) %s", n, rc, pool_strerror(rc),
          fu_msg(&out));
    size_t wrong = 0;
    if (rc == POOL_OK) {
        CHECK(out.type == POOL_LIST && out.len == n, "map over %zu: type %d len %u", n,
              (int)out.type, out.len);
        for (size_t i = 0; out.type == POOL_LIST && i < out.len; i++)
            if (out.as.items[i].type != POOL_INT || out.as.items[i].as.i != 2 * (long long)i)
                wrong++;
        CHECK(wrong == 0, "%zu of %zu results wrong", wrong, n);
    }
    pool_value_free(&out);

    /* 2. the same through map_async and its callback */
    fu_track t;
    fu_track_init(&t, 1);
    pool_opts o = fu_opts(&t, 0, 0);
    pool_result *r = NULL;
    CHECK_OK(pool_map_async(pool, fu_task_double, pool_range(n), &o, &r));
    const pool_value *v = NULL;
    rc = fu_get(r, &v, "map_async over many items");
    CHECK_EQ_INT(POOL_OK, rc);
    CHECK(v && v->type == POOL_LIST && v->len == n && v->as.items[n - 1].as.i == 2 * (long long)(n - 1),
          "map_async over %zu items: wrong result", n);
    CHECK_EQ_INT(1, fu_track_wait(&t, 1, FU_TIMEOUT));
    fu_track_check(&t, 1, "map_async over many items");
    CHECK_EQ_INT(POOL_LIST, t.slots[0].type);
    CHECK_EQ_INT((long long)n, t.slots[0].len);
    pool_result_release(r);
    fu_track_free(&t);

    fu_pool_close(pool, "after pool_destroy");

    long hwm = fu_status_kib("VmHWM");
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    fprintf(stderr, "fault_scale_map: %zu items, peak RSS %ld KiB here, %ld KiB in a child\n",
            n, hwm, ru.ru_maxrss);
    if (!fu_instrumented()) {
        CHECK(hwm > 0 && hwm <= PARENT_BOUND_KIB,
              "peak RSS of the test %ld KiB, over the bound of %ld KiB", hwm, PARENT_BOUND_KIB);
        CHECK(ru.ru_maxrss > 0 && ru.ru_maxrss <= CHILD_BOUND_KIB,
              "peak RSS of a worker or the fork server %ld KiB, over the bound of %ld KiB",
              ru.ru_maxrss, CHILD_BOUND_KIB);
    }
    return check_done("fault_scale_map");
}
