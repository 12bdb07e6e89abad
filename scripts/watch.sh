#!/usr/bin/env bash
# watch.sh - re-checks an exercise each time one of exercises/NN_*.c is
# saved, and shows "pass" or the hint: rustlings' watch mode. `make watch`
# runs it; Ctrl-C stops it, and it leaves no process behind. Usage:
#     scripts/watch.sh [--poll] [BUILD]
# It uses inotifywait (Debian's inotify-tools) when there is one, and
# otherwise (or with --poll) looks at the files' mtimes once a second.
# Each check is `make -s --no-print-directory exercise-NN`, run in a session
# of its own, so that stopping it reaches every process it started (timeout
# puts the exercise in a process group of its own, so a group is not enough).
# MAKE names the make to run, WATCH_DIR the folder to watch (for the tests).
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
poll=0
[ "${1:-}" = --poll ] && { poll=1; shift; }
[ $# -le 1 ] || { echo "usage: $0 [--poll] [BUILD]" >&2; exit 2; }
build_arg=()
[ $# -eq 1 ] && build_arg=(BUILD="$1")
dir=${WATCH_DIR:-$src/exercises}
make=${MAKE:-make}
[ -d "$dir" ] || { echo "$0: no folder $dir" >&2; exit 2; }
shown=${dir#"$PWD"/}

check_pid='' watcher_pid='' sleep_pid=''
out=$(mktemp)

# The processes of session $1, from /proc: field 6 of stat, the fourth
# after "(command name)".
in_session() {
    local sid=$1 f rest
    for f in /proc/[0-9]*/stat; do
        read -r rest 2>/dev/null <"$f" || continue
        # shellcheck disable=SC2086 # split into fields
        set -- ${rest##*) }
        [ "${4:-}" = "$sid" ] && { f=${f#/proc/}; echo "${f%/stat}"; }
    done
}

stop_check() {
    [ -n "$check_pid" ] || return 0
    local pids i
    for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
        pids=$(in_session "$check_pid")
        [ -n "$pids" ] || break
        # shellcheck disable=SC2086
        if [ "$i" -lt 20 ]; then kill -TERM $pids 2>/dev/null; else kill -KILL $pids 2>/dev/null; fi
        sleep 0.1
    done
    wait "$check_pid" 2>/dev/null
    check_pid=
}

cleanup() {
    trap '' INT TERM HUP
    stop_check
    for p in $watcher_pid $sleep_pid; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -f "$out"
    echo
    echo "Stopped watching."
    exit 0
}
trap cleanup INT TERM HUP

check() { # file name, e.g. 03_count_callbacks_with_a_lock.c
    local nn=${1%%_*}
    echo
    echo "-- $(date +%T) $1 changed: make exercise-$nn"
    # In the background, so that a signal interrupts the wait at once; its
    # output kept, to drop make's own "make[1]: *** ... Error 1" line.
    setsid "$make" -C "$src" -s --no-print-directory "${build_arg[@]}" "exercise-$nn" \
        >"$out" 2>&1 &
    check_pid=$!
    wait "$check_pid"
    check_pid=
    grep -v '^make\(\[[0-9]*\]\)\?: \*\*\*' "$out"
    echo "-- waiting for the next save (Ctrl-C stops)"
}

banner() {
    echo "Watching $shown/NN_*.c ($1). Save an exercise to check it; Ctrl-C stops."
}

# ---- With inotifywait -------------------------------------------------------------

watch_inotify() {
    local line last
    # Its messages come through the pipe too: "Watches established." means
    # a save from now on is seen.
    exec 3< <(exec inotifywait -m -e close_write -e moved_to -e create --format '%f' "$dir" 2>&1)
    watcher_pid=$!
    while read -r -u 3 line; do
        case $line in
        "Watches established.") banner inotifywait; continue ;;
        [0-9][0-9]_*.c) last=$line ;;
        *) continue ;;
        esac
        # An editor's save can be several events: take the burst as one.
        while read -r -t 0.2 -u 3 line; do
            case $line in [0-9][0-9]_*.c) last=$line ;; esac
        done
        check "$last"
    done
    exec 3<&-
    wait "$watcher_pid" 2>/dev/null
    watcher_pid=
    echo "inotifywait stopped; looking at the files once a second instead." >&2
}

# ---- Polling ----------------------------------------------------------------------

watch_poll() {
    local -A stamp=()
    local line name value changed first=1
    while :; do
        changed=
        while IFS= read -r line; do
            name=${line%%|*} value=${line#*|}
            name=${name##*/}
            if [ "$first" = 0 ] && [ "${stamp[$name]:-}" != "$value" ]; then
                changed=$name
            fi
            stamp[$name]=$value
        done < <(stat -c '%n|%y|%s' "$dir"/[0-9][0-9]_*.c 2>/dev/null)
        [ "$first" = 1 ] && banner "polling once a second"
        first=0
        [ -n "$changed" ] && check "$changed"
        sleep 1 &
        sleep_pid=$!
        wait "$sleep_pid"
        sleep_pid=
    done
}

if [ "$poll" = 0 ] && command -v inotifywait >/dev/null; then
    watch_inotify
else
    [ "$poll" = 0 ] && echo "(inotifywait not found: apt-get install inotify-tools watches without polling)"
fi
watch_poll
