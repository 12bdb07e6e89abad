/* pool_mpi_link.c - rank 0's side of the MPI build. The pool is
 * unchanged: each slot's worker is rank i + 1, and one link thread carries
 * the slot's two pipes to and from it as MPI messages, task bytes out and
 * results in. A rank's HELLO goes on the reply pipe, and its EXIT on the
 * death pipe, as a thread worker's would (pool_threads.c), so the task
 * handler sees pipes, as with any worker.
 *
 * The lock rule: lnk.lock guards the asks and the stop flag, which the
 * task handler sets and the link thread takes; it is held for nothing
 * else. Every MPI call on rank 0 is the link thread's, but those of the
 * job's end (pool_mpi.c), which runs once no pool exists. */
#include "pool_mpi.h"
#include "pool_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

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
    bool start_sent, end_sent, exited;
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

/* Asks slot i's rank for a worker: the slot took its ask. */
static void start(slot *sl, long i, pool_t *pool)
{
    sl->start_sent = true;
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
    sl->exited = sl->start_sent = false;
    return true;
}

static void *link_main(void *arg)
{
    pool_t *pool = arg;
    unsigned char *piece = xcalloc(PIECE, 1);
    struct pollfd *pfds = xcalloc((size_t)lnk.n + 1, sizeof *pfds);
    unsigned rounds = 0;
    for (;;) {
        bool busy = false, stop, asks = false;
        pthread_mutex_lock(&lnk.lock);
        stop = lnk.stop;
        for (long i = 0; i < lnk.n; i++) {
            slot *sl = &lnk.slots[i];
            if (sl->asked && sl->phase == IDLE) { /* its last worker has ended */
                sl->asked = false;
                sl->phase = STARTING;
                sl->number = sl->ask_number;
                sl->task_rd = sl->ask_task;
                sl->result_wr = sl->ask_result;
            }
            asks |= sl->asked;
        }
        pthread_mutex_unlock(&lnk.lock);
        for (long i = 0; i < lnk.n; i++) {
            slot *sl = &lnk.slots[i];
            if (sl->phase == STARTING && !sl->start_sent) {
                start(sl, i, pool);
                busy = true;
            }
        }

        while (link_receive(pool))
            busy = true;
        busy |= sends_done();
        bool all_idle = true;
        for (long i = 0; i < lnk.n; i++) {
            slot *sl = &lnk.slots[i];
            busy |= pump_tasks(sl, i, piece);
            busy |= pump_results(sl);
            busy |= finish(sl, i, pool);
            all_idle &= sl->phase == IDLE;
        }
        if (stop && all_idle && !asks && !lnk.sends)
            break;
        if (busy) {
            rounds = 0;
            continue;
        }
        if (rounds < SPIN_ROUNDS) {
            mpi_idle(&rounds);
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
    if (mpi_rank < 0) {
        report("pool_create: this program is built for MPI: run it with mpirun, "
               "e.g. mpirun -np 3 PROGRAM, for 2 workers");
        return POOL_EINVAL;
    }
    if (mpi_size < 2) {
        report("pool_create: an MPI pool needs worker ranks: run it with mpirun -np 3 or more");
        return POOL_EINVAL;
    }
    if (config->processes > mpi_size - 1) {
        report("pool_create: %ld workers asked for, but the job has %d worker ranks "
               "(mpirun -np %ld gives %ld)", config->processes, mpi_size - 1,
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
    *processes = config->processes ? config->processes : mpi_size - 1;
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
    if (worker_pipes_make(task, result) != 0)
        return -1;
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
    *w = (worker){.number = number, .spawning = true, .task_fd = task[1], .shm_fd = -1,
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


bool rank_link_busy(void)
{
    pthread_mutex_lock(&lnk.lock);
    bool busy = lnk.pool != NULL;
    pthread_mutex_unlock(&lnk.lock);
    return busy;
}
