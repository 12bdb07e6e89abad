/* pool_worker.c - the worker process: it reads chunks of work from its
 * task pipe, runs the task on each item, and writes the results to its
 * result pipe. It is forked by the fork server and sees none of the
 * parent's state, only its configuration and its two pipes. In a pool of
 * threads the same loop (worker_loop) runs on a thread (pool_threads.c). */
#include "pool_wire.h"

#include <errno.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

/* Who runs the loop: the pid, or a thread worker's tid; one per thread. */
static _Thread_local pid_t self;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A traced worker's note on a task it ran, sent with the chunk's results. */
static void note(pool_buf *notes, uint64_t seq, uint32_t item, int64_t start,
                 const pool_value *result)
{
    task_note n = {.start_ns = start, .end_ns = now_ns(), .item = item};
    char text[TRACE_RESULT_MAX + 1];
    if (repr_bounded(result, text, sizeof text) > TRACE_RESULT_MAX)
        memcpy(text + TRACE_RESULT_MAX - 3, "...", 4); /* cut: it ends in "..." */
    frame_head h = {.magic = FRAME_MAGIC, .len = sizeof n + strlen(text), .seq = seq,
                    .mode = NOTE};
    buf_reserve(notes, sizeof h + h.len);
    memcpy(notes->data + notes->len, &h, sizeof h);
    memcpy(notes->data + notes->len + sizeof h, &n, sizeof n);
    memcpy(notes->data + notes->len + sizeof h + sizeof n, text, strlen(text));
    notes->len += sizeof h + h.len;
}

/* Runs one chunk: decodes each item, calls the task, encodes the result.
 * Traced (now is not NULL), each task is noted: in now while it runs, and
 * in notes once it is done. */
static int run_chunk(const frame_head *h, const unsigned char *body, pool_buf *out,
                     task_now *now, pool_buf *notes, worker_io *io)
{
    char why[256];
    pool_task_fn fn = task_lookup(h->fn, why, sizeof why);
    frame_head reply = {.magic = FRAME_MAGIC, .count = h->count, .seq = h->seq};
    size_t at = out->len;
    buf_reserve(out, sizeof reply); /* the header is filled in at the end */
    out->len += sizeof reply;

    size_t used = 0;
    buf_reserve(out, 9 * (size_t)h->count); /* sized once for numbers, the common case */
    for (uint32_t i = 0; i < h->count; i++) {
        pool_value arg, result;
        if ((io->stop && atomic_load(io->stop)) || (io->stopped && io->stopped(io)))
            return 1; /* a killed thread or rank: the rest of the chunk never starts */
        size_t k = wire_take_number(body + used, h->len - used, &arg);
        if (k == 0)
            k = wire_decode(body + used, h->len - used, &arg, &io->shm);
        if (k == 0)
            return -1;
        used += k;
        int64_t start = 0;
        if (now) {
            start = now_ns();
            now->pid = self; /* only now: a half-made worker of this slot writes nothing */
            now->item = i;
            now->seq = h->seq;
            now->ns = start;
            atomic_store(&now->running, 1);
        }
        if (!fn) /* a task this process cannot name fails, item by item */
            result = pool_error("%s", why);
        else if (h->mode == MAP)
            result = fn(&arg, 1);
        else if (arg.type == POOL_LIST)
            result = fn(arg.as.items, arg.len);
        else
            result = fn(NULL, 0);
        if (nests_deeper(&result, POOL_MAX_DEPTH)) { /* the parent could not decode it */
            pool_value_free(&result);
            result = pool_error("the result nests lists more than %d deep", POOL_MAX_DEPTH);
        }
        if (now) {
            atomic_store(&now->running, 0);
            note(notes, h->seq, i, start, &result);
        }
        if (wire_is_number(&result) && out->cap - out->len >= 9)
            wire_put_number(out, &result);
        else
            wire_encode(out, &result, &io->shm);
        if (result.type >= POOL_STR) /* numbers own no memory */
            pool_value_free(&result);
        if (arg.type >= POOL_STR)
            pool_value_free(&arg);
    }
    reply.len = out->len - at - sizeof reply;
    memcpy(out->data + at, &reply, sizeof reply);
    return 0;
}

/* Reads until in holds one whole message, blocking; false at end of file. */
static bool read_frame(worker_io *io, pool_buf *in, frame_head *h)
{
    size_t need = sizeof *h;
    for (;;) {
        if (in->len >= sizeof *h) {
            memcpy(h, in->data, sizeof *h);
            if (h->magic != FRAME_MAGIC || h->len > MAX_FRAME)
                return true; /* the caller refuses it: read no further */
            need = sizeof *h + h->len;
        }
        if (in->len >= need)
            return true;
        buf_reserve(in, need - in->len > 65536 ? need - in->len : 65536);
        ssize_t n = io->read(io, in->data + in->len, in->cap - in->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        in->len += (size_t)n;
    }
}

/* Adds what was counted to the slot's shared counts, before the call that
 * makes the work visible to the parent. */
static void publish(worker_io *io)
{
    if (io->counts && io->count.syscalls) {
        atomic_fetch_add(&io->counts->calls, io->count.syscalls);
        atomic_fetch_add(&io->counts->writes, io->count.writes);
    }
    io->count = (pool_stats){0};
}

static ssize_t pipe_read(worker_io *io, void *buf, size_t size)
{
    io->count.syscalls++;
    publish(io);
    return read(io->task_fd, buf, size);
}

static int pipe_write(worker_io *io, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        io->count.syscalls++;
        io->count.writes++;
        publish(io);
        ssize_t n = write(io->result_fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

size_t shm_min_of(const pool_config *config)
{
    return config->shm_min ? config->shm_min : POOL_SHM_MIN;
}

worker_io worker_pipes(int task_fd, int result_fd, int shm_fd, size_t shm_min,
                       worker_counts *counts, _Atomic bool *stop)
{
    return (worker_io){.task_fd = task_fd, .result_fd = result_fd, .stop = stop, .counts = counts,
                       .shm = {.sock = shm_fd, .min = shm_min},
                       .read = pipe_read, .write = pipe_write};
}

int worker_loop(const pool_config *config, pid_t me, task_now *now, worker_io *io)
{
    pool_buf in = {0}, out = {0}, notes = {0};
    int spare = io->shm.sock >= 0 ? shm_spare_open() : -1;
    io->shm.count = &io->count;
    io->shm.spare = &spare;
    self = me;
    long chunks = 0;
    frame_head h;
    int status = 0;
    /* A STOP message ends us, and so does end of file: the parent closed
     * its end or died. Anything but a well-formed message is not from the
     * parent. */
    while (read_frame(io, &in, &h)) {
        if (h.magic == FRAME_MAGIC && h.mode == STOP)
            break;
        int rc = -1;
        if (h.magic != FRAME_MAGIC || h.len > MAX_FRAME || h.mode > STARMAP ||
            (rc = run_chunk(&h, in.data + sizeof h, &out, now, &notes, io)) < 0) {
            status = BAD_MESSAGE_STATUS;
            break;
        }
        if (rc > 0) /* stopped: nobody reads the results any more */
            break;
        buf_consume(&in, sizeof h + h.len);

        /* Results go back after every chunk, so a slow task never holds back
         * the results of the quick ones before it. */
        fflush(stdout);
        fflush(stderr);
        if (notes.len) { /* one write: one wakeup of the parent */
            buf_reserve(&notes, out.len);
            memcpy(notes.data + notes.len, out.data, out.len);
            notes.len += out.len;
        }
        pool_buf *send = notes.len ? &notes : &out;
        if (io->write(io, send->data, send->len) != 0)
            break;
        out.len = notes.len = 0;
        if (config->maxtasksperchild && ++chunks >= config->maxtasksperchild)
            break;
    }
    fflush(stdout);
    fflush(stderr);
    free(in.data);
    free(out.data);
    free(notes.data);
    if (spare >= 0)
        close(spare);
    io->shm.spare = NULL;
    return status;
}

void worker_seed(int number)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned long long seed = (unsigned long long)ts.tv_nsec * 6364136223846793005ULL
                            ^ (unsigned long long)getpid() << 32 ^ (unsigned long long)number;
    srand((unsigned)seed);
    srandom((unsigned)(seed >> 7));
    srand48((long)(seed >> 3));
}

void worker_main(const pool_config *config, int number, task_now *now,
                 worker_counts *counts, int task_fd, int result_fd, int shm_fd)
{
    char name[32]; /* the kernel keeps the first 15 bytes */
    snprintf(name, sizeof name, "PoolWorker-%d", number);
    prctl(PR_SET_NAME, name);

    /* The parent's handlers are not ours, and Ctrl-C should stop us too. */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    worker_seed(number);
    if (config->initializer)
        config->initializer(config->initarg);

    worker_io io = worker_pipes(task_fd, result_fd, shm_fd, shm_min_of(config), counts, NULL);
    int status = worker_loop(config, getpid(), now, &io);
    _exit(status); /* not exit(): the parent's atexit handlers are not ours */
}
