/* pool.c - a process pool with result callbacks.
 *
 * Who does what:
 *   - a fork server, forked once by pool_create() while the caller is the
 *     only pool thread, forks every worker, so no worker is ever forked from
 *     a process whose pool threads might hold a lock; it also reaps the
 *     workers and sends the parent a death notice for each;
 *   - each worker reads chunks of work from its own task pipe and writes the
 *     results to its own result pipe, so the parent always knows which
 *     worker holds which task, and a dead worker loses nothing else;
 *   - the task-handler thread in the parent sends chunks, reads results,
 *     and replaces workers that die;
 *   - the result-handler thread runs the callbacks, one at a time, and then
 *     marks the handle ready.
 * One mutex guards the pool's shared state; no thread holds it while a
 * callback runs or while it waits on the kernel (poll, a death notice, the
 * fork server's answer), so a stopped or slow process never stalls a call.
 * Shutdown and the parent's death reach the workers and the fork server as
 * messages and a pidfd, never as end of file alone, which a child the
 * program forked could hide by holding a copy of a descriptor.
 */
#include "pool.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

/* ---- Limits ------------------------------------------------------------ */

#define MAX_PROCESSES 1024        /* more workers than this is surely a mistake */
#define MAX_CHUNKSIZE (1L << 24)  /* likewise for items in one message */
#define MAX_FRAME (1ULL << 32)    /* the largest message body accepted */
#define MAX_INFLIGHT 16           /* chunks queued at one worker, to hide latency */
#define OUT_LIMIT (1 << 20)       /* unsent bytes at which a worker gets no more */
#define FRAME_MAGIC 0x504f4f4cu   /* "POOL": catches a worker writing garbage */
#define SERVER_MAGIC 0x53525652u  /* "SRVR": the fork server acts on nothing else */
#define SPAWN_RETRY_MS 100        /* wait before asking again for a worker */
#define BAD_MESSAGE_STATUS 70     /* a worker's exit status for a malformed task message */

/* ---- Errors ------------------------------------------------------------ */

const char *pool_strerror(int err)
{
    switch (err) {
    case POOL_OK: return "success";
    case POOL_EINVAL: return "invalid argument";
    case POOL_ERUNNING: return "pool is still running";
    case POOL_ENOTRUNNING: return "pool not running";
    case POOL_ETIMEDOUT: return "timed out";
    case POOL_ETASK: return "task failed";
    case POOL_ECALLBACK: return "callback failed";
    case POOL_ETERMINATED: return "terminated";
    case POOL_EDEADLK: return "would deadlock: called from the result-handler thread";
    case POOL_ESYS: return "system call failed";
    default: return "unknown error";
    }
}

/* One line to stderr in one write, so it never mixes with other output. */
static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void report(const char *fmt, ...)
{
    char line[640];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof line - 2)
        n = sizeof line - 2;
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}

/* ---- Data structures --------------------------------------------------- */

/* STOP is a message of its own: the worker exits on it. Shutdown must not
 * wait for end of file on the task pipe, since a child the program forked
 * may hold a copy of the pipe's other end. */
enum mode { APPLY, MAP, STARMAP, STOP };
enum state { RUN, CLOSE, TERMINATE };

/* The header of every message on a task or result pipe. */
typedef struct frame_head {
    uint32_t magic;    /* FRAME_MAGIC */
    uint32_t count;    /* values in the body */
    uint64_t len;      /* body bytes */
    uint64_t seq;      /* chunk number, echoed in the reply */
    uint64_t fn;       /* the task's address: a worker is a fork of us */
    uint32_t mode;     /* enum mode: how values become arguments */
    uint32_t unused;
} frame_head;

/* A run of items of one job, sent to one worker as one message. */
typedef struct chunk {
    struct pool_result *job;
    size_t first, count;  /* items first .. first + count - 1 */
    uint64_t seq;
    uint64_t end;         /* where its message ends in the worker's task stream */
    bool items_dropped;   /* its worker read it all; its items are freed */
    struct chunk *next;
} chunk;

/* A job is one submission; its handle is the job itself. */
struct pool_result {
    pool_t *pool;
    struct pool_result *prev, *next; /* every job not yet freed */
    struct pool_result *next_queued; /* pending queue, then done queue */
    pool_task_fn fn;
    enum mode mode;
    pool_value input;      /* args tuple (apply) or the list of items */
    pool_value output;     /* the value (apply) or the list of results */
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
};

/* The parent's view of one worker; only the task-handler thread uses it. */
typedef struct worker {
    pid_t pid;                /* 0: this slot needs a new worker */
    int number;               /* N of PoolWorker-N */
    int task_fd, result_fd;   /* our ends of its pipes */
    pool_buf out;             /* messages not yet written */
    size_t out_off;           /* bytes of out already written */
    pool_buf in;              /* bytes read, not yet a whole message */
    chunk *head, *tail;       /* chunks sent, oldest first */
    size_t inflight;
    long sent;                /* chunks sent, for maxtasksperchild */
    uint64_t next_seq;
    uint64_t queued, written; /* bytes of task stream made, and written */
    bool eof;                 /* its result pipe is done with; its death is near */
    bool spawning;            /* asked the fork server for it; no answer yet */
    bool kill_pending;        /* a KILL request that found no room on the socket */
    const char *why;          /* why we killed it, for the error message */
} worker;

struct pool {
    pthread_mutex_t lock;
    pthread_cond_t handler_cv; /* done queue grew, or the task handler ended */
    pthread_cond_t ready_cv;   /* a handle became ready, or a thread ended */
    enum state state;
    pool_config config;
    long processes;
    worker *workers;
    struct pollfd *pfds;
    int wake_fd;               /* eventfd that wakes the task handler */
    bool wake_pending;
    pid_t server_pid;
    int server_fd;             /* requests to the fork server */
    int death_fd;              /* its death notices: one per reaped worker */
    int next_number;
    struct timespec spawn_retry_at; /* no new worker is asked for before then */
    const char *late_report;   /* a line to write once the lock is released */
    bool server_gone;          /* its socket ended: the death pipe ends too */
    struct pool_result *jobs;                       /* every job, for destroy */
    struct pool_result *pending, *pending_tail;     /* items not all sent */
    struct pool_result *done_head, *done_tail;      /* for the result handler */
    chunk *retry;              /* chunks a dead worker never started */
    bool io_done;              /* the task handler has ended */
    bool joined;
    pthread_mutex_t join_lock; /* one joiner at a time */
    pthread_t io_thread, handler_thread;
};

/* ---- Small helpers ----------------------------------------------------- */

/* Out of memory is fatal, as in pool_value.c. */
static void *checked(void *p)
{
    if (!p) {
        fputs("pool: out of memory\n", stderr);
        abort();
    }
    return p;
}

static void *xcalloc(size_t n, size_t size)
{
    return checked(calloc(n ? n : 1, size ? size : 1));
}

static void buf_reserve(pool_buf *b, size_t extra)
{
    if (b->len + extra <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra)
        cap *= 2;
    b->data = checked(realloc(b->data, cap));
    b->cap = cap;
}

/* Drops consumed bytes; frees a big buffer once empty, so one 16 MiB message
 * does not pin 16 MiB for the life of the pool. */
static void buf_consume(pool_buf *b, size_t used)
{
    if (used == 0)
        return;
    memmove(b->data, b->data + used, b->len - used);
    b->len -= used;
    if (b->len == 0 && b->cap > OUT_LIMIT) {
        free(b->data);
        *b = (pool_buf){0};
    }
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The blocking calls below are retried when a signal interrupts them: the
 * program may have handlers installed without SA_RESTART, and the fork
 * server and the workers inherit them. */

static ssize_t send_retry(int fd, const void *data, size_t len, int flags)
{
    ssize_t n;
    while ((n = send(fd, data, len, flags)) < 0 && errno == EINTR)
        ;
    return n;
}

static ssize_t recvmsg_retry(int fd, struct msghdr *msg, int flags)
{
    ssize_t n;
    while ((n = recvmsg(fd, msg, flags)) < 0 && errno == EINTR)
        ;
    return n;
}

static pid_t waitpid_retry(pid_t pid, int *status, int flags)
{
    pid_t r;
    while ((r = waitpid(pid, status, flags)) < 0 && errno == EINTR)
        ;
    return r;
}

/* Moves a descriptor of the pool above 2, keeping it close-on-exec. When a
 * program has closed stdin, stdout or stderr, the next descriptor made
 * takes that number, and a printf would then write into the pool's pipes. */
static int fd_above_stdio(int fd)
{
    if (fd < 0 || fd > STDERR_FILENO)
        return fd;
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
    int saved = errno;
    close(fd);
    errno = saved;
    return moved;
}

static void describe_status(int status, char *buf, size_t size)
{
    if (WIFSIGNALED(status))
        snprintf(buf, size, "died from signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else if (WIFEXITED(status))
        snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
    else
        snprintf(buf, size, "stopped (wait status %#x)", (unsigned)status);
}

/* An apply has one task, so it needs no number; a map's items have one. */
static void describe_tasks(const chunk *c, char *buf, size_t size)
{
    if (c->job->mode == APPLY)
        snprintf(buf, size, "the task");
    else if (c->count == 1)
        snprintf(buf, size, "task %zu", c->first);
    else
        snprintf(buf, size, "tasks %zu-%zu", c->first, c->first + c->count - 1);
}

/* Whether value nests lists more than limit deep; it looks no deeper than
 * that, so a value a program built a million lists deep costs no stack. */
static bool nests_deeper(const pool_value *value, int limit)
{
    if (value->type != POOL_LIST)
        return false;
    if (limit == 0)
        return true;
    for (uint32_t i = 0; i < value->len; i++)
        if (nests_deeper(&value->as.items[i], limit - 1))
            return true;
    return false;
}

/* ---- The worker process ------------------------------------------------ */

/* Runs one chunk: decodes each item, calls the task, encodes the result. */
static int run_chunk(const frame_head *h, const unsigned char *body, pool_buf *out)
{
    pool_task_fn fn = (pool_task_fn)(uintptr_t)h->fn;
    frame_head reply = {.magic = FRAME_MAGIC, .count = h->count, .seq = h->seq};
    size_t at = out->len;
    buf_reserve(out, sizeof reply); /* the header is filled in at the end */
    out->len += sizeof reply;

    size_t used = 0;
    for (uint32_t i = 0; i < h->count; i++) {
        pool_value arg, result;
        size_t k = pool_decode(body + used, h->len - used, &arg);
        if (k == 0)
            return -1;
        used += k;
        if (h->mode == MAP)
            result = fn(&arg, 1);
        else if (arg.type == POOL_LIST)
            result = fn(arg.as.items, arg.len);
        else
            result = fn(NULL, 0);
        if (nests_deeper(&result, POOL_MAX_DEPTH)) { /* the parent could not decode it */
            pool_value_free(&result);
            result = pool_error("the result nests lists more than %d deep", POOL_MAX_DEPTH);
        }
        pool_encode(out, &result);
        pool_value_free(&result);
        pool_value_free(&arg);
    }
    reply.len = out->len - at - sizeof reply;
    memcpy(out->data + at, &reply, sizeof reply);
    return 0;
}

/* Reads until in holds one whole message, blocking; false at end of file. */
static bool read_frame(int fd, pool_buf *in, frame_head *h)
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
        ssize_t n = read(fd, in->data + in->len, in->cap - in->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        in->len += (size_t)n;
    }
}

static void worker_main(const pool_config *config, int number, int task_fd, int result_fd)
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

    /* A seed of our own, so workers draw different random numbers. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned long long seed = (unsigned long long)ts.tv_nsec * 6364136223846793005ULL
                            ^ (unsigned long long)getpid() << 32 ^ (unsigned long long)number;
    srand((unsigned)seed);
    srandom((unsigned)(seed >> 7));
    srand48((long)(seed >> 3));

    if (config->initializer)
        config->initializer(config->initarg);

    pool_buf in = {0}, out = {0};
    long chunks = 0;
    frame_head h;
    int status = 0;
    /* A STOP message ends us, and so does end of file: the parent closed
     * its end or died. Anything but a well-formed message is not from the
     * parent. */
    while (read_frame(task_fd, &in, &h)) {
        if (h.magic == FRAME_MAGIC && h.mode == STOP)
            break;
        if (h.magic != FRAME_MAGIC || h.len > MAX_FRAME || h.mode > STARMAP ||
            run_chunk(&h, in.data + sizeof h, &out) != 0) {
            status = BAD_MESSAGE_STATUS;
            break;
        }
        buf_consume(&in, sizeof h + h.len);

        /* Results go back after every chunk, so a slow task never holds back
         * the results of the quick ones before it. */
        fflush(stdout);
        fflush(stderr);
        if (write_all(result_fd, out.data, out.len) != 0)
            break;
        out.len = 0;
        if (config->maxtasksperchild && ++chunks >= config->maxtasksperchild)
            break;
    }
    fflush(stdout);
    fflush(stderr);
    free(in.data);
    free(out.data);
    _exit(status); /* not exit(): the parent's atexit handlers are not ours */
}

/* ---- The fork server --------------------------------------------------- */

/* Requests on the socket. SPAWN is answered with a reply; KILL and QUIT are
 * not, so the parent never waits for the server while it holds its lock. */
enum { SPAWN = 1, KILL, QUIT };
typedef struct request {
    uint32_t magic; /* SERVER_MAGIC */
    int op;
    int number;     /* SPAWN: the new worker's N */
    int slot;       /* SPAWN: echoed in the reply */
    pid_t pid;      /* KILL: which worker */
} request;

/* The answer to SPAWN; a worker's two descriptors come with it. */
typedef struct reply {
    uint32_t magic;
    int number, slot;
    pid_t pid;      /* 0 when the worker could not be made */
    int err;        /* then: the errno of what failed */
} reply;

/* A death notice on the death pipe, sent when the server reaps a worker. */
typedef struct death {
    pid_t pid;
    int status;
} death;

/* The server's own record of the workers it has not reaped, so that KILL
 * never reaches a process that merely reuses a reaped worker's pid. */
typedef struct children {
    pid_t *pids;
    size_t n, cap;
} children;

static bool forget_child(children *ch, pid_t pid)
{
    for (size_t i = 0; i < ch->n; i++)
        if (ch->pids[i] == pid) {
            ch->pids[i] = ch->pids[--ch->n];
            return true;
        }
    return false;
}

static void send_spawned(int sock, const request *req, pid_t pid, int err, int task_fd,
                         int result_fd)
{
    reply rep = {.magic = SERVER_MAGIC, .number = req->number, .slot = req->slot,
                 .pid = pid > 0 ? pid : 0, .err = err};
    char space[CMSG_SPACE(2 * sizeof(int))] = {0};
    struct iovec iov = {&rep, sizeof rep};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (pid > 0) { /* pass our ends: the task writer and the result reader */
        msg.msg_control = space;
        msg.msg_controllen = sizeof space;
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(2 * sizeof(int));
        int pass[2] = {task_fd, result_fd};
        memcpy(CMSG_DATA(cm), pass, sizeof pass);
    }
    /* If the parent is gone, the next recv says so. */
    while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 && errno == EINTR)
        ;
}

/* Forks one worker; returns its pid, or 0 with *err set. Its pipes are
 * close-on-exec, so a program that a task runs does not hold them open
 * after the worker is gone. */
static pid_t fork_worker(const pool_config *config, int number, const int keep[4],
                         children *ch, int fds[4], int *err)
{
    if (pipe2(fds, O_CLOEXEC) != 0 || pipe2(fds + 2, O_CLOEXEC) != 0) {
        *err = errno;
        return 0;
    }
    /* Bigger pipes mean fewer wakeups for big messages; the default size
     * stays if the system says no. */
    fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
    fcntl(fds[3], F_SETPIPE_SZ, 1 << 20);
    pid_t server = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != server) /* the server died before the prctl */
            _exit(1);
        for (int i = 0; i < 4; i++) /* the server's own descriptors */
            if (keep[i] >= 0)
                close(keep[i]);
        close(fds[1]);
        close(fds[2]);
        free(ch->pids); /* the worker keeps nothing of the server's */
        worker_main(config, number, fds[0], fds[3]);
    }
    if (pid < 0) {
        *err = errno;
        return 0;
    }
    if (ch->n == ch->cap) {
        ch->cap = ch->cap ? 2 * ch->cap : 16;
        pid_t *grown = realloc(ch->pids, ch->cap * sizeof *grown);
        if (!grown) { /* no record, no worker */
            kill(pid, SIGKILL);
            waitpid_retry(pid, NULL, 0);
            *err = ENOMEM;
            return 0;
        }
        ch->pids = grown;
    }
    ch->pids[ch->n++] = pid;
    return pid;
}

/* Reaps every worker that has exited, and tells the parent of each. */
static void reap_workers(children *ch, int death_fd)
{
    death d;
    while ((d.pid = waitpid(-1, &d.status, WNOHANG)) > 0) {
        forget_child(ch, d.pid);
        while (write(death_fd, &d, sizeof d) < 0 && errno == EINTR)
            ;
    }
}

/* Leaves the server's descriptors alone above stdio: everything else the
 * program had open is closed, and a closed 0, 1 or 2 is opened on
 * /dev/null, so that no pipe made for a worker takes one of those numbers
 * and a task's printf never writes into it. */
static void server_descriptors(int *sock, int *death_fd)
{
    int lo = *sock < *death_fd ? *sock : *death_fd;
    int hi = *sock < *death_fd ? *death_fd : *sock;
    for (int fd = STDERR_FILENO + 1; fd < hi; fd++)
        if (fd != lo)
            close(fd); /* EBADF for the many that are not open */
    closefrom(hi < STDERR_FILENO ? STDERR_FILENO + 1 : hi + 1);
    *sock = fd_above_stdio(*sock);
    *death_fd = fd_above_stdio(*death_fd);
    for (int fd = 0; fd <= STDERR_FILENO; fd++)
        if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
            _exit(1);
    if (*sock < 0 || *death_fd < 0)
        _exit(1);
}

/* Runs in the fork server, which has one thread and only its own
 * descriptors. It forks workers, kills them on request, reaps them and
 * reports each death. It ends on QUIT, when the parent closes its socket,
 * or when the parent dies, which a pidfd tells even while a child of the
 * program holds a copy of the socket; then it kills and reaps the workers
 * it still has, so none is left for init. */
static void server_main(pool_t *pool, int sock, int death_fd, pid_t parent)
{
    /* Keep only the configuration of our copy of the pool. */
    pool_config config = pool->config;
    free(pool->workers);
    free(pool->pfds);
    free(pool);

    prctl(PR_SET_NAME, "pool-forkserver");
    signal(SIGINT, SIG_IGN);  /* the parent decides when we stop */
    signal(SIGCHLD, SIG_DFL); /* even if the program ignores it: we reap */
    server_descriptors(&sock, &death_fd);

    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    int sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    /* Without pidfds (before Linux 5.3), look at our parent pid twice a second. */
    int parentfd = (int)syscall(SYS_pidfd_open, parent, 0);
    if (sigfd < 0)
        _exit(1);
    int keep[4] = {sock, death_fd, sigfd, parentfd};
    children ch = {0};

    while (getppid() == parent) {
        struct pollfd p[3] = {{.fd = sock, .events = POLLIN},
                              {.fd = sigfd, .events = POLLIN},
                              {.fd = parentfd, .events = POLLIN}};
        if (poll(p, 3, parentfd >= 0 ? -1 : 500) < 0)
            continue; /* EINTR: revents says nothing */
        if (p[2].revents)
            break;
        if (p[1].revents) {
            struct signalfd_siginfo si;
            while (read(sigfd, &si, sizeof si) > 0)
                ;
            reap_workers(&ch, death_fd);
        }
        if (!p[0].revents)
            continue;
        request req;
        ssize_t n = recv(sock, &req, sizeof req, MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            break; /* the parent closed its end */
        if (n != (ssize_t)sizeof req || req.magic != SERVER_MAGIC)
            continue; /* not from the parent: act on nothing else */
        if (req.op == QUIT)
            break;
        if (req.op == KILL && forget_child(&ch, req.pid)) { /* ours, not yet reaped */
            kill(req.pid, SIGKILL);
            ch.pids[ch.n++] = req.pid;
        }
        if (req.op == SPAWN && req.number > 0) {
            int fds[4] = {-1, -1, -1, -1}, err = 0;
            pid_t pid = fork_worker(&config, req.number, keep, &ch, fds, &err);
            send_spawned(sock, &req, pid, err, fds[1], fds[2]);
            for (int i = 0; i < 4; i++)
                if (fds[i] >= 0)
                    close(fds[i]);
        }
    }
    for (size_t i = 0; i < ch.n; i++)
        kill(ch.pids[i], SIGKILL);
    for (size_t i = 0; i < ch.n; i++)
        waitpid_retry(ch.pids[i], NULL, 0);
    free(ch.pids);
    for (int i = 0; i < 4; i++)
        if (keep[i] >= 0)
            close(keep[i]);
    _exit(0);
}

/* Asks the fork server for a worker for slot i; take_worker() takes the
 * answer. Many requests may be in flight: pool_create() asks for all its
 * workers at once. */
static int ask_worker(pool_t *pool, long i, int flags)
{
    worker *w = &pool->workers[i];
    request req = {.magic = SERVER_MAGIC, .op = SPAWN, .number = ++pool->next_number,
                   .slot = (int)i};
    if (send_retry(pool->server_fd, &req, sizeof req, MSG_NOSIGNAL | flags) !=
        (ssize_t)sizeof req)
        return -1;
    *w = (worker){.number = req.number, .spawning = true, .task_fd = -1, .result_fd = -1};
    return 0;
}

/* Has the fork server kill a worker; its death notice follows. A request
 * the socket has no room for is sent again by the task handler's loop. */
static void send_kill(pool_t *pool, pid_t pid, bool *pending)
{
    request req = {.magic = SERVER_MAGIC, .op = KILL, .pid = pid};
    *pending = send_retry(pool->server_fd, &req, sizeof req, MSG_NOSIGNAL | MSG_DONTWAIT) !=
               (ssize_t)sizeof req;
}

static void kill_worker(pool_t *pool, worker *w, const char *why)
{
    send_kill(pool, w->pid, &w->kill_pending);
    if (!w->why)
        w->why = why;
    w->eof = true; /* nothing it sends from now on counts */
}

/* Takes one answer of the fork server into the slot that asked for it.
 * Returns 1 when it took a worker, 0 when no answer is there yet (only
 * with MSG_DONTWAIT), and -1 with errno set when the answer brought no
 * worker: the slot may then ask again. */
static int take_worker(pool_t *pool, int flags)
{
    reply rep;
    char space[CMSG_SPACE(2 * sizeof(int))];
    struct iovec iov = {&rep, sizeof rep};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = space, .msg_controllen = sizeof space};
    ssize_t n = recvmsg_retry(pool->server_fd, &msg, MSG_CMSG_CLOEXEC | flags);
    if (n < 0 && errno == EAGAIN && flags & MSG_DONTWAIT)
        return 0;
    if (n < 0)
        return -1;
    if (n != (ssize_t)sizeof rep || rep.magic != SERVER_MAGIC || rep.slot < 0 ||
        rep.slot >= pool->processes) {
        pool->server_gone = true; /* end of file, or not the server */
        errno = EPIPE;
        return -1;
    }
    /* A reply may carry fewer descriptors than sent: the kernel drops what
     * this process has no room for (a low RLIMIT_NOFILE). */
    int fds[2] = {-1, -1}, got = 0;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
        cm->cmsg_len >= CMSG_LEN(sizeof(int))) {
        got = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        memcpy(fds, CMSG_DATA(cm), (size_t)(got < 2 ? got : 2) * sizeof(int));
    }
    worker *w = &pool->workers[rep.slot];
    bool whole = rep.pid > 0 && got == 2 && !(msg.msg_flags & MSG_CTRUNC);
    int task_fd = whole ? fd_above_stdio(fds[0]) : fds[0];
    int result_fd = whole ? fd_above_stdio(fds[1]) : fds[1];
    if (!w->spawning || rep.number != w->number || !whole || task_fd < 0 || result_fd < 0) {
        int err = rep.pid <= 0 ? rep.err : whole ? errno : EMFILE;
        if (task_fd >= 0)
            close(task_fd);
        if (result_fd >= 0)
            close(result_fd);
        bool unsent;
        if (rep.pid > 0) /* it would exit at end of file; this is sooner */
            send_kill(pool, rep.pid, &unsent);
        if (w->spawning && rep.number == w->number)
            w->spawning = false;
        errno = err ? err : EPIPE;
        return -1;
    }
    *w = (worker){.pid = rep.pid, .number = rep.number, .task_fd = task_fd,
                  .result_fd = result_fd};
    fcntl(w->task_fd, F_SETFL, O_NONBLOCK);
    fcntl(w->result_fd, F_SETFL, O_NONBLOCK);
    return 1;
}

/* ---- Jobs -------------------------------------------------------------- */

/* Both take the pool lock. */

/* Hands a finished job to the result handler. A job that failed early may
 * still be on the pending queue or have chunks waiting to be retried: those
 * go first, so nothing points at the job once its handle is freed. */
static void job_finish(pool_t *pool, struct pool_result *job)
{
    if (job->next_item < job->n_items) {
        struct pool_result **pp = &pool->pending;
        pool->pending_tail = NULL;
        while (*pp) {
            if (*pp == job) {
                *pp = job->next_queued;
            } else {
                pool->pending_tail = *pp;
                pp = &(*pp)->next_queued;
            }
        }
    }
    for (chunk **cp = &pool->retry; *cp && job->status != POOL_OK;) {
        chunk *c = *cp;
        if (c->job == job) {
            *cp = c->next;
            free(c);
        } else {
            cp = &c->next;
        }
    }
    job->done = true;
    job->next_queued = NULL;
    if (pool->done_tail)
        pool->done_tail->next_queued = job;
    else
        pool->done_head = job;
    pool->done_tail = job;
    pthread_cond_signal(&pool->handler_cv);
}

/* Records the first failure of a job; later ones add nothing. */
static void job_fail(struct pool_result *job, int status, pool_value error)
{
    if (job->status == POOL_OK) {
        job->status = status;
        job->error = error;
    } else {
        pool_value_free(&error);
    }
}

/* A job is finished when nothing is in flight and it failed or got all. */
static void job_check(pool_t *pool, struct pool_result *job)
{
    if (!job->done && job->inflight == 0 &&
        (job->status != POOL_OK || job->items_done == job->n_items))
        job_finish(pool, job);
}

enum { UNSEEN_LINE = 512 }; /* room for the line of an unseen failure */

/* A task's failure that nobody will ever see: no error callback got it,
 * and neither get nor successful revealed it. A terminated job is the
 * program's own doing, and a failed callback was reported when it failed.
 * Fills line and returns true when one is owed; the caller writes it once
 * the lock is released, since a write to stderr can block. */
static bool job_unseen_failure(const struct pool_result *job, char line[UNSEEN_LINE])
{
    if (job->status != POOL_ETASK || job->opts.error_callback || job->retrieved)
        return false;
    const char *what = job->error.type == POOL_ERROR ? job->error.as.s
                                                     : pool_strerror(job->status);
    /* The message is cut, not the end, so the line always says why it is there. */
    snprintf(line, UNSEEN_LINE, "pool: %.400s; its error was never retrieved", what);
    return true;
}

static void job_free(pool_t *pool, struct pool_result *job)
{
    if (job->prev)
        job->prev->next = job->next;
    else
        pool->jobs = job->next;
    if (job->next)
        job->next->prev = job->prev;
    pool_value_free(&job->input);
    pool_value_free(&job->output);
    pool_value_free(&job->error);
    free(job);
}

/* ---- The task handler: sending work ------------------------------------ */

static void wake(pool_t *pool)
{
    if (!pool->wake_pending) {
        pool->wake_pending = true;
        uint64_t one = 1;
        ssize_t n = write(pool->wake_fd, &one, sizeof one);
        (void)n;
    }
}

/* The live worker with the fewest chunks in flight that can take one more. */
static worker *least_busy(pool_t *pool)
{
    worker *best = NULL;
    for (long i = 0; i < pool->processes; i++) {
        worker *w = &pool->workers[i];
        if (w->pid <= 0 || w->inflight >= MAX_INFLIGHT ||
            w->out.len - w->out_off >= OUT_LIMIT ||
            (pool->config.maxtasksperchild && w->sent >= pool->config.maxtasksperchild))
            continue;
        if (!best || w->inflight < best->inflight)
            best = w;
    }
    return best;
}

/* The next chunk to send: one a dead worker never started, else the next
 * run of items of the oldest pending job. */
static chunk *next_chunk(pool_t *pool)
{
    chunk *c = pool->retry;
    if (c) {
        pool->retry = c->next;
        return c;
    }
    struct pool_result *job = pool->pending;
    if (!job)
        return NULL;
    c = xcalloc(1, sizeof *c);
    c->job = job;
    c->first = job->next_item;
    c->count = job->n_items - job->next_item;
    if (c->count > job->chunksize)
        c->count = job->chunksize;
    job->next_item += c->count;
    if (job->next_item == job->n_items) {
        pool->pending = job->next_queued;
        if (!pool->pending)
            pool->pending_tail = NULL;
    }
    return c;
}

static void send_chunk(worker *w, chunk *c)
{
    struct pool_result *job = c->job;
    frame_head h = {.magic = FRAME_MAGIC, .count = (uint32_t)c->count,
                    .seq = w->next_seq++, .fn = (uint64_t)(uintptr_t)job->fn,
                    .mode = job->mode};
    if (w->out_off) {
        buf_consume(&w->out, w->out_off);
        w->out_off = 0;
    }
    size_t at = w->out.len;
    buf_reserve(&w->out, sizeof h);
    w->out.len += sizeof h;
    if (job->mode == APPLY)
        pool_encode(&w->out, &job->input);
    else
        for (size_t i = 0; i < c->count; i++)
            pool_encode(&w->out, &job->input.as.items[c->first + i]);
    h.len = w->out.len - at - sizeof h;
    memcpy(w->out.data + at, &h, sizeof h);

    w->queued += sizeof h + h.len;
    c->end = w->queued;
    c->seq = h.seq;
    c->next = NULL;
    if (w->tail)
        w->tail->next = c;
    else
        w->head = c;
    w->tail = c;
    w->inflight++;
    w->sent++;
    job->inflight++;
}

static void dispatch(pool_t *pool)
{
    worker *w;
    while ((pool->retry || pool->pending) && (w = least_busy(pool))) {
        chunk *c = next_chunk(pool);
        if (c->job->status != POOL_OK) { /* a failed job gets no more work */
            struct pool_result *job = c->job;
            free(c);
            job_check(pool, job);
            continue;
        }
        send_chunk(w, c);
    }
}

/* ---- The task handler: results and deaths ------------------------------ */

/* Whether the worker can have started chunk c: only if it read all of it.
 * Bytes still in the pipe were never read; a worker killed while idle has
 * read nothing we sent after its death, so those chunks are not its fault. */
static bool maybe_started(worker *w, const chunk *c)
{
    int unread = 0;
    if (ioctl(w->task_fd, FIONREAD, &unread) != 0)
        unread = 0;
    return c->end <= w->written - (uint64_t)unread;
}

/* Puts chunks back at the front of the retry list, oldest first. */
static void requeue(pool_t *pool, chunk *list)
{
    if (!list)
        return;
    chunk *last = list;
    for (chunk *c = list; c; c = c->next) {
        c->job->inflight--;
        last = c;
    }
    last->next = pool->retry;
    pool->retry = list;
}

/* Forgets a dead and reaped worker: the chunk it was running fails, saying
 * why, and the ones it never started go back to be sent again. */
static void worker_lost(pool_t *pool, worker *w, int status)
{
    chunk *c = w->head;
    if (c && maybe_started(w, c)) {
        char how[160], tasks[64];
        if (w->why)
            snprintf(how, sizeof how, "%s", w->why);
        else
            describe_status(status, how, sizeof how);
        describe_tasks(c, tasks, sizeof tasks);
        if (pool->state == TERMINATE && c->job->mode == APPLY)
            job_fail(c->job, POOL_ETERMINATED, pool_error("terminated"));
        else if (pool->state == TERMINATE)
            job_fail(c->job, POOL_ETERMINATED, pool_error("%s terminated", tasks));
        else
            job_fail(c->job, POOL_ETASK, pool_error("PoolWorker-%d (pid %d) %s while running %s",
                                                    w->number, (int)w->pid, how, tasks));
        c->job->inflight--;
        job_check(pool, c->job);
        w->head = c->next;
        free(c);
    }
    requeue(pool, w->head);
    if (w->task_fd >= 0)
        close(w->task_fd);
    close(w->result_fd);
    free(w->out.data);
    free(w->in.data);
    *w = (worker){.task_fd = -1, .result_fd = -1};
}

/* A result's header means that its worker read the whole chunk: it will
 * never be sent again, so its items are freed now, before the result
 * arrives, and a big value is not held twice. */
static void drop_items(chunk *c)
{
    struct pool_result *job = c->job;
    if (c->items_dropped)
        return;
    c->items_dropped = true;
    if (job->mode == APPLY)
        pool_value_free(&job->input);
    else
        for (size_t i = 0; i < c->count; i++)
            pool_value_free(&job->input.as.items[c->first + i]);
}

/* Takes one result message: checks it, stores the values, and returns
 * false if it is malformed. */
static bool take_results(pool_t *pool, worker *w, const frame_head *h, const unsigned char *body)
{
    chunk *c = w->head;
    if (!c || h->seq != c->seq || h->count != c->count)
        return false;
    struct pool_result *job = c->job;

    /* Decode straight into the chunk's slots of the output, which are NONE
     * until now; a bad message puts them back, so it changes nothing. */
    pool_value *slots = job->mode == APPLY ? &job->output : job->output.as.items + c->first;
    size_t used = 0, n = 0;
    for (; n < c->count; n++) {
        size_t k = pool_decode(body + used, h->len - used, &slots[n]);
        if (k == 0)
            break;
        used += k;
    }
    if (n < c->count || used != h->len) {
        for (size_t i = 0; i < n; i++)
            pool_value_free(&slots[i]);
        return false;
    }

    for (size_t i = 0; i < c->count; i++) {
        char task[32] = "the task";
        if (job->mode != APPLY)
            snprintf(task, sizeof task, "task %zu", c->first + i);
        if (slots[i].type == POOL_ERROR)
            job_fail(job, POOL_ETASK, pool_error("%s failed in PoolWorker-%d (pid %d): %s", task,
                                                 w->number, (int)w->pid, slots[i].as.s));
        if (job->status != POOL_OK) /* a failed job keeps no more results */
            pool_value_free(&slots[i]);
    }
    job->items_done += c->count;
    job->inflight--;
    w->head = c->next;
    if (!w->head)
        w->tail = NULL;
    w->inflight--;
    free(c);
    job_check(pool, job);
    return true;
}

/* Reads what a worker sent, until the pipe is empty. End of file is not
 * the end of the worker: a process a task started may hold the pipe open,
 * so only the fork server's death notice counts. */
static void read_worker(pool_t *pool, worker *w)
{
    while (!w->eof) {
        buf_reserve(&w->in, 65536);
        ssize_t n = read(w->result_fd, w->in.data + w->in.len, w->in.cap - w->in.len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            w->eof = true;
            return;
        }
        w->in.len += (size_t)n;

        size_t used = 0;
        frame_head h;
        while (w->in.len - used >= sizeof h) {
            memcpy(&h, w->in.data + used, sizeof h);
            bool whole = h.magic == FRAME_MAGIC && h.len <= MAX_FRAME &&
                         w->in.len - used - sizeof h >= h.len;
            if (h.magic == FRAME_MAGIC && h.len <= MAX_FRAME && w->head &&
                h.seq == w->head->seq)
                drop_items(w->head);
            if (h.magic == FRAME_MAGIC && h.len <= MAX_FRAME && !whole) {
                buf_reserve(&w->in, sizeof h + h.len); /* room for the rest */
                break;
            }
            if (!whole || !take_results(pool, w, &h, w->in.data + used + sizeof h)) {
                kill_worker(pool, w, "sent a malformed result");
                return;
            }
            used += sizeof h + h.len;
        }
        buf_consume(&w->in, used);
    }
}

static void write_worker(worker *w)
{
    while (w->out_off < w->out.len) {
        ssize_t n = write(w->task_fd, w->out.data + w->out_off, w->out.len - w->out_off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* full, or the worker died: poll tells us which */
        w->out_off += (size_t)n;
        w->written += (size_t)n;
    }
    w->out.len = w->out_off = 0;
    if (w->out.cap > OUT_LIMIT) { /* a big message's copy is not kept */
        free(w->out.data);
        w->out = (pool_buf){0};
    }
}

/* ---- The task handler: the loop ---------------------------------------- */

static bool work_left(pool_t *pool)
{
    if (pool->pending || pool->retry)
        return true;
    for (long i = 0; i < pool->processes; i++)
        if (pool->workers[i].inflight)
            return true;
    return false;
}

/* Writes the line left for later, if any; called without the lock. The
 * task-handler thread alone sets late_report and calls this. */
static void write_late_report(pool_t *pool)
{
    const char *line = pool->late_report;
    pool->late_report = NULL;
    if (line)
        report("%s", line);
}

/* Takes the fork server's death notices that have come; never blocks.
 * What a worker wrote before it died is read before its death counts. */
static void take_deaths(pool_t *pool)
{
    death d;
    ssize_t n;
    while ((n = read(pool->death_fd, &d, sizeof d)) == (ssize_t)sizeof d ||
           (n < 0 && errno == EINTR)) {
        for (long i = 0; n > 0 && i < pool->processes; i++) {
            worker *w = &pool->workers[i];
            if (w->pid == d.pid) {
                read_worker(pool, w);
                worker_lost(pool, w, d.status);
            }
        }
    }
    if (n != 0)
        return;
    /* End of file: something killed the fork server. Its workers die with
     * it and none can be replaced, so the pool ends as if terminated. */
    if (pool->state != TERMINATE)
        pool->late_report = "pool: the fork server died; the pool is terminated";
    pool->state = TERMINATE;
    for (long i = 0; i < pool->processes; i++)
        if (pool->workers[i].pid > 0)
            worker_lost(pool, &pool->workers[i], 0);
}

static long live_workers(pool_t *pool)
{
    long n = 0;
    for (long i = 0; i < pool->processes; i++)
        n += pool->workers[i].pid > 0;
    return n;
}

/* Sends again the KILL requests that found the socket full. */
static void resend_kills(pool_t *pool)
{
    for (long i = 0; i < pool->processes; i++) {
        worker *w = &pool->workers[i];
        if (w->pid > 0 && w->kill_pending)
            send_kill(pool, w->pid, &w->kill_pending);
    }
}

/* Waits until every worker's death notice is taken. The lock is released
 * while it waits, so no other thread waits on a stopped or slow worker. */
static void await_deaths(pool_t *pool)
{
    while (live_workers(pool)) {
        resend_kills(pool);
        struct pollfd p = {.fd = pool->death_fd, .events = POLLIN};
        pthread_mutex_unlock(&pool->lock);
        write_late_report(pool);
        poll(&p, 1, SPAWN_RETRY_MS); /* EINTR or a timeout: look again */
        pthread_mutex_lock(&pool->lock);
        take_deaths(pool);
    }
}

/* Kills every worker and fails every unfinished job with "terminated". */
static void terminate_all(pool_t *pool)
{
    for (long i = 0; i < pool->processes; i++)
        if (pool->workers[i].pid > 0)
            kill_worker(pool, &pool->workers[i], "was terminated");
    await_deaths(pool);
    for (struct pool_result *job = pool->jobs; job; job = job->next) {
        if (!job->done) {
            job_fail(job, POOL_ETERMINATED, pool_error("terminated"));
            job->inflight = 0;
            job_check(pool, job);
        }
    }
    for (chunk *c = pool->retry, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    pool->retry = NULL;
    pool->pending = pool->pending_tail = NULL;
}

/* Sends every worker a STOP message, so they exit side by side, then waits
 * for their death notices. Nothing is queued for them: no work is left.
 * A worker whose pipe has no room for it is killed instead. */
static void stop_workers(pool_t *pool)
{
    frame_head stop = {.magic = FRAME_MAGIC, .mode = STOP};
    for (long i = 0; i < pool->processes; i++) {
        worker *w = &pool->workers[i];
        if (w->pid > 0 && !w->eof) {
            ssize_t n;
            while ((n = write(w->task_fd, &stop, sizeof stop)) < 0 && errno == EINTR)
                ;
            if (n != (ssize_t)sizeof stop)
                kill_worker(pool, w, "was stopped");
        }
    }
    await_deaths(pool);
}

/* Whether the time ts has come; with a nonzero ms, sets ts that far ahead. */
static bool time_reached(struct timespec *ts, long ms)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    bool reached = now.tv_sec > ts->tv_sec ||
                   (now.tv_sec == ts->tv_sec && now.tv_nsec >= ts->tv_nsec);
    if (ms) {
        long long ns = now.tv_nsec + ms * 1000000LL;
        ts->tv_sec = now.tv_sec + (time_t)(ns / 1000000000);
        ts->tv_nsec = (long)(ns % 1000000000);
    }
    return reached;
}

/* Asks for a worker for every empty slot. The answers come through the
 * poll loop, so the lock is never held while the server forks. */
static int ask_for_workers(pool_t *pool)
{
    bool failed = false;
    if (!time_reached(&pool->spawn_retry_at, 0))
        return SPAWN_RETRY_MS;
    for (long i = 0; i < pool->processes; i++) {
        worker *w = &pool->workers[i];
        if (w->pid <= 0 && !w->spawning && ask_worker(pool, i, MSG_DONTWAIT) != 0)
            failed = true;
    }
    if (failed)
        time_reached(&pool->spawn_retry_at, SPAWN_RETRY_MS);
    return failed ? SPAWN_RETRY_MS : -1;
}

static void take_workers(pool_t *pool)
{
    int rc;
    while (!pool->server_gone && (rc = take_worker(pool, MSG_DONTWAIT)) != 0)
        if (rc < 0) /* no worker this time: ask again a little later */
            time_reached(&pool->spawn_retry_at, SPAWN_RETRY_MS);
}

static void *task_handler(void *arg)
{
    pool_t *pool = arg;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        if (pool->state == TERMINATE) {
            terminate_all(pool);
            break;
        }
        if (pool->state == CLOSE && !work_left(pool)) {
            stop_workers(pool);
            break;
        }
        int timeout = ask_for_workers(pool);
        resend_kills(pool);
        dispatch(pool);
        /* dispatch() may have dropped a failed job's last chunks: a closed
         * pool is then done, and no event would wake the poll below. */
        if (pool->state == CLOSE && !work_left(pool))
            continue;

        /* p[0] wakes us, p[1] brings deaths, p[2] new workers, then two per
         * worker. */
        struct pollfd *p = pool->pfds;
        p[0] = (struct pollfd){.fd = pool->wake_fd, .events = POLLIN};
        p[1] = (struct pollfd){.fd = pool->death_fd, .events = POLLIN};
        p[2] = (struct pollfd){.fd = pool->server_gone ? -1 : pool->server_fd, .events = POLLIN};
        for (long i = 0; i < pool->processes; i++) {
            worker *w = &pool->workers[i];
            bool reading = w->pid > 0 && !w->eof;
            bool writing = w->pid > 0 && w->out_off < w->out.len;
            p[3 + 2 * i] = (struct pollfd){.fd = reading ? w->result_fd : -1, .events = POLLIN};
            p[4 + 2 * i] = (struct pollfd){.fd = writing ? w->task_fd : -1, .events = POLLOUT};
        }
        pthread_mutex_unlock(&pool->lock);
        write_late_report(pool);
        if (poll(p, (nfds_t)(3 + 2 * pool->processes), timeout) < 0)
            for (long i = 0; i < 3 + 2 * pool->processes; i++)
                p[i].revents = 0; /* EINTR: nothing to take; loop again */
        pthread_mutex_lock(&pool->lock);

        if (p[0].revents) {
            uint64_t n;
            ssize_t r = read(pool->wake_fd, &n, sizeof n);
            (void)r; /* nonblocking: empty or not, the wakeup is taken */
            pool->wake_pending = false;
        }
        for (long i = 0; i < pool->processes; i++) {
            worker *w = &pool->workers[i];
            if (p[4 + 2 * i].revents && w->pid > 0)
                write_worker(w);
            if (p[3 + 2 * i].revents && w->pid > 0)
                read_worker(pool, w);
        }
        if (p[2].revents)
            take_workers(pool);
        if (p[1].revents)
            take_deaths(pool);
    }
    /* Every worker is gone: the fork server may exit now, while the
     * callbacks finish, rather than in pool_join(). QUIT, not end of file,
     * since a child the program forked may hold a copy of our socket. */
    pool->io_done = true;
    pthread_cond_signal(&pool->handler_cv);
    pthread_cond_broadcast(&pool->ready_cv);
    pthread_mutex_unlock(&pool->lock);
    write_late_report(pool);
    /* Only this thread uses server_fd, so no lock is held while it waits. */
    request quit = {.magic = SERVER_MAGIC, .op = QUIT};
    send_retry(pool->server_fd, &quit, sizeof quit, MSG_NOSIGNAL);
    close(pool->server_fd);
    pool->server_fd = -1;
    return NULL;
}

/* ---- The result handler: callbacks ------------------------------------- */

/* Runs a callback outside the lock; a failure is reported and kept. */
static void run_callback(struct pool_result *job, pool_callback_fn cb,
                         const pool_value *arg, const char *which)
{
    pool_value r = cb(arg, job->opts.user_data);
    if (r.type == POOL_ERROR) {
        report("pool: %s failed: %s", which, r.as.s);
        pool_value_free(&job->error);
        job->error = r;
        job->status = POOL_ECALLBACK;
    } else {
        pool_value_free(&r);
    }
}

/* The thread a pool's result handler runs on knows its pool: a thread id
 * is not enough, since glibc gives a joined thread's id to the next thread
 * made, and that thread would then be taken for the handler. */
static _Thread_local const pool_t *handler_of;

static void *result_handler(void *arg)
{
    pool_t *pool = arg;
    handler_of = pool;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (!pool->done_head && !pool->io_done)
            pthread_cond_wait(&pool->handler_cv, &pool->lock);
        struct pool_result *job = pool->done_head;
        if (!job)
            break;
        pool->done_head = job->next_queued;
        if (!pool->done_head)
            pool->done_tail = NULL;
        pthread_mutex_unlock(&pool->lock);

        /* Until ready is set, only this thread touches the job. */
        if (job->status == POOL_OK && job->opts.callback)
            run_callback(job, job->opts.callback, &job->output, "callback");
        else if (job->status != POOL_OK && job->opts.error_callback)
            run_callback(job, job->opts.error_callback, &job->error, "error callback");

        char line[UNSEEN_LINE];
        bool unseen = false;
        pthread_mutex_lock(&pool->lock);
        job->ready = true;
        pthread_cond_broadcast(&pool->ready_cv);
        if (job->released) {
            unseen = job_unseen_failure(job, line);
            job_free(pool, job);
        }
        if (unseen) {
            pthread_mutex_unlock(&pool->lock);
            report("%s", line);
            pthread_mutex_lock(&pool->lock);
        }
    }
    pthread_cond_broadcast(&pool->ready_cv);
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

static bool on_handler_thread(const pool_t *pool)
{
    return handler_of == pool;
}

/* ---- Creating the pool ------------------------------------------------- */

/* Starts a pool thread with every signal blocked, so signals go to the
 * program's own threads, and a write to a dead worker's pipe gives EPIPE. */
static int start_thread(pthread_t *t, void *(*fn)(void *), pool_t *pool, const char *name)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(t, NULL, fn, pool);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc == 0)
        pthread_setname_np(*t, name);
    return rc;
}

/* Frees what pool_create() made in this process, once no pool thread runs. */
static void pool_free(pool_t *pool)
{
    if (pool->death_fd >= 0)
        close(pool->death_fd);
    if (pool->wake_fd >= 0)
        close(pool->wake_fd);
    pthread_mutex_destroy(&pool->lock);
    pthread_mutex_destroy(&pool->join_lock);
    pthread_cond_destroy(&pool->handler_cv);
    pthread_cond_destroy(&pool->ready_cv);
    free(pool->workers);
    free(pool->pfds);
    free(pool);
}

/* Undoes a pool_create() that failed: the fork server kills and reaps
 * every worker it made, taken or not, before it exits. Keeps errno. */
static int create_failed(pool_t *pool)
{
    int saved = errno ? errno : EIO; /* no pool thread runs here */
    if (pool->server_fd >= 0) {
        request quit = {.magic = SERVER_MAGIC, .op = QUIT};
        send_retry(pool->server_fd, &quit, sizeof quit, MSG_NOSIGNAL);
        close(pool->server_fd);
    }
    if (pool->server_pid > 0)
        waitpid_retry(pool->server_pid, NULL, 0);
    for (long i = 0; i < pool->processes; i++) {
        worker *w = &pool->workers[i];
        if (w->pid > 0) {
            close(w->task_fd);
            close(w->result_fd);
        }
    }
    pool_free(pool);
    errno = saved;
    return POOL_ESYS;
}

int pool_create(pool_t **out, const pool_config *config)
{
    pool_config cfg = config ? *config : (pool_config){0};
    if (!out || cfg.processes < 0 || cfg.processes > MAX_PROCESSES || cfg.maxtasksperchild < 0)
        return POOL_EINVAL;
    *out = NULL;

    pool_t *pool = xcalloc(1, sizeof *pool);
    pool->config = cfg;
    pool->processes = cfg.processes ? cfg.processes : sysconf(_SC_NPROCESSORS_ONLN);
    if (pool->processes < 1)
        pool->processes = 1;
    pool->workers = xcalloc((size_t)pool->processes, sizeof *pool->workers);
    pool->pfds = xcalloc((size_t)(3 + 2 * pool->processes), sizeof *pool->pfds);
    pthread_mutex_init(&pool->lock, NULL);
    pthread_mutex_init(&pool->join_lock, NULL);
    pthread_cond_init(&pool->handler_cv, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&pool->ready_cv, &ca);
    pthread_condattr_destroy(&ca);

    /* Every descriptor goes above stdio, even when the program closed it. */
    int sv[2] = {-1, -1}, dp[2] = {-1, -1};
    pool->server_fd = pool->death_fd = -1;
    errno = 0;
    pool->wake_fd = fd_above_stdio(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (pool->wake_fd < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        return create_failed(pool);
    pool->server_fd = sv[0] = fd_above_stdio(sv[0]);
    sv[1] = fd_above_stdio(sv[1]);
    if (sv[0] < 0 || sv[1] < 0 || pipe2(dp, O_CLOEXEC) != 0) {
        if (sv[1] >= 0)
            close(sv[1]);
        return create_failed(pool);
    }
    pool->death_fd = dp[0] = fd_above_stdio(dp[0]);
    dp[1] = fd_above_stdio(dp[1]);
    if (dp[0] < 0 || dp[1] < 0) {
        close(sv[1]);
        if (dp[1] >= 0)
            close(dp[1]);
        return create_failed(pool);
    }
    fcntl(pool->death_fd, F_SETFL, O_NONBLOCK);

    fflush(NULL); /* or the server and every worker would print it again */
    pid_t parent = getpid();
    pool->server_pid = fork();
    if (pool->server_pid == 0) {
        close(sv[0]);
        close(dp[0]);
        server_main(pool, sv[1], dp[1], parent);
    }
    int saved = errno;
    close(sv[1]);
    close(dp[1]);
    errno = saved;
    if (pool->server_pid < 0)
        return create_failed(pool);

    /* Here the answers are awaited; the task handler takes later ones in
     * its poll loop. */
    for (long i = 0; i < pool->processes; i++)
        if (ask_worker(pool, i, 0) != 0)
            return create_failed(pool);
    for (long i = 0; i < pool->processes; i++)
        if (take_worker(pool, 0) != 1)
            return create_failed(pool);
    int rc = start_thread(&pool->io_thread, task_handler, pool, "task-handler");
    if (rc != 0) {
        errno = rc;
        return create_failed(pool);
    }
    rc = start_thread(&pool->handler_thread, result_handler, pool, "result-handler");
    if (rc != 0) {
        pool_terminate(pool);
        pthread_join(pool->io_thread, NULL);
        errno = rc;
        return create_failed(pool);
    }
    *out = pool;
    return POOL_OK;
}

long pool_processes(const pool_t *pool)
{
    return pool ? pool->processes : POOL_EINVAL;
}

/* ---- Submitting -------------------------------------------------------- */

static int submit(pool_t *pool, pool_task_fn fn, enum mode mode, pool_value input,
                  const pool_opts *opts, pool_result **result)
{
    pool_opts o = opts ? *opts : (pool_opts){0};
    if (result)
        *result = NULL;
    bool ok = pool && fn && result && o.chunksize >= 0 && o.chunksize <= MAX_CHUNKSIZE;
    if (mode == APPLY)
        ok = ok && (input.type == POOL_LIST || input.type == POOL_NONE);
    else
        ok = ok && input.type == POOL_LIST;
    for (uint32_t i = 0; ok && mode == STARMAP && i < input.len; i++)
        ok = input.as.items[i].type == POOL_LIST;
    /* What a worker gets must decode: an apply's tuple, or each item. */
    if (ok && mode == APPLY)
        ok = !nests_deeper(&input, POOL_MAX_DEPTH);
    for (uint32_t i = 0; ok && mode != APPLY && i < input.len; i++)
        ok = !nests_deeper(&input.as.items[i], POOL_MAX_DEPTH);
    if (!ok) {
        pool_value_free(&input);
        return POOL_EINVAL;
    }

    struct pool_result *job = xcalloc(1, sizeof *job);
    job->pool = pool;
    job->fn = fn;
    job->mode = mode;
    job->input = input;
    job->opts = o;
    job->n_items = mode == APPLY ? 1 : input.len;
    if (mode != APPLY)
        job->output = pool_list(job->n_items);
    job->chunksize = (size_t)o.chunksize;
    if (job->chunksize == 0) { /* Python's default: four chunks per worker */
        size_t per = 4 * (size_t)pool->processes;
        job->chunksize = (job->n_items + per - 1) / per;
        if (job->chunksize == 0)
            job->chunksize = 1;
    }

    pthread_mutex_lock(&pool->lock);
    if (pool->state != RUN) {
        pthread_mutex_unlock(&pool->lock);
        pool_value_free(&job->input);
        pool_value_free(&job->output);
        free(job);
        return POOL_ENOTRUNNING;
    }
    job->next = pool->jobs;
    if (pool->jobs)
        pool->jobs->prev = job;
    pool->jobs = job;
    if (job->n_items == 0) {
        job_finish(pool, job); /* an empty map is done at once */
    } else {
        if (pool->pending_tail)
            pool->pending_tail->next_queued = job;
        else
            pool->pending = job;
        pool->pending_tail = job;
        wake(pool);
    }
    pthread_mutex_unlock(&pool->lock);
    *result = job;
    return POOL_OK;
}

int pool_apply_async(pool_t *pool, pool_task_fn fn, pool_value args,
                     const pool_opts *opts, pool_result **result)
{
    return submit(pool, fn, APPLY, args, opts, result);
}

int pool_map_async(pool_t *pool, pool_task_fn fn, pool_value items,
                   const pool_opts *opts, pool_result **result)
{
    return submit(pool, fn, MAP, items, opts, result);
}

int pool_starmap_async(pool_t *pool, pool_task_fn fn, pool_value items,
                       const pool_opts *opts, pool_result **result)
{
    return submit(pool, fn, STARMAP, items, opts, result);
}

/* The blocking forms: submit, wait, and move the outcome to the caller. */
static int blocking(pool_t *pool, pool_task_fn fn, enum mode mode, pool_value input,
                    const pool_opts *opts, pool_value *out)
{
    if (out)
        *out = pool_none();
    if (pool && on_handler_thread(pool)) {
        pool_value_free(&input);
        return POOL_EDEADLK;
    }
    if (!out) {
        pool_value_free(&input);
        return POOL_EINVAL;
    }
    pool_result *r;
    int rc = submit(pool, fn, mode, input, opts, &r);
    if (rc != POOL_OK)
        return rc;
    pool_result_wait(r, POOL_FOREVER);
    pthread_mutex_lock(&pool->lock);
    rc = r->status;
    r->retrieved = true; /* the caller gets the error in *out */
    if (rc == POOL_OK) {
        *out = r->output;
        r->output = pool_none();
    } else {
        *out = r->error;
        r->error = pool_none();
    }
    pthread_mutex_unlock(&pool->lock);
    pool_result_release(r);
    return rc;
}

int pool_apply(pool_t *pool, pool_task_fn fn, pool_value args,
               const pool_opts *opts, pool_value *out)
{
    return blocking(pool, fn, APPLY, args, opts, out);
}

int pool_map(pool_t *pool, pool_task_fn fn, pool_value items,
             const pool_opts *opts, pool_value *out)
{
    return blocking(pool, fn, MAP, items, opts, out);
}

int pool_starmap(pool_t *pool, pool_task_fn fn, pool_value items,
                 const pool_opts *opts, pool_value *out)
{
    return blocking(pool, fn, STARMAP, items, opts, out);
}

/* ---- Closing, terminating, joining ------------------------------------- */

int pool_close(pool_t *pool)
{
    if (!pool)
        return POOL_EINVAL;
    pthread_mutex_lock(&pool->lock);
    if (pool->state == RUN) {
        pool->state = CLOSE;
        wake(pool);
    }
    pthread_mutex_unlock(&pool->lock);
    return POOL_OK;
}

int pool_terminate(pool_t *pool)
{
    if (!pool)
        return POOL_EINVAL;
    pthread_mutex_lock(&pool->lock);
    pool->state = TERMINATE;
    wake(pool);
    while (!pool->io_done) /* workers are gone when this returns */
        pthread_cond_wait(&pool->ready_cv, &pool->lock);
    pthread_mutex_unlock(&pool->lock);
    return POOL_OK;
}

int pool_join(pool_t *pool)
{
    if (!pool)
        return POOL_EINVAL;
    if (on_handler_thread(pool))
        return POOL_EDEADLK;
    pthread_mutex_lock(&pool->lock);
    enum state state = pool->state;
    pthread_mutex_unlock(&pool->lock);
    if (state == RUN)
        return POOL_ERUNNING;

    pthread_mutex_lock(&pool->join_lock);
    if (!pool->joined) {
        pthread_join(pool->io_thread, NULL);
        pthread_join(pool->handler_thread, NULL);
        while (waitpid(pool->server_pid, NULL, 0) < 0 && errno == EINTR)
            ;
        pool->joined = true;
    }
    pthread_mutex_unlock(&pool->join_lock);
    return POOL_OK;
}

void pool_destroy(pool_t *pool)
{
    if (!pool)
        return;
    if (on_handler_thread(pool)) {
        report("pool: pool_destroy called from a callback; ignored");
        return;
    }
    if (!pool->joined) {
        pool_terminate(pool);
        pool_join(pool);
    }
    /* No pool thread is left, so the lock is not needed. */
    while (pool->jobs) {
        char line[UNSEEN_LINE];
        if (job_unseen_failure(pool->jobs, line))
            report("%s", line);
        job_free(pool, pool->jobs);
    }
    pool_free(pool);
}

/* ---- Handles ----------------------------------------------------------- */

int pool_result_wait(pool_result *result, double timeout)
{
    if (!result)
        return POOL_EINVAL;
    pool_t *pool = result->pool;
    pthread_mutex_lock(&pool->lock);
    if (!result->ready && on_handler_thread(pool)) {
        pthread_mutex_unlock(&pool->lock);
        return POOL_EDEADLK;
    }
    if (timeout > 1e9) /* about 30 years: the same as forever */
        timeout = POOL_FOREVER;
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    if (timeout >= 0) {
        long long ns = deadline.tv_nsec + (long long)((timeout - (long long)timeout) * 1e9);
        deadline.tv_sec += (time_t)timeout + ns / 1000000000;
        deadline.tv_nsec = ns % 1000000000;
    }
    int rc = 0;
    while (!result->ready && rc != ETIMEDOUT) {
        if (timeout < 0)
            pthread_cond_wait(&pool->ready_cv, &pool->lock);
        else
            rc = pthread_cond_timedwait(&pool->ready_cv, &pool->lock, &deadline);
    }
    bool ready = result->ready;
    pthread_mutex_unlock(&pool->lock);
    return ready ? POOL_OK : POOL_ETIMEDOUT;
}

int pool_result_get(pool_result *result, double timeout, const pool_value **value)
{
    if (!result || !value)
        return POOL_EINVAL;
    int rc = pool_result_wait(result, timeout);
    if (rc != POOL_OK)
        return rc;
    pthread_mutex_lock(&result->pool->lock);
    rc = result->status;
    *value = rc == POOL_OK ? &result->output : &result->error;
    result->retrieved = true;
    pthread_mutex_unlock(&result->pool->lock);
    return rc;
}

bool pool_result_ready(pool_result *result)
{
    if (!result)
        return false;
    pthread_mutex_lock(&result->pool->lock);
    bool ready = result->ready;
    pthread_mutex_unlock(&result->pool->lock);
    return ready;
}

bool pool_result_successful(pool_result *result)
{
    if (!result)
        return false;
    pthread_mutex_lock(&result->pool->lock);
    bool ok = result->ready && result->status == POOL_OK;
    if (result->ready) /* before then, false says nothing about the outcome */
        result->retrieved = true;
    pthread_mutex_unlock(&result->pool->lock);
    return ok;
}

void pool_result_release(pool_result *result)
{
    if (!result)
        return;
    pool_t *pool = result->pool;
    char line[UNSEEN_LINE];
    bool unseen = false;
    pthread_mutex_lock(&pool->lock);
    result->released = true;
    if (result->ready) {
        unseen = job_unseen_failure(result, line);
        job_free(pool, result);
    }
    pthread_mutex_unlock(&pool->lock);
    if (unseen)
        report("%s", line);
}
