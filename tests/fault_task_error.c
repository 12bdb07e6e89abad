/* fault_task_error: a task that fails by returning an error.
 * The handle fails with POOL_ETASK, the error callback runs once per
 * submission (never the result callback), the message names the task and
 * the worker, and the pool keeps working. */
#include "fault/fault.h"

static volatile pid_t *last_pid; /* shared: the worker that ran the task */

static pool_value task_fail(const pool_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    *last_pid = getpid();
    return pool_error("boom from the task");
}

/* Fails on the items listed in FAILING, doubles the others. */
static const long long failing[] = {17, 2500, 4242, 4999};
static pool_value task_fail_some(const pool_value *args, size_t nargs)
{
    if (nargs != 1 || args[0].type != POOL_INT)
        return pool_error("want one int");
    for (size_t i = 0; i < sizeof failing / sizeof *failing; i++)
        if (args[0].as.i == failing[i])
            return pool_error("bad item %lld", args[0].as.i);
    return pool_int(args[0].as.i * 2);
}

static pool_value task_fail_one(const pool_value *args, size_t nargs)
{
    if (nargs == 1 && args[0].type == POOL_INT && args[0].as.i == 704242) {
        *last_pid = getpid();
        return pool_error("bad value");
    }
    return pool_int(nargs ? args[0].as.i : 0);
}

/* starmap: (a, b) -> a / b, an error for b == 0 */
static pool_value task_div(const pool_value *args, size_t nargs)
{
    if (nargs != 2)
        return pool_error("want two ints, got %zu values", nargs);
    if (args[1].as.i == 0)
        return pool_error("division by zero");
    return pool_int(args[0].as.i / args[1].as.i);
}

static bool names_worker(const char *msg, pid_t pid)
{
    char pidtext[32];
    snprintf(pidtext, sizeof pidtext, "%d", (int)pid);
    return strstr(msg, "PoolWorker-") || (pid > 0 && strstr(msg, pidtext));
}

int main(void)
{
    last_pid = fu_shared(sizeof *last_pid);
    pool_t *pool = fu_pool_open((pool_config){.processes = 2});
    if (!pool)
        return check_done("fault_task_error");

    fu_track t;
    fu_track_init(&t, 4);

    /* 1. apply_async of a failing task */
    pool_opts o0 = fu_opts(&t, 0, 0);
    pool_result *r0 = NULL;
    CHECK_OK(pool_apply_async(pool, task_fail, pool_tuple(0), &o0, &r0));
    const pool_value *v = NULL;
    int rc = fu_get(r0, &v, "apply of a failing task");
    CHECK_EQ_INT(POOL_ETASK, rc);
    CHECK(v && v->type == POOL_ERROR, "the failed handle holds type %d, not an error",
          v ? (int)v->type : -1);
    CHECK_STR_CONTAINS(fu_msg(v), "boom from the task");
    CHECK(names_worker(fu_msg(v), *last_pid),
          "the message \"%s\" names no worker (pid %d)", fu_msg(v), (int)*last_pid);
    CHECK(!pool_result_successful(r0), "a failed task's handle is successful");
    /* get again: same answer, the handle stays ready */
    const pool_value *v2 = NULL;
    CHECK_EQ_INT(POOL_ETASK, pool_result_get(r0, 0, &v2));
    CHECK(v2 == v, "a second get gave another value");
    CHECK_EQ_INT(0, t.slots[0].ok_calls);
    CHECK_EQ_INT(1, t.slots[0].err_calls);
    CHECK_STR_CONTAINS(t.slots[0].msg, "boom from the task");
    pool_result_release(r0);

    /* 2. map of 5000 with one failing item: one error callback, naming the
     * item's index (4242; its value 704242 is not in the task's message) */
    pool_value shifted = pool_range(5000);
    for (uint32_t i = 0; i < shifted.len; i++)
        shifted.as.items[i].as.i += 700000;
    pool_opts o1 = fu_opts(&t, 1, 0);
    pool_result *r1 = NULL;
    CHECK_OK(pool_map_async(pool, task_fail_one, shifted, &o1, &r1));
    rc = fu_get(r1, &v, "map with one failing item");
    CHECK_EQ_INT(POOL_ETASK, rc);
    CHECK_STR_CONTAINS(fu_msg(v), "bad value");
    CHECK_STR_CONTAINS(fu_msg(v), "4242");
    CHECK(names_worker(fu_msg(v), *last_pid),
          "the map's error \"%s\" names no worker (pid %d)", fu_msg(v),
          (int)*last_pid);
    pool_result_release(r1);

    /* 3. map with four failing items: still one error callback */
    pool_opts o2 = fu_opts(&t, 2, 7);
    pool_result *r2 = NULL;
    CHECK_OK(pool_map_async(pool, task_fail_some, pool_range(5000), &o2, &r2));
    rc = fu_get(r2, &v, "map with four failing items");
    CHECK_EQ_INT(POOL_ETASK, rc);
    CHECK_STR_CONTAINS(fu_msg(v), "bad item");
    pool_result_release(r2);

    /* 4. starmap with a division by zero */
    pool_value items = pool_list(3);
    items.as.items[0] = pool_tuple(2, pool_int(6), pool_int(3));
    items.as.items[1] = pool_tuple(2, pool_int(1), pool_int(0));
    items.as.items[2] = pool_tuple(2, pool_int(8), pool_int(2));
    pool_opts o3 = fu_opts(&t, 3, 1);
    pool_result *r3 = NULL;
    CHECK_OK(pool_starmap_async(pool, task_div, items, &o3, &r3));
    rc = fu_get(r3, &v, "starmap with a failing item");
    CHECK_EQ_INT(POOL_ETASK, rc);
    CHECK_STR_CONTAINS(fu_msg(v), "division by zero");
    pool_result_release(r3);

    CHECK_EQ_INT(4, fu_track_wait(&t, 4, FU_TIMEOUT));
    fu_track_check(&t, 0, "failing tasks");

    /* 5. the blocking form hands over the error value */
    pool_value out = pool_none();
    rc = pool_apply(pool, task_fail, pool_tuple(0), NULL, &out);
    CHECK_EQ_INT(POOL_ETASK, rc);
    CHECK(out.type == POOL_ERROR, "pool_apply gave type %d for a failed task",
          (int)out.type);
    CHECK_STR_CONTAINS(fu_msg(&out), "boom from the task");
    pool_value_free(&out);

    /* 6. a failed task breaks nothing */
    fu_check_pool_works(pool, 1000, "after failing tasks");
    CHECK_EQ_INT(2, pool_processes(pool));

    fu_pool_close(pool, "after pool_destroy");
    CHECK_EQ_INT(4, t.calls); /* nothing ran late */
    fu_track_free(&t);
    return check_done("fault_task_error");
}
