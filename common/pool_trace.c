/* pool_trace.c - the trace file. With POOL_TRACE=path in the environment,
 * or pool_config.trace, the parent writes every step of a submission's
 * life to path in the Chrome Trace Event Format (JSON), which Perfetto's UI
 * and chrome://tracing open. Only the parent writes: a worker's task notes
 * come with its results (pool_worker.c). docs/tracing.md lists the events.
 *
 * The file is "[", then one event per line, each after the first starting
 * with a comma, then "]" whenever the last pool writing to it is destroyed.
 * So the file is JSON while no pool runs, and a crashed program's file is
 * whole lines up to where it stopped. Pools of one process that name the same path share
 * one file and are told apart by their number, args.pool.
 *
 * The lock rule: a tracer's lock is a leaf. It is held only to append an
 * event to the buffer, and the pool lock may be held around it. The file is
 * written under the tracer's write_lock alone, which no thread takes with
 * the pool lock held: a full buffer waits for a thread's next unlocked
 * moment (trace_flush_if_full), so no pool thread waits on the disk with
 * the pool lock held. Order: tracers_lock, write_lock, lock. */
#include "pool_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FLUSH_AT 65536 /* bytes kept before a write(); a crash loses at most these */

struct tracer {
    pthread_mutex_t lock;       /* guards what follows, but for fd and flows */
    pthread_mutex_t write_lock; /* one write at a time, in order; guards fd */
    atomic_bool full;           /* buf has FLUSH_AT bytes or more */
    char *asked;         /* the path a pool named */
    char *path;          /* the file written: asked, or asked.PID in a forked child */
    int fd;              /* -1 while no pool writes */
    pid_t owner;         /* the process that opened it; a forked child does not write here */
    int users;           /* pools writing here now */
    int pools;           /* pools that ever did, to number them */
    bool started;        /* an event is written: the next one needs a comma */
    pool_buf buf;
    long long *named;    /* pids and tids whose name is written, as 2 * id + is_thread */
    size_t n_named, cap_named;
    atomic_ullong flows; /* flow ids handed out; one per traced item with a callback */
    struct tracer *next;
};

static pthread_mutex_t tracers_lock = PTHREAD_MUTEX_INITIALIZER; /* guards tracers */
static struct tracer *tracers;

/* getpid() and gettid() are system calls, and a traced task has about ten
 * events: each thread keeps both, and a fork tells every thread to look
 * again. */
static atomic_uint forks;
static void forked(void);
static void register_fork(void)
{
    pthread_atfork(NULL, NULL, forked);
}
static _Thread_local struct { unsigned forks; bool known; pid_t pid, tid; } me;

static void forked(void)
{
    atomic_fetch_add(&forks, 1);
}

static void who_am_i(pid_t *pid, pid_t *tid)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_fork);
    unsigned now = atomic_load(&forks);
    if (!me.known || me.forks != now) {
        me.pid = getpid();
        me.tid = gettid();
        me.forks = now;
        me.known = true;
    }
    *pid = me.pid;
    *tid = me.tid;
}

long long trace_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Writes data; the caller holds t->write_lock. A failed write loses the
 * events, not the program: tracing must never stop the pool. */
static void write_out(tracer *t, const pool_buf *data)
{
    if (t->fd >= 0 && data->len && write_all(t->fd, data->data, data->len) != 0) {
        report("pool: trace file %s: %s; tracing stops", t->path, strerror(errno));
        close(t->fd);
        t->fd = -1;
    }
}

/* Opens t's file for writing: new, or, for a later pool of the program,
 * the finished file with its closing "]" taken off. The caller holds
 * tracers_lock, and no pool writes to t. */
static bool reopen(tracer *t)
{
    int fd = open(t->path, O_WRONLY | O_CLOEXEC | (t->started ? 0 : O_CREAT | O_TRUNC), 0644);
    if (fd >= 0)
        fd = fd_above_stdio(fd);
    off_t end = fd >= 0 && t->started ? lseek(fd, 0, SEEK_END) : 0;
    if (fd >= 0 && t->started && (end < 2 || ftruncate(fd, end - 2) != 0 ||
                                  lseek(fd, end - 2, SEEK_SET) < 0)) {
        close(fd);
        fd = -1;
        errno = end < 2 ? EINVAL : errno; /* not the file we ended */
    }
    if (fd < 0) {
        report("pool: cannot write the trace file %s: %s; running untraced", t->path,
               strerror(errno));
        return false;
    }
    t->fd = fd;
    if (!t->started) {
        buf_reserve(&t->buf, 2);
        memcpy(t->buf.data, "[\n", 2);
        t->buf.len = 2;
    }
    return true;
}

tracer *trace_open(const char *path, int *pool_no)
{
    pthread_mutex_lock(&tracers_lock);
    tracer *t = tracers;
    while (t && !(t->owner == getpid() && strcmp(t->asked, path) == 0))
        t = t->next;
    if (!t) {
        /* A child the program forked gets a file of its own: path.PID. */
        bool inherited = false;
        for (tracer *o = tracers; o; o = o->next)
            inherited = inherited || strcmp(o->asked, path) == 0;
        t = xcalloc(1, sizeof *t);
        t->fd = -1;
        t->asked = strdup(path);
        if (!t->asked || (inherited ? asprintf(&t->path, "%s.%d", path, (int)getpid()) < 0
                                    : !(t->path = strdup(path))))
            abort(); /* out of memory is fatal, as everywhere in the pool */
        pthread_mutex_init(&t->lock, NULL);
        pthread_mutex_init(&t->write_lock, NULL);
        t->owner = getpid();
        t->next = tracers;
        tracers = t;
    }
    if (t->users == 0 && !reopen(t)) {
        pthread_mutex_unlock(&tracers_lock);
        return NULL;
    }
    t->users++;
    *pool_no = ++t->pools;
    pthread_mutex_unlock(&tracers_lock);
    return t;
}

const char *trace_path(const tracer *t)
{
    return t->path; /* set once at open */
}

/* Takes the buffer out under the tracer's lock and writes it outside. */
void trace_flush(tracer *t)
{
    pthread_mutex_lock(&t->write_lock);
    pthread_mutex_lock(&t->lock);
    pool_buf out = t->buf;
    t->buf = (pool_buf){0};
    atomic_store(&t->full, false);
    pthread_mutex_unlock(&t->lock);
    write_out(t, &out);
    free(out.data);
    pthread_mutex_unlock(&t->write_lock);
}

void trace_flush_if_full(tracer *t)
{
    if (t && atomic_load(&t->full))
        trace_flush(t);
}

/* The last pool to close ends the file, so it is JSON while no pool runs;
 * the tracer stays listed, so a later pool of the program writes on. */
void trace_close(tracer *t)
{
    pthread_mutex_lock(&tracers_lock);
    pthread_mutex_lock(&t->lock);
    if (--t->users == 0) {
        buf_reserve(&t->buf, 2);
        memcpy(t->buf.data + t->buf.len, "]\n", 2);
        t->buf.len += 2;
    }
    bool last = t->users == 0;
    pthread_mutex_unlock(&t->lock);
    trace_flush(t);
    if (last) { /* no pool writes here now: no lock needed */
        if (t->fd >= 0)
            close(t->fd);
        t->fd = -1;
    }
    pthread_mutex_unlock(&tracers_lock);
}

unsigned long long trace_flow_ids(tracer *t, size_t n)
{
    return atomic_fetch_add(&t->flows, n) + 1; /* no lock: one per submission */
}

/* The buffer now holds len bytes, ending in a whole event; the caller
 * holds t->lock. */
static void appended(tracer *t, size_t len)
{
    t->buf.len = len;
    t->started = true;
    if (t->buf.len >= FLUSH_AT)
        atomic_store(&t->full, true);
}

/* Appends one event; the caller holds t->lock. One pass of vsnprintf
 * does, as an event is far shorter than the room made for it. */
static void vappend(tracer *t, const char *fmt, va_list ap)
{
    enum { ROOM = 4096 };
    va_list again;
    va_copy(again, ap);
    buf_reserve(&t->buf, ROOM + 2);
    char *at = (char *)t->buf.data + t->buf.len + t->started;
    int n = vsnprintf(at, ROOM, fmt, ap);
    if (n >= ROOM) { /* longer after all: make room and write it again */
        buf_reserve(&t->buf, (size_t)n + 3);
        at = (char *)t->buf.data + t->buf.len + t->started;
        n = vsnprintf(at, (size_t)n + 1, fmt, again);
    }
    va_end(again);
    if (n < 0)
        return;
    if (t->started)
        at[-1] = ',';
    at[n] = '\n';
    appended(t, t->buf.len + (size_t)n + 1 + t->started);
}

static void append(tracer *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vappend(t, fmt, ap);
    va_end(ap);
}

static bool named(const tracer *t, pid_t pid, pid_t tid, bool is_thread)
{
    long long key = 2LL * (is_thread ? tid : pid) + is_thread;
    for (size_t i = 0; i < t->n_named; i++)
        if (t->named[i] == key)
            return true;
    return false;
}

/* Writes the name of a process (is_thread false) or thread once. */
static void name_once(tracer *t, pid_t pid, pid_t tid, bool is_thread, const char *name)
{
    long long key = 2LL * (is_thread ? tid : pid) + is_thread;
    if (named(t, pid, tid, is_thread))
        return;
    if (t->n_named == t->cap_named) {
        t->cap_named = t->cap_named ? 2 * t->cap_named : 16;
        long long *grown = realloc(t->named, t->cap_named * sizeof *grown);
        if (!grown)
            abort(); /* out of memory is fatal, as everywhere in the pool */
        t->named = grown;
    }
    t->named[t->n_named++] = key;
    char quoted[160];
    trace_quote(name, quoted, sizeof quoted);
    append(t, "{\"ph\":\"M\",\"name\":\"%s\",\"pid\":%d,\"tid\":%d,\"args\":{\"name\":%s}}",
           is_thread ? "thread_name" : "process_name", (int)pid, (int)tid, quoted);
}

void trace_name(tracer *t, pid_t pid, pid_t tid, bool is_thread, const char *name)
{
    pthread_mutex_lock(&t->lock);
    name_once(t, pid, tid, is_thread, name);
    pthread_mutex_unlock(&t->lock);
}

/* The calling thread's lane name: the pool's two threads by role, main by
 * its place, any other by the name the program gave it. */
static void thread_name(const pool_t *pool, char *name, size_t size, pid_t pid, pid_t tid)
{
    char suffix[24] = "";
    if (pool->trace_no > 1)
        snprintf(suffix, sizeof suffix, " (pool %d)", pool->trace_no);
    if (on_task_handler_thread(pool))
        snprintf(name, size, "task-handler%s", suffix);
    else if (on_result_handler_thread(pool))
        snprintf(name, size, "result-handler%s", suffix);
    else if (tid == pid)
        snprintf(name, size, "main");
    else if (pthread_getname_np(pthread_self(), name, size) != 0 || !name[0])
        snprintf(name, size, "thread %d", (int)tid);
}

/* The events of every task are put together by hand, not by printf: at
 * ten of them per task, printf's parsing was most of tracing's cost. */
enum { EVENT_ROOM = 512, ARGS_ROOM = 4096 };

static char *put(char *at, const char *text)
{
    size_t n = strlen(text);
    memcpy(at, text, n);
    return at + n;
}

static char *put_num(char *at, unsigned long long v)
{
    char digits[24];
    int n = 0;
    do
        digits[n++] = (char)('0' + v % 10);
    while (v /= 10);
    while (n)
        *at++ = digits[--n];
    return at;
}

/* Nanoseconds as microseconds with three decimals, the format's unit. */
static char *put_us(char *at, long long ns)
{
    if (ns < 0) {
        *at++ = '-';
        ns = -ns;
    }
    at = put_num(at, (unsigned long long)ns / 1000);
    *at++ = '.';
    *at++ = (char)('0' + ns % 1000 / 100);
    *at++ = (char)('0' + ns % 100 / 10);
    *at++ = (char)('0' + ns % 10);
    return at;
}

/* The args of an event, from the pool's own formats: %d, %ld, %lu, %zu
 * and %s, as vsnprintf() would write them, at a fraction of its cost (most
 * events are written with the pool lock held). Any other format goes to
 * vsnprintf(). The result is cut at room - 1 bytes. */
static char *put_args(char *at, size_t room, const char *fmt, va_list ap)
{
    char *end = at + room - 24; /* room for one number past the check */
    for (const char *f = fmt; *f; f++) {
        if (at >= end)
            return at;
        if (*f != '%') {
            *at++ = *f;
            continue;
        }
        long long v;
        if (f[1] == 'd') {
            v = va_arg(ap, int);
            f += 1;
        } else if (f[1] == 'l' && f[2] == 'd') {
            v = va_arg(ap, long);
            f += 2;
        } else if (f[1] == 'l' && f[2] == 'u') {
            at = put_num(at, va_arg(ap, unsigned long));
            f += 2;
            continue;
        } else if (f[1] == 'z' && f[2] == 'u') {
            at = put_num(at, va_arg(ap, size_t));
            f += 2;
            continue;
        } else if (f[1] == 's') {
            const char *str = va_arg(ap, const char *);
            size_t n = strlen(str);
            if (n > (size_t)(end - at))
                n = (size_t)(end - at);
            memcpy(at, str, n);
            at += n;
            f += 1;
            continue;
        } else { /* not one of ours: the rest as vsnprintf() writes it */
            int n = vsnprintf(at, (size_t)(end - at), f, ap);
            return at + (n < 0 ? 0 : n < end - at ? n : end - at - 1);
        }
        if (v < 0) {
            *at++ = '-';
            at = put_num(at, -(unsigned long long)v);
        } else {
            at = put_num(at, (unsigned long long)v);
        }
    }
    return at;
}

/* Where the next event goes, with room for it and its comma and newline;
 * the caller holds t->lock. */
static char *event_start(tracer *t, size_t room)
{
    buf_reserve(&t->buf, room + 2);
    char *at = (char *)t->buf.data + t->buf.len;
    if (t->started)
        *at++ = ',';
    return at;
}

static void event_end(tracer *t, char *at)
{
    *at++ = '\n';
    appended(t, (size_t)(at - (char *)t->buf.data));
}

/* Appends a whole event, formatted outside the lock; the caller holds
 * t->lock, which is held only for this copy. */
static void add_line(tracer *t, const char *line, size_t len)
{
    char *at = event_start(t, len);
    memcpy(at, line, len);
    event_end(t, at + len);
}

/* The calling thread's own lines, if it is one of pool's handler threads. */
static int own_lines(const pool_t *pool)
{
    return on_task_handler_thread(pool) ? 0 : on_result_handler_thread(pool) ? 1 : -1;
}

/* Adds an event of the calling thread: a handler thread's goes to its own
 * lines, with no lock, once its lane is named; any other to the buffer. */
static void add_event(pool_t *pool, bool here, pid_t pid, pid_t tid, const char *line,
                      size_t len)
{
    tracer *t = pool->trace;
    int k = own_lines(pool);
    if (k >= 0 && (!here || pool->trace_named[k])) {
        pool_buf *b = &pool->trace_lines[k];
        buf_reserve(b, len + 2);
        b->data[b->len] = ','; /* trace_unlocked drops the file's first one */
        memcpy(b->data + b->len + 1, line, len);
        b->data[b->len + 1 + len] = '\n';
        b->len += len + 2;
        return;
    }
    char name[64];
    pthread_mutex_lock(&t->lock);
    if (here && !named(t, pid, tid, true)) {
        thread_name(pool, name, sizeof name, pid, tid);
        name_once(t, pid, pid, false, "main");
        name_once(t, pid, tid, true, name);
    }
    if (k >= 0)
        pool->trace_named[k] = true;
    add_line(t, line, len);
    pthread_mutex_unlock(&t->lock);
}

void trace_unlocked(pool_t *pool)
{
    tracer *t = pool->trace;
    int k = t ? own_lines(pool) : -1;
    if (k >= 0 && pool->trace_lines[k].len) {
        pool_buf *b = &pool->trace_lines[k];
        pthread_mutex_lock(&t->lock);
        size_t skip = t->started ? 0 : 1; /* the file's first event has no comma */
        buf_reserve(&t->buf, b->len);
        memcpy(t->buf.data + t->buf.len, b->data + skip, b->len - skip);
        appended(t, t->buf.len + b->len - skip);
        pthread_mutex_unlock(&t->lock);
        b->len = 0;
    }
    trace_flush_if_full(t);
}

void trace_event(pool_t *pool, char ph, const char *what, pid_t pid, long long ts,
                 long long dur, const char *args_fmt, ...)
{
    char line[EVENT_ROOM + ARGS_ROOM];
    pid_t tid = pid;
    bool here = pid == 0;
    pid_t me;
    if (here)
        who_am_i(&pid, &tid);
    else if (pool->config.threads) /* a thread worker's lane: our pid, its tid */
        who_am_i(&pid, &me);
    char *at = put(line, ph == 'X' ? "{\"ph\":\"X\",\"cat\":\"pool\",\"name\":\""
                                   : "{\"ph\":\"i\",\"s\":\"t\",\"cat\":\"pool\",\"name\":\"");
    at = put(at, what);
    at = put_num(put(at, "\",\"pid\":"), (unsigned)pid);
    at = put_num(put(at, ",\"tid\":"), (unsigned)tid);
    at = put_us(put(at, ",\"ts\":"), ts);
    if (ph == 'X')
        at = put_us(put(at, ",\"dur\":"), dur);
    at = put_num(put(at, ",\"args\":{\"pool\":"), (unsigned)pool->trace_no);
    if (args_fmt) {
        va_list ap;
        va_start(ap, args_fmt);
        at = put_args(at, ARGS_ROOM, args_fmt, ap);
        va_end(ap);
    }
    at = put(at, "}}");
    add_event(pool, here, pid, tid, line, (size_t)(at - line));
}

void trace_flow(pool_t *pool, unsigned long long id, pid_t from, long long from_ts,
                long long to_ts)
{
    pid_t pid, tid;
    who_am_i(&pid, &tid);
    char s_line[EVENT_ROOM], f_line[EVENT_ROOM];
    char *at = put_num(put(s_line, "{\"ph\":\"s\",\"cat\":\"pool\",\"name\":\"result\",\"pid\":"),
                       (unsigned)(pool->config.threads ? pid : from)); /* a thread worker's: ours */
    at = put_num(put(at, ",\"tid\":"), (unsigned)from);
    at = put_us(put(at, ",\"ts\":"), from_ts);
    at = put(put_num(put(at, ",\"id\":"), id), "}");
    size_t s_len = (size_t)(at - s_line);
    at = put_num(put(f_line, "{\"ph\":\"f\",\"bp\":\"e\",\"cat\":\"pool\",\"name\":\"result\","
                             "\"pid\":"), (unsigned)pid);
    at = put_num(put(at, ",\"tid\":"), (unsigned)tid);
    at = put_us(put(at, ",\"ts\":"), to_ts);
    at = put(put_num(put(at, ",\"id\":"), id), "}");
    add_event(pool, false, pid, tid, s_line, s_len); /* a callback's own event named it */
    add_event(pool, false, pid, tid, f_line, (size_t)(at - f_line));
}

void trace_quote(const char *s, char *out, size_t size)
{
    size_t n = 0;
    out[n++] = '"';
    for (; *s && n + 8 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
        } else if (c < 0x20) {
            n += (size_t)snprintf(out + n, size - n, "\\u%04x", c);
        } else {
            out[n++] = (char)c;
        }
    }
    out[n++] = '"';
    out[n] = '\0';
}

void trace_repr(const pool_value *v, size_t max, char *out, size_t size)
{
    char text[TRACE_REPR_MAX + 4];
    if (max > TRACE_REPR_MAX)
        max = TRACE_REPR_MAX;
    int n = repr_bounded(v, text, max + 1);
    if (n > (int)max)
        memcpy(text + max - 3, "...", 4); /* cut: it ends in "..." */
    trace_quote(text, out, size);
}
