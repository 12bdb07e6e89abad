/* grader.c - watches a graded program do what its output cannot show.
 *
 * Every exercise program (starter, solution, alternative and wrong answer)
 * is linked with this file and with -Wl,--wrap=SYMBOL for each symbol in
 * exercises/grader/wrap.list. The linker then sends the program's calls to
 * the pool, to pthread mutexes and condition variables, to the sleeps and to
 * lesson_say() through the __wrap_ functions below, which note what happens
 * and then make the real call. Nothing changes what the program prints.
 *
 * POOL_GRADE names the rules to enforce, separated by spaces or commas;
 * without it the grader only passes calls on. A broken rule is reported
 * once, as one stderr line "grader: RULE: what happened", which the
 * check's "# expect stderr: none" turns into a failure, and
 * scripts/check_exercise.sh into the hint for RULE.
 *
 *   handles          every handle is given back, at most once, and never
 *                    used after that; every pool is destroyed
 *   quick-callbacks  a callback never sleeps, never waits on a condition
 *                    variable, and never makes a blocking pool call
 *   no-sleep-under-lock  no thread sleeps while it holds a mutex
 *   no-polling       main never sleeps or yields while a pool is up, and
 *                    never asks pool_result_ready() about one handle again
 *                    and again
 *   no-spin          main is runnable (on a CPU, or queued for one) for
 *                    at most four fifths of the pool's life: a waiting main
 *                    blocks, and a spinning one is runnable all along,
 *                    however busy the machine is
 *   owned-values     a callback leaves the value the pool gave it as it
 *                    was, and so does main with the value get gave it:
 *                    neither is freed nor changed, as the pool owns them
 *   callback-lines   a line that starts "Callback" or "Error callback" is
 *                    printed by a callback, one that starts "Main" by main
 *   bounded-waits    every wait and get that main makes has a time limit
 *
 * POOL_GRADE_FAULT injects one fault, to see how the program copes:
 *   submit:N         the Nth asynchronous submission fails with "pool not
 *                    running", as it would after pool_close()
 *   task:N           the Nth asynchronous submission's task fails
 *
 * POOL_GRADE_CALLBACK_DELAY=SECONDS holds each callback back that long
 * before it runs, so that main has reached its waiting code first: a race
 * between a callback and main's first look then happens in every run, where
 * ThreadSanitizer sees it, not only when the scheduler happens to allow it.
 *
 * The rules concern the program's own process: in a worker (another pid)
 * every wrapper only passes the call on.
 */
#include "lesson.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- The real functions ------------------------------------------------- */

int __real_main(int argc, char **argv);
int __real_pool_create(pool_t **pool, const pool_config *config);
void __real_pool_destroy(pool_t *pool);
int __real_pool_join(pool_t *pool);
int __real_pool_apply_async(pool_t *, pool_task_fn, pool_value, const pool_opts *, pool_result **);
int __real_pool_map_async(pool_t *, pool_task_fn, pool_value, const pool_opts *, pool_result **);
int __real_pool_starmap_async(pool_t *, pool_task_fn, pool_value, const pool_opts *, pool_result **);
int __real_pool_apply(pool_t *, pool_task_fn, pool_value, const pool_opts *, pool_value *);
int __real_pool_map(pool_t *, pool_task_fn, pool_value, const pool_opts *, pool_value *);
int __real_pool_starmap(pool_t *, pool_task_fn, pool_value, const pool_opts *, pool_value *);
int __real_pool_result_wait(pool_result *result, double timeout);
int __real_pool_result_get(pool_result *result, double timeout, const pool_value **value);
bool __real_pool_result_ready(pool_result *result);
bool __real_pool_result_successful(pool_result *result);
void __real_pool_result_release(pool_result *result);
bool __real_pool_result_cancel(pool_result *result);
int __real_pthread_mutex_lock(pthread_mutex_t *m);
int __real_pthread_mutex_trylock(pthread_mutex_t *m);
int __real_pthread_mutex_unlock(pthread_mutex_t *m);
int __real_pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m);
int __real_pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *t);
int __real_nanosleep(const struct timespec *req, struct timespec *rem);
int __real_clock_nanosleep(clockid_t clock, int flags, const struct timespec *req,
                           struct timespec *rem);
int __real_usleep(useconds_t usec);
unsigned __real_sleep(unsigned seconds);
int __real_sched_yield(void);
void __real_lesson_say(const char *fmt, ...);

/* ---- State -------------------------------------------------------------- */

enum rule {
    HANDLES, QUICK_CALLBACKS, NO_SLEEP_UNDER_LOCK, NO_POLLING, NO_SPIN,
    OWNED_VALUES, CALLBACK_LINES, BOUNDED_WAITS, RULES
};
static const char *const rule_names[RULES] = {
    "handles", "quick-callbacks", "no-sleep-under-lock", "no-polling", "no-spin",
    "owned-values", "callback-lines", "bounded-waits",
};

/* A submission's callbacks, as the program gave them. */
typedef struct watched_call {
    pool_callback_fn callback, error_callback;
    void *user_data;
    struct watched_call *next;
} watched_call;

/* A handle the program was given. */
typedef struct watched_handle {
    pool_result *result;
    pool_t *pool;
    bool released;
    int ready_calls; /* pool_result_ready() calls from main */
    const pool_value *got; /* what get handed out, and its fingerprint */
    unsigned long long got_print;
    struct watched_handle *next;
} watched_handle;

/* Set once in __wrap_main, before any other thread exists. */
static bool enforce[RULES];
static pid_t main_pid;
static pid_t main_tid;
static enum { NO_FAULT, FAULT_SUBMIT, FAULT_TASK } fault;
static long fault_at;
static struct timespec callback_delay;

/* The lock guards everything below it; it is taken only through the real
 * functions, so the grader never watches itself. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static bool reported[RULES];
static watched_call *calls;
static watched_handle *handles;
static long submissions;
static int pools_up;
static double up_since, up_runnable_since; /* when the first pool came up */
static double up_seconds, up_runnable;      /* summed over the pools' lives */

/* Per thread: mutexes held, and whether a callback is running. */
static _Thread_local int locks_held;
static _Thread_local int in_callback;

/* ---- Helpers ------------------------------------------------------------ */

static bool watching(void)
{
    return main_pid != 0 && getpid() == main_pid;
}

static bool on_main(void)
{
    return watching() && gettid() == main_tid;
}

static double seconds(clockid_t clock)
{
    struct timespec t;

    clock_gettime(clock, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* How long the calling thread has been runnable: on a CPU or waiting in
 * the run queue for one (the first two fields of its schedstat). A thread
 * that spins is runnable all the time, however many others compete with
 * it; a blocked one is not. Without schedstat, CPU time alone. */
static double runnable_seconds(void)
{
    char path[64];
    unsigned long long on_cpu, queued;
    FILE *f;
    int got = 0;

    snprintf(path, sizeof path, "/proc/self/task/%d/schedstat", (int)gettid());
    f = fopen(path, "r");
    if (f) {
        got = fscanf(f, "%llu %llu", &on_cpu, &queued);
        fclose(f);
    }
    if (got == 2)
        return (double)(on_cpu + queued) / 1e9;
    return seconds(CLOCK_THREAD_CPUTIME_ID);
}

/* Reports a broken rule once, in one write so it never mixes with a line
 * of the program's own. */
static void report(enum rule r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(enum rule r, const char *fmt, ...)
{
    char line[512];
    int len;
    va_list ap;
    bool first;

    if (!enforce[r] || !watching())
        return;
    __real_pthread_mutex_lock(&lock);
    first = !reported[r];
    reported[r] = true;
    __real_pthread_mutex_unlock(&lock);
    if (!first)
        return;
    len = snprintf(line, sizeof line, "grader: %s: ", rule_names[r]);
    va_start(ap, fmt);
    len += vsnprintf(line + len, sizeof line - (size_t)len, fmt, ap);
    va_end(ap);
    if (len > (int)sizeof line - 2)
        len = (int)sizeof line - 2;
    line[len++] = '\n';
    /* Nothing useful to do if stderr is gone: the run fails anyway. */
    if (write(STDERR_FILENO, line, (size_t)len) < 0)
        return;
}

/* ---- Starting and ending the program ------------------------------------ */

static void read_config(void)
{
    const char *rules = getenv("POOL_GRADE");
    const char *f = getenv("POOL_GRADE_FAULT");

    for (int r = 0; rules && r < RULES; r++) {
        size_t n = strlen(rule_names[r]);
        for (const char *p = strstr(rules, rule_names[r]); p; p = strstr(p + 1, rule_names[r]))
            if ((p == rules || strchr(" ,", p[-1])) && strchr(" ,", p[n]))
                enforce[r] = true;
    }
    const char *delay = getenv("POOL_GRADE_CALLBACK_DELAY");
    if (delay && *delay) {
        double d = atof(delay);
        callback_delay.tv_sec = (time_t)d;
        callback_delay.tv_nsec = (long)((d - (double)callback_delay.tv_sec) * 1e9);
    }
    if (f && sscanf(f, "submit:%ld", &fault_at) == 1)
        fault = FAULT_SUBMIT;
    else if (f && sscanf(f, "task:%ld", &fault_at) == 1)
        fault = FAULT_TASK;
    else if (f && *f) {
        fprintf(stderr, "grader: POOL_GRADE_FAULT=%s: expected submit:N or task:N\n", f);
        exit(2);
    }
}

/* The checks that need the whole run: they are made once main returns. */
static void final_checks(void)
{
    int left = 0;

    __real_pthread_mutex_lock(&lock);
    left = pools_up;
    __real_pthread_mutex_unlock(&lock);
    if (left > 0)
        report(HANDLES, "pool_destroy() was never called: main must destroy its pool before it returns");
    if (up_seconds > 0.1 && up_runnable > 0.8 * up_seconds)
        report(NO_SPIN, "main was runnable for %.2f of the pool's %.2f s: it spun in a loop "
               "instead of blocking until the callbacks were done",
               up_runnable, up_seconds);
    /* A pool left running may still call a callback: keep the records. */
    while (left == 0 && calls) {
        watched_call *next = calls->next;
        free(calls);
        calls = next;
    }
}

int __wrap_main(int argc, char **argv)
{
    int status;

    main_pid = getpid();
    main_tid = gettid();
    read_config();
    status = __real_main(argc, argv);
    final_checks();
    return status;
}

/* ---- Values the pool owns --------------------------------------------------- */

/* A hash of everything a value holds, nested values and text included. */
static unsigned long long fingerprint(const pool_value *v, unsigned long long h)
{
    const unsigned char *bytes = NULL;
    size_t n = 0;

    h = (h ^ (unsigned)v->type) * 1099511628211ULL;
    h = (h ^ v->len) * 1099511628211ULL;
    switch (v->type) {
    case POOL_INT: bytes = (const unsigned char *)&v->as.i; n = sizeof v->as.i; break;
    case POOL_FLOAT: bytes = (const unsigned char *)&v->as.f; n = sizeof v->as.f; break;
    case POOL_STR: case POOL_ERROR: case POOL_BYTES: bytes = v->as.bytes; n = v->len; break;
    case POOL_LIST:
        for (uint32_t i = 0; i < v->len; i++)
            h = fingerprint(&v->as.items[i], h);
        break;
    default: break;
    }
    for (size_t i = 0; bytes && i < n; i++)
        h = (h ^ bytes[i]) * 1099511628211ULL;
    return h;
}

/* Reading a value freed behind the pool's back is itself undefined; the
 * ASan run of the same check shows such a bug exactly, this only early. */
static void check_owned(const pool_value *v, unsigned long long before, const char *what)
{
    if (fingerprint(v, 14695981039346656037ULL) != before)
        report(OWNED_VALUES, "%s was freed or changed, though the pool owns it: read it, or "
               "copy it with pool_value_copy(), but leave it as it is", what);
}

/* ---- Callbacks ----------------------------------------------------------- */

static pool_value run_callback(pool_callback_fn fn, const pool_value *value, void *user_data)
{
    unsigned long long before = 0;
    pool_value out;

    if (enforce[OWNED_VALUES])
        before = fingerprint(value, 14695981039346656037ULL);
    if (callback_delay.tv_sec || callback_delay.tv_nsec) /* the real sleep: no rule sees it */
        __real_nanosleep(&callback_delay, NULL);
    in_callback++;
    out = fn(value, user_data);
    in_callback--;
    if (enforce[OWNED_VALUES])
        check_owned(value, before, "the value a callback was given");
    return out;
}

static pool_value watched_callback(const pool_value *value, void *user_data)
{
    watched_call *c = user_data;
    return run_callback(c->callback, value, c->user_data);
}

static pool_value watched_error_callback(const pool_value *value, void *user_data)
{
    watched_call *c = user_data;
    return run_callback(c->error_callback, value, c->user_data);
}

/* Gives the pool options whose callbacks run through the grader. The
 * record lives until the program ends, since a callback may run as late as
 * pool_destroy(). */
static const pool_opts *watch_opts(const pool_opts *opts, pool_opts *copy)
{
    watched_call *c;

    if (!opts || (!opts->callback && !opts->error_callback) || !watching())
        return opts;
    c = calloc(1, sizeof *c);
    if (!c)
        return opts; /* unwatched, but the program runs as written */
    c->callback = opts->callback;
    c->error_callback = opts->error_callback;
    c->user_data = opts->user_data;
    *copy = *opts;
    copy->callback = opts->callback ? watched_callback : NULL;
    copy->error_callback = opts->error_callback ? watched_error_callback : NULL;
    copy->user_data = c;
    __real_pthread_mutex_lock(&lock);
    c->next = calls;
    calls = c;
    __real_pthread_mutex_unlock(&lock);
    return copy;
}

/* ---- Pools and submissions ------------------------------------------------ */

int __wrap_pool_create(pool_t **pool, const pool_config *config)
{
    int err = __real_pool_create(pool, config);

    if (err == POOL_OK && watching()) {
        __real_pthread_mutex_lock(&lock);
        if (pools_up++ == 0 && on_main()) {
            up_since = seconds(CLOCK_MONOTONIC);
            up_runnable_since = runnable_seconds();
        }
        __real_pthread_mutex_unlock(&lock);
    }
    return err;
}

void __wrap_pool_destroy(pool_t *pool)
{
    int unreleased = 0;
    bool last = false;

    if (in_callback > 0)
        report(QUICK_CALLBACKS, "a callback called pool_destroy()");
    if (pool && watching()) {
        __real_pthread_mutex_lock(&lock);
        for (watched_handle **h = &handles; *h;) {
            watched_handle *dead = *h;
            if (dead->pool != pool) {
                h = &dead->next;
                continue;
            }
            unreleased += !dead->released;
            *h = dead->next;
            free(dead);
        }
        last = --pools_up == 0;
        __real_pthread_mutex_unlock(&lock);
        if (unreleased > 0)
            report(HANDLES, "%d handle%s never given back: call pool_result_release() on each "
                   "handle once you are done with it, before pool_destroy()",
                   unreleased, unreleased == 1 ? " was" : "s were");
        if (last && on_main()) {
            up_seconds += seconds(CLOCK_MONOTONIC) - up_since;
            up_runnable += runnable_seconds() - up_runnable_since;
        }
    }
    __real_pool_destroy(pool);
}

static pool_value failing_task(const pool_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    return pool_error("a fault the grader injected");
}

typedef int (*submit_fn)(pool_t *, pool_task_fn, pool_value, const pool_opts *, pool_result **);

static int submit(submit_fn real, pool_t *pool, pool_task_fn fn, pool_value args,
                  const pool_opts *opts, pool_result **result)
{
    pool_opts copy;
    long n;
    int err;

    if (!watching())
        return real(pool, fn, args, opts, result);
    __real_pthread_mutex_lock(&lock);
    n = ++submissions;
    __real_pthread_mutex_unlock(&lock);
    if (fault == FAULT_SUBMIT && n == fault_at) {
        pool_value_free(&args); /* the pool takes over args even when it fails */
        return POOL_ENOTRUNNING;
    }
    if (fault == FAULT_TASK && n == fault_at && fn)
        fn = failing_task;
    err = real(pool, fn, args, watch_opts(opts, &copy), result);
    if (err == POOL_OK && result && *result) {
        watched_handle *h = calloc(1, sizeof *h);
        __real_pthread_mutex_lock(&lock);
        /* A new handle may reuse the address of one freed after release. */
        for (watched_handle *old = handles; old; old = old->next)
            if (old->result == *result)
                old->result = NULL;
        if (h) {
            h->result = *result;
            h->pool = pool;
            h->next = handles;
            handles = h;
        }
        __real_pthread_mutex_unlock(&lock);
    }
    return err;
}

int __wrap_pool_apply_async(pool_t *pool, pool_task_fn fn, pool_value args,
                            const pool_opts *opts, pool_result **result)
{
    return submit(__real_pool_apply_async, pool, fn, args, opts, result);
}

int __wrap_pool_map_async(pool_t *pool, pool_task_fn fn, pool_value items,
                          const pool_opts *opts, pool_result **result)
{
    return submit(__real_pool_map_async, pool, fn, items, opts, result);
}

int __wrap_pool_starmap_async(pool_t *pool, pool_task_fn fn, pool_value items,
                              const pool_opts *opts, pool_result **result)
{
    return submit(__real_pool_starmap_async, pool, fn, items, opts, result);
}

/* The blocking forms wait, so a callback must not make them. */
static void blocking_call(const char *name)
{
    if (in_callback > 0)
        report(QUICK_CALLBACKS, "a callback called %s(), which waits for the pool: the pool's "
               "one callback thread would wait for itself; submit with the _async form",
               name);
}

int __wrap_pool_apply(pool_t *pool, pool_task_fn fn, pool_value args, const pool_opts *opts,
                      pool_value *out)
{
    pool_opts copy;

    blocking_call("pool_apply");
    return __real_pool_apply(pool, fn, args, watch_opts(opts, &copy), out);
}

int __wrap_pool_map(pool_t *pool, pool_task_fn fn, pool_value items, const pool_opts *opts,
                    pool_value *out)
{
    pool_opts copy;

    blocking_call("pool_map");
    return __real_pool_map(pool, fn, items, watch_opts(opts, &copy), out);
}

int __wrap_pool_starmap(pool_t *pool, pool_task_fn fn, pool_value items, const pool_opts *opts,
                        pool_value *out)
{
    pool_opts copy;

    blocking_call("pool_starmap");
    return __real_pool_starmap(pool, fn, items, watch_opts(opts, &copy), out);
}

int __wrap_pool_join(pool_t *pool)
{
    blocking_call("pool_join");
    return __real_pool_join(pool);
}

/* ---- Handles ------------------------------------------------------------- */

/* Finds the record of a handle; NULL for one the grader never saw. */
static watched_handle *find(pool_result *result)
{
    for (watched_handle *h = handles; h; h = h->next)
        if (h->result == result)
            return h;
    return NULL;
}

/* Notes a use of a handle, which must not have been given back. */
static void use(pool_result *result, const char *call)
{
    bool released;

    if (!watching())
        return;
    __real_pthread_mutex_lock(&lock);
    watched_handle *h = find(result);
    released = h && h->released;
    __real_pthread_mutex_unlock(&lock);
    if (released)
        report(HANDLES, "%s() on a handle already given back with pool_result_release(): "
               "the pool may have freed it; release a handle after its last use", call);
}

static void timed_wait(const char *call, double timeout)
{
    blocking_call(call);
    if (on_main() && timeout < 0)
        report(BOUNDED_WAITS, "main called %s() with POOL_FOREVER: give it a time limit in "
               "seconds, so that a lost result cannot hang the program", call);
}

int __wrap_pool_result_wait(pool_result *result, double timeout)
{
    use(result, "pool_result_wait");
    timed_wait("pool_result_wait", timeout);
    return __real_pool_result_wait(result, timeout);
}

int __wrap_pool_result_get(pool_result *result, double timeout, const pool_value **value)
{
    int err;

    use(result, "pool_result_get");
    timed_wait("pool_result_get", timeout);
    err = __real_pool_result_get(result, timeout, value);
    if (enforce[OWNED_VALUES] && watching() && value && *value) {
        __real_pthread_mutex_lock(&lock);
        watched_handle *h = find(result);
        if (h) {
            h->got = *value;
            h->got_print = fingerprint(*value, 14695981039346656037ULL);
        }
        __real_pthread_mutex_unlock(&lock);
    }
    return err;
}

bool __wrap_pool_result_ready(pool_result *result)
{
    int asked = 0;

    use(result, "pool_result_ready");
    if (on_main()) {
        __real_pthread_mutex_lock(&lock);
        watched_handle *h = find(result);
        if (h)
            asked = ++h->ready_calls;
        __real_pthread_mutex_unlock(&lock);
    }
    if (asked > 3)
        report(NO_POLLING, "main asked pool_result_ready() about one handle %d times: asking "
               "again and again is polling; wait on the handle with a timeout instead",
               asked);
    return __real_pool_result_ready(result);
}

bool __wrap_pool_result_successful(pool_result *result)
{
    use(result, "pool_result_successful");
    return __real_pool_result_successful(result);
}

bool __wrap_pool_result_cancel(pool_result *result)
{
    use(result, "pool_result_cancel");
    return __real_pool_result_cancel(result);
}

void __wrap_pool_result_release(pool_result *result)
{
    bool twice = false;
    const pool_value *got = NULL;
    unsigned long long got_print = 0;

    if (watching()) {
        __real_pthread_mutex_lock(&lock);
        watched_handle *h = find(result);
        if (h) {
            twice = h->released;
            h->released = true;
            got = twice ? NULL : h->got;
            got_print = h->got_print;
        }
        __real_pthread_mutex_unlock(&lock);
    }
    if (got) /* the value lives until this release */
        check_owned(got, got_print, "the value that pool_result_get() pointed to");
    if (twice)
        report(HANDLES, "a handle was given back twice: call pool_result_release() once per handle");
    __real_pool_result_release(result);
}

/* ---- Locks and waits ------------------------------------------------------ */

int __wrap_pthread_mutex_lock(pthread_mutex_t *m)
{
    int err = __real_pthread_mutex_lock(m);

    locks_held += err == 0;
    return err;
}

int __wrap_pthread_mutex_trylock(pthread_mutex_t *m)
{
    int err = __real_pthread_mutex_trylock(m);

    locks_held += err == 0;
    return err;
}

int __wrap_pthread_mutex_unlock(pthread_mutex_t *m)
{
    int err = __real_pthread_mutex_unlock(m);

    locks_held -= err == 0 && locks_held > 0;
    return err;
}

static void cond_wait(void)
{
    if (in_callback > 0)
        report(QUICK_CALLBACKS, "a callback waited on a condition variable: while it waits, "
               "no other callback of the pool can run");
}

int __wrap_pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
    cond_wait();
    return __real_pthread_cond_wait(c, m);
}

int __wrap_pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *t)
{
    cond_wait();
    return __real_pthread_cond_timedwait(c, m, t);
}

/* ---- Sleeping ------------------------------------------------------------- */

static bool pool_is_up(void)
{
    bool up;

    __real_pthread_mutex_lock(&lock);
    up = pools_up > 0;
    __real_pthread_mutex_unlock(&lock);
    return up;
}

static void slept(double how_long, const char *call)
{
    if (!watching())
        return;
    if (in_callback > 0)
        report(QUICK_CALLBACKS, "a callback slept (%s, %.3f s): the pool runs every callback on "
               "one thread, so each later result waits for it", call, how_long);
    if (locks_held > 0)
        report(NO_SLEEP_UNDER_LOCK, "a thread slept (%s, %.3f s) while it held a mutex: every "
               "thread that needs the mutex waits as long; unlock before slow work",
               call, how_long);
    if (on_main() && pool_is_up())
        report(NO_POLLING, "main slept (%s, %.3f s) while the pool was working: sleeping and "
               "looking again is polling; block on a condition variable or a wait instead",
               call, how_long);
}

static double span(const struct timespec *t)
{
    return t ? (double)t->tv_sec + (double)t->tv_nsec / 1e9 : 0;
}

int __wrap_nanosleep(const struct timespec *req, struct timespec *rem)
{
    slept(span(req), "nanosleep");
    return __real_nanosleep(req, rem);
}

int __wrap_clock_nanosleep(clockid_t clock, int flags, const struct timespec *req,
                           struct timespec *rem)
{
    slept(flags & TIMER_ABSTIME ? span(req) - seconds(clock) : span(req), "clock_nanosleep");
    return __real_clock_nanosleep(clock, flags, req, rem);
}

int __wrap_usleep(useconds_t usec)
{
    slept((double)usec / 1e6, "usleep");
    return __real_usleep(usec);
}

unsigned __wrap_sleep(unsigned s)
{
    slept((double)s, "sleep");
    return __real_sleep(s);
}

int __wrap_sched_yield(void)
{
    slept(0, "sched_yield");
    return __real_sched_yield();
}

/* ---- Printing ------------------------------------------------------------- */

void __wrap_lesson_say(const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (watching() && in_callback == 0 &&
        (!strncmp(line, "Callback", 8) || !strncmp(line, "Error callback", 14)))
        report(CALLBACK_LINES, "the line \"%.60s\" was printed outside a callback: print it "
               "in the callback itself", line);
    if (watching() && !on_main() && !strncmp(line, "Main", 4))
        report(CALLBACK_LINES, "the line \"%.60s\" was printed by another thread than main",
               line);
    __real_lesson_say("%s", line);
}
