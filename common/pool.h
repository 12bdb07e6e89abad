/* pool.h - a process pool with result callbacks, modelled on Python's
 * multiprocessing.pool.Pool.
 *
 * A pool forks worker processes that run plain C functions ("tasks") on
 * values sent to them through pipes. Results come back to the parent, where
 * an optional callback receives them. Each rule of the pool is stated once,
 * as one sentence, next to the call it belongs to.
 */
#ifndef POOL_H
#define POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Error codes ------------------------------------------------------- */

/* Every call that can fail returns one of these; pool_strerror() names it. */
enum {
    POOL_OK = 0,
    POOL_EINVAL = -1,      /* a bad argument: NULL pool or function, bad count */
    POOL_ERUNNING = -2,    /* "pool is still running": join before close */
    POOL_ENOTRUNNING = -3, /* "pool not running": submit after close/terminate */
    POOL_ETIMEDOUT = -4,   /* the result was not ready within the timeout */
    POOL_ETASK = -5,       /* a task failed: returned an error or its worker died */
    POOL_ECALLBACK = -6,   /* the result callback or error callback failed */
    POOL_ETERMINATED = -7, /* pool_terminate() discarded the task */
    POOL_EDEADLK = -8,     /* a blocking call made on the result-handler thread */
    POOL_ESYS = -9,        /* a system call failed; errno tells which */
    POOL_ECANCELLED = -10, /* pool_result_cancel() or pool_shutdown() cancelled it */
    POOL_END = -11,        /* pool_iter_next(): every result was handed over */
};

/* Returns a constant message for an error code; it never returns NULL. */
const char *pool_strerror(int err);

/* ---- Values ------------------------------------------------------------ */

/* A value is what crosses the process boundary: arguments and results. */
typedef enum pool_type {
    POOL_NONE = 0, /* no value, like Python's None; all-zero bytes are NONE */
    POOL_INT,   /* as.i */
    POOL_FLOAT, /* as.f */
    POOL_STR,   /* as.s, NUL-terminated, len bytes before the NUL */
    POOL_BYTES, /* as.bytes, len bytes */
    POOL_LIST,  /* as.items, len values; also serves as a tuple */
    POOL_ERROR, /* as.s, the error message; a task fails by returning one */
} pool_type;

typedef struct pool_value {
    pool_type type;
    uint32_t len; /* bytes of a string, bytes or error; items of a list */
    union {
        long long i;
        double f;
        char *s;
        unsigned char *bytes;
        struct pool_value *items;
    } as;
} pool_value;

/* A value owns its memory; pool_value_free() releases it and leaves NONE. */
pool_value pool_none(void);
pool_value pool_int(long long i);
pool_value pool_float(double f);
pool_value pool_str(const char *s);
pool_value pool_bytes(const void *data, size_t len);
pool_value pool_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
/* A list of len NONE items, to be filled in through as.items. */
pool_value pool_list(size_t len);
/* A tuple of n values, which it takes over: pool_tuple(2, pool_int(1), x). */
pool_value pool_tuple(size_t n, ...);
/* The list [0, 1, ..., n - 1], like Python's range(n). */
pool_value pool_range(size_t n);
pool_value pool_value_copy(const pool_value *value);
void pool_value_free(pool_value *value);

/* Writes value as Python's repr() would (0.5, 'text', [1, None]) and
 * returns the length it needed, as snprintf does. */
int pool_value_repr(const pool_value *value, char *buf, size_t size);
/* Writes a double as Python's repr() does: the shortest digits that read
 * back to the same double, e.g. 0.1 and 1e+16. */
int pool_float_repr(double f, char *buf, size_t size);

/* Lists nest at most this deep; an apply's args tuple is one level. A
 * deeper argument is refused with POOL_EINVAL, and a deeper result fails
 * its task. */
#define POOL_MAX_DEPTH 64

/* Wire format, shared with the fuzzer: encode appends to a growing buffer;
 * decode reads one value and returns the bytes used, or 0 if the input is
 * malformed, in which case *value is left NONE. */
typedef struct pool_buf {
    unsigned char *data;
    size_t len, cap;
} pool_buf;
void pool_encode(pool_buf *buf, const pool_value *value);
size_t pool_decode(const unsigned char *data, size_t len, pool_value *value);

/* ---- Tasks and callbacks ----------------------------------------------- */

/* A task runs in a worker process. apply passes the args tuple's items,
 * map passes one item, and starmap passes one item's tuple items. The
 * args belong to the pool; the task returns a value it hands over, or a
 * pool_error() to fail. */
typedef pool_value (*pool_task_fn)(const pool_value *args, size_t nargs);

/* A callback runs in the parent on the pool's result-handler thread. It
 * returns pool_none() when it succeeded, or a pool_error() to fail; the pool
 * frees what it returns. The value it gets stays valid until the handle is
 * released. */
typedef pool_value (*pool_callback_fn)(const pool_value *value, void *user_data);

/* ---- The pool ---------------------------------------------------------- */

typedef struct pool pool_t;
typedef struct pool_result pool_result;

typedef struct pool_config {
    long processes;            /* workers; 0 means one per online CPU */
    void (*initializer)(void *initarg); /* runs once in each new worker */
    void *initarg;
    long maxtasksperchild;     /* replace a worker after this many chunks; 0: never */
    const char *trace;         /* a trace file to write; NULL: $POOL_TRACE, if set */
    bool threads;              /* workers are threads of this process, as in ThreadPool */
    size_t shm_min;            /* bytes at which a str or bytes value crosses in shared
                                  memory; 0: POOL_SHM_MIN; POOL_SHM_NEVER: never */
} pool_config;

/* A str or bytes value of at least config->shm_min bytes crosses in shared
 * memory rather than through the pipe: the sender writes it once into a
 * sealed memfd and passes the descriptor on a socket beside the pipe, so
 * the pipe carries only its length, and the receiver maps it as its own
 * private copy, which pool_value_free() unmaps; should that fail (no memfd,
 * too many descriptors), the value crosses through the pipe. */
#define POOL_SHM_MIN ((size_t)1 << 20)
#define POOL_SHM_NEVER SIZE_MAX

/* Creates a pool; config may be NULL for the defaults, as Pool() does.
 * Workers are forked from a single-threaded fork server made here, so they
 * see the program's memory as it was at this call, and none inherits a lock
 * held by one of the pool's threads; create pools before starting threads
 * of your own, since the fork server is forked from the calling process.
 * Each worker is named PoolWorker-N, gets its own random seed (rand, random
 * and drand48), and dies with the parent. stdout and stderr are flushed
 * before the fork, so no buffered line is printed twice. The pool's
 * descriptors stay above 2, so a program that closed stdin, stdout or
 * stderr never prints into them. A signal handler, with or without
 * SA_RESTART, disturbs no call: the pool retries what a signal interrupts.
 * A child the program forks holds copies of the pool's descriptors, yet
 * delays neither join nor the workers' death when the parent dies. On
 * failure it returns POOL_ESYS with errno set, and leaves no process or
 * descriptor behind. With config->trace, or else $POOL_TRACE, naming a
 * file, the pool writes every step of each submission there as a Chrome
 * trace (docs/tracing.md); a file it cannot write costs one stderr line. */
int pool_create(pool_t **pool, const pool_config *config);
/* With config->threads, the workers are threads of the calling process,
 * named PoolWorker-N, as in Python's ThreadPool, and every other rule holds
 * but these three. Values still cross by copy, through pipes or a memfd,
 * so a lesson runs unchanged and a task never shares its arguments with
 * the caller. A task that crashes, or calls exit(), ends the whole
 * program, since it runs in the program's own process. There is no fork
 * server and no per-worker seed, and pool_terminate() waits for the tasks
 * running then, since a thread cannot be killed; tasks not yet started
 * never start. */

/* Built with -DPOOL_MPI (make mpi) and started by mpirun, a program's pools
 * run their workers on the job's ranks, and every rule holds but these:
 * rank 0 is the parent, and ranks 1 .. N-1 never run main() but serve
 * rank 0's pools from start-up until rank 0 exits, so nothing main does
 * reaches a worker, and config->initarg must be NULL or a global of the
 * program, as it was at start-up. A pool has one worker per rank, at most
 * N - 1 (0 means N - 1), and one MPI pool runs at a time. A task is named
 * across ranks by its offset in the program's executable, so every rank
 * must run the same build, which the worker checks by build id, and a task
 * it cannot name (another build's, or a shared library's) fails with an
 * error that says so. A worker rank's stdout and stderr reach rank 0 as
 * they grow and before the results of each chunk, so each stream keeps its
 * order and a task's lines come before its callback's. A task
 * that crashes or exits ends the whole job, as MPI does, and
 * pool_terminate() waits for the tasks running then, as with threads;
 * tasks not yet started never start. Every value crosses by copy, since a
 * descriptor cannot reach another host. docs/mpi.md shows each. */

/* How many workers the pool keeps running. */
long pool_processes(const pool_t *pool);

/* What moving tasks and results has cost so far, counted by the pool
 * itself: the system calls its threads and its workers made for it, of
 * which write() calls, and the workers' share of both (a worker counts a
 * call before it makes it, so a result the caller has seen was counted);
 * the bytes written to the task and result pipes; and the values, and
 * their bytes, that crossed in shared memory. Futex calls under the locks
 * are not counted, nor, in the MPI build, the worker ranks' calls. */
typedef struct pool_stats {
    unsigned long long syscalls;
    unsigned long long writes;
    unsigned long long pipe_bytes;
    unsigned long long shm_values;
    unsigned long long shm_bytes;
    unsigned long long worker_syscalls; /* of syscalls */
    unsigned long long worker_writes;   /* of writes */
} pool_stats;
/* Fills *stats; POOL_EINVAL for a NULL argument. */
int pool_get_stats(pool_t *pool, pool_stats *stats);

/* Options for one submission; a NULL pointer means all zero. */
typedef struct pool_opts {
    long chunksize;                  /* items per message; 0: ceil(n / (4 * workers)) */
    pool_callback_fn callback;       /* gets the result: one value, or the ordered list of a map */
    pool_callback_fn error_callback; /* gets the error value instead, once per submission */
    void *user_data;                 /* handed to both callbacks */
} pool_opts;

/* Submitting: the pool takes over args and items even when the call fails.
 * A failed submission sends none of its items that no worker has started.
 * The callbacks of a submission run once, after every one of its items is
 * done, and before wait or get on its handle returns. They always run in the
 * parent, on the pool's one result-handler thread, one at a time, so a slow
 * callback delays every later result. A failed task calls the error callback
 * with a message naming the worker and, in a map, the item's index ("task
 * 3"), and never the result callback. A failing callback is reported on stderr in one line and makes
 * the handle unsuccessful; the pool keeps working. A worker that dies
 * mid-task fails that task with its pid and signal or exit status, and is
 * replaced. Submitting is allowed from any thread, callbacks included.
 * A map over an empty list calls the callback with an empty list. */
int pool_apply_async(pool_t *pool, pool_task_fn fn, pool_value args,
                     const pool_opts *opts, pool_result **result);
int pool_map_async(pool_t *pool, pool_task_fn fn, pool_value items,
                   const pool_opts *opts, pool_result **result);
int pool_starmap_async(pool_t *pool, pool_task_fn fn, pool_value items,
                       const pool_opts *opts, pool_result **result);

/* The blocking forms wait for the result and hand it to the caller in *out,
 * to be freed with pool_value_free(): the value, or the error value when
 * they return POOL_ETASK, POOL_ECALLBACK or POOL_ETERMINATED. */
int pool_apply(pool_t *pool, pool_task_fn fn, pool_value args,
               const pool_opts *opts, pool_value *out);
int pool_map(pool_t *pool, pool_task_fn fn, pool_value items,
             const pool_opts *opts, pool_value *out);
int pool_starmap(pool_t *pool, pool_task_fn fn, pool_value items,
                 const pool_opts *opts, pool_value *out);

/* Stops accepting work; the workers exit once every task is done. */
int pool_close(pool_t *pool);
/* Stops the workers now; unfinished handles fail with "terminated". */
int pool_terminate(pool_t *pool);
/* Waits until every task and callback is done and every worker has exited;
 * it needs a pool_close() or pool_terminate() first. */
int pool_join(pool_t *pool);
/* Terminates if still needed, then frees the pool and every handle; a
 * callback must not call it. */
void pool_destroy(pool_t *pool);

/* Works as Executor.shutdown(wait, cancel_futures): with cancel_pending it
 * first cancels every submission that pool_result_cancel() would, then it
 * closes the pool, and with wait it joins it. */
int pool_shutdown(pool_t *pool, bool wait, bool cancel_pending);

/* ---- Handles ----------------------------------------------------------- */

/* A call that would wait on the result-handler thread, where the wait could
 * never end, returns POOL_EDEADLK instead: wait, get, join and the blocking
 * forms alike. A timeout is in seconds; POOL_FOREVER waits without limit. */
#define POOL_FOREVER (-1.0)

/* Waits until the handle is ready: POOL_OK, or POOL_ETIMEDOUT. */
int pool_result_wait(pool_result *result, double timeout);
/* Waits, then sets *value to the result or, on failure, to the error value;
 * it returns POOL_OK, or the failure's code. The pool keeps ownership. */
int pool_result_get(pool_result *result, double timeout, const pool_value **value);
bool pool_result_ready(pool_result *result);
/* True once the handle is ready with no error; false before then. */
bool pool_result_successful(pool_result *result);
/* Gives the handle back; the pool frees it once ready, and
 * pool_destroy() frees every handle never released. A failed task that no
 * error callback got, nor get or successful on a ready handle revealed, is
 * reported on stderr in one line when its handle is freed (wait and ready
 * reveal nothing; pool_terminate() and failed callbacks add no line). */
void pool_result_release(pool_result *result);

/* A done callback gets the handle once it is ready, and may call get,
 * successful and release on it. */
typedef void (*pool_done_fn)(pool_result *result, void *user_data);
/* Adds a done callback, as Future.add_done_callback() does, any number of
 * times. Those added before the handle is ready run on the result-handler
 * thread, in the order added, after the submission's own callback and once
 * the handle is ready, so wait and get may return before they run. One added
 * to a ready handle runs at once, on the calling thread. After
 * pool_result_release() it returns POOL_EINVAL while the pool still holds
 * the handle; once the pool freed it, the call is undefined. */
int pool_result_add_done_callback(pool_result *result, pool_done_fn fn, void *user_data);

/* Cancels a submission none of whose items has been sent to a worker, and
 * returns true; otherwise it returns false and changes nothing (an item sent
 * may not have started yet, but it cannot be taken back). A cancelled handle
 * is ready with POOL_ECANCELLED and the error value "cancelled"; its error
 * callback and its done callbacks run once, and no worker sees its items. */
bool pool_result_cancel(pool_result *result);
/* A worker is sent up to this many chunks ahead of the one it runs, to hide
 * the pipes' latency, so only work queued behind that many can be cancelled. */
#define POOL_MAX_SENT 16

/* ---- Iterators: imap and imap_unordered ------------------------------- */

typedef struct pool_iter pool_iter;

/* Gives the next input item: returns true and sets *item, which the pool
 * takes over, or false at the end. It runs on the thread that calls
 * pool_imap() or pool_iter_next(), never on a pool thread. */
typedef bool (*pool_next_fn)(void *state, pool_value *item);

/* At most this many chunks per worker are in flight or waiting to be handed
 * over, per iterator. */
#define POOL_IMAP_AHEAD 2

/* Runs fn on each item that next gives, as map does, chunksize items per
 * message (0 means 1, as in Python). Unlike Python's, the pool reads the
 * input only as far ahead as POOL_IMAP_AHEAD allows, so any number of items
 * runs in bounded memory. pool_close() ends the input: items not yet read
 * are never read. An item nested deeper than POOL_MAX_DEPTH fails alone,
 * and never reaches a worker. One thread at a time may use an iterator.
 * Destroy every iterator before its pool. */
int pool_imap(pool_t *pool, pool_task_fn fn, pool_next_fn next, void *state,
              long chunksize, pool_iter **it);
int pool_imap_unordered(pool_t *pool, pool_task_fn fn, pool_next_fn next, void *state,
                        long chunksize, pool_iter **it);

/* Sets *value, which the caller frees, to the next result: in item order
 * for pool_imap(), in the order the items finish for pool_imap_unordered().
 * It returns POOL_OK; or POOL_ETASK with a failed item's error value, and
 * later items still come; or POOL_END once every item was handed over;
 * POOL_ETIMEDOUT; POOL_ETERMINATED; POOL_ENOTRUNNING when pool_close() cut
 * the input short; POOL_EDEADLK on the result-handler thread. */
int pool_iter_next(pool_iter *it, double timeout, pool_value *value);
/* The index, in the input, of the item whose value pool_iter_next() gave
 * last. */
size_t pool_iter_index(const pool_iter *it);
/* Abandons the iterator: items in flight still run, and their results are
 * dropped; the input is read no further. */
void pool_iter_destroy(pool_iter *it);

#endif
