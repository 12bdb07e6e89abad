#!/bin/sh
# memcheck.sh PROGRAM [ARGS...]
# Runs PROGRAM under Valgrind's memcheck, following every forked process
# (fork server and workers), one log per process. It fails when any process
# reports a memory error or a definite leak, or when PROGRAM itself exits
# with a descriptor open that it did not inherit. `ctest -T memcheck` would
# miss the children, so every memcheck test goes through here.
set -u
[ $# -ge 1 ] || { echo "usage: memcheck.sh PROGRAM [ARGS...]" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "memcheck.sh: valgrind not found (make tools installs it)" >&2; exit 2; }

logs=$(mktemp -d "${TMPDIR:-/tmp}/memcheck.XXXXXX")
trap 'rm -rf "$logs"' EXIT

# python3 (test_trace reads its traces with it) is not the pool: not traced.
valgrind --trace-children=yes --trace-children-skip='*/python3*' --leak-check=full --errors-for-leak-kinds=definite \
    --track-fds=yes --vgdb=no --log-file="$logs/vg.%p" "$@" &
pid=$!
# The shell's own "Segmentation fault" when PROGRAM dies from a signal is
# dropped: the exit status says it, and the runner reports it in words.
wait "$pid" 2>/dev/null
status=$?

failed=0
for log in "$logs"/vg.*; do
    [ -e "$log" ] || continue
    # A process killed by SIGKILL (a terminated or orphaned worker) writes
    # no summary, so its log is judged by the errors it did report.
    if grep -qE "ERROR SUMMARY: [1-9]|Invalid (read|write|free)|uninitialised|Conditional jump|Syscall param|Mismatched free|overlap" "$log"; then
        echo "memcheck: process ${log##*.} reported errors:" >&2
        cat "$log" >&2
        failed=1
    fi
done

# Descriptors the program opened and never closed; inherited ones are fine.
parent="$logs/vg.$pid"
if [ -e "$parent" ]; then
    leaked=$(awk '/^==[0-9]+== Open .* [0-9]+/ { open = $0; next }
                  open != "" && /inherited from parent/ { open = ""; next }
                  open != "" && /==[0-9]+==    at / { print open; open = "" }' "$parent")
    if [ -n "$leaked" ]; then
        echo "memcheck: $1 left descriptors open at exit:" >&2
        echo "$leaked" >&2
        failed=1
    fi
else
    echo "memcheck: no Valgrind log for $1 (pid $pid)" >&2
    failed=1
fi

[ "$failed" = 0 ] || exit 1
exit "$status"
