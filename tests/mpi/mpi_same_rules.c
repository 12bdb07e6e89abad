/* mpi_same_rules.c - rules that hold on MPI as with forked workers:
 * callbacks run on rank 0's result-handler thread, one at a time, after
 * their submission's last task; 16 MiB values cross intact both ways; a
 * task's 5000 lines all come before its callback's line; and with
 * maxtasksperchild = 1 each chunk gets a new worker (a new PoolWorker-N)
 * on the same ranks. */
#include "mpi_util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

static atomic_int in_callback, most_in_callback, callbacks;
static atomic_long callback_tid;
static atomic_bool wrong_thread;

static pool_value note_thread(const pool_value *value, void *user_data)
{
    (void)value;
    (void)user_data;
    int n = atomic_fetch_add(&in_callback, 1) + 1;
    if (n > atomic_load(&most_in_callback))
        atomic_store(&most_in_callback, n);
    char name[16] = "";
    pthread_getname_np(pthread_self(), name, sizeof name); /* a failure leaves "", caught below */
    long tid = syscall(SYS_gettid), none = 0;
    if (!atomic_compare_exchange_strong(&callback_tid, &none, tid) && callback_tid != tid)
        atomic_store(&wrong_thread, true);
    if (strcmp(name, "result-handler") != 0)
        atomic_store(&wrong_thread, true);
    sleep_s(0.002); /* long enough for a second callback to overlap, if one could */
    atomic_fetch_sub(&in_callback, 1);
    atomic_fetch_add(&callbacks, 1);
    return pool_none();
}

/* A map's callback: it must get every item's result, in order. */
static pool_value check_map(const pool_value *value, void *user_data)
{
    bool *right = user_data;
    *right = value->type == POOL_LIST && value->len == 200;
    for (uint32_t i = 0; *right && i < value->len; i++)
        *right = value->as.items[i].as.i == 2 * (long long)i;
    return note_thread(value, NULL);
}

static pool_value flip(const pool_value *args, size_t nargs)
{
    if (nargs != 1 || args[0].type != POOL_BYTES)
        return pool_error("flip wants bytes");
    pool_value out = pool_bytes(args[0].as.bytes, args[0].len);
    for (uint32_t i = 0; i < out.len; i++)
        out.as.bytes[i] ^= 0x5a;
    return out;
}

static pool_value chatty(const pool_value *args, size_t nargs)
{
    (void)nargs;
    for (long long i = 0; i < args[0].as.i; i++)
        printf("line %lld\n", i);
    return pool_int(args[0].as.i);
}

static pool_value say_done(const pool_value *value, void *user_data)
{
    (void)user_data;
    printf("callback saw %lld\n", value->as.i);
    fflush(stdout);
    return pool_none();
}

/* 2 MiB of the item's number: more than a pipe holds, so the link thread
 * takes several rounds to put it in the result pipe. */
static pool_value fill(const pool_value *args, size_t nargs)
{
    (void)nargs;
    size_t len = 2u << 20;
    unsigned char *data = malloc(len);
    if (!data)
        return pool_error("no memory for 2 MiB");
    memset(data, (int)args[0].as.i, len);
    pool_value out = pool_bytes(data, len);
    free(data);
    return out;
}

static pool_value who(const pool_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    char name[17] = "";
    prctl(PR_GET_NAME, name); /* a failure leaves "", and the names check fails */
    return pool_tuple(2, pool_int(getpid()), pool_str(name));
}

int main(void)
{
    pool_t *pool;
    CHECK_OK(pool_create(&pool, NULL));

    /* Callbacks: thread, one at a time, after the last task. */
    enum { APPLIES = 30 };
    pool_opts cb = {.callback = note_thread};
    pool_result *r[APPLIES + 1];
    for (int i = 0; i < APPLIES; i++)
        CHECK_OK(pool_apply_async(pool, twice, pool_tuple(1, pool_int(i)), &cb, &r[i]));
    bool map_right = false;
    pool_opts mcb = {.callback = check_map, .user_data = &map_right, .chunksize = 5};
    CHECK_OK(pool_map_async(pool, twice, pool_range(200), &mcb, &r[APPLIES]));
    for (int i = 0; i <= APPLIES; i++) {
        CHECK_OK(pool_result_wait(r[i], 30));
        CHECK(pool_result_successful(r[i]), "submission %d failed", i);
        pool_result_release(r[i]);
    }
    CHECK_EQ_INT(APPLIES + 1, atomic_load(&callbacks));
    CHECK_EQ_INT(1, atomic_load(&most_in_callback));
    CHECK(!wrong_thread, "a callback ran off the one result-handler thread");
    CHECK(callback_tid != syscall(SYS_gettid), "a callback ran on main's thread");
    CHECK(map_right, "the map's callback did not get all 200 results in order");

    /* 16 MiB each way. */
    size_t big = 16u << 20;
    unsigned char *data = malloc(big);
    if (!data) {
        perror("malloc");
        return 2;
    }
    for (size_t i = 0; i < big; i++)
        data[i] = (unsigned char)(i * 2654435761u >> 13);
    pool_value out;
    CHECK_OK(pool_apply(pool, flip, pool_tuple(1, pool_bytes(data, big)), NULL, &out));
    bool intact = out.type == POOL_BYTES && out.len == big;
    for (size_t i = 0; intact && i < big; i++)
        intact = out.as.bytes[i] == (data[i] ^ 0x5a);
    CHECK(intact, "16 MiB did not come back intact (type %d, len %u)", out.type, out.len);
    pool_value_free(&out);
    free(data);

    /* 5000 lines, all before the callback's. */
    pool_opts done = {.callback = say_done};
    pool_result *lines;
    capture c = capture_begin(1);
    CHECK_OK(pool_apply_async(pool, chatty, pool_tuple(1, pool_int(5000)), &done, &lines));
    CHECK_OK(pool_result_wait(lines, 30));
    char *text = capture_end(&c);
    CHECK_EQ_INT(5000, count_lines(text, "line "));
    const char *last = strstr(text, "line 4999\n"), *saw = strstr(text, "callback saw 5000\n");
    CHECK(last && saw && last < saw, "the callback's line came before the task's last line");
    free(text);
    pool_result_release(lines);
    CHECK_OK(pool_close(pool));
    CHECK_OK(pool_join(pool));
    pool_destroy(pool);

    /* maxtasksperchild = 1: a new worker per chunk, on the same ranks. */
    pool_config fresh = {.maxtasksperchild = 1};
    CHECK_OK(pool_create(&pool, &fresh));
    pool_opts one = {.chunksize = 1};
    CHECK_OK(pool_map(pool, who, pool_range(10), &one, &out));
    char names[10][17];
    long long pids[10];
    int nnames = 0, npids = 0;
    for (uint32_t i = 0; out.type == POOL_LIST && i < out.len; i++) {
        const pool_value *t = out.as.items[i].as.items;
        int k = 0;
        while (k < nnames && strcmp(names[k], t[1].as.s) != 0)
            k++;
        if (k == nnames)
            snprintf(names[nnames++], sizeof names[0], "%s", t[1].as.s);
        for (k = 0; k < npids && pids[k] != t[0].as.i; k++)
            continue;
        if (k == npids)
            pids[npids++] = t[0].as.i;
    }
    pool_value_free(&out);
    /* A worker that ends after each chunk: its big result comes first. */
    CHECK_OK(pool_map(pool, fill, pool_range(6), &one, &out));
    bool filled = out.type == POOL_LIST && out.len == 6;
    for (uint32_t i = 0; filled && i < out.len; i++) {
        const pool_value *b = &out.as.items[i];
        filled = b->type == POOL_BYTES && b->len == 2u << 20 && b->as.bytes[0] == i &&
                 b->as.bytes[b->len - 1] == i;
    }
    CHECK(filled, "a 2 MiB result of a worker that then ended was lost or wrong");
    pool_value_free(&out);
    CHECK_EQ_INT(10, nnames);   /* ten workers, PoolWorker-1 .. -10 or so */
    CHECK(npids <= pool_processes(pool), "%d pids for %ld ranks", npids, pool_processes(pool));
    printf("maxtasksperchild=1: %d worker names on %d rank pids\n", nnames, npids);
    CHECK_OK(pool_close(pool));
    CHECK_OK(pool_join(pool));
    pool_destroy(pool);
    return check_done("mpi_same_rules");
}
