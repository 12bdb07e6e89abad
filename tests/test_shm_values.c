/* test_shm_values.c - big str and bytes values cross in shared memory
 * (config.shm_min in pool.h): through apply, map, starmap and imap, both
 * ways, and to a callback, in a pool of processes and of threads. A value of exactly shm_min bytes, or
 * more, is received as a private mapping of a memfd named "pool-value"; one
 * byte less crosses through the pipe; POOL_SHM_NEVER sends everything
 * through the pipe. pool_get_stats() counts exactly the values and bytes
 * that crossed so. A received value is the caller's own: writable, freed
 * (unmapped) by pool_value_free(), copied into ordinary memory by
 * pool_value_copy(). Nothing is left: no descriptor and no memfd mapping
 * after pool_destroy() and the values' frees. */
#include "check.h"
#include "fault/fault.h"
#include "pool.h"

#include <dirent.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

#define MEMFD_NAME "memfd:pool-value"

/* ---- What this process holds ------------------------------------------- */

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n - 1; /* opendir's own */
}

/* Descriptors and mappings of a memfd of any name (fault/memfd.c). */
static int count_memfd_fds(void)
{
    int fds, maps;
    fu_memfds(getpid(), "memfd:", &fds, &maps);
    return fds;
}

static int count_memfd_maps(void)
{
    int fds, maps;
    fu_memfds(getpid(), "memfd:", &fds, &maps);
    return maps;
}

/* How p is mapped: 'p' for a private mapping of the pool's memfd, 's' for
 * a shared one, 0 for anything else (the heap, another file). */
static char memfd_mapping(const void *p)
{
    return fu_memfd_mapping(p, MEMFD_NAME);
}

/* ---- Values of a known content ----------------------------------------- */

/* Bytes with a NUL every 251 bytes and every other byte value too. */
static unsigned char byte_at(size_t i) { return (unsigned char)(i % 251 ? i * 7 + 3 : 0); }

static pool_value make_bytes(size_t len)
{
    unsigned char *raw = malloc(len + 1);
    for (size_t i = 0; raw && i < len; i++)
        raw[i] = byte_at(i);
    pool_value v = pool_bytes(raw, len);
    free(raw);
    return v;
}

static pool_value make_str(size_t len)
{
    char *raw = malloc(len + 1);
    for (size_t i = 0; raw && i < len; i++)
        raw[i] = (char)('a' + i % 26);
    if (raw)
        raw[len] = '\0';
    pool_value v = pool_str(raw ? raw : "");
    free(raw);
    return v;
}

/* Whether v is the make_bytes() or make_str() value of len bytes, its NUL
 * after them included. */
static bool intact(const pool_value *v, pool_type type, size_t len)
{
    if (v->type != type || v->len != len || v->as.s[len] != '\0')
        return false;
    for (size_t i = 0; i < len; i++)
        if (type == POOL_BYTES ? v->as.bytes[i] != byte_at(i)
                               : v->as.s[i] != (char)('a' + i % 26))
            return false;
    return true;
}

/* ---- Tasks -------------------------------------------------------------- */

/* What the workers saw, in memory shared with forked workers. */
typedef struct seen {
    _Atomic long mapped;   /* str or bytes arguments in a private memfd mapping */
    _Atomic long inline_;  /* ... in ordinary memory */
    _Atomic long corrupt;  /* ... not as sent */
} seen;
static seen *sh;

static void look(const pool_value *v)
{
    if (v->type == POOL_LIST) {
        for (uint32_t i = 0; i < v->len; i++)
            look(&v->as.items[i]);
        return;
    }
    if (v->type != POOL_STR && v->type != POOL_BYTES)
        return;
    if (!intact(v, v->type, v->len))
        atomic_fetch_add(&sh->corrupt, 1);
    else if (memfd_mapping(v->as.s) == 'p')
        atomic_fetch_add(&sh->mapped, 1);
    else
        atomic_fetch_add(&sh->inline_, 1);
}

/* Records its arguments, and returns a copy of the first: a new value. */
static pool_value echo(const pool_value *args, size_t nargs)
{
    for (size_t i = 0; i < nargs; i++)
        look(&args[i]);
    return nargs ? pool_value_copy(&args[0]) : pool_none();
}

/* Records its arguments, and returns a copy of them all as a tuple. */
static pool_value echo_all(const pool_value *args, size_t nargs)
{
    pool_value out = pool_list(nargs);
    for (size_t i = 0; i < nargs; i++) {
        look(&args[i]);
        out.as.items[i] = pool_value_copy(&args[i]);
    }
    return out;
}

/* Records its argument, and returns its length: one way only. */
static pool_value length(const pool_value *args, size_t nargs)
{
    for (size_t i = 0; i < nargs; i++)
        look(&args[i]);
    return pool_int(nargs ? (long long)args[0].len : -1);
}

/* Makes a bytes value of the length it is given: the other way only. */
static pool_value make(const pool_value *args, size_t nargs)
{
    return nargs && args[0].type == POOL_INT ? make_bytes((size_t)args[0].as.i)
                                             : pool_error("expected a length");
}

/* ---- The checks --------------------------------------------------------- */

typedef struct setup {
    const char *name;
    pool_config config;
    size_t min; /* the threshold in force: SIZE_MAX for never */
} setup;

static pool_stats stats_of(pool_t *pool)
{
    pool_stats s = {0};
    CHECK_OK(pool_get_stats(pool, &s));
    return s;
}

static void reset_seen(void) { memset(sh, 0, sizeof *sh); }

/* After a submission: the workers saw `big` arguments mapped and `small`
 * ones inline, all intact; the pool counted `values` shared-memory values
 * of `bytes` bytes since `before`. */
static void expect(pool_t *pool, const pool_stats *before, long big, long small,
                   unsigned long long values, unsigned long long bytes, const char *what)
{
    pool_stats now = stats_of(pool);
    CHECK(atomic_load(&sh->corrupt) == 0, "%s: %ld arguments arrived corrupt", what,
          atomic_load(&sh->corrupt));
    CHECK(atomic_load(&sh->mapped) == big && atomic_load(&sh->inline_) == small,
          "%s: workers got %ld arguments in a memfd mapping and %ld inline, expected %ld and %ld",
          what, atomic_load(&sh->mapped), atomic_load(&sh->inline_), big, small);
    CHECK(now.shm_values - before->shm_values == values,
          "%s: stats count %llu shared-memory values, expected %llu", what,
          now.shm_values - before->shm_values, values);
    CHECK(now.shm_bytes - before->shm_bytes == bytes,
          "%s: stats count %llu shared-memory bytes, expected %llu", what,
          now.shm_bytes - before->shm_bytes, bytes);
    reset_seen();
}

/* A result value: intact, and mapped privately from the pool's memfd iff
 * it is at least the threshold. */
static void check_result(const pool_value *v, pool_type type, size_t len, size_t min,
                         const char *what)
{
    CHECK(intact(v, type, len), "%s: result of %zu bytes (type %d) is not as sent (type %d, "
          "len %u)", what, len, type, v->type, v->len);
    if (v->type != POOL_STR && v->type != POOL_BYTES)
        return;
    char kind = memfd_mapping(v->as.s);
    if (len >= min)
        CHECK(kind == 'p', "%s: a result of %zu bytes (threshold %zu) is %s", what, len, min,
              kind == 's' ? "a shared mapping, not a private copy" : "not in a memfd mapping");
    else
        CHECK(kind == 0, "%s: a result of %zu bytes (threshold %zu) is in a memfd mapping",
              what, len, min);
}

/* apply: each length around the threshold, as bytes and as str, both ways;
 * then one way only, each way. */
static void test_apply(pool_t *pool, const setup *s)
{
    size_t m = s->min == SIZE_MAX ? POOL_SHM_MIN : s->min;
    size_t lens[] = {m - 1, m, m + 1};
    for (int t = 0; t < 2; t++) {
        pool_type type = t ? POOL_STR : POOL_BYTES;
        for (size_t k = 0; k < 3; k++) {
            size_t len = lens[k];
            bool big = len >= s->min;
            char what[128];
            snprintf(what, sizeof what, "%s: apply, %s of %zu bytes", s->name,
                     t ? "str" : "bytes", len);
            pool_stats before = stats_of(pool);
            pool_value arg = t ? make_str(len) : make_bytes(len), out = pool_none();
            CHECK_OK(pool_apply(pool, echo, pool_tuple(1, arg), NULL, &out));
            check_result(&out, type, len, s->min, what);
            /* by memfd, only a tag and a length cross the pipes */
            unsigned long long piped = stats_of(pool).pipe_bytes - before.pipe_bytes;
            if (big)
                CHECK(piped < 1024, "%s: %llu bytes went through the pipes", what, piped);
            else
                CHECK(piped >= 2 * len, "%s: only %llu bytes went through the pipes", what,
                      piped);
            expect(pool, &before, big, !big, big ? 2 : 0, big ? 2 * len : 0, what);
            pool_value_free(&out);
        }
    }
    /* one way at a time: a big argument and a small result, and back */
    char what[128];
    snprintf(what, sizeof what, "%s: apply, a big argument only", s->name);
    pool_stats before = stats_of(pool);
    pool_value out = pool_none();
    CHECK_OK(pool_apply(pool, length, pool_tuple(1, make_bytes(m)), NULL, &out));
    CHECK(out.type == POOL_INT && out.as.i == (long long)m, "%s: got type %d", what, out.type);
    bool big = m >= s->min;
    expect(pool, &before, big, !big, big, big ? m : 0, what);
    snprintf(what, sizeof what, "%s: apply, a big result only", s->name);
    before = stats_of(pool);
    CHECK_OK(pool_apply(pool, make, pool_tuple(1, pool_int((long long)m)), NULL, &out));
    check_result(&out, POOL_BYTES, m, s->min, what);
    expect(pool, &before, 0, 0, big, big ? m : 0, what);

    /* the value is the caller's own: writable, and copied into plain memory */
    if (out.type == POOL_BYTES && out.len == m) {
        int maps = count_memfd_maps();
        out.as.bytes[0] ^= 0xff;
        out.as.bytes[m - 1] ^= 0xff;
        CHECK(out.as.bytes[0] == (unsigned char)(byte_at(0) ^ 0xff),
              "%s: a write to the received value did not stick", what);
        pool_value copy = pool_value_copy(&out);
        CHECK(memfd_mapping(copy.as.bytes) == 0, "%s: pool_value_copy() made another mapping",
              what);
        CHECK(copy.len == m && memcmp(copy.as.bytes, out.as.bytes, m) == 0,
              "%s: the copy differs from the changed value", what);
        pool_value_free(&out);
        CHECK_EQ_INT(maps - (big ? 1 : 0), count_memfd_maps());
        copy.as.bytes[0] ^= 0xff, copy.as.bytes[m - 1] ^= 0xff;
        CHECK(intact(&copy, POOL_BYTES, m), "%s: the copy did not outlive the original", what);
        pool_value_free(&copy);
    }
    pool_value_free(&out);
}

/* map: 40 items, every third one big; all results held at once, then freed. */
static void test_map(pool_t *pool, const setup *s)
{
    size_t m = s->min == SIZE_MAX ? POOL_SHM_MIN : s->min;
    enum { N = 40 };
    pool_value items = pool_list(N);
    long big = 0, small = 0;
    unsigned long long bytes = 0;
    for (int i = 0; i < N; i++) {
        size_t len = i % 3 == 0 ? m : i % 3 == 1 ? m - 1 : 5;
        items.as.items[i] = i % 2 ? make_str(len) : make_bytes(len);
        if (len >= s->min)
            big++, bytes += len;
        else
            small++;
    }
    char what[128];
    snprintf(what, sizeof what, "%s: map of %d", s->name, N);
    pool_stats before = stats_of(pool);
    int maps = count_memfd_maps();
    pool_value out = pool_none();
    CHECK_OK(pool_map(pool, echo, items, &(pool_opts){.chunksize = 3}, &out));
    CHECK(out.type == POOL_LIST && out.len == N, "%s: got type %d len %u", what, out.type,
          out.len);
    for (uint32_t i = 0; out.type == POOL_LIST && i < out.len; i++) {
        size_t len = i % 3 == 0 ? m : i % 3 == 1 ? m - 1 : 5;
        check_result(&out.as.items[i], i % 2 ? POOL_STR : POOL_BYTES, len, s->min, what);
    }
    CHECK(count_memfd_maps() - maps == big,
          "%s: %d memfd mappings for %ld big results held", what, count_memfd_maps() - maps,
          big);
    expect(pool, &before, big, small, 2 * big, 2 * bytes, what);
    pool_value_free(&out);
    CHECK(count_memfd_maps() == maps, "%s: %d memfd mappings left after freeing the results",
          what, count_memfd_maps() - maps);
}

/* starmap: tuples of a big bytes, a small str and a big str. */
static void test_starmap(pool_t *pool, const setup *s)
{
    size_t m = s->min == SIZE_MAX ? POOL_SHM_MIN : s->min;
    enum { N = 6 };
    pool_value items = pool_list(N);
    for (int i = 0; i < N; i++)
        items.as.items[i] = pool_tuple(3, make_bytes(m), make_str(m - 1), make_str(m + 1));
    bool big = m >= s->min;
    char what[128];
    snprintf(what, sizeof what, "%s: starmap of %d", s->name, N);
    pool_stats before = stats_of(pool);
    pool_value out = pool_none();
    CHECK_OK(pool_starmap(pool, echo_all, items, NULL, &out));
    CHECK(out.type == POOL_LIST && out.len == N, "%s: got type %d len %u", what, out.type,
          out.len);
    for (uint32_t i = 0; out.type == POOL_LIST && i < out.len; i++) {
        pool_value *t = &out.as.items[i];
        CHECK(t->type == POOL_LIST && t->len == 3, "%s: item %u is type %d len %u", what, i,
              t->type, t->len);
        if (t->type != POOL_LIST || t->len != 3)
            continue;
        check_result(&t->as.items[0], POOL_BYTES, m, s->min, what);
        check_result(&t->as.items[1], POOL_STR, m - 1, s->min, what);
        check_result(&t->as.items[2], POOL_STR, m + 1, s->min, what);
    }
    long nbig = big ? 2 * N : 0;
    expect(pool, &before, nbig, 3 * N - nbig, 2 * (unsigned long long)nbig,
           big ? 2ULL * N * (2 * m + 1) : 0, what);
    pool_value_free(&out);
}

/* What a callback saw of a big result: intact, and how it was mapped. */
typedef struct cb_seen {
    int calls, intact;
    char kind;
} cb_seen;

static pool_value on_result(const pool_value *value, void *user_data)
{
    cb_seen *c = user_data;
    c->calls++;
    c->intact = value->type == POOL_LIST && value->len == 2 &&
                intact(&value->as.items[0], POOL_BYTES, value->as.items[0].len);
    c->kind = c->intact ? memfd_mapping(value->as.items[0].as.s) : 0;
    return pool_none();
}

/* A map's callback gets the big results as received; they are unmapped
 * when the handle is freed. */
static void test_callback(pool_t *pool, const setup *s)
{
    size_t m = s->min == SIZE_MAX ? POOL_SHM_MIN : s->min;
    char what[128];
    snprintf(what, sizeof what, "%s: a callback", s->name);
    cb_seen c = {0};
    int maps = count_memfd_maps();
    pool_value items = pool_tuple(2, make_bytes(m), make_bytes(m));
    pool_result *r = NULL;
    CHECK_OK(pool_map_async(pool, echo, items, &(pool_opts){.callback = on_result, .user_data = &c},
                            &r));
    if (!r)
        return;
    CHECK_OK(pool_result_wait(r, 60));
    CHECK(c.calls == 1 && c.intact, "%s: %d calls, intact %d", what, c.calls, c.intact);
    CHECK(c.kind == (m >= s->min ? 'p' : 0), "%s: the callback's value is mapped as '%c'", what,
          c.kind ? c.kind : '0');
    pool_result_release(r);
    int held = count_memfd_maps() - maps;
    for (int i = 0; i < 1000 && held > 0; i++) { /* the pool frees a released handle soon */
        usleep(1000);
        held = count_memfd_maps() - maps;
    }
    CHECK(held == 0, "%s: %d memfd mappings left after the handle's release", what, held);
    reset_seen();
}

static bool next_big(void *state, pool_value *item)
{
    size_t *left = state;
    if (!left[0])
        return false;
    left[0]--;
    *item = make_str(left[1]);
    return true;
}

/* imap hands big results over one by one, each the caller's to free. */
static void test_imap(pool_t *pool, const setup *s)
{
    size_t m = s->min == SIZE_MAX ? POOL_SHM_MIN : s->min;
    char what[128];
    snprintf(what, sizeof what, "%s: imap", s->name);
    size_t state[2] = {6, m};
    pool_iter *it = NULL;
    CHECK_OK(pool_imap(pool, echo, next_big, state, 1, &it));
    if (!it)
        return;
    int got = 0;
    pool_value v;
    while (pool_iter_next(it, 60, &v) == POOL_OK) {
        check_result(&v, POOL_STR, m, s->min, what);
        pool_value_free(&v);
        got++;
    }
    CHECK_EQ_INT(6, got);
    pool_iter_destroy(it);
    reset_seen();
}

static void run(const setup *s)
{
    int fds = count_fds();
    pool_t *pool = NULL;
    CHECK_OK(pool_create(&pool, &s->config));
    if (!pool)
        return;
    reset_seen();
    test_apply(pool, s);
    test_map(pool, s);
    test_starmap(pool, s);
    test_callback(pool, s);
    test_imap(pool, s);
    CHECK_OK(pool_close(pool));
    CHECK_OK(pool_join(pool));
    pool_destroy(pool);
    CHECK(count_fds() == fds, "%s: %d descriptors open after pool_destroy, %d before", s->name,
          count_fds(), fds);
    CHECK_EQ_INT(0, count_memfd_fds());
    CHECK_EQ_INT(0, count_memfd_maps());
}

int main(void)
{
    sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    setup setups[] = {
        {"default threshold", {.processes = 2}, POOL_SHM_MIN},
        {"shm_min 4096", {.processes = 2, .shm_min = 4096}, 4096},
        {"POOL_SHM_NEVER", {.processes = 2, .shm_min = POOL_SHM_NEVER}, SIZE_MAX},
        {"threads, shm_min 4096", {.processes = 2, .threads = true, .shm_min = 4096}, 4096},
        {"threads, default", {.processes = 2, .threads = true}, POOL_SHM_MIN},
    };
    for (size_t i = 0; i < sizeof setups / sizeof *setups; i++)
        run(&setups[i]);
    return check_done("test_shm_values");
}
