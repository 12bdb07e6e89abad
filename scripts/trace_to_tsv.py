#!/usr/bin/env python3
"""trace_to_tsv.py - turns a pool trace (Chrome Trace Event Format, JSON,
as POOL_TRACE writes it) into tab-separated lines that a C program reads
with sscanf(): exercise 09 reads its timelines this way, so that the
student's code looks at events, not at JSON.

Usage:
    scripts/trace_to_tsv.py TRACE.json > TIMELINE.tsv

Output: one header line starting with "#", then one line per event:

    name ph pid tid ts dur job index worker first count label

- the metadata ("ph" M: process_name, thread_name) first, in file order;
  then every other event sorted by ts (the file is in the order the parent
  wrote the events, not in time order);
- ts and dur in microseconds, 3 decimals, ts counted from the first timed
  event of the trace; dur is 0 for an event that is not a slice ("X");
- job, index, worker, first, count: the event's args, -1 where it has none;
- label: a metadata event's name (args.name: "PoolWorker-2",
  "result-handler"), else "-", so that no field is ever empty.
The *_sort_index metadata is left out: it orders tracks in a viewer only.

A trace that a crashed parent left half-written is read line by line, as
the trace format allows; the lines that parse are converted, and one
stderr line says where it was cut. Exit status: 0, or 1 if the file
cannot be read or holds no event.
"""
import json
import sys

COLUMNS = ["name", "ph", "pid", "tid", "ts", "dur",
           "job", "index", "worker", "first", "count", "label"]
NUMBERS = ["job", "index", "worker", "first", "count"]


def load(path):
    """The trace's events, and None or a note on where it was cut."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        events = json.loads(text)
        if isinstance(events, dict):  # the JSON Object form
            events = events.get("traceEvents", [])
        return events, None
    except json.JSONDecodeError:
        pass
    # One event per line, each but the first after a comma (the pool's form).
    events = []
    for line in text.splitlines():
        line = line.strip()
        if line in ("[", "]", ""):
            continue
        try:
            events.append(json.loads(line[1:] if line.startswith(",") else line))
        except json.JSONDecodeError:
            break
    return events, f"truncated after {len(events)} events"


def field(value):
    """A field with no tab or newline in it, never empty."""
    text = str(value).replace("\t", " ").replace("\n", " ")
    return text if text else "-"


def main(argv):
    if len(argv) != 2:
        print(f"usage: {argv[0]} TRACE.json", file=sys.stderr)
        return 2
    try:
        events, cut = load(argv[1])
    except OSError as e:
        print(f"{argv[0]}: cannot read {argv[1]}: {e.strerror}", file=sys.stderr)
        return 1
    events = [e for e in events if isinstance(e, dict) and "ph" in e]
    if not events:
        print(f"{argv[0]}: {argv[1]} holds no trace event", file=sys.stderr)
        return 1
    if cut:
        print(f"{argv[0]}: {argv[1]}: {cut}", file=sys.stderr)

    meta = [e for e in events if e["ph"] == "M" and not e.get("name", "").endswith("_sort_index")]
    timed = [e for e in events if e["ph"] != "M"]
    start = min((float(e.get("ts", 0)) for e in timed), default=0.0)
    timed.sort(key=lambda e: float(e.get("ts", 0)))  # stable: ties keep file order

    out = sys.stdout
    out.write("# " + "\t".join(COLUMNS) + "\n")
    for e in meta + timed:
        args = e.get("args") or {}
        is_meta = e["ph"] == "M"
        row = [field(e.get("name", "-")), field(e["ph"]), str(int(e.get("pid", -1))),
               str(int(e.get("tid", -1)))]
        row.append("%.3f" % (0.0 if is_meta else float(e.get("ts", 0)) - start))
        row.append("%.3f" % float(e.get("dur", 0) if e["ph"] == "X" else 0))
        row += [str(int(args[k])) if isinstance(args.get(k), (int, float)) else "-1"
                for k in NUMBERS]
        row.append(field(args.get("name", "-")) if is_meta else "-")
        out.write("\t".join(row) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
