/* fault_hostile_result: a task that writes garbage into its own result pipe.
 * The task finds the pipe (the one descriptor >= 3 that is a write-only
 * FIFO and was not open in the test before pool_create) and writes: 64
 * bytes of 0xff; 4 KiB of random bytes; 3 bytes; 64 zero bytes; 1 MiB of
 * random bytes; or it closes the pipe. Then it returns as if nothing had
 * happened. Each time the parent fails that task with POOL_ETASK (its error
 * callback runs once), never crashes or hangs, loses no other task, and
 * keeps working with a fresh worker. */
#include <fcntl.h>
#include <sys/stat.h>

#include "fault/fault.h"

enum { MAX_INHERITED = 64 };
typedef struct shm {
    int n_inherited;
    ino_t inherited[MAX_INHERITED]; /* write-only pipes the test already had */
    _Atomic int write_pipes;        /* how many the task found, last time */
    _Atomic int wrote;              /* bytes it wrote, last time */
} shm;
static shm *sh;

static bool is_write_fifo(int fd, struct stat *st)
{
    int fl = fcntl(fd, F_GETFL);
    return fl >= 0 && (fl & O_ACCMODE) == O_WRONLY && fstat(fd, st) == 0 &&
           S_ISFIFO(st->st_mode);
}

static int find_result_pipe(int *count)
{
    int found = -1;
    *count = 0;
    for (int fd = 3; fd < 1024; fd++) {
        struct stat st;
        if (!is_write_fifo(fd, &st))
            continue;
        bool inherited = false;
        for (int i = 0; i < sh->n_inherited; i++)
            if (sh->inherited[i] == st.st_ino)
                inherited = true;
        if (inherited)
            continue;
        found = fd;
        ++*count;
    }
    return found;
}

static void random_bytes(unsigned char *p, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
        p[i] = (unsigned char)(seed >> 24);
    }
}

/* (mode) -> garbage on the result pipe, then a normal return */
static pool_value task_hostile(const pool_value *args, size_t nargs)
{
    if (nargs != 1 || args[0].type != POOL_INT)
        return pool_error("want a mode");
    int count;
    int fd = find_result_pipe(&count);
    atomic_store(&sh->write_pipes, count);
    if (fd < 0)
        return pool_int(-1);
    static unsigned char junk[1 << 20];
    size_t n = 0;
    switch (args[0].as.i) {
    case 0: n = 64; memset(junk, 0xff, n); break;
    case 1: n = 4096; random_bytes(junk, n, 0x1234567); break;
    case 2: n = 3; memcpy(junk, "\x05\x00\x00", 3); break;
    case 3: n = 64; memset(junk, 0, n); break;
    case 4: n = sizeof junk; random_bytes(junk, n, 0xfeedface); break;
    case 5: close(fd); return pool_int(5);
    }
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, junk + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    atomic_store(&sh->wrote, (int)done);
    return pool_int(args[0].as.i);
}

static const char *mode_name[] = {"64 bytes of 0xff", "4 KiB of random bytes",
                                  "3 bytes", "64 zero bytes", "1 MiB of random bytes",
                                  "a closed result pipe"};
enum { MODES = 6, INNOCENT = 20 };

int main(void)
{
    sh = fu_shared(sizeof *sh);
    for (int fd = 3; fd < 1024 && sh->n_inherited < MAX_INHERITED; fd++) {
        struct stat st;
        if (is_write_fifo(fd, &st))
            sh->inherited[sh->n_inherited++] = st.st_ino;
    }
    pool_t *pool = fu_pool_open((pool_config){.processes = 2});
    if (!pool)
        return check_done("fault_hostile_result");

    for (int mode = 0; mode < MODES; mode++) {
        fu_track t;
        fu_track_init(&t, INNOCENT + 1);
        pool_result *h[INNOCENT + 1] = {0};
        atomic_store(&sh->write_pipes, -1);
        atomic_store(&sh->wrote, -1);
        for (int i = 0; i < INNOCENT; i++) {
            pool_opts o = fu_opts(&t, i, 0);
            if (i == INNOCENT / 2) {
                pool_opts ho = fu_opts(&t, INNOCENT, 0);
                CHECK_OK(pool_apply_async(pool, task_hostile, pool_tuple(1, pool_int(mode)),
                                          &ho, &h[INNOCENT]));
            }
            CHECK_OK(pool_apply_async(pool, fu_task_double, pool_tuple(1, pool_int(i)), &o,
                                      &h[i]));
        }
        const pool_value *v = NULL;
        int rc = fu_get(h[INNOCENT], &v, mode_name[mode]);
        CHECK(atomic_load(&sh->write_pipes) == 1,
              "%s: the task found %d result pipes, not 1", mode_name[mode],
              atomic_load(&sh->write_pipes));
        CHECK(rc == POOL_ETASK, "%s: expected POOL_ETASK, got %d (%s) %s", mode_name[mode],
              rc, pool_strerror(rc), fu_msg(v));
        CHECK(!pool_result_successful(h[INNOCENT]), "%s: the handle is successful",
              mode_name[mode]);
        for (int i = 0; i < INNOCENT; i++) {
            int irc = fu_get(h[i], &v, "an innocent task");
            CHECK(irc == POOL_OK && v->type == POOL_INT && v->as.i == 2 * i,
                  "%s: innocent task %d gave %d (%s) %s", mode_name[mode], i, irc,
                  pool_strerror(irc), fu_msg(v));
        }
        CHECK_EQ_INT(INNOCENT + 1, fu_track_wait(&t, INNOCENT + 1, FU_TIMEOUT));
        fu_track_check(&t, -1, mode_name[mode]);
        CHECK(t.slots[INNOCENT].err_calls == 1, "%s: no error callback", mode_name[mode]);
        for (int i = 0; i <= INNOCENT; i++)
            pool_result_release(h[i]);
        fu_track_free(&t);
        fu_check_pool_works(pool, 200, mode_name[mode]);
        CHECK(fu_wait_workers(2, FU_TIMEOUT) == 2, "%s: the worker was not replaced",
              mode_name[mode]);
    }

    fu_pool_close(pool, "after pool_destroy");
    return check_done("fault_hostile_result");
}
