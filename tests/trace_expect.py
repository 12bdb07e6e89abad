#!/usr/bin/env python3
"""trace_expect.py SCENARIO TRACE - what each of tests/test_trace.c's
scenarios must show in its trace. The file must be JSON as a whole (python's
json module reads it); then each check below is one line on failure, and
the exit status is the number of failures (0: the trace is right)."""
import json
import sys

scenario, path = sys.argv[1], sys.argv[2]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


with open(path, encoding="utf-8") as f:
    text = f.read()
try:
    events = json.loads(text)
except json.JSONDecodeError as e:
    print(f"trace_expect: {scenario}: {path} is not JSON: {e}")
    sys.exit(1)

meta = [e for e in events if e["ph"] == "M"]
ev = [e for e in events if e["ph"] != "M"]
procs = {e["pid"]: e["args"]["name"] for e in meta if e["name"] == "process_name"}
threads = {e["tid"]: e["args"]["name"] for e in meta if e["name"] == "thread_name"}
main_pids = [p for p, n in procs.items() if n == "main"]


def named(name, pool=1, **args):
    return [e for e in ev if e["name"] == name and e.get("args", {}).get("pool") == pool
            and all(e["args"].get(k) == v for k, v in args.items())]


def common(pool=1):
    """What every traced pool shows."""
    check(len(main_pids) == 1, f"pool {pool}: one process named main, got {main_pids}")
    for e in ev:
        check(e.get("cat") == "pool" and isinstance(e.get("ts"), (int, float)),
              f"an event without cat or ts: {e}")
        check(e["pid"] in procs, f"{e['name']} on pid {e['pid']}, a process without a name")
        check(e["ph"] in "sf" or e["tid"] in threads,
              f"{e['name']} on tid {e['tid']}, a thread without a name")
    check(len(named("pool_create", pool)) == 1, f"pool {pool}: one pool_create")
    for e in named("callback", pool) + named("error_callback", pool):
        check(threads.get(e["tid"], "").startswith("result-handler") and e["pid"] in main_pids,
              f"pool {pool}: {e['name']} of job {e['args']['job']} is not on main's result-handler")
    for e in named("send", pool) + named("result", pool):
        check(threads.get(e["tid"], "").startswith("task-handler"),
              f"pool {pool}: {e['name']} is not on the task-handler")
    for e in named("task", pool):
        check(procs.get(e["pid"], "").startswith("PoolWorker-"), f"a task on {procs.get(e['pid'])}")
    # Every flow's start has its end, at the start of a callback slice.
    starts = {e["id"]: e for e in ev if e["ph"] == "s"}
    ends = {e["id"]: e for e in ev if e["ph"] == "f"}
    check(starts.keys() == ends.keys(), f"flows without a pair: {starts.keys() ^ ends.keys()}")
    cbs = [e for e in ev if e["name"] in ("callback", "error_callback")]
    for i, f in ends.items():
        check(any(c["tid"] == f["tid"] and abs(c["ts"] - f["ts"]) < 0.002 for c in cbs),
              f"flow {i} does not end where a callback starts")


def job_complete(pool, job, items, chunks, ok=True):
    """Each step of one submission's life, in order."""
    sub = named("submit", pool, job=job)
    check(len(sub) == 1 and sub[0]["args"]["items"] == items, f"job {job}: submit {sub}")
    tasks = named("task", pool, job=job)
    check(sorted(t["args"]["index"] for t in tasks) == list(range(items)),
          f"job {job}: tasks for items {sorted(t['args']['index'] for t in tasks)}, not 0..{items - 1}")
    sends, results = named("send", pool, job=job), named("result", pool, job=job)
    check(len(sends) == chunks and len(results) == chunks,
          f"job {job}: {len(sends)} sends and {len(results)} results, not {chunks}")
    cb = named("callback" if ok else "error_callback", pool, job=job)
    check(len(cb) == 1, f"job {job}: {len(cb)} {'callback' if ok else 'error_callback'} slices")
    ready = named("ready", pool, job=job)
    check(len(ready) == 1 and ready[0]["args"]["ok"] == ok, f"job {job}: ready {ready}")
    waits = named("wait", pool, job=job)
    check(len(waits) >= 1, f"job {job}: no wait")
    if not (sub and tasks and cb and ready and waits and results):
        return
    last_end = max(t["ts"] + t["dur"] for t in tasks)
    check(sub[0]["ts"] <= min(s["ts"] for s in sends) <= min(t["ts"] for t in tasks),
          f"job {job}: submit, send, task not in that order")
    check(last_end <= max(r["ts"] for r in results) <= cb[0]["ts"],
          f"job {job}: the callback starts before its last result was read")
    check(cb[0]["ts"] + cb[0]["dur"] <= ready[0]["ts"] <= waits[-1]["ts"] + waits[-1]["dur"],
          f"job {job}: callback end, ready, wait's return not in that order")
    return tasks, cb[0]


if scenario == "basic":
    common()
    _, cb = job_complete(1, 1, 1, 1) or (None, None)
    check(cb is None or cb["args"]["value"] == "49", f"apply: the callback got {cb and cb['args']}")
    got = job_complete(1, 2, 9, 5)
    if got:
        tasks, cb = got
        by_index = sorted(tasks, key=lambda t: t["args"]["index"])
        want = "[" + ", ".join(t["args"]["result"] for t in by_index) + "]"
        check(want == "[0, 1, 4, 9, 16, 25, 36, 49, 64]", f"map: task results {want}")
        check(cb["args"]["value"] == want, f"map: the callback got {cb['args']['value']}, not {want}")
    got = job_complete(1, 3, 3, 2)
    check(not got or got[1]["args"]["value"] == "[0, 11, 22]", f"starmap: {got and got[1]['args']}")
    got = job_complete(1, 4, 3, 2, ok=False)
    if got:
        bad = [t for t in got[0] if t["args"]["index"] == 1]
        check(bad and bad[0]["args"].get("error") == "Error('one is odd')", f"a failed task: {bad}")
        check("one is odd" in got[1]["args"]["value"], f"the error callback got {got[1]['args']}")
    check(len([e for e in ev if e["ph"] == "s"]) == 1 + 9 + 3 + 3, "not one flow per task")
    check(named("close") and named("join"), "no close or join")
    check(len(named("worker_exited")) == 2 and not named("worker_died"),
          "two workers that exit at close, none that died")
elif scenario == "death":
    common()
    died = named("task", job=1, index=2)
    check(len(died) == 1 and died[0]["args"].get("died") is True,
          f"the task that killed its worker is not a slice that died: {died}")
    death = named("worker_died", signal=9, job=1, index=2)
    check(len(death) == 1, f"no worker_died with signal 9 in job 1's item 2: {named('worker_died')}")
    if died and death:
        check(died[0]["pid"] == death[0]["pid"] and died[0]["ts"] + died[0]["dur"] <= death[0]["ts"] + 0.002,
              "the died task's slice does not end at its worker's death")
        new = [e for e in named("worker_started") if e["ts"] > death[0]["ts"]]
        check(len(new) == 1 and new[0]["pid"] != death[0]["pid"], "no new worker after the death")
        rep = named("worker_replaced", pid=death[0]["pid"])
        check(len(rep) == 1 and new and rep[0]["args"]["new_pid"] == new[0]["pid"],
              f"no worker_replaced from the dead to the new: {rep}")
    check(len(named("error_callback", job=1)) == 1, "job 1: no error callback")
elif scenario == "two_pools":
    common(1)
    common(2)
    common(3)
    check(job_complete(1, 1, 2, 2) is not None, "pool 1's map")
    check(job_complete(2, 1, 3, 3) is not None, "pool 2's map")
    for pool in (2, 3):
        suffix = f" (pool {pool})"
        lanes = {procs.get(e["pid"]) for e in named("task", pool)}
        check(lanes and all(n.endswith(suffix) for n in lanes), f"pool {pool}'s workers: {lanes}")
        rh = {threads.get(e["tid"]) for e in named("callback", pool) + named("ready", pool)}
        check(rh == {"result-handler" + suffix}, f"pool {pool}'s result handler: {rh}")
    tids = {threads.get(e["tid"]) for e in named("callback", 1)}
    check(tids == {"result-handler"}, f"pool 1's result handler: {tids}")
    check(text.count("\n]\n") == 1 and text.endswith("]\n"), "the file is not ended once, at its end")
elif scenario == "many":
    common()
    check(job_complete(1, 1, 3000, 3000) is not None, "the map of 3000 items")
    check(len([e for e in ev if e["ph"] == "s"]) == 3000, "not 3000 arrows")
elif scenario == "fork_parent":
    common(1)
    common(2)
    check(len(named("pool_create")) == 1 and len(named("pool_create", 2)) == 1
          and not named("pool_create", 3), "the child's pool wrote into the parent's file")
    check(len(named("submit", 2)) == 1 and not named("submit", 1, kind="apply"),
          "the parent's two pools are not both in its file")
elif scenario == "fork_child":
    common()
    check(named("submit", kind="apply"), "the child's pool traced nothing")
else:
    failures.append(f"no such scenario {scenario}")

for f in failures:
    print(f"trace_expect: {scenario}: {f}")
sys.exit(min(len(failures), 100))
