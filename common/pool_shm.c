/* pool_shm.c - big values in shared memory: the sender writes a value's
 * bytes once into a sealed memfd and passes the descriptor on the side
 * socket; the receiver maps it as a private copy and keeps the mapping in
 * a table, so pool_value_free() knows to unmap it. Every process of the
 * pool, parent and worker alike, uses these. */
#include "pool_wire.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* What the receiver checks before it trusts a memfd's size: nobody can
 * shrink it under our mapping (a SIGBUS), nor change its bytes. */
#define SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL)

/* ---- The table of mappings -------------------------------------------- */

/* The mappings shm_receive() made, by address. A value's bytes are freed
 * by pool_value_free() from any thread, hence the lock; count lets the
 * common case, an empty table, skip it. */
typedef struct mapping {
    void *addr;
    size_t size;
    struct mapping *next;
} mapping;

enum { BUCKETS = 256 };
static mapping *table[BUCKETS];
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic size_t table_count;

/* A fork while another thread holds the lock would leave the child with
 * a lock nobody releases: the fork server is forked from a program whose
 * other pools' threads free values. So a fork waits for the lock. */
static void table_lock_take(void) { pthread_mutex_lock(&table_lock); }
static void table_lock_give(void) { pthread_mutex_unlock(&table_lock); }

__attribute__((constructor)) static void table_lock_at_fork(void)
{
    pthread_atfork(table_lock_take, table_lock_give, table_lock_give); /* fails only for ENOMEM */
}

static size_t bucket(const void *p)
{
    return ((uintptr_t)p >> 12) % BUCKETS; /* mappings start on a page */
}

static void table_add(mapping *m)
{
    pthread_mutex_lock(&table_lock);
    m->next = table[bucket(m->addr)];
    table[bucket(m->addr)] = m;
    atomic_fetch_add(&table_count, 1);
    pthread_mutex_unlock(&table_lock);
}

bool shm_release(void *p)
{
    if (!p || atomic_load(&table_count) == 0)
        return false;
    mapping *found = NULL;
    pthread_mutex_lock(&table_lock);
    for (mapping **at = &table[bucket(p)]; *at; at = &(*at)->next)
        if ((*at)->addr == p) {
            found = *at;
            *at = found->next;
            atomic_fetch_sub(&table_count, 1);
            break;
        }
    pthread_mutex_unlock(&table_lock);
    if (!found)
        return false;
    munmap(found->addr, found->size); /* fails only for a range we never mapped */
    free(found);
    return true;
}

/* ---- Sending ------------------------------------------------------------ */

static void counted(const wire_shm *shm, unsigned writes)
{
    shm->count->syscalls++;
    shm->count->writes += writes;
}

/* Writes len bytes and a NUL, as one value is laid out in memory. */
static int write_value(const wire_shm *shm, int fd, const void *data, size_t len)
{
    static const char nul = '\0';
    struct iovec iov[2] = {{(void *)data, len}, {(void *)&nul, 1}};
    struct iovec *v = iov;
    int n_iov = 2;
    while (n_iov > 0) {
        ssize_t n = writev(fd, v, n_iov);
        counted(shm, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        while (n_iov > 0 && (size_t)n >= v->iov_len) {
            n -= (ssize_t)v->iov_len;
            v++;
            n_iov--;
        }
        if (n_iov > 0) {
            v->iov_base = (char *)v->iov_base + n;
            v->iov_len -= (size_t)n;
        }
    }
    return 0;
}

int shm_send(const wire_shm *shm, const void *data, size_t len)
{
    int fd = memfd_create("pool-value", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    counted(shm, 0);
    fd = fd_above_stdio(fd); /* a printf must never reach it */
    if (fd < 0)
        return -1;
    int rc = -1;
    if (write_value(shm, fd, data, len) == 0) {
        int sealed = fcntl(fd, F_ADD_SEALS, SEALS);
        counted(shm, 0);
        char byte = 0;
        char space[CMSG_SPACE(sizeof(int))] = {0};
        struct iovec iov = {&byte, 1};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = space,
                             .msg_controllen = sizeof space};
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof fd);
        /* Nonblocking: a full socket sends the value through the pipe. */
        if (sealed == 0 && sendmsg_retry(shm->sock, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) == 1)
            rc = 0;
        counted(shm, 0);
        if (rc == 0) {
            shm->count->shm_values++;
            shm->count->shm_bytes += len;
        }
    }
    close(fd); /* the receiver's copy, in flight, keeps the memfd alive */
    counted(shm, 0);
    return rc;
}

/* ---- Receiving ---------------------------------------------------------- */

/* ---- The spare descriptor ----------------------------------------------- */

/* A receiver with no descriptor number free would have the kernel drop the
 * memfd it is sent, and the value would be lost. So each receiving thread
 * keeps a spare descriptor, /dev/null, closes it just before it receives,
 * and opens it again once the memfd is closed. */
int shm_spare_open(void)
{
    return fd_above_stdio(open("/dev/null", O_RDONLY | O_CLOEXEC)); /* -1: no spare */
}

/* The next descriptor on the socket, or -1 when none is waiting. Every
 * other descriptor a message brings is closed: a hostile sender's second
 * memfd must not stay open in the receiver. */
static int take_fd(const wire_shm *shm)
{
    char byte;
    union { /* aligned for cmsghdr; room for more than one, to close them */
        char space[CMSG_SPACE(8 * sizeof(int))];
        struct cmsghdr align;
    } control;
    struct iovec iov = {&byte, 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.space,
                         .msg_controllen = sizeof control.space};
    if (shm->spare && *shm->spare >= 0) { /* a free number for the memfd */
        close(*shm->spare);
        *shm->spare = -1;
    }
    ssize_t n = recvmsg_retry(shm->sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    counted(shm, 0);
    int fd = -1, got = 0;
    for (struct cmsghdr *cm = n >= 0 ? CMSG_FIRSTHDR(&msg) : NULL; cm;
         cm = CMSG_NXTHDR(&msg, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        size_t count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; i++) {
            int one;
            memcpy(&one, CMSG_DATA(cm) + i * sizeof(int), sizeof one);
            if (got++ == 0)
                fd = one;
            else
                close(one);
        }
    }
    /* One byte and exactly one whole descriptor; a truncated message's
     * descriptors were closed by the kernel. */
    if (n != 1 || got != 1 || msg.msg_flags & MSG_CTRUNC) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd_above_stdio(fd);
}

/* Whether fd is a memfd sealed at exactly size bytes. */
static bool sealed_at(const wire_shm *shm, int fd, size_t size)
{
    struct stat st;
    int seals = fcntl(fd, F_GET_SEALS); /* EINVAL for anything but a memfd */
    counted(shm, 0);
    if (seals < 0 || (seals & SEALS) != SEALS)
        return false;
    int rc = fstat(fd, &st);
    counted(shm, 0);
    return rc == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == (uint64_t)size;
}

/* The bytes read into ordinary memory, when no mapping can be made (the
 * process has too many, say): slower, never wrong. */
static char *read_copy(const wire_shm *shm, int fd, size_t size)
{
    char *data = malloc(size);
    size_t got = 0;
    while (data && got < size) {
        ssize_t n = pread(fd, data + got, size - got, (off_t)got);
        counted(shm, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            free(data);
            return NULL;
        }
        got += (size_t)n;
    }
    return data;
}

char *shm_receive(const wire_shm *shm, size_t len)
{
    int fd = take_fd(shm);
    if (fd < 0) {
        if (shm->spare && *shm->spare < 0)
            *shm->spare = shm_spare_open();
        return NULL;
    }
    char *data = NULL;
    size_t size = len + 1; /* the bytes and their NUL */
    if (sealed_at(shm, fd, size)) {
        /* Private: the receiver's writes are its own, as with any value. */
        mapping *m = malloc(sizeof *m);
        void *p = m ? mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0) : MAP_FAILED;
        counted(shm, 0);
        if (p != MAP_FAILED) {
            *m = (mapping){.addr = p, .size = size};
            table_add(m);
            data = p;
        } else {
            free(m);
            data = read_copy(shm, fd, size);
        }
    }
    close(fd);
    counted(shm, 0);
    if (shm->spare && *shm->spare < 0)
        *shm->spare = shm_spare_open();
    if (data && data[len] != '\0') { /* sealed so by a sender that is not ours */
        if (!shm_release(data))
            free(data);
        data = NULL;
    }
    if (data) {
        shm->count->shm_values++;
        shm->count->shm_bytes += len;
    }
    return data;
}

int shm_socketpair(int sv[2])
{
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) != 0)
        return -1;
    return pair_above_stdio(sv);
}
