#!/usr/bin/env python3
"""pool_bench.py - the Python side of the pool benchmark.

Measures the cases of bench/pool_bench.c with multiprocessing.Pool, using
the fork start method, and prints one JSON object on stdout, which
pool_bench.c reads back into its table. Run on its own, it prints the same
JSON; --quick gives tiny sizes. Needs nothing but the standard library.
"""
import argparse
import json
import multiprocessing
import os
import platform
import resource
import statistics
import subprocess
import sys
import threading
import time

now = time.perf_counter


def square(x):
    return x * x


def echo(b):
    return b


def burn(n):
    """CPU-bound work: n steps of a linear congruential generator."""
    x = 1
    for _ in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
    return x


def calibrate_burn(secs):
    n = 1 << 12
    burn(n)
    while True:
        t0 = now()
        burn(n)
        t = now() - t0
        if t > 0.02 or t > secs / 4:
            break
        n *= 4
    return max(1, int(n * secs / t))


def new_pool(ctx, workers):
    return ctx.Pool(workers)


def end_pool(pool):
    pool.close()
    pool.join()


def case_start_stop(ctx, a):
    times = []
    for _ in range(a.start_reps):
        t0 = now()
        pool = ctx.Pool(a.workers)
        pool.close()
        pool.join()
        times.append((now() - t0) * 1e3)
    return statistics.median(times)


def apply_batch(pool, n, timeout):
    """apply_async with a callback, handles dropped; the callbacks (one
    result-handler thread) count down to the last one."""
    done = threading.Event()
    state = {"left": n, "sum": 0, "errors": 0}

    def cb(r):
        state["sum"] += r
        state["left"] -= 1
        if state["left"] == 0:
            done.set()

    def ecb(e):
        state["errors"] += 1
        state["left"] -= 1
        if state["left"] == 0:
            done.set()

    t0 = now()
    for i in range(n):
        pool.apply_async(square, (i,), callback=cb, error_callback=ecb)
    if not done.wait(timeout):
        sys.exit("apply_async: %d of %d callbacks missing" % (state["left"], n))
    t = now() - t0
    if state["errors"] or state["sum"] != sum(i * i for i in range(n)):
        sys.exit("apply_async: wrong results")
    return t


def case_apply(ctx, a):
    pool = new_pool(ctx, a.workers)
    apply_batch(pool, 200, a.timeout)
    v = [apply_batch(pool, a.tasks, a.timeout) / a.tasks * 1e6 for _ in range(a.reps)]
    end_pool(pool)
    return statistics.median(v)


def timed_square_map(pool, n, chunksize):
    t0 = now()
    out = pool.map(square, range(n), chunksize)
    t = now() - t0
    if len(out) != n or out[-1] != (n - 1) * (n - 1):
        sys.exit("map: wrong results")
    return t


def case_map1(ctx, a):
    pool = new_pool(ctx, a.workers)
    timed_square_map(pool, 200, 1)
    v = [timed_square_map(pool, a.tasks, 1) / a.tasks * 1e6 for _ in range(a.reps)]
    end_pool(pool)
    return statistics.median(v)


def case_map_big(ctx, a):
    pool = new_pool(ctx, a.workers)
    timed_square_map(pool, a.items, None)  # warm-up at full size, as the C side does
    v = [a.items / timed_square_map(pool, a.items, None) for _ in range(a.reps)]
    end_pool(pool)
    return statistics.median(v)


def case_map_threads(a):
    """Case 4 on multiprocessing.pool.ThreadPool, beside the C pool of threads."""
    from multiprocessing.pool import ThreadPool
    pool = ThreadPool(a.workers)
    timed_square_map(pool, a.items, None)  # warm-up at full size, as the C side does
    v = [a.items / timed_square_map(pool, a.items, None) for _ in range(a.reps)]
    end_pool(pool)
    return statistics.median(v)


def case_bytes(ctx, a):
    data = bytes((i * 131 + (i >> 12)) & 0xFF for i in range(min(a.bytes, 1 << 16)))
    data = (data * (a.bytes // len(data) + 1))[: a.bytes]
    pool = new_pool(ctx, a.workers)

    def once():
        t0 = now()
        out = pool.apply(echo, (data,))
        t = now() - t0
        if out != data:
            sys.exit("echo: the result is not the bytes sent")
        return t

    once()
    v = [2.0 * a.bytes / once() / 1e6 for _ in range(a.reps)]
    end_pool(pool)
    return statistics.median(v)


def case_cpu(ctx, a):
    n = calibrate_burn(a.cpu_secs)
    want = burn(n)
    pool = new_pool(ctx, a.workers)
    sp, ser, par = [], [], []
    for _ in range(a.cpu_reps):
        t0 = now()
        for _ in range(a.cpu_tasks):
            burn(n)
        ser.append(now() - t0)
        t0 = now()
        out = pool.map(burn, [n] * a.cpu_tasks, 1)
        par.append(now() - t0)
        if out != [want] * a.cpu_tasks:
            sys.exit("burn: wrong results")
        sp.append(ser[-1] / par[-1])
    end_pool(pool)
    serial = statistics.median(ser)
    return {
        "cpu_speedup": statistics.median(sp),
        "cpu_serial_s": serial,
        "cpu_pool_s": statistics.median(par),
        "cpu_task_s": serial / a.cpu_tasks,
    }


def rss_child(a):
    """Case 4 alone, in a fresh interpreter: peak RSS of this process and,
    after the join, of the largest worker (ru_maxrss is in KiB on Linux)."""
    ctx = multiprocessing.get_context("fork")
    pool = new_pool(ctx, a.workers)
    timed_square_map(pool, a.items, None)
    end_pool(pool)
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"self_kib": me, "children_kib": kids}))


def imap_child(a):
    """Case 8 alone, in a fresh interpreter: imap_unordered over a lazy
    range, 1000 items a chunk; items per second and this process's peak RSS."""
    ctx = multiprocessing.get_context("fork")
    pool = new_pool(ctx, a.workers)
    t0 = now()
    total = n = 0
    for v in pool.imap_unordered(square, range(a.imap_items), 1000):
        total += v
        n += 1
    t = now() - t0
    end_pool(pool)
    if n != a.imap_items or total != sum(i * i for i in range(a.imap_items)):
        sys.exit("imap_unordered: wrong results")
    # VmHWM, not ru_maxrss, which keeps the peak of the process that
    # started this interpreter (the benchmark itself) across the exec.
    with open("/proc/self/status") as f:
        me = next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))
    print(json.dumps({"ips": a.imap_items / t, "self_kib": me}))


def case_imap(a):
    cmd = [sys.executable, os.path.abspath(__file__), "--imap-child",
           "--workers", str(a.workers), "--imap-items", str(a.imap_items)]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, check=True, timeout=a.timeout).stdout
    r = json.loads(out)
    return {"imap_items_per_s": r["ips"], "imap_rss_parent_mib": r["self_kib"] / 1024}


def case_rss(a):
    cmd = [sys.executable, os.path.abspath(__file__), "--rss-child",
           "--workers", str(a.workers), "--items", str(a.items)]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, check=True, timeout=a.timeout).stdout
    r = json.loads(out)
    return {"rss_parent_mib": r["self_kib"] / 1024, "rss_worker_mib": r["children_kib"] / 1024}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--reps", type=int)
    p.add_argument("--start-reps", type=int)
    p.add_argument("--cpu-reps", type=int)
    p.add_argument("--tasks", type=int)
    p.add_argument("--items", type=int)
    p.add_argument("--bytes", type=int)
    p.add_argument("--cpu-tasks", type=int)
    p.add_argument("--cpu-secs", type=float)
    p.add_argument("--timeout", type=float, default=300, help="seconds for any one wait")
    p.add_argument("--rss-child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--imap-items", type=int)
    p.add_argument("--imap-child", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args()
    full = dict(reps=5, start_reps=20, cpu_reps=3, tasks=20000, items=1000000,
                bytes=16 << 20, cpu_tasks=8, cpu_secs=0.25, imap_items=10000000)
    quick = dict(reps=2, start_reps=3, cpu_reps=1, tasks=500, items=20000,
                 bytes=1 << 20, cpu_tasks=4, cpu_secs=0.01, imap_items=20000)
    for k, v in (quick if a.quick else full).items():
        if getattr(a, k) is None:
            setattr(a, k, v)

    if a.rss_child:
        rss_child(a)
        return
    if a.imap_child:
        imap_child(a)
        return
    ctx = multiprocessing.get_context("fork")  # explicit, for comparability
    r = {
        "python_version": platform.python_version(),
        "start_method": "fork",
        "workers": a.workers,
        "start_stop_ms": case_start_stop(ctx, a),
        "apply_async_us_per_task": case_apply(ctx, a),
        "map_chunksize1_us_per_task": case_map1(ctx, a),
        "map_items_per_s": case_map_big(ctx, a),
        "thread_pool_map_items_per_s": case_map_threads(a),
        "bytes_round_trip_mb_per_s": case_bytes(ctx, a),
    }
    r.update(case_cpu(ctx, a))
    r.update(case_rss(a))
    r.update(case_imap(a))
    print(json.dumps(r, indent=1))


if __name__ == "__main__":
    main()
