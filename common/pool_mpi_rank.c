/* pool_mpi_rank.c - a worker rank of the MPI build: it never runs main().
 * From start-up (pool_mpi.c) it serves rank 0's pools: at START it runs the
 * worker loop (pool_worker.c) on MPI messages, at FINISH it ends. Like a
 * forked worker, it sees none of the parent's state: only what START says.
 * Its stdout and stderr go to memory files, sent to rank 0 as they grow
 * and just before each result, so a task's lines come out in the order
 * they would from a forked worker. */
#include "pool_mpi.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Messages from rank 0 received and not yet used, oldest first. */
typedef struct msg {
    int tag;
    unsigned char *data;
    size_t len, off;
    struct msg *next;
} msg;
static msg *queue, *queue_tail;
static bool end_seen; /* the worker's read took END */

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
        mpi_idle(&rounds);
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

/* What the tasks print goes to memory files on stdout and stderr, which
 * never block a task. A flusher thread sends what is new every
 * FLUSH_MS, so a line shows while its task runs; send_output() sends the
 * rest, under the same lock, before each chunk's results, so rank 0 prints
 * a task's lines before its callback can run. out_lock guards out_sent and
 * the sends of output; the lock rule: it is held for nothing else. */
#define FLUSH_MS 20
static int out_fd[3] = {-1, -1, -1}; /* 1 and 2 when captured */
static off_t out_sent[3];             /* bytes of each already sent */
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t flusher;
static _Atomic bool flusher_stop;

/* Sends the bytes of fd written since the last send; out_lock held. */
static void send_new(int fd)
{
    struct stat st;
    if (out_fd[fd] < 0 || fstat(fd, &st) != 0 || st.st_size <= out_sent[fd])
        return;
    size_t len = (size_t)(st.st_size - out_sent[fd]);
    unsigned char *text = xcalloc(len, 1);
    ssize_t n = pread(fd, text, len, out_sent[fd]);
    if (n > 0) {
        MPI_Send(text, (int)(n < INT_MAX ? n : INT_MAX), MPI_BYTE, 0, fd == 1 ? T_OUT : T_ERR,
                 MPI_COMM_WORLD);
        out_sent[fd] += n;
    }
    free(text);
}

static void send_output(void)
{
    fflush(stdout);
    fflush(stderr);
    pthread_mutex_lock(&out_lock);
    for (int fd = 1; fd <= 2; fd++) {
        send_new(fd);
        /* Emptied between chunks, so the files never grow; a memory file
         * cannot fail these but for a bad descriptor. */
        if (out_fd[fd] >= 0 && (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0))
            out_fd[fd] = -1;
        out_sent[fd] = 0;
    }
    pthread_mutex_unlock(&out_lock);
}

static void *flusher_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&flusher_stop)) {
        struct timespec ts = {0, FLUSH_MS * 1000000L};
        nanosleep(&ts, NULL); /* EINTR only shortens a nap */
        pthread_mutex_lock(&out_lock);
        send_new(1);
        send_new(2);
        pthread_mutex_unlock(&out_lock);
    }
    return NULL;
}

/* If a memory file or the flusher cannot be made, that stream goes
 * straight to mpirun, out of order with rank 0's lines. */
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
    sigset_t all, old; /* signals are the task's business, not the flusher's */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    if (pthread_create(&flusher, NULL, flusher_main, NULL) != 0)
        flusher_stop = true; /* then send_output() alone sends, before results */
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void end_output(void)
{
    send_output();
    if (!atomic_exchange(&flusher_stop, true))
        pthread_join(flusher, NULL); /* fails only for a bad or detached thread */
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
                 "(its build id differs), so it cannot name rank 0's tasks", mpi_rank, host);
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
    worker_io io = {.task_fd = -1, .result_fd = -1, .shm = {.sock = -1}, /* by copy */
                    .read = rank_read, .write = rank_write, .stopped = rank_stopped};
    int status = worker_loop(&config, getpid(), s.traced ? &now : NULL, &io);
    send_output();
    int wait_status = W_EXITCODE(status, 0);
    MPI_Send(&wait_status, 1, MPI_INT, 0, T_EXIT, MPI_COMM_WORLD);
    if (!end_seen) /* rank 0 sends END once it has EXIT */
        drop_to_end();
}

void rank_serve(void)
{
    capture_output();
    for (;;) {
        while (!queue)
            receive_one(true);
        if (queue->tag == T_FINISH) {
            end_output();
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
