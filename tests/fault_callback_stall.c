/* fault_callback_stall: a callback that blocks for 2 s.
 * Callbacks run one at a time on the result-handler thread, so later
 * results wait for it: no later callback runs, and no later handle becomes
 * ready, before the stalled callback returns. Meanwhile the workers keep
 * running tasks (the stall holds back callbacks, not work), and afterwards
 * every later result arrives: none is lost. */
#include "fault/fault.h"

enum { LATER = 50 };

static _Atomic int *tasks_run; /* shared with the workers */

static pool_value task_count(const pool_value *args, size_t nargs)
{
    atomic_fetch_add(tasks_run, 1);
    return fu_task_double(args, nargs);
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int stall_started, stall_done, out_of_order, later_calls;
static int seen_by_stall; /* tasks the workers finished while it stalled */

static pool_value stall_cb(const pool_value *value, void *user_data)
{
    (void)value;
    (void)user_data;
    pthread_mutex_lock(&mu);
    stall_started = 1;
    pthread_mutex_unlock(&mu);
    double start = fu_now();
    /* Wait (bounded) until the workers have run every later task: they must
     * not need the result handler for that. Then block out the 2 s. */
    FU_WAIT_UNTIL(atomic_load(tasks_run) >= LATER + 1, FU_TIMEOUT);
    int seen = atomic_load(tasks_run);
    double rest = 2.0 - (fu_now() - start);
    if (rest > 0)
        fu_sleep(rest);
    pthread_mutex_lock(&mu);
    seen_by_stall = seen;
    stall_done = 1;
    pthread_mutex_unlock(&mu);
    return pool_none();
}

static pool_value later_ok(fu_slot *slot, const pool_value *value)
{
    (void)slot;
    (void)value;
    pthread_mutex_lock(&mu);
    if (!stall_done)
        out_of_order++;
    later_calls++;
    pthread_mutex_unlock(&mu);
    return pool_none();
}

static int get_flag(int *flag)
{
    pthread_mutex_lock(&mu);
    int v = *flag;
    pthread_mutex_unlock(&mu);
    return v;
}

int main(void)
{
    tasks_run = fu_shared(sizeof *tasks_run);
    pool_t *pool = fu_pool_open((pool_config){.processes = 2});
    if (!pool)
        return check_done("fault_callback_stall");

    pool_opts so = {.callback = stall_cb};
    pool_result *stalled = NULL;
    double t0 = fu_now();
    CHECK_OK(pool_apply_async(pool, task_count, pool_tuple(1, pool_int(1)), &so, &stalled));
    FU_WAIT_UNTIL(get_flag(&stall_started), FU_TIMEOUT);
    CHECK(get_flag(&stall_started), "the stalling callback never started");

    fu_track t;
    fu_track_init(&t, LATER + 1);
    t.on_ok = later_ok;
    pool_result *h[LATER + 1] = {0};
    for (int i = 0; i < LATER; i++) {
        pool_opts o = fu_opts(&t, i, 0);
        CHECK_OK(pool_apply_async(pool, task_count, pool_tuple(1, pool_int(i)), &o, &h[i]));
    }
    pool_opts om = fu_opts(&t, LATER, 0);
    CHECK_OK(pool_map_async(pool, fu_task_double, pool_range(1000), &om, &h[LATER]));

    /* While the callback stalls, a later handle is not ready: whenever a
     * wait returns, the stall must be over. */
    int rc = pool_result_wait(h[0], 0.2);
    if (rc == POOL_OK)
        CHECK(get_flag(&stall_done), "a later handle became ready during the stall");
    CHECK(!pool_result_ready(h[LATER]) || get_flag(&stall_done),
          "the map's handle became ready during the stall");

    for (int i = 0; i <= LATER; i++) {
        const pool_value *v = NULL;
        rc = fu_get(h[i], &v, "a result behind a stalled callback");
        CHECK(rc == POOL_OK, "later #%d: %d (%s) %s", i, rc, pool_strerror(rc), fu_msg(v));
        if (rc == POOL_OK && i < LATER)
            CHECK(v->type == POOL_INT && v->as.i == 2 * i, "later #%d: wrong value", i);
        CHECK(get_flag(&stall_done), "later #%d was ready before the stall ended", i);
    }
    CHECK_OK(pool_result_wait(stalled, FU_TIMEOUT));
    CHECK(pool_result_successful(stalled), "the stalled submission is not successful");
    CHECK(fu_now() - t0 >= 2.0, "the stall took %.3f s, not 2 s", fu_now() - t0);
    CHECK_EQ_INT(LATER + 1, fu_track_wait(&t, LATER + 1, FU_TIMEOUT));
    fu_track_check(&t, 1, "results behind a stalled callback");
    CHECK(get_flag(&out_of_order) == 0, "%d later callbacks ran during the stall",
          get_flag(&out_of_order));
    CHECK_EQ_INT(LATER + 1, get_flag(&later_calls));
    CHECK(get_flag(&seen_by_stall) == LATER + 1,
          "the workers ran %d of %d tasks while a callback stalled",
          get_flag(&seen_by_stall), LATER + 1);
    for (int i = 0; i <= LATER; i++)
        pool_result_release(h[i]);
    pool_result_release(stalled);

    fu_pool_close(pool, "after pool_destroy");
    fu_track_free(&t);
    return check_done("fault_callback_stall");
}
