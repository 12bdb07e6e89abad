#!/usr/bin/env python3
"""check_trace.py - asserts a lesson's claims on the trace the pool wrote.

    check_trace.py LESSON_NN TRACE.json       the general claims and NN's own
    check_trace.py --claims A,B TRACE.json    only the claims named
    check_trace.py --list [LESSON_NN]         the claims, one line each

The trace is the pool's Chrome Trace Event Format file (POOL_TRACE=path).
Every claim is an ORDER of events (this ends before that starts), never a
wall time, so a slow machine or a sanitizer build cannot make it fail.
Each failed claim prints one line: the claim's name, the first event pair
that breaks it, and how many more do. An event is shown as
`name#N(pool P job J index I, pid/tid, ts)`: #N is its position in the
file's array (line N+2 of the pool's one-event-a-line file).
Exit status: 0 every claim holds, 1 a claim failed, 2 the trace cannot be
read (not JSON, or truncated: no final `]`), with one line saying why.
"""
import json
import re
import sys

# Codes with which wait/get return once the handle is ready (pool.h):
# POOL_OK, POOL_ETASK, POOL_ECALLBACK, POOL_ETERMINATED. A timeout (-4) or
# a refused call (EDEADLK -8, EINVAL -1) says nothing about the callback.
READY_RCS = {0, -5, -6, -7}
CALLBACKS = ("callback", "error_callback")
# Timestamps are microseconds with 3 decimals; compared as integer
# nanoseconds, so ts + dur is exact. Two events "at" the same instant may
# differ by this much, from rounding each on its own.
AT_NS = 1


class Unreadable(Exception):
    pass


# ---- Reading the trace ----------------------------------------------------------

def load(path):
    """The list of events, or Unreadable with the one-line reason."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise Unreadable(f"cannot read it: {e}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        lines = text.splitlines()
        if not lines or lines[0].strip() != "[":
            raise Unreadable(f"not JSON ({e.msg} at line {e.lineno})")
        if lines[-1].strip() == "]":
            raise Unreadable(f"not JSON ({e.msg} at line {e.lineno})")
        # As the renderer does: count the whole events before the cut.
        good = 0
        for line in lines[1:]:
            s = line.strip()
            s = s[1:] if s.startswith(",") else s
            try:
                if isinstance(json.loads(s), dict):
                    good += 1
                    continue
            except json.JSONDecodeError:
                pass
            break
        raise Unreadable(f"truncated after {good} events (no final ']'): "
                         "the program did not finish its trace")
    if not isinstance(data, list):
        raise Unreadable("not a trace: the JSON is not an array of events")
    return data


def ns(x):
    return round(x * 1000)


class Ev:
    """One event, with what the claims need at hand."""

    def __init__(self, i, d):
        self.i, self.d = i, d
        self.ph = d.get("ph")
        self.name = d.get("name")
        self.pid, self.tid = d.get("pid"), d.get("tid")
        a = d.get("args")
        self.args = a if isinstance(a, dict) else {}
        self.pool = self.args.get("pool")
        self.job = self.args.get("job")
        self.index = self.args.get("index")
        self.ts = ns(d["ts"]) if isinstance(d.get("ts"), (int, float)) else None
        dur = d.get("dur", 0)
        self.end = self.ts + ns(dur) if self.ts is not None and \
            isinstance(dur, (int, float)) else None

    @property
    def key(self):
        return (self.pool, self.job)

    def __str__(self):
        what = []
        if self.pool is not None:
            what.append(f"pool {self.pool}")
        if self.job is not None:
            what.append(f"job {self.job}")
        if self.index is not None:
            what.append(f"index {self.index}")
        if self.name == "wait":
            what.append(f"{self.args.get('call')} rc {self.args.get('rc')}")
        if self.ph in ("s", "f"):
            what.append(f"id {self.d.get('id')}")
        when = f"ts {self.ts / 1000:.3f}" if self.ts is not None else "no ts"
        if self.ph == "X" and self.end is not None:
            when += f"..{self.end / 1000:.3f}"
        what.append(f"pid {self.pid} tid {self.tid}")
        what.append(when)
        return f"{self.name}#{self.i}({', '.join(what)})"


class Trace:
    def __init__(self, raw):
        self.raw = raw
        self.events, self.malformed = [], []
        self.proc, self.thread = {}, {}
        for i, d in enumerate(raw):
            if not isinstance(d, dict):
                self.malformed.append((i, "not an object"))
                continue
            e = Ev(i, d)
            if e.ph == "M":
                name = e.args.get("name")
                if e.name == "process_name":
                    self.proc[e.pid] = name
                elif e.name == "thread_name":
                    self.thread[(e.pid, e.tid)] = name
                continue
            why = self.why_malformed(e)
            if why:
                self.malformed.append((i, why))
                continue
            self.events.append(e)
        mains = [p for p, n in self.proc.items() if n == "main"]
        self.main_pid = mains[0] if len(mains) == 1 else None
        self.main_tid = next((t for (p, t), n in self.thread.items()
                              if p == self.main_pid and n == "main"), None)
        # The result handler of each pool: "result-handler", then
        # "result-handler (pool 2)" and so on.
        self.handler = {}
        for (p, t), n in self.thread.items():
            m = re.fullmatch(r"result-handler(?: \(pool (\d+)\))?", n or "")
            if m and p == self.main_pid:
                self.handler[int(m.group(1) or 1)] = t
        self.jobs = {}
        for e in self.events:
            if e.job is not None and e.name != "worker_died":
                self.jobs.setdefault(e.key, []).append(e)

    @staticmethod
    def why_malformed(e):
        if e.ph not in ("X", "i", "s", "f", "b", "e", "n", "C"):
            return f"unknown ph {e.ph!r}"
        if not isinstance(e.name, str) or e.ts is None:
            return "no name or no ts"
        if not isinstance(e.pid, int) or not isinstance(e.tid, int):
            return "no pid or tid"
        if e.ph == "X" and (not isinstance(e.d.get("dur"), (int, float))
                            or e.d["dur"] < 0):
            return "an X event without a dur >= 0"
        if e.ph in ("s", "f") and e.d.get("id") is None:
            return "a flow event without an id"
        if e.ph in ("X", "i") and not isinstance(e.pool, int):
            return "no args.pool"
        if e.name in ("submit", "send", "task", "result", "callback",
                      "error_callback", "ready", "wait") and e.ph in ("X", "i") \
                and not isinstance(e.job, int):
            return "no args.job"
        return None

    # Selections, each in time order.
    def named(self, *names, ph=None):
        out = [e for e in self.events if e.name in names
               and (ph is None or e.ph == ph)]
        return sorted(out, key=lambda e: (e.ts, e.i))

    def of(self, key, *names, ph=None):
        out = [e for e in self.jobs.get(key, ()) if e.name in names
               and (ph is None or e.ph == ph)]
        return sorted(out, key=lambda e: (e.ts, e.i))

    def submit(self, key):
        s = self.of(key, "submit")
        return s[0] if s else None

    def tasks(self, key):
        return self.of(key, "task", ph="X")

    def results(self, key):
        return self.of(key, "result", ph="i")

    def callbacks(self, key=None):
        if key is None:
            return self.named(*CALLBACKS, ph="X")
        return self.of(key, *CALLBACKS, ph="X")

    def ready_waits(self, key):
        return [w for w in self.of(key, "wait", ph="X")
                if w.args.get("rc") in READY_RCS]

    def terminate_ts(self, pool):
        t = [e.ts for e in self.named("terminate") if e.pool == pool]
        return min(t) if t else None

    def failed(self, task):
        return "error" in task.args or task.args.get("died") is True

    def cut_by_terminate(self, task):
        """A task that died after its pool's terminate: terminate failed its
        handle at once, so nothing waited for its end."""
        t = self.terminate_ts(task.pool)
        return task.args.get("died") is True and t is not None and task.end >= t


# ---- The claims -------------------------------------------------------------------
# Each takes the trace and returns a list of violations, one line each.

def c_well_formed(tr):
    return [f"event #{i}: {why}" for i, why in tr.malformed]


def c_callback_on_result_handler(tr):
    out = []
    if tr.main_pid is None:
        return [f"no single process named 'main' (processes: "
                f"{sorted(set(tr.proc.values()), key=str)})"] if tr.callbacks() else []
    for cb in tr.callbacks():
        tid = tr.handler.get(cb.pool)
        if tid is None:
            out.append(f"{cb}: pool {cb.pool} has no thread named result-handler "
                       f"in main (pid {tr.main_pid})")
        elif (cb.pid, cb.tid) != (tr.main_pid, tid):
            out.append(f"{cb} runs on {tr.thread.get((cb.pid, cb.tid))!r}, not on "
                       f"pool {cb.pool}'s result-handler (pid {tr.main_pid} tid {tid})")
    return out


def c_callback_after_last_task(tr):
    out = []
    for cb in tr.callbacks():
        for t in tr.tasks(cb.key):
            if t.end > cb.ts and not tr.cut_by_terminate(t):
                out.append(f"{cb} starts before {t} ends")
    return out


def c_callback_after_last_result(tr):
    out = []
    for cb in tr.callbacks():
        for r in tr.results(cb.key):
            if r.ts > cb.ts:
                out.append(f"{cb} starts before the chunk result {r} is read")
    return out


def c_wait_returns_after_callback(tr):
    out = []
    for cb in tr.callbacks():
        for w in tr.ready_waits(cb.key):
            if w.end < cb.end:
                out.append(f"{w} returns before {cb} ends")
    return out


def c_wait_returns_after_tasks(tr):
    """A handle that succeeded is ready only after all its items are done."""
    out = []
    for key in tr.jobs:
        if not any(r.args.get("ok") is True for r in tr.of(key, "ready")):
            continue
        work = tr.tasks(key) + tr.results(key)
        for w in tr.ready_waits(key):
            late = [x for x in work if (x.end if x.ph == "X" else x.ts) > w.end]
            if late:
                out.append(f"{w} returns before {late[-1]} ends")
    return out


def flows(tr):
    s, f = {}, {}
    for e in tr.events:
        if e.ph == "s":
            s.setdefault(e.d["id"], []).append(e)
        elif e.ph == "f":
            f.setdefault(e.d["id"], []).append(e)
    return s, f


def c_flows_paired(tr):
    out = []
    s, f = flows(tr)
    for fid in sorted(set(s) | set(f), key=str):
        ns_, nf = len(s.get(fid, ())), len(f.get(fid, ()))
        if (ns_, nf) != (1, 1):
            ev = (s.get(fid) or f.get(fid))[0]
            out.append(f"flow id {fid}: {ns_} start(s) and {nf} end(s), not one "
                       f"each ({ev})")
    return out


def c_flow_task_to_callback(tr):
    """s at the end of a task, on its worker's lane; f at the start of the
    callback of that task's job, which must have "bp":"e" to bind to it."""
    out = []
    s, f = flows(tr)
    tasks = tr.named("task", ph="X")
    cbs = tr.callbacks()
    for fid, starts in s.items():
        if fid not in f or len(starts) != 1 or len(f[fid]) != 1:
            continue  # c_flows_paired says so
        st, fi = starts[0], f[fid][0]
        t = [t for t in tasks if (t.pid, t.tid) == (st.pid, st.tid)
             and abs(t.end - st.ts) <= AT_NS]
        if not t:
            out.append(f"{st} is not at the end of a task on its lane")
            continue
        t = t[0]
        c = [c for c in cbs if (c.pid, c.tid) == (fi.pid, fi.tid)
             and abs(c.ts - fi.ts) <= AT_NS]
        if not c:
            out.append(f"{fi} (from {t}) is not at the start of a callback")
        elif c[0].key != t.key:
            out.append(f"{fi} links {t} to {c[0]}, a callback of another job")
        elif fi.d.get("bp") != "e":
            out.append(f"{fi} lacks \"bp\":\"e\", so it binds to no slice")
    # Every callback got its tasks' arrows: one per task of its job.
    ends = {}
    for fid, fs in f.items():
        for fi in fs:
            ends[(fi.pid, fi.tid, fi.ts)] = ends.get((fi.pid, fi.tid, fi.ts), 0) + 1
    for c in cbs:
        n = sum(v for (p, t_, ts), v in ends.items()
                if (p, t_) == (c.pid, c.tid) and abs(ts - c.ts) <= AT_NS)
        tasks_done = [t for t in tr.tasks(c.key) if "result" in t.args]
        if c.name == "callback" and n < len(tasks_done):
            out.append(f"{c} has {n} flow arrow(s) for {len(tasks_done)} task result(s)")
    return out


def c_one_callback_per_job(tr):
    out = []
    for key in tr.jobs:
        cbs = tr.callbacks(key)
        if len(cbs) > 1:
            out.append(f"pool {key[0]} job {key[1]} has {len(cbs)} callbacks: "
                       + ", ".join(map(str, cbs[:3])))
    return out


def c_callback_matches_outcome(tr):
    """A failed task calls the error callback, never the result callback."""
    out = []
    for cb in tr.callbacks():
        bad = [t for t in tr.tasks(cb.key) if tr.failed(t)]
        if cb.name == "callback" and bad:
            out.append(f"{cb} is the result callback, but {bad[0]} failed")
        t = tr.terminate_ts(cb.pool)
        if cb.name == "error_callback" and not bad and (t is None or t > cb.ts):
            out.append(f"{cb} is the error callback, but no task of its job "
                       "failed and its pool was not terminated")
    return out


def c_every_item_traced(tr):
    """A job whose result callback ran did every item: one task event each."""
    out = []
    for cb in tr.named("callback", ph="X"):
        sub = tr.submit(cb.key)
        if sub is None:
            out.append(f"{cb} has no submit event")
            continue
        n = sub.args.get("items")
        idx = sorted(t.index for t in tr.tasks(cb.key))
        if not isinstance(n, int) or idx != list(range(n)):
            out.append(f"{sub} has {n} items, but its task events have indexes "
                       f"{idx[:12]}{'...' if len(idx) > 12 else ''}")
    return out


def cut(s):
    return not isinstance(s, str) or s.endswith("...")


def expected_value(tr, cb):
    """What the callback of cb's job must have got, from its tasks' results;
    None when that cannot be known (a value cut, a task missing)."""
    sub = tr.submit(cb.key)
    tasks = {t.index: t for t in tr.tasks(cb.key)}
    if sub is None or not isinstance(sub.args.get("items"), int):
        return None
    n = sub.args["items"]
    res = [tasks[i].args.get("result") if i in tasks else None for i in range(n)]
    if any(cut(r) for r in res):
        return None
    if sub.args.get("kind") == "apply":
        return res[0] if n == 1 else None
    return "[" + ", ".join(res) + "]"


def c_callback_value_in_order(tr):
    """A map's callback gets the results in item order, whatever order the
    tasks finished in; an apply's gets its one result."""
    out = []
    for cb in tr.named("callback", ph="X"):
        want, got = expected_value(tr, cb), cb.args.get("value")
        if want is None or cut(got):
            continue
        if got != want:
            out.append(f"{cb} got {short(got)} but its tasks, in index order, "
                       f"returned {short(want)}")
    return out


def short(s, n=70):
    s = str(s)
    return s if len(s) <= n else s[: n - 3] + "..."


def worker_lane(tr, t):
    """The PoolWorker name of an event's lane: a worker process's, on its one
    thread, or a worker thread's in main's process (a pool made with
    config.threads); None on any other lane."""
    if t.pid == tr.main_pid:
        name = tr.thread.get((t.pid, t.tid)) or ""
        return name if t.tid != t.pid and name.startswith("PoolWorker-") else None
    name = tr.proc.get(t.pid) or ""
    return name if t.tid == t.pid and name.startswith("PoolWorker-") else None


def c_tasks_in_workers(tr):
    out = []
    for t in tr.named("task", ph="X"):
        if worker_lane(tr, t) is None:
            name = tr.thread.get((t.pid, t.tid)) or tr.proc.get(t.pid) or ""
            out.append(f"{t} runs in {name!r}, not on a PoolWorker's one thread "
                       "nor on a PoolWorker thread of main's process")
    return out


def c_chunk_result_after_its_tasks(tr):
    """A chunk's result is read after each of its tasks ended, on the
    worker the chunk was sent to."""
    out = []
    for r in tr.named("result", ph="i"):
        first, count = r.args.get("first"), r.args.get("count")
        if not isinstance(first, int) or not isinstance(count, int):
            out.append(f"{r} has no first/count")
            continue
        tasks = {t.index: t for t in tr.tasks(r.key)}
        suffix = "" if r.pool == 1 else f" (pool {r.pool})"
        worker = f"PoolWorker-{r.args.get('worker')}{suffix}"
        for i in range(first, first + count):
            t = tasks.get(i)
            if t is None:
                out.append(f"{r}: its task index {i} is not in the trace")
            elif t.end > r.ts:
                out.append(f"{r} is read before {t} ends")
            elif worker_lane(tr, t) != worker:
                out.append(f"{r} names {worker}, but {t} ran in "
                           f"{worker_lane(tr, t) or tr.proc.get(t.pid)!r}")
    return out


def c_callbacks_never_overlap(tr):
    """One result-handler thread per pool: its callbacks run one at a time."""
    out = []
    by_pool = {}
    for cb in tr.callbacks():
        by_pool.setdefault(cb.pool, []).append(cb)
    for cbs in by_pool.values():
        for a, b in zip(cbs, cbs[1:]):
            if b.ts < a.end:
                out.append(f"{b} starts before {a} ends")
    return out


def c_join_returns_after_callbacks(tr):
    out = []
    for j in tr.named("join", ph="X"):
        for cb in tr.callbacks():
            if cb.pool == j.pool and cb.end > j.end:
                out.append(f"{j} returns before {cb} ends")
    return out


def c_ready_after_callback(tr):
    """The handle becomes ready only once its callback has returned."""
    out = []
    for cb in tr.callbacks():
        for r in tr.of(cb.key, "ready"):
            if r.ts < cb.end:
                out.append(f"{r} comes before {cb} ends")
    return out


def c_cancelled_never_sent(tr):
    """A cancelled job's items never reach a worker, and its handle fails."""
    out = []
    for c in tr.named("cancel"):
        if c.args.get("cancelled") is not True:
            continue
        out += [f"{e} comes of {c}'s job" for e in tr.of(c.key, "send", "task")]
        out += [f"{r}: a cancelled job's handle is ok" for r in tr.of(c.key, "ready")
                if r.args.get("ok") is not False]
    return out


GENERAL = [
    ("well_formed", c_well_formed,
     "every event has ph, name, pid, tid, ts; X a dur; pool events args.pool and job"),
    ("callback_on_result_handler", c_callback_on_result_handler,
     "every callback and error callback runs on its pool's result-handler thread in main"),
    ("callback_after_last_task", c_callback_after_last_task,
     "a callback starts after the last task of its job ends"),
    ("callback_after_last_result", c_callback_after_last_result,
     "a callback starts after the last chunk result of its job is read"),
    ("wait_returns_after_callback", c_wait_returns_after_callback,
     "a wait or get that found the handle ready returns after its callback ends"),
    ("wait_returns_after_tasks", c_wait_returns_after_tasks,
     "a wait or get on a successful handle returns after its tasks and results"),
    ("ready_after_callback", c_ready_after_callback,
     "a handle becomes ready after its callback ends"),
    ("flows_paired", c_flows_paired,
     "every flow start has exactly one end with its id, and every end one start"),
    ("flow_task_to_callback", c_flow_task_to_callback,
     "a flow starts at a task's end and ends at the start of its job's callback"),
    ("one_callback_per_job", c_one_callback_per_job,
     "a job's callback or error callback runs at most once"),
    ("callback_matches_outcome", c_callback_matches_outcome,
     "a failed task calls the error callback, never the result callback"),
    ("every_item_traced", c_every_item_traced,
     "a job whose result callback ran has one task event per item"),
    ("callback_value_in_order", c_callback_value_in_order,
     "a map's callback gets its tasks' results in item order"),
    ("tasks_in_workers", c_tasks_in_workers,
     "every task runs in a PoolWorker process, on its one thread, or on a PoolWorker "
     "thread of main's process"),
    ("chunk_result_after_its_tasks", c_chunk_result_after_its_tasks,
     "a chunk's result is read after its tasks end, on the worker it names"),
    ("callbacks_never_overlap", c_callbacks_never_overlap,
     "a pool's callbacks run one at a time"),
    ("join_returns_after_callbacks", c_join_returns_after_callbacks,
     "join returns after every callback of its pool has ended"),
    ("cancelled_never_sent", c_cancelled_never_sent,
     "a cancelled job is never sent to a worker, and its handle is not ok"),
]


# ---- The lessons' own claims --------------------------------------------------
# Each also makes sure the general claims had something to check: a trace
# with no callback at all would pass them all.

def keys_of(tr, kind=None, pool=1):
    subs = [e for e in tr.named("submit") if e.pool == pool
            and (kind is None or e.args.get("kind") == kind)]
    return [e.key for e in subs]


def need_value_checked(tr, kind, items):
    keys = keys_of(tr, kind)
    if len(keys) != 1:
        return [f"expected one {kind} job, found {len(keys)}"]
    sub = tr.submit(keys[0])
    cbs = tr.of(keys[0], "callback", ph="X")
    if sub.args.get("items") != items or len(cbs) != 1:
        return [f"{sub}: expected {items} item(s) and one callback, found "
                f"{sub.args.get('items')} and {len(cbs)}"]
    if expected_value(tr, cbs[0]) is None or cut(cbs[0].args.get("value")):
        return [f"{cbs[0]}: its value or its tasks' results are cut or missing, "
                "so the order cannot be checked"]
    return []


def l01_apply_callback_gets_result(tr):
    return need_value_checked(tr, "apply", 1)


def l02_map_callback_gets_list(tr):
    return need_value_checked(tr, "map", 5)


def l03_starmap_callback_gets_list(tr):
    return need_value_checked(tr, "starmap", 5)


def the_callback(tr, key, name="callback"):
    cbs = tr.of(key, name, ph="X")
    return cbs[0] if len(cbs) == 1 else None


def main_waits(tr, key, call):
    return [w for w in tr.of(key, "wait", ph="X")
            if w.args.get("call") == call and (w.pid, w.tid) == (tr.main_pid, tr.main_tid)
            and w.args.get("rc") in READY_RCS]


def l04_callback_in_main_tasks_in_workers(tr):
    out = []
    cb = the_callback(tr, (1, 1))
    tasks = tr.tasks((1, 1))
    if cb is None or len(tasks) != 1:
        return ["expected job 1 to have one task and one callback"]
    if cb.pid != tr.main_pid or cb.tid == tr.main_tid:
        out.append(f"{cb} is not in main's process on a thread other than main's "
                   f"(main: pid {tr.main_pid} tid {tr.main_tid})")
    if tasks[0].pid == cb.pid:
        out.append(f"{tasks[0]} runs in the callback's process")
    return out


def l17_tasks_on_threads_of_main(tr):
    out = []
    cb = the_callback(tr, (1, 1))
    tasks = tr.tasks((1, 1))
    if cb is None or len(tasks) != 1:
        return ["expected job 1 to have one task and one callback"]
    t = tasks[0]
    if t.pid != tr.main_pid or t.tid in (tr.main_tid, cb.tid) or worker_lane(tr, t) is None:
        out.append(f"{t} is not on a PoolWorker thread of main's process "
                   f"(main: pid {tr.main_pid} tid {tr.main_tid}; callback: tid {cb.tid})")
    if cb.pid != tr.main_pid or cb.tid == tr.main_tid:
        out.append(f"{cb} is not in main's process on a thread other than main's")
    return out


def l18_map_callback_once_in_main(tr):
    keys = keys_of(tr, "map")
    if len(keys) != 1:
        return [f"expected one map job, found {len(keys)}"]
    tasks, cb = tr.tasks(keys[0]), the_callback(tr, keys[0])
    if len(tasks) != 3 or cb is None:
        return [f"expected the map to have 3 task events and one callback, found "
                f"{len(tasks)} and {len(tr.callbacks(keys[0]))}"]
    out = [f"{t} runs in main's process" for t in tasks if t.pid == tr.main_pid]
    if cb.pid != tr.main_pid or cb.tid == tr.main_tid:
        out.append(f"{cb} is not in main's process on a thread other than main's "
                   f"(main: pid {tr.main_pid} tid {tr.main_tid})")
    out += [f"{cb} starts before {t} ends" for t in tasks if t.end > cb.ts]
    return out


def l05_callback_before_join_returns(tr):
    cb = the_callback(tr, (1, 1))
    joins = [j for j in tr.named("join", ph="X") if (j.pid, j.tid) ==
             (tr.main_pid, tr.main_tid)]
    if cb is None or len(joins) != 1:
        return ["expected one callback of job 1 and one join by main"]
    return [] if joins[0].end >= cb.end else [f"{joins[0]} returns before {cb} ends"]


def wait_after(tr, key, call, name="callback"):
    cb = the_callback(tr, key, name)
    ws = main_waits(tr, key, call)
    if cb is None or len(ws) != 1:
        return None, None, [f"expected job {key[1]} to have one {name} and one "
                            f"{call} by main, found {0 if cb is None else 1} and {len(ws)}"]
    if ws[0].end < cb.end:
        return cb, ws[0], [f"{ws[0]} returns before {cb} ends"]
    return cb, ws[0], []


def l06_callback_between_tasks_and_wait(tr):
    cb, w, out = wait_after(tr, (1, 1), "wait")
    if cb is not None:
        tasks = tr.tasks((1, 1))
        if len(tasks) != 5:
            out.append(f"expected 5 task events of job 1, found {len(tasks)}")
        out += [f"{cb} starts before {t} ends" for t in tasks if t.end > cb.ts]
    return out


def l07_failed_callback_wait_returns(tr):
    cb, w, out = wait_after(tr, (1, 1), "wait")
    ready = tr.of((1, 1), "ready")
    if len(ready) != 1 or ready[0].args.get("ok") is not False:
        out.append(f"expected job 1 to become ready once, not ok: {list(map(str, ready))}")
    return out


def l08_error_callback_not_callback(tr):
    cb, w, out = wait_after(tr, (1, 1), "get", "error_callback")
    if tr.of((1, 1), "callback", ph="X"):
        out.append(f"the result callback ran: {tr.of((1, 1), 'callback', ph='X')[0]}")
    bad = [t for t in tr.tasks((1, 1)) if tr.failed(t)]
    if [t.index for t in bad] != [3]:
        out.append(f"expected task index 3 to fail, and only it: "
                   f"{[t.index for t in bad]}")
    if w is not None and w.args.get("rc") != -5:
        out.append(f"{w}: expected rc -5 (POOL_ETASK)")
    return out


def l09_callback_gets_none(tr):
    cb = the_callback(tr, (1, 1))
    if cb is None:
        return ["expected one callback of job 1"]
    return [] if cb.args.get("value") == "None" else [f"{cb} got {cb.args.get('value')!r}, not None"]


def l10_follow_ups_from_callback(tr):
    cb, w, out = wait_after(tr, (1, 1), "get")
    if cb is None:
        return out
    follow = [s for s in tr.named("submit") if s.pool == 1 and s.job != 1]
    if len(follow) != 5:
        out.append(f"expected 5 follow-up submissions, found {len(follow)}")
    for s in follow:
        if (s.pid, s.tid) != (cb.pid, cb.tid) or not cb.ts <= s.ts <= cb.end:
            out.append(f"{s} is not made inside {cb}")
        for t in tr.tasks(s.key):
            if t.ts < cb.ts:
                out.append(f"{t} starts before {cb}, which submitted it")
    return out


def in_job_order(tr, pool=1):
    cbs = [c for c in tr.callbacks() if c.pool == pool]
    return [f"{b} runs before {a}" for a, b in zip(cbs, cbs[1:]) if b.job < a.job]


def l11_death_then_new_worker(tr):
    out = []
    deaths = tr.named("worker_died")
    if not any(d.args.get("job") is not None for d in deaths):
        out.append("expected a worker to die mid-task, found no worker_died with a job")
    for d in deaths:
        old = d.args.get("pid")
        rep = [r for r in tr.named("worker_replaced") if r.pool == d.pool
               and r.args.get("pid") == old and r.ts >= d.ts]
        if not rep:
            out.append(f"{d} (pid {old}) is followed by no worker_replaced naming it")
            continue
        new = rep[0].args.get("new_pid")
        st = [s for s in tr.named("worker_started") if s.pool == d.pool
              and s.args.get("pid") == new]
        if new == old or not st or st[0].ts < d.ts:
            out.append(f"{d} is not followed by the worker_started of a new pid "
                       f"(replaced by pid {new}: {', '.join(map(str, st)) or 'never started'})")
        if d.args.get("job") is not None:
            key = (d.pool, d.args["job"])
            ecb = the_callback(tr, key, "error_callback")
            died = [t for t in tr.tasks(key) if t.args.get("died") is True]
            if ecb is None or not died:
                out.append(f"{d}: its job has no died task and one error callback")
            elif ecb.ts < died[0].end:
                out.append(f"{ecb} starts before {died[0]} ends")
    return out + in_job_order(tr)


def l12_close_join_versus_terminate(tr):
    out = []
    for pool, how in ((1, "close"), (2, "terminate")):
        stop = [e for e in tr.named(how) if e.pool == pool]
        join = [e for e in tr.named("join", ph="X") if e.pool == pool]
        if len(stop) != 1 or len(join) != 1:
            out.append(f"expected pool {pool} to have one {how} and one join")
            continue
        if join[0].ts < stop[0].ts:
            out.append(f"{join[0]} starts before {stop[0]}")
        keys = keys_of(tr, "apply", pool)
        ready = [r for k in keys for r in tr.of(k, "ready")]
        if len(keys) != 5 or len(ready) != 5:
            out.append(f"expected pool {pool} to have 5 jobs, each ready once: "
                       f"{len(keys)} jobs, {len(ready)} ready")
        for r in ready:
            if r.args.get("ok") is not (pool == 1):
                out.append(f"{r}: expected ok {pool == 1}")
            if pool == 2 and r.ts < stop[0].ts:
                out.append(f"{r} comes before {stop[0]}")
        if pool == 1:
            out += [f"{k}: expected one finished task" for k in keys
                    if len([t for t in tr.tasks(k) if "result" in t.args]) != 1]
            continue
        # Terminate cuts every task short: none ends before it, none is read.
        for k in keys:
            out += [f"{r} is read after {stop[0]}" for r in tr.results(k)]
            out += [f"{t} ends before {stop[0]}" for t in tr.tasks(k)
                    if t.end < stop[0].ts or "result" in t.args]
    return out


def l13_slow_callback_delays_rest(tr):
    cbs = [the_callback(tr, (1, j)) for j in (1, 2, 3)]
    if None in cbs:
        return ["expected jobs 1, 2 and 3 to have one callback each"]
    out = in_job_order(tr)
    for j in (2, 3):
        res = tr.results((1, j))
        if not res:
            out.append(f"job {j}'s result is not in the trace")
        elif res[-1].ts > cbs[0].end:
            out.append(f"{res[-1]} is read only after {cbs[0]} ends: nothing waited")
        if cbs[j - 1].ts < cbs[0].end:
            out.append(f"{cbs[j - 1]} starts before {cbs[0]} ends")
    return out


def l15_done_callbacks_where_added(tr):
    key = (1, 1)
    cb = the_callback(tr, key)
    dones = tr.of(key, "done_callback", ph="X")
    ready = tr.of(key, "ready")
    if cb is None or len(dones) != 2 or len(ready) != 1:
        return [f"expected job 1 to have one callback, one ready and two done callbacks, "
                f"found {0 if cb is None else 1}, {len(ready)} and {len(dones)}"]
    # Which is which by thread, not by time: once get returns, main may add
    # and run the late one before the result handler starts the early one.
    handler = (tr.main_pid, tr.handler.get(1))
    main = (tr.main_pid, tr.main_tid)
    on_handler = [d for d in dones if (d.pid, d.tid) == handler]
    on_main = [d for d in dones if (d.pid, d.tid) == main]
    if len(on_handler) != 1 or len(on_main) != 1:
        return [f"expected one done callback on the result handler and one on main's thread, "
                f"found {len(on_handler)} and {len(on_main)}: {', '.join(map(str, dones))}"]
    out = []
    early, late = on_handler[0], on_main[0]
    if early.ts < cb.end or early.ts < ready[0].ts:
        out.append(f"{early} starts before {cb} ends or before {ready[0]}")
    if late.ts < ready[0].ts:
        out.append(f"{late} starts before {ready[0]}")
    return out


def l16_cancel_shutdown_terminate(tr):
    out = []
    # Per pool: the apply jobs in order, and which cancels must have said what.
    want = {1: (3, {0: False, 1: True, 2: True}), 2: (2, {1: True}), 3: (2, {})}
    for pool, (n_apply, cancels) in want.items():
        keys = keys_of(tr, "apply", pool)
        if len(keys) != n_apply:
            out.append(f"expected pool {pool} to have {n_apply} apply jobs, found {len(keys)}")
            continue
        for i, said in cancels.items():
            c = tr.of(keys[i], "cancel")
            if len(c) != 1 or c[0].args.get("cancelled") is not said:
                out.append(f"expected pool {pool}'s apply {i + 1} to be cancelled: {said}, "
                           f"found {', '.join(map(str, c)) or 'no cancel'}")
        started = keys[0]
        finished = [t for t in tr.tasks(started) if "result" in t.args]
        if len(finished) != (0 if pool == 3 else 1):
            out.append(f"pool {pool}'s started task: expected it to "
                       f"{'be cut short' if pool == 3 else 'finish'}")
        for k in keys[1:]:
            out += [f"{t} ran, queued behind a full worker" for t in tr.tasks(k)]
    if len(tr.named("terminate")) != 1:
        out.append("expected one terminate, in pool 3")
    return out


def l14_results_as_they_finish(tr):
    """Main's pool_iter_next() waits (call "next") each return after their
    item's task ends and before the next task to finish ends, so the items
    come out of item order, as they finish."""
    waits = sorted((w for w in tr.named("wait", ph="X") if w.args.get("call") == "next"),
                   key=lambda w: w.end)
    tasks = sorted((t for key in keys_of(tr, "imap_unordered") for t in tr.tasks(key)),
                   key=lambda t: t.end)
    if len(waits) != 4 or len(tasks) != 4:
        return [f"expected 4 imap_unordered tasks and 4 next waits, found {len(tasks)} "
                f"and {len(waits)}"]
    out = []
    for k, (w, t) in enumerate(zip(waits, tasks)):
        if w.end < t.end:
            out.append(f"{w} returns before {t} ends")
        if k + 1 < len(tasks) and w.end > tasks[k + 1].end:
            out.append(f"{w} returns only after {tasks[k + 1]} ends: main did not take "
                       "the result as it came")
    order = [w.args.get("index") for w in waits]
    if order == sorted(order):
        out.append(f"main got the items in item order {order}")
    return out


LESSONS = {
    "01": [("apply_callback_gets_result", l01_apply_callback_gets_result,
            "one apply job whose callback gets its task's result")],
    "02": [("map_callback_gets_list", l02_map_callback_gets_list,
            "one map of 5 items, its callback's list checkable for order")],
    "03": [("starmap_callback_gets_list", l03_starmap_callback_gets_list,
            "one starmap of 5 items, its callback's list checkable for order")],
    "04": [("callback_in_main_tasks_in_workers", l04_callback_in_main_tasks_in_workers,
            "the callback is in main's process, not on main's thread; the task elsewhere")],
    "05": [("callback_before_join_returns", l05_callback_before_join_returns,
            "the callback ends before main's join returns")],
    "06": [("callback_between_tasks_and_wait", l06_callback_between_tasks_and_wait,
            "the callback starts after the 5 tasks end and ends before main's wait returns")],
    "07": [("failed_callback_wait_returns", l07_failed_callback_wait_returns,
            "main's wait returns after the failing callback; the handle is not ok")],
    "08": [("error_callback_not_callback", l08_error_callback_not_callback,
            "task 3 fails: one error callback, no result callback, get rc -5 after it")],
    "09": [("callback_gets_none", l09_callback_gets_none,
            "the callback gets None")],
    "10": [("follow_ups_from_callback", l10_follow_ups_from_callback,
            "the 5 follow-ups are submitted inside job 1's callback, their tasks after it")],
    "11": [("death_then_new_worker", l11_death_then_new_worker,
            "a death mid-task is followed by a new worker's start and its replacement; "
            "callbacks in job order")],
    "12": [("close_join_versus_terminate", l12_close_join_versus_terminate,
            "close then join finishes all; terminate before join cuts every task short")],
    "13": [("slow_callback_delays_rest", l13_slow_callback_delays_rest,
            "results 2 and 3 are read while callback 1 runs; their callbacks follow it")],
    "15": [("done_callbacks_where_added", l15_done_callbacks_where_added,
            "the early done callback on the result handler after the callback; the late on main")],
    "16": [("cancel_shutdown_terminate", l16_cancel_shutdown_terminate,
            "cancel takes only queued jobs; no queued job runs; the started task finishes "
            "but under terminate")],
    "14": [("results_as_they_finish", l14_results_as_they_finish,
            "main's next() returns each item between its task's end and the next one's")],
    "17": [("tasks_on_threads_of_main", l17_tasks_on_threads_of_main,
            "the task runs on a PoolWorker thread of main's process; the callback on "
            "another thread of it, not main's")],
    "18": [("map_callback_once_in_main", l18_map_callback_once_in_main,
            "one map of 3 items, each task outside main's process; one callback, in main's "
            "process off main's thread, after every task ends")],
}


def all_claims():
    out = dict((n, (f, d)) for n, f, d in GENERAL)
    for claims in LESSONS.values():
        out.update((n, (f, d)) for n, f, d in claims)
    return out


# ---- Informational ------------------------------------------------------------

def finish_order(tr):
    lines = []
    for s in tr.named("submit"):
        if s.args.get("kind") not in ("map", "starmap"):
            continue
        tasks = sorted(tr.tasks(s.key), key=lambda t: (t.end, t.index))
        order = [t.index for t in tasks]
        if len(order) > 1:
            lines.append(f"pool {s.pool} job {s.job}: tasks finished in order "
                         f"{' '.join(map(str, order[:20]))}"
                         + ("" if order == sorted(order) else " (out of index order)"))
    return lines


def main(argv):
    usage = ("usage: check_trace.py LESSON_NN TRACE.json | --claims A,B TRACE.json"
             " | --list [LESSON_NN]")
    if len(argv) >= 1 and argv[0] == "--list":
        nn = argv[1][:2] if len(argv) > 1 else None
        sets = [("general", GENERAL)] + [(k, v) for k, v in sorted(LESSONS.items())
                                          if nn is None or k == nn]
        for who, claims in sets:
            for n, _, d in claims:
                print(f"{who:8} {n:36} {d}")
        return 0
    if len(argv) == 3 and argv[0] == "--claims":
        argv = argv[1:]
    elif len(argv) != 2 or argv[0].startswith("-"):
        print(usage, file=sys.stderr)
        return 2
    who, path = argv
    m = re.match(r"(\d\d)(_|$)", who)
    if m:
        claims = [(n, f) for n, f, _ in GENERAL + LESSONS.get(m.group(1), [])]
        title = f"lesson {m.group(1)}"
    else:
        known = all_claims()
        names = [n for n in who.split(",") if n]
        unknown = [n for n in names if n not in known]
        if unknown or not names:
            print(f"check_trace: no such claim: {', '.join(unknown) or who!r} "
                  "(see --list)", file=sys.stderr)
            return 2
        claims = [(n, known[n][0]) for n in names]
        title = "claims"
    try:
        tr = Trace(load(path))
    except Unreadable as e:
        print(f"check_trace: {path}: {e}")
        return 2
    failed = 0
    for name, fn in claims:
        bad = fn(tr)
        if bad:
            failed += 1
            more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
            print(f"FAILED {name}: {bad[0]}{more}")
    for line in finish_order(tr):
        print(f"info: {line}")
    if failed:
        print(f"check_trace: {path}: {title}: {failed} of {len(claims)} claims failed")
        return 1
    print(f"check_trace: {path}: {title}: all {len(claims)} claims hold "
          f"({len(tr.events)} events)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
