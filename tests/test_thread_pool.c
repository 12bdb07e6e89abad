/* test_thread_pool.c - a pool made with config.threads: its tasks run on
 * threads of this process named PoolWorker-N, callbacks still run on the
 * result-handler thread, values still cross by copy, and every other rule
 * holds: failing tasks, maxtasksperchild, terminate, close and join,
 * destroy without join. Creating and destroying many pools leaves no
 * thread and no descriptor behind. */
#include "check.h"
#include "pool.h"

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <unistd.h>

static pid_t main_pid, main_tid;

/* [pid, tid, thread name] of whoever runs it. */
static pool_value where(void)
{
    char name[32] = "";
    prctl(PR_GET_NAME, name);
    return pool_tuple(3, pool_int(getpid()), pool_int(gettid()), pool_str(name));
}

static pool_value where_task(const pool_value *args, size_t nargs)
{
    (void)args, (void)nargs;
    return where();
}

static pool_value square(const pool_value *args, size_t nargs)
{
    (void)nargs;
    return pool_int(args[0].as.i * args[0].as.i);
}

static pool_value add(const pool_value *args, size_t nargs)
{
    return nargs == 2 ? pool_int(args[0].as.i + args[1].as.i) : pool_error("two args");
}

/* Changes its argument, which belongs to the pool: never the caller's. */
static pool_value scribble(const pool_value *args, size_t nargs)
{
    (void)nargs;
    pool_value *list = (pool_value *)&args[0];
    for (uint32_t i = 0; i < list->len; i++)
        list->as.items[i].as.i = -1;
    return pool_int(list->len);
}

static pool_value fail_odd(const pool_value *args, size_t nargs)
{
    (void)nargs;
    if (args[0].as.i % 2)
        return pool_error("odd %lld", args[0].as.i);
    return pool_int(args[0].as.i);
}

static pool_value tid_task(const pool_value *args, size_t nargs)
{
    (void)args, (void)nargs;
    return pool_int(gettid());
}

/* The callback's own [pid, tid, name], stored for main to check. */
static pool_value callback_where;
static pool_value callback_value;
static pool_value record_where(const pool_value *value, void *user_data)
{
    (void)user_data;
    pool_value_free(&callback_where);
    pool_value_free(&callback_value);
    callback_where = where();
    callback_value = pool_value_copy(value);
    return pool_none();
}

static void check_worker_where(const pool_value *w)
{
    CHECK(w->type == POOL_LIST && w->len == 3, "a [pid, tid, name] tuple");
    if (w->type != POOL_LIST || w->len != 3)
        return;
    CHECK_EQ_INT(main_pid, w->as.items[0].as.i);
    CHECK(w->as.items[1].as.i != main_tid, "task tid %lld is main's", w->as.items[1].as.i);
    CHECK(strncmp(w->as.items[2].as.s, "PoolWorker-", 11) == 0, "task on thread \"%s\"",
          w->as.items[2].as.s);
}

static void test_where(void)
{
    pool_t *pool;
    CHECK_OK(pool_create(&pool, &(pool_config){.processes = 2, .threads = true}));
    pool_value out;
    pool_opts o = {.callback = record_where};
    CHECK_OK(pool_apply(pool, where_task, pool_none(), &o, &out));
    check_worker_where(&out);
    check_worker_where(&callback_value);
    CHECK_EQ_INT(main_pid, callback_where.as.items[0].as.i);
    CHECK(callback_where.as.items[1].as.i != main_tid &&
          callback_where.as.items[1].as.i != out.as.items[1].as.i,
          "the callback ran on main or the worker");
    CHECK(strcmp(callback_where.as.items[2].as.s, "result-handler") == 0,
          "callback on \"%s\"", callback_where.as.items[2].as.s);
    pool_value_free(&out);

    /* map and starmap, with their callbacks */
    CHECK_OK(pool_map(pool, square, pool_range(100), &o, &out));
    CHECK(out.len == 100 && out.as.items[99].as.i == 99 * 99, "map of squares");
    CHECK(callback_value.len == 100 && callback_value.as.items[7].as.i == 49,
          "map's callback got the list");
    pool_value_free(&out);
    pool_value pairs = pool_list(3);
    for (int i = 0; i < 3; i++)
        pairs.as.items[i] = pool_tuple(2, pool_int(i), pool_int(10 * i));
    CHECK_OK(pool_starmap(pool, add, pairs, &o, &out));
    CHECK(out.len == 3 && out.as.items[2].as.i == 22, "starmap of sums");
    pool_value_free(&out);

    /* values cross by copy */
    pool_value mine = pool_range(5);
    CHECK_OK(pool_apply(pool, scribble, pool_tuple(1, pool_value_copy(&mine)), NULL, &out));
    CHECK_EQ_INT(5, out.as.i);
    CHECK_EQ_INT(3, mine.as.items[3].as.i);
    pool_value_free(&mine);
    pool_value_free(&out);

    /* task errors name the item, and later items still ran */
    int rc = pool_map(pool, fail_odd, pool_range(10), &(pool_opts){.chunksize = 1}, &out);
    CHECK_EQ_INT(POOL_ETASK, rc);
    CHECK_STR_CONTAINS(out.as.s, "odd");
    CHECK_STR_CONTAINS(out.as.s, "task ");
    pool_value_free(&out);
    CHECK_OK(pool_close(pool));
    CHECK_OK(pool_join(pool));
    pool_destroy(pool);
    pool_value_free(&callback_where);
    pool_value_free(&callback_value);
}

/* With maxtasksperchild 1, each chunk runs on a new thread. */
static void test_maxtasks(void)
{
    pool_t *pool;
    CHECK_OK(pool_create(&pool, &(pool_config){.processes = 1, .threads = true,
                                                .maxtasksperchild = 1}));
    pool_value out;
    CHECK_OK(pool_map(pool, tid_task, pool_range(6), &(pool_opts){.chunksize = 1}, &out));
    int distinct = 0;
    for (uint32_t i = 0; i < out.len; i++) {
        bool seen = false;
        for (uint32_t j = 0; j < i; j++)
            seen |= out.as.items[j].as.i == out.as.items[i].as.i;
        distinct += !seen;
    }
    CHECK(distinct >= 5, "6 one-item chunks ran on %d threads", distinct); /* a tid may be reused */
    pool_value_free(&out);
    CHECK_OK(pool_close(pool));
    CHECK_OK(pool_join(pool));
    pool_destroy(pool);
}

/* A task that waits on an eventfd main writes, so terminate finds it
 * running and must wait for it. */
static int gate_fd;
static atomic_int started, finished;
static pool_value gated(const pool_value *args, size_t nargs)
{
    (void)args, (void)nargs;
    atomic_fetch_add(&started, 1);
    uint64_t v;
    ssize_t n = read(gate_fd, &v, sizeof v); /* blocks until main opens the gate */
    atomic_fetch_add(&finished, 1);
    return pool_int(n);
}

static void *open_gate_later(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 200000000};
    nanosleep(&ts, NULL); /* terminate is waiting by then, or the check below fails */
    uint64_t one = 1;
    ssize_t n = write(gate_fd, &one, sizeof one);
    (void)n;
    return NULL;
}

static void test_terminate(void)
{
    gate_fd = eventfd(0, EFD_CLOEXEC);
    CHECK(gate_fd >= 0, "eventfd");
    pool_t *pool;
    CHECK_OK(pool_create(&pool, &(pool_config){.processes = 1, .threads = true}));
    pool_result *running, *queued;
    CHECK_OK(pool_apply_async(pool, gated, pool_none(), NULL, &running));
    CHECK_OK(pool_map_async(pool, gated, pool_range(4), &(pool_opts){.chunksize = 1}, &queued));
    while (atomic_load(&started) == 0) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL); /* polling a counter: no event to wait on */
    }
    pthread_t opener;
    CHECK_EQ_INT(0, pthread_create(&opener, NULL, open_gate_later, NULL));
    CHECK_OK(pool_terminate(pool));
    CHECK_EQ_INT(1, atomic_load(&finished)); /* terminate waited for the running task */
    CHECK_EQ_INT(1, atomic_load(&started));  /* and no queued one started */
    const pool_value *v;
    CHECK_EQ_INT(POOL_ETERMINATED, pool_result_get(running, 10, &v));
    CHECK_STR_CONTAINS(v->as.s, "terminated");
    CHECK_EQ_INT(POOL_ETERMINATED, pool_result_get(queued, 10, &v));
    CHECK_OK(pool_join(pool));
    pool_destroy(pool);
    pthread_join(opener, NULL);
    close(gate_fd);
}

static int count_dir(const char *path)
{
    DIR *d = opendir(path);
    int n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static atomic_int initialized;
static pthread_t init_threads[8];
static void init(void *arg)
{
    int k = atomic_fetch_add(&initialized, 1);
    if (k < 8)
        init_threads[k] = pthread_self();
    (void)arg;
}

static void test_many_pools(void)
{
    int tasks = count_dir("/proc/self/task"), fds = count_dir("/proc/self/fd");
    for (int i = 0; i < 30; i++) {
        pool_t *pool;
        atomic_store(&initialized, 0);
        CHECK_OK(pool_create(&pool, &(pool_config){.processes = 3, .threads = true,
                                                    .initializer = init}));
        pool_value out;
        CHECK_OK(pool_map(pool, square, pool_range(10), NULL, &out));
        CHECK_EQ_INT(81, out.as.items[9].as.i);
        pool_value_free(&out);
        if (i % 2) { /* destroy without close or join */
            CHECK_OK(pool_close(pool));
            CHECK_OK(pool_join(pool));
            CHECK_EQ_INT(3, atomic_load(&initialized)); /* once per worker thread */
            CHECK(!pthread_equal(init_threads[0], init_threads[1]) &&
                  !pthread_equal(init_threads[1], init_threads[2]) &&
                  !pthread_equal(init_threads[0], pthread_self()),
                  "the initializer ran on each worker thread");
        }
        pool_destroy(pool);
    }
    CHECK_EQ_INT(tasks, count_dir("/proc/self/task"));
    CHECK_EQ_INT(fds, count_dir("/proc/self/fd"));
}

int main(void)
{
    main_pid = getpid();
    main_tid = gettid();
    test_where();
    test_maxtasks();
    test_terminate();
    test_many_pools();
    return check_done("test_thread_pool");
}
