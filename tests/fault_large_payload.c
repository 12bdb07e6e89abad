/* fault_large_payload: a 16 MiB argument and a 16 MiB result cross intact.
 * The task checks the argument's every byte (its hash and length), makes a
 * 16 MiB result from a seed, and echoes a 16 MiB string; the parent checks
 * every byte it gets back. */
#include "fault/fault.h"

#define BIG ((size_t)16 << 20)

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

/* A reproducible byte pattern, every byte value included. */
static void fill(unsigned char *p, size_t n, uint64_t seed)
{
    uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        p[i] = (unsigned char)x;
    }
}

/* (bytes) -> (hash, len) */
static pool_value task_hash(const pool_value *args, size_t nargs)
{
    if (nargs != 1 || args[0].type != POOL_BYTES)
        return pool_error("want bytes");
    return pool_tuple(2, pool_int((long long)fnv1a(args[0].as.bytes, args[0].len)),
                      pool_int(args[0].len));
}

/* (seed, size) -> bytes */
static pool_value task_make(const pool_value *args, size_t nargs)
{
    if (nargs != 2)
        return pool_error("want seed and size");
    size_t n = (size_t)args[1].as.i;
    unsigned char *p = malloc(n);
    if (!p)
        return pool_error("out of memory");
    fill(p, n, (uint64_t)args[0].as.i);
    pool_value v = pool_bytes(p, n);
    free(p);
    return v;
}

/* (str) -> the same str */
static pool_value task_echo(const pool_value *args, size_t nargs)
{
    if (nargs != 1 || args[0].type != POOL_STR)
        return pool_error("want a str");
    return pool_value_copy(&args[0]);
}

int main(void)
{
    pool_t *pool = fu_pool_open((pool_config){.processes = 2});
    if (!pool)
        return check_done("fault_large_payload");

    unsigned char *data = malloc(BIG);
    fill(data, BIG, 7);
    uint64_t want = fnv1a(data, BIG);

    /* 1. 16 MiB in */
    pool_value out = pool_none();
    int rc = pool_apply(pool, task_hash, pool_tuple(1, pool_bytes(data, BIG)), NULL, &out);
    CHECK(rc == POOL_OK, "16 MiB argument: %d (%s) %s", rc, pool_strerror(rc), fu_msg(&out));
    if (rc == POOL_OK) {
        CHECK(out.type == POOL_LIST && out.len == 2, "16 MiB argument: odd reply");
        if (out.type == POOL_LIST && out.len == 2) {
            CHECK((uint64_t)out.as.items[0].as.i == want,
                  "the 16 MiB argument arrived changed");
            CHECK_EQ_INT((long long)BIG, out.as.items[1].as.i);
        }
    }
    pool_value_free(&out);

    /* 2. 16 MiB out */
    rc = pool_apply(pool, task_make, pool_tuple(2, pool_int(7), pool_int((long long)BIG)),
                    NULL, &out);
    CHECK(rc == POOL_OK, "16 MiB result: %d (%s) %s", rc, pool_strerror(rc), fu_msg(&out));
    if (rc == POOL_OK) {
        CHECK(out.type == POOL_BYTES && out.len == BIG, "16 MiB result: type %d len %u",
              (int)out.type, out.len);
        if (out.type == POOL_BYTES && out.len == BIG)
            CHECK(memcmp(out.as.bytes, data, BIG) == 0, "the 16 MiB result arrived changed");
    }
    pool_value_free(&out);

    /* 3. 16 MiB both ways, as a string, twice at once on both workers */
    char *text = malloc(BIG + 1);
    for (size_t i = 0; i < BIG; i++)
        text[i] = (char)('a' + data[i] % 26);
    text[BIG] = '\0';
    pool_value items = pool_list(2);
    items.as.items[0] = pool_str(text);
    items.as.items[1] = pool_str(text);
    pool_opts o = {.chunksize = 1};
    rc = pool_map(pool, task_echo, items, &o, &out);
    CHECK(rc == POOL_OK, "16 MiB echo: %d (%s) %s", rc, pool_strerror(rc), fu_msg(&out));
    if (rc == POOL_OK && out.type == POOL_LIST && out.len == 2)
        for (int i = 0; i < 2; i++)
            CHECK(out.as.items[i].type == POOL_STR && out.as.items[i].len == BIG &&
                      memcmp(out.as.items[i].as.s, text, BIG + 1) == 0,
                  "the 16 MiB string #%d came back changed", i);
    else if (rc == POOL_OK)
        CHECK(0, "16 MiB echo: type %d len %u", (int)out.type, out.len);
    pool_value_free(&out);
    free(text);
    free(data);

    fu_check_pool_works(pool, 100, "after large payloads");
    fu_pool_close(pool, "after pool_destroy");
    return check_done("fault_large_payload");
}
