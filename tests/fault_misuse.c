/* fault_misuse: the pool's calls made in the wrong order or place.
 * join before close: POOL_ERUNNING, "pool is still running"; submitting
 * after close or terminate: POOL_ENOTRUNNING, "pool not running", for every
 * form; close twice, terminate twice, join twice; destroy without close,
 * with tasks running and handles never released; blocking calls from a
 * callback: POOL_EDEADLK; terminate from a callback. None of them hangs,
 * crashes, leaks a descriptor or leaves a process behind. */
#include "fault/fault.h"

/* Sleeps for up to 60 s: long enough that only a kill ends it in time. */
static pool_value task_sleep(const pool_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    for (int i = 0; i < 6000; i++)
        fu_sleep(0.01);
    return pool_int(0);
}

static void check_not_running(pool_t *pool, const char *when)
{
    pool_result *r = (pool_result *)(uintptr_t)1;
    int rc = pool_apply_async(pool, fu_task_double, pool_tuple(1, pool_int(1)), NULL, &r);
    CHECK(rc == POOL_ENOTRUNNING, "%s: apply_async gave %d", when, rc);
    CHECK(r == NULL, "%s: a refused submission left a handle", when);
    rc = pool_map_async(pool, fu_task_double, pool_range(10), NULL, &r);
    CHECK(rc == POOL_ENOTRUNNING, "%s: map_async gave %d", when, rc);
    pool_value items = pool_list(1);
    items.as.items[0] = pool_tuple(1, pool_int(1));
    rc = pool_starmap_async(pool, fu_task_double, items, NULL, &r);
    CHECK(rc == POOL_ENOTRUNNING, "%s: starmap_async gave %d", when, rc);
    pool_value out = pool_int(5);
    rc = pool_apply(pool, fu_task_double, pool_tuple(1, pool_int(1)), NULL, &out);
    CHECK(rc == POOL_ENOTRUNNING, "%s: apply gave %d", when, rc);
    pool_value_free(&out);
    rc = pool_map(pool, fu_task_double, pool_range(3), NULL, &out);
    CHECK(rc == POOL_ENOTRUNNING, "%s: map gave %d", when, rc);
    pool_value_free(&out);
    items = pool_list(1);
    items.as.items[0] = pool_tuple(1, pool_int(1));
    rc = pool_starmap(pool, fu_task_double, items, NULL, &out);
    CHECK(rc == POOL_ENOTRUNNING, "%s: starmap gave %d", when, rc);
    pool_value_free(&out);
    CHECK_STR_CONTAINS(pool_strerror(POOL_ENOTRUNNING), "pool not running");
}

/* ---- blocking calls from a callback ---- */

static pool_t *cb_pool;
static pool_result *cb_other; /* a handle that is not ready */
static int cb_rc_join, cb_rc_wait, cb_rc_get, cb_rc_apply, cb_rc_map, cb_ran;
static pthread_mutex_t cb_mu = PTHREAD_MUTEX_INITIALIZER;

static pool_value deadlock_cb(const pool_value *value, void *user_data)
{
    (void)value;
    (void)user_data;
    const pool_value *v;
    pool_value out = pool_none();
    int join = pool_join(cb_pool);
    int wait = pool_result_wait(cb_other, 5.0);
    int get = pool_result_get(cb_other, POOL_FOREVER, &v);
    int apply = pool_apply(cb_pool, fu_task_double, pool_tuple(1, pool_int(2)), NULL, &out);
    pool_value_free(&out);
    int map = pool_map(cb_pool, fu_task_double, pool_range(4), NULL, &out);
    pool_value_free(&out);
    pthread_mutex_lock(&cb_mu);
    cb_rc_join = join, cb_rc_wait = wait, cb_rc_get = get;
    cb_rc_apply = apply, cb_rc_map = map, cb_ran++;
    pthread_mutex_unlock(&cb_mu);
    return pool_none();
}

static pool_value terminate_cb(const pool_value *value, void *user_data)
{
    (void)value;
    int *rc = user_data;
    *rc = pool_terminate(cb_pool);
    return pool_none();
}

int main(void)
{
    pool_config cfg = {.processes = 2};

    /* 1. join before close, submit after close, close twice, join twice */
    pool_t *pool = fu_pool_open(cfg);
    if (!pool)
        return check_done("fault_misuse");
    CHECK_EQ_INT(POOL_ERUNNING, pool_join(pool));
    CHECK_STR_CONTAINS(pool_strerror(POOL_ERUNNING), "pool is still running");
    fu_check_pool_works(pool, 50, "after join before close");
    CHECK_OK(pool_close(pool));
    check_not_running(pool, "after close");
    int rc = pool_close(pool);
    CHECK(rc == POOL_OK || rc == POOL_ENOTRUNNING, "close twice gave %d", rc);
    CHECK_OK(pool_join(pool));
    CHECK_OK(pool_join(pool));
    check_not_running(pool, "after close and join");
    rc = pool_terminate(pool); /* after join: nothing left to stop */
    CHECK(rc == POOL_OK || rc == POOL_ENOTRUNNING, "terminate after join gave %d", rc);
    fu_pool_destroy(pool, "close twice");

    /* 2. submit after terminate, terminate twice, close after terminate */
    pool = fu_pool_open(cfg);
    if (!pool)
        return check_done("fault_misuse");
    CHECK_OK(pool_terminate(pool));
    check_not_running(pool, "after terminate");
    rc = pool_terminate(pool);
    CHECK(rc == POOL_OK || rc == POOL_ENOTRUNNING, "terminate twice gave %d", rc);
    rc = pool_close(pool);
    CHECK(rc == POOL_OK || rc == POOL_ENOTRUNNING, "close after terminate gave %d", rc);
    CHECK_OK(pool_join(pool));
    fu_pool_destroy(pool, "terminate twice");

    /* 3. destroy without close: tasks running, handles never released */
    pool = fu_pool_open(cfg);
    if (!pool)
        return check_done("fault_misuse");
    pool_result *h[6];
    for (int i = 0; i < 6; i++)
        CHECK_OK(pool_apply_async(pool, task_sleep, pool_tuple(0), NULL, &h[i]));
    pool_result *done = NULL;
    CHECK_OK(pool_apply_async(pool, fu_task_double, pool_tuple(1, pool_int(4)), NULL, &done));
    fu_sleep(0.05);
    double t0 = fu_now();
    fu_pool_destroy(pool, "destroy without close");
    double took = fu_now() - t0;
    CHECK(took < 30, "pool_destroy with running tasks took %.1f s", took);

    /* 4. destroy right after create, and with nothing submitted */
    pool = fu_pool_open(cfg);
    fu_pool_destroy(pool, "destroy right after create");

    /* 5. blocking calls from a callback: POOL_EDEADLK, never a hang */
    pool = fu_pool_open(cfg);
    if (!pool)
        return check_done("fault_misuse");
    cb_pool = pool;
    CHECK_OK(pool_apply_async(pool, task_sleep, pool_tuple(0), NULL, &cb_other));
    pool_opts o = {.callback = deadlock_cb};
    pool_result *r = NULL;
    CHECK_OK(pool_apply_async(pool, fu_task_double, pool_tuple(1, pool_int(3)), &o, &r));
    CHECK_OK(pool_result_wait(r, FU_TIMEOUT));
    pthread_mutex_lock(&cb_mu);
    CHECK_EQ_INT(1, cb_ran);
    CHECK_EQ_INT(POOL_EDEADLK, cb_rc_join);
    CHECK_EQ_INT(POOL_EDEADLK, cb_rc_wait);
    CHECK_EQ_INT(POOL_EDEADLK, cb_rc_get);
    CHECK_EQ_INT(POOL_EDEADLK, cb_rc_apply);
    CHECK_EQ_INT(POOL_EDEADLK, cb_rc_map);
    pthread_mutex_unlock(&cb_mu);
    CHECK(pool_result_successful(r), "the callback's own submission failed");
    pool_result_release(r);
    CHECK(!pool_result_ready(cb_other), "the sleeping task is done already");

    /* 6. terminate from a callback: no deadlock, every handle ends */
    int term_rc = -100;
    pool_opts ot = {.callback = terminate_cb, .user_data = &term_rc};
    r = NULL;
    CHECK_OK(pool_apply_async(pool, fu_task_double, pool_tuple(1, pool_int(3)), &ot, &r));
    CHECK_OK(pool_result_wait(r, FU_TIMEOUT));
    CHECK_EQ_INT(POOL_OK, term_rc);
    const pool_value *v = NULL;
    rc = fu_get(cb_other, &v, "a task behind a terminate from a callback");
    CHECK_EQ_INT(POOL_ETERMINATED, rc);
    CHECK_STR_CONTAINS(fu_msg(v), "terminated");
    check_not_running(pool, "after terminate from a callback");
    CHECK_OK(pool_join(pool));
    fu_pool_destroy(pool, "terminate from a callback");

    return check_done("fault_misuse");
}
