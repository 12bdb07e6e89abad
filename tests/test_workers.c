/* test_workers.c - the worker processes: their names and parent, their
 * random seeds, what happens when one dies mid-task, that they die with the
 * parent, and that no buffered line is printed twice across a fork. */
#include "check.h"
#include "pool.h"

#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void read_comm(pid_t pid, char *name, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
    name[0] = '\0';
    FILE *f = fopen(path, "r");
    if (f) {
        if (fgets(name, (int)size, f))
            name[strcspn(name, "\n")] = '\0';
        fclose(f);
    }
}

/* Returns [pid, parent pid, own name, parent's name, first drand48 draw]. */
static double first_draw = -1;
static void draw_once(void *arg)
{
    (void)arg;
    first_draw = drand48();
}

static pool_value who_am_i(const pool_value *args, size_t nargs)
{
    (void)args, (void)nargs;
    char self[32], parent[32];
    read_comm(getpid(), self, sizeof self);
    read_comm(getppid(), parent, sizeof parent);
    usleep(20000); /* so every worker gets some of the items */
    return pool_tuple(5, pool_int(getpid()), pool_int(getppid()), pool_str(self),
                      pool_str(parent), pool_float(first_draw));
}

/* Workers as pool_create() in pool.h describes them: forked, named, a fork
 * server as parent, a seed of their own. */
static void test_identity(void)
{
    pool_t *pool;
    pool_value out;
    CHECK_OK(pool_create(&pool, &(pool_config){.processes = 3, .initializer = draw_once}));
    CHECK_OK(pool_map(pool, who_am_i, pool_range(30), &(pool_opts){.chunksize = 1}, &out));
    pid_t pids[30];
    double draws[30];
    int distinct = 0;
    for (uint32_t i = 0; i < out.len; i++) {
        pool_value *w = out.as.items[i].as.items;
        CHECK(w[0].as.i != getpid(), "a task ran in the parent");
        CHECK(w[1].as.i != getpid(), "a worker's parent should be the fork server");
        CHECK(strncmp(w[2].as.s, "PoolWorker-", 11) == 0, "worker named \"%s\"", w[2].as.s);
        CHECK(strcmp(w[3].as.s, "pool-forkserver") == 0, "worker's parent named \"%s\"", w[3].as.s);
        int seen = 0;
        for (int j = 0; j < distinct; j++)
            if (pids[j] == (pid_t)w[0].as.i) {
                seen = 1;
                CHECK(draws[j] == w[4].as.f, "one worker, one first draw");
            }
        if (!seen) {
            for (int j = 0; j < distinct; j++)
                CHECK(draws[j] != w[4].as.f, "two workers drew the same first number %g", draws[j]);
            pids[distinct] = (pid_t)w[0].as.i;
            draws[distinct++] = w[4].as.f;
        }
    }
    CHECK_EQ_INT(3, distinct);
    pool_value_free(&out);
    pool_destroy(pool);
}

static pool_value die_on_two(const pool_value *args, size_t nargs)
{
    (void)nargs;
    switch (args[0].as.i) {
    case 2: raise(SIGSEGV); break;
    case 5: exit(3);
    case 8: abort();
    }
    usleep(10000);
    return pool_int(getpid());
}

static atomic_int error_calls, result_calls;
static char last_errors[3][256];

static pool_value on_error(const pool_value *error, void *user_data)
{
    int i = atomic_fetch_add(&error_calls, 1);
    if (i < 3)
        snprintf(last_errors[i], sizeof last_errors[i], "%s", error->as.s);
    (void)user_data;
    return pool_none();
}

static pool_value on_result(const pool_value *value, void *user_data)
{
    (void)value, (void)user_data;
    atomic_fetch_add(&result_calls, 1);
    return pool_none();
}

/* A worker that dies mid-task (pool.h, before pool_apply_async) fails that
 * task only, naming worker, pid and cause; the worker is replaced and the
 * other tasks finish. */
static void test_death(void)
{
    pool_t *pool;
    CHECK_OK(pool_create(&pool, &(pool_config){.processes = 2}));
    pool_result *r[12];
    pool_opts o = {.callback = on_result, .error_callback = on_error};
    for (int i = 0; i < 12; i++)
        CHECK_OK(pool_apply_async(pool, die_on_two, pool_tuple(1, pool_int(i)), &o, &r[i]));
    int failed = 0;
    for (int i = 0; i < 12; i++) {
        const pool_value *v;
        int rc = pool_result_get(r[i], 30, &v);
        if (i == 2 || i == 5 || i == 8) {
            failed++;
            CHECK_EQ_INT(POOL_ETASK, rc);
            CHECK_STR_CONTAINS(v->as.s, "PoolWorker-");
            CHECK_STR_CONTAINS(v->as.s, "(pid ");
            CHECK_STR_CONTAINS(v->as.s, i == 2 ? "died from signal 11"
                                        : i == 5 ? "exited with status 3" : "died from signal 6");
        } else {
            CHECK_EQ_INT(POOL_OK, rc);
        }
    }
    CHECK_EQ_INT(3, failed);
    CHECK_EQ_INT(3, atomic_load(&error_calls));
    CHECK_EQ_INT(9, atomic_load(&result_calls));

    /* Replacements keep the pool at full strength. */
    pool_value out;
    CHECK_OK(pool_map(pool, die_on_two, pool_tuple(4, pool_int(0), pool_int(1), pool_int(3),
                                                   pool_int(4)), &(pool_opts){.chunksize = 1}, &out));
    CHECK_EQ_INT(4, out.len);
    pool_value_free(&out);
    CHECK_OK(pool_close(pool));
    CHECK_OK(pool_join(pool));
    pool_destroy(pool);
}

static bool alive(pid_t pid)
{
    char path[64], state = 'X';
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    if (fscanf(f, "%*d %*s %c", &state) != 1)
        state = 'X';
    fclose(f);
    return state != 'Z' && state != 'X';
}

static pool_value my_pid_slowly(const pool_value *args, size_t nargs)
{
    (void)args, (void)nargs;
    usleep(50000);
    return pool_int(getpid());
}

static pool_value sleep_long(const pool_value *args, size_t nargs)
{
    (void)args, (void)nargs;
    sleep(60);
    return pool_none();
}

/* Workers die with the parent (pool.h, at pool_create), even in the middle
 * of a task. */
static void test_parent_death(void)
{
    int fds[2];
    if (pipe(fds) != 0)
        return;
    pid_t child = fork();
    if (child == 0) {
        pool_t *pool;
        pool_value out;
        if (pool_create(&pool, &(pool_config){.processes = 2}) != POOL_OK ||
            pool_map(pool, my_pid_slowly, pool_range(4), &(pool_opts){.chunksize = 1}, &out) != POOL_OK)
            _exit(1);
        for (uint32_t i = 0; i < out.len; i++) {
            pid_t p = (pid_t)out.as.items[i].as.i;
            if (write(fds[1], &p, sizeof p) != sizeof p)
                _exit(1);
        }
        pool_result *r;
        pool_apply_async(pool, sleep_long, pool_none(), NULL, &r);
        pool_apply_async(pool, sleep_long, pool_none(), NULL, &r);
        close(fds[1]);
        sleep(60);
        _exit(0);
    }
    close(fds[1]);
    pid_t pids[4];
    size_t got = 0;
    while (got < sizeof pids) {
        ssize_t n = read(fds[0], (char *)pids + got, sizeof pids - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fds[0]);
    CHECK_EQ_INT(sizeof pids, got);
    usleep(100000); /* both workers are now in sleep_long */
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);

    int still = 0;
    for (int tries = 0; tries < 100; tries++) { /* within 1 s */
        still = 0;
        for (size_t i = 0; i < got / sizeof(pid_t); i++)
            still += alive(pids[i]);
        if (!still)
            break;
        usleep(10000);
    }
    CHECK_EQ_INT(0, still);
}

static pool_value say_hello(const pool_value *args, size_t nargs)
{
    (void)args, (void)nargs;
    printf("hello from a worker\n"); /* the worker flushes after the task */
    return pool_none();
}

/* stdout is flushed before the fork (pool.h, at pool_create): a line still
 * in its buffer is printed once. */
static void test_flush_before_fork(void)
{
    fflush(stdout);
    FILE *tmp = tmpfile();
    int saved = dup(1);
    dup2(fileno(tmp), 1); /* a file: stdout is now fully buffered */
    setvbuf(stdout, NULL, _IOFBF, 4096);

    printf("written before the pool\n"); /* no flush here, on purpose */
    pool_t *pool;
    CHECK_OK(pool_create(&pool, &(pool_config){.processes = 2}));
    pool_value out;
    CHECK_OK(pool_map(pool, say_hello, pool_range(4), &(pool_opts){.chunksize = 1}, &out));
    pool_value_free(&out);
    pool_close(pool);
    pool_join(pool);
    pool_destroy(pool);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);

    char text[4096];
    rewind(tmp);
    size_t n = fread(text, 1, sizeof text - 1, tmp);
    text[n] = '\0';
    fclose(tmp);
    int before = 0, hello = 0;
    for (char *p = text; (p = strstr(p, "written before the pool")); p++)
        before++;
    for (char *p = text; (p = strstr(p, "hello from a worker")); p++)
        hello++;
    CHECK(before == 1, "the line before the pool was printed %d times:\n%s", before, text);
    CHECK_EQ_INT(4, hello);
}

static pool_value parent_pid(const pool_value *args, size_t nargs)
{
    (void)args, (void)nargs;
    return pool_int(getppid());
}

/* The fork server killed from outside: nothing hangs, and every handle
 * still becomes ready, unsuccessful. */
static void test_server_killed(void)
{
    pool_t *pool;
    pool_value out;
    CHECK_OK(pool_create(&pool, &(pool_config){.processes = 2}));
    CHECK_OK(pool_apply(pool, parent_pid, pool_none(), NULL, &out));
    pid_t server = (pid_t)out.as.i;
    pool_value_free(&out);
    pool_result *r[4];
    for (int i = 0; i < 4; i++)
        CHECK_OK(pool_apply_async(pool, sleep_long, pool_none(), NULL, &r[i]));
    fflush(stderr);
    int saved = dup(2), devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2); /* the pool's one line about it is expected here */
    kill(server, SIGKILL);
    int ready = 0;
    for (int i = 0; i < 4; i++)
        ready += pool_result_wait(r[i], 10) == POOL_OK && !pool_result_successful(r[i]);
    dup2(saved, 2);
    close(saved);
    close(devnull);
    CHECK_EQ_INT(4, ready);
    pool_result *late;
    CHECK_EQ_INT(POOL_ENOTRUNNING, pool_apply_async(pool, parent_pid, pool_none(), NULL, &late));
    CHECK_OK(pool_join(pool));
    pool_destroy(pool);
}

/* A program that ignores SIGCHLD still gets its workers' deaths noticed. */
static void test_sigchld_ignored(void)
{
    signal(SIGCHLD, SIG_IGN);
    pool_t *pool;
    pool_value out;
    CHECK_OK(pool_create(&pool, &(pool_config){.processes = 1}));
    CHECK_EQ_INT(POOL_ETASK, pool_apply(pool, die_on_two, pool_tuple(1, pool_int(5)), NULL, &out));
    pool_value_free(&out);
    CHECK_OK(pool_apply(pool, die_on_two, pool_tuple(1, pool_int(1)), NULL, &out));
    pool_value_free(&out);
    CHECK_OK(pool_close(pool));
    CHECK_OK(pool_join(pool));
    pool_destroy(pool);
    signal(SIGCHLD, SIG_DFL);
}

int main(void)
{
    test_identity();
    test_death();
    test_parent_death();
    test_flush_before_fork();
    test_server_killed();
    test_sigchld_ignored();
    return check_done("test_workers");
}
