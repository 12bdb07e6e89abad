/* fault.h - the fault tests' helpers: the .c files beside it, as libfault.a.
 * What the fault tests assert about every pool they make:
 *   nothing lost   every handle becomes ready, and exactly one of its two
 *                  callbacks runs, exactly once (fu_track);
 *   nothing hangs  every wait has a generous bound (FU_TIMEOUT);
 *   no orphans     after pool_destroy() no pool process lives or is left a
 *                  zombie (fu_after_destroy); the test is a child subreaper,
 *                  so a worker whose parent died comes back to it;
 *   no fd growth   as many descriptors after pool_destroy() as before
 *                  pool_create() (fu_count_fds).
 * fu_pool_open() and fu_pool_close() do all of that around one pool. */
#ifndef FAULT_H
#define FAULT_H

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pool.h"

/* ---- Where the test runs, and time -------------------------------------- */

bool fu_under_valgrind(void);
bool fu_under_sanitizer(void);
bool fu_instrumented(void);   /* either, or POOL_NO_RSS_CHECK: no memory figures */
void fu_quiet_valgrind(void); /* in a task that crashes on purpose */
#define FU_TIMEOUT (fu_under_valgrind() ? 400.0 : 60.0) /* "does not hang" */
double fu_now(void);          /* CLOCK_MONOTONIC, in seconds */
void fu_sleep(double seconds);
void *fu_shared(size_t size); /* zeroed, shared with workers made after it */

/* The one deadline loop, a statement: evaluates cond every 1 ms until it
 * holds or seconds pass. Test cond, or what it stored, after it. */
#define FU_WAIT_UNTIL(cond, seconds)                                            \
    for (double fu_end_ = fu_now() + (seconds); !(cond) && fu_now() < fu_end_;) \
    fu_sleep(0.001)

/* ---- Descriptors and processes ------------------------------------------ */

int fu_count_fds(void);
void fu_print_fds(FILE *out); /* "fd N -> target" lines */
/* The pipe:, socket: and anon_inode: objects pid holds on fds min_fd up. */
int fu_kernel_objects(pid_t pid, char names[][64], int max, int min_fd);
bool fu_listed(char names[][64], int n, const char *name);
long fu_status_kib(const char *name); /* "VmHWM"... of /proc/self/status */

/* Shared-memory values (memfd.c). FU_MEMFD is the name the pool gives its
 * memfds, as /proc shows it. fu_memfds counts pid's descriptors and
 * mappings of memfds named so; fu_memfds_anywhere adds them up over this
 * process and every live one below it, and lists the holders on out (if
 * not NULL); fu_memfd_mapping says how p is mapped: 'p' privately from
 * such a memfd, 's' shared, 0 not from one. */
#define FU_MEMFD "memfd:pool-value"
int fu_memfds(pid_t pid, const char *name, int *fds, int *maps);
int fu_memfds_anywhere(const char *name, FILE *out);
char fu_memfd_mapping(const void *p, const char *name);

typedef struct fu_proc {
    pid_t pid, ppid;
    char state; /* of /proc/PID/stat: R, S, T, Z... */
    char comm[32];
} fu_proc;
enum { FU_LIVE = 1, FU_ZOMBIE = 2, FU_POOL_NAMED = 4 /* PoolWorker-N, pool-forkserver */ };
bool fu_proc_read(pid_t pid, fu_proc *p);
/* Those below ancestor that match flags, into out; returns how many. */
int fu_descendants(pid_t ancestor, int flags, fu_proc *out, int max);
void fu_print_procs(const fu_proc *procs, int n, int max);
int fu_worker_pids(pid_t *out, int max);
bool fu_alive(pid_t pid); /* exists, and no zombie */
/* The waits return what is left: descendants, live procs, workers. */
int fu_wait_no_descendants(pid_t ancestor, double timeout);
int fu_wait_gone(const fu_proc *procs, int n, double timeout); /* reaps */
int fu_wait_workers(int n, double timeout);
int fu_reap_zombies(void);
void fu_become_subreaper(void);
void fu_kill_descendants(void); /* the tidy-up after a failure */

/* ---- One pool's life ------------------------------------------------------ */

/* Becomes the subreaper, counts descriptors, creates the pool (checked);
 * NULL if that failed. One such pool at a time. */
pool_t *fu_pool_open(pool_config cfg);
void fu_pool_close(pool_t *pool, const char *when); /* close, join, destroy */
/* pool_destroy(), then fu_after_destroy() with fu_pool_open()'s count. */
void fu_pool_destroy(pool_t *pool, const char *when);
void fu_after_destroy(int fds_before, const char *when);
void fu_check_pool_works(pool_t *pool, int n, const char *when); /* map n */
/* pool_result_get() within FU_TIMEOUT (checked); v may be NULL. */
int fu_get(pool_result *r, const pool_value **v, const char *what);
const char *fu_msg(const pool_value *v); /* an error's message, or "" */
bool fu_names_signal(const char *msg, int sig); /* "SIGSEGV", "signal 11"... */
bool fu_names_pid(const char *msg, pid_t pid);
pool_value fu_task_double(const pool_value *args, size_t nargs);
pool_value fu_task_getpid(const pool_value *args, size_t nargs);

/* ---- Counting callbacks ------------------------------------------------- */

typedef struct fu_track fu_track;
typedef struct fu_slot { /* one per submission: its user_data */
    fu_track *track;
    int index, ok_calls, err_calls;
    pool_type type; /* the last callback's value: type, len, int, message */
    uint32_t len;
    long long ival;
    char msg[512];
} fu_slot;
struct fu_track {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int n;
    long calls, ok, err; /* callbacks run: all, result, error */
    fu_slot *slots;
    /* Optional; run inside the callback, which returns what they return. */
    pool_value (*on_ok)(fu_slot *slot, const pool_value *value);
    pool_value (*on_err)(fu_slot *slot, const pool_value *value);
};
void fu_track_init(fu_track *t, int n);
void fu_track_free(fu_track *t);
pool_opts fu_opts(fu_track *t, int slot, long chunksize);
long fu_track_wait(fu_track *t, long calls, double timeout); /* calls seen */
/* One callback per slot; expect_ok 1: all results, 0: all errors, -1. */
void fu_track_check(fu_track *t, int expect_ok, const char *what);

/* ---- stderr, and calls that must not wait -------------------------------- */

typedef struct fu_capture {
    int saved;
    FILE *file;
} fu_capture;
void fu_capture_begin(fu_capture *c); /* fd 2 into a temporary file */
char *fu_capture_end(fu_capture *c);  /* what came, to be freed */
int fu_count_lines_with(const char *text, const char *needle);

/* A thread that times ready() and successful() on a ready, successful
 * handle in a loop: no pool thread may make them wait. */
typedef struct fu_prober {
    pthread_t thread;
    pool_result *handle;
    atomic_bool stop;
    atomic_long calls;
    double longest;
    long wrong; /* pairs that said "not ready" or "not successful" */
} fu_prober;
void fu_prober_start(fu_prober *p, pool_result *handle);
/* It ran, never said no, and no pair took bound seconds. */
void fu_prober_check(fu_prober *p, double bound, const char *when);

/* ---- Scenarios (death.c, spawn.c) ---------------------------------------- */

#define FU_KILLER_ITEM 150 /* the item that kills its worker */
typedef struct fu_death_shm {
    _Atomic int started, pid, runs; /* the killer began, its worker, its runs */
} fu_death_shm;
extern fu_death_shm *fu_death;
bool fu_death_mark(const pool_value *args, size_t nargs); /* the killer? */
pool_value fu_task_wait_for_kill(const pool_value *args, size_t nargs);
/* A worker dies on FU_KILLER_ITEM by signal sig, exit status code (sig 0),
 * or the test's SIGKILL (outside). */
void fu_death_scenario(const char *name, pool_task_fn killer, int sig, int code,
                       bool outside);
/* A task starts a process (exec, or a plain fork), then its worker dies. */
void fu_spawn_scenario(const char *name, bool exec);

/* ---- Checks -------------------------------------------------------------- */

void fu_count_checks_in(int *count, int *failures);
#ifndef FU_LIBRARY
#include "../check.h"
/* check.h counts per file: the library's checks count into this test's
 * counters, from before main() on (and in its forked children). */
__attribute__((constructor)) static void fu_count_checks_here(void)
{
    fu_count_checks_in(&check_count, &check_failures);
}
#endif

#endif
