#!/usr/bin/env bash
# run_trace_check.sh - runs one lesson with POOL_TRACE set, then checks the
# trace it wrote against the lesson's claims (scripts/check_trace.py).
#     scripts/run_trace_check.sh LESSON_PROGRAM TRACE.json
# The lesson's stdout and stderr go beside the trace, TRACE.stdout and
# TRACE.stderr; its output is lesson_NN's business, not this test's, but a
# lesson that fails or hangs leaves no whole trace, so that fails here too.
set -u
if [ $# -ne 2 ]; then
    echo "usage: $0 LESSON_PROGRAM TRACE.json" >&2
    exit 2
fi
prog=$1 trace=$2
src=$(cd "$(dirname "$0")/.." && pwd)
lesson=$(basename "$prog")
mkdir -p "$(dirname "$trace")"
rm -f "$trace" # a trace left by an earlier run must not be checked
# Below ctest's TIMEOUT of 60 s, so that a hang is reported here, in words.
POOL_TRACE=$trace timeout -k 5 45 "$prog" >"$trace.stdout" 2>"$trace.stderr"
status=$?
if [ "$status" -ne 0 ]; then
    case $status in
    124 | 137) why="it did not end within 45 s" ;;
    *) why="exit status $status" ;;
    esac
    echo "run_trace_check: $lesson failed ($why); its stderr:"
    tail -n 5 "$trace.stderr"
    exit 1
fi
if [ ! -s "$trace" ]; then
    echo "run_trace_check: $lesson wrote no trace to $trace"
    exit 1
fi
exec python3 "$src/scripts/check_trace.py" "${lesson%%_*}" "$trace"
