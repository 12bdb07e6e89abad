/* pool_internal.h - the parent's state and the functions its files share.
 *
 * The parent runs three kinds of thread on one struct pool: the program's
 * own threads (pool.c), the task-handler thread (pool_task_handler.c and
 * pool_chunks.c) and the result-handler thread (pool_result_handler.c).
 *
 * The lock rule: pool->lock guards every field below that more than one
 * thread touches, and no thread holds it while a callback runs or while it
 * waits on the kernel (poll, a death notice, the fork server's answer), so
 * a stopped or slow process never stalls a call. Each prototype says what
 * its caller must hold. Fields only the task-handler thread uses say so.
 *
 * A job is one submission. Its struct is pool.h's pool_result, since the
 * caller's handle is the job itself; inside the pool it is called a job. */
#ifndef POOL_INTERNAL_H
#define POOL_INTERNAL_H

#include "pool_wire.h"

#include <poll.h>
#include <pthread.h>
#include <time.h>

enum state { RUN, CLOSE, TERMINATE };

/* A run of items of one job, sent to one worker as one message. */
typedef struct chunk {
    struct pool_result *job;
    size_t first, count;  /* items first .. first + count - 1 */
    uint64_t seq;
    uint64_t end;         /* where its message ends in the worker's task stream */
    bool items_dropped;   /* its worker read it all; its items are freed */
    struct chunk *next;
} chunk;

struct pool_result {
    pool_t *pool;
    struct pool_result *prev, *next; /* every job not yet freed */
    struct pool_result *next_queued; /* pending queue, then done queue */
    pool_task_fn fn;
    enum mode mode;
    pool_value input;      /* args tuple (apply) or the list of items */
    pool_value output;     /* the value (apply) or the list of results */
    bool in_place;         /* a map: output is input's list, each result put in the
                              slot its item left (drop_items), so no second list */
    size_t n_items;
    size_t chunksize;
    size_t next_item;      /* first item not yet sent */
    size_t items_done;
    size_t inflight;       /* chunks sent and not yet back */
    int status;            /* POOL_OK until something fails */
    pool_value error;      /* what failed, when status is not POOL_OK */
    pool_opts opts;
    bool done;             /* handed to the result handler */
    bool ready;            /* callbacks have run; wait and get return */
    bool released;         /* the caller gave the handle back */
    bool retrieved;        /* get or successful revealed the outcome */
    unsigned long trace_job;          /* traced: its number in the pool */
    unsigned long long flow_base;     /* traced: item i's flow id is flow_base + i */
    struct task_end *ends;            /* traced, with a callback: where each item ended */
    bool per_item_errors;  /* an iterator's chunk: a failed item keeps its error in its slot */
    size_t index_base;     /* an iterator's chunk: the input index of its item 0 */
    unsigned long long ready_seq;     /* the order handles became ready in (pool_iter.c) */
    struct done_cb *done_cbs, *done_cbs_tail; /* done callbacks not yet run, in order */
    bool in_done_callbacks; /* the result handler runs its done callbacks: not freed */
};

/* A done callback added before its handle was ready. */
struct done_cb {
    pool_done_fn fn;
    void *user_data;
    struct done_cb *next;
};

/* Where and when a traced item's task ended, for the arrow to its callback. */
struct task_end {
    pid_t pid; /* 0: no result came */
    long long ns;
};

/* The parent's view of one worker; only the task-handler thread uses it,
 * and pool_create() before that thread starts. */
typedef struct worker {
    pid_t pid;                /* 0: this slot needs a new worker */
    int number;               /* N of PoolWorker-N */
    int task_fd, result_fd;   /* our ends of its pipes */
    int shm_fd;               /* our end of its side socket for big values; -1: none */
    pool_buf out;             /* messages not yet written */
    size_t out_off;           /* bytes of out already written */
    pool_buf in;              /* bytes read, not yet a whole message */
    chunk *head, *tail;       /* chunks sent, oldest first */
    size_t inflight;
    long sent;                /* chunks sent, for maxtasksperchild */
    uint64_t next_seq;
    uint64_t queued, written; /* bytes of task stream made, and written */
    bool ignored;             /* its output no longer counts: it ended, or we killed it */
    bool spawning;            /* asked the fork server for it; no answer yet */
    bool kill_pending;        /* a KILL request that found no room on the socket */
    const char *why;          /* why we killed it, for the error message */
    pid_t replaces;           /* traced: the dead worker this slot's next one replaces */
    int replaces_number;
    struct thread_worker *thread; /* threads: the slot's thread; pid is its tid */
} worker;

struct pool {
    pthread_mutex_t lock;
    pthread_cond_t result_handler_cv; /* done queue grew, or the task handler ended */
    pthread_cond_t ready_cv;   /* a handle became ready, or a thread ended */
    enum state state;
    pool_config config;
    long processes;
    worker *workers;
    struct pollfd *pfds;       /* task handler only */
    int wake_fd;               /* eventfd that wakes the task handler */
    bool wake_pending;
    pid_t server_pid;
    int server_fd;             /* task handler only: requests to the fork server */
    int death_fd;              /* its death notices: one per reaped worker */
    int next_number;
    struct timespec spawn_retry_at; /* task handler only: no new worker before then */
    const char *late_report;   /* task handler only: a line to write once unlocked */
    bool server_gone;          /* task handler only: its socket ended */
    struct pool_result *jobs;                       /* every job, for destroy */
    struct pool_result *pending, *pending_tail;     /* items not all sent */
    struct pool_result *done_head, *done_tail;      /* for the result handler */
    chunk *retry;              /* chunks a dead worker never started */
    bool task_handler_done;    /* the task handler has ended */
    bool joined;
    pthread_mutex_t join_lock; /* one joiner at a time */
    pthread_t task_handler_thread, result_handler_thread;
    struct tracer *trace;      /* NULL: untraced; set at create */
    task_now *now;             /* traced: each slot's worker's task, shared with it */
    int trace_no;              /* its number in the trace file */
    pool_buf trace_lines[2];   /* traced: events the task handler [0] and the result
                                  handler [1] made, not yet in the trace's buffer;
                                  each is its thread's own (trace_unlocked) */
    bool trace_named[2];       /* that thread's lane is named in the trace */
    unsigned long jobs_made;   /* jobs submitted, to number them */
    unsigned long long ready_count; /* handles made ready, for ready_seq */
    int reply_wr, death_wr;    /* threads, ranks: write ends of server_fd's and death_fd's pipes */
    bool ranks;                /* the MPI build: workers are ranks (pool_mpi.c) */
    pool_stats stats;          /* pool_get_stats(): what the parent's traffic cost */
    int spare;                 /* task handler only: a spare descriptor (shm_spare_open()),
                                  closed to make room for each memfd a worker sends */
    worker_counts *counts;     /* and each slot's workers', shared with them; set at
                                  create, before the fork server */
};

/* ---- Jobs (pool_job.c); the caller holds pool->lock, or no pool thread runs */

/* Hands a finished job to the result handler. */
void job_finish(pool_t *pool, struct pool_result *job);
/* Records the first failure of a job; later ones add nothing. */
void job_fail(struct pool_result *job, int status, pool_value error);
/* Finishes the job if nothing is in flight and it failed or got all. */
void job_check(pool_t *pool, struct pool_result *job);
enum { UNSEEN_LINE = 512 }; /* room for the line of an unseen failure */
/* Fills line when a failure nobody saw is owed a report; the caller writes
 * it once the lock is released, since a write to stderr can block. */
bool job_unseen_failure(const struct pool_result *job, char line[UNSEEN_LINE]);
void job_free(pool_t *pool, struct pool_result *job);
/* Cancels a job none of whose items was sent: finishes it with
 * POOL_ECANCELLED and returns true; otherwise false, changing nothing. */
bool job_cancel(pool_t *pool, struct pool_result *job);

/* ---- Waiting on ready_cv (pool.c): wait, get and pool_iter_next -------- */

/* Sets *deadline timeout seconds from now on ready_cv's clock, and returns
 * the timeout, or POOL_FOREVER for one past about 30 years. */
double deadline_after(double timeout, struct timespec *deadline);

/* ---- The task-handler thread (pool_task_handler.c, pool_chunks.c) ------ */

/* The thread's body; it takes pool->lock itself. */
void *task_handler_main(void *pool);
/* Wakes the task handler; the caller holds pool->lock. */
void task_handler_wake(pool_t *pool);
/* Asks the fork server for a worker for slot i, and takes one answer into
 * the slot that asked (receive_worker: 1, 0 for none yet, -1 with errno).
 * Only pool_create(), before the threads start, and the task handler. */
int ask_worker(pool_t *pool, long i, int flags);
int receive_worker(pool_t *pool, int flags);
/* Has the fork server kill a worker; its death notice follows. Task
 * handler only. */
void kill_worker(pool_t *pool, worker *w, const char *why);

/* pool_threads.c: workers that are threads (config.threads); the task
 * handler alone, or pool_create() before it starts. A thread answers on
 * the pipe server_fd reads, as the fork server would, and sends its death
 * notice to death_fd. start makes slot i's pipes, side socket and thread; receive reads
 * one answer as forkserver_receive() does, with the slot's ends in fds;
 * kill sets its stop flag and closes our ends (set to -1); join waits for
 * a thread whose death notice came; end kills and joins every thread left. */
struct thread_worker;
int thread_worker_start(pool_t *pool, long i, int number);
int thread_worker_receive(pool_t *pool, int flags, reply *rep, int fds[3]);
void thread_worker_kill(worker *w);
void thread_worker_join(struct thread_worker *t);
void thread_workers_end(pool_t *pool);

/* pool_mpi.c, in the MPI build: workers that are the ranks of an MPI job.
 * A worker rank answers through the same pipes a thread does (server_fd
 * and death_fd), and a link thread carries each slot's two pipes to and
 * from its rank, so the task handler sees pipes, as with any worker.
 * check, in pool_create(), validates config for ranks and sets *processes;
 * open starts the link thread; start asks rank i + 1 for a worker; kill
 * closes our ends, which the link tells the rank; end, once the task
 * handler ended or pool_create() failed, kills every worker left and waits
 * until every rank is idle. Task handler only, but check and open. */
#ifdef POOL_MPI
int rank_pool_check(const pool_config *config, long *processes);
int rank_link_open(pool_t *pool);
int rank_worker_start(pool_t *pool, long i, int number);
void rank_worker_kill(worker *w);
void rank_workers_end(pool_t *pool);
#endif

/* pool_chunks.c: chunks out to the workers and results back. Task handler
 * only; none of them blocks. dispatch, take_frames and read_worker need
 * pool->lock. read_some and write_worker touch only the worker, which
 * only the task handler uses, so they run without it: no pipe's system
 * call is made under the lock. They count their calls in *count, which the
 * caller adds to pool->stats. */
void dispatch(pool_t *pool);
/* One read() of what the worker sent, into w->in; false if none came. */
bool read_some(worker *w, pool_stats *count);
/* Takes every whole message in w->in. */
void take_frames(pool_t *pool, worker *w);
/* read_some and take_frames until the pipe is empty. */
void read_worker(pool_t *pool, worker *w);
/* Writes what is queued for the worker, until its pipe is full. */
void write_worker(worker *w, pool_stats *count);
/* Forgets a dead and reaped worker: the chunk it was running fails, and
 * the ones it never started go back to be sent again. */
void worker_lost(pool_t *pool, worker *w, int status);

/* ---- The result-handler thread (pool_result_handler.c) ----------------- */

/* The thread's body; it takes pool->lock itself. */
void *result_handler_main(void *pool);
/* Whether the calling thread is this pool's result handler; no lock. */
bool on_result_handler_thread(const pool_t *pool);
/* Whether it is this pool's task handler; no lock. */
bool on_task_handler_thread(const pool_t *pool);

/* ---- The trace (pool_trace.c); any thread, with or without pool->lock --- */

typedef struct tracer tracer;
#define TRACE_REPR_MAX 400 /* a callback's value in the trace; a task's result gets 40 */

/* CLOCK_MONOTONIC in nanoseconds: the same clock in every process. */
long long trace_now(void);
/* Opens path for a pool, or the file another pool of this process already
 * writes there, and sets *pool_no; NULL, with one line on stderr, if it
 * cannot be written. */
tracer *trace_open(const char *path, int *pool_no);
const char *trace_path(const tracer *t);
/* Writes what is buffered; never with pool->lock held (the disk may be
 * slow). The last pool to close a tracer ends the file. */
void trace_flush(tracer *t);
/* The same once the buffer is full; t may be NULL. */
void trace_flush_if_full(tracer *t);
/* Each pool thread and call that makes events calls this at its next
 * moment without pool->lock: the task and result handlers' events, kept
 * in pool->trace_lines so that an event takes no lock, go to the trace's
 * buffer, which is written once full. Does nothing untraced. */
void trace_unlocked(pool_t *pool);
void trace_close(tracer *t);
/* n consecutive flow ids, unique in the file. */
unsigned long long trace_flow_ids(tracer *t, size_t n);
/* Names a process or thread in the trace, once. */
void trace_name(tracer *t, pid_t pid, pid_t tid, bool is_thread, const char *name);
/* One event of pool's: ph 'i' (instant) or 'X' (a slice of dur ns). pid 0
 * means the calling thread, named by its role; else the worker pid's lane.
 * args_fmt, if not NULL, adds fields after "pool": ",\"job\":%lu". */
void trace_event(pool_t *pool, char ph, const char *what, pid_t pid, long long ts,
                 long long dur, const char *args_fmt, ...)
    __attribute__((format(printf, 7, 8)));
/* An arrow from worker from's task end to the calling thread's callback. */
void trace_flow(pool_t *pool, unsigned long long id, pid_t from, long long from_ts,
                long long to_ts);
/* A JSON string of s, quoted, cut to fit size. */
void trace_quote(const char *s, char *out, size_t size);
/* A JSON string of v's repr, at most max characters, ending "..." if cut. */
void trace_repr(const pool_value *v, size_t max, char *out, size_t size);

#endif
