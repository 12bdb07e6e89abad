/* test_values.c - values: building, Python-style repr, and the wire format,
 * including input that is truncated, nested too deep or simply garbage. */
#include "check.h"
#include "pool.h"

#include <math.h>

static void check_float(double f, const char *expected)
{
    char buf[64];
    pool_float_repr(f, buf, sizeof buf);
    CHECK(strcmp(buf, expected) == 0, "repr(%.17g): expected %s, got %s", f, expected, buf);
}

static void check_repr(pool_value v, const char *expected)
{
    char buf[256];
    int n = pool_value_repr(&v, buf, sizeof buf);
    CHECK(strcmp(buf, expected) == 0, "expected %s, got %s", expected, buf);
    CHECK_EQ_INT(strlen(expected), n);
    pool_value_free(&v);
}

static void test_repr(void)
{
    /* The same strings Python's repr(float) gives. */
    check_float(0.1, "0.1");
    check_float(0.2998712545246843, "0.2998712545246843");
    check_float(1.0 / 3, "0.3333333333333333");
    check_float(2.5, "2.5");
    check_float(-2.5, "-2.5");
    check_float(100.0, "100.0");
    check_float(0.0, "0.0");
    check_float(-0.0, "-0.0");
    check_float(1e16, "1e+16");
    check_float(123456789012345.0, "123456789012345.0");
    check_float(1e-5, "1e-05");
    check_float(0.0001, "0.0001");
    check_float(1.5e-7, "1.5e-07");
    check_float(1e300, "1e+300");
    check_float(INFINITY, "inf");
    check_float(NAN, "nan");

    check_repr(pool_none(), "None");
    check_repr(pool_int(-42), "-42");
    check_repr(pool_str("it's"), "'it\\'s'");
    check_repr(pool_bytes("a\0b", 3), "b'a\\x00b'");
    check_repr(pool_tuple(3, pool_int(1), pool_none(), pool_float(0.5)), "[1, None, 0.5]");
    check_repr(pool_range(0), "[]");
    check_repr(pool_error("boom %d", 7), "Error('boom 7')");

    /* Like snprintf: a short buffer is cut, and the full length returned. */
    char small[4];
    pool_value v = pool_range(5);
    int n = pool_value_repr(&v, small, sizeof small);
    CHECK_EQ_INT(15, n);
    CHECK(strcmp(small, "[0,") == 0, "expected \"[0,\", got \"%s\"", small);
    pool_value_free(&v);
    CHECK_EQ_INT(POOL_NONE, v.type);
}

static void test_copy_and_roundtrip(void)
{
    unsigned char raw[] = {0, 1, 255, 7};
    pool_value v = pool_tuple(7, pool_none(), pool_int(-1), pool_float(0.25), pool_str("hi"),
                              pool_bytes(raw, sizeof raw), pool_error("bad"),
                              pool_tuple(1, pool_range(3)));
    pool_value copy = pool_value_copy(&v);
    pool_value_free(&v);

    pool_buf buf = {0};
    pool_encode(&buf, &copy);
    pool_value back;
    size_t used = pool_decode(buf.data, buf.len, &back);
    CHECK_EQ_INT(buf.len, used);

    char a[256], b[256];
    pool_value_repr(&copy, a, sizeof a);
    pool_value_repr(&back, b, sizeof b);
    CHECK(strcmp(a, b) == 0, "round trip changed the value: %s became %s", a, b);
    CHECK(back.as.items[4].len == 4 && memcmp(back.as.items[4].as.bytes, raw, 4) == 0,
          "bytes did not survive the round trip");

    /* Every strict prefix is malformed, and leaves the value NONE. */
    int accepted = 0;
    for (size_t cut = 0; cut < buf.len; cut++) {
        pool_value part;
        if (pool_decode(buf.data, cut, &part) != 0 || part.type != POOL_NONE)
            accepted++;
        pool_value_free(&part);
    }
    CHECK_EQ_INT(0, accepted);
    free(buf.data);
    pool_value_free(&copy);
    pool_value_free(&back);
}

static void test_malformed(void)
{
    pool_value v;
    unsigned char bad_tag[] = {99};
    CHECK_EQ_INT(0, pool_decode(bad_tag, sizeof bad_tag, &v));

    /* A list that claims four billion items in five bytes. */
    unsigned char huge[] = {POOL_LIST, 0xff, 0xff, 0xff, 0xff};
    CHECK_EQ_INT(0, pool_decode(huge, sizeof huge, &v));

    /* A string longer than the input. */
    unsigned char longstr[] = {POOL_STR, 10, 0, 0, 0, 'a'};
    CHECK_EQ_INT(0, pool_decode(longstr, sizeof longstr, &v));

    /* Nesting 1000 deep is refused rather than recursing without bound. */
    unsigned char deep[5 * 1000 + 1];
    for (int i = 0; i < 1000; i++) {
        unsigned char one[5] = {POOL_LIST, 1, 0, 0, 0};
        memcpy(deep + 5 * i, one, 5);
    }
    deep[5000] = POOL_NONE;
    CHECK_EQ_INT(0, pool_decode(deep, sizeof deep, &v));
    CHECK_EQ_INT(POOL_NONE, v.type);

    /* Ten deep is fine. */
    CHECK_EQ_INT(51, pool_decode(deep + 5 * 990, 51, &v));
    pool_value_free(&v);

    /* The limit is exact: POOL_MAX_DEPTH lists decode, one more does not. */
    size_t at = 5 * (1000 - POOL_MAX_DEPTH);
    CHECK_EQ_INT(5 * POOL_MAX_DEPTH + 1, pool_decode(deep + at, sizeof deep - at, &v));
    pool_value_free(&v);
    CHECK_EQ_INT(0, pool_decode(deep + at - 5, sizeof deep - at + 5, &v));
    CHECK_EQ_INT(POOL_NONE, v.type);
}

int main(void)
{
    test_repr();
    test_copy_and_roundtrip();
    test_malformed();
    return check_done("test_values");
}
