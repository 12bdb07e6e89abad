/* make_seeds.c - writes the seed corpus of decode_fuzz into the folder $1:
 * one file per value, in the wire format pool_encode() writes, plus a few
 * malformed inputs, each after a first byte of 0 (no side socket); then
 * values with shared-memory tags, after each first byte that fills the
 * harness's side socket one way (decode_fuzz.c). `make fuzz-seeds` runs it
 * into tests/fuzz/seeds/. */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool_wire.h"

static const char *dir;
static int count;

static unsigned char mode; /* the input's first byte: what waits on the side socket */

static void write_file(const char *name, const void *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%02d-%s", dir, count++, name);
    FILE *f = fopen(path, "wb");
    if (!f || fputc(mode, f) == EOF || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

/* Writes the value, and takes it over. */
static void seed(const char *name, pool_value v)
{
    pool_buf b = {0};
    pool_encode(&b, &v);
    write_file(name, b.data, b.len);
    free(b.data);
    pool_value_free(&v);
}

static pool_value nested(int depth)
{
    pool_value v = pool_int(depth);
    for (int i = 0; i < depth; i++) {
        pool_value l = pool_list(1);
        l.as.items[0] = v;
        v = l;
    }
    return v;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_seeds DIR\n");
        return 2;
    }
    dir = argv[1];
    seed("none", pool_none());
    seed("int-zero", pool_int(0));
    seed("int-min", pool_int(LLONG_MIN));
    seed("int-max", pool_int(LLONG_MAX));
    seed("float-half", pool_float(0.5));
    seed("float-neg-zero", pool_float(-0.0));
    seed("float-tenth", pool_float(0.1));
    seed("float-big", pool_float(1e16));
    seed("float-denormal", pool_float(4.9e-324));
    seed("float-max", pool_float(DBL_MAX));
    seed("float-inf", pool_float(INFINITY));
    seed("float-nan", pool_float(NAN));
    seed("str-empty", pool_str(""));
    seed("str-hello", pool_str("hello"));
    seed("str-escapes", pool_str("it's a \\ back\nslash\t\x01\x7f\xc3\xa9"));
    seed("bytes-nul", pool_bytes("a\0b\0", 4));
    unsigned char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    seed("bytes-all", pool_bytes(all, sizeof all));
    seed("error", pool_error("task %d failed: %s", 3, "boom"));
    seed("list-empty", pool_list(0));
    seed("range-20", pool_range(20));
    seed("tuple-mixed", pool_tuple(5, pool_int(1), pool_float(2.5), pool_str("three"),
                                   pool_none(), pool_tuple(2, pool_bytes("\xff", 1),
                                                           pool_error("x"))));
    seed("nested-10", nested(10));
    seed("nested-64", nested(64));
    seed("nested-65", nested(65)); /* one level too deep: refused */

    /* malformed */
    seed("tuple-str-int", pool_tuple(2, pool_str("abc"), pool_int(7)));
    pool_buf b = {0};
    pool_value v = pool_tuple(2, pool_str("abc"), pool_int(7));
    pool_encode(&b, &v);
    write_file("bad-truncated", b.data, b.len - 3);
    b.data[0] = 7;
    write_file("bad-tag", b.data, b.len);
    b.data[0] = POOL_LIST;
    b.data[1] = 0xff; /* a count far past the end */
    write_file("bad-count", b.data, b.len);
    free(b.data);
    pool_value_free(&v);
    const unsigned char huge_str[] = {POOL_STR, 0xff, 0xff, 0xff, 0xff, 'a'};
    write_file("bad-str-len", huge_str, sizeof huge_str);

    /* shared-memory tags: one alone, and in a tuple beside an inline str
     * shorter than it, after every way of filling the side socket */
    const char *modes[] = {"", "nothing", "proper", "wrong-size", "unsealed", "pipe",
                           "one-short", "no-nul", "two-in-one"};
    for (mode = 1; mode < 9; mode++) {
        char name[64];
        unsigned char one[5] = {WIRE_SHM_BYTES, 0x00, 0x10, 0, 0}; /* 4096 bytes */
        snprintf(name, sizeof name, "shm-bytes-%s", modes[mode]);
        write_file(name, one, sizeof one);
        unsigned char tuple[] = {POOL_LIST, 3, 0, 0, 0,
                                 WIRE_SHM_STR, 0x00, 0x02, 0, 0,  /* 512 bytes */
                                 POOL_STR, 3, 0, 0, 0, 'a', 'b', 'c',
                                 WIRE_SHM_BYTES, 0x10, 0, 0, 0};  /* 16 bytes */
        snprintf(name, sizeof name, "shm-tuple-%s", modes[mode]);
        write_file(name, tuple, sizeof tuple);
    }
    return 0;
}
