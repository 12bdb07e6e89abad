/* test_cancel.c - pool_result_cancel() and pool_shutdown(): a queued
 * submission is cancelled and never reaches a worker; a sent, started or
 * ready one is not; shutdown cancels the queued and lets the sent finish,
 * returns at once without wait, and refuses to wait on the result handler.
 *
 * One worker is sent up to POOL_MAX_SENT chunks ahead, so each scenario
 * first fills that window with a map of POOL_MAX_SENT one-item chunks whose
 * first item has started and waits at a gate. Whatever is submitted next
 * stays queued in the parent until the gate opens. */
#include "check.h"
#include "pool.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

enum { SLOTS = 64 };

static struct shared {
    _Atomic int gate;
    _Atomic int started;
    _Atomic int ran[SLOTS]; /* ran[i]: how often a task for slot i ran */
} *sh;

static pool_value gated(const pool_value *args, size_t nargs)
{
    (void)args, (void)nargs;
    atomic_store(&sh->started, 1);
    for (int i = 0; i < 20000 && !atomic_load(&sh->gate); i++) /* 20 s at most */
        usleep(1000);
    return pool_int(42);
}

static pool_value mark(const pool_value *args, size_t nargs)
{
    if (nargs != 1 || args[0].type != POOL_INT || args[0].as.i < 0 || args[0].as.i >= SLOTS)
        return pool_error("mark wants a slot");
    atomic_fetch_add(&sh->ran[args[0].as.i], 1);
    return pool_int(args[0].as.i);
}

static void reset(void)
{
    memset(sh, 0, sizeof *sh);
}

/* Waits (bounded) until the gated task has started in its worker. */
static bool await_started(void)
{
    for (int i = 0; i < 20000 && !atomic_load(&sh->started); i++)
        usleep(1000);
    return atomic_load(&sh->started);
}

/* Item -1 is the gated one; any other marks its slot. */
static pool_value gated_or_mark(const pool_value *args, size_t nargs)
{
    return nargs == 1 && args[0].type == POOL_INT && args[0].as.i == -1 ? gated(args, nargs)
                                                                        : mark(args, nargs);
}

/* One map fills the window: its item 0 starts and waits at the gate, and
 * items 1.. (slot 0) wait behind it in the worker's pipe. The task handler
 * sends all of a job's chunks that fit in one hold of the lock, before it
 * writes any, so once item 0 started, every item was sent. */
static void fill(pool_t *pool, pool_result **busy)
{
    pool_value items = pool_list(POOL_MAX_SENT);
    items.as.items[0] = pool_int(-1);
    for (uint32_t i = 1; i < items.len; i++)
        items.as.items[i] = pool_int(0);
    CHECK_OK(pool_map_async(pool, gated_or_mark, items, &(pool_opts){.chunksize = 1}, busy));
    CHECK(await_started(), "the blocker never started");
}

static pool_value slot_args(int slot)
{
    return pool_tuple(1, pool_int(slot));
}

/* Callbacks of a cancelled handle: counted; the error callback keeps the message. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int errors_seen, dones_seen, results_seen;
static char error_text[64];

static pool_value on_error(const pool_value *error, void *user_data)
{
    (void)user_data;
    pthread_mutex_lock(&mu);
    errors_seen++;
    snprintf(error_text, sizeof error_text, "%s", error->type == POOL_ERROR ? error->as.s : "?");
    pthread_mutex_unlock(&mu);
    return pool_none();
}

static pool_value on_result(const pool_value *value, void *user_data)
{
    (void)value, (void)user_data;
    pthread_mutex_lock(&mu);
    results_seen++;
    pthread_mutex_unlock(&mu);
    return pool_none();
}

static void on_done(pool_result *r, void *user_data)
{
    (void)r, (void)user_data;
    pthread_mutex_lock(&mu);
    dones_seen++;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static bool await_dones(int n)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 20;
    pthread_mutex_lock(&mu);
    int rc = 0;
    while (dones_seen < n && rc == 0)
        rc = pthread_cond_timedwait(&cv, &mu, &deadline);
    bool ok = dones_seen >= n;
    pthread_mutex_unlock(&mu);
    return ok;
}

static void reset_counts(void)
{
    pthread_mutex_lock(&mu);
    errors_seen = dones_seen = results_seen = 0;
    error_text[0] = '\0';
    pthread_mutex_unlock(&mu);
}

static void test_cancel_queued(void)
{
    reset();
    reset_counts();
    pool_t *pool;
    CHECK_OK(pool_create(&pool, &(pool_config){.processes = 1}));
    pool_result *blocker, *queued, *queued_map;
    fill(pool, &blocker);
    pool_opts opts = {.callback = on_result, .error_callback = on_error};
    CHECK_OK(pool_apply_async(pool, mark, slot_args(1), &opts, &queued));
    CHECK_OK(pool_result_add_done_callback(queued, on_done, NULL));
    CHECK_OK(pool_map_async(pool, mark, pool_tuple(2, pool_int(2), pool_int(2)), &opts,
                            &queued_map));

    CHECK(pool_result_cancel(queued), "a queued apply is cancelled");
    CHECK(pool_result_cancel(queued_map), "a queued map is cancelled");
    CHECK(!pool_result_cancel(queued), "a cancelled handle is not cancelled again");
    CHECK_OK(pool_result_wait(queued, 20));
    const pool_value *v = NULL;
    CHECK_EQ_INT(POOL_ECANCELLED, pool_result_get(queued, 0, &v));
    CHECK(v && v->type == POOL_ERROR && strcmp(v->as.s, "cancelled") == 0,
          "the error value says cancelled");
    CHECK(!pool_result_successful(queued_map), "a cancelled map is not successful");
    CHECK(await_dones(1), "the cancelled handle's done callback never ran");

    /* Sent items cannot be taken back: the started one, nor those that
     * wait in the worker's pipe. */
    CHECK(!pool_result_cancel(blocker), "a started and sent submission is not cancelled");
    CHECK(!pool_result_ready(blocker), "the blocker still runs");
    atomic_store(&sh->gate, 1);
    CHECK_EQ_INT(POOL_OK, pool_result_get(blocker, 20, &v));
    CHECK(v && v->type == POOL_LIST && v->len == POOL_MAX_SENT && v->as.items[0].as.i == 42,
          "the started item's result arrives, and the sent ones'");
    CHECK(!pool_result_cancel(blocker), "a ready handle is not cancelled");
    CHECK(pool_result_successful(blocker), "a refused cancel changes nothing");

    CHECK_OK(pool_close(pool));
    CHECK_OK(pool_join(pool));
    /* Every worker is gone: whatever reached one has run. */
    CHECK_EQ_INT(POOL_MAX_SENT - 1, atomic_load(&sh->ran[0]));
    CHECK_EQ_INT(0, atomic_load(&sh->ran[1]));
    CHECK_EQ_INT(0, atomic_load(&sh->ran[2]));
    CHECK_EQ_INT(2, errors_seen); /* once each: the apply and the map */
    CHECK_EQ_INT(0, results_seen);
    CHECK_EQ_INT(1, dones_seen);
    CHECK_STR_CONTAINS(error_text, "cancelled");
    pool_result_release(blocker);
    pool_result_release(queued);
    pool_result_release(queued_map);
    pool_destroy(pool);
}

/* shutdown(wait, cancel_pending) from another thread: main sees the queued
 * one cancelled while the blocker still runs, then lets it finish. */
struct shutdown_call {
    pool_t *pool;
    bool wait, cancel;
    int rc;
};

static void *call_shutdown(void *arg)
{
    struct shutdown_call *s = arg;
    s->rc = pool_shutdown(s->pool, s->wait, s->cancel);
    return NULL;
}

static void test_shutdown_cancels(void)
{
    reset();
    reset_counts();
    pool_t *pool;
    CHECK_OK(pool_create(&pool, &(pool_config){.processes = 1}));
    pool_result *blocker, *queued;
    fill(pool, &blocker);
    CHECK_OK(pool_apply_async(pool, mark, slot_args(3), &(pool_opts){.error_callback = on_error},
                              &queued));
    CHECK_OK(pool_result_add_done_callback(queued, on_done, NULL));
    struct shutdown_call s = {pool, true, true, 99};
    pthread_t t;
    CHECK_EQ_INT(0, pthread_create(&t, NULL, call_shutdown, &s));
    const pool_value *v = NULL;
    CHECK_EQ_INT(POOL_ECANCELLED, pool_result_get(queued, 20, &v));
    CHECK(!pool_result_ready(blocker), "shutdown waits; the started item still runs");
    atomic_store(&sh->gate, 1);
    CHECK_EQ_INT(0, pthread_join(t, NULL));
    CHECK_OK(s.rc);
    CHECK(pool_result_successful(blocker), "the started item finished");
    CHECK_EQ_INT(0, atomic_load(&sh->ran[3]));
    CHECK_EQ_INT(1, errors_seen);
    CHECK(await_dones(1), "the done callback of a shut-down handle never ran");
    pool_result *late;
    CHECK_EQ_INT(POOL_ENOTRUNNING, pool_apply_async(pool, mark, slot_args(4), NULL, &late));
    CHECK_OK(pool_join(pool)); /* joined already: a second join is fine */
    pool_result_release(blocker);
    pool_result_release(queued);
    pool_destroy(pool);
}

/* shutdown(false, false): returns at once, cancels nothing; join later. */
static void test_shutdown_no_wait(void)
{
    reset();
    pool_t *pool;
    CHECK_OK(pool_create(&pool, &(pool_config){.processes = 1}));
    pool_result *blocker, *queued;
    fill(pool, &blocker);
    CHECK_OK(pool_apply_async(pool, mark, slot_args(5), NULL, &queued));
    CHECK_OK(pool_shutdown(pool, false, false));
    CHECK(!pool_result_ready(blocker), "shutdown without wait returned while a task runs");
    CHECK(!pool_result_ready(queued), "nothing was cancelled");
    pool_result *late;
    CHECK_EQ_INT(POOL_ENOTRUNNING, pool_apply_async(pool, mark, slot_args(6), NULL, &late));
    atomic_store(&sh->gate, 1);
    CHECK_OK(pool_join(pool));
    CHECK(pool_result_successful(queued), "a queued one runs when not cancelled");
    CHECK_EQ_INT(1, atomic_load(&sh->ran[5]));
    CHECK_EQ_INT(0, atomic_load(&sh->ran[6]));
    pool_result_release(blocker);
    pool_result_release(queued);
    pool_destroy(pool);
}

/* On the result handler, shutdown with wait would wait for itself. */
static pool_t *callback_pool;
static int rc_in_callback = 99, rc_no_wait_in_callback = 99;

static pool_value shuts_down(const pool_value *value, void *user_data)
{
    (void)value, (void)user_data;
    rc_in_callback = pool_shutdown(callback_pool, true, true);
    rc_no_wait_in_callback = pool_shutdown(callback_pool, false, false);
    return pool_none();
}

static void test_shutdown_on_result_handler(void)
{
    reset();
    pool_t *pool;
    CHECK_OK(pool_create(&pool, &(pool_config){.processes = 1}));
    callback_pool = pool;
    pool_result *r;
    CHECK_OK(pool_apply_async(pool, mark, slot_args(7), &(pool_opts){.callback = shuts_down},
                              &r));
    CHECK_OK(pool_result_wait(r, 20));
    CHECK_EQ_INT(POOL_EDEADLK, rc_in_callback);
    CHECK_OK(rc_no_wait_in_callback);
    pool_result *late;
    CHECK_EQ_INT(POOL_ENOTRUNNING, pool_apply_async(pool, mark, slot_args(8), NULL, &late));
    CHECK_OK(pool_join(pool));
    pool_result_release(r);
    pool_destroy(pool);

    CHECK_EQ_INT(POOL_EINVAL, pool_shutdown(NULL, true, true));
    CHECK(!pool_result_cancel(NULL), "cancel(NULL) is false");
}

/* A cancelled handle released unseen is the program's own doing: unlike a
 * failed task nobody looked at, it is owed no line on stderr. */
static void test_cancel_unseen(void)
{
    reset();
    char path[] = "/tmp/test_cancel_stderr.XXXXXX";
    int fd = mkstemp(path);
    int saved = dup(2);
    CHECK(fd >= 0 && saved >= 0, "mkstemp or dup failed");
    if (fd < 0 || saved < 0)
        return;
    unlink(path); /* the descriptor keeps it */
    fflush(stderr);
    CHECK(dup2(fd, 2) == 2, "dup2 failed");
    pool_t *pool;
    CHECK_OK(pool_create(&pool, &(pool_config){.processes = 1}));
    pool_result *blocker, *unseen;
    fill(pool, &blocker);
    CHECK_OK(pool_apply_async(pool, mark, slot_args(9), NULL, &unseen));
    bool cancelled = pool_result_cancel(unseen);
    pool_result_release(unseen); /* never looked at */
    atomic_store(&sh->gate, 1);
    CHECK_OK(pool_close(pool));
    CHECK_OK(pool_join(pool));
    pool_result_release(blocker);
    pool_destroy(pool);
    fflush(stderr);
    CHECK(dup2(saved, 2) == 2, "dup2 back failed");
    close(saved);
    char text[512] = "";
    ssize_t n = pread(fd, text, sizeof text - 1, 0);
    close(fd);
    CHECK(cancelled, "the queued apply was cancelled");
    CHECK(n == 0, "nothing on stderr for a cancelled handle, got \"%.*s\"", (int)(n > 0 ? n : 0),
          text);
}

int main(void)
{
    sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    test_cancel_queued();
    test_shutdown_cancels();
    test_shutdown_no_wait();
    test_shutdown_on_result_handler();
    test_cancel_unseen();
    munmap(sh, sizeof *sh); /* every pool's workers are gone */
    return check_done("test_cancel");
}
