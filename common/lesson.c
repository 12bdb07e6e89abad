/* lesson.c - the helpers declared in lesson.h. */
#include "lesson.h"

#ifdef POOL_MPI
#include <mpi.h>
#endif

#include <errno.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ThreadSanitizer does not see glibc's stream lock (flockfile), so without
 * these annotations two lines printed by two threads look like a race. */
#if defined(__SANITIZE_THREAD__)
#define LESSON_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LESSON_TSAN 1
#endif
#endif
#ifdef LESSON_TSAN
#include <sanitizer/tsan_interface.h>
#define stream_locked(f) __tsan_acquire(f)
#define stream_unlocking(f) __tsan_release(f)
#else
#define stream_locked(f) ((void)(f))
#define stream_unlocking(f) ((void)(f))
#endif

/* ---- Printing ---------------------------------------------------------- */

void lesson_say(const char *fmt, ...)
{
    va_list ap;

    /* Holding the stream lock from the first character to the flush keeps
     * another thread's line out of this line's write. */
    flockfile(stdout);
    stream_locked(stdout);
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    putc_unlocked('\n', stdout);
    fflush(stdout);
    stream_unlocking(stdout);
    funlockfile(stdout);
}

lesson_text lesson_repr(const pool_value *value)
{
    lesson_text t;

    pool_value_repr(value, t.text, sizeof t.text);
    return t;
}

lesson_text lesson_float(double f)
{
    lesson_text t;

    pool_float_repr(f, t.text, sizeof t.text);
    return t;
}

/* ---- Errors ------------------------------------------------------------ */

void lesson_try(int err, const char *call)
{
    if (err == POOL_OK)
        return;
    if (err == POOL_ESYS) /* the pool's code says "system call"; errno says which */
        fprintf(stderr, "%s: %s failed: %s: %s\n", program_invocation_short_name,
                call, pool_strerror(err), strerror(errno));
    else
        fprintf(stderr, "%s: %s failed: %s\n", program_invocation_short_name,
                call, pool_strerror(err));
    exit(EXIT_FAILURE);
}

/* ---- Random numbers and time ------------------------------------------- */

void lesson_seed(void)
{
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    srand48(now.tv_nsec ^ now.tv_sec ^ ((long)getpid() << 16));
}

double lesson_random(void)
{
    return drand48();
}

void lesson_sleep(double seconds)
{
    struct timespec left;

    left.tv_sec = (time_t)seconds;
    left.tv_nsec = (long)((seconds - (double)left.tv_sec) * 1e9);
    while (nanosleep(&left, &left) == -1 && errno == EINTR)
        continue;
}

/* ---- Who is running ---------------------------------------------------- */

/* The process's name: /proc/self is the thread group, so this is the main
 * thread's name even when another thread asks. */
static void process_name(char *name, size_t size)
{
    FILE *comm = fopen("/proc/self/comm", "r");

    snprintf(name, size, "?");
    if (comm) {
        if (fgets(name, (int)size, comm))
            name[strcspn(name, "\n")] = '\0';
        fclose(comm);
    }
}

lesson_text lesson_process(void)
{
    char name[32];
    lesson_text t;

    process_name(name, sizeof name);
#ifdef POOL_MPI
    /* A rank's parent is MPI's launcher, so the rank and host say more. */
    int rank = -1, up = 0;
    char host[64] = "?";
    MPI_Initialized(&up);
    if (up)
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    gethostname(host, sizeof host); /* "?" is left if it fails */
    host[sizeof host - 1] = '\0';
    snprintf(t.text, sizeof t.text, "rank=%d host=%.32s name=%.15s pid=%ld", rank, host, name,
             (long)getpid());
#else
    snprintf(t.text, sizeof t.text, "name=%s pid=%ld parent=%ld", name,
             (long)getpid(), (long)getppid());
#endif
    return t;
}

lesson_text lesson_thread(void)
{
    char name[32] = "?";
    lesson_text t;

    pthread_getname_np(pthread_self(), name, sizeof name);
    snprintf(t.text, sizeof t.text, "name=%s tid=%ld", name, (long)gettid());
    return t;
}

lesson_text lesson_worker(void)
{
    char name[32];
    lesson_text t;

    process_name(name, sizeof name);
    snprintf(t.text, sizeof t.text, "%s (pid %ld)", name, (long)getpid());
    return t;
}

/* ---- A signal from a task --------------------------------------------- */

struct lesson_flag {
    _Atomic int raised;
};

lesson_flag *lesson_flags_new(int n)
{
    /* MAP_SHARED: the fork server and the workers it forks share the pages. */
    lesson_flag *flags = mmap(NULL, (size_t)n * sizeof *flags, PROT_READ | PROT_WRITE,
                              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (flags == MAP_FAILED) {
        perror("lesson_flags_new: mmap");
        exit(1);
    }
    return flags; /* anonymous pages start zeroed: every flag is down */
}

lesson_flag *lesson_flag_at(lesson_flag *flags, int i)
{
    return &flags[i];
}

void lesson_flag_raise(lesson_flag *flag)
{
    atomic_store(&flag->raised, 1);
}

void lesson_flag_wait(lesson_flag *flag)
{
    for (int ms = 0; !atomic_load(&flag->raised); ms++) {
        if (ms >= 60000) {
            fprintf(stderr, "lesson_flag_wait: the flag was not raised within a minute\n");
            exit(1);
        }
        lesson_sleep(0.001);
    }
}

void lesson_flags_free(lesson_flag *flags, int n)
{
    if (munmap(flags, (size_t)n * sizeof *flags) != 0)
        perror("lesson_flags_free: munmap"); /* only the address space is lost */
}
