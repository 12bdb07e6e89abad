/* pool_wire.h - what every process of the pool shares: the limits, the
 * messages on the pipes and on the fork server's socket, and the small
 * helpers each process uses. The worker and the fork server include only
 * this and pool.h, so the compiler keeps them off the parent's state
 * (struct pool, in pool_internal.h), the boundary lesson 04 draws. */
#ifndef POOL_WIRE_H
#define POOL_WIRE_H

#include "pool.h"

#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

/* ---- Limits ------------------------------------------------------------ */

#define MAX_PROCESSES 1024        /* more workers than this is surely a mistake */
#define MAX_CHUNKSIZE (1L << 24)  /* likewise for items in one message */
#define MAX_FRAME (1ULL << 32)    /* the largest message body accepted */
#define MAX_INFLIGHT POOL_MAX_SENT /* chunks queued at one worker, to hide latency */
#define OUT_LIMIT (1 << 20)       /* unsent bytes at which a worker gets no more */
#define BUF_KEEP (4 << 20)        /* a buffer this big or smaller is kept once empty:
                                     fresh pages cost a fault each */
#define FRAME_MAGIC 0x504f4f4cu   /* "POOL": catches a worker writing garbage */
#define SERVER_MAGIC 0x53525652u  /* "SRVR": the fork server acts on nothing else */
#define SPAWN_RETRY_MS 100        /* wait before asking again for a worker */
#define BAD_MESSAGE_STATUS 70     /* a worker's exit status for a malformed task message */

/* ---- Task and result pipes --------------------------------------------- */

/* STOP is a message of its own: the worker exits on it. Shutdown must not
 * wait for end of file on the task pipe, since a child the program forked
 * may hold a copy of the pipe's other end. */
enum mode { APPLY, MAP, STARMAP, STOP, NOTE };

/* The header of every message on a task or result pipe. */
typedef struct frame_head {
    uint32_t magic;    /* FRAME_MAGIC */
    uint32_t count;    /* values in the body */
    uint64_t len;      /* body bytes */
    uint64_t seq;      /* chunk number, echoed in the reply */
    uint64_t fn;       /* the task's name (task_name()) */
    uint32_t mode;     /* enum mode: how values become arguments */
    uint32_t unused;
} frame_head;

/* A traced worker's note on a task it ran, a message of mode NOTE on the
 * result pipe (seq: the chunk), sent with the chunk's results. Its body
 * goes on with the repr of the result, at most TRACE_RESULT_MAX characters. */
typedef struct task_note {
    int64_t start_ns, end_ns; /* CLOCK_MONOTONIC */
    uint32_t item;            /* within the chunk */
    uint32_t unused;
} task_note;
#define TRACE_RESULT_MAX 40

/* What a traced worker runs now, in memory shared with the parent, one per
 * slot: so a worker that dies mid-task still shows when the task began,
 * at the cost of no write and no wakeup. running is set last. */
typedef struct task_now {
    pid_t pid;
    uint32_t item;
    uint64_t seq;
    int64_t ns;
    _Atomic uint32_t running;
} task_now;

/* What the workers of one slot have spent on the pool's traffic, in memory
 * shared with the parent, which adds it up in pool_get_stats(). A worker
 * counts each call before it makes it, so whatever the parent has seen of
 * a call's effect, it has already seen counted. */
typedef struct worker_counts {
    _Atomic uint64_t calls, writes;
} worker_counts;

/* ---- The fork server's socket and death pipe --------------------------- */

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

/* ---- Values in shared memory (pool_shm.c) ---------------------------- */

/* Wire tags beyond pool_type's: a str or bytes value whose len bytes, and
 * a NUL after them, wait in a sealed memfd on the side socket. The tag is
 * followed by the 4-byte length, as an inline value's is, and no bytes. */
enum { WIRE_SHM_STR = 16, WIRE_SHM_BYTES = 17 };

/* One end of a worker's side socket, as the encoder and decoder use it. */
typedef struct wire_shm {
    int sock;          /* -1: every value crosses through the pipe */
    size_t min;        /* bytes at which a str or bytes value goes by memfd */
    pool_stats *count; /* system calls, and values received, are added here */
    int *spare;        /* the receiving thread's spare descriptor (shm_spare_open()),
                          closed to make room for each memfd; NULL: none */
} wire_shm;

/* pool_encode() and pool_decode() with a side socket. Encoding sends a big
 * value's memfd on the socket at once, so it is there before the message
 * that names it; a value whose memfd cannot be made or sent is encoded
 * inline. Decoding takes the next descriptor for each shared-memory tag; a
 * tag with none waiting, or whose descriptor is not a memfd sealed at
 * exactly len + 1 bytes ending in a NUL, is malformed. With shm NULL, or
 * its sock -1, they are pool_encode() and pool_decode(). */
void wire_encode(pool_buf *buf, const pool_value *value, const wire_shm *shm);
size_t wire_decode(const unsigned char *data, size_t len, pool_value *value,
                   const wire_shm *shm);

/* The wire format's common case, inline for the loops over a million
 * items: an int or a float is its tag and its 8 bytes. wire_put_number
 * needs 9 bytes of room; wire_take_number returns 0 for anything else. */
static inline bool wire_is_number(const pool_value *v)
{
    return v->type == POOL_INT || v->type == POOL_FLOAT;
}

static inline void wire_put_number(pool_buf *buf, const pool_value *v)
{
    unsigned char *at = buf->data + buf->len;
    at[0] = (unsigned char)v->type;
    memcpy(at + 1, &v->as.i, 8); /* the bytes of as.i are those of as.f */
    buf->len += 9;
}

static inline size_t wire_take_number(const unsigned char *data, size_t len, pool_value *v)
{
    if (len < 9 || (data[0] != POOL_INT && data[0] != POOL_FLOAT))
        return 0;
    v->type = (pool_type)data[0];
    v->len = 0;
    memcpy(&v->as.i, data + 1, 8);
    return 9;
}

/* pool_shm.c's parts. shm_send writes len bytes and a NUL into a new memfd,
 * seals it and sends it: 0, or -1 with nothing sent and nothing left open.
 * shm_receive takes the next descriptor and maps it as a private copy: its
 * bytes, or NULL with the descriptor closed either way. shm_release unmaps
 * what shm_receive mapped and returns true; any other pointer, false. */
int shm_send(const wire_shm *shm, const void *data, size_t len);
char *shm_receive(const wire_shm *shm, size_t len);
bool shm_release(void *p);
/* A side socket pair, both ends above stdio and close-on-exec, and
 * nonblocking: a full socket means the value goes through the pipe, and a
 * missing descriptor is malformed rather than a wait. -1 with errno set. */
int shm_socketpair(int sv[2]);
/* A spare descriptor for a thread that receives: -1 if none can be had. */
int shm_spare_open(void);

/* The two processes' entry points; neither returns. */
/* now and slots are NULL when untraced; counts, never. */
void worker_main(const pool_config *config, int number, task_now *now,
                 worker_counts *counts, int task_fd, int result_fd, int shm_fd)
    __attribute__((noreturn));
/* Where a worker's loop reads its task stream and writes its results: the
 * two pipes, or, for a worker rank of the MPI build (pool_mpi.c), MPI
 * messages. read returns as read(2) does, 0 at the end; write returns 0, or
 * -1 when nobody reads the results any more; stopped, if set, is asked
 * before each item whether the rest of the chunk should be skipped. */
typedef struct worker_io {
    int task_fd, result_fd;
    wire_shm shm;        /* the side socket; sock -1 when there is none */
    pool_stats count;    /* calls made and not yet added to counts */
    worker_counts *counts; /* the slot's, shared with the parent; NULL: none */
    _Atomic bool *stop;  /* a thread worker's stop flag, or NULL */
    ssize_t (*read)(struct worker_io *io, void *buf, size_t size);
    int (*write)(struct worker_io *io, const void *data, size_t len);
    bool (*stopped)(struct worker_io *io);
} worker_io;
/* A seed of the worker's own (rand, random and drand48), so workers draw
 * different random numbers. */
void worker_seed(int number);
/* The pipes' worker_io: read(2) on task_fd, write(2) on result_fd, and
 * values of shm_min bytes or more on shm_fd (-1: none). */
worker_io worker_pipes(int task_fd, int result_fd, int shm_fd, size_t shm_min,
                       worker_counts *counts, _Atomic bool *stop);
/* config->shm_min, its 0 read as POOL_SHM_MIN. */
size_t shm_min_of(const pool_config *config);
/* The worker's loop, for worker_main, a thread worker and a worker rank:
 * runs chunks until STOP, end of input, maxtasksperchild or a bad message,
 * and returns the exit status (0, or BAD_MESSAGE_STATUS). me is what a
 * traced task writes in now->pid. With a side socket it keeps a spare
 * descriptor for the memfds it receives while it runs. */
int worker_loop(const pool_config *config, pid_t me, task_now *now, worker_io *io);

/* ---- Naming a task (pool_names.c) ------------------------------------- */

/* A task message names its task: by its address, since a forked worker or
 * a thread shares the parent's addresses; in the MPI build (POOL_MPI), by
 * its offset in the program's executable, TASK_UNNAMED if it lies outside.
 * task_lookup gives the task back, or NULL with the reason in why. */
#define TASK_UNNAMED UINT64_MAX
uint64_t task_name(pool_task_fn fn);
pool_task_fn task_lookup(uint64_t name, char *why, size_t size);
/* The MPI build's helpers: the executable's build id (its length; 0 if it
 * has none); a data pointer's offset in the executable, or TASK_UNNAMED,
 * and back; and, on a worker rank whose executable is not the parent's,
 * the reason every lookup fails from then on (NULL: none). */
size_t image_build_id(unsigned char id[64]);
uint64_t image_data_name(const void *p);
void *image_data_lookup(uint64_t name);
void task_names_refuse(const char *why);
void forkserver_main(const pool_config *config, task_now *slots, worker_counts *counts,
                     long n_slots, int sock, int death_fd, pid_t parent)
    __attribute__((noreturn));

/* The parent's side of the socket (pool_forkserver.c). forkserver_ask
 * sends one request and returns 0, or -1 with errno set. forkserver_receive
 * takes one answer to SPAWN: 1 with both descriptors in fds (above stdio,
 * close-on-exec); 0 when none is there yet (MSG_DONTWAIT in flags); -1 with
 * errno set when it brought no worker (a half-made one exits at end of
 * file); -2 when the server is gone. fds[2], the side socket, is -1 when
 * the process had no room for it: that worker's values cross by pipe. */
int forkserver_ask(int sock, const request *req, int flags);
int forkserver_receive(int sock, int flags, reply *rep, int fds[3]);

/* ---- Helpers every process uses (pool_util.c) -------------------------- */

/* Every system call's result is checked, except these, in every file:
 *   close()              the descriptor is gone even when it fails, and
 *                        there is nothing to retry;
 *   signal(), sigprocmask(), pthread_sigmask(), prctl(), clock_gettime(),
 *   pthread_mutex_init(), pthread_cond_init(), pthread_setname_np()
 *                        fail only on bad arguments, and these are constant;
 *   fcntl(F_SETFL)       cannot fail on a descriptor the pool owns;
 *   kill() of a child the fork server has not reaped cannot fail: the child
 *                        exists, at least as a zombie, until it is reaped. */

/* One line to stderr in one write, so it never mixes with other output. */
void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Out of memory is fatal, as in pool_value.c. */
void *xcalloc(size_t n, size_t size);
void buf_reserve(pool_buf *b, size_t extra);
/* Drops consumed bytes; frees a big buffer once empty. */
void buf_consume(pool_buf *b, size_t used);
/* These retry what a signal interrupts: the program may have handlers
 * installed without SA_RESTART, and the fork server and the workers
 * inherit them. write_all returns 0, or -1 at an error or end of pipe. */
int write_all(int fd, const void *data, size_t len);
ssize_t send_retry(int fd, const void *data, size_t len, int flags);
ssize_t sendmsg_retry(int fd, const struct msghdr *msg, int flags);
ssize_t recvmsg_retry(int fd, struct msghdr *msg, int flags);
pid_t waitpid_retry(pid_t pid, int *status, int flags);
/* Moves a descriptor above 2, keeping it close-on-exec; -1 with errno set
 * if it cannot, the original closed either way. */
int fd_above_stdio(int fd);
/* A pipe whose ends are above stdio and close-on-exec; -1 with errno set. */
int pipe_above_stdio(int p[2]);
/* Moves both ends of a new pipe or socket pair above stdio: 0, or -1 with
 * errno set and neither left open. */
int pair_above_stdio(int p[2]);
/* A worker's task and result pipes, made so; -1 with errno set, and
 * neither left open, if one cannot be made. */
int worker_pipes_make(int task[2], int result[2]);
/* pool_value_repr() for the trace, which keeps a few characters: it stops
 * soon after buf is full, so a return of size or more means it was cut. */
int repr_bounded(const pool_value *value, char *buf, size_t size);
/* Whether value nests lists more than limit deep; it looks no deeper. */
bool nests_deeper(const pool_value *value, int limit);

#endif
