/* pool_value.c - the values that cross the process boundary: building and
 * freeing them, printing them as Python would, and their wire format. */
#include "pool_wire.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Memory ------------------------------------------------------------ */

/* Out of memory is fatal here, as in most small C programs: it keeps every
 * caller free of a failure path it could not handle anyway. */
static void *checked(void *p)
{
    if (!p) {
        fputs("pool: out of memory\n", stderr);
        abort();
    }
    return p;
}

static void *xmalloc(size_t size) { return checked(malloc(size ? size : 1)); }
static void *xrealloc(void *old, size_t size) { return checked(realloc(old, size ? size : 1)); }

/* ---- Big item arrays, kept for the next big list ----------------------- */

/* A page the process never touched costs a page fault, and on a virtual
 * machine that can be 10 us: a fresh 16 MiB list then costs 40 ms before
 * any work. So the item arrays of the last CACHED big lists freed are kept
 * for the next ones, and a program that maps over big lists again and
 * again touches no fresh page for them. */
#define BIG_LIST ((1u << 20) / sizeof(pool_value))    /* items: 1 MiB */
#define CACHED_MAX ((32u << 20) / sizeof(pool_value)) /* items: 32 MiB */
enum { CACHED = 2 };
static struct {
    pool_value *items;
    size_t cap;
} cached[CACHED];
static pthread_mutex_t cached_lock = PTHREAD_MUTEX_INITIALIZER;

/* As for the table of mappings in pool_shm.c: a fork waits for the lock,
 * so no child starts with it held. */
static void cached_lock_take(void) { pthread_mutex_lock(&cached_lock); }
static void cached_lock_give(void) { pthread_mutex_unlock(&cached_lock); }

__attribute__((constructor)) static void cached_lock_at_fork(void)
{
    pthread_atfork(cached_lock_take, cached_lock_give, cached_lock_give); /* fails only for ENOMEM */
}

/* n items, all NONE if zero: a kept array that fits, else a new one. */
static pool_value *items_alloc(size_t n, bool zero)
{
    pool_value *items = NULL;
    if (n >= BIG_LIST && n <= CACHED_MAX) {
        pthread_mutex_lock(&cached_lock);
        int best = -1; /* the smallest that fits */
        for (int i = 0; i < CACHED; i++)
            if (cached[i].items && cached[i].cap >= n && (best < 0 || cached[i].cap < cached[best].cap))
                best = i;
        if (best >= 0) {
            items = cached[best].items;
            cached[best].items = NULL;
        }
        pthread_mutex_unlock(&cached_lock);
    }
    if (items && zero)
        memset(items, 0, n * sizeof *items);
    if (!items)
        items = checked(zero ? calloc(n ? n : 1, sizeof *items) : malloc(n ? n * sizeof *items : 1));
    return items;
}

/* Keeps a big array in place of a smaller one, or frees it. */
static void items_free(pool_value *items, size_t n)
{
    if (n >= BIG_LIST && n <= CACHED_MAX) {
        pthread_mutex_lock(&cached_lock);
        int smallest = 0;
        for (int i = 1; i < CACHED; i++)
            if (!cached[i].items || (cached[smallest].items && cached[i].cap < cached[smallest].cap))
                smallest = i;
        if (!cached[smallest].items || cached[smallest].cap < n) {
            pool_value *old = cached[smallest].items;
            cached[smallest].items = items;
            cached[smallest].cap = n;
            items = old;
        }
        pthread_mutex_unlock(&cached_lock);
    }
    free(items);
}

/* At exit, so a leak checker sees every block freed. */
__attribute__((destructor)) static void items_cache_end(void)
{
    for (int i = 0; i < CACHED; i++) {
        free(cached[i].items);
        cached[i].items = NULL;
    }
}

/* ---- Building and freeing ---------------------------------------------- */

pool_value pool_none(void) { return (pool_value){.type = POOL_NONE}; }
pool_value pool_int(long long i) { return (pool_value){.type = POOL_INT, .as.i = i}; }
pool_value pool_float(double f) { return (pool_value){.type = POOL_FLOAT, .as.f = f}; }

/* Strings, bytes and errors share one layout: len bytes and a NUL after. */
static pool_value blob(pool_type type, const void *data, size_t len)
{
    if (len > UINT32_MAX) {
        fputs("pool: value larger than 4 GiB\n", stderr);
        abort();
    }
    pool_value v = {.type = type, .len = (uint32_t)len};
    v.as.s = xmalloc(len + 1);
    if (len)
        memcpy(v.as.s, data, len);
    v.as.s[len] = '\0';
    return v;
}

pool_value pool_str(const char *s) { return blob(POOL_STR, s, strlen(s)); }
pool_value pool_bytes(const void *data, size_t len) { return blob(POOL_BYTES, data, len); }

pool_value pool_error(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return blob(POOL_ERROR, msg, strlen(msg));
}

/* A list whose items are all NONE, or, unless zero, left for the caller to
 * set every one. */
static pool_value list_of(size_t len, bool zero)
{
    if (len > UINT32_MAX) {
        fputs("pool: list longer than 2^32 - 1 items\n", stderr);
        abort();
    }
    pool_value v = {.type = POOL_LIST, .len = (uint32_t)len};
    v.as.items = items_alloc(len, zero);
    return v;
}

pool_value pool_list(size_t len)
{
    return list_of(len, true); /* all zero: all NONE */
}

pool_value pool_tuple(size_t n, ...)
{
    pool_value v = pool_list(n);
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        v.as.items[i] = va_arg(ap, pool_value);
    va_end(ap);
    return v;
}

pool_value pool_range(size_t n)
{
    pool_value v = list_of(n, false);
    for (size_t i = 0; i < n; i++)
        v.as.items[i] = pool_int((long long)i);
    return v;
}

pool_value pool_value_copy(const pool_value *value)
{
    switch (value->type) {
    case POOL_STR:
    case POOL_BYTES:
    case POOL_ERROR:
        return blob(value->type, value->as.s, value->len);
    case POOL_LIST: {
        pool_value v = list_of(value->len, false);
        for (uint32_t i = 0; i < value->len; i++)
            v.as.items[i] = pool_value_copy(&value->as.items[i]);
        return v;
    }
    default:
        return *value;
    }
}

void pool_value_free(pool_value *value)
{
    if (!value)
        return;
    if (value->type == POOL_LIST) {
        for (uint32_t i = 0; i < value->len; i++)
            if (value->as.items[i].type >= POOL_STR) /* numbers own no memory */
                pool_value_free(&value->as.items[i]);
        items_free(value->as.items, value->len);
    } else if (value->type == POOL_STR || value->type == POOL_BYTES ||
               value->type == POOL_ERROR) {
        if (!shm_release(value->as.s)) /* a mapping if it came in shared memory */
            free(value->as.s);
    }
    *value = pool_none();
}

/* ---- Printing as Python's repr() --------------------------------------- */

/* The shortest %.*e that reads back to f, laid out by Python's rule:
 * plain digits for exponents from -4 to 15, scientific notation beyond. */
int pool_float_repr(double f, char *buf, size_t size)
{
    if (isnan(f))
        return snprintf(buf, size, "nan");
    if (isinf(f))
        return snprintf(buf, size, f < 0 ? "-inf" : "inf");

    char sci[40];
    for (int prec = 0; prec < DBL_DECIMAL_DIG; prec++) {
        snprintf(sci, sizeof sci, "%.*e", prec, f);
        if (strtod(sci, NULL) == f)
            break;
    }
    /* sci is now "[-]d[.ddd]e[+-]XX": split it into sign, digits and exponent. */
    const char *p = sci;
    int neg = (*p == '-');
    p += neg;
    char digits[32];
    int nd = 0;
    for (; *p != 'e'; p++)
        if (*p != '.')
            digits[nd++] = *p;
    digits[nd] = '\0';
    int exp = atoi(p + 1);

    char out[64];
    int n = 0;
    if (neg)
        out[n++] = '-';
    if (exp < -4 || exp >= 16) {
        out[n++] = digits[0];
        if (nd > 1)
            n += sprintf(out + n, ".%s", digits + 1);
        n += sprintf(out + n, "e%c%02d", exp < 0 ? '-' : '+', abs(exp));
    } else if (exp < 0) {
        n += sprintf(out + n, "0.");
        for (int z = 0; z < -exp - 1; z++)
            out[n++] = '0';
        n += sprintf(out + n, "%s", digits);
    } else if (nd > exp + 1) {
        n += sprintf(out + n, "%.*s.%s", exp + 1, digits, digits + exp + 1);
    } else {
        n += sprintf(out + n, "%s", digits);
        for (int z = 0; z < exp + 1 - nd; z++)
            out[n++] = '0';
        n += sprintf(out + n, ".0");
    }
    return snprintf(buf, size, "%s", out);
}

/* A small appender that counts what it could not fit, like snprintf; or,
 * with bounded, that stops counting soon after it is full, so a 64 MiB
 * value costs no more to show in 40 characters than a short one. */
typedef struct {
    char *buf;
    size_t size, len;
    bool bounded;
} out_t;

static bool full(const out_t *o)
{
    return o->bounded && o->len >= o->size;
}

static void put(out_t *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void put(out_t *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = o->len < o->size ? o->size - o->len : 0;
    int n = vsnprintf(room ? o->buf + o->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n;
}

static void put_quoted(out_t *o, const unsigned char *s, size_t len, const char *prefix)
{
    put(o, "%s'", prefix);
    for (size_t i = 0; i < len && !full(o); i++) {
        unsigned char c = s[i];
        if (c == '\'' || c == '\\')
            put(o, "\\%c", c);
        else if (c == '\n')
            put(o, "\\n");
        else if (c < 0x20 || c >= 0x7f)
            put(o, "\\x%02x", c);
        else
            put(o, "%c", c);
    }
    put(o, "'");
}

static void repr(out_t *o, const pool_value *v)
{
    char num[40];
    switch (v->type) {
    case POOL_NONE:
        put(o, "None");
        break;
    case POOL_INT:
        put(o, "%lld", v->as.i);
        break;
    case POOL_FLOAT:
        pool_float_repr(v->as.f, num, sizeof num);
        put(o, "%s", num);
        break;
    case POOL_STR:
        put_quoted(o, (const unsigned char *)v->as.s, v->len, "");
        break;
    case POOL_BYTES:
        put_quoted(o, v->as.bytes, v->len, "b");
        break;
    case POOL_LIST:
        put(o, "[");
        for (uint32_t i = 0; i < v->len && !full(o); i++) {
            if (i)
                put(o, ", ");
            repr(o, &v->as.items[i]);
        }
        put(o, "]");
        break;
    case POOL_ERROR:
        put(o, "Error(");
        put_quoted(o, (const unsigned char *)v->as.s, v->len, "");
        put(o, ")");
        break;
    }
}

int pool_value_repr(const pool_value *value, char *buf, size_t size)
{
    out_t o = {buf, size, 0, false};
    if (size)
        buf[0] = '\0';
    repr(&o, value);
    return (int)o.len;
}

int repr_bounded(const pool_value *value, char *buf, size_t size)
{
    out_t o = {buf, size, 0, true};
    if (size)
        buf[0] = '\0';
    repr(&o, value);
    return (int)o.len;
}

/* ---- Wire format ------------------------------------------------------- */

/* One tag byte, then: 8 bytes for an int or a float, a 4-byte length and
 * the bytes for a string, bytes or error, a 4-byte count and the items for
 * a list. Numbers are in host order: both ends are the same program. */

/* Makes room for len more bytes and returns where they go. */
static unsigned char *buf_room(pool_buf *buf, size_t len)
{
    if (buf->len + len > buf->cap) {
        size_t cap = buf->cap ? buf->cap * 2 : 256;
        while (cap < buf->len + len)
            cap *= 2;
        buf->data = xrealloc(buf->data, cap);
        buf->cap = cap;
    }
    unsigned char *at = buf->data + buf->len;
    buf->len += len;
    return at;
}

/* A header: the tag, then 8 bytes of number or a 4-byte length or count. */
static void put_head(pool_buf *buf, const pool_value *value, const void *word, size_t size)
{
    unsigned char *at = buf_room(buf, 1 + size);
    at[0] = (unsigned char)value->type;
    memcpy(at + 1, word, size);
}

/* Whether a value goes in shared memory: big enough, and a socket to send
 * its memfd on. */
static bool by_memfd(const pool_value *value, const wire_shm *shm)
{
    return shm && shm->sock >= 0 && (value->type == POOL_STR || value->type == POOL_BYTES) &&
           value->len >= shm->min;
}

void wire_encode(pool_buf *buf, const pool_value *value, const wire_shm *shm)
{
    if (value->type == POOL_INT || value->type == POOL_FLOAT) { /* the common case first */
        unsigned char *at = buf_room(buf, 9);
        at[0] = (unsigned char)value->type;
        memcpy(at + 1, &value->as.i, 8); /* the bytes of as.i are those of as.f */
        return;
    }
    if (by_memfd(value, shm) && shm_send(shm, value->as.s, value->len) == 0) {
        unsigned char *at = buf_room(buf, 5);
        at[0] = value->type == POOL_STR ? WIRE_SHM_STR : WIRE_SHM_BYTES;
        memcpy(at + 1, &value->len, 4);
        return;
    }
    switch (value->type) {
    case POOL_NONE:
        *buf_room(buf, 1) = POOL_NONE;
        break;
    case POOL_INT:
    case POOL_FLOAT: /* the bytes of as.i are those of as.f */
        put_head(buf, value, &value->as.i, 8);
        break;
    case POOL_STR:
    case POOL_BYTES:
    case POOL_ERROR:
        put_head(buf, value, &value->len, 4);
        memcpy(buf_room(buf, value->len), value->as.s, value->len);
        break;
    case POOL_LIST:
        put_head(buf, value, &value->len, 4);
        for (uint32_t i = 0; i < value->len; i++)
            wire_encode(buf, &value->as.items[i], shm);
        break;
    }
}

void pool_encode(pool_buf *buf, const pool_value *value)
{
    wire_encode(buf, value, NULL);
}

/* depth: the lists around this value. Nesting deeper than POOL_MAX_DEPTH
 * is refused, so hostile input cannot overflow the stack. */
static size_t decode(const unsigned char *data, size_t len, pool_value *v, int depth,
                     const wire_shm *shm)
{
    if (len >= 9 && (data[0] == POOL_INT || data[0] == POOL_FLOAT)) { /* the common case first */
        v->type = data[0];
        v->len = 0;
        memcpy(&v->as.i, data + 1, 8);
        return 9;
    }
    *v = pool_none();
    if (len < 1)
        return 0;
    size_t used = 1;
    uint32_t n;
    switch (data[0]) {
    case POOL_NONE:
        return 1;
    case POOL_INT:
    case POOL_FLOAT: /* shorter than 9 bytes, or it was taken above */
        return 0;
    case POOL_STR:
    case POOL_BYTES:
    case POOL_ERROR:
        if (len < 5)
            return 0;
        memcpy(&n, data + 1, 4);
        if (n > len - 5)
            return 0;
        *v = blob(data[0], data + 5, n);
        return 5 + (size_t)n;
    case WIRE_SHM_STR:
    case WIRE_SHM_BYTES:
        if (len < 5 || !shm || shm->sock < 0)
            return 0;
        memcpy(&n, data + 1, 4);
        v->as.s = shm_receive(shm, n);
        if (!v->as.s)
            return 0;
        v->type = data[0] == WIRE_SHM_STR ? POOL_STR : POOL_BYTES;
        v->len = n;
        return 5;
    case POOL_LIST:
        if (len < 5 || depth >= POOL_MAX_DEPTH)
            return 0;
        memcpy(&n, data + 1, 4);
        used = 5;
        if (n > len - used) /* every item takes at least one byte */
            return 0;
        *v = pool_list(n);
        for (uint32_t i = 0; i < n; i++) {
            size_t k = decode(data + used, len - used, &v->as.items[i], depth + 1, shm);
            if (k == 0) {
                pool_value_free(v);
                return 0;
            }
            used += k;
        }
        return used;
    default:
        return 0;
    }
}

size_t wire_decode(const unsigned char *data, size_t len, pool_value *value,
                   const wire_shm *shm)
{
    return decode(data, len, value, 0, shm);
}

size_t pool_decode(const unsigned char *data, size_t len, pool_value *value)
{
    return decode(data, len, value, 0, NULL);
}
