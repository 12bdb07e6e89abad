/* timeline.h - exercise 09's timeline: the event type its two functions
 * read, and the main() that loads a recorded timeline and asks them about
 * it. Each 09 program (the starter, its solutions, the wrong answers)
 * includes this and defines which_worker() and callback_wait(). */
#ifndef TIMELINE_H
#define TIMELINE_H

#include "lesson.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One event of the timeline, as scripts/trace_to_tsv.py writes it. */
typedef struct event {
    char name[32];  /* "task", "result", "callback", ...; "process_name" for a name */
    char ph;        /* 'X' a slice from ts to ts + dur, 'i' an instant, 'M' a name */
    long pid, tid;  /* the process, and the thread in it (tid == pid: its main thread) */
    double ts, dur; /* microseconds from the start of the trace; dur 0 unless 'X' */
    long job, index, worker, first, count; /* the event's args; -1 where it has none */
    char label[64]; /* an 'M' event's name: "PoolWorker-2", "result-handler"; else "" */
} event;

static const char *which_worker(const event *events, size_t n, long job, long index);
static double callback_wait(const event *events, size_t n, long job, long *behind);

#ifndef TIMELINES_DIR /* the Makefile says where it made the timelines */
#define TIMELINES_DIR "build/exercises/timelines"
#endif
#define MAX_EVENTS 1000
#define ASKED_JOB 3
#define ASKED_ITEM 3

/* TIMELINE names a timeline of TIMELINES_DIR without its ".tsv" ("09_b"),
 * or is a path to one (it has a "/"); without it, 09_a. name: the file's
 * name without ".tsv", to print. */
static void timeline_path(char *path, size_t size, char *name, size_t name_size)
{
    const char *want = getenv("TIMELINE"), *base;
    size_t len;

    if (!want || !*want)
        want = "09_a";
    if (strchr(want, '/'))
        snprintf(path, size, "%s", want);
    else
        snprintf(path, size, "%s/%s.tsv", TIMELINES_DIR, want);
    base = strrchr(path, '/') + 1;
    len = strlen(base);
    if (len > 4 && strcmp(base + len - 4, ".tsv") == 0)
        len -= 4;
    snprintf(name, name_size, "%.*s", (int)len, base);
}

/* Reads the events into events[]; returns how many, or -1 after saying why
 * on stderr in one line. */
static long load(const char *path, event *events, size_t max)
{
    FILE *f = fopen(path, "r");
    char line[512];
    long n = 0, lineno = 0;

    if (!f) {
        fprintf(stderr, "Timeline: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof line, f)) {
        event *e = &events[n];
        lineno++;
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if ((size_t)n == max) {
            fprintf(stderr, "Timeline: %s has more than %zu events\n", path, max);
            n = -1;
            break;
        }
        if (sscanf(line, "%31s %c %ld %ld %lf %lf %ld %ld %ld %ld %ld %63[^\n]", e->name, &e->ph,
                   &e->pid, &e->tid, &e->ts, &e->dur, &e->job, &e->index, &e->worker,
                   &e->first, &e->count, e->label) != 12) {
            fprintf(stderr, "Timeline: %s, line %ld: not an event of 12 fields\n", path,
                    lineno);
            n = -1;
            break;
        }
        if (strcmp(e->label, "-") == 0)
            e->label[0] = '\0';
        n++;
    }
    fclose(f);
    return n;
}

int main(void)
{
    static event events[MAX_EVENTS];
    char path[4096], name[256];
    const char *worker;
    double wait;
    long n, behind = -1;

    timeline_path(path, sizeof path, name, sizeof name);
    lesson_say("Timeline: %s", name);
    n = load(path, events, MAX_EVENTS);
    if (n < 0)
        return 1;

    worker = which_worker(events, (size_t)n, ASKED_JOB, ASKED_ITEM);
    lesson_say("Item %d of job %d ran on %s.", ASKED_ITEM, ASKED_JOB, worker ? worker : "?");
    wait = callback_wait(events, (size_t)n, ASKED_JOB, &behind);
    lesson_say("Job %d's callback waited %.2f ms.", ASKED_JOB, wait);
    if (behind > 0)
        lesson_say("It waited behind job %ld's callback.", behind);
    else
        lesson_say("It waited behind no other callback.");
    return 0;
}

#endif
