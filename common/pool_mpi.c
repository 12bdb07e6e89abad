/* pool_mpi.c - the MPI build's workers: ranks 1 .. N-1 of an MPI job, with
 * rank 0 the parent. Built only with -DPOOL_MPI (make mpi).
 *
 * Rank 0: the pool is unchanged. Each slot's worker is rank i + 1, and one
 * link thread carries the slot's two pipes to and from it as MPI messages:
 * task bytes from the task pipe to the rank, results from the rank to the
 * result pipe. A rank's answer to START goes on the reply pipe, and its
 * EXIT on the death pipe, as a thread worker's would (pool_threads.c).
 *
 * Worker ranks: they never run main(). A constructor, before main, serves
 * rank 0's pools: at START it runs the worker loop (pool_worker.c) on MPI
 * messages, at FINISH it ends. Its stdout and stderr go to memory files,
 * sent to rank 0 just before each result, so a task's lines come out in
 * the order they would from a forked worker.
 *
 * Messages, rank 0 to a worker rank, in order: START, DATA..., END, and
 * START again for a new worker of the slot, or FINISH once rank 0 exits.
 * A worker rank to rank 0: HELLO, then OUT, ERR and RESULTS, then EXIT.
 * END means "the pool is done with this worker": after it, the worker
 * starts no further item. After EXIT the rank reads up to END, drops what
 * it reads, and waits for the next START.
 *
 * The lock rule: lnk.lock guards the asks and the stop flag, which the
 * task handler sets and the link thread takes; it is held for nothing
 * else. Every MPI call on rank 0 is the link thread's, but the atexit
 * handler's, which runs once no pool exists. */
#include "pool_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mpi.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

enum { T_START = 1, T_DATA, T_END, T_FINISH,      /* rank 0 to a worker rank */
       T_HELLO = 11, T_OUT, T_ERR, T_RESULTS, T_EXIT }; /* a worker rank to rank 0 */

#define PIECE (1 << 20)      /* task bytes per DATA message */
#define MAX_SEND (1 << 30)   /* an MPI count is an int: bigger results go in parts */
#define SPIN_ROUNDS 2000     /* busy rounds (with sched_yield) before sleeping */
#define IDLE_SLEEP_US 1000   /* the longest sleep between looks at MPI */

typedef struct start_msg {
    int32_t number, traced;
    int64_t maxtasksperchild;
    uint64_t initializer, initarg; /* names, as pool_names.c makes them */
    uint32_t id_len;
    unsigned char id[64];          /* rank 0's build id */
} start_msg;

typedef struct hello_msg {
    int32_t pid;
    char host[64];
} hello_msg;

static int world_rank = -1, world_size;

/* Sleeps a little longer each idle round, up to IDLE_SLEEP_US, so an idle
 * rank costs almost nothing, and a busy one answers at once. */
static void idle(unsigned *rounds)
{
    if (++*rounds < SPIN_ROUNDS) {
        sched_yield();
        return;
    }
    unsigned us = *rounds - SPIN_ROUNDS;
    struct timespec ts = {0, (long)(us < IDLE_SLEEP_US ? us + 1 : IDLE_SLEEP_US) * 1000};
    nanosleep(&ts, NULL); /* EINTR only shortens a nap */
}

/* ---- A worker rank ---------------------------------------------------- */

/* Messages from rank 0 received and not yet used, oldest first. */
typedef struct msg {
    int tag;
    unsigned char *data;
    size_t len, off;
    struct msg *next;
} msg;
static msg *queue, *queue_tail;
static bool end_seen; /* the worker's read took END */
static int out_fd[3] = {-1, -1, -1}; /* memory files on stdout (1) and stderr (2) */

/* Receives one message from rank 0 that has arrived; false if none has. */
static bool receive_one(bool wait)
{
    int flag = 0;
    MPI_Status st;
    unsigned rounds = 0;
    for (;;) {
        MPI_Iprobe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
        if (flag || !wait)
            break;
        idle(&rounds);
    }
    if (!flag)
        return false;
    int n;
    MPI_Get_count(&st, MPI_BYTE, &n);
    msg *m = xcalloc(1, sizeof *m);
    m->tag = st.MPI_TAG;
    m->len = (size_t)n;
    m->data = xcalloc((size_t)n, 1);
    MPI_Recv(m->data, n, MPI_BYTE, 0, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (queue_tail)
        queue_tail->next = m;
    else
        queue = m;
    queue_tail = m;
    return true;
}

static void drop_first(void)
{
    msg *m = queue;
    queue = m->next;
    if (!queue)
        queue_tail = NULL;
    free(m->data);
    free(m);
}

/* Takes every message that has arrived, and says whether END is among
 * them: then the pool is done with this worker, and what comes before END
 * is dropped unread. */
static bool end_arrived(void)
{
    while (receive_one(false))
        continue;
    for (msg *m = queue; m; m = m->next)
        if (m->tag == T_END)
            return true;
    return false;
}

/* Drops messages up to and including END. */
static void drop_to_end(void)
{
    for (;;) {
        while (!queue)
            receive_one(true);
        int tag = queue->tag;
        drop_first();
        if (tag == T_END)
            return;
    }
}

/* Sends what the tasks printed since the last call, stdout first, then
 * empties the memory files. Called before results and EXIT go, so rank 0
 * prints a task's lines before its callback can run. */
static void send_output(void)
{
    fflush(stdout);
    fflush(stderr);
    for (int fd = 1; fd <= 2; fd++) {
        if (out_fd[fd] < 0)
            continue;
        off_t end = lseek(fd, 0, SEEK_CUR);
        if (end <= 0)
            continue;
        unsigned char *text = xcalloc((size_t)end, 1);
        ssize_t n = pread(fd, text, (size_t)end, 0);
        if (n > 0)
            MPI_Send(text, (int)(n < INT_MAX ? n : INT_MAX), MPI_BYTE, 0,
                     fd == 1 ? T_OUT : T_ERR, MPI_COMM_WORLD);
        free(text);
        /* A memory file cannot fail these but for a bad descriptor. */
        if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0)
            out_fd[fd] = -1;
    }
}

/* stdout and stderr become memory files, which never block a task; if one
 * cannot be made, that stream goes straight to mpirun, out of order. */
static void capture_output(void)
{
    for (int fd = 1; fd <= 2; fd++) {
        int m = memfd_create(fd == 1 ? "rank-stdout" : "rank-stderr", MFD_CLOEXEC);
        if (m < 0)
            continue;
        if (dup2(m, fd) == fd)
            out_fd[fd] = fd;
        close(m);
    }
}

static ssize_t rank_read(worker_io *io, void *buf, size_t size)
{
    (void)io;
    if (end_arrived()) {
        drop_to_end();
        end_seen = true;
        return 0;
    }
    while (!queue)
        receive_one(true);
    if (queue->tag == T_END) {
        drop_first();
        end_seen = true;
        return 0;
    }
    if (queue->tag != T_DATA) {
        errno = EPROTO; /* rank 0 sends nothing else to a running worker */
        return -1;
    }
    size_t n = queue->len - queue->off < size ? queue->len - queue->off : size;
    memcpy(buf, queue->data + queue->off, n);
    queue->off += n;
    if (queue->off == queue->len)
        drop_first();
    return (ssize_t)n;
}

static int rank_write(worker_io *io, const void *data, size_t len)
{
    (void)io;
    send_output();
    if (end_arrived()) /* nobody reads these results any more */
        return -1;
    const unsigned char *p = data;
    do {
        size_t n = len < MAX_SEND ? len : MAX_SEND;
        MPI_Send(p, (int)n, MPI_BYTE, 0, T_RESULTS, MPI_COMM_WORLD);
        p += n;
        len -= n;
    } while (len);
    return 0;
}

/* Looks for END at most once a millisecond, so a big chunk of small tasks
 * pays no MPI call per item. */
static bool rank_stopped(worker_io *io)
{
    (void)io;
    static struct timespec last;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long ms = (now.tv_sec - last.tv_sec) * 1000LL + (now.tv_nsec - last.tv_nsec) / 1000000;
    if (ms < 1)
        return false;
    last = now;
    return end_arrived();
}

/* One worker of a pool of rank 0's, from START to EXIT. */
static void run_worker(const msg *m)
{
    start_msg s = {0};
    end_seen = false;
    memcpy(&s, m->data, m->len < sizeof s ? m->len : sizeof s);
    char host[64] = "?";
    gethostname(host, sizeof host); /* "?" is left if it fails */
    host[sizeof host - 1] = '\0';

    /* A task's offset means the same function only in the same build. */
    static char refused[256];
    unsigned char id[64];
    size_t id_len = image_build_id(id);
    if (id_len == 0 || id_len != s.id_len || memcmp(id, s.id, id_len) != 0) {
        snprintf(refused, sizeof refused,
                 "rank %d on %s runs another build of the program than rank 0 "
                 "(its build id differs), so it cannot name rank 0's tasks", world_rank, host);
        task_names_refuse(refused);
    }

    char name[32]; /* the kernel keeps the first 15 bytes */
    snprintf(name, sizeof name, "PoolWorker-%d", s.number);
    prctl(PR_SET_NAME, name);
    hello_msg hello = {.pid = getpid()};
    memcpy(hello.host, host, sizeof hello.host);
    MPI_Send(&hello, sizeof hello, MPI_BYTE, 0, T_HELLO, MPI_COMM_WORLD);

    pool_config config = {.maxtasksperchild = s.maxtasksperchild};
    char why[256];
    config.initializer = s.initializer != TASK_UNNAMED && s.initializer != 0
        ? (void (*)(void *))(uintptr_t)task_lookup(s.initializer, why, sizeof why) : NULL;
    config.initarg = image_data_lookup(s.initarg);
    worker_seed(s.number);
    if (config.initializer)
        config.initializer(config.initarg);

    task_now now = {0}; /* traced: the tasks' notes go with the results */
    worker_io io = {.task_fd = -1, .result_fd = -1, .read = rank_read, .write = rank_write,
                    .stopped = rank_stopped};
    int status = worker_loop(&config, getpid(), s.traced ? &now : NULL, &io);
    send_output();
    int wait_status = W_EXITCODE(status, 0);
    MPI_Send(&wait_status, 1, MPI_INT, 0, T_EXIT, MPI_COMM_WORLD);
    if (!end_seen) /* rank 0 sends END once it has EXIT */
        drop_to_end();
}

static void serve(void) __attribute__((noreturn));
static void serve(void)
{
    capture_output();
    for (;;) {
        while (!queue)
            receive_one(true);
        if (queue->tag == T_FINISH) {
            send_output();
            MPI_Finalize();
            _exit(0); /* main never ran: no atexit handler of its is ours */
        }
        if (queue->tag == T_START) {
            msg *m = queue;
            queue = m->next;
            if (!queue)
                queue_tail = NULL;
            run_worker(m);
            free(m->data);
            free(m);
            prctl(PR_SET_NAME, "idle-rank");
            continue;
        }
        drop_first(); /* what an ended worker was sent: nobody wants it */
    }
}

/* ---- Rank 0: the link thread ------------------------------------------ */

/* A send in flight, with the bytes it owns. */
typedef struct send {
    MPI_Request req;
    void *data;
    struct send *next;
} send_t;

enum phase { IDLE, STARTING, RUNNING };

typedef struct slot {
    /* Set by the task handler under lnk.lock, taken by the link thread. */
    bool asked;
    int ask_number, ask_task, ask_result;
    /* The link thread's own. */
    enum phase phase;
    int number;
    pid_t pid;
    int task_rd, result_wr; /* our ends of the slot's pipes; -1 once closed */
    bool end_sent, exited;
    int status;             /* EXIT's, as waitpid gives it */
    pool_buf results;       /* from the rank, not yet in the result pipe */
    size_t results_off;
} slot;

static struct {
    pthread_mutex_t lock;
    pool_t *pool;          /* the one MPI pool, or NULL */
    pthread_t thread;
    int wake_fd;           /* eventfd: an ask or stop came */
    bool stop;             /* end once every rank is idle */
    long n;
    slot *slots;
    send_t *sends;         /* in flight, newest first */
} lnk = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake_fd = -1};

static void link_send(const void *data, size_t len, int rank, int tag)
{
    send_t *s = xcalloc(1, sizeof *s);
    s->data = xcalloc(len, 1);
    memcpy(s->data, data, len);
    MPI_Isend(s->data, (int)len, MPI_BYTE, rank, tag, MPI_COMM_WORLD, &s->req);
    s->next = lnk.sends;
    lnk.sends = s;
}

/* Frees the sends that completed; true if any did. */
static bool sends_done(void)
{
    bool any = false;
    for (send_t **p = &lnk.sends; *p;) {
        int done = 0;
        MPI_Test(&(*p)->req, &done, MPI_STATUS_IGNORE);
        if (!done) {
            p = &(*p)->next;
            continue;
        }
        send_t *s = *p;
        *p = s->next;
        free(s->data);
        free(s);
        any = true;
    }
    return any;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void start(slot *sl, long i, pool_t *pool)
{
    sl->phase = STARTING;
    sl->number = sl->ask_number;
    sl->task_rd = sl->ask_task;
    sl->result_wr = sl->ask_result;
    sl->pid = 0;
    sl->end_sent = sl->exited = false;
    sl->results.len = sl->results_off = 0;
    start_msg s = {.number = sl->number, .traced = pool->trace != NULL,
                   .maxtasksperchild = pool->config.maxtasksperchild,
                   .initializer = pool->config.initializer
                       ? task_name((pool_task_fn)(uintptr_t)pool->config.initializer) : 0,
                   .initarg = pool->config.initarg ? image_data_name(pool->config.initarg)
                                                   : TASK_UNNAMED};
    s.id_len = (uint32_t)image_build_id(s.id);
    link_send(&s, sizeof s, (int)i + 1, T_START);
}

/* What a worker rank sent: a message that has arrived, if any. */
static bool link_receive(pool_t *pool)
{
    int flag = 0;
    MPI_Status st;
    MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
    if (!flag)
        return false;
    int n;
    MPI_Get_count(&st, MPI_BYTE, &n);
    int rank = st.MPI_SOURCE;
    slot *sl = rank >= 1 && rank <= lnk.n ? &lnk.slots[rank - 1] : NULL;
    if (!sl || st.MPI_TAG == T_OUT || st.MPI_TAG == T_ERR) {
        unsigned char *text = xcalloc((size_t)n, 1);
        MPI_Recv(text, n, MPI_BYTE, rank, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (sl) /* where the program's own output goes; gone: nowhere to say so */
            (void)write_all(st.MPI_TAG == T_OUT ? 1 : 2, text, (size_t)n);
        free(text);
        return true;
    }
    if (st.MPI_TAG == T_RESULTS) {
        buf_reserve(&sl->results, (size_t)n);
        MPI_Recv(sl->results.data + sl->results.len, n, MPI_BYTE, rank, T_RESULTS,
                 MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (sl->result_wr >= 0)
            sl->results.len += (size_t)n;
        return true;
    }
    union {
        hello_msg hello;
        int status;
    } m = {0};
    MPI_Recv(&m, (int)sizeof m, MPI_BYTE, rank, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (st.MPI_TAG == T_HELLO) {
        sl->pid = m.hello.pid;
        sl->phase = RUNNING;
        /* A worker the pool gave up on while it started gets no answer. */
        reply rep = {.magic = SERVER_MAGIC, .number = sl->number, .slot = rank - 1,
                     .pid = sl->pid};
        if (sl->task_rd >= 0)
            (void)write_all(pool->reply_wr, &rep, sizeof rep); /* the pool holds the read end */
    } else if (st.MPI_TAG == T_EXIT) {
        sl->exited = true;
        sl->status = m.status;
    }
    return true;
}

/* Task bytes from the slot's pipe to its rank; END at end of file. */
static bool pump_tasks(slot *sl, long i, unsigned char *piece)
{
    if (sl->task_rd < 0 || sl->phase == IDLE)
        return false;
    ssize_t n = read(sl->task_rd, piece, PIECE);
    if (n < 0)
        return false; /* EAGAIN: nothing yet; EINTR: next round */
    if (n > 0) {
        link_send(piece, (size_t)n, (int)i + 1, T_DATA);
        return true;
    }
    close_fd(&sl->task_rd); /* the pool is done with this worker */
    if (!sl->end_sent)
        link_send("", 0, (int)i + 1, T_END);
    sl->end_sent = true;
    return true;
}

/* Results to the slot's pipe, as far as it takes them now. */
static bool pump_results(slot *sl)
{
    size_t left = sl->results.len - sl->results_off;
    if (!left || sl->result_wr < 0)
        return false;
    ssize_t n = write(sl->result_wr, sl->results.data + sl->results_off, left);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return false;
    if (n < 0) { /* EPIPE: the pool killed the worker, and reads no more */
        close_fd(&sl->result_wr);
        sl->results.len = sl->results_off = 0;
        return true;
    }
    sl->results_off += (size_t)n;
    if (sl->results_off == sl->results.len) {
        buf_consume(&sl->results, sl->results.len);
        sl->results_off = 0;
    }
    return true;
}

/* A worker that sent EXIT ends once its results are in the pipe, since the
 * pool reads a worker's pipe before its death counts. */
static bool finish(slot *sl, long i, pool_t *pool)
{
    if (!sl->exited || (sl->result_wr >= 0 && sl->results.len > sl->results_off))
        return false;
    death d = {.pid = sl->pid, .status = sl->status};
    (void)write_all(pool->death_wr, &d, sizeof d); /* the pool holds the read end */
    close_fd(&sl->task_rd);
    close_fd(&sl->result_wr);
    if (!sl->end_sent)
        link_send("", 0, (int)i + 1, T_END);
    buf_consume(&sl->results, sl->results.len);
    sl->results_off = 0;
    sl->phase = IDLE;
    sl->exited = false;
    return true;
}

static void *link_main(void *arg)
{
    pool_t *pool = arg;
    unsigned char *piece = xcalloc(PIECE, 1);
    struct pollfd *pfds = xcalloc((size_t)lnk.n + 1, sizeof *pfds);
    unsigned rounds = 0;
    for (;;) {
        bool busy = false, stop;
        pthread_mutex_lock(&lnk.lock);
        stop = lnk.stop;
        for (long i = 0; i < lnk.n; i++) {
            slot *sl = &lnk.slots[i];
            if (sl->asked && sl->phase == IDLE) {
                start(sl, i, pool);
                sl->asked = false;
                busy = true;
            }
        }
        pthread_mutex_unlock(&lnk.lock);

        while (link_receive(pool))
            busy = true;
        busy |= sends_done();
        bool all_idle = true;
        for (long i = 0; i < lnk.n; i++) {
            slot *sl = &lnk.slots[i];
            busy |= pump_tasks(sl, i, piece);
            busy |= pump_results(sl);
            busy |= finish(sl, i, pool);
            all_idle &= sl->phase == IDLE && !sl->asked;
        }
        if (stop && all_idle && !lnk.sends)
            break;
        if (busy) {
            rounds = 0;
            continue;
        }
        if (rounds < SPIN_ROUNDS) {
            idle(&rounds);
            continue;
        }
        /* Idle: a task message or an ask wakes us at once; a worker rank's
         * message is seen within a millisecond. */
        pfds[0] = (struct pollfd){.fd = lnk.wake_fd, .events = POLLIN};
        for (long i = 0; i < lnk.n; i++)
            pfds[i + 1] = (struct pollfd){.fd = lnk.slots[i].phase != IDLE ? lnk.slots[i].task_rd : -1,
                                          .events = POLLIN};
        if (poll(pfds, (nfds_t)lnk.n + 1, IDLE_SLEEP_US / 1000) > 0) {
            rounds = 0;
            uint64_t v;
            if (pfds[0].revents && read(lnk.wake_fd, &v, sizeof v) < 0)
                continue; /* nonblocking: taken by an earlier read */
        }
    }
    free(piece);
    free(pfds);
    return NULL;
}

static void link_wake(void)
{
    uint64_t one = 1;
    ssize_t n = write(lnk.wake_fd, &one, sizeof one);
    (void)n; /* an eventfd only fails when full, and full wakes it too */
}

int rank_pool_check(const pool_config *config, long *processes)
{
    if (world_rank < 0) {
        report("pool_create: this program is built for MPI: run it with mpirun, "
               "e.g. mpirun -np 3 PROGRAM, for 2 workers");
        return POOL_EINVAL;
    }
    if (world_size < 2) {
        report("pool_create: an MPI pool needs worker ranks: run it with mpirun -np 3 or more");
        return POOL_EINVAL;
    }
    if (config->processes > world_size - 1) {
        report("pool_create: %ld workers asked for, but the job has %d worker ranks "
               "(mpirun -np %ld gives %ld)", config->processes, world_size - 1,
               config->processes + 1, config->processes);
        return POOL_EINVAL;
    }
    if (config->initializer &&
        task_name((pool_task_fn)(uintptr_t)config->initializer) == TASK_UNNAMED) {
        report("pool_create: the initializer is not a function of the program's executable, "
               "so a worker rank cannot name it");
        return POOL_EINVAL;
    }
    if (config->initarg && image_data_name(config->initarg) == TASK_UNNAMED) {
        report("pool_create: initarg must be NULL or a global of the program: "
               "nothing of main's memory reaches a worker rank");
        return POOL_EINVAL;
    }
    pthread_mutex_lock(&lnk.lock);
    bool busy = lnk.pool != NULL;
    pthread_mutex_unlock(&lnk.lock);
    if (busy) {
        report("pool_create: one MPI pool at a time: the ranks serve another pool");
        return POOL_EINVAL;
    }
    *processes = config->processes ? config->processes : world_size - 1;
    return POOL_OK;
}

int rank_link_open(pool_t *pool)
{
    pthread_mutex_lock(&lnk.lock);
    if (lnk.pool) { /* another thread's pool_create() got here first */
        pthread_mutex_unlock(&lnk.lock);
        errno = EBUSY;
        return -1;
    }
    lnk.wake_fd = fd_above_stdio(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (lnk.wake_fd < 0) {
        pthread_mutex_unlock(&lnk.lock);
        return -1;
    }
    lnk.pool = pool;
    lnk.stop = false;
    lnk.n = pool->processes;
    lnk.slots = xcalloc((size_t)lnk.n, sizeof *lnk.slots);
    for (long i = 0; i < lnk.n; i++)
        lnk.slots[i] = (slot){.task_rd = -1, .result_wr = -1};
    pthread_mutex_unlock(&lnk.lock);

    sigset_t all, old; /* signals go to the program's threads, as for every pool thread */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&lnk.thread, NULL, link_main, pool);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc == 0) {
        pthread_setname_np(lnk.thread, "mpi-link");
        return 0;
    }
    pthread_mutex_lock(&lnk.lock);
    close_fd(&lnk.wake_fd);
    free(lnk.slots);
    lnk.slots = NULL;
    lnk.pool = NULL;
    pthread_mutex_unlock(&lnk.lock);
    errno = rc;
    return -1;
}

int rank_worker_start(pool_t *pool, long i, int number)
{
    int task[2], result[2];
    if (pipe_above_stdio(task) != 0)
        return -1;
    if (pipe_above_stdio(result) != 0) {
        int saved = errno;
        close(task[0]);
        close(task[1]);
        errno = saved;
        return -1;
    }
    fcntl(task[0], F_SETFL, O_NONBLOCK);
    fcntl(result[1], F_SETFL, O_NONBLOCK);
    pthread_mutex_lock(&lnk.lock);
    slot *sl = &lnk.slots[i];
    sl->asked = true;
    sl->ask_number = number;
    sl->ask_task = task[0];
    sl->ask_result = result[1];
    link_wake();
    pthread_mutex_unlock(&lnk.lock);
    worker *w = &pool->workers[i];
    *w = (worker){.number = number, .spawning = true, .task_fd = task[1],
                  .result_fd = result[0], .replaces = w->replaces,
                  .replaces_number = w->replaces_number};
    return 0;
}

void rank_worker_kill(worker *w)
{
    /* The link sees end of file on the task pipe and sends END; the rank
     * starts no further item, and its EXIT brings the death notice. */
    if (w->task_fd >= 0)
        close(w->task_fd);
    if (w->result_fd >= 0)
        close(w->result_fd);
    w->task_fd = w->result_fd = -1;
}

void rank_workers_end(pool_t *pool)
{
    for (long i = 0; i < pool->processes; i++) {
        worker *w = &pool->workers[i];
        rank_worker_kill(w);
        w->pid = 0;
        w->spawning = false;
        free(w->out.data);
        free(w->in.data);
        w->out = w->in = (pool_buf){0};
    }
    if (!lnk.slots)
        return; /* rank_link_open() never ran */
    pthread_mutex_lock(&lnk.lock);
    lnk.stop = true;
    link_wake();
    pthread_mutex_unlock(&lnk.lock);
    pthread_join(lnk.thread, NULL); /* fails only for a bad or detached thread */
    pthread_mutex_lock(&lnk.lock);
    for (long i = 0; i < lnk.n; i++) {
        close_fd(&lnk.slots[i].task_rd);
        close_fd(&lnk.slots[i].result_wr);
        if (lnk.slots[i].asked) { /* asked for, never started */
            close(lnk.slots[i].ask_task);
            close(lnk.slots[i].ask_result);
        }
        free(lnk.slots[i].results.data);
    }
    free(lnk.slots);
    lnk.slots = NULL;
    close_fd(&lnk.wake_fd);
    lnk.pool = NULL;
    pthread_mutex_unlock(&lnk.lock);
}

/* ---- Start-up and the end of the job ----------------------------------- */

/* Rank 0's last act: the worker ranks end, then MPI. */
static void finish_job(void)
{
    pthread_mutex_lock(&lnk.lock);
    bool alive = lnk.pool != NULL;
    pthread_mutex_unlock(&lnk.lock);
    if (alive) {
        report("pool: rank 0 exits with an MPI pool not destroyed; the job is aborted");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    for (int r = 1; r < world_size; r++)
        MPI_Send("", 0, MPI_BYTE, r, T_FINISH, MPI_COMM_WORLD);
    MPI_Finalize();
}

/* Runs before main() in every rank started by mpirun: ranks other than 0
 * serve the pool and never return. */
__attribute__((constructor)) static void mpi_start(void)
{
    if (!getenv("OMPI_COMM_WORLD_SIZE") && !getenv("PMIX_RANK"))
        return; /* not started by mpirun: pool_create() says how to run it */
    int provided = 0;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS) {
        report("pool: MPI_Init_thread failed");
        _exit(1);
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    if (provided < MPI_THREAD_MULTIPLE) {
        report("pool: this MPI library does not give MPI_THREAD_MULTIPLE");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (world_rank == 0) {
        if (atexit(finish_job) != 0) {
            report("pool: atexit failed");
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        return;
    }
    serve();
}
