/* decode_fuzz.c - libFuzzer harness for pool_decode(), the parser of every
 * byte a worker sends back to the parent.
 *
 * For any input it asserts:
 *   - decode returns 0 (malformed) and leaves the value NONE, or returns a
 *     length no larger than the input;
 *   - the wire format is canonical: encoding the decoded value gives back
 *     exactly the bytes decode consumed, and decoding those gives the same
 *     length again;
 *   - no strict prefix of those bytes decodes (a value knows its own end);
 *   - pool_value_copy() encodes to the same bytes;
 *   - pool_value_repr() is snprintf-like: the length it returns is the
 *     length it writes given room, a short buffer gets a prefix of it, and
 *     it writes no raw NUL or control byte;
 *   - every float's repr reads back to the same double (NaN excepted);
 * and, through AddressSanitizer, that nothing reads or writes out of bounds
 * or leaks. Built and run by `make fuzz` (mk/fuzz.mk). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                           \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "decode_fuzz: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                            \
        }                                                                       \
    } while (0)

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
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

    /* a strict prefix is never a whole value */
    pool_value part;
    REQUIRE(pool_decode(data, used - 1, &part) == 0);
    REQUIRE(part.type == POOL_NONE);

    /* a copy is the same value */
    pool_value copy = pool_value_copy(&v);
    pool_buf cb = {0};
    pool_encode(&cb, &copy);
    REQUIRE(cb.len == b.len && memcmp(cb.data, b.data, b.len) == 0);
    pool_value_free(&copy);
    free(cb.data);
    free(b.data);

    /* repr behaves like snprintf */
    char small[24];
    int n = pool_value_repr(&v, small, sizeof small);
    REQUIRE(n >= 0);
    char *full = malloc((size_t)n + 1);
    REQUIRE(full);
    REQUIRE(pool_value_repr(&v, full, (size_t)n + 1) == n);
    REQUIRE(strlen(full) == (size_t)n);
    for (int i = 0; i < n; i++)
        REQUIRE((unsigned char)full[i] >= 0x20 && (unsigned char)full[i] < 0x7f);
    size_t keep = (size_t)n < sizeof small - 1 ? (size_t)n : sizeof small - 1;
    REQUIRE(strlen(small) == keep && memcmp(small, full, keep) == 0);
    REQUIRE(pool_value_repr(&v, NULL, 0) == n);
    free(full);

    check_floats(&v);
    pool_value_free(&v);
    REQUIRE(v.type == POOL_NONE);
    return 0;
}
