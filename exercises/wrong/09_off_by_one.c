/* WRONG: counts the items from 1, so it looks up item 3 as index 2, the third item. Caught by: WORKER */
#include "timeline.h" /* the events, and main(), which asks the two functions */

static bool is_slice(const event *e, const char *name)
{
    return e->ph == 'X' && strcmp(e->name, name) == 0;
}

static const char *which_worker(const event *events, size_t n, long job, long index)
{
    for (size_t i = 0; i < n; i++) {
        if (!is_slice(&events[i], "task") || events[i].job != job || events[i].index != index - 1)
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
