#!/usr/bin/env python3
"""timeline.py - draws a pool trace (POOL_TRACE=path, Chrome Trace Event
Format) as a timeline: one lane per process and thread, in the terminal or
as an SVG. It reads what the pool writes under POOL_TRACE (JSON array, one
event per line); `make trace-NN` and `make timelines` call this.

    scripts/timeline.py [--ascii | --color] [--width N] TRACE.json
    scripts/timeline.py --svg OUT.svg TRACE.json

Terminal: box characters on a UTF-8 locale (LC_ALL, else LC_CTYPE, else
LANG names UTF-8), plain ASCII under NO_COLOR or any other locale; colour
too when stdout is a terminal. --ascii and --color force one or the other.

Exit status: 0 drawn (also for a truncated trace, which gets one line on
stderr and is drawn as far as it goes), 2 not a trace or bad usage.
"""
import argparse
import json
import math
import os
import re
import sys
from xml.sax.saxutils import escape, quoteattr

PROG = "timeline"


class NotATrace(Exception):
    pass


# ---- Reading ------------------------------------------------------------------

def read_trace(path):
    """Returns (events, truncated_note or None). A file a crashed parent left
    half-written is read line by line: the format puts one event per line."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError as e:
        raise NotATrace(f"cannot read {path}: {e.strerror}")
    if not text.strip():
        raise NotATrace(f"{path} is empty, not a trace")
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if data is not None:
        if isinstance(data, dict):
            data = data.get("traceEvents")
        if not isinstance(data, list):
            raise NotATrace(f"{path} is JSON but not a trace (no event array)")
        return [e for e in data if isinstance(e, dict)], None
    lines = text.split("\n")
    first = next((i for i, l in enumerate(lines) if l.strip()), 0)
    if lines[first].strip() != "[":
        raise NotATrace(f"{path} is not a trace: it does not open with '['")
    events, damaged = [], 0
    for i in range(first + 1, len(lines)):
        line = lines[i].strip()
        if not line or line == "]":
            continue
        if line.startswith(","):
            line = line[1:]
        try:
            ev = json.loads(line)
        except ValueError:
            damaged += 1
            continue
        if isinstance(ev, dict):
            events.append(ev)
    if not events:
        raise NotATrace(f"{path} is not a trace: no event could be read")
    note = f"{path} is truncated: drawing its first {len(events)} events"
    if damaged > 1:  # more than the cut last line
        note += f" ({damaged} unreadable lines skipped)"
    return events, note


# ---- The model: lanes, slices, marks, flows -------------------------------------

POOL_SUFFIX = re.compile(r"^(.*?)(?: \(pool (\d+)\))?$")
WORKER_NAME = re.compile(r"^PoolWorker-(\d+)$")
SYMBOLS = "123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def split_pool(name):
    m = POOL_SUFFIX.match(name or "")
    return m.group(1), int(m.group(2) or 1)


class Lane:
    def __init__(self, pid, tid):
        self.pid, self.tid = pid, tid
        self.slices = []   # (start, end, kind, job_key, event)
        self.marks = []    # (ts, kind, job_key or None, event)
        self.flows_in = [] # (start_ts, end_ts, job_key, error?) ending here
        self.first = None


class Model:
    def __init__(self, events, whole=False):
        self.count = len(events)
        self.proc_names, self.thread_names = {}, {}
        timed = []
        for ev in events:
            ph = ev.get("ph")
            if ph == "M":
                name = (ev.get("args") or {}).get("name")
                if ev.get("name") == "process_name":
                    self.proc_names[ev.get("pid")] = str(name)
                elif ev.get("name") == "thread_name":
                    self.thread_names[(ev.get("pid"), ev.get("tid"))] = str(name)
            elif isinstance(ev.get("ts"), (int, float)):
                timed.append(ev)
        if not timed:
            raise NotATrace("the trace has no timed events to draw")
        timed.sort(key=lambda e: e["ts"])
        self.start = timed[0]["ts"]
        self.t1 = max(e["ts"] + (e.get("dur") or 0) for e in timed)
        self.events = timed
        # The picture starts at the first submit, less a margin: starting a
        # pool's processes takes tens of ms, which would squeeze the lesson
        # into a corner. --whole shows it.
        first = next((e["ts"] for e in timed if e.get("name") == "submit"), self.start)
        self.t0 = self.start if whole else max(self.start, first - 0.03 * (self.t1 - first))

        self.main_pid = next((p for p, n in self.proc_names.items() if n == "main"), None)
        if self.main_pid is None:
            self.main_pid = next((e["pid"] for e in timed if e.get("name") == "pool_create"),
                                 timed[0].get("pid"))
        self.lanes, self.jobs, self.pools = {}, {}, {}
        self.deaths, self.terminates, self.replaced = [], [], []
        flow_s, flow_f = {}, {}
        for ev in timed:
            args = ev.get("args") or {}
            lane = self.lane(ev.get("pid"), ev.get("tid"), ev["ts"])
            name, ph = ev.get("name"), ev.get("ph")
            pool = args.get("pool", 1)
            key = (pool, args["job"]) if "job" in args else None
            if key and key not in self.jobs:
                self.jobs[key] = {"kind": None, "items": None}
            if name == "pool_create":
                self.pools[pool] = args.get("processes")
            if ph == "s":
                flow_s[ev.get("id")] = ev
            elif ph == "f":
                flow_f[ev.get("id")] = (ev, lane)
            elif ph == "X":
                lane.slices.append((ev["ts"], ev["ts"] + (ev.get("dur") or 0), name, key, ev))
            elif name == "submit":
                self.jobs[key] = {"kind": args.get("kind"), "items": args.get("items")}
                lane.marks.append((ev["ts"], "submit", key, ev))
            elif name in ("send", "result", "worker_started", "worker_replaced",
                          "close", "terminate", "worker_died", "worker_exited"):
                lane.marks.append((ev["ts"], name, key, ev))
                if name == "worker_died":
                    self.deaths.append((ev, lane))
                elif name == "terminate":
                    self.terminates.append((ev, lane))
                elif name == "worker_replaced":
                    self.replaced.append(ev)
        for fid, (fev, lane) in flow_f.items():
            sev = flow_s.get(fid)
            if sev is None:
                continue
            # The callback slice the flow ends at says the job and the kind.
            cb = min((s for s in lane.slices if s[2] in ("callback", "error_callback")),
                     key=lambda s: abs(s[0] - fev["ts"]), default=None)
            lane.flows_in.append((sev["ts"], fev["ts"], cb[3] if cb else None,
                                  bool(cb and cb[2] == "error_callback"), sev))
        self.job_order = sorted(self.jobs)
        self.symbol = {k: (SYMBOLS[i] if i < len(SYMBOLS) else "#")
                       for i, k in enumerate(self.job_order)}
        self.ordered = sorted(self.lanes.values(), key=self.lane_key)

    def lane(self, pid, tid, ts):
        lane = self.lanes.get((pid, tid))
        if lane is None:
            lane = self.lanes[(pid, tid)] = Lane(pid, tid)
            lane.first = ts
        return lane

    def label(self, lane):
        return (self.thread_names.get((lane.pid, lane.tid))
                or self.proc_names.get(lane.pid) or f"pid {lane.pid} tid {lane.tid}")

    def process(self, lane):
        return self.proc_names.get(lane.pid) or f"pid {lane.pid}"

    def kind(self, lane):
        pbase, _ = split_pool(self.proc_names.get(lane.pid))
        tbase, _ = split_pool(self.label(lane))
        if WORKER_NAME.match(pbase):
            return "worker"
        if lane.pid == self.main_pid and WORKER_NAME.match(tbase):
            return "worker"  # a worker thread of a pool made with config.threads
        if pbase == "fork server":
            return "fork-server"
        if tbase in ("task-handler", "result-handler"):
            return tbase
        return "caller" if lane.pid == self.main_pid else "other"

    def lane_key(self, lane):
        kind = self.kind(lane)
        base, pool = split_pool(self.label(lane))
        if kind == "caller":
            return (0, 0, 0 if lane.tid == lane.pid else 1, lane.first)
        if kind in ("task-handler", "result-handler"):
            return (0, 1, pool, 0 if kind == "task-handler" else 1)
        if kind == "fork-server":
            return (1, pool, lane.pid)
        if kind == "worker":
            name = self.proc_names.get(lane.pid) if lane.pid != self.main_pid else self.label(lane)
            _, pool = split_pool(name)
            n = int(WORKER_NAME.match(split_pool(name)[0]).group(1))
            return (2, pool, n, lane.first)
        return (3, lane.pid, lane.tid)

    def group(self, lane):
        """Lanes are shown under a heading per process group."""
        kind = self.kind(lane)
        if lane.pid == self.main_pid:
            return "main"
        return {"worker": "workers", "fork-server": "fork server"}.get(kind, "other")

    def job_text(self, key):
        job = self.jobs.get(key, {})
        text = job.get("kind") or "job"
        if job.get("items") not in (None, 1):
            text += f" x{job['items']}"
        if len(self.pools) > 1 or key[0] != 1:
            text = f"pool {key[0]} job {key[1]} {text}"
        return text

    def ms(self, ts):
        return (ts - self.t0) / 1000.0


def nice_step(span, ticks):
    raw = span / max(ticks, 1)
    if raw <= 0:
        return 1.0
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * mag >= raw:
            return m * mag
    return 10 * mag


def fmt_ms(v, step):
    decimals = max(0, -math.floor(math.log10(step))) if step < 1 else 0
    return f"{v:.{decimals}f}"


# ---- Terminal ---------------------------------------------------------------------

def utf8_locale():
    for var in ("LC_ALL", "LC_CTYPE", "LANG"):
        value = os.environ.get(var)
        if value:
            return bool(re.search(r"utf-?8", value, re.I))
    return False


GLYPHS = {
    True: dict(bar="│", flow="─", flow_start="╰", flow_end="▲", flow_err="✗",
               axis="─", tick="┬", start="▸", ell="…"),
    False: dict(bar="|", flow="-", flow_start="'", flow_end="^", flow_err="!",
                axis="-", tick="+", start="+", ell="~"),
}
BG = ["42", "43", "44", "45", "46", "102", "103", "104", "105", "106"]
FG = ["32", "33", "34", "35", "36", "92", "93", "94", "95", "96"]


class Row:
    def __init__(self, width):
        self.cells = [[" ", None] for _ in range(width)]

    def put(self, col, ch, style=None, only_empty=False):
        if 0 <= col < len(self.cells):
            if only_empty and self.cells[col][0] != " ":
                return
            self.cells[col] = [ch, style]

    def text(self, colour):
        out, cur = [], None
        for ch, style in self.cells:
            style = style if colour else None
            if style != cur:
                out.append("\x1b[0m" if cur else "")
                out.append(f"\x1b[{style}m" if style else "")
                cur = style
            out.append(ch)
        if cur:
            out.append("\x1b[0m")
        return "".join(out)


def clean(text, unicode_ok):
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if unicode_ok else text.encode("ascii", "replace").decode("ascii")


def fit(text, width, ell):
    return text if len(text) <= width else text[: max(0, width - 1)] + ell


def wrap(words, width, indent):
    lines, line = [], ""
    for w in words:
        if line and len(line) + 2 + len(w) > width:
            lines.append(line)
            line = indent + w
        else:
            line = (line + "  " + w) if line else w
    if line:
        lines.append(line)
    return lines


def render_terminal(m, path, note, width, unicode_ok, colour):
    g = GLYPHS[unicode_ok]
    labels = []
    for lane in m.ordered:
        labels.append("  " + clean(m.label(lane), unicode_ok))
    flow_label = "   result arrives"
    label_w = min(max([len(l) for l in labels] + [len(flow_label)]), 26)
    plot_w = width - label_w - 2
    span = max(m.t1 - m.t0, 1e-3)

    def col(ts):
        return min(plot_w - 1, max(0, int((ts - m.t0) / span * plot_w)))

    def col_end(ts):
        return min(plot_w - 1, max(0, math.ceil((ts - m.t0) / span * plot_w) - 1))

    def jstyle(key, bg):
        i = m.job_order.index(key) if key in m.job_order else 0
        return ("30;" + BG[i % len(BG)]) if bg else FG[i % len(FG)]

    out = []
    head = (f"{os.path.basename(path)}: {len(m.ordered)} lanes, "
            f"{span / 1000:.1f} ms, 1 column = {span / 1000 / plot_w:.3g} ms")
    if note:
        head += f" (truncated: {m.count} events)"
    elif m.t0 > m.start:
        head += f", from {-m.ms(m.start):.1f} ms after pool_create"
    out.append(("\x1b[1m" if colour else "") + fit(clean(head, unicode_ok), width, g["ell"])
               + ("\x1b[0m" if colour else ""))
    last_group = None
    for lane, label in zip(m.ordered, labels):
        group = m.group(lane)
        if group != last_group:
            last_group = group
            if group == "main":
                h = f"main process, pid {lane.pid}: caller threads and the pool's threads"
            elif group == "workers":
                h = "worker processes, one thread each"
            elif group == "fork server":
                h = f"fork server process, pid {lane.pid}"
            else:
                h = f"other processes"
            out.append(fit(h, width, g["ell"]))
        row = Row(plot_w)
        kind = m.kind(lane)
        for start, end, name, key, ev in lane.slices:
            if name == "join":
                ch, style = "=", "2"
            elif key is None:
                ch, style = "=", None
            else:
                ch = m.symbol[key]
                style = jstyle(key, bg=name not in ("wait",))
                if name == "error_callback":
                    style = "30;41"
            for c in range(col(start), max(col(start), col_end(end)) + 1):
                row.put(c, ch, style)
        for ts, name, key, ev in lane.marks:
            c = col(ts)
            if name == "submit" and key in m.symbol:  # over a wait or join it starts
                row.put(c, m.symbol[key], "1;" + jstyle(key, False))
            elif name in ("send", "result") and key in m.symbol:
                row.put(c, m.symbol[key], jstyle(key, False), only_empty=True)
            elif name == "worker_started" and ts >= m.t0:
                row.put(c, g["start"], "32", only_empty=True)
            elif name == "worker_replaced":
                row.put(c, "R", "1;33")
            elif name == "close":
                row.put(c, "C", "1", only_empty=True)
        for ts, name, key, ev in lane.marks:  # on top of everything
            if name == "worker_died":
                row.put(col(ts), "X", "1;31")
            elif name == "terminate":
                row.put(col(ts), "T", "1;31")
        out.append(fit(label, label_w, g["ell"]).ljust(label_w) + " " + g["bar"]
                   + row.text(colour))
        errors = [s for s in lane.slices if s[2] == "error_callback"]
        if lane.flows_in or errors:
            frow = Row(plot_w)
            for s, f, key, err, sev in sorted(lane.flows_in):
                style = jstyle(key, False) if key else None
                cs, cf = col(s), col(f)
                for c in range(cs, cf):
                    frow.put(c, g["flow"], style, only_empty=True)
                if cs < cf:
                    frow.put(cs, g["flow_start"], style, only_empty=True)
            for s, f, key, err, sev in lane.flows_in:
                style = "1;31" if err else (jstyle(key, False) if key else None)
                frow.put(col(f), g["flow_err"] if err else g["flow_end"], style)
            for start, end, name, key, ev in errors:
                frow.put(col(start), g["flow_err"], "1;31")
            out.append(flow_label.ljust(label_w) + " " + g["bar"] + frow.text(colour))

    # The time axis: ticks at a round step, labelled in ms.
    span_ms = span / 1000
    step = nice_step(span_ms, plot_w // 12)
    axis, numbers = Row(plot_w), [" "] * plot_w
    for c in range(plot_w):
        axis.put(c, g["axis"])
    k, last_end = 0, -1
    while k * step <= span_ms + 1e-9:
        c = min(plot_w - 1, int(k * step / span_ms * plot_w))
        axis.put(c, g["tick"])
        text = fmt_ms(k * step, step)
        if c > last_end and c + len(text) <= plot_w:
            numbers[c:c + len(text)] = list(text)
            last_end = c + len(text)
        k += 1
    out.append("time (ms)".ljust(label_w) + " " + g["bar"] + axis.text(False))
    out.append(" " * (label_w + 2) + "".join(numbers).rstrip())

    # The legend: what each fill character means.
    words = [f"{m.symbol[k]}={m.job_text(k)}" for k in m.job_order]
    out += wrap(["jobs:"] + words, width, "      ")
    key = ["key: a job's character marks its tasks (worker lanes), its callback",
           "(result-handler), a wait for it (caller threads), its chunks sent and",
           "results read (task-handler).",
           f"{g['flow_start']}{g['flow']}{g['flow']}{g['flow_end']} a result, from its task's end to",
           f"its callback's start; {g['flow_err']} an error callback starts. = join, C close,",
           f"T terminate, X worker died, {g['start']} worker started, R worker replaced."]
    out += wrap_text(" ".join(key), width)
    for ev, lane in m.deaths:
        a = ev.get("args") or {}
        how = f"signal {a['signal']}" if "signal" in a else f"exit status {a.get('status')}"
        where = f", in job {a['job']} item {a.get('index')}" if "job" in a else ""
        new = next((r for r in m.replaced if r.get("args", {}).get("pid") == a.get("pid")), None)
        out.append(fit(f"X {clean(m.label(lane), unicode_ok)} (pid {a.get('pid')}) died at "
                       f"{m.ms(ev['ts']):.1f} ms: {how}{where}", width, g["ell"]))
        if new:
            na = new["args"]
            out.append(fit(f"  replaced by PoolWorker-{na.get('new_worker')} (pid "
                           f"{na.get('new_pid')})", width, g["ell"]))
    for ev, lane in m.terminates:
        out.append(fit(f"T terminate at {m.ms(ev['ts']):.1f} ms on "
                       f"{clean(m.label(lane), unicode_ok)}", width, g["ell"]))
    return "\n".join(out) + "\n"


def wrap_text(text, width):
    lines, line = [], ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = "     " + word
        else:
            line = f"{line} {word}" if line else word
    return lines + ([line] if line else [])


# ---- SVG --------------------------------------------------------------------------

PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#edc948", "#76b7b2",
           "#ff9da7", "#9c755f", "#bab0ac", "#af7aa1"]
SVG_W, LABEL_W, RIGHT, LANE_H, TOP = 960, 190, 24, 34, 58


def render_svg(m, path, note):
    plot_x = LABEL_W
    plot_w = SVG_W - LABEL_W - RIGHT
    span = max(m.t1 - m.t0, 1e-3)
    n = len(m.ordered)
    lanes_h = n * LANE_H
    legend_rows = 1 + (len(m.job_order) + 5) // 6
    height = TOP + lanes_h + 46 + legend_rows * 20 + 46

    def x(ts):
        return plot_x + max(0.0, ts - m.t0) / span * plot_w

    def colour(key):
        i = m.job_order.index(key) if key in m.job_order else 0
        return PALETTE[i % len(PALETTE)]

    lane_y = {id(l): TOP + i * LANE_H for i, l in enumerate(m.ordered)}
    o = []
    o.append('<?xml version="1.0" encoding="UTF-8"?>')
    o.append(f'<svg xmlns="http://www.w3.org/2000/svg" width="{SVG_W}" height="{height}" '
             f'viewBox="0 0 {SVG_W} {height}" font-family="DejaVu Sans, Arial, sans-serif" '
             f'font-size="12" data-lanes="{n}" data-truncated="{"yes" if note else "no"}">')
    o.append('<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
             'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
             'fill="#333"/></marker></defs>')
    o.append(f'<rect class="background" x="0" y="0" width="{SVG_W}" height="{height}" fill="#ffffff"/>')
    title = (f"{os.path.basename(path)}: {n} lanes, {span / 1000:.1f} ms"
             + (f", from {-m.ms(m.start):.1f} ms after pool_create" if m.t0 > m.start else "")
             + (f" - {note.split(': ', 1)[-1]}" if note else ""))
    o.append(f'<text x="10" y="22" font-size="15" font-weight="bold">{escape(title)}</text>')
    o.append('<text x="10" y="42" font-size="11" fill="#555">Blue lanes: threads of the main '
             'process. Sand lanes: worker processes. Bars: tasks, callbacks, waits, coloured '
             'by job; arrows: a result going to its callback.</text>')
    o.append('<g class="pools">' + "".join(
        f'<g class="pool" data-pool="{p}" data-processes="{c}"/>'
        for p, c in sorted(m.pools.items())) + "</g>")

    for lane in m.ordered:
        y = lane_y[id(lane)]
        kind, label, proc = m.kind(lane), m.label(lane), m.process(lane)
        bg = {"worker": "#fbf3e4", "fork-server": "#eeeeee"}.get(
            kind, "#e8f0fb" if lane.pid == m.main_pid else "#f2f2f2")
        o.append(f'<g class="lane" data-lane={quoteattr(label)} data-process={quoteattr(proc)} '
                 f'data-kind="{kind}" data-pid="{lane.pid}" data-tid="{lane.tid}">')
        o.append(f'<rect class="lane-bg" x="0" y="{y}" width="{SVG_W}" height="{LANE_H - 2}" '
                 f'fill="{bg}"/>')
        o.append(f'<text x="8" y="{y + 14}" font-weight="bold">{escape(label)}</text>')
        o.append(f'<text x="8" y="{y + 27}" font-size="10" fill="#555">'
                 f'{escape(f"process {proc}, pid {lane.pid}")}</text>')
        for start, end, name, key, ev in lane.slices:
            a = ev.get("args") or {}
            x0 = x(start)
            w = max(2.0, x(end) - x0)
            if name == "wait":
                fill, extra = colour(key), ' fill-opacity="0.3" stroke-dasharray="3,2"'
            elif name == "join":
                fill, extra = "#999999", ' fill-opacity="0.4"'
            else:
                fill, extra = (colour(key) if key else "#999999"), ""
            stroke = "#c00000" if name == "error_callback" or a.get("died") else "#333333"
            job = f' data-job="{key[1]}" data-pool="{key[0]}"' if key else ""
            tip = f"{name}" + (f" job {key[1]}" if key else "")
            if "index" in a:
                tip += f" item {a['index']}"
            tip += f" on {label}: {(end - start) / 1000:.3f} ms"
            for field in ("result", "error", "value", "call"):
                if field in a:
                    tip += f", {field} {a[field]}"
            if a.get("died"):
                tip += ", the worker died in it"
            o.append(f'<rect class="slice" data-kind="{name}"{job} x="{x0:.1f}" y="{y + 5}" '
                     f'width="{w:.1f}" height="{LANE_H - 12}" fill="{fill}" stroke="{stroke}" '
                     f'stroke-width="{2 if stroke == "#c00000" else 0.5}"{extra}>'
                     f'<title>{escape(tip)}</title></rect>')
            if name == "join" and w >= 30:
                o.append(f'<text class="slice-label" x="{x0 + w / 2:.1f}" y="{y + 20}" '
                         f'text-anchor="middle" font-size="11">join</text>')
            if key and w >= 12:
                text = m.symbol[key] if w < 60 else f"job {m.symbol[key]} {name.replace('_', ' ')}"
                if w >= 60 and len(text) * 7 > w:
                    text = m.symbol[key]
                o.append(f'<text class="slice-label" x="{x0 + w / 2:.1f}" y="{y + 20}" '
                         f'text-anchor="middle" font-size="11">{escape(text)}</text>')
        for ts, name, key, ev in lane.marks:
            xm = x(ts)
            if name in ("send", "result", "submit") and key:
                o.append(f'<rect class="mark" data-kind="{name}" data-job="{key[1]}" '
                         f'x="{xm - 1:.1f}" y="{y + 8}" width="2" height="14" '
                         f'fill="{colour(key)}"><title>{name} job {key[1]}</title></rect>')
            elif name == "worker_started" and ts >= m.t0:
                o.append(f'<path class="start" d="M{xm:.1f},{y + 7} l8,8 l-8,8 z" fill="#2a8a2a">'
                         f'<title>worker started</title></path>')
            elif name == "worker_replaced":
                a = ev.get("args") or {}
                o.append(f'<g class="replaced" data-worker="{a.get("worker")}" '
                         f'data-new-worker="{a.get("new_worker")}"><text x="{xm + 2:.1f}" y="{y + 22}" '
                         f'font-weight="bold" fill="#a06000">R</text><title>PoolWorker-'
                         f'{a.get("worker")} replaced by PoolWorker-{a.get("new_worker")}</title></g>')
            elif name == "close":
                o.append(f'<rect class="close" x="{xm - 1:.1f}" y="{y + 4}" width="2" height="22" '
                         f'fill="#000"><title>close</title></rect>')
            elif name == "worker_exited":
                o.append(f'<rect class="exit" x="{xm - 3:.1f}" y="{y + 11}" width="6" height="8" '
                         f'fill="#777"><title>worker exited</title></rect>')
        o.append("</g>")

    # Flows, then deaths and terminates, over the lanes.
    wy = {}
    for lane in m.ordered:
        wy[(lane.pid, lane.tid)] = lane_y[id(lane)] + LANE_H / 2 - 1
    for lane in m.ordered:
        for s, f, key, err, sev in lane.flows_in:
            y1 = wy.get((sev.get("pid"), sev.get("tid")))
            if y1 is None:
                continue
            y2 = lane_y[id(lane)] + LANE_H / 2 - 1
            job = f' data-job="{key[1]}"' if key else ""
            o.append(f'<line class="flow"{job} x1="{x(s):.1f}" y1="{y1:.1f}" x2="{x(f):.1f}" '
                     f'y2="{y2 + (6 if y1 > y2 else -6):.1f}" stroke="{"#c00000" if err else "#333"}" '
                     f'stroke-width="1.2" marker-end="url(#arrow)"/>')
    for ev, lane in m.deaths:
        a = ev.get("args") or {}
        xm, y = x(ev["ts"]), lane_y[id(lane)] + LANE_H / 2 - 1
        how = f"signal {a['signal']}" if "signal" in a else f"status {a.get('status')}"
        o.append(f'<g class="death" data-worker="{a.get("worker")}" data-pid="{a.get("pid")}">'
                 f'<path d="M{xm - 7:.1f},{y - 7:.1f} l14,14 M{xm - 7:.1f},{y + 7:.1f} l14,-14" '
                 f'stroke="#d00000" stroke-width="3"/>'
                 f'<text x="{min(xm + 10, SVG_W - 110):.1f}" y="{y + 4:.1f}" fill="#d00000" '
                 f'font-weight="bold">died ({how})</text></g>')
    for ev, lane in m.terminates:
        xm, y = x(ev["ts"]), lane_y[id(lane)]
        o.append(f'<g class="terminate"><line x1="{xm:.1f}" y1="{y}" x2="{xm:.1f}" '
                 f'y2="{TOP + lanes_h}" stroke="#d00000" stroke-width="2" stroke-dasharray="5,3"/>'
                 f'<text x="{xm + 4:.1f}" y="{y + 12}" fill="#d00000" font-weight="bold">terminate</text></g>')

    # The time axis.
    ay = TOP + lanes_h + 8
    span_ms = span / 1000
    step = nice_step(span_ms, 8)
    o.append(f'<g class="axis"><line x1="{plot_x}" y1="{ay}" x2="{plot_x + plot_w}" y2="{ay}" '
             f'stroke="#333"/>')
    k = 0
    while k * step <= span_ms + 1e-9:
        xt = plot_x + k * step / span_ms * plot_w
        o.append(f'<line x1="{xt:.1f}" y1="{ay}" x2="{xt:.1f}" y2="{ay + 5}" stroke="#333"/>'
                 f'<text x="{xt:.1f}" y="{ay + 18}" text-anchor="middle" font-size="11">'
                 f'{fmt_ms(k * step, step)}</text>')
        k += 1
    o.append(f'<text x="{plot_x - 8}" y="{ay + 18}" text-anchor="end" font-size="11">time (ms)</text></g>')

    # The legend: one swatch per job.
    ly = ay + 40
    o.append('<g class="legend">')
    for i, k in enumerate(m.job_order):
        lx, lyy = 10 + (i % 6) * 155, ly + (i // 6) * 20
        o.append(f'<rect x="{lx}" y="{lyy - 10}" width="12" height="12" fill="{colour(k)}"/>'
                 f'<text x="{lx + 16}" y="{lyy}">{escape(m.symbol[k] + " = " + m.job_text(k))}</text>')
    ky = ly + (legend_rows - 1) * 20 + 6
    o.append(f'<text x="10" y="{ky}" font-size="11" fill="#555">'
             'Solid bars: tasks (worker lanes) and callbacks (result-handler). Pale dashed bars: '
             'waits. Red outline: an error callback, or a task its worker died in.</text>')
    o.append(f'<text x="10" y="{ky + 16}" font-size="11" fill="#555">'
             'Thin ticks: submits (caller), chunks sent and results read (task-handler); black: '
             'close. Green triangle: worker started; grey square: worker exited.</text>')
    o.append("</g></svg>")
    return "\n".join(o) + "\n"


# ---- Main --------------------------------------------------------------------------

def main(argv):
    ap = argparse.ArgumentParser(prog="timeline.py", description="Draw a pool trace.")
    ap.add_argument("trace")
    ap.add_argument("--svg", metavar="OUT.svg", help="write an SVG instead")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--ascii", action="store_true", help="plain ASCII, no colour")
    mode.add_argument("--color", action="store_true", help="box characters and colour")
    ap.add_argument("--width", type=int, default=80, help="columns (default 80)")
    ap.add_argument("--whole", action="store_true",
                    help="start at the first event, not at the first submit")
    args = ap.parse_args(argv)
    if args.width < 50:
        print(f"{PROG}: --width must be at least 50", file=sys.stderr)
        return 2
    try:
        events, note = read_trace(args.trace)
        model = Model(events, whole=args.whole)
    except NotATrace as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 2
    if note:
        print(f"{PROG}: {note}", file=sys.stderr)
    if args.svg:
        svg = render_svg(model, args.trace, note)
        with open(args.svg, "w", encoding="utf-8") as f:
            f.write(svg)
        return 0
    if args.ascii:
        unicode_ok, colour = False, False
    elif args.color:
        unicode_ok, colour = True, True
    else:
        unicode_ok = utf8_locale() and not os.environ.get("NO_COLOR")
        colour = unicode_ok and sys.stdout.isatty()
    text = render_terminal(model, args.trace, note, args.width, unicode_ok, colour)
    out = sys.stdout.buffer
    out.write(text.encode("utf-8" if unicode_ok else "ascii", "replace"))
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
