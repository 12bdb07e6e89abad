/* test_shutdown_stall.c - a shutdown in progress stalls no other call.
 * A worker is stopped with SIGSTOP, so pool_join() after pool_close() must
 * wait for it; it gets SIGCONT only after 3 s. Meanwhile a job whose task
 * has finished is still in its callback (0.3 s), and another job has long
 * been ready. While the join waits: the callback finishes and its handle
 * becomes ready, a wait on the other handle returns at once, and
 * pool_result_ready() answers at once. Each bound (1.5 s) is half the
 * stop, so a pool thread that waits for the stopped worker with the pool
 * lock held fails every one of them; under Valgrind both are tripled. */
#include "check.h"
#include "pool.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

/* Valgrind runs everything several times slower: so are the bounds. */
#define SLOW (RUNNING_ON_VALGRIND ? 3.0 : 1.0)
#define STOP_SECONDS (3.0 * SLOW)
#define BOUND (1.5 * SLOW)

static _Atomic int *task_done; /* shared with the workers */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void nap(double seconds)
{
    struct timespec ts = {(time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static pool_value task_quick(const pool_value *args, size_t nargs)
{
    (void)args, (void)nargs;
    atomic_store(task_done, 1);
    return pool_int(1);
}

static pool_value slow_callback(const pool_value *value, void *user_data)
{
    (void)value, (void)user_data;
    nap(0.3);
    return pool_none();
}

/* The pid of one of this process's PoolWorker-N grandchildren. */
static pid_t find_worker(void)
{
    DIR *d = opendir("/proc");
    if (!d)
        return -1;
    pid_t found = -1;
    struct dirent *e;
    while (found < 0 && (e = readdir(d))) {
        char path[300], stat[512];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t n = fread(stat, 1, sizeof stat - 1, f);
        fclose(f);
        stat[n] = '\0';
        char *close_paren = strrchr(stat, ')');
        int ppid = 0;
        if (strstr(stat, "(PoolWorker-") && close_paren &&
            sscanf(close_paren + 2, "%*c %d", &ppid) == 1) {
            /* Its parent is our fork server, whose parent is us. */
            snprintf(path, sizeof path, "/proc/%d/stat", ppid);
            f = fopen(path, "r");
            if (f) {
                n = fread(stat, 1, sizeof stat - 1, f);
                fclose(f);
                stat[n] = '\0';
                close_paren = strrchr(stat, ')');
                int grand = 0;
                if (close_paren && sscanf(close_paren + 2, "%*c %d", &grand) == 1 &&
                    grand == getpid())
                    found = atoi(e->d_name);
            }
        }
    }
    closedir(d);
    return found;
}

/* Sends SIGCONT after STOP_SECONDS, whatever main is doing: a pool that
 * stalls main's calls then fails the bounds instead of hanging. */
static pid_t stopped;
static void *continuer(void *arg)
{
    (void)arg;
    nap(STOP_SECONDS);
    kill(stopped, SIGCONT); /* the worker exists until the pool reaps it */
    return NULL;
}

typedef struct joiner_arg {
    pool_t *pool;
    _Atomic int rc;
} joiner_arg;

static void *joiner(void *arg)
{
    joiner_arg *j = arg;
    atomic_store(&j->rc, pool_join(j->pool));
    return NULL;
}

int main(void)
{
    task_done = mmap(NULL, sizeof *task_done, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (task_done == MAP_FAILED) {
        perror("mmap");
        return 2;
    }
    pool_t *pool = NULL;
    pool_config cfg = {.processes = 2};
    CHECK_OK(pool_create(&pool, &cfg));
    if (!pool)
        return check_done("test_shutdown_stall");

    pool_result *early = NULL, *late = NULL;
    CHECK_OK(pool_apply_async(pool, task_quick, pool_tuple(0), NULL, &early));
    CHECK_OK(pool_result_wait(early, 30));
    atomic_store(task_done, 0);

    stopped = find_worker();
    CHECK(stopped > 0, "no worker of the pool was found");
    if (stopped <= 0) {
        pool_destroy(pool);
        return check_done("test_shutdown_stall");
    }
    /* The late job's task ends at once; its callback runs 0.3 s. */
    pool_opts slow = {.callback = slow_callback};
    CHECK_OK(pool_apply_async(pool, task_quick, pool_tuple(0), &slow, &late));
    for (double end = now() + 30; !atomic_load(task_done) && now() < end;)
        nap(0.001);
    CHECK(kill(stopped, SIGSTOP) == 0, "SIGSTOP: %s", strerror(errno));
    double stopped_at = now();
    pthread_t cont;
    CHECK(pthread_create(&cont, NULL, continuer, NULL) == 0, "pthread_create failed");
    CHECK_OK(pool_close(pool));
    joiner_arg join = {.pool = pool, .rc = -99};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, joiner, &join) == 0, "pthread_create failed");

    /* While the join waits for the stopped worker: */
    int rc = pool_result_wait(late, 30);
    double late_ready = now() - stopped_at;
    CHECK(rc == POOL_OK && late_ready < BOUND,
          "a callback that was running when the shutdown began made its handle ready "
          "after %.2f s (rc %d), not within %.1f s: it waited for the stopped worker",
          late_ready, rc, BOUND);
    double t0 = now();
    rc = pool_result_wait(early, 30);
    bool ready = pool_result_ready(early);
    double took = now() - t0;
    CHECK(rc == POOL_OK && ready && took < BOUND,
          "a wait on another, ready handle took %.2f s during the shutdown (rc %d)", took, rc);
    CHECK(now() - stopped_at < STOP_SECONDS,
          "the checks above ran past the stop (%.2f s): they proved nothing",
          now() - stopped_at);

    /* The join itself waits for the worker, as pool_close() promises. */
    nap(STOP_SECONDS - 0.5 - (now() - stopped_at));
    CHECK_EQ_INT(-99, atomic_load(&join.rc));
    pthread_join(cont, NULL);
    pthread_join(t, NULL);
    CHECK_EQ_INT(POOL_OK, atomic_load(&join.rc));
    CHECK_EQ_INT(POOL_OK, pool_result_get(late, 0, &(const pool_value *){NULL}));
    pool_result_release(early);
    pool_result_release(late);
    pool_destroy(pool);
    return check_done("test_shutdown_stall");
}
