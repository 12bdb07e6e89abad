/* decode_fuzz.c - libFuzzer harness for pool_decode() and wire_decode(),
 * the parsers of every byte a worker sends back to the parent.
 *
 * An input is one byte that says what waits on the side socket, then the
 * wire bytes. Mode 0 is pool_decode() alone, with no socket. Modes 1-7 are
 * wire_decode() with a side socket from shm_socketpair() that the harness
 * fills first, one message per shared-memory tag (WIRE_SHM_STR/BYTES) it
 * finds walking the input as the decoder would: 1 nothing; 2 a proper
 * sealed memfd of len + 1 bytes ending in a NUL; 3 one of len + 2 bytes;
 * 4 an unsealed one; 5 a pipe; 6 proper ones but one fewer than the tags;
 * 7 proper ones but the last without its NUL; 8 two proper ones in each
 * message.
 *
 * For any input it asserts:
 *   - decode returns 0 (malformed) and leaves the value NONE, or returns a
 *     length no larger than the input;
 *   - the wire format is canonical: encoding the decoded value gives back
 *     exactly the bytes decode consumed, and decoding those gives the same
 *     length again; with shared memory, where every str or bytes value the
 *     input sent by memfd is at least as long as every one it sent inline,
 *     wire_encode() with that threshold gives back the bytes too, and its
 *     memfds decode to the same value;
 *   - no strict prefix of those bytes decodes (a value knows its own end);
 *   - pool_value_copy() encodes to the same bytes;
 *   - pool_value_repr() is snprintf-like: the length it returns is the
 *     length it writes given room, a short buffer gets a prefix of it, and
 *     it writes no raw NUL or control byte;
 *   - every float's repr reads back to the same double (NaN excepted);
 *   - with a side socket: a value that decodes has taken exactly one
 *     descriptor per shared-memory tag, and once it is freed and the
 *     socket drained, the process has no more descriptors and no more
 *     memfd mappings than before;
 * and, through AddressSanitizer, that nothing reads or writes out of bounds
 * or leaks. Built and run by `make fuzz` (mk/fuzz.mk). */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pool_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                           \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "decode_fuzz: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                            \
        }                                                                       \
    } while (0)

enum { MODES = 9, MAX_TAGS = 8, MAX_SHM_LEN = 1 << 16 };
enum { NO_SOCKET, NOTHING, PROPER, WRONG_SIZE, UNSEALED, A_PIPE, ONE_SHORT, NO_NUL, TWO_IN_ONE };
#define SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL)

static void check_floats(const pool_value *v)
{
    if (v->type == POOL_FLOAT && !isnan(v->as.f)) {
        char buf[64];
        int n = pool_float_repr(v->as.f, buf, sizeof buf);
        REQUIRE(n > 0 && (size_t)n < sizeof buf);
        double back = strtod(buf, NULL);
        REQUIRE(memcmp(&back, &v->as.f, sizeof back) == 0 || (back == 0 && v->as.f == 0 &&
                                                              signbit(back) == signbit(v->as.f)));
    } else if (v->type == POOL_LIST) {
        for (uint32_t i = 0; i < v->len; i++)
            check_floats(&v->as.items[i]);
    }
}

/* ---- The input's shared-memory tags, found as the decoder finds them ---- */

typedef struct walk {
    uint32_t shm_len[MAX_TAGS]; /* the tags' lengths, in order */
    int tags;                   /* all of them, even past MAX_TAGS */
    uint64_t min_shm;           /* the shortest tagged; UINT64_MAX if none */
    uint64_t max_inline;        /* the longest inline str or bytes; 0 if none */
} walk;

/* The bytes one value takes, or 0 where the decoder would stop. */
static size_t walk_value(const uint8_t *d, size_t len, int depth, walk *w)
{
    uint32_t n;
    if (len < 1)
        return 0;
    switch (d[0]) {
    case POOL_NONE:
        return 1;
    case POOL_INT:
    case POOL_FLOAT:
        return len >= 9 ? 9 : 0;
    case POOL_STR:
    case POOL_BYTES:
    case POOL_ERROR:
        if (len < 5)
            return 0;
        memcpy(&n, d + 1, 4);
        if (n > len - 5)
            return 0;
        if (d[0] != POOL_ERROR && n > w->max_inline)
            w->max_inline = n;
        return 5 + (size_t)n;
    case WIRE_SHM_STR:
    case WIRE_SHM_BYTES:
        if (len < 5)
            return 0;
        memcpy(&n, d + 1, 4);
        if (w->tags < MAX_TAGS)
            w->shm_len[w->tags] = n;
        w->tags++;
        if (n < w->min_shm)
            w->min_shm = n;
        return 5;
    case POOL_LIST: {
        if (len < 5 || depth >= POOL_MAX_DEPTH)
            return 0;
        memcpy(&n, d + 1, 4);
        size_t used = 5;
        if (n > len - used)
            return 0;
        for (uint32_t i = 0; i < n; i++) {
            size_t k = walk_value(d + used, len - used, depth + 1, w);
            if (k == 0)
                return 0;
            used += k;
        }
        return used;
    }
    default:
        return 0;
    }
}

/* ---- The side socket ---------------------------------------------------- */

static int sv[2] = {-1, -1}; /* sv[0]: the decoder's; sv[1]: what the "worker" sends on */
static int echo_sv[2] = {-1, -1}; /* for wire_encode's memfds and their decoding */
static int fds_at_start = -1;

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n - 1;
}

static int count_memfd_maps(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    int n = 0;
    while (f && fgets(line, sizeof line, f))
        n += strstr(line, "memfd:") != NULL;
    if (f)
        fclose(f);
    return n;
}

/* One message of one byte with n descriptors, which are then closed here. */
static void send_fds(int sock, const int *fds, int n)
{
    char byte = 0, space[CMSG_SPACE(2 * sizeof(int))] = {0};
    struct iovec iov = {&byte, 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = space,
                         .msg_controllen = CMSG_SPACE((size_t)n * sizeof(int))};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN((size_t)n * sizeof(int));
    memcpy(CMSG_DATA(cm), fds, (size_t)n * sizeof(int));
    REQUIRE(sendmsg(sock, &msg, MSG_DONTWAIT) == 1);
    for (int i = 0; i < n; i++)
        close(fds[i]);
}

/* A memfd of size bytes of a fixed pattern, the last one last. */
static int make_memfd(size_t size, char last, bool seal)
{
    int fd = memfd_create("pool-value", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    REQUIRE(fd >= 0);
    if (size) {
        REQUIRE(ftruncate(fd, (off_t)size) == 0);
        char head[64];
        for (size_t i = 0; i < sizeof head; i++)
            head[i] = (char)('a' + i % 26);
        size_t k = size - 1 < sizeof head ? size - 1 : sizeof head;
        REQUIRE(pwrite(fd, head, k, 0) == (ssize_t)k);
        REQUIRE(pwrite(fd, &last, 1, (off_t)size - 1) == 1);
    }
    if (seal)
        REQUIRE(fcntl(fd, F_ADD_SEALS, SEALS) == 0);
    return fd;
}

/* Queues what the mode says for each tag; returns how many messages. */
static int fill(int mode, const walk *w)
{
    int n = w->tags < MAX_TAGS ? w->tags : MAX_TAGS, sent = 0;
    if (mode == ONE_SHORT)
        n--;
    for (int i = 0; i < n && mode != NOTHING; i++) {
        size_t size = (size_t)w->shm_len[i] + 1;
        if (size > MAX_SHM_LEN)
            continue; /* no memfd that big, just to fuzz: that tag finds the next one */
        int fd[2];
        if (mode == A_PIPE) {
            int p[2];
            REQUIRE(pipe(p) == 0);
            close(p[1]);
            fd[0] = p[0];
        } else {
            fd[0] = make_memfd(mode == WRONG_SIZE ? size + 1 : size,
                               mode == NO_NUL && i == n - 1 ? 'x' : '\0', mode != UNSEALED);
        }
        if (mode == TWO_IN_ONE)
            fd[1] = make_memfd(size, '\0', true);
        send_fds(sv[1], fd, mode == TWO_IN_ONE ? 2 : 1);
        sent++;
    }
    return sent;
}

/* Takes every message still queued on sock, closing what came with it. */
static int drain(int sock)
{
    int n = 0;
    for (;;) {
        char byte, space[CMSG_SPACE(4 * sizeof(int))];
        struct iovec iov = {&byte, 1};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = space,
                             .msg_controllen = sizeof space};
        if (recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) < 0)
            return n;
        n++;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
            for (size_t k = 0; k < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); k++) {
                int fd;
                memcpy(&fd, CMSG_DATA(cm) + k * sizeof(int), sizeof fd);
                close(fd);
            }
    }
}

/* The checks every decoded value gets, with or without shared memory. */
static void check_value(const pool_value *v)
{
    pool_buf b = {0};
    pool_encode(&b, v);
    /* a copy is the same value, in ordinary memory */
    pool_value copy = pool_value_copy(v);
    pool_buf cb = {0};
    pool_encode(&cb, &copy);
    REQUIRE(cb.len == b.len && memcmp(cb.data, b.data, b.len) == 0);
    pool_value_free(&copy);
    free(cb.data);
    free(b.data);

    /* repr behaves like snprintf */
    char small[24];
    int n = pool_value_repr(v, small, sizeof small);
    REQUIRE(n >= 0);
    char *full = malloc((size_t)n + 1);
    REQUIRE(full);
    REQUIRE(pool_value_repr(v, full, (size_t)n + 1) == n);
    REQUIRE(strlen(full) == (size_t)n);
    for (int i = 0; i < n; i++)
        REQUIRE((unsigned char)full[i] >= 0x20 && (unsigned char)full[i] < 0x7f);
    size_t keep = (size_t)n < sizeof small - 1 ? (size_t)n : sizeof small - 1;
    REQUIRE(strlen(small) == keep && memcmp(small, full, keep) == 0);
    REQUIRE(pool_value_repr(v, NULL, 0) == n);
    free(full);

    check_floats(v);
}

static int plain(const uint8_t *data, size_t size)
{
    pool_value v;
    memset(&v, 0xa5, sizeof v); /* decode must overwrite it either way */
    size_t used = pool_decode(data, size, &v);
    if (used == 0) {
        REQUIRE(v.type == POOL_NONE);
        return 0;
    }
    REQUIRE(used <= size);

    /* canonical: encode gives back the consumed bytes */
    pool_buf b = {0};
    pool_encode(&b, &v);
    REQUIRE(b.len == used);
    REQUIRE(memcmp(b.data, data, used) == 0);
    pool_value again;
    REQUIRE(pool_decode(b.data, b.len, &again) == used);
    pool_value_free(&again);
    free(b.data);

    /* a strict prefix is never a whole value */
    pool_value part;
    REQUIRE(pool_decode(data, used - 1, &part) == 0);
    REQUIRE(part.type == POOL_NONE);

    check_value(&v);
    pool_value_free(&v);
    REQUIRE(v.type == POOL_NONE);
    return 0;
}

static int with_socket(int mode, const uint8_t *data, size_t size)
{
    if (sv[0] < 0) {
        REQUIRE(shm_socketpair(sv) == 0);
        REQUIRE(shm_socketpair(echo_sv) == 0);
        fds_at_start = count_fds();
    }
    walk w = {.min_shm = UINT64_MAX};
    size_t walked = walk_value(data, size, 0, &w);
    int queued = fill(mode, &w);
    pool_stats counted = {0};
    wire_shm rx = {.sock = sv[0], .min = 0, .count = &counted};

    pool_value v;
    memset(&v, 0xa5, sizeof v);
    size_t used = wire_decode(data, size, &v, &rx);
    /* a well-formed value whose every tag found its proper memfd is taken */
    if (mode == PROPER && walked && w.tags <= MAX_TAGS && queued == w.tags)
        REQUIRE(used == walked);
    if (used == 0) {
        REQUIRE(v.type == POOL_NONE);
    } else {
        /* no memfd but a proper one is ever taken */
        REQUIRE(w.tags == 0 || (mode != NOTHING && mode != UNSEALED && mode != A_PIPE));
        REQUIRE(w.tags == 0 || mode != WRONG_SIZE || queued < w.tags);
        REQUIRE(used <= size);
        /* one descriptor per tag, none left for a proper value */
        REQUIRE(counted.shm_values == (unsigned long long)w.tags);
        if (mode == PROPER && queued == w.tags)
            REQUIRE(drain(sv[0]) == 0);
        check_value(&v);

        /* canonical with shared memory, where the threshold is clear */
        if (w.tags && w.min_shm > w.max_inline && w.min_shm > 0) {
            pool_stats sent = {0};
            wire_shm tx = {.sock = echo_sv[1], .min = (size_t)w.min_shm, .count = &sent};
            pool_buf b = {0};
            wire_encode(&b, &v, &tx);
            REQUIRE(b.len == used && memcmp(b.data, data, used) == 0);
            REQUIRE(sent.shm_values == (unsigned long long)w.tags);
            pool_stats got = {0};
            wire_shm echo_rx = {.sock = echo_sv[0], .min = 0, .count = &got};
            pool_value again;
            REQUIRE(wire_decode(b.data, b.len, &again, &echo_rx) == used);
            pool_buf x = {0}, y = {0};
            pool_encode(&x, &v);
            pool_encode(&y, &again);
            REQUIRE(x.len == y.len && memcmp(x.data, y.data, x.len) == 0);
            free(x.data);
            free(y.data);
            free(b.data);
            pool_value_free(&again);
            REQUIRE(drain(echo_sv[0]) == 0);
        }
        pool_value_free(&v);
        REQUIRE(v.type == POOL_NONE);
    }
    drain(sv[0]);
    /* nothing left: no descriptor, no mapping */
    REQUIRE(count_fds() == fds_at_start);
    if (queued)
        REQUIRE(count_memfd_maps() == 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int mode = data[0] % MODES;
    return mode == NO_SOCKET ? plain(data + 1, size - 1) : with_socket(mode, data + 1, size - 1);
}
