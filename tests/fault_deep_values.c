/* fault_deep_values: values nested as deep as the wire format allows, and
 * one list deeper. POOL_MAX_DEPTH lists cross both ways; an apply's args
 * tuple counts as one of them. A deeper argument is refused at submission
 * with POOL_EINVAL, before any worker sees it, and no callback runs; a
 * task that returns a deeper result fails with a message that says so,
 * naming the item, and its worker lives on. A value 10,000 lists deep is
 * refused too: the check looks no deeper than the limit. (Far deeper
 * values are not tried: freeing a value recurses, under ThreadSanitizer's
 * big stack frames 100,000 levels overflowed the stack.) */
#include "fault/fault.h"

/* n lists around the int 7: nest(0) is 7, nest(1) is [7]. */
static pool_value nest(int n)
{
    pool_value v = pool_int(7);
    for (int i = 0; i < n; i++) {
        pool_value outer = pool_list(1);
        outer.as.items[0] = v;
        v = outer;
    }
    return v;
}

/* How many lists are around the innermost value, or -1 if it is not 7. */
static int depth_of(const pool_value *v)
{
    int n = 0;
    while (v->type == POOL_LIST && v->len == 1) {
        v = &v->as.items[0];
        n++;
    }
    return v->type == POOL_INT && v->as.i == 7 ? n : -1;
}

static pool_value task_echo(const pool_value *args, size_t nargs)
{
    return nargs == 1 ? pool_value_copy(&args[0]) : pool_error("want one argument");
}

/* (n) -> n lists around 7 */
static pool_value task_make(const pool_value *args, size_t nargs)
{
    if (nargs != 1 || args[0].type != POOL_INT)
        return pool_error("want an int");
    return nest((int)args[0].as.i);
}

static _Atomic int callbacks;
static pool_value count_cb(const pool_value *v, void *user_data)
{
    (void)v;
    (void)user_data;
    atomic_fetch_add(&callbacks, 1);
    return pool_none();
}

int main(void)
{
    pool_t *pool = fu_pool_open((pool_config){.processes = 2});
    if (!pool)
        return check_done("fault_deep_values");
    const int max = POOL_MAX_DEPTH;
    pool_opts o = {.callback = count_cb, .error_callback = count_cb};
    pool_value out = pool_none();

    /* apply: the tuple is one level, so its argument may hold max - 1. */
    CHECK_OK(pool_apply(pool, task_echo, pool_tuple(1, nest(max - 1)), &o, &out));
    CHECK(depth_of(&out) == max - 1, "apply echoed depth %d, not %d", depth_of(&out), max - 1);
    pool_value_free(&out);
    pool_result *r = (pool_result *)&r; /* must be set to NULL on failure */
    int rc = pool_apply_async(pool, task_echo, pool_tuple(1, nest(max)), &o, &r);
    CHECK(rc == POOL_EINVAL && r == NULL,
          "an apply argument %d lists deep gave %d (%s), not POOL_EINVAL", max, rc,
          pool_strerror(rc));

    /* map and starmap: each item may hold max. */
    pool_value items = pool_list(2);
    items.as.items[0] = nest(max);
    items.as.items[1] = nest(3);
    CHECK_OK(pool_map(pool, task_echo, items, &o, &out));
    CHECK(out.type == POOL_LIST && out.len == 2 && depth_of(&out.as.items[0]) == max &&
              depth_of(&out.as.items[1]) == 3,
          "a map of items %d and 3 deep did not come back whole", max);
    pool_value_free(&out);
    items = pool_list(3);
    items.as.items[0] = nest(1);
    items.as.items[1] = nest(max + 1);
    items.as.items[2] = nest(1);
    rc = pool_map(pool, task_echo, items, &o, &out);
    CHECK(rc == POOL_EINVAL, "a map item %d lists deep gave %d (%s), not POOL_EINVAL", max + 1,
          rc, pool_strerror(rc));
    pool_value_free(&out);
    items = pool_list(1);
    items.as.items[0] = pool_tuple(1, nest(max));
    rc = pool_starmap(pool, task_echo, items, &o, &out);
    CHECK(rc == POOL_EINVAL, "a starmap tuple %d lists deep gave %d (%s), not POOL_EINVAL",
          max + 1, rc, pool_strerror(rc));
    pool_value_free(&out);

    /* A value far too deep for any stack is refused all the same. */
    rc = pool_map(pool, task_echo, pool_tuple(1, nest(10000)), &o, &out);
    CHECK(rc == POOL_EINVAL, "a map item 10,000 lists deep gave %d (%s)", rc,
          pool_strerror(rc));
    pool_value_free(&out);

    /* Results: max lists come back; max + 1 fails the item, and says why. */
    CHECK_OK(pool_apply(pool, task_make, pool_tuple(1, pool_int(max)), &o, &out));
    CHECK(depth_of(&out) == max, "a result %d deep came back %d deep", max, depth_of(&out));
    pool_value_free(&out);
    pool_value ns = pool_list(3);
    ns.as.items[0] = pool_int(2);
    ns.as.items[1] = pool_int(max + 1);
    ns.as.items[2] = pool_int(2);
    pool_opts one = {.chunksize = 1, .callback = count_cb, .error_callback = count_cb};
    rc = pool_map(pool, task_make, ns, &one, &out);
    const char *msg = out.type == POOL_ERROR ? out.as.s : "";
    CHECK(rc == POOL_ETASK && strstr(msg, "task 1 failed") && strstr(msg, "PoolWorker-") &&
              strstr(msg, "nests lists more than 64 deep"),
          "a result %d deep gave %d (%s) \"%s\", not a failed task 1 that says why", max + 1,
          rc, pool_strerror(rc), msg);
    CHECK(!strstr(msg, "malformed") && !strstr(msg, "exited"),
          "the worker was blamed for a deep result: \"%s\"", msg);
    pool_value_free(&out);

    /* Callbacks ran for the four submissions that were taken, and only those. */
    CHECK_EQ_INT(4, atomic_load(&callbacks));
    /* No worker died on the way: the two first ones are still there. */
    CHECK_EQ_INT(2, fu_wait_workers(2, FU_TIMEOUT));
    fu_check_pool_works(pool, 100, "after deep values");
    fu_pool_close(pool, "after deep values");
    return check_done("fault_deep_values");
}
