/* pool_util.c - small helpers that every process of the pool uses: the
 * one-line report, memory and buffers, system calls retried after a
 * signal, descriptors kept above stdio, and the depth check of values. */
#include "pool_wire.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void report(const char *fmt, ...)
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
    (void)w; /* with stderr gone or full, there is nowhere to say so */
}

/* Out of memory is fatal, as in pool_value.c. */
static void *checked(void *p)
{
    if (!p) {
        fputs("pool: out of memory\n", stderr);
        abort();
    }
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    return checked(calloc(n ? n : 1, size ? size : 1));
}

void buf_reserve(pool_buf *b, size_t extra)
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
void buf_consume(pool_buf *b, size_t used)
{
    if (used == 0)
        return;
    memmove(b->data, b->data + used, b->len - used);
    b->len -= used;
    if (b->len == 0 && b->cap > BUF_KEEP) {
        free(b->data);
        *b = (pool_buf){0};
    }
}

int write_all(int fd, const void *data, size_t len)
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

ssize_t send_retry(int fd, const void *data, size_t len, int flags)
{
    ssize_t n;
    while ((n = send(fd, data, len, flags)) < 0 && errno == EINTR)
        ;
    return n;
}

ssize_t sendmsg_retry(int fd, const struct msghdr *msg, int flags)
{
    ssize_t n;
    while ((n = sendmsg(fd, msg, flags)) < 0 && errno == EINTR)
        ;
    return n;
}

ssize_t recvmsg_retry(int fd, struct msghdr *msg, int flags)
{
    ssize_t n;
    while ((n = recvmsg(fd, msg, flags)) < 0 && errno == EINTR)
        ;
    return n;
}

pid_t waitpid_retry(pid_t pid, int *status, int flags)
{
    pid_t r;
    while ((r = waitpid(pid, status, flags)) < 0 && errno == EINTR)
        ;
    return r;
}

/* Moves a descriptor of the pool above 2, keeping it close-on-exec. When a
 * program has closed stdin, stdout or stderr, the next descriptor made
 * takes that number, and a printf would then write into the pool's pipes. */
int fd_above_stdio(int fd)
{
    if (fd < 0 || fd > STDERR_FILENO)
        return fd;
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
    int saved = errno;
    close(fd);
    errno = saved;
    return moved;
}

int pipe_above_stdio(int p[2])
{
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    return pair_above_stdio(p);
}

int pair_above_stdio(int p[2])
{
    p[0] = fd_above_stdio(p[0]);
    p[1] = fd_above_stdio(p[1]);
    if (p[0] >= 0 && p[1] >= 0)
        return 0;
    int saved = errno;
    if (p[0] >= 0)
        close(p[0]);
    if (p[1] >= 0)
        close(p[1]);
    errno = saved;
    return -1;
}

int worker_pipes_make(int task[2], int result[2])
{
    if (pipe_above_stdio(task) != 0)
        return -1;
    if (pipe_above_stdio(result) == 0)
        return 0;
    int saved = errno;
    close(task[0]);
    close(task[1]);
    errno = saved;
    return -1;
}

/* It looks no deeper than limit, so a very deep value costs no stack. */
bool nests_deeper(const pool_value *value, int limit)
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
