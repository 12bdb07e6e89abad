/* mpi_util.h - what the MPI tests share: capturing what rank 0 writes to a
 * descriptor, a clock, and one short task. Rank 0's own lines (the pool's
 * reports, callbacks, worker ranks' lines that the link thread writes) go
 * to its fd 1 and 2, so a test reads them back from a file. */
#ifndef MPI_UTIL_H
#define MPI_UTIL_H

#include "../check.h"
#include "pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct capture {
    int fd, saved;
    char path[64];
} capture;

/* Sends fd (1 or 2) to a fresh file until capture_end(); exits on failure,
 * since a test that cannot capture cannot check anything. */
static inline capture capture_begin(int fd)
{
    capture c = {.fd = fd};
    snprintf(c.path, sizeof c.path, "/tmp/mpi_capture_XXXXXX");
    fflush(fd == 1 ? stdout : stderr);
    int f = mkstemp(c.path);
    c.saved = dup(fd);
    if (f < 0 || c.saved < 0 || dup2(f, fd) != fd) {
        perror("capture_begin");
        exit(2);
    }
    close(f); /* fd holds the file now */
    return c;
}

/* Puts fd back and returns what was written to it, to be freed. */
static inline char *capture_end(capture *c)
{
    fflush(c->fd == 1 ? stdout : stderr);
    if (dup2(c->saved, c->fd) != c->fd) {
        perror("capture_end");
        exit(2);
    }
    close(c->saved); /* a dup of fd, now restored: nothing to lose */
    FILE *f = fopen(c->path, "r");
    if (!f) {
        perror(c->path);
        exit(2);
    }
    size_t cap = 1 << 16, len = 0, n;
    char *text = malloc(cap);
    while (text && (n = fread(text + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2)
            text = realloc(text, cap *= 2);
    }
    fclose(f); /* read only */
    unlink(c->path); /* a leftover file in /tmp is harmless */
    if (!text) {
        perror("capture_end");
        exit(2);
    }
    text[len] = '\0';
    return text;
}

static inline int count_lines(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static inline double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0)
        continue; /* EINTR: sleep the rest */
}

/* Returns its first argument, twice over: a task that surely works. */
static inline pool_value twice(const pool_value *args, size_t nargs)
{
    return pool_int(nargs && args[0].type == POOL_INT ? 2 * args[0].as.i : -1);
}

#endif
