/* fault_unretrieved: a task's failure that nobody looks at is not lost.
 * When the pool frees a failed handle (pool_result_release, or
 * pool_destroy for one never released) that has no error callback, and
 * neither get nor successful revealed its outcome, it writes one line on
 * stderr naming the task, the worker and the reason. Nothing is written
 * when the outcome was seen, went to an error callback or a blocking call,
 * came from pool_terminate(), or was a failed callback (reported already).
 * Every pool it makes leaves no process or descriptor behind. Compare
 * with asyncio's "Task exception was never retrieved". */
#include "fault/fault.h"

/* Under a sanitizer the worker must still die of the signal itself. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "handle_segv=0"; }
const char *__tsan_default_options(void);
const char *__tsan_default_options(void) { return "handle_segv=0"; }
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void) { return "handle_segv=0"; }

#define UNSEEN "its error was never retrieved"

/* Shared with the workers: made before any pool. */
typedef struct shared {
    _Atomic int gate; /* 0: item 3 waits before it crashes */
    _Atomic int pid;  /* the worker item 3 crashed */
} shared;
static shared *sh;
static int fds_before; /* open before the current pool was made */

/* Item 3 crashes its worker once the gate is open; the rest are doubled. */
static pool_value segv_on_three(const pool_value *args, size_t nargs)
{
    if (nargs >= 1 && args[0].type == POOL_INT && args[0].as.i == 3) {
        FU_WAIT_UNTIL(atomic_load(&sh->gate), 60);
        atomic_store(&sh->pid, (int)getpid());
        fu_quiet_valgrind(); /* the crash is the point */
        raise(SIGSEGV);
    }
    return pool_int(nargs >= 1 ? args[0].as.i * 2 : 0);
}

/* Item 3 fails politely. */
static pool_value error_on_three(const pool_value *args, size_t nargs)
{
    (void)nargs;
    if (args[0].as.i == 3)
        return pool_error("three is not allowed");
    return pool_int(args[0].as.i * 2);
}

static atomic_int calls;

static pool_value count_call(const pool_value *value, void *user_data)
{
    (void)value, (void)user_data;
    atomic_fetch_add(&calls, 1);
    return pool_none();
}

static pool_value failing_callback(const pool_value *value, void *user_data)
{
    (void)value, (void)user_data;
    atomic_fetch_add(&calls, 1);
    return pool_error("the callback broke");
}

/* ---- Helpers ----------------------------------------------------------- */

/* A fresh pool of two workers, stderr captured from here on. */
static pool_t *start(fu_capture *cap)
{
    atomic_store(&sh->gate, 1);
    atomic_store(&sh->pid, 0);
    atomic_store(&calls, 0);
    fds_before = fu_count_fds();
    pool_t *pool = NULL;
    pool_config cfg = {.processes = 2};
    CHECK_OK(pool_create(&pool, &cfg));
    if (!pool) {
        fputs("pool_create failed\n", stderr);
        exit(1);
    }
    fu_capture_begin(cap);
    return pool;
}

/* What the pool wrote to stderr so far, without ending the capture. */
static void so_far(fu_capture *cap, char *out, size_t size)
{
    ssize_t n = pread(fileno(cap->file), out, size - 1, 0);
    out[n > 0 ? n : 0] = '\0';
}

/* Once the pool is destroyed: all it wrote to stderr, and nothing left. */
static char *end(fu_capture *cap, const char *what)
{
    char *err = fu_capture_end(cap);
    if (strstr(err, ": FAILED: ")) /* checks that failed while captured */
        fputs(err, stderr);
    fu_after_destroy(fds_before, what);
    return err;
}

/* Closes, joins and destroys the pool; returns all it wrote to stderr. */
static char *finish(pool_t *pool, fu_capture *cap, const char *what)
{
    CHECK_OK(pool_close(pool));
    CHECK_OK(pool_join(pool));
    pool_destroy(pool);
    return end(cap, what);
}

static pool_opts chunks_of_one = {.chunksize = 1};

/* Checks that the one unseen-failure line in err names what it should. */
static void check_line(const char *err, const char *task, const char *what)
{
    const char *line = strstr(err, UNSEEN);
    while (line && line > err && line[-1] != '\n')
        line--;
    if (!line) {
        CHECK(line, "%s: no line \"%s\" on stderr:\n%s", what, UNSEEN, err);
        return;
    }
    char text[640];
    snprintf(text, sizeof text, "%.*s", (int)strcspn(line, "\n"), line);
    CHECK(strncmp(text, "pool: ", 6) == 0, "%s: the line does not start with \"pool: \": %s",
          what, text);
    CHECK(strstr(text, task), "%s: the line does not name \"%s\": %s", what, task, text);
    CHECK(strstr(text, "PoolWorker-"), "%s: the line names no worker: %s", what, text);
    CHECK(fu_names_pid(text, atomic_load(&sh->pid)),
          "%s: the line does not name the crashed worker's pid %d: %s", what,
          atomic_load(&sh->pid), text);
    CHECK(fu_names_signal(text, SIGSEGV), "%s: the line names no SIGSEGV: %s", what, text);
    size_t n = strlen(UNSEEN);
    CHECK(strlen(text) >= n && strcmp(text + strlen(text) - n, UNSEEN) == 0,
          "%s: the line does not end with \"%s\": %s", what, UNSEEN, text);
}

/* ---- The cases --------------------------------------------------------- */

/* (a) A crashed map, waited for and released without get: one line, at
 * release. A result callback does not count: it never runs. */
static void test_released_unseen(void)
{
    fu_capture cap;
    pool_t *pool = start(&cap);
    pool_result *r;
    pool_opts o = {.chunksize = 1, .callback = count_call};
    CHECK_OK(pool_map_async(pool, segv_on_three, pool_range(6), &o, &r));
    CHECK_OK(pool_result_wait(r, FU_TIMEOUT)); /* wait reveals nothing */
    CHECK(pool_result_ready(r), "(a) not ready after wait");
    pool_result_release(r);
    char now[2048];
    so_far(&cap, now, sizeof now);
    CHECK_EQ_INT(1, fu_count_lines_with(now, UNSEEN)); /* at release, not later */
    char *err = finish(pool, &cap, "(a)");
    CHECK(fu_count_lines_with(err, UNSEEN) == 1, "(a) expected one line, got:\n%s", err);
    check_line(err, "task 3", "(a)");
    CHECK_EQ_INT(0, atomic_load(&calls));
    free(err);
}

/* (a) again, released before it is ready: the line comes when the result
 * handler frees it, before join returns, and only once. */
static void test_released_early(void)
{
    fu_capture cap;
    pool_t *pool = start(&cap);
    atomic_store(&sh->gate, 0);
    pool_result *r;
    CHECK_OK(pool_map_async(pool, segv_on_three, pool_range(6), &chunks_of_one, &r));
    CHECK(!pool_result_ready(r), "(a, early) ready while item 3 is held back");
    pool_result_release(r);
    char now[2048];
    so_far(&cap, now, sizeof now);
    CHECK_EQ_INT(0, fu_count_lines_with(now, UNSEEN)); /* nothing has failed yet */
    atomic_store(&sh->gate, 1);
    CHECK_OK(pool_close(pool));
    CHECK_OK(pool_join(pool));
    so_far(&cap, now, sizeof now);
    CHECK(fu_count_lines_with(now, UNSEEN) == 1,
          "(a, early) expected the line once the handle was freed, before destroy:\n%s", now);
    pool_destroy(pool);
    char *err = end(&cap, "(a, early)");
    CHECK(fu_count_lines_with(err, UNSEEN) == 1, "(a, early) expected one line, got:\n%s",
          err);
    check_line(err, "task 3", "(a, early)");
    free(err);
}

/* (b) Never released: pool_destroy() frees it and writes the line. */
static void test_destroyed_unseen(void)
{
    fu_capture cap;
    pool_t *pool = start(&cap);
    pool_result *r;
    CHECK_OK(pool_map_async(pool, segv_on_three, pool_range(6), &chunks_of_one, &r));
    CHECK_OK(pool_result_wait(r, FU_TIMEOUT));
    CHECK_OK(pool_close(pool));
    CHECK_OK(pool_join(pool));
    char now[2048];
    so_far(&cap, now, sizeof now);
    CHECK_EQ_INT(0, fu_count_lines_with(now, UNSEEN)); /* not freed yet */
    pool_destroy(pool);
    char *err = end(&cap, "(b)");
    CHECK(fu_count_lines_with(err, UNSEEN) == 1, "(b) expected one line, got:\n%s", err);
    check_line(err, "task 3", "(b)");
    free(err);
}

/* (c) get or successful saw the failure: no line, released or destroyed.
 * successful before the handle is ready says nothing, so it does not count. */
static void test_seen(void)
{
    fu_capture cap;
    pool_t *pool = start(&cap);
    pool_result *got, *asked, *kept, *early;
    CHECK_OK(pool_map_async(pool, segv_on_three, pool_range(6), &chunks_of_one, &got));
    CHECK_OK(pool_map_async(pool, segv_on_three, pool_range(6), &chunks_of_one, &asked));
    CHECK_OK(pool_map_async(pool, segv_on_three, pool_range(6), &chunks_of_one, &kept));
    const pool_value *v;
    CHECK_EQ_INT(POOL_ETASK, pool_result_get(got, FU_TIMEOUT, &v));
    CHECK_OK(pool_result_wait(asked, FU_TIMEOUT));
    CHECK(!pool_result_successful(asked), "(c) a crashed map is successful");
    CHECK_EQ_INT(POOL_ETASK, pool_result_get(kept, FU_TIMEOUT, &v));
    pool_result_release(got);
    pool_result_release(asked);

    atomic_store(&sh->gate, 0);
    CHECK_OK(pool_map_async(pool, segv_on_three, pool_range(6), &chunks_of_one, &early));
    CHECK(!pool_result_successful(early), "(c) successful before it is ready");
    atomic_store(&sh->gate, 1);
    CHECK_OK(pool_result_wait(early, FU_TIMEOUT));
    pool_result_release(early);

    char *err = finish(pool, &cap, "(c)"); /* kept is freed here */
    CHECK(fu_count_lines_with(err, UNSEEN) == 1,
          "(c) expected one line, for the handle asked before it was ready:\n%s", err);
    free(err);
}

/* (d) An error callback got the failure: no line. */
static void test_error_callback(void)
{
    fu_capture cap;
    pool_t *pool = start(&cap);
    pool_result *released, *kept;
    pool_opts o = {.chunksize = 1, .error_callback = count_call};
    CHECK_OK(pool_map_async(pool, segv_on_three, pool_range(6), &o, &released));
    CHECK_OK(pool_apply_async(pool, segv_on_three, pool_tuple(1, pool_int(3)), &o, &kept));
    CHECK_OK(pool_result_wait(released, FU_TIMEOUT));
    CHECK_OK(pool_result_wait(kept, FU_TIMEOUT));
    pool_result_release(released);
    char *err = finish(pool, &cap, "(d)");
    CHECK_EQ_INT(2, atomic_load(&calls));
    CHECK(fu_count_lines_with(err, UNSEEN) == 0, "(d) expected no line, got:\n%s", err);
    free(err);
}

/* (e) The blocking forms hand the error to the caller: no line. */
static void test_blocking(void)
{
    fu_capture cap;
    pool_t *pool = start(&cap);
    pool_value out;
    CHECK_EQ_INT(POOL_ETASK, pool_map(pool, segv_on_three, pool_range(6), &chunks_of_one, &out));
    CHECK(out.type == POOL_ERROR && fu_names_signal(out.as.s, SIGSEGV),
          "(e) pool_map's error names no SIGSEGV: %s", fu_msg(&out));
    pool_value_free(&out);
    CHECK_EQ_INT(POOL_ETASK, pool_apply(pool, segv_on_three, pool_tuple(1, pool_int(3)), NULL,
                                        &out));
    pool_value_free(&out);
    CHECK_EQ_INT(POOL_ETASK, pool_starmap(pool, error_on_three,
                                          pool_tuple(1, pool_tuple(1, pool_int(3))), NULL, &out));
    pool_value_free(&out);
    char *err = finish(pool, &cap, "(e)");
    CHECK(fu_count_lines_with(err, UNSEEN) == 0, "(e) expected no line, got:\n%s", err);
    free(err);
}

/* (f) A handle that succeeded: no line, released or destroyed. */
static void test_successful(void)
{
    fu_capture cap;
    pool_t *pool = start(&cap);
    pool_result *released, *kept;
    CHECK_OK(pool_map_async(pool, fu_task_double, pool_range(6), NULL, &released));
    CHECK_OK(pool_apply_async(pool, fu_task_double, pool_tuple(1, pool_int(3)), NULL, &kept));
    CHECK_OK(pool_result_wait(released, FU_TIMEOUT));
    CHECK_OK(pool_result_wait(kept, FU_TIMEOUT));
    pool_result_release(released);
    char *err = finish(pool, &cap, "(f)");
    CHECK(err[0] == '\0', "(f) expected nothing on stderr, got:\n%s", err);
    free(err);
}

/* (g) An apply has one task: the line says "the task", as its error does. */
static void test_apply(void)
{
    fu_capture cap;
    pool_t *pool = start(&cap);
    pool_result *r;
    CHECK_OK(pool_apply_async(pool, segv_on_three, pool_tuple(1, pool_int(3)), NULL, &r));
    CHECK_OK(pool_result_wait(r, FU_TIMEOUT));
    pool_result_release(r);
    char *err = finish(pool, &cap, "(g)");
    CHECK(fu_count_lines_with(err, UNSEEN) == 1, "(g) expected one line, got:\n%s", err);
    check_line(err, "the task", "(g)");
    CHECK(!strstr(err, "task 3"), "(g) an apply's line names an item: %s", err);
    free(err);
}

/* A task that returned an error: the line carries its message. */
static void test_polite_error(void)
{
    fu_capture cap;
    pool_t *pool = start(&cap);
    pool_result *r;
    CHECK_OK(pool_map_async(pool, error_on_three, pool_range(6), &chunks_of_one, &r));
    CHECK_OK(pool_result_wait(r, FU_TIMEOUT));
    pool_result_release(r);
    char *err = finish(pool, &cap, "(polite)");
    CHECK(fu_count_lines_with(err, UNSEEN) == 1, "(polite) expected one line, got:\n%s", err);
    CHECK_STR_CONTAINS(err, "pool: task 3 failed in PoolWorker-");
    CHECK_STR_CONTAINS(err, "three is not allowed; " UNSEEN "\n");
    free(err);
}

/* pool_terminate() is the program's own act: its "terminated" handles get
 * no line, released or destroyed. */
static void test_terminated(void)
{
    fu_capture cap;
    pool_t *pool = start(&cap);
    atomic_store(&sh->gate, 0);
    pool_result *released, *kept;
    CHECK_OK(pool_map_async(pool, segv_on_three, pool_range(6), &chunks_of_one, &released));
    CHECK_OK(pool_apply_async(pool, segv_on_three, pool_tuple(1, pool_int(3)), NULL, &kept));
    CHECK_OK(pool_terminate(pool));
    atomic_store(&sh->gate, 1);
    CHECK_OK(pool_join(pool));
    CHECK(pool_result_ready(released), "(terminate) not ready after join");
    pool_result_release(released);
    pool_destroy(pool);
    char *err = end(&cap, "(terminate)");
    CHECK(fu_count_lines_with(err, UNSEEN) == 0, "(terminate) expected no line, got:\n%s",
          err);
    free(err);
}

/* A failed callback is reported once when it fails; no second line. */
static void test_failed_callback(void)
{
    fu_capture cap;
    pool_t *pool = start(&cap);
    pool_result *ok_task, *bad_task;
    pool_opts ok = {.callback = failing_callback};
    pool_opts bad = {.chunksize = 1, .error_callback = failing_callback};
    CHECK_OK(pool_map_async(pool, fu_task_double, pool_range(6), &ok, &ok_task));
    CHECK_OK(pool_map_async(pool, segv_on_three, pool_range(6), &bad, &bad_task));
    CHECK_OK(pool_result_wait(ok_task, FU_TIMEOUT));
    CHECK_OK(pool_result_wait(bad_task, FU_TIMEOUT));
    pool_result_release(ok_task);
    char *err = finish(pool, &cap, "(callback)");
    CHECK_EQ_INT(2, atomic_load(&calls));
    CHECK(fu_count_lines_with(err, "the callback broke") == 2,
          "(callback) expected two lines about the failed callbacks, got:\n%s", err);
    CHECK(fu_count_lines_with(err, UNSEEN) == 0, "(callback) expected no unseen line:\n%s",
          err);
    free(err);
}

int main(void)
{
    fu_become_subreaper();
    sh = fu_shared(sizeof *sh);
    test_released_unseen();
    test_released_early();
    test_destroyed_unseen();
    test_seen();
    test_error_callback();
    test_blocking();
    test_successful();
    test_apply();
    test_polite_error();
    test_terminated();
    test_failed_callback();
    return check_done("fault_unretrieved");
}
