/* lesson.h - the little that every lesson needs and that is not the lesson:
 * printing one line, one error idiom, random numbers, and describing the
 * current process and thread. Submitting, waiting, closing and joining are
 * the lessons' own business, so none of them is hidden here.
 */
#ifndef LESSON_H
#define LESSON_H

#include "pool.h"

/* ---- Printing ---------------------------------------------------------- */

/* Prints one formatted line and flushes stdout, like Python's
 * print(..., flush=True). The line leaves in a single write(2), so lines
 * from the main process, the callback thread and the workers never merge. */
void lesson_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Text that lives until the end of the statement that made it:
 *     lesson_say("got %s", lesson_repr(value).text);                     */
typedef struct lesson_text {
    char text[96];
} lesson_text;

/* A value as Python's repr() shows it: 0.25, None, [1, 2]. */
lesson_text lesson_repr(const pool_value *value);
/* A double as Python's repr() shows it: the shortest digits that read back
 * to the same double. */
lesson_text lesson_float(double f);

/* ---- Errors ------------------------------------------------------------ */

/* The one error idiom of the lessons: a pool call that fails ends the
 * program with a message naming the call and the pool's reason.
 *     LESSON_TRY(pool_close(pool));                                      */
#define LESSON_TRY(call) lesson_try((call), #call)
void lesson_try(int err, const char *call);

/* ---- Random numbers and time ------------------------------------------- */

/* Seeds drand48() in the main process, as Python seeds random at start-up.
 * Workers need no call: the pool seeds each one differently. */
void lesson_seed(void);
/* A double in [0, 1), like Python's random.random(). */
double lesson_random(void);
/* Sleeps for a fraction of a second too, like Python's time.sleep(). */
void lesson_sleep(double seconds);

/* ---- Who is running ---------------------------------------------------- */

/* "name=PoolWorker-1 pid=4242 parent=4240": the process's name (its main
 * thread's name, as ps shows it), its pid and its parent's pid. */
lesson_text lesson_process(void);
/* "name=result-handler tid=4243": the calling thread's name and its kernel
 * thread id (gettid), which equals the pid on a process's main thread. */
lesson_text lesson_thread(void);
/* "PoolWorker-1 (pid 4242)": the calling process named as the pool's error
 * messages name a worker, so a task's line can be matched with them. */
lesson_text lesson_worker(void);

/* ---- A signal from a task --------------------------------------------- */

/* Flags in memory shared with the workers: a task raises one, main waits
 * for it, so a lesson knows a task has started without guessing a sleep.
 * Make them before pool_create(), whose processes then share them. */
typedef struct lesson_flag lesson_flag;
lesson_flag *lesson_flags_new(int n);   /* n flags, all down; exits if it cannot */
lesson_flag *lesson_flag_at(lesson_flag *flags, int i);
void lesson_flag_raise(lesson_flag *flag);
/* Waits for the flag; after a minute it ends the program with a message. */
void lesson_flag_wait(lesson_flag *flag);
void lesson_flags_free(lesson_flag *flags, int n);

#endif
