/* fault_thread_reuse: a thread created after pool_join() is not the result
 * handler, even when it gets the joined handler's pthread_t.
 * glibc gives a joined thread's stack, and with it its pthread_t, to the
 * next thread created with the same stack size. A pool that asks "am I the
 * result handler?" by comparing pthread_self() with that id takes such a
 * thread for it. The test learns the handler's id in a callback, then
 * creates threads one at a time (each joined before the next, at most 50)
 * until one has the same id, and makes its calls from that thread:
 *   1. close, then join in one test thread, which then starts the others:
 *      pool_join() again gives POOL_OK, not POOL_EDEADLK; pool_apply()
 *      gives POOL_ENOTRUNNING, not POOL_EDEADLK; pool_result_wait() on a
 *      ready handle gives POOL_OK; pool_destroy() frees the pool: it prints
 *      no "called from a callback" line, and the descriptors go back to
 *      their count before pool_create();
 *   2. terminate and join in main, then the same from a new thread;
 *   3. the control: in a real callback, pool_result_wait() on an unready
 *      handle, pool_apply() and pool_join() still give POOL_EDEADLK, and
 *      pool_destroy() is still refused with its stderr line.
 * The id must really be reused in case 1 or 2, or the test would prove
 * nothing: if glibc did not reuse it, that is a failure of its own. */
#include "fault/fault.h"

enum { TRIES = 50 };

static fu_track track;
static pthread_t handler_id; /* written by a callback, read after a wait */
static int reuse_seen;

/* Every result callback records the thread it runs on. */
static pool_value record_handler(fu_slot *slot, const pool_value *value)
{
    (void)slot;
    (void)value;
    handler_id = pthread_self();
    return pool_none();
}

/* What the thread with (perhaps) the handler's id saw. */
typedef struct probe {
    pool_t *pool;
    pool_result *ready; /* a handle that is ready already */
    bool same_id;       /* pthread_self() equals the handler's id */
    bool force;         /* make the calls even without the same id */
    bool called;
    int rc_join, rc_apply, rc_wait;
    int fds_after;      /* descriptors open after pool_destroy() */
    char *destroy_err;  /* what pool_destroy() wrote to stderr */
} probe;

static void *probe_main(void *arg)
{
    probe *p = arg;
    p->same_id = pthread_equal(pthread_self(), handler_id);
    if (!p->same_id && !p->force)
        return NULL;
    p->called = true;
    p->rc_join = pool_join(p->pool);
    pool_value out = pool_none();
    p->rc_apply = pool_apply(p->pool, fu_task_double, pool_tuple(1, pool_int(1)), NULL,
                             &out);
    pool_value_free(&out);
    p->rc_wait = pool_result_wait(p->ready, 0);
    fu_capture c;
    fu_capture_begin(&c);
    pool_destroy(p->pool);
    p->destroy_err = fu_capture_end(&c);
    p->fds_after = fu_count_fds();
    return NULL;
}

/* Creates threads one at a time until one gets the handler's id, and runs
 * the calls in it (or in one more thread if none did). */
static void probe_from_new_thread(probe *p, const char *name)
{
    int tries = 0;
    for (; tries < TRIES && !p->called; tries++) {
        pthread_t t;
        if (pthread_create(&t, NULL, probe_main, p) != 0) {
            CHECK(0, "%s: pthread_create failed", name);
            return;
        }
        pthread_join(t, NULL);
    }
    if (p->called) {
        reuse_seen++;
        fprintf(stderr, "fault_thread_reuse: %s: thread %d of the new ones got the "
                "joined result handler's id\n", name, tries);
    } else {
        fprintf(stderr, "fault_thread_reuse: %s: none of %d new threads got the joined "
                "result handler's id; calling from a fresh thread anyway\n", name, tries);
        p->force = true;
        pthread_t t;
        if (pthread_create(&t, NULL, probe_main, p) == 0)
            pthread_join(t, NULL);
    }
}

/* The checks on what the probe saw; pool_destroy() again if it was
 * ignored, so that the next case starts clean. */
static void check_probe(probe *p, int fds0, const char *name)
{
    CHECK(p->called, "%s: the probe thread made no calls", name);
    if (!p->called)
        return;
    CHECK(p->rc_join == POOL_OK,
          "%s: pool_join() from a thread created after the join gave %d (%s), not "
          "POOL_OK: the new thread was taken for the result handler", name, p->rc_join,
          pool_strerror(p->rc_join));
    CHECK(p->rc_apply == POOL_ENOTRUNNING,
          "%s: pool_apply() from a thread created after the join gave %d (%s), not "
          "POOL_ENOTRUNNING", name, p->rc_apply, pool_strerror(p->rc_apply));
    CHECK(p->rc_wait == POOL_OK, "%s: pool_result_wait() on a ready handle gave %d (%s)",
          name, p->rc_wait, pool_strerror(p->rc_wait));
    char *err = p->destroy_err ? p->destroy_err : "";
    size_t len = strlen(err);
    if (len && err[len - 1] == '\n')
        err[len - 1] = '\0'; /* for the message */
    int refused = fu_count_lines_with(err, "called from a callback");
    CHECK(refused == 0,
          "%s: pool_destroy() from a thread created after the join was ignored: \"%s\"",
          name, err);
    CHECK(p->fds_after == fds0,
          "%s: %d descriptors open after pool_destroy() from a thread created after "
          "the join, %d before the pool: the pool leaked", name, p->fds_after, fds0);
    free(p->destroy_err);
    if (refused)
        pool_destroy(p->pool); /* from main, which is surely not the handler */
    fu_after_destroy(fds0, name);
}

/* A pool whose handler's id is known, with a ready handle in *ready. Not
 * fu_pool_open()'s: a probe thread destroys it, and check_probe() checks. */
static pool_t *make_pool(pool_result **ready, const char *name)
{
    pool_t *pool = NULL;
    pool_config cfg = {.processes = 2};
    CHECK_OK(pool_create(&pool, &cfg));
    if (!pool)
        return NULL;
    fu_track_init(&track, 4);
    track.on_ok = record_handler;
    pool_result *h[4] = {0};
    for (int i = 0; i < 4; i++) {
        pool_opts o = fu_opts(&track, i, 0);
        CHECK_OK(pool_apply_async(pool, fu_task_double, pool_tuple(1, pool_int(i)), &o,
                                  &h[i]));
    }
    for (int i = 0; i < 4; i++) {
        const pool_value *v = NULL;
        int rc = fu_get(h[i], &v, name);
        CHECK(rc == POOL_OK && v->type == POOL_INT && v->as.i == 2 * i,
              "%s: task %d: %d (%s)", name, i, rc, pool_strerror(rc));
        if (i > 0)
            pool_result_release(h[i]);
    }
    CHECK_EQ_INT(4, fu_track_wait(&track, 4, FU_TIMEOUT));
    fu_track_check(&track, 1, name);
    fu_track_free(&track);
    *ready = h[0]; /* kept: pool_destroy() frees it */
    return pool;
}

/* Case 1: a test thread closes and joins, then starts the new threads, so
 * the pool is joined in one thread and destroyed in another. */
typedef struct case1 {
    pool_t *pool;
    probe p;
    int rc_close, rc_join;
} case1;

static void *case1_joiner(void *arg)
{
    case1 *c = arg;
    c->rc_close = pool_close(c->pool);
    c->rc_join = pool_join(c->pool);
    probe_from_new_thread(&c->p, "close and join in a thread");
    return NULL;
}

static void case_close_join(void)
{
    const char *name = "close and join in a thread";
    int fds0 = fu_count_fds();
    case1 c = {0};
    c.pool = make_pool(&c.p.ready, name);
    if (!c.pool)
        return;
    c.p.pool = c.pool;
    pthread_t a;
    CHECK(pthread_create(&a, NULL, case1_joiner, &c) == 0, "%s: pthread_create", name);
    pthread_join(a, NULL);
    CHECK_EQ_INT(POOL_OK, c.rc_close);
    CHECK_EQ_INT(POOL_OK, c.rc_join);
    check_probe(&c.p, fds0, name);
}

/* Case 2: terminate and join in main, then the new threads. */
static void case_terminate_join(void)
{
    const char *name = "terminate and join in main";
    int fds0 = fu_count_fds();
    probe p = {0};
    p.pool = make_pool(&p.ready, name);
    if (!p.pool)
        return;
    CHECK_OK(pool_terminate(p.pool));
    CHECK_OK(pool_join(p.pool));
    probe_from_new_thread(&p, name);
    check_probe(&p, fds0, name);
}

/* Case 3: the same calls from a real callback are still refused. */
typedef struct shm {
    _Atomic int release; /* the holding task may end */
} shm;
static shm *sh;

static pool_value task_hold(const pool_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    FU_WAIT_UNTIL(atomic_load(&sh->release), 30);
    return pool_int(7);
}

typedef struct control {
    pool_t *pool;
    pool_result *unready;
    int rc_wait, rc_apply, rc_join;
    char *destroy_err;
} control;

static pool_value control_cb(const pool_value *value, void *user_data)
{
    (void)value;
    control *c = user_data;
    c->rc_wait = pool_result_wait(c->unready, 2.0); /* bounded, should it wait */
    pool_value out = pool_none();
    c->rc_apply = pool_apply(c->pool, fu_task_double, pool_tuple(1, pool_int(1)), NULL, &out);
    pool_value_free(&out);
    pool_close(c->pool); /* so that only the thread can make join refuse */
    c->rc_join = pool_join(c->pool);
    fu_capture cap;
    fu_capture_begin(&cap);
    pool_destroy(c->pool);
    c->destroy_err = fu_capture_end(&cap);
    return pool_none();
}

static void case_callback_control(void)
{
    const char *name = "calls from a callback";
    pool_t *pool = fu_pool_open((pool_config){.processes = 2});
    if (!pool)
        return;
    control c = {.pool = pool, .rc_wait = 99, .rc_apply = 99, .rc_join = 99};
    CHECK_OK(pool_apply_async(pool, task_hold, pool_tuple(0), NULL, &c.unready));
    pool_opts o = {.callback = control_cb, .user_data = &c};
    pool_result *r = NULL;
    CHECK_OK(pool_apply_async(pool, fu_task_double, pool_tuple(1, pool_int(3)), &o, &r));
    CHECK_OK(pool_result_wait(r, FU_TIMEOUT));
    atomic_store(&sh->release, 1);
    CHECK_EQ_INT(POOL_EDEADLK, c.rc_wait);
    CHECK_EQ_INT(POOL_EDEADLK, c.rc_apply);
    CHECK_EQ_INT(POOL_EDEADLK, c.rc_join);
    CHECK(fu_count_lines_with(c.destroy_err ? c.destroy_err : "", "called from a callback")
              == 1, "%s: pool_destroy() in a callback was not refused with its line: "
          "\"%s\"", name, c.destroy_err ? c.destroy_err : "");
    free(c.destroy_err);
    /* The refused destroy left the pool whole. */
    const pool_value *v = NULL;
    int rc = fu_get(c.unready, &v, name);
    CHECK(rc == POOL_OK && v->type == POOL_INT && v->as.i == 7,
          "%s: the held task after a refused destroy: %d (%s)", name, rc, pool_strerror(rc));
    CHECK(pool_result_successful(r), "%s: the callback's own handle failed", name);
    CHECK_OK(pool_join(pool));
    fu_pool_destroy(pool, name);
}

int main(void)
{
    fu_become_subreaper();
    sh = fu_shared(sizeof *sh);
    case_close_join();
    case_terminate_join();
    CHECK(reuse_seen > 0,
          "no thread created after pool_join() got the joined result handler's id in "
          "%d tries per case: glibc did not reuse it, so the bug was not exercised", TRIES);
    case_callback_control();
    return check_done("fault_thread_reuse");
}
