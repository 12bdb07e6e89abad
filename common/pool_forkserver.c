/* pool_forkserver.c - the fork server process, and the parent's side of
 * its socket. The server is forked once by pool_create(), while the caller
 * is the only pool thread, and forks every worker, so no worker is ever
 * forked from a process whose pool threads might hold a lock. It also
 * reaps the workers and sends the parent a death notice for each. It sees
 * none of the parent's state, only the pool's configuration. */
#include "pool_wire.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

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
                         int result_fd, int shm_fd)
{
    reply rep = {.magic = SERVER_MAGIC, .number = req->number, .slot = req->slot,
                 .pid = pid > 0 ? pid : 0, .err = err};
    char space[CMSG_SPACE(3 * sizeof(int))] = {0};
    struct iovec iov = {&rep, sizeof rep};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (pid > 0) { /* pass our ends: the task writer, the result reader, the side socket */
        msg.msg_control = space;
        msg.msg_controllen = sizeof space;
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(3 * sizeof(int));
        int pass[3] = {task_fd, result_fd, shm_fd};
        memcpy(CMSG_DATA(cm), pass, sizeof pass);
    }
    /* If the parent is gone, the next recv says so. */
    while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 && errno == EINTR)
        ;
}

/* Forks one worker; returns its pid, or 0 with *err set. Its pipes are
 * close-on-exec, so a program that a task runs does not hold them open
 * after the worker is gone. */
static pid_t fork_worker(const pool_config *config, int number, task_now *now,
                         worker_counts *counts, const int keep[4],
                         children *ch, int fds[6], int *err)
{
    if (pipe2(fds, O_CLOEXEC) != 0 || pipe2(fds + 2, O_CLOEXEC) != 0 ||
        shm_socketpair(fds + 4) != 0) {
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
        for (int i = 0; i < 4; i++) /* the server's own descriptors */
            if (keep[i] >= 0)
                close(keep[i]);
        close(fds[1]);
        close(fds[2]);
        close(fds[4]);
        free(ch->pids); /* the worker keeps nothing of the server's */
        if (getppid() != server) /* the server died before the prctl */
            _exit(1);            /* (after the free: Valgrind saw it lost) */
        worker_main(config, number, now, counts, fds[0], fds[3], fds[5]);
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
void forkserver_main(const pool_config *config, task_now *slots, worker_counts *counts,
                     long n_slots, int sock, int death_fd, pid_t parent)
{
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
            int fds[6] = {-1, -1, -1, -1, -1, -1}, err = 0;
            bool in_range = req.slot >= 0 && req.slot < n_slots;
            task_now *now = slots && in_range ? &slots[req.slot] : NULL;
            worker_counts *c = in_range ? &counts[req.slot] : NULL;
            pid_t pid = fork_worker(config, req.number, now, c, keep, &ch, fds, &err);
            send_spawned(sock, &req, pid, err, fds[1], fds[2], fds[4]);
            for (int i = 0; i < 6; i++)
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

/* ---- The parent's side ------------------------------------------------- */

int forkserver_ask(int sock, const request *req, int flags)
{
    ssize_t n = send_retry(sock, req, sizeof *req, MSG_NOSIGNAL | flags);
    if (n == (ssize_t)sizeof *req)
        return 0;
    if (n >= 0) /* a SEQPACKET socket sends all or nothing; this is not it */
        errno = EPROTO;
    return -1;
}

int forkserver_receive(int sock, int flags, reply *rep, int fds[3])
{
    char space[CMSG_SPACE(3 * sizeof(int))];
    struct iovec iov = {rep, sizeof *rep};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = space, .msg_controllen = sizeof space};
    *rep = (reply){0};
    fds[0] = fds[1] = fds[2] = -1;
    ssize_t n = recvmsg_retry(sock, &msg, MSG_CMSG_CLOEXEC | flags);
    if (n < 0 && errno == EAGAIN && flags & MSG_DONTWAIT)
        return 0;
    if (n < 0)
        return -1;
    if (n != (ssize_t)sizeof *rep || rep->magic != SERVER_MAGIC) {
        *rep = (reply){0}; /* end of file, or not the server: it is gone */
        errno = EPIPE;
        return -2;
    }
    /* A reply may carry fewer descriptors than sent: the kernel drops what
     * this process has no room for (a low RLIMIT_NOFILE). */
    int got = 0;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
        cm->cmsg_len >= CMSG_LEN(sizeof(int))) {
        got = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        memcpy(fds, CMSG_DATA(cm), (size_t)(got < 3 ? got : 3) * sizeof(int));
    }
    /* Without the side socket a worker still works: its values cross by
     * pipe, and its memfds find nobody at the other end. */
    bool whole = rep->pid > 0 && got >= 2;
    if (whole) {
        fds[0] = fd_above_stdio(fds[0]);
        fds[1] = fd_above_stdio(fds[1]);
        fds[2] = fd_above_stdio(fds[2]);
        if (fds[0] >= 0 && fds[1] >= 0)
            return 1;
    }
    int err = rep->pid <= 0 ? rep->err : whole ? errno : EMFILE;
    for (int i = 0; i < 3; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    fds[0] = fds[1] = fds[2] = -1;
    errno = err ? err : EPIPE;
    return -1;
}
