/* fault_util.h - shared helpers for the fault tests (tests/fault_*.c).
 *
 * What the fault tests assert about every pool they make:
 *   nothing lost   every submission's handle becomes ready, and exactly one
 *                  of its two callbacks runs, exactly once (fu_track);
 *   nothing hangs  every wait has a generous bound (FU_TIMEOUT); CTest's
 *                  TIMEOUT is the last resort;
 *   no orphans     after pool_destroy() no process that descends from the
 *                  test is alive, and no child of the test is left a zombie
 *                  (fu_after_destroy); the test makes itself a child
 *                  subreaper, so a worker whose parent died is reparented to
 *                  the test and is still found here;
 *   no fd growth   /proc/self/fd holds as many entries after pool_destroy()
 *                  as before pool_create() (fu_count_fds).
 * Include it after "pool.h" and "check.h"'s users: it includes both. */
#ifndef FAULT_UTIL_H
#define FAULT_UTIL_H

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "pool.h"

extern char **environ;

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define FU_HAVE_VALGRIND 1
#endif
#endif

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define FU_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#ifndef FU_SANITIZED
#define FU_SANITIZED 1
#endif
#endif

/* ---- Where the test runs ------------------------------------------------ */

static inline bool fu_under_valgrind(void)
{
#ifdef FU_HAVE_VALGRIND
    if (RUNNING_ON_VALGRIND)
        return true;
#endif
    const char *e = getenv("FAULT_UNDER_VALGRIND");
    return e && *e && strcmp(e, "0") != 0;
}

static inline bool fu_under_sanitizer(void)
{
#ifdef FU_SANITIZED
    return true;
#else
    return false;
#endif
}

/* Memory figures (RSS, malloc statistics) mean nothing under these; the
 * sanitizer targets also say so with POOL_NO_RSS_CHECK=1. */
static inline bool fu_instrumented(void)
{
    const char *e = getenv("POOL_NO_RSS_CHECK");
    return fu_under_valgrind() || fu_under_sanitizer() || (e && *e && strcmp(e, "0") != 0);
}

/* The bound for "does not hang": generous, never a measurement. */
#define FU_TIMEOUT (fu_under_valgrind() ? 400.0 : 60.0)

static inline double fu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline void fu_sleep(double seconds)
{
    struct timespec ts = {(time_t)seconds,
                          (long)((seconds - (time_t)seconds) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Memory that the test, the fork server and every worker share: it must be
 * made before pool_create(), since workers see memory as it was then. */
static inline void *fu_shared(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    memset(p, 0, size);
    return p;
}

/* ---- Descriptors -------------------------------------------------------- */

/* Counts the open descriptors of this process, the one used to count them
 * left out. */
static inline int fu_count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1;
}

/* Writes "fd -> target" lines for every open descriptor (for messages). */
static inline void fu_print_fds(FILE *out)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return;
    int self = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || atoi(e->d_name) == self)
            continue;
        char path[300], target[256];
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(path, target, sizeof target - 1);
        target[n > 0 ? n : 0] = '\0';
        fprintf(out, "    fd %s -> %s\n", e->d_name, target);
    }
    closedir(d);
}

/* ---- Processes ---------------------------------------------------------- */

typedef struct fu_proc {
    pid_t pid, ppid;
    char state;
    char comm[32];
} fu_proc;

/* Reads /proc/PID/stat; the name sits in parentheses and may hold either. */
static inline bool fu_proc_read(pid_t pid, fu_proc *p)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    char *open_paren = strchr(buf, '('), *close_paren = strrchr(buf, ')');
    if (!open_paren || !close_paren || close_paren < open_paren)
        return false;
    size_t len = (size_t)(close_paren - open_paren - 1);
    if (len >= sizeof p->comm)
        len = sizeof p->comm - 1;
    memcpy(p->comm, open_paren + 1, len);
    p->comm[len] = '\0';
    int ppid = 0;
    char state = '?';
    if (sscanf(close_paren + 1, " %c %d", &state, &ppid) != 2)
        return false;
    p->pid = pid;
    p->ppid = ppid;
    p->state = state;
    return true;
}

static inline bool fu_is_pool_name(const char *comm)
{
    return strncmp(comm, "PoolWorker-", 11) == 0 ||
           strcmp(comm, "pool-forkserver") == 0;
}

static inline bool fu_is_zombie(const fu_proc *p)
{
    return p->state == 'Z' || p->state == 'X';
}

/* True when ancestor is pid's parent, grandparent, ... */
static inline bool fu_descends_from(pid_t pid, pid_t ancestor)
{
    for (int depth = 0; depth < 64 && pid > 1; depth++) {
        fu_proc p;
        if (!fu_proc_read(pid, &p))
            return false;
        if (p.ppid == ancestor)
            return true;
        pid = p.ppid;
    }
    return false;
}

enum {
    FU_LIVE = 1,        /* processes that are not zombies */
    FU_ZOMBIE = 2,      /* zombies */
    FU_POOL_NAMED = 4,  /* only PoolWorker-N and pool-forkserver */
};

/* Lists the descendants of ancestor that match flags into out (up to max)
 * and returns how many there are. */
static inline int fu_descendants(pid_t ancestor, int flags, fu_proc *out, int max)
{
    DIR *d = opendir("/proc");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        pid_t pid = (pid_t)atoi(e->d_name);
        fu_proc p;
        if (pid == ancestor || !fu_proc_read(pid, &p))
            continue;
        bool zombie = fu_is_zombie(&p);
        if (zombie && !(flags & FU_ZOMBIE))
            continue;
        if (!zombie && !(flags & FU_LIVE))
            continue;
        if ((flags & FU_POOL_NAMED) && !fu_is_pool_name(p.comm))
            continue;
        if (p.ppid != ancestor && !fu_descends_from(p.ppid, ancestor))
            continue;
        if (out && n < max)
            out[n] = p;
        n++;
    }
    closedir(d);
    return n;
}

static inline void fu_print_procs(const fu_proc *procs, int n, int max)
{
    for (int i = 0; i < n && i < max; i++)
        fprintf(stderr, "    pid %d ppid %d state %c name %s\n",
                (int)procs[i].pid, (int)procs[i].ppid, procs[i].state,
                procs[i].comm);
}

/* The live workers of the pools this process made, by pid. */
static inline int fu_worker_pids(pid_t *out, int max)
{
    fu_proc procs[256];
    int n = fu_descendants(getpid(), FU_LIVE | FU_POOL_NAMED, procs, 256);
    int k = 0;
    for (int i = 0; i < n && i < 256; i++)
        if (strncmp(procs[i].comm, "PoolWorker-", 11) == 0 && k < max)
            out[k++] = procs[i].pid;
    return k;
}

/* True while pid exists and is not a zombie. */
static inline bool fu_alive(pid_t pid)
{
    fu_proc p;
    return fu_proc_read(pid, &p) && !fu_is_zombie(&p);
}

/* Polls until no live descendant of ancestor is left or timeout seconds
 * pass; returns how many are left. */
static inline int fu_wait_no_descendants(pid_t ancestor, double timeout)
{
    double end = fu_now() + timeout;
    for (;;) {
        int n = fu_descendants(ancestor, FU_LIVE, NULL, 0);
        if (n <= 0 || fu_now() >= end)
            return n;
        fu_sleep(0.005);
    }
}

/* Reaps this process's zombie children (orphans handed to the subreaper). */
static inline int fu_reap_zombies(void)
{
    fu_proc procs[256];
    int n = fu_descendants(getpid(), FU_ZOMBIE, procs, 256), reaped = 0;
    for (int i = 0; i < n && i < 256; i++)
        if (procs[i].ppid == getpid() &&
            waitpid(procs[i].pid, NULL, WNOHANG) == procs[i].pid)
            reaped++;
    return reaped;
}

/* Orphaned descendants come back to this process instead of init, so the
 * orphan checks can find them. */
static inline void fu_become_subreaper(void)
{
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
        perror("prctl(PR_SET_CHILD_SUBREAPER)");
}

/* Kills every process below the test and reaps them all: the tidy-up
 * after a case that failed, so that one failure does not cascade. */
static inline void fu_kill_descendants(void)
{
    fu_proc rest[64];
    int n = fu_descendants(getpid(), FU_LIVE, rest, 64);
    for (int i = 0; i < n && i < 64; i++)
        kill(rest[i].pid, SIGKILL);
    fu_wait_no_descendants(getpid(), 10);
    fu_reap_zombies();
}

/* The checks after pool_destroy(): no pool process (PoolWorker-N or
 * pool-forkserver; whatever the fork server forks carries its name from
 * birth) alive or left a zombie child of the test (the pool reaps what it
 * forks), and as many descriptors as before the pool. Other processes, such
 * as a sanitizer's symbolizer that a dying worker started, are reaped here
 * but not counted. */
static inline void fu_after_destroy(int fds_before, const char *when)
{
    fu_proc procs[64];
    int live = fu_descendants(getpid(), FU_LIVE | FU_POOL_NAMED, procs, 64);
    CHECK(live == 0, "%s: %d pool processes outlive the pool", when, live);
    if (live > 0)
        fu_print_procs(procs, live, 64);
    int zombies = 0;
    int nz = fu_descendants(getpid(), FU_ZOMBIE | FU_POOL_NAMED, procs, 64);
    for (int i = 0; i < nz && i < 64; i++)
        if (procs[i].ppid == getpid())
            zombies++;
    CHECK(zombies == 0, "%s: %d pool processes left unreaped", when, zombies);
    if (zombies > 0)
        fu_print_procs(procs, nz, 64);
    if (live > 0) /* tidy up, so that one failure does not cascade */
        fu_kill_descendants();
    fu_reap_zombies();
    int fds = fu_count_fds();
    CHECK(fds == fds_before, "%s: %d descriptors open, %d before the pool",
          when, fds, fds_before);
    if (fds != fds_before)
        fu_print_fds(stderr);
}

/* ---- Calls that must not wait ------------------------------------------ */

/* A thread that calls pool_result_ready() and pool_result_successful() on a
 * ready, successful handle until stopped, and keeps the longest pair of
 * calls: no pool thread may make them wait on a stopped or slow process. */
typedef struct fu_prober {
    pthread_t thread;
    pool_result *handle;
    atomic_bool stop;
    atomic_long calls;
    double longest;
    long wrong; /* pairs that said "not ready" or "not successful" */
} fu_prober;

static inline void *fu_prober_main(void *arg)
{
    fu_prober *p = arg;
    while (!atomic_load(&p->stop)) {
        double t0 = fu_now();
        bool ready = pool_result_ready(p->handle);
        bool ok = pool_result_successful(p->handle);
        double took = fu_now() - t0;
        if (took > p->longest)
            p->longest = took;
        p->wrong += !ready || !ok;
        atomic_fetch_add(&p->calls, 1);
        fu_sleep(0.001);
    }
    return NULL;
}

/* Starts probing, and returns once the first pair of calls is made, so the
 * probe covers what follows, not whenever the thread is first scheduled. */
static inline void fu_prober_start(fu_prober *p, pool_result *handle)
{
    *p = (fu_prober){.handle = handle};
    if (pthread_create(&p->thread, NULL, fu_prober_main, p) != 0) {
        perror("pthread_create");
        exit(2);
    }
    for (double end = fu_now() + FU_TIMEOUT; !atomic_load(&p->calls) && fu_now() < end;)
        fu_sleep(0.0005);
}

/* Stops probing and checks: it ran, never said no, and no pair of calls
 * took bound seconds or more. */
static inline void fu_prober_check(fu_prober *p, double bound, const char *when)
{
    atomic_store(&p->stop, true);
    pthread_join(p->thread, NULL);
    long calls = atomic_load(&p->calls);
    CHECK(calls > 0, "%s: ready() was never called", when);
    CHECK(p->wrong == 0, "%s: %ld of %ld calls on a ready, successful handle said no", when,
          p->wrong, calls);
    CHECK(p->longest < bound,
          "%s: pool_result_ready() on a ready handle took %.3f s (bound %.2f s, %ld calls): "
          "a pool thread waits on the kernel with the pool lock held", when, p->longest,
          bound, calls);
}

/* ---- Memory ------------------------------------------------------------- */

/* Reads a "Name:   123 kB" line of /proc/self/status, in KiB; -1 if absent. */
static inline long fu_status_kib(const char *name)
{
    FILE *f = fopen("/proc/self/status", "re");
    if (!f)
        return -1;
    char line[256];
    long v = -1;
    size_t len = strlen(name);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, name, len) == 0 && line[len] == ':') {
            v = atol(line + len + 1);
            break;
        }
    fclose(f);
    return v;
}

/* ---- Counting callbacks ------------------------------------------------- */

/* One slot per submission; its user_data is the slot. */
typedef struct fu_track fu_track;
typedef struct fu_slot {
    fu_track *track;
    int index;
    int ok_calls, err_calls;
    pool_type type;  /* of the value the last callback got */
    uint32_t len;    /* its len */
    long long ival;  /* its int, when it was one */
    char msg[512];   /* its message, when it was an error */
} fu_slot;

struct fu_track {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int n;
    long calls;    /* callbacks run, both kinds */
    long ok, err;  /* of each kind */
    fu_slot *slots;
    /* Optional hooks, run (without the lock) inside the callbacks; what
     * they return is what the callback returns. */
    pool_value (*on_ok)(fu_slot *slot, const pool_value *value);
    pool_value (*on_err)(fu_slot *slot, const pool_value *value);
};

static inline void fu_track_init(fu_track *t, int n)
{
    memset(t, 0, sizeof *t);
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    t->n = n;
    t->slots = calloc((size_t)(n > 0 ? n : 1), sizeof *t->slots);
    if (!t->slots) {
        perror("calloc");
        exit(2);
    }
    for (int i = 0; i < n; i++) {
        t->slots[i].track = t;
        t->slots[i].index = i;
    }
}

static inline void fu_track_free(fu_track *t)
{
    free(t->slots);
    t->slots = NULL;
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
}

static inline void fu_slot_record(fu_slot *s, const pool_value *v, bool ok)
{
    fu_track *t = s->track;
    pthread_mutex_lock(&t->mu);
    if (ok)
        s->ok_calls++, t->ok++;
    else
        s->err_calls++, t->err++;
    s->type = v ? v->type : POOL_NONE;
    s->len = v ? v->len : 0;
    if (v && v->type == POOL_INT)
        s->ival = v->as.i;
    if (v && (v->type == POOL_ERROR || v->type == POOL_STR) && v->as.s)
        snprintf(s->msg, sizeof s->msg, "%s", v->as.s);
    t->calls++;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

__attribute__((unused)) static pool_value fu_cb_ok(const pool_value *value, void *user_data)
{
    fu_slot *s = user_data;
    pool_value ret = s->track->on_ok ? s->track->on_ok(s, value) : pool_none();
    fu_slot_record(s, value, true);
    return ret;
}

__attribute__((unused)) static pool_value fu_cb_err(const pool_value *value, void *user_data)
{
    fu_slot *s = user_data;
    pool_value ret = s->track->on_err ? s->track->on_err(s, value) : pool_none();
    fu_slot_record(s, value, false);
    return ret;
}

/* Options that count into slot i. */
static inline pool_opts fu_opts(fu_track *t, int i, long chunksize)
{
    pool_opts o = {.chunksize = chunksize,
                   .callback = fu_cb_ok,
                   .error_callback = fu_cb_err,
                   .user_data = &t->slots[i]};
    return o;
}

/* Waits until at least calls callbacks ran; returns how many did. */
static inline long fu_track_wait(fu_track *t, long calls, double timeout)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += (time_t)timeout;
    pthread_mutex_lock(&t->mu);
    while (t->calls < calls)
        if (pthread_cond_timedwait(&t->cv, &t->mu, &dl) == ETIMEDOUT)
            break;
    long got = t->calls;
    pthread_mutex_unlock(&t->mu);
    return got;
}

/* Every slot got exactly one callback; expect_ok: 1 all succeeded, 0 all
 * failed, -1 either. */
static inline void fu_track_check(fu_track *t, int expect_ok, const char *what)
{
    int bad = 0, first = -1, wrong = 0, first_wrong = -1;
    pthread_mutex_lock(&t->mu);
    for (int i = 0; i < t->n; i++) {
        fu_slot *s = &t->slots[i];
        if (s->ok_calls + s->err_calls != 1) {
            if (first < 0)
                first = i;
            bad++;
        } else if ((expect_ok == 1 && s->ok_calls != 1) ||
                   (expect_ok == 0 && s->err_calls != 1)) {
            if (first_wrong < 0)
                first_wrong = i;
            wrong++;
        }
    }
    CHECK(bad == 0,
          "%s: %d of %d submissions did not get exactly one callback "
          "(first: #%d with %d result and %d error callbacks)",
          what, bad, t->n, first, first >= 0 ? t->slots[first].ok_calls : 0,
          first >= 0 ? t->slots[first].err_calls : 0);
    CHECK(wrong == 0, "%s: %d of %d submissions got the wrong callback (first: #%d, "
          "message \"%s\")", what, wrong, t->n, first_wrong,
          first_wrong >= 0 ? t->slots[first_wrong].msg : "");
    pthread_mutex_unlock(&t->mu);
}

/* ---- Waiting on handles ------------------------------------------------- */

/* Waits for a handle with the hang bound; returns the code of get. */
static inline int fu_get(pool_result *r, const pool_value **v, const char *what)
{
    const pool_value *dummy;
    int rc = pool_result_get(r, FU_TIMEOUT, v ? v : &dummy);
    CHECK(rc != POOL_ETIMEDOUT, "%s: the handle was not ready within %.0f s",
          what, FU_TIMEOUT);
    if (rc != POOL_ETIMEDOUT)
        CHECK(pool_result_ready(r), "%s: get returned but the handle is not ready",
              what);
    return rc;
}

/* The error message of a failed handle, or "". */
static inline const char *fu_msg(const pool_value *v)
{
    return v && (v->type == POOL_ERROR || v->type == POOL_STR) && v->as.s
               ? v->as.s
               : "";
}

/* ---- Capturing stderr --------------------------------------------------- */

typedef struct fu_capture {
    int saved;
    FILE *file;
} fu_capture;

/* Sends fd 2 to a temporary file until fu_capture_end(). */
static inline void fu_capture_begin(fu_capture *c)
{
    fflush(stderr);
    c->file = tmpfile();
    c->saved = dup(2);
    if (!c->file || c->saved < 0) {
        perror("capture");
        exit(2);
    }
    dup2(fileno(c->file), 2);
}

/* Restores fd 2 and returns what was written to it (to be freed). */
static inline char *fu_capture_end(fu_capture *c)
{
    fflush(stderr);
    dup2(c->saved, 2);
    close(c->saved);
    off_t size = lseek(fileno(c->file), 0, SEEK_END);
    char *text = calloc(1, (size_t)(size > 0 ? size : 0) + 1);
    if (text && size > 0) {
        if (pread(fileno(c->file), text, (size_t)size, 0) < 0)
            text[0] = '\0';
    }
    fclose(c->file);
    return text;
}

/* Lines in text that contain needle. */
static inline int fu_count_lines_with(const char *text, const char *needle)
{
    int n = 0;
    const char *line = text;
    while (line && *line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        const char *hit = strstr(line, needle);
        if (hit && hit < line + len)
            n++;
        line = end ? end + 1 : NULL;
    }
    return n;
}

/* ---- Tasks many tests use ----------------------------------------------- */

__attribute__((unused)) static pool_value fu_task_double(const pool_value *args, size_t nargs)
{
    if (nargs < 1 || args[0].type != POOL_INT)
        return pool_error("fu_task_double wants an int");
    return pool_int(args[0].as.i * 2);
}

__attribute__((unused)) static pool_value fu_task_getpid(const pool_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    return pool_int(getpid());
}

/* Checks that the pool still works: n tasks, all correct. */
static inline void fu_check_pool_works(pool_t *pool, int n, const char *when)
{
    pool_value out = pool_none();
    int rc = pool_map(pool, fu_task_double, pool_range((size_t)n), NULL, &out);
    CHECK(rc == POOL_OK, "%s: the pool no longer works: %d (%s) %s", when, rc,
          pool_strerror(rc), fu_msg(&out));
    if (rc == POOL_OK) {
        int wrong = 0;
        CHECK(out.type == POOL_LIST && out.len == (uint32_t)n,
              "%s: map returned type %d len %u", when, out.type, out.len);
        for (uint32_t i = 0; out.type == POOL_LIST && i < out.len; i++)
            if (out.as.items[i].type != POOL_INT || out.as.items[i].as.i != 2 * (long long)i)
                wrong++;
        CHECK(wrong == 0, "%s: %d wrong results", when, wrong);
    }
    pool_value_free(&out);
}

/* Waits until the pool runs n live workers; returns how many it has. */
static inline int fu_wait_workers(int n, double timeout)
{
    double end = fu_now() + timeout;
    pid_t pids[256];
    for (;;) {
        int k = fu_worker_pids(pids, 256);
        if (k == n || fu_now() >= end)
            return k;
        fu_sleep(0.005);
    }
}

/* ---- Workers that die ---------------------------------------------------- */

/* Whether an error message describes death by signal sig: "SIGSEGV",
 * "signal 11" or strsignal's "Segmentation fault" all do. */
static inline bool fu_names_signal(const char *msg, int sig)
{
    char buf[64];
    const char *abbrev = sigabbrev_np(sig);
    if (abbrev) {
        snprintf(buf, sizeof buf, "SIG%s", abbrev);
        if (strstr(msg, buf))
            return true;
    }
    snprintf(buf, sizeof buf, "signal %d", sig);
    if (strstr(msg, buf))
        return true;
    const char *desc = strsignal(sig);
    return desc && strcasestr(msg, desc);
}

/* Whether an error message describes an exit with status code. */
static inline bool fu_names_exit(const char *msg, int code)
{
    if (!strcasestr(msg, "exit"))
        return false;
    const char *forms[] = {" %d", "(%d)", "=%d", ":%d"};
    for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, forms[i], code);
        const char *p = msg;
        while ((p = strstr(p, buf))) {
            size_t len = strlen(buf);
            if (!isdigit((unsigned char)p[len]))
                return true;
            p += len;
        }
    }
    return false;
}

static inline bool fu_names_pid(const char *msg, pid_t pid)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%d", (int)pid);
    const char *p = msg;
    while ((p = strstr(p, buf))) {
        bool left = p == msg || !isdigit((unsigned char)p[-1]);
        if (left && !isdigit((unsigned char)p[strlen(buf)]))
            return true;
        p++;
    }
    return false;
}

/* What a dying task tells the test, in memory shared with the workers. */
typedef struct fu_death_shm {
    _Atomic int started; /* the killing task has begun */
    _Atomic int pid;     /* its worker */
    _Atomic int runs;    /* how often the killing item was run */
} fu_death_shm;

static fu_death_shm *fu_death;

/* The item (or apply argument) that kills its worker; others are doubled. */
#define FU_KILLER_ITEM 150

/* In a task: is this the item that must die? If so, record the worker. */
static inline bool fu_death_mark(const pool_value *args, size_t nargs)
{
    if (nargs < 1 || args[0].type != POOL_INT || args[0].as.i != FU_KILLER_ITEM)
        return false;
    atomic_store(&fu_death->pid, (int)getpid());
    atomic_fetch_add(&fu_death->runs, 1);
    atomic_store(&fu_death->started, 1);
    return true;
}

/* A task that sleeps, bounded, until the test kills its worker. */
__attribute__((unused)) static pool_value fu_task_wait_for_kill(const pool_value *args,
                                                                 size_t nargs)
{
    if (!fu_death_mark(args, nargs))
        return pool_int(args[0].as.i * 2);
    for (int i = 0; i < 6000; i++)
        fu_sleep(0.01);
    return pool_error("the test did not kill this worker");
}

/* Runs the worker-death scenario with a task that kills its worker when it
 * gets FU_KILLER_ITEM, by signal sig or with exit status code (sig 0), or
 * waits for the test to SIGKILL it (outside). Asserts: the submission fails
 * with POOL_ETASK and a message naming the pid and the signal or status; its
 * error callback runs once; 100 innocent submissions around it succeed; the
 * killing item runs once (no retry); the worker is replaced; the pool keeps
 * working; nothing outlives the pool; no descriptor leaks. */
static inline void fu_death_scenario(const char *name, pool_task_fn killer, int sig,
                                     int code, bool outside)
{
    fu_become_subreaper();
    fu_death = fu_shared(sizeof *fu_death);
    int fds0 = fu_count_fds();

    pool_t *pool = NULL;
    pool_config cfg = {.processes = 2};
    CHECK_OK(pool_create(&pool, &cfg));
    if (!pool)
        return;
    CHECK_EQ_INT(2, fu_wait_workers(2, FU_TIMEOUT));

    enum { INNOCENT = 100, KILLERS = 2 };
    fu_track t;
    fu_track_init(&t, INNOCENT + KILLERS);
    pool_result *handles[INNOCENT + KILLERS] = {0};

    for (int phase = 0; phase < KILLERS; phase++) {
        atomic_store(&fu_death->started, 0);
        atomic_store(&fu_death->pid, 0);
        atomic_store(&fu_death->runs, 0);
        int base = phase * (INNOCENT / KILLERS);
        /* innocents before */
        for (int i = 0; i < INNOCENT / KILLERS / 2; i++) {
            pool_opts o = fu_opts(&t, base + i, 0);
            CHECK_OK(pool_apply_async(pool, fu_task_double, pool_tuple(1, pool_int(i)),
                                      &o, &handles[base + i]));
        }
        /* the killer: phase 0 by apply, phase 1 inside a map of 300 */
        int k = INNOCENT + phase;
        pool_opts ko = fu_opts(&t, k, 10);
        if (phase == 0)
            CHECK_OK(pool_apply_async(pool, killer,
                                      pool_tuple(1, pool_int(FU_KILLER_ITEM)), &ko,
                                      &handles[k]));
        else
            CHECK_OK(pool_map_async(pool, killer, pool_range(300), &ko, &handles[k]));
        /* innocents after */
        for (int i = INNOCENT / KILLERS / 2; i < INNOCENT / KILLERS; i++) {
            pool_opts o = fu_opts(&t, base + i, 0);
            CHECK_OK(pool_apply_async(pool, fu_task_double, pool_tuple(1, pool_int(i)),
                                      &o, &handles[base + i]));
        }
        if (outside) {
            double end = fu_now() + FU_TIMEOUT;
            while (!atomic_load(&fu_death->started) && fu_now() < end)
                fu_sleep(0.002);
            pid_t victim = atomic_load(&fu_death->pid);
            CHECK(victim > 0, "%s: the killing task never started", name);
            if (victim > 0)
                CHECK(kill(victim, SIGKILL) == 0, "kill(%d): %s", (int)victim,
                      strerror(errno));
        }
        const pool_value *v = NULL;
        int rc = fu_get(handles[k], &v, name);
        CHECK(rc == POOL_ETASK, "%s, phase %d: expected POOL_ETASK, got %d (%s)", name,
              phase, rc, pool_strerror(rc));
        const char *msg = fu_msg(v);
        pid_t pid = atomic_load(&fu_death->pid);
        CHECK(fu_names_pid(msg, pid), "%s, phase %d: \"%s\" does not name pid %d", name,
              phase, msg, (int)pid);
        if (sig)
            CHECK(fu_names_signal(msg, sig), "%s, phase %d: \"%s\" does not name signal %d",
                  name, phase, msg, sig);
        else
            CHECK(fu_names_exit(msg, code), "%s, phase %d: \"%s\" does not name exit status %d",
                  name, phase, msg, code);
        CHECK(!pool_result_successful(handles[k]), "%s: the failed handle is successful",
              name);
        for (int i = 0; i < INNOCENT / KILLERS; i++) {
            int irc = fu_get(handles[base + i], &v, "an innocent task");
            CHECK(irc == POOL_OK && v && v->type == POOL_INT && v->as.i == 2 * i,
                  "%s, phase %d: innocent task %d next to a dying worker: %d (%s) %s", name,
                  phase, i, irc, pool_strerror(irc), fu_msg(v));
        }
        CHECK(atomic_load(&fu_death->runs) == 1,
              "%s, phase %d: the killing item ran %d times", name, phase,
              atomic_load(&fu_death->runs));
        /* the dead worker is replaced */
        int workers = fu_wait_workers(2, FU_TIMEOUT);
        CHECK(workers == 2, "%s, phase %d: %d workers after a death, not 2", name, phase,
              workers);
        CHECK(!fu_alive(pid), "%s: worker %d is still alive", name, (int)pid);
        CHECK_EQ_INT(2, pool_processes(pool));
    }
    CHECK_EQ_INT(INNOCENT + KILLERS, fu_track_wait(&t, INNOCENT + KILLERS, FU_TIMEOUT));
    fu_track_check(&t, -1, name);
    for (int i = 0; i < INNOCENT; i++)
        CHECK(t.slots[i].ok_calls == 1, "%s: innocent #%d got no result callback", name, i);
    for (int k = INNOCENT; k < INNOCENT + KILLERS; k++)
        CHECK(t.slots[k].err_calls == 1 && t.slots[k].ok_calls == 0,
              "%s: killer #%d got %d error and %d result callbacks", name, k,
              t.slots[k].err_calls, t.slots[k].ok_calls);
    for (int i = 0; i < INNOCENT + KILLERS; i++)
        pool_result_release(handles[i]);

    fu_check_pool_works(pool, 500, name);

    CHECK_OK(pool_close(pool));
    CHECK_OK(pool_join(pool));
    pool_destroy(pool);
    fu_after_destroy(fds0, name);
    fu_track_free(&t);
    munmap(fu_death, sizeof *fu_death);
}

/* ---- Tasks that start processes of their own ----------------------------- */


/* The pipe:, socket: and anon_inode: objects process pid has open on
 * descriptors min_fd and up. */
static inline int fu_kernel_objects(pid_t pid, char names[][64], int max, int min_fd)
{
    char dir[64];
    snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        /* Valgrind keeps its own descriptors at 1000 and above. */
        if (e->d_name[0] == '.' || atoi(e->d_name) < min_fd || atoi(e->d_name) >= 1000)
            continue;
        char path[400], target[64];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        ssize_t k = readlink(path, target, sizeof target - 1);
        if (k <= 0)
            continue;
        target[k] = '\0';
        if (strncmp(target, "pipe:", 5) == 0 || strncmp(target, "socket:", 7) == 0 ||
            strncmp(target, "anon_inode:", 11) == 0)
            snprintf(names[n++], 64, "%s", target);
    }
    closedir(d);
    return n;
}

static inline bool fu_listed(char names[][64], int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return true;
    return false;
}

typedef struct fu_spawn_shm {
    _Atomic int helper; /* the pid of the process the task started */
    _Atomic int worker;
    _Atomic int leaked; /* the worker's descriptors the exec'd program holds */
} fu_spawn_shm;
static fu_spawn_shm *fu_spawn;

/* Runs /bin/sleep 90 by posix_spawn, waits until it runs, then dies. */
__attribute__((unused)) static pool_value fu_task_exec_then_die(const pool_value *args,
                                                                 size_t nargs)
{
    (void)args;
    (void)nargs;
    pid_t pid;
    char *argv[] = {"sleep", "90", NULL};
    if (posix_spawn(&pid, "/bin/sleep", NULL, NULL, argv, environ) != 0)
        return pool_error("posix_spawn failed");
    atomic_store(&fu_spawn->helper, (int)pid);
    atomic_store(&fu_spawn->worker, (int)getpid());
    for (int i = 0; i < 5000; i++) { /* until the exec is done */
        fu_proc p;
        if (fu_proc_read(pid, &p) && strcmp(p.comm, "sleep") == 0)
            break;
        fu_sleep(0.002);
    }
    /* Which of this worker's pipes and sockets did the program keep? */
    static char mine[128][64], its[128][64];
    int n_mine = fu_kernel_objects(getpid(), mine, 128, 3);
    int n_its = fu_kernel_objects(pid, its, 128, 3), leaked = 0;
    for (int i = 0; i < n_its; i++)
        if (fu_listed(mine, n_mine, its[i]))
            leaked++;
    atomic_store(&fu_spawn->leaked, leaked);
    raise(SIGKILL);
    return pool_none();
}

/* Forks a child that sleeps up to 90 s, then dies. */
__attribute__((unused)) static pool_value fu_task_fork_then_die(const pool_value *args,
                                                                 size_t nargs)
{
    (void)args;
    (void)nargs;
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < 9000; i++)
            fu_sleep(0.01);
        _exit(0);
    }
    atomic_store(&fu_spawn->helper, (int)pid);
    atomic_store(&fu_spawn->worker, (int)getpid());
    raise(SIGKILL);
    return pool_none();
}

/* A task starts a process (exec: /bin/sleep; else a plain fork) and its
 * worker dies by SIGKILL. The task must fail with POOL_ETASK naming the
 * worker and SIGKILL within bound seconds while that process still lives;
 * an exec'd program must hold none of the pool's descriptors. */
static inline void fu_spawn_scenario(const char *name, bool exec)
{
    fu_become_subreaper();
    fu_spawn = fu_shared(sizeof *fu_spawn);
    int fds0 = fu_count_fds();
    pool_t *pool = NULL;
    pool_config cfg = {.processes = 2};
    CHECK_OK(pool_create(&pool, &cfg));
    if (!pool)
        return;
    fu_check_pool_works(pool, 10, "at the start");
    double bound = fu_under_valgrind() ? 60.0 : 15.0;

    for (int round = 0; round < 2; round++) {
        atomic_store(&fu_spawn->helper, 0);
        atomic_store(&fu_spawn->worker, 0);
        atomic_store(&fu_spawn->leaked, -1);
        pool_result *r = NULL;
        CHECK_OK(pool_apply_async(pool, exec ? fu_task_exec_then_die : fu_task_fork_then_die,
                                  pool_tuple(0), NULL, &r));
        const pool_value *v = NULL;
        int rc = pool_result_get(r, bound, &v);
        pid_t helper_pid = atomic_load(&fu_spawn->helper);
        CHECK(helper_pid > 0, "%s: the task started no process", name);
        CHECK(rc == POOL_ETASK,
              "%s: the worker died but its task was not failed within %.0f s "
              "(got %d, %s) while the process it started lived on", name, bound, rc,
              pool_strerror(rc));
        if (rc == POOL_ETASK)
            CHECK(fu_names_pid(fu_msg(v), atomic_load(&fu_spawn->worker)) &&
                      fu_names_signal(fu_msg(v), SIGKILL),
                  "%s: \"%s\" names neither the worker nor SIGKILL", name, fu_msg(v));
        if (exec)
            CHECK(atomic_load(&fu_spawn->leaked) == 0,
                  "%s: the program a task started holds %d of its worker's pipes and "
                  "sockets", name, atomic_load(&fu_spawn->leaked));
        if (helper_pid > 0) {
            /* It is ours now: we are the subreaper of its dead parent. */
            kill(helper_pid, SIGKILL);
            double end = fu_now() + FU_TIMEOUT;
            while (waitpid(helper_pid, NULL, WNOHANG) == 0 && fu_now() < end)
                fu_sleep(0.002);
        }
        /* With the process gone, the failure must come for sure. */
        rc = fu_get(r, &v, name);
        CHECK_EQ_INT(POOL_ETASK, rc);
        pool_result_release(r);
        fu_check_pool_works(pool, 100, name);
        CHECK_EQ_INT(2, fu_wait_workers(2, FU_TIMEOUT));
        if (check_failures)
            break; /* a second round would only wait again */
    }

    CHECK_OK(pool_close(pool));
    CHECK_OK(pool_join(pool));
    pool_destroy(pool);
    fu_after_destroy(fds0, name);
    munmap(fu_spawn, sizeof *fu_spawn);
}

#endif
