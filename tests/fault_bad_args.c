/* fault_bad_args: bad arguments to every call.
 * NULL pool, NULL function, NULL handle or output pointers, a negative
 * worker count, a negative or absurd chunksize, a map over something that
 * is not a list: each is refused with POOL_EINVAL (the pool frees what it
 * took over; the memcheck run proves it), and the pool keeps working. An
 * empty list is no error: its callback gets an empty list. */
#include <limits.h>

#include "fault/fault.h"

static _Atomic int *nargs_seen; /* shared: what an apply with () passed */

static pool_value task_count_args(const pool_value *args, size_t nargs)
{
    (void)args;
    atomic_store(nargs_seen, (int)nargs + 1);
    return pool_int((long long)nargs);
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int empty_calls, empty_type = -1, empty_len = -1;

static pool_value empty_cb(const pool_value *value, void *user_data)
{
    (void)user_data;
    pthread_mutex_lock(&mu);
    empty_calls++;
    empty_type = (int)value->type;
    empty_len = (int)value->len;
    pthread_mutex_unlock(&mu);
    return pool_none();
}

static pool_value no_err_cb(const pool_value *value, void *user_data)
{
    (void)value;
    (void)user_data;
    pthread_mutex_lock(&mu);
    empty_calls += 1000;
    pthread_mutex_unlock(&mu);
    return pool_none();
}

/* Every submission form with pool p and function fn must give want. */
static void all_forms(pool_t *p, pool_task_fn fn, const pool_opts *o, int want,
                      const char *what)
{
    pool_result *r = (pool_result *)(uintptr_t)1;
    pool_value out = pool_int(1);
    int rc = pool_apply_async(p, fn, pool_tuple(1, pool_int(1)), o, &r);
    CHECK(rc == want, "%s: apply_async gave %d, want %d", what, rc, want);
    CHECK(rc == POOL_OK || r == NULL, "%s: a refused apply_async left a handle", what);
    rc = pool_map_async(p, fn, pool_range(5), o, &r);
    CHECK(rc == want, "%s: map_async gave %d, want %d", what, rc, want);
    pool_value items = pool_list(2);
    items.as.items[0] = pool_tuple(1, pool_int(1));
    items.as.items[1] = pool_tuple(1, pool_str("x"));
    rc = pool_starmap_async(p, fn, items, o, &r);
    CHECK(rc == want, "%s: starmap_async gave %d, want %d", what, rc, want);
    rc = pool_apply(p, fn, pool_tuple(1, pool_int(1)), o, &out);
    CHECK(rc == want, "%s: apply gave %d, want %d", what, rc, want);
    pool_value_free(&out);
    rc = pool_map(p, fn, pool_range(5), o, &out);
    CHECK(rc == want, "%s: map gave %d, want %d", what, rc, want);
    pool_value_free(&out);
    items = pool_list(1);
    items.as.items[0] = pool_tuple(2, pool_int(1), pool_bytes("ab", 2));
    rc = pool_starmap(p, fn, items, o, &out);
    CHECK(rc == want, "%s: starmap gave %d, want %d", what, rc, want);
    pool_value_free(&out);
}

int main(void)
{
    fu_become_subreaper();
    nargs_seen = fu_shared(sizeof *nargs_seen);
    int fds0 = fu_count_fds();

    /* ---- pool_create ---- */
    pool_config cfg = {.processes = 2};
    CHECK_EQ_INT(POOL_EINVAL, pool_create(NULL, &cfg));
    long bad_counts[] = {-1, -2, LONG_MIN};
    for (size_t i = 0; i < sizeof bad_counts / sizeof *bad_counts; i++) {
        pool_t *p = NULL;
        pool_config c = {.processes = bad_counts[i]};
        CHECK(pool_create(&p, &c) == POOL_EINVAL, "processes = %ld not refused",
              bad_counts[i]);
        CHECK(p == NULL, "processes = %ld: a pool came back", bad_counts[i]);
    }
    {
        pool_t *p = NULL;
        pool_config c = {.processes = LONG_MAX};
        int rc = pool_create(&p, &c);
        CHECK(rc == POOL_EINVAL || rc == POOL_ESYS, "processes = LONG_MAX gave %d", rc);
        if (rc == POOL_OK)
            pool_destroy(p);
        pool_config m = {.processes = 1, .maxtasksperchild = -1};
        p = NULL;
        CHECK_EQ_INT(POOL_EINVAL, pool_create(&p, &m));
    }
    fu_after_destroy(fds0, "after refused pool_create calls");

    /* ---- a NULL pool ---- */
    all_forms(NULL, fu_task_double, NULL, POOL_EINVAL, "NULL pool");
    CHECK_EQ_INT(POOL_EINVAL, pool_close(NULL));
    CHECK_EQ_INT(POOL_EINVAL, pool_terminate(NULL));
    CHECK_EQ_INT(POOL_EINVAL, pool_join(NULL));
    CHECK(pool_processes(NULL) <= 0, "pool_processes(NULL) gave %ld", pool_processes(NULL));
    pool_destroy(NULL);

    /* ---- NULL handles ---- */
    const pool_value *v = NULL;
    CHECK_EQ_INT(POOL_EINVAL, pool_result_wait(NULL, 0));
    CHECK_EQ_INT(POOL_EINVAL, pool_result_get(NULL, 0, &v));
    CHECK(!pool_result_ready(NULL), "a NULL handle is ready");
    CHECK(!pool_result_successful(NULL), "a NULL handle is successful");
    pool_result_release(NULL);
    CHECK(pool_strerror(12345) != NULL, "pool_strerror gave NULL");

    pool_t *pool = fu_pool_open(cfg);
    if (!pool)
        return check_done("fault_bad_args");
    CHECK_EQ_INT(2, pool_processes(pool));

    /* ---- a NULL function, NULL out pointers ---- */
    all_forms(pool, NULL, NULL, POOL_EINVAL, "NULL function");
    CHECK_EQ_INT(POOL_EINVAL, pool_apply_async(pool, fu_task_double,
                                               pool_tuple(1, pool_int(1)), NULL, NULL));
    CHECK_EQ_INT(POOL_EINVAL, pool_map_async(pool, fu_task_double, pool_range(3), NULL, NULL));
    CHECK_EQ_INT(POOL_EINVAL, pool_apply(pool, fu_task_double, pool_tuple(1, pool_int(1)),
                                         NULL, NULL));
    CHECK_EQ_INT(POOL_EINVAL, pool_map(pool, fu_task_double, pool_range(3), NULL, NULL));

    /* ---- chunksize ---- */
    long bad_chunks[] = {-1, -1000, LONG_MIN};
    for (size_t i = 0; i < sizeof bad_chunks / sizeof *bad_chunks; i++) {
        pool_opts o = {.chunksize = bad_chunks[i]};
        all_forms(pool, fu_task_double, &o, POOL_EINVAL, "a negative chunksize");
    }
    long huge_chunks[] = {LONG_MAX, (long)1 << 40, 1000000000L};
    for (size_t i = 0; i < sizeof huge_chunks / sizeof *huge_chunks; i++) {
        /* Refused, or taken as one chunk for everything: never wrong. */
        pool_opts o = {.chunksize = huge_chunks[i]};
        pool_value out = pool_none();
        int rc = pool_map(pool, fu_task_double, pool_range(1000), &o, &out);
        CHECK(rc == POOL_OK || rc == POOL_EINVAL, "chunksize %ld gave %d (%s) %s",
              huge_chunks[i], rc, pool_strerror(rc), fu_msg(&out));
        if (rc == POOL_OK)
            CHECK(out.type == POOL_LIST && out.len == 1000 && out.as.items[999].as.i == 1998,
                  "chunksize %ld: wrong result", huge_chunks[i]);
        pool_value_free(&out);
    }

    /* ---- not a list, not a tuple ---- */
    pool_result *r = NULL;
    CHECK_EQ_INT(POOL_EINVAL, pool_map_async(pool, fu_task_double, pool_int(5), NULL, &r));
    CHECK_EQ_INT(POOL_EINVAL, pool_map_async(pool, fu_task_double, pool_str("abc"), NULL, &r));
    CHECK_EQ_INT(POOL_EINVAL, pool_starmap_async(pool, fu_task_double, pool_none(), NULL, &r));
    {
        pool_value items = pool_list(2);
        items.as.items[0] = pool_tuple(1, pool_int(1));
        items.as.items[1] = pool_int(2); /* not a tuple */
        pool_value out = pool_none();
        int rc = pool_starmap(pool, fu_task_double, items, NULL, &out);
        CHECK(rc == POOL_EINVAL || rc == POOL_ETASK,
              "starmap over a non-tuple item gave %d (%s)", rc, pool_strerror(rc));
        pool_value_free(&out);
    }

    /* ---- the empty list: its callback gets an empty list ---- */
    pool_opts eo = {.callback = empty_cb, .error_callback = no_err_cb};
    CHECK_OK(pool_map_async(pool, fu_task_double, pool_list(0), &eo, &r));
    int rc = fu_get(r, &v, "map over an empty list");
    CHECK_EQ_INT(POOL_OK, rc);
    CHECK(v && v->type == POOL_LIST && v->len == 0, "an empty map gave type %d len %u",
          v ? (int)v->type : -1, v ? v->len : 0);
    pthread_mutex_lock(&mu);
    CHECK_EQ_INT(1, empty_calls);
    CHECK_EQ_INT(POOL_LIST, empty_type);
    CHECK_EQ_INT(0, empty_len);
    pthread_mutex_unlock(&mu);
    pool_result_release(r);
    CHECK_OK(pool_starmap_async(pool, fu_task_double, pool_list(0), &eo, &r));
    CHECK_EQ_INT(POOL_OK, fu_get(r, &v, "starmap over an empty list"));
    pool_result_release(r);
    pthread_mutex_lock(&mu);
    CHECK_EQ_INT(2, empty_calls);
    pthread_mutex_unlock(&mu);
    pool_value out = pool_int(7);
    CHECK_OK(pool_map(pool, fu_task_double, pool_list(0), NULL, &out));
    CHECK(out.type == POOL_LIST && out.len == 0, "pool_map over [] gave type %d len %u",
          (int)out.type, out.len);
    pool_value_free(&out);
    /* apply with () runs the task with no arguments */
    CHECK_OK(pool_apply(pool, task_count_args, pool_tuple(0), NULL, &out));
    CHECK(out.type == POOL_INT && out.as.i == 0, "apply with () passed %lld arguments",
          out.as.i);
    CHECK_EQ_INT(1, atomic_load(nargs_seen));
    pool_value_free(&out);

    fu_check_pool_works(pool, 100, "after bad arguments");
    fu_pool_close(pool, "after pool_destroy");
    return check_done("fault_bad_args");
}
