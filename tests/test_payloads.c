/* test_payloads.c - what travels through the pipes: 16 MiB each way intact,
 * a worker writing garbage, a million items in bounded memory, and items
 * travelling in chunks rather than one message each. */
#include "check.h"
#include "pool.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#define BIG (16u << 20)

static unsigned char pattern(size_t i) { return (unsigned char)(i * 7 + (i >> 11)); }

/* Checks the big argument byte by byte, then returns a big result. */
static pool_value big_echo(const pool_value *args, size_t nargs)
{
    if (nargs != 1 || args[0].type != POOL_BYTES || args[0].len != BIG)
        return pool_error("wrong argument");
    for (size_t i = 0; i < BIG; i++)
        if (args[0].as.bytes[i] != pattern(i))
            return pool_error("argument corrupted at byte %zu", i);
    pool_value out = pool_bytes(args[0].as.bytes, BIG);
    for (size_t i = 0; i < BIG; i++)
        out.as.bytes[i] ^= 0xff;
    return out;
}

static void test_large(pool_t *pool)
{
    unsigned char *raw = malloc(BIG);
    for (size_t i = 0; raw && i < BIG; i++)
        raw[i] = pattern(i);
    CHECK(raw != NULL, "no memory for the test");
    if (!raw)
        return;
    pool_value arg = pool_bytes(raw, BIG);
    free(raw);
    pool_value out;
    CHECK_OK(pool_apply(pool, big_echo, pool_tuple(1, arg), NULL, &out));
    CHECK(out.type == POOL_BYTES && out.len == BIG, "expected %u bytes back, got %u", BIG, out.len);
    size_t bad = 0;
    for (size_t i = 0; out.type == POOL_BYTES && i < out.len; i++)
        bad += out.as.bytes[i] != (unsigned char)(pattern(i) ^ 0xff);
    CHECK_EQ_INT(0, bad);
    pool_value_free(&out);
}

/* Writes garbage to this worker's result pipe: the only descriptor it has
 * open for writing beyond 0, 1 and 2. */
static pool_value write_garbage(const pool_value *args, size_t nargs)
{
    (void)args, (void)nargs;
    for (int fd = 3; fd < 64; fd++) {
        int fl = fcntl(fd, F_GETFL);
        if (fl >= 0 && (fl & O_ACCMODE) == O_WRONLY) {
            char junk[100];
            memset(junk, 0xab, sizeof junk);
            if (write(fd, junk, sizeof junk) < 0)
                break;
        }
    }
    sleep(5); /* the parent kills us before this ends */
    return pool_int(1);
}

static pool_value identity(const pool_value *args, size_t nargs)
{
    return nargs ? pool_value_copy(&args[0]) : pool_none();
}

/* A worker that sends a malformed result fails its task with POOL_ETASK;
 * the pool neither crashes nor hangs. */
static void test_garbage(pool_t *pool)
{
    pool_value out;
    CHECK_EQ_INT(POOL_ETASK, pool_apply(pool, write_garbage, pool_none(), NULL, &out));
    CHECK(out.type == POOL_ERROR, "expected an error value");
    if (out.type == POOL_ERROR)
        CHECK_STR_CONTAINS(out.as.s, "sent a malformed result");
    pool_value_free(&out);
    CHECK_OK(pool_map(pool, identity, pool_range(10), NULL, &out));
    CHECK_EQ_INT(10, out.len);
    pool_value_free(&out);
}

static long peak_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

/* Items go by chunks (pool_opts.chunksize in pool.h), so a million items
 * stream through: the peak RSS of a fresh process doing only this stays
 * under 64 MiB. The input and output lists take 16 MiB each, and at most a
 * few chunks are encoded at once. Valgrind and the sanitizers change RSS, so
 * there only the result counts. */
static void test_million(void)
{
    bool measure = getenv("POOL_NO_RSS_CHECK") == NULL;
    size_t n = measure ? 1000000 : 100000;
    pid_t child = fork();
    if (child == 0) {
        pool_t *pool;
        pool_value out;
        if (pool_create(&pool, &(pool_config){.processes = 2}) != POOL_OK ||
            pool_map(pool, identity, pool_range(n), NULL, &out) != POOL_OK)
            _exit(2);
        for (size_t i = 0; i < n; i++)
            if (out.as.items[i].as.i != (long long)i)
                _exit(3);
        pool_value_free(&out);
        pool_destroy(pool);
        long kib = peak_rss_kib();
        if (measure && kib > 64 * 1024) {
            fprintf(stderr, "peak RSS %ld KiB is over 64 MiB\n", kib);
            _exit(4);
        }
        _exit(0);
    }
    int status = -1;
    waitpid(child, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "the million-item map failed with wait status %#x (2 map, 3 values, 4 memory)", status);
}

static pool_value worker_pid(const pool_value *args, size_t nargs)
{
    (void)args, (void)nargs;
    return pool_int(getpid());
}

/* Items travel in chunks (pool_opts.chunksize, and maxtasksperchild counts
 * chunks, in pool.h). With one chunk per worker life, each run of chunksize
 * items shares one pid, and the next run has another. */
static void test_chunks(void)
{
    pool_t *pool;
    pool_value out;
    CHECK_OK(pool_create(&pool, &(pool_config){.processes = 2, .maxtasksperchild = 1}));
    CHECK_OK(pool_map(pool, worker_pid, pool_range(100), &(pool_opts){.chunksize = 10}, &out));
    int runs = 1, breaks_inside = 0;
    for (uint32_t i = 1; i < out.len; i++) {
        bool differs = out.as.items[i].as.i != out.as.items[i - 1].as.i;
        if (i % 10 == 0)
            runs += differs;
        else
            breaks_inside += differs;
    }
    CHECK_EQ_INT(10, runs);
    CHECK_EQ_INT(0, breaks_inside);
    pool_value_free(&out);

    /* The default chunksize, ceil(n / (4 * workers)), gives 8 chunks here. */
    CHECK_OK(pool_map(pool, worker_pid, pool_range(80), NULL, &out));
    runs = 1;
    for (uint32_t i = 1; i < out.len; i++)
        runs += out.as.items[i].as.i != out.as.items[i - 1].as.i;
    CHECK_EQ_INT(8, runs);
    pool_value_free(&out);
    pool_destroy(pool);
}

int main(void)
{
    pool_t *pool;
    CHECK_OK(pool_create(&pool, &(pool_config){.processes = 2}));
    test_large(pool);
    test_garbage(pool);
    CHECK_OK(pool_close(pool));
    CHECK_OK(pool_join(pool));
    pool_destroy(pool);
    test_million();
    test_chunks();
    return check_done("test_payloads");
}
