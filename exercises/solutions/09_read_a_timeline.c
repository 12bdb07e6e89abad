/* 09_read_a_timeline.c - reference solution of exercise 09.
 *
 * Item i of job j ran in the process of the "task" slice with args job j
 * and index i: its pid's "process_name" event names it. The callback
 * waited from the job's last "result" instant to its "callback" slice, and
 * behind the first callback slice of another job that overlaps that wait.
 * Students work on exercises/09_read_a_timeline.c.
 */
#include "timeline.h" /* the events, and main(), which asks the two functions */

static bool is_slice(const event *e, const char *name)
{
    return e->ph == 'X' && strcmp(e->name, name) == 0;
}

static const char *which_worker(const event *events, size_t n, long job, long index)
{
    for (size_t i = 0; i < n; i++) {
        if (!is_slice(&events[i], "task") || events[i].job != job || events[i].index != index)
            continue;
        for (size_t k = 0; k < n; k++)
            if (events[k].ph == 'M' && strcmp(events[k].name, "process_name") == 0 &&
                events[k].pid == events[i].pid)
                return events[k].label;
    }
    return NULL;
}

static double callback_wait(const event *events, size_t n, long job, long *behind)
{
    const event *callback = NULL, *first = NULL;
    double last_result = -1;

    for (size_t i = 0; i < n; i++) {
        const event *e = &events[i];
        if (e->job != job)
            continue;
        if (e->ph == 'i' && strcmp(e->name, "result") == 0 && e->ts > last_result)
            last_result = e->ts;
        if (is_slice(e, "callback"))
            callback = e;
    }
    *behind = 0;
    if (!callback || last_result < 0)
        return -1;
    /* Of the other jobs' callback slices that overlap the wait, the first. */
    for (size_t i = 0; i < n; i++) {
        const event *e = &events[i];
        bool overlaps = e->ts < callback->ts && e->ts + e->dur > last_result;
        if ((is_slice(e, "callback") || is_slice(e, "error_callback")) && e->job != job &&
            overlaps && (!first || e->ts < first->ts))
            first = e;
    }
    if (first)
        *behind = first->job;
    return (callback->ts - last_result) / 1000.0;
}
