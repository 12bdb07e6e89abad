#!/usr/bin/env python3
"""make_fixtures.py - writes the hand-made traces that scripts/test_timeline.sh
draws, in the pool's trace format (one event per line, "[" first, "]" last,
events in the order a parent would write them, not sorted). Run it from
anywhere after changing it; the .json files beside it are committed.

    basic.json       one apply_async with a callback, two workers
    queue.json       three callbacks on one worker, queued on the result handler
    death.json       a worker killed mid-task, its error callback, its replacement
    two_pools.json   two pools in one program; the second is terminated
    truncated.json   basic.json as a crashed parent leaves it: no "]", a cut line
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
T0 = 7000000.0


class Trace:
    def __init__(self):
        self.lines = []

    def ev(self, **e):
        self.lines.append(json.dumps(e, separators=(",", ":")))

    def meta(self, kind, pid, tid, name):
        self.ev(ph="M", name=kind, pid=pid, tid=tid, args={"name": name})

    # Positional-only, as args may hold a "pid" of their own.
    def inst(self, name, pid, tid, ts, /, **args):
        self.ev(ph="i", s="t", cat="pool", name=name, pid=pid, tid=tid, ts=T0 + ts, args=args)

    def slice(self, name, pid, tid, ts, dur, /, **args):
        self.ev(ph="X", cat="pool", name=name, pid=pid, tid=tid, ts=T0 + ts, dur=dur, args=args)

    def flow(self, ph, pid, tid, ts, fid):
        e = dict(ph=ph, cat="pool", name="result", pid=pid, tid=tid, ts=T0 + ts, id=fid)
        if ph == "f":
            e["bp"] = "e"
        self.ev(**e)

    def text(self, closed=True):
        body = "[\n" + self.lines[0] + "\n" + "".join("," + l + "\n" for l in self.lines[1:])
        return body + ("]\n" if closed else "")


def pool_start(t, pool, main, fs, th, rh, workers, ts, suffix=""):
    """Metadata and starts of one pool; workers: [(N, pid)]."""
    t.inst("pool_create", main, main, ts, pool=pool, processes=len(workers))
    t.meta("process_name", fs, fs, "fork server" + suffix)
    t.meta("thread_name", main, th, "task-handler" + suffix)
    t.meta("thread_name", main, rh, "result-handler" + suffix)
    for n, pid in workers:
        name = f"PoolWorker-{n}{suffix}"
        t.meta("process_name", pid, pid, name)
        t.meta("thread_name", pid, pid, name)
        t.inst("worker_started", pid, pid, ts + 800, pool=pool, worker=n, pid=pid)


def apply_job(t, pool, job, main, th, rh, worker, wpid, at, task_us, cb_us, fid,
              error=False, value="10"):
    """submit, send, task, result, flow, callback, ready; returns callback end."""
    t.inst("submit", main, main, at, pool=pool, job=job, kind="apply", items=1)
    t.inst("send", main, th, at + 20, pool=pool, job=job, first=0, count=1, worker=worker)
    end = at + 50 + task_us
    args = {"pool": pool, "job": job, "index": 0}
    args.update({"error": "ValueError: bad item"} if error else {"result": value})
    t.slice("task", wpid, wpid, at + 50, task_us, **args)
    t.flow("s", wpid, wpid, end, fid)
    t.inst("result", main, th, end + 50, pool=pool, job=job, first=0, count=1, worker=worker)
    return end


def basic():
    t = Trace()
    main, fs, th, rh = 100, 101, 102, 103
    t.meta("process_name", main, main, "main")
    t.meta("thread_name", main, main, "main")
    pool_start(t, 1, main, fs, th, rh, [(1, 104), (2, 105)], 0)
    end = apply_job(t, 1, 1, main, th, rh, 1, 104, 1000, 100000, 20, 1)
    t.slice("callback", main, rh, end + 100, 20000, pool=1, job=1, value="0")
    t.flow("f", main, rh, end + 100, 1)
    t.inst("ready", main, rh, end + 20125, pool=1, job=1, ok=True)
    t.slice("wait", main, main, 1010, end + 20200 - 1010, pool=1, job=1, call="get", rc=0)
    t.inst("close", main, main, end + 20300, pool=1)
    t.slice("join", main, main, end + 20310, 3000, pool=1)
    return t


def queue():
    t = Trace()
    main, fs, th, rh = 200, 201, 202, 203
    t.meta("process_name", main, main, "main")
    t.meta("thread_name", main, main, "main")
    pool_start(t, 1, main, fs, th, rh, [(1, 204)], 0)
    at, cb = 1000, None
    ends = []
    for job in (1, 2, 3):
        ends.append(apply_job(t, 1, job, main, th, rh, 1, 204, at, 2000, 0, job, value=str(10 * job)))
        at = ends[-1] + 10
    cb = ends[0] + 100
    for job, dur in ((1, 500000), (2, 300), (3, 300)):
        t.slice("callback", main, rh, cb, dur, pool=1, job=job, value=str(10 * job))
        t.flow("f", main, rh, cb, job)
        t.inst("ready", main, rh, cb + dur + 5, pool=1, job=job, ok=True)
        cb += dur + 20
    for job in (1, 2, 3):
        t.slice("wait", main, main, 1010 if job == 1 else cb, cb - 1010 if job == 1 else 5,
                pool=1, job=job, call="wait", rc=0)
    t.inst("close", main, main, cb + 100, pool=1)
    t.slice("join", main, main, cb + 110, 2000, pool=1)
    return t


def death():
    t = Trace()
    main, fs, th, rh = 300, 301, 302, 303
    t.meta("process_name", main, main, "main")
    t.meta("thread_name", main, main, "main")
    pool_start(t, 1, main, fs, th, rh, [(1, 304), (2, 305)], 0)
    e1 = apply_job(t, 1, 1, main, th, rh, 1, 304, 1000, 50000, 0, 1)
    t.slice("callback", main, rh, e1 + 100, 500, pool=1, job=1, value="10")
    t.flow("f", main, rh, e1 + 100, 1)
    # Job 2: the worker is killed 30 ms into its task.
    t.inst("submit", main, main, 1100, pool=1, job=2, kind="apply", items=1)
    t.inst("send", main, th, 1120, pool=1, job=2, first=0, count=1, worker=2)
    t.slice("task", 305, 305, 1150, 30000, pool=1, job=2, index=0, died=True)
    t.inst("worker_died", 305, 305, 31150, pool=1, worker=2, pid=305, signal=9, job=2, index=0)
    t.inst("worker_replaced", main, th, 31300, pool=1, worker=2, pid=305, new_worker=3, new_pid=306)
    t.meta("process_name", 306, 306, "PoolWorker-3")
    t.meta("thread_name", 306, 306, "PoolWorker-3")
    t.inst("worker_started", 306, 306, 32000, pool=1, worker=3, pid=306)
    t.slice("error_callback", main, rh, 31400, 800, pool=1, job=2,
            value="WorkerLostError: PoolWorker-2 died (signal 9)")
    # Job 3 runs on the new worker.
    e3 = apply_job(t, 1, 3, main, th, rh, 3, 306, 33000, 40000, 0, 3)
    t.slice("callback", main, rh, e3 + 100, 500, pool=1, job=3, value="30")
    t.flow("f", main, rh, e3 + 100, 3)
    t.slice("wait", main, main, 1200, e3 + 700 - 1200, pool=1, job=3, call="wait", rc=0)
    t.inst("close", main, main, e3 + 800, pool=1)
    t.slice("join", main, main, e3 + 810, 2000, pool=1)
    return t


def two_pools():
    t = Trace()
    main = 400
    t.meta("process_name", main, main, "main")
    t.meta("thread_name", main, main, "main")
    pool_start(t, 1, main, 401, 402, 403, [(1, 404)], 0)
    pool_start(t, 2, main, 411, 412, 413, [(1, 414), (2, 415)], 500, " (pool 2)")
    e1 = apply_job(t, 1, 1, main, 402, 403, 1, 404, 2000, 60000, 0, 1)
    t.slice("callback", main, 403, e1 + 100, 2000, pool=1, job=1, value="10")
    t.flow("f", main, 403, e1 + 100, 1)
    e2 = apply_job(t, 2, 1, main, 412, 413, 2, 415, 3000, 30000, 0, 2, value="20")
    t.slice("callback", main, 413, e2 + 100, 2000, pool=2, job=1, value="20")
    t.flow("f", main, 413, e2 + 100, 2)
    t.inst("submit", main, main, 40000, pool=2, job=2, kind="map", items=4)
    t.inst("send", main, 412, 40020, pool=2, job=2, first=0, count=2, worker=1)
    t.slice("task", 414, 414, 40100, 20000, pool=2, job=2, index=0, result="0")
    t.inst("terminate", main, main, 70000, pool=2)
    t.slice("wait", main, main, 2010, e1 + 2200 - 2010, pool=1, job=1, call="get", rc=0)
    t.slice("join", main, main, 70100, 1500, pool=2)
    t.inst("close", main, main, 72000, pool=1)
    t.slice("join", main, main, 72010, 1500, pool=1)
    return t


def main():
    for name, t in (("basic", basic()), ("queue", queue()), ("death", death()),
                    ("two_pools", two_pools())):
        text = t.text()
        json.loads(text)  # a finished trace is valid JSON
        with open(os.path.join(HERE, name + ".json"), "w") as f:
            f.write(text)
    # A crashed parent: no "]" and the last line cut mid-object.
    text = basic().text(closed=False).rstrip("\n")
    with open(os.path.join(HERE, "truncated.json"), "w") as f:
        f.write(text[: len(text) - 25] + "\n")


if __name__ == "__main__":
    main()
