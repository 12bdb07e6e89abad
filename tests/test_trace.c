/* test_trace.c - the pool's trace file (POOL_TRACE, pool_config.trace).
 * Each scenario here writes a trace, and tests/trace_expect.py, with
 * python3's json module, checks what the trace must show: every step of
 * each submission, worker lanes, deaths and their replacements, two pools
 * told apart, a forked child's own file, a trace long enough to be
 * written out many times. This file checks what the program
 * sees: an unwritable path costs one stderr line and the pool still works. */
#include "check.h"
#include "fault/fault.h"
#include "pool.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64];

static pool_value square(const pool_value *args, size_t nargs)
{
    (void)nargs;
    usleep((useconds_t)(1000 * (args[0].as.i % 3))); /* finish out of order */
    return pool_int(args[0].as.i * args[0].as.i);
}

static pool_value add(const pool_value *args, size_t nargs)
{
    return nargs == 2 ? pool_int(args[0].as.i + args[1].as.i) : pool_error("add wants 2 args");
}

/* Item 2 kills its worker; the others return their item. */
static pool_value die_on_two(const pool_value *args, size_t nargs)
{
    (void)nargs;
    if (args[0].as.i == 2) {
        fu_quiet_valgrind();
        usleep(20000); /* the task's beginning is in the trace first */
        raise(SIGKILL);
    }
    return pool_int(args[0].as.i);
}

static pool_value fail_on_one(const pool_value *args, size_t nargs)
{
    (void)nargs;
    return args[0].as.i == 1 ? pool_error("one is odd") : pool_int(args[0].as.i);
}

static pool_value ignore(const pool_value *value, void *user_data)
{
    (void)value;
    (void)user_data;
    return pool_none();
}

/* For the scenarios with more than one pool at once, which fu_pool_open()
 * does not allow. */
static pool_t *open_pool(pool_config cfg)
{
    pool_t *pool = NULL;
    CHECK_OK(pool_create(&pool, &cfg));
    return pool;
}

static void close_pool(pool_t *pool)
{
    CHECK_OK(pool_close(pool));
    CHECK_OK(pool_join(pool));
    pool_destroy(pool);
}

/* Runs trace_expect.py on the trace; python3 itself is not the test. */
static void expect(const char *scenario, const char *path)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "python3 %s/trace_expect.py %s %s", TESTS_DIR, scenario, path);
    int rc = system(cmd);
    CHECK(rc == 0, "%s: trace_expect.py says the trace is wrong (status %d)", scenario, rc);
}

static void path_of(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s.json", dir, name);
}

/* apply, map and starmap, each with a callback; a map with an error callback. */
static void scenario_basic(void)
{
    char path[128];
    path_of(path, sizeof path, "basic");
    pool_t *pool = fu_pool_open((pool_config){.processes = 2, .trace = path});
    if (!pool)
        return;
    pool_opts cb = {.callback = ignore, .error_callback = ignore, .chunksize = 2};
    pool_result *h[4] = {0};
    const pool_value *v;
    CHECK_OK(pool_apply_async(pool, square, pool_tuple(1, pool_int(7)), &cb, &h[0]));
    CHECK_OK(pool_map_async(pool, square, pool_range(9), &cb, &h[1]));
    pool_value pairs = pool_list(3);
    for (int i = 0; i < 3; i++)
        pairs.as.items[i] = pool_tuple(2, pool_int(i), pool_int(10 * i));
    CHECK_OK(pool_starmap_async(pool, add, pairs, &cb, &h[2]));
    CHECK_OK(pool_map_async(pool, fail_on_one, pool_range(3), &cb, &h[3]));
    for (int i = 0; i < 4; i++) {
        int rc = h[i] ? pool_result_get(h[i], 20.0, &v) : -1;
        CHECK(rc == (i == 3 ? POOL_ETASK : POOL_OK), "basic: job %d: %d", i + 1, rc);
        pool_result_release(h[i]);
    }
    fu_pool_close(pool, "basic");
    expect("basic", path);
}

/* A worker killed mid-task: the task's beginning, the death, the new worker. */
static void scenario_death(void)
{
    char path[128];
    path_of(path, sizeof path, "death");
    setenv("POOL_TRACE", path, 1); /* the environment, this time */
    pool_t *pool = fu_pool_open((pool_config){.processes = 1});
    unsetenv("POOL_TRACE");
    if (!pool)
        return;
    pool_opts o = {.callback = ignore, .error_callback = ignore, .chunksize = 1};
    pool_result *h = NULL;
    const pool_value *v;
    CHECK_OK(pool_map_async(pool, die_on_two, pool_range(4), &o, &h));
    CHECK_EQ_INT(POOL_ETASK, h ? pool_result_get(h, 20.0, &v) : -1);
    pool_result_release(h);
    fu_check_pool_works(pool, 4, "death"); /* on the new worker */
    fu_pool_close(pool, "death");
    expect("death", path);
}

/* Two pools at once in one file, told apart; then a third, after them. */
static void scenario_two_pools(void)
{
    char path[128];
    path_of(path, sizeof path, "two_pools");
    pool_t *a = open_pool((pool_config){.processes = 1, .trace = path});
    pool_t *b = open_pool((pool_config){.processes = 1, .trace = path});
    if (!a || !b)
        return;
    pool_opts o = {.callback = ignore};
    pool_value out;
    CHECK_OK(pool_map(a, square, pool_range(2), &o, &out));
    pool_value_free(&out);
    CHECK_OK(pool_map(b, square, pool_range(3), &o, &out));
    pool_value_free(&out);
    close_pool(a);
    close_pool(b);
    pool_t *c = open_pool((pool_config){.processes = 1, .trace = path});
    if (c) {
        CHECK_OK(pool_apply(c, square, pool_tuple(1, pool_int(4)), NULL, &out));
        pool_value_free(&out);
        close_pool(c);
    }
    expect("two_pools", path);
}

/* A child the program forks, with a pool of its own: path.PID, not path.
 * The parent's first pool is gone before the fork (ThreadSanitizer allows
 * no thread after a fork of a threaded process), yet the file is still the
 * parent's: its next pool writes on in it. */
static void scenario_fork(void)
{
    char path[128], child_path[160];
    path_of(path, sizeof path, "fork");
    pool_t *pool = fu_pool_open((pool_config){.processes = 1, .trace = path});
    if (!pool)
        return;
    fu_check_pool_works(pool, 2, "fork: parent's first pool");
    fu_pool_close(pool, "fork: parent's first pool");
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        pool_t *mine = NULL;
        pool_value out;
        int ok = pool_create(&mine, &(pool_config){.processes = 1, .trace = path}) == POOL_OK &&
                 pool_apply(mine, square, pool_tuple(1, pool_int(5)), NULL, &out) == POOL_OK &&
                 out.as.i == 25;
        if (mine) {
            pool_close(mine);
            pool_join(mine);
            pool_destroy(mine);
        }
        _exit(ok ? 0 : 1);
    }
    int status = -1;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
              WEXITSTATUS(status) == 0,
          "fork: the child's pool failed (status %#x)", (unsigned)status);
    pool = fu_pool_open((pool_config){.processes = 1, .trace = path});
    if (pool) {
        fu_check_pool_works(pool, 3, "fork: parent's second pool");
        fu_pool_close(pool, "fork: parent's second pool");
    }
    snprintf(child_path, sizeof child_path, "%s.%d", path, (int)pid);
    expect("fork_parent", path);
    expect("fork_child", child_path);
}

/* Many events: the buffer is written out many times, by whichever pool
 * thread finds it full, and nothing is lost or out of place. */
static void scenario_many(void)
{
    char path[128];
    path_of(path, sizeof path, "many");
    pool_t *pool = fu_pool_open((pool_config){.processes = 2, .trace = path});
    if (!pool)
        return;
    pool_opts o = {.callback = ignore, .chunksize = 1};
    pool_value out;
    CHECK_OK(pool_map(pool, square, pool_range(3000), &o, &out));
    pool_value_free(&out);
    fu_pool_close(pool, "many");
    struct stat st;
    CHECK(stat(path, &st) == 0 && st.st_size > 4 * 65536, "many: the trace has %lld bytes, "
          "too few to have been written out more than once", (long long)st.st_size);
    expect("many", path);
}

/* A path that cannot be written: one stderr line, and no trace. */
static void scenario_bad_path(void)
{
    char path[160];
    snprintf(path, sizeof path, "%s/no-such-folder/x.json", dir);
    fu_capture cap;
    fu_capture_begin(&cap);
    pool_t *pool = NULL;
    int rc = pool_create(&pool, &(pool_config){.processes = 1, .trace = path});
    char *text = fu_capture_end(&cap);
    CHECK_EQ_INT(POOL_OK, rc);
    CHECK_STR_CONTAINS(text, "pool: cannot write the trace file");
    CHECK_STR_CONTAINS(text, "running untraced");
    CHECK(text && strchr(text, '\n') == text + strlen(text) - 1,
          "bad path: not exactly one line: \"%s\"", text ? text : "");
    free(text);
    if (pool) {
        fu_check_pool_works(pool, 5, "bad path");
        close_pool(pool);
    }
    struct stat st;
    CHECK(stat(path, &st) != 0, "bad path: %s exists", path);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/test_trace.XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 2;
    }
    scenario_basic();
    scenario_death();
    scenario_two_pools();
    scenario_fork();
    scenario_bad_path();
    scenario_many();
    if (!check_failures) { /* a failure keeps the traces to look at */
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        CHECK(system(cmd) == 0, "could not remove %s", dir);
    } else {
        fprintf(stderr, "test_trace: the traces are in %s\n", dir);
    }
    return check_done("test_trace");
}
