#!/usr/bin/env bash
# test_watch.sh - checks scripts/watch.sh for real: starts it in the
# background on a folder of fake exercises with a fake make, edits one
# exercise and waits for its check's output, edits another whose check
# hangs, then sends SIGINT to watch.sh's process group, as Ctrl-C does. It
# must stop, say so, and leave none of the processes it started (the
# watcher, the sleep, the check and everything under it). Runs with
# inotifywait when there is one, and with polling in any case. Every wait
# is bounded.
set -u
set -m # each background job in a group of its own, with SIGINT not ignored
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
watch_pid=
# On a failure, stop what is still running: watch.sh first (SIGTERM runs its
# clean-up), then, with SIGKILL, whatever is left below it.
stop_all() {
    [ -n "$watch_pid" ] || return 0
    local left i
    left=$(descendants "$watch_pid")
    kill -TERM "$watch_pid" 2>/dev/null
    for ((i = 0; i < 50; i++)); do kill -0 "$watch_pid" 2>/dev/null || break; sleep 0.1; done
    # shellcheck disable=SC2086
    kill -KILL "$watch_pid" $left 2>/dev/null
    wait "$watch_pid" 2>/dev/null
    watch_pid=
}
trap 'stop_all; rm -rf "$tmp"' EXIT

mkdir -p "$tmp/exercises" "$tmp/build"
echo 'int main(void) { return 0; }' >"$tmp/exercises/01_quick.c"
echo 'int main(void) { return 0; }' >"$tmp/exercises/02_hangs.c"
echo 'not an exercise' >"$tmp/exercises/notes.txt"
# The fake make: its last argument is the target. Exercise 02's check hangs
# under timeout(1), which puts it in a process group of its own, as the
# real runner's does; a file says it has started (watch.sh shows a check's
# output once it ends).
cat >"$tmp/make" <<'EOF'
#!/bin/sh
for target; do :; done
case $target in
exercise-01) echo "01_quick: pass" ;;
exercise-02) : >"${0%/*}/02-started"; timeout 60 sleep 60 ;;
*) echo "fake make: unexpected target $target"; exit 2 ;;
esac
EOF
chmod +x "$tmp/make"

failed=0
fail() { echo "FAILED ($mode): $*"; failed=$((failed + 1)); }

# wait_for TEXT SECONDS: until the log has TEXT
wait_for() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        grep -qF -- "$1" "$tmp/log" && return 0
        sleep 0.1
    done
    fail "no \"$1\" within $2 s"
    return 1
}

# Every process below PID, from /proc.
descendants() {
    local -A kids=()
    local top=$1 f rest p queue
    for f in /proc/[0-9]*/stat; do
        read -r rest 2>/dev/null <"$f" || continue
        p=${f#/proc/}
        # shellcheck disable=SC2086 # the fields after "(comm)": state ppid ...
        set -- ${rest##*) }
        kids[$2]+=" ${p%/stat}"
    done
    queue=("$top")
    while [ ${#queue[@]} -gt 0 ]; do
        p=${queue[0]}
        queue=("${queue[@]:1}")
        for f in ${kids[$p]:-}; do
            echo "$f"
            queue+=("$f")
        done
    done
}

run_mode() { # mode: inotify | poll
    mode=$1
    local args=() i pids alive comms before=$failed
    [ "$mode" = poll ] && args=(--poll)
    : >"$tmp/log"
    MAKE=$tmp/make WATCH_DIR=$tmp/exercises "$src/scripts/watch.sh" "${args[@]}" "$tmp/build" \
        >"$tmp/log" 2>&1 &
    watch_pid=$!
    wait_for "Watching" 10 || { stop_all; return; }
    case $mode in
    inotify) grep -q "(inotifywait)" "$tmp/log" || fail "it does not use inotifywait" ;;
    poll) grep -q "polling once a second" "$tmp/log" || fail "it does not poll" ;;
    esac

    echo '/* an edit */' >>"$tmp/exercises/notes.txt"
    echo '/* an edit */' >>"$tmp/exercises/01_quick.c"
    wait_for "01_quick: pass" 10 || { stop_all; return; }
    grep -q "01_quick.c changed: make exercise-01" "$tmp/log" || fail "no header before the check"
    grep -q "notes.txt" "$tmp/log" && fail "it reacted to notes.txt, which is no exercise"

    rm -f "$tmp/02-started"
    echo '/* an edit */' >>"$tmp/exercises/02_hangs.c"
    wait_for "02_hangs.c changed: make exercise-02" 10 || { stop_all; return; }
    for ((i = 0; i < 100; i++)); do
        [ -e "$tmp/02-started" ] && break
        sleep 0.1
    done
    [ -e "$tmp/02-started" ] || { fail "exercise 02's check did not start within 10 s"; stop_all; return; }
    # The check's processes, to look for after the stop.
    for ((i = 0; i < 50; i++)); do
        pids=$(descendants "$watch_pid")
        comms=$(for p in $pids; do cat "/proc/$p/comm" 2>/dev/null; done | tr '\n' ' ')
        [[ $comms == *sleep* ]] && break
        sleep 0.1
    done
    [[ $comms == *timeout* && $comms == *sleep* ]] || fail "the hanging check is not running: $comms"
    [ "$mode" = inotify ] && [[ $comms != *inotifywait* ]] && fail "no inotifywait: $comms"

    kill -INT -- -"$watch_pid" # Ctrl-C: SIGINT to the foreground group
    for ((i = 0; i < 100; i++)); do
        kill -0 "$watch_pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$watch_pid" 2>/dev/null; then
        fail "watch.sh did not stop within 10 s of SIGINT"
        stop_all
    fi
    wait "$watch_pid" 2>/dev/null
    watch_pid=
    grep -q "Stopped watching." "$tmp/log" || fail "it did not say it stopped"
    sleep 0.2
    alive=
    for p in $pids; do
        [ -e "/proc/$p" ] && alive+=" $p($(cat "/proc/$p/comm" 2>/dev/null))"
    done
    if [ -n "$alive" ]; then
        fail "processes left behind:$alive"
        # shellcheck disable=SC2086
        kill -KILL $pids 2>/dev/null # this test leaves none either
    fi
    [ "$failed" -eq "$before" ] &&
        echo "ok ($mode): checked 01, stopped during 02's check, left none of: $comms"
}

if command -v inotifywait >/dev/null; then
    run_mode inotify
    [ "$failed" -eq 0 ] || sed 's/^/    | /' "$tmp/log"
else
    echo "(inotifywait not found: only polling is tested)"
fi
before=$failed
run_mode poll
[ "$failed" -eq "$before" ] || sed 's/^/    | /' "$tmp/log"
echo "test_watch: $failed failed"
[ "$failed" -eq 0 ]
