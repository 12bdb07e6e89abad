/* 09_read_a_timeline.c - exercise: answer two questions from a recorded trace.
 *
 * A pool of two workers ran three submissions, and the pool recorded every
 * step (POOL_TRACE). main loads that timeline, one event per array entry,
 * and asks two questions about job 3, a map of six items: which worker ran
 * its item 3, and how long its callback waited behind another callback.
 * Write the two functions that answer from the events.
 * Check it with `make exercise-09`; the statement is
 * docs/exercises/09_read_a_timeline.md. Lesson 13 shows the waiting.
 */
#include "timeline.h" /* the events, and main(), which asks the two functions */

/* TODO 1: the name of the worker process ("PoolWorker-1") that ran item
 * `index` of job `job`, or NULL if the timeline has no such task. A task
 * is an 'X' event named "task"; the "process_name" event with the same
 * pid names its process. */
static const char *which_worker(const event *events, size_t n, long job, long index)
{
    (void)events;
    (void)n;
    (void)job;
    (void)index;
    return NULL;
}

/* TODO 2: how long, in milliseconds, job `job`'s callback waited: from the
 * moment the task-handler read the job's last result (its last "result"
 * instant) to the start of its "callback" slice. Set *behind to the job it
 * waited behind: of the callback slices of other jobs that overlap the
 * wait, the first to start (the one running when the result was read, if
 * one was); 0 if none. Return -1 if the job has no callback. */
static double callback_wait(const event *events, size_t n, long job, long *behind)
{
    (void)events;
    (void)n;
    (void)job;
    *behind = 0;
    return 0.0;
}
