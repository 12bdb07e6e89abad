/* 09_read_a_timeline.c - a second correct answer to exercise 09, in
 * another style: a lookup of the process name by pid, and one pass over
 * the events in time order (the timeline is sorted by ts) that keeps the
 * callback slice last seen starting on the result-handler: the one running
 * at the last read, or else the next to start.
 * The reference solution is exercises/solutions/09_read_a_timeline.c.
 */
#include "timeline.h" /* the events, and main(), which asks the two functions */

/* The name of process pid, from its "process_name" event, or NULL. */
static const char *process_name(const event *events, size_t n, long pid)
{
    for (size_t i = 0; i < n; i++)
        if (events[i].ph == 'M' && events[i].pid == pid &&
            strcmp(events[i].name, "process_name") == 0)
            return events[i].label;
    return NULL;
}

static const char *which_worker(const event *events, size_t n, long job, long index)
{
    size_t i = 0;

    while (i < n && !(events[i].ph == 'X' && strcmp(events[i].name, "task") == 0 &&
                      events[i].job == job && events[i].index == index))
        i++;
    return i < n ? process_name(events, n, events[i].pid) : NULL;
}

static double callback_wait(const event *events, size_t n, long job, long *behind)
{
    const event *running = NULL; /* the last callback slice to start */
    const event *read = NULL;    /* the job's latest result instant so far */

    *behind = 0;
    for (size_t i = 0; i < n; i++) {
        const event *e = &events[i];
        bool slice = e->ph == 'X' && (strcmp(e->name, "callback") == 0 ||
                                      strcmp(e->name, "error_callback") == 0);

        if (slice && e->job == job && strcmp(e->name, "callback") == 0)
            return read ? (e->ts - read->ts) / 1000.0 : -1;
        if (slice && read && *behind == 0)
            *behind = e->job; /* the result-handler was idle at the read */
        if (slice)
            running = e;
        if (e->ph == 'i' && e->job == job && strcmp(e->name, "result") == 0) {
            read = e; /* a later one replaces it: the last read counts */
            *behind = running && running->ts + running->dur > e->ts ? running->job : 0;
        }
    }
    return -1;
}
