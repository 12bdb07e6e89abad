#!/usr/bin/env python3
"""make_wrong.py - writes the known-wrong traces of the checker's self-test.

Each wrong_*.json is a real trace, good_NN.json (written by lesson NN with
POOL_TRACE set), with one small edit that breaks one claim; cases.txt lists
them for scripts/test_check_trace.sh as
    fail NN FILE CLAIM -- what the edit did
    pass NN FILE -       -- ...
    unreadable NN FILE - -- ...
Run it again (python3 tests/trace_check/make_wrong.py) after replacing a
good_NN.json; every edit checks that it found what it edits.
"""
import json
import os

here = os.path.dirname(os.path.abspath(__file__))
cases = []


def load(nn):
    with open(os.path.join(here, f"good_{nn}.json")) as f:
        return json.load(f)


def write(name, events):
    # One event a line, as the pool writes them.
    with open(os.path.join(here, name), "w") as f:
        f.write("[\n")
        for i, e in enumerate(events):
            f.write(("," if i else "") + json.dumps(e, separators=(",", ":")) + "\n")
        f.write("]\n")


def find(ev, name, ph=None, **args):
    """Every event called name (of phase ph) whose args hold args."""
    out = [e for e in ev if e.get("name") == name and (ph is None or e["ph"] == ph)
           and all(e.get("args", {}).get(k) == v for k, v in args.items())]
    assert out, f"no {name} {args}"
    return out


def one(ev, name, ph=None, **args):
    out = find(ev, name, ph, **args)
    assert len(out) == 1, f"{len(out)} of {name} {args}"
    return out[0]


def end(e):
    return round(e["ts"] + e.get("dur", 0), 3)


def wrong(nn, claim, what):
    """Decorator: the function edits good_NN's events in place."""
    def make(edit):
        ev = load(nn)
        edit(ev)
        name = f"wrong_{nn}_{edit.__name__}.json"
        write(name, ev)
        cases.append(f"fail {nn} {name} {claim} -- {what}")
        return edit
    return make


# ---- General claims -----------------------------------------------------------

@wrong("01", "well_formed", "a task has no dur")
def task_without_dur(ev):
    del one(ev, "task", "X")["dur"]


@wrong("04", "callback_on_result_handler", "the callback runs on main's thread")
def callback_on_main_thread(ev):
    cb = one(ev, "callback", "X")
    cb["tid"] = cb["pid"]
    for f in [e for e in ev if e["ph"] == "f"]:
        f["tid"] = cb["pid"]


@wrong("06", "callback_after_last_task", "the last task ends 1 us after its callback starts")
def task_ends_in_callback(ev):
    cb = one(ev, "callback", "X")
    last = max(find(ev, "task", "X"), key=end)
    last["dur"] = round(cb["ts"] + 1 - last["ts"], 3)


@wrong("02", "callback_after_last_result", "the last chunk result is read after the callback starts")
def result_read_late(ev):
    cb = one(ev, "callback", "X")
    max(find(ev, "result", "i"), key=lambda e: e["ts"])["ts"] = round(cb["ts"] + 0.5, 3)


@wrong("06", "wait_returns_after_callback", "main's wait returns 1 us before the callback ends")
def wait_before_callback_ends(ev):
    cb, w = one(ev, "callback", "X"), one(ev, "wait", "X")
    w["dur"] = round(end(cb) - 1 - w["ts"], 3)


@wrong("10", "wait_returns_after_tasks", "a wait on a follow-up returns before its task ends")
def wait_before_task_ends(ev):
    t = one(ev, "task", "X", job=4)
    w = one(ev, "wait", "X", job=4, call="wait")
    w["ts"], w["dur"] = round(t["ts"] - 5, 3), 4.0


@wrong("01", "ready_after_callback", "the handle is ready as the callback starts")
def ready_in_callback(ev):
    one(ev, "ready")["ts"] = one(ev, "callback", "X")["ts"]


@wrong("02", "flows_paired", "one flow end is missing")
def flow_end_missing(ev):
    ev.remove([e for e in ev if e["ph"] == "f"][2])


@wrong("01", "flow_task_to_callback", "the flow ends at the callback's end, not its start")
def flow_at_callback_end(ev):
    f = [e for e in ev if e["ph"] == "f"]
    assert len(f) == 1
    f[0]["ts"] = end(one(ev, "callback", "X"))


@wrong("13", "flow_task_to_callback", "task 1's flow ends at callback 2")
def flow_to_other_job(ev):
    s = [e for e in ev if e["ph"] == "s" and e["pid"] == one(ev, "task", "X", job=2)["pid"]
         and e["ts"] == end(one(ev, "task", "X", job=2))]
    f = [e for e in ev if e["ph"] == "f" and e["id"] == s[0]["id"]]
    f[0]["ts"] = one(ev, "callback", "X", job=3)["ts"]


@wrong("09", "flow_task_to_callback", "the flow end lacks \"bp\":\"e\"")
def flow_without_bp(ev):
    f = [e for e in ev if e["ph"] == "f"]
    del f[0]["bp"]


@wrong("02", "one_callback_per_job", "the callback runs twice")
def callback_twice(ev):
    cb = one(ev, "callback", "X")
    again = dict(cb, ts=round(end(cb) + 10, 3))
    ev.insert(ev.index(cb) + 1, again)


@wrong("08", "callback_matches_outcome", "the result callback runs for a failed task")
def callback_after_failure(ev):
    one(ev, "error_callback", "X")["name"] = "callback"


@wrong("02", "every_item_traced", "task index 3 is not in the trace")
def task_missing(ev):
    ev.remove(one(ev, "task", "X", index=3))


@wrong("02", "callback_value_in_order", "the list is in the tasks' finishing order")
def values_in_arrival_order(ev):
    tasks = sorted(find(ev, "task", "X"), key=end)
    assert [t["args"]["index"] for t in tasks] != sorted(t["args"]["index"] for t in tasks)
    one(ev, "callback", "X")["args"]["value"] = \
        "[" + ", ".join(t["args"]["result"] for t in tasks) + "]"


@wrong("01", "callback_value_in_order", "the callback gets another value")
def apply_other_value(ev):
    one(ev, "callback", "X")["args"]["value"] = "0.5"


@wrong("04", "tasks_in_workers", "the task runs in main")
def task_in_main(ev):
    t, cb = one(ev, "task", "X"), one(ev, "callback", "X")
    t["pid"] = t["tid"] = cb["pid"]


@wrong("03", "chunk_result_after_its_tasks", "a chunk's result names another worker")
def result_from_other_worker(ev):
    r = one(ev, "result", "i", first=0)
    r["args"]["worker"] = 2 if r["args"]["worker"] == 1 else 1


@wrong("13", "callbacks_never_overlap", "callback 2 starts while callback 1 sleeps")
def callbacks_overlap(ev):
    c1, c2 = one(ev, "callback", "X", job=1), one(ev, "callback", "X", job=2)
    for f in [e for e in ev if e["ph"] == "f" and e["ts"] == c2["ts"]]:
        f["ts"] = round(c1["ts"] + 1000, 3)  # the arrow follows its callback
    c2["ts"] = round(c1["ts"] + 1000, 3)


@wrong("05", "join_returns_after_callbacks", "join returns before the callback ends")
def join_before_callback(ev):
    cb, j = one(ev, "callback", "X"), one(ev, "join", "X")
    j["dur"] = round(cb["ts"] + 1 - j["ts"], 3)


# ---- The lessons' own claims ------------------------------------------------------

@wrong("01", "apply_callback_gets_result", "the callback's value is cut")
def l01_value_cut(ev):
    one(ev, "callback", "X")["args"]["value"] = "0.12..."


@wrong("02", "map_callback_gets_list", "the map has no callback")
def l02_no_callback(ev):
    ev.remove(one(ev, "callback", "X"))


@wrong("03", "starmap_callback_gets_list", "the submission is a map, not a starmap")
def l03_map_not_starmap(ev):
    one(ev, "submit")["args"]["kind"] = "map"


@wrong("04", "callback_in_main_tasks_in_workers", "the callback's thread is named main")
def l04_handler_is_main(ev):
    cb = one(ev, "callback", "X")
    for e in ev:
        if e["ph"] == "M" and e["name"] == "thread_name" and e["tid"] == cb["tid"]:
            e["args"]["name"] = "main"
    for e in ev:  # two threads named main: keep the handler's name on the real one
        if e["ph"] == "M" and e["name"] == "thread_name" and e["tid"] == e["pid"] \
                and e["pid"] == cb["pid"]:
            e["args"]["name"] = "result-handler"


@wrong("17", "tasks_on_threads_of_main", "the task runs in a PoolWorker process")
def l17_task_in_process(ev):
    t = one(ev, "task", "X")
    name = next(e["args"]["name"] for e in ev if e["ph"] == "M" and
                e["name"] == "thread_name" and e["tid"] == t["tid"])
    t["pid"] = t["tid"] = other = 4242424
    for kind in ("process_name", "thread_name"):
        ev.insert(1, {"ph": "M", "name": kind, "pid": other, "tid": other,
                      "args": {"name": name}})


@wrong("17", "tasks_in_workers", "the task runs on the task handler's thread")
def task_on_task_handler(ev):
    t = one(ev, "task", "X")
    t["tid"] = next(e["tid"] for e in ev if e["ph"] == "M" and e["name"] == "thread_name"
                    and e["args"]["name"] == "task-handler")


@wrong("18", "map_callback_once_in_main", "task 1 runs in main's process")
def l18_task_in_main(ev):
    t, cb = one(ev, "task", "X", index=1), one(ev, "callback", "X")
    t["pid"] = cb["pid"]


@wrong("18", "map_callback_once_in_main", "the callback starts before the last task ends")
def l18_callback_early(ev):
    cb = one(ev, "callback", "X")
    last = max(find(ev, "task", "X"), key=end)
    cb["ts"] = round(end(last) - 1, 3)


@wrong("05", "callback_before_join_returns", "main never joins")
def l05_no_join(ev):
    ev.remove(one(ev, "join", "X"))


@wrong("06", "callback_between_tasks_and_wait", "main's wait is a timed one that timed out")
def l06_wait_timed_out(ev):
    w = one(ev, "wait", "X")
    w["args"]["rc"] = -4


@wrong("07", "failed_callback_wait_returns", "the failed callback leaves the handle ok")
def l07_ready_ok(ev):
    one(ev, "ready")["args"]["ok"] = True


@wrong("08", "error_callback_not_callback", "task 2 fails, not task 3")
def l08_other_task_fails(ev):
    t2, t3 = one(ev, "task", "X", index=2), one(ev, "task", "X", index=3)
    t2["args"], t3["args"] = dict(t3["args"], index=2), dict(t2["args"], index=3)


@wrong("09", "callback_gets_none", "the callback gets 0")
def l09_not_none(ev):
    one(ev, "callback", "X")["args"]["value"] = "0"
    one(ev, "task", "X")["args"]["result"] = "0"


@wrong("10", "follow_ups_from_callback", "a follow-up is submitted after the callback ends")
def l10_submit_late(ev):
    cb = one(ev, "callback", "X", job=1)
    one(ev, "submit", job=3)["ts"] = round(end(cb) + 1, 3)


@wrong("11", "death_then_new_worker", "the dead worker is not replaced")
def l11_not_replaced(ev):
    ev.remove(one(ev, "worker_replaced"))


@wrong("11", "death_then_new_worker", "the new worker started before the death")
def l11_started_early(ev):
    new = one(ev, "worker_replaced")["args"]["new_pid"]
    d = one(ev, "worker_died")
    one(ev, "worker_started", pid=new)["ts"] = round(d["ts"] - 1, 3)


@wrong("12", "close_join_versus_terminate", "pool 2's join starts before its terminate")
def l12_join_first(ev):
    t = one(ev, "terminate", pool=2)
    j = one(ev, "join", "X", pool=2)
    t["ts"] = round(j["ts"] + 1, 3)


@wrong("12", "close_join_versus_terminate", "a pool 2 task ends before the terminate")
def l12_task_finished(ev):
    t = one(ev, "terminate", pool=2)
    w = one(ev, "worker_started", pool=2, worker=1)
    task = {"ph": "X", "cat": "pool", "name": "task", "pid": w["pid"], "tid": w["pid"],
            "ts": round(t["ts"] - 20, 3), "dur": 10.0,
            "args": {"pool": 2, "job": 1, "index": 0, "result": "0"}}
    ev.insert(ev.index(t), task)


@wrong("13", "slow_callback_delays_rest", "task 2's result is read after callback 1 ends")
def l13_result_late(ev):
    c1 = one(ev, "callback", "X", job=1)
    one(ev, "result", "i", job=2)["ts"] = round(end(c1) + 1, 3)


@wrong("16", "cancelled_never_sent", "a cancelled job's item is sent to the worker")
def cancelled_sent(ev):
    c = one(ev, "cancel", pool=1, job=3)
    assert c["args"]["cancelled"] is True
    s = dict(find(ev, "send", pool=1, job=1)[0])
    s["ts"] = round(c["ts"] + 1, 3)
    s["args"] = dict(s["args"], job=3)
    ev.insert(ev.index(c) + 1, s)


@wrong("15", "done_callbacks_where_added", "the late done callback runs on the result handler")
def l15_late_on_handler(ev):
    early, late = sorted(find(ev, "done_callback", "X", job=1), key=lambda e: e["ts"])
    late["tid"] = early["tid"]


@wrong("16", "cancel_shutdown_terminate", "shutdown's cancel of pool 2's queued job is missing")
def l16_no_shutdown_cancel(ev):
    ev.remove(one(ev, "cancel", pool=2, job=3))


@wrong("14", "results_as_they_finish", "main gets every item only after the last task ends")
def l14_all_at_the_end(ev):
    waits = find(ev, "wait", "X", call="next")
    last = max(end(t) for t in find(ev, "task", "X"))
    assert len(waits) == 4
    for k, w in enumerate(waits):
        w["dur"] = round(last + 1 + k - w["ts"], 3)


# ---- Traces that must pass, and traces that cannot be read ----------------------

def extra():
    ev = load("06")
    cb, w = one(ev, "callback", "X"), one(ev, "wait", "X")
    # A timed wait that gave up before the callback ran says nothing about it.
    timed = dict(w, ts=round(w["ts"] - 2, 3), dur=1.0,
                 args=dict(w["args"], rc=-4))
    assert end(timed) < end(cb)
    ev.append(timed)
    write("pass_06_timed_out_wait.json", ev)
    cases.append("pass 06 pass_06_timed_out_wait.json - -- a wait that timed out "
                 "before the callback ended does not count")

    with open(os.path.join(here, "good_02.json")) as f:
        lines = f.read().splitlines()
    # A parent that died mid-write: no "]", the last line cut in the middle.
    with open(os.path.join(here, "truncated_02.json"), "w") as f:
        f.write("\n".join(lines[:-3]) + "\n" + lines[-3][: len(lines[-3]) // 2])
    cases.append("unreadable 02 truncated_02.json - -- cut mid-event, no final ]")
    with open(os.path.join(here, "truncated_at_line_02.json"), "w") as f:
        f.write("\n".join(lines[:-1]) + "\n")
    cases.append("unreadable 02 truncated_at_line_02.json - -- every event whole, "
                 "no final ]")
    with open(os.path.join(here, "not_json.json"), "w") as f:
        f.write("pool: trace written to stderr by mistake\n")
    cases.append("unreadable 01 not_json.json - -- not JSON at all")
    with open(os.path.join(here, "empty.json"), "w") as f:
        pass
    cases.append("unreadable 01 empty.json - -- an empty file")
    with open(os.path.join(here, "object.json"), "w") as f:
        f.write('{"traceEvents": []}\n')
    cases.append("unreadable 01 object.json - -- JSON, but not an array of events")


extra()
goods = [f"pass {nn} good_{nn}.json - -- a real trace of lesson {nn}"
         for nn in sorted(f[5:7] for f in os.listdir(here) if f.startswith("good_"))]
with open(os.path.join(here, "cases.txt"), "w") as f:
    f.write("# Written by make_wrong.py: verdict lesson file claim -- what\n")
    f.write("\n".join(goods + sorted(cases, key=lambda c: c.split()[0] != "pass"))
            + "\n")
