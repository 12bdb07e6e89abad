/* fault_shm_frames: what a hostile or broken worker could send in place of
 * a big value in shared memory (WIRE_SHM_STR and WIRE_SHM_BYTES in
 * pool_wire.h), fed to wire_decode() through a side socket from
 * shm_socketpair() that the test fills itself: the tag with no socket, no
 * descriptor waiting, a message with no descriptor, a pipe, a regular
 * file, a memfd unsealed or sealed only in part, of the wrong size, not
 * ending in a NUL, two descriptors in one message, a length far beyond the
 * memfd, and a list of two such values with only one descriptor. Each is
 * malformed: decode returns 0 and leaves NONE, takes no more than its
 * descriptor off the socket, and leaves no descriptor or mapping behind.
 * A proper memfd, made by the test or by wire_encode(), decodes to the
 * value, a private mapping counted in the stats, unmapped by
 * pool_value_free(). Then, through a pool, a worker's task puts a pipe, an
 * unsealed memfd or two memfds in one message on its own side socket
 * before its big result's memfd: the task fails as a malformed result, the
 * worker is replaced, and the parent keeps no descriptor of it. */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "fault/fault.h"
#include "pool_wire.h"

#define LEN 8192
#define ALL_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL)

static int sv[2];           /* sv[0]: the decoder's end; sv[1]: the hostile sender's */
static pool_stats counted;
static wire_shm rx;
static int fds_base;

static unsigned char byte_at(size_t i) { return (unsigned char)(i % 251 ? i * 7 + 3 : 0); }

/* A memfd of size bytes: up to LEN bytes of byte_at(), NULs after them,
 * and last as its last byte; sealed so. A longer one has its NUL at LEN,
 * so only its size is wrong. */
static int make_memfd(size_t size, unsigned char last, int seals)
{
    int fd = memfd_create("pool-value", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) {
        CHECK(0, "memfd_create: %s", strerror(errno));
        return -1;
    }
    unsigned char *buf = calloc(1, size ? size : 1);
    for (size_t i = 0; buf && i + 1 < size && i < LEN; i++)
        buf[i] = byte_at(i);
    if (buf && size)
        buf[size - 1] = last;
    CHECK(buf && write(fd, buf, size) == (ssize_t)size, "write to a memfd: %s", strerror(errno));
    free(buf);
    if (seals)
        CHECK(fcntl(fd, F_ADD_SEALS, seals) == 0, "F_ADD_SEALS: %s", strerror(errno));
    return fd;
}

/* One message of one byte on the hostile end, with n descriptors (which
 * the test then closes: the socket holds its own references). */
static void send_fds(const int *fds, int n)
{
    char byte = 0;
    char space[CMSG_SPACE(4 * sizeof(int))] = {0};
    struct iovec iov = {&byte, 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (n > 0) {
        msg.msg_control = space;
        msg.msg_controllen = CMSG_SPACE((size_t)n * sizeof(int));
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN((size_t)n * sizeof(int));
        memcpy(CMSG_DATA(cm), fds, (size_t)n * sizeof(int));
    }
    CHECK(sendmsg(sv[1], &msg, MSG_DONTWAIT) == 1, "sendmsg: %s", strerror(errno));
    for (int i = 0; i < n; i++)
        close(fds[i]);
}

static void send_fd(int fd)
{
    if (fd >= 0)
        send_fds(&fd, 1);
}

/* A value's frame: the tag and a 4-byte length, and nothing after. */
static size_t frame(unsigned char *at, int tag, uint32_t len)
{
    at[0] = (unsigned char)tag;
    memcpy(at + 1, &len, 4);
    return 5;
}

/* Messages still queued on the decoder's end, which are then dropped. */
static int drain(void)
{
    int n = 0;
    for (;;) {
        char byte;
        char space[CMSG_SPACE(4 * sizeof(int))];
        struct iovec iov = {&byte, 1};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = space,
                             .msg_controllen = sizeof space};
        if (recvmsg(sv[0], &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) < 0)
            return n;
        n++;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
            if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
                for (size_t k = 0; k < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); k++) {
                    int fd;
                    memcpy(&fd, CMSG_DATA(cm) + k * sizeof(int), sizeof fd);
                    close(fd);
                }
    }
}

/* Nothing left of the case: no descriptor, no memfd mapping, no message
 * beyond `queued` still on the socket. */
static void nothing_left(const char *what, int queued)
{
    int left = drain();
    CHECK(left == queued, "%s: %d messages left on the socket, expected %d", what, left, queued);
    int fds, maps;
    fu_memfds(getpid(), FU_MEMFD, &fds, &maps);
    CHECK(fds == 0 && maps == 0, "%s: %d memfd descriptors and %d mappings left", what, fds,
          maps);
    int now = fu_count_fds();
    CHECK(now == fds_base, "%s: %d descriptors open, %d before", what, now, fds_base);
    if (now != fds_base) {
        fu_print_fds(stderr);
        for (int fd = 3; fd < 1024; fd++) { /* so one leak does not fail the next case */
            char path[64], target[64];
            snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
            ssize_t k = readlink(path, target, sizeof target - 1);
            if (k > 0 && (target[k] = '\0', strstr(target, FU_MEMFD)))
                close(fd);
        }
    }
}

/* data must be refused, leaving `queued` messages on the socket. */
static void refused(const char *what, const unsigned char *data, size_t len, int queued)
{
    pool_value v;
    memset(&v, 0xa5, sizeof v); /* decode must overwrite it */
    pool_stats before = counted;
    double t0 = fu_now();
    size_t used = wire_decode(data, len, &v, &rx);
    CHECK(used == 0, "%s: decoded as a value of %zu bytes (type %d)", what, used, v.type);
    CHECK(fu_now() - t0 < 1.0, "%s: decode waited %.1f s", what, fu_now() - t0);
    CHECK(v.type == POOL_NONE, "%s: the value left is of type %d, not NONE", what, v.type);
    if (!strstr(what, "list")) /* a list's first value did come, before its second failed */
        CHECK(counted.shm_values == before.shm_values, "%s: counted as a shared-memory value",
              what);
    if (used)
        pool_value_free(&v);
    nothing_left(what, queued);
}

/* One shared-memory frame of LEN bytes, with fd (if not -1) queued. */
static void refused_fd(const char *what, int fd)
{
    send_fd(fd);
    unsigned char buf[8];
    refused(what, buf, frame(buf, WIRE_SHM_BYTES, LEN), 0);
}

/* A proper memfd decodes to the value: the control for every case above. */
static void accepted(const char *what, int tag, int fd)
{
    send_fd(fd);
    unsigned char buf[8];
    size_t n = frame(buf, tag, LEN);
    pool_stats before = counted;
    pool_value v;
    size_t used = wire_decode(buf, n, &v, &rx);
    CHECK(used == 5, "%s: decode returned %zu, not 5", what, used);
    pool_type type = tag == WIRE_SHM_STR ? POOL_STR : POOL_BYTES;
    CHECK(v.type == type && v.len == LEN, "%s: type %d len %u", what, v.type, v.len);
    if (v.type == type && v.len == LEN) {
        int bad = 0;
        for (size_t i = 0; i < LEN; i++)
            bad += v.as.bytes[i] != byte_at(i);
        CHECK(bad == 0 && v.as.bytes[LEN] == 0, "%s: %d bytes differ", what, bad);
        CHECK(fu_memfd_mapping(v.as.bytes, FU_MEMFD) == 'p',
              "%s: the value is not a private mapping of the memfd", what);
        v.as.bytes[0] ^= 1; /* the receiver's own copy */
        CHECK(v.as.bytes[0] == (byte_at(0) ^ 1), "%s: the value is not writable", what);
    }
    CHECK(counted.shm_values == before.shm_values + 1 && counted.shm_bytes == before.shm_bytes + LEN,
          "%s: stats counted %llu values of %llu bytes", what,
          counted.shm_values - before.shm_values, counted.shm_bytes - before.shm_bytes);
    pool_value_free(&v);
    CHECK(v.type == POOL_NONE, "%s: pool_value_free() left type %d", what, v.type);
    nothing_left(what, 0);
}

/* ---- A hostile worker, through a pool ------------------------------------ */

enum { SEND_PIPE, SEND_UNSEALED, SEND_TWO };

/* Its worker's side socket: the one socket a worker holds. */
static int own_socket(void)
{
    for (int fd = 3; fd < 1024; fd++) {
        char path[64], target[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        ssize_t k = readlink(path, target, sizeof target - 1);
        if (k > 0 && (target[k] = '\0', strncmp(target, "socket:", 7) == 0))
            return fd;
    }
    return -1;
}

/* Puts a bad descriptor on its worker's side socket, ahead of the memfd of
 * the big result it then returns. */
static pool_value hostile(const pool_value *args, size_t nargs)
{
    int sock = own_socket();
    if (nargs != 1 || sock < 0)
        return pool_error("no side socket found");
    sv[1] = sock; /* send_fds() sends on sv[1]; this is the worker's copy */
    if (args[0].as.i == SEND_PIPE) {
        int p[2];
        if (pipe(p) != 0)
            return pool_error("pipe: %s", strerror(errno));
        close(p[1]);
        send_fd(p[0]);
    } else if (args[0].as.i == SEND_UNSEALED) {
        send_fd(make_memfd(LEN + 1, 0, 0));
    } else {
        int two[2] = {make_memfd(LEN + 1, 0, ALL_SEALS), make_memfd(LEN + 1, 0, ALL_SEALS)};
        send_fds(two, 2);
    }
    unsigned char *raw = malloc(LEN);
    for (size_t i = 0; raw && i < LEN; i++)
        raw[i] = byte_at(i);
    pool_value out = pool_bytes(raw, LEN);
    free(raw);
    return out;
}

static pool_value echo_len(const pool_value *args, size_t nargs)
{
    return pool_int(nargs ? (long long)args[0].len : -1);
}

/* Each hostile result fails its task as malformed, and the parent keeps
 * nothing of it: the same descriptors once the worker is replaced, no
 * pool-value memfd anywhere. */
static void hostile_workers(void)
{
    static const unsigned char zeros[LEN];
    static const char *names[] = {"a worker sends a pipe", "a worker sends an unsealed memfd",
                                  "a worker sends two memfds in one message"};
    pool_t *pool = fu_pool_open((pool_config){.processes = 1, .shm_min = 4096});
    if (!pool)
        return;
    pool_value out = pool_none();
    CHECK_OK(pool_apply(pool, echo_len, pool_tuple(1, pool_bytes(zeros, LEN)), NULL,
                        &out)); /* the worker is up, and has had a big value */
    pool_value_free(&out);
    int fds = fu_count_fds();
    for (int how = SEND_PIPE; how <= SEND_TWO; how++) {
        pid_t pids[4];
        CHECK_EQ_INT(1, fu_worker_pids(pids, 4));
        int rc = pool_apply(pool, hostile, pool_tuple(1, pool_int(how)), NULL, &out);
        CHECK(rc == POOL_ETASK, "%s: %d (%s) %s", names[how], rc, pool_strerror(rc),
              fu_msg(&out));
        CHECK_STR_CONTAINS(fu_msg(&out), "sent a malformed result");
        pool_value_free(&out);
        pids[1] = pids[0];
        if (rc == POOL_ETASK) /* else it was not killed, and there is no point waiting */
            FU_WAIT_UNTIL(fu_worker_pids(pids + 1, 3) == 1 && pids[1] != pids[0], FU_TIMEOUT);
        CHECK(pids[1] != pids[0], "%s: the worker was not replaced", names[how]);
        fu_check_pool_works(pool, 50, names[how]);
        rc = pool_apply(pool, echo_len, pool_tuple(1, pool_bytes(zeros, LEN)), NULL, &out);
        CHECK(rc == POOL_OK && out.as.i == LEN, "%s: a big value after it: %d (%s)", names[how],
              rc, pool_strerror(rc));
        pool_value_free(&out);
        int now = fu_count_fds(), left = fu_memfds_anywhere(FU_MEMFD, stderr);
        CHECK(now == fds, "%s: the parent has %d descriptors, %d before", names[how], now, fds);
        CHECK(left == 0, "%s: %d descriptors or mappings of %s left", names[how], left, FU_MEMFD);
        if (now != fds)
            fu_print_fds(stderr);
        fds = now; /* one leak is reported once */
    }
    fu_pool_close(pool, "hostile workers");
}

int main(void)
{
    CHECK(shm_socketpair(sv) == 0, "shm_socketpair: %s", strerror(errno));
    if (sv[0] < 0 || sv[1] < 0)
        return check_done("fault_shm_frames");
    CHECK(sv[0] > 2 && sv[1] > 2, "shm_socketpair gave descriptors %d and %d", sv[0], sv[1]);
    CHECK((fcntl(sv[0], F_GETFL) & O_NONBLOCK) && (fcntl(sv[0], F_GETFD) & FD_CLOEXEC),
          "the decoder's end is not nonblocking and close-on-exec");
    rx = (wire_shm){.sock = sv[0], .min = 4096, .count = &counted};
    fds_base = fu_count_fds();
    unsigned char buf[32];
    size_t n = frame(buf, WIRE_SHM_BYTES, LEN);

    /* the controls: a proper memfd is taken, as str and as bytes */
    accepted("a sealed memfd of LEN + 1 bytes, as bytes", WIRE_SHM_BYTES,
             make_memfd(LEN + 1, 0, ALL_SEALS));
    accepted("a sealed memfd of LEN + 1 bytes, as str", WIRE_SHM_STR,
             make_memfd(LEN + 1, 0, ALL_SEALS));

    /* no socket to take a descriptor from */
    pool_value v;
    CHECK(pool_decode(buf, n, &v) == 0 && v.type == POOL_NONE, "pool_decode took the tag");
    CHECK(wire_decode(buf, n, &v, NULL) == 0 && v.type == POOL_NONE,
          "wire_decode without a side socket took the tag");
    wire_shm none = {.sock = -1, .min = 4096, .count = &counted};
    send_fd(make_memfd(LEN + 1, 0, ALL_SEALS)); /* even with one waiting on a socket */
    CHECK(wire_decode(buf, n, &v, &none) == 0 && v.type == POOL_NONE,
          "wire_decode with sock -1 took the tag");
    nothing_left("sock -1", 1);

    refused_fd("no descriptor waiting", -1);
    send_fds(NULL, 0);
    refused("a message with no descriptor", buf, n, 0);
    int p[2];
    CHECK(pipe(p) == 0, "pipe: %s", strerror(errno));
    close(p[1]);
    refused_fd("a pipe", p[0]);
    int file = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (file >= 0) {
        unsigned char *zero = calloc(1, LEN + 1);
        CHECK(zero && write(file, zero, LEN + 1) == LEN + 1, "write: %s", strerror(errno));
        free(zero);
    }
    CHECK(file >= 0, "open(O_TMPFILE): %s", strerror(errno));
    refused_fd("a regular file of LEN + 1 bytes", file);
    refused_fd("an unsealed memfd", make_memfd(LEN + 1, 0, 0));
    refused_fd("a memfd not sealed against writes", make_memfd(LEN + 1, 0, ALL_SEALS & ~F_SEAL_WRITE));
    refused_fd("a memfd not sealed against shrinking",
               make_memfd(LEN + 1, 0, ALL_SEALS & ~F_SEAL_SHRINK));
    refused_fd("a memfd of LEN bytes", make_memfd(LEN, 0, ALL_SEALS));
    refused_fd("a memfd of LEN + 2 bytes", make_memfd(LEN + 2, 0, ALL_SEALS));
    refused_fd("a memfd of 0 bytes", make_memfd(0, 0, ALL_SEALS));
    refused_fd("a memfd whose last byte is no NUL", make_memfd(LEN + 1, 'x', ALL_SEALS));

    send_fd(make_memfd(LEN + 1, 0, ALL_SEALS));
    unsigned char huge[8];
    refused("a length of 2^32 - 1 with a small memfd", huge, frame(huge, WIRE_SHM_STR, UINT32_MAX),
            0);

    /* a list of two, one descriptor: the first value's mapping goes too */
    send_fd(make_memfd(LEN + 1, 0, ALL_SEALS));
    unsigned char list[16] = {POOL_LIST, 2, 0, 0, 0};
    size_t k = 5 + frame(list + 5, WIRE_SHM_BYTES, LEN);
    k += frame(list + k, WIRE_SHM_BYTES, LEN);
    refused("a list of two with one descriptor", list, k, 0);

    /* two descriptors in one message: whatever decode makes of them, both
     * are closed once the value is freed */
    int two[2] = {make_memfd(LEN + 1, 0, ALL_SEALS), make_memfd(LEN + 1, 0, ALL_SEALS)};
    send_fds(two, 2);
    pool_value w;
    size_t used = wire_decode(buf, n, &w, &rx);
    CHECK(used == 0 || used == 5, "two descriptors: decode returned %zu", used);
    pool_value_free(&w);
    nothing_left("two descriptors in one message", 0);

    /* a proper value through wire_encode() and shm_send(), from the other end */
    pool_stats sent = {0};
    wire_shm tx = {.sock = sv[1], .min = 4096, .count = &sent};
    unsigned char *raw = malloc(LEN);
    for (size_t i = 0; raw && i < LEN; i++)
        raw[i] = byte_at(i);
    pool_value big = pool_tuple(2, pool_bytes(raw, LEN), pool_bytes(raw, 4095));
    free(raw);
    pool_buf b = {0};
    wire_encode(&b, &big, &tx);
    CHECK(b.len == 5 + 5 + 5 + 4095, "wire_encode wrote %zu bytes, not a frame of 5 for the big "
          "item and 5 + 4095 for the small one", b.len);
    CHECK(b.len > 5 && b.data[5] == WIRE_SHM_BYTES, "the big item's tag is %d",
          b.len > 5 ? b.data[5] : -1);
    CHECK(sent.shm_values == 1 && sent.shm_bytes == LEN, "the sender counted %llu values of %llu "
          "bytes", sent.shm_values, sent.shm_bytes);
    used = wire_decode(b.data, b.len, &w, &rx);
    CHECK(used == b.len, "decode of wire_encode's bytes returned %zu of %zu", used, b.len);
    pool_buf plain = {0}, back = {0};
    pool_encode(&plain, &big);
    if (used)
        pool_encode(&back, &w);
    CHECK(back.len == plain.len && memcmp(back.data, plain.data, plain.len) == 0,
          "the value decoded is not the value encoded");
    free(plain.data);
    free(back.data);
    free(b.data);
    pool_value_free(&big);
    pool_value_free(&w);
    nothing_left("wire_encode to wire_decode", 0);

    close(sv[0]);
    close(sv[1]);
    hostile_workers();
    return check_done("fault_shm_frames");
}
