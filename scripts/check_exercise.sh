#!/usr/bin/env bash
# check_exercise.sh - grades one exercise program against its expected file,
# with scripts/run_lesson.sh, and turns the runner's verdict into one line:
#     01_sum_in_map_callback: pass
#     01_sum_in_map_callback: fail - hint: <the expected file's hint>
# Usage:
#     scripts/check_exercise.sh [--expect pass|fail] [--tsan PROGRAM] [--verbose]
#                               [--record FILE] [--starter FILE] PROGRAM EXPECTED
#
# The hint comes from the expected file's "# hint KEY = text" lines. KEY is
# the pass whose FileCheck lines failed (CHECK, SHAPE, ...), or what else
# went wrong: time-limit, exit-status, stderr, stdout (nothing printed),
# same, different, or tsan. Without a matching hint, the runner's own
# first complaint is shown.
#
# --tsan PROGRAM   also runs PROGRAM, the exercise built with ThreadSanitizer,
#                  against the same file, when the plain run passed
# --expect fail    for the self-check: exit 0 when the check FAILS (an
#                  untouched starter must fail), 1 when it passes
# --starter FILE   with --expect fail: the source file of the starter; if it
#                  no longer matches its line in exercises/starters.sha256,
#                  someone has worked on it, and the self-check is skipped
#                  (exit 77) unless GRADE_STRICT=1 makes that a failure
# --verbose        on an unexpected verdict, shows the runner's full report
#                  (otherwise only the command that shows it)
# --record FILE    also writes "name<TAB>pass|fail<TAB>hint" to FILE, for
#                  scripts/grade.sh's table
# Exit status: 0 as expected, 1 not as expected, 2 could not check, 77 skipped.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
runner=$src/scripts/run_lesson.sh

usage() {
    echo "usage: $0 [--expect pass|fail] [--tsan PROGRAM] [--verbose] [--record FILE] [--starter FILE] PROGRAM EXPECTED" >&2
    exit 2
}

want=pass tsan= record= starter= verbose=0
while [ $# -gt 0 ]; do
    case $1 in
    --expect) [ $# -ge 2 ] || usage; want=$2; shift 2 ;;
    --tsan) [ $# -ge 2 ] || usage; tsan=$2; shift 2 ;;
    --record) [ $# -ge 2 ] || usage; record=$2; shift 2 ;;
    --starter) [ $# -ge 2 ] || usage; starter=$2; shift 2 ;;
    --verbose) verbose=1; shift ;;
    -*) usage ;;
    *) break ;;
    esac
done
[ $# -eq 2 ] || usage
case $want in pass | fail) ;; *) usage ;; esac
program=$1
expected=$2
name=$(basename "$program")

# ---- A starter that a student has changed proves nothing -------------------

if [ -n "$starter" ]; then
    sums=$src/exercises/starters.sha256
    rel=${starter#"$src"/}
    recorded=$(awk -v f="$rel" '$2 == f { print $1 }' "$sums" 2>/dev/null)
    actual=$(sha256sum "$starter" 2>/dev/null | cut -d ' ' -f 1)
    if [ -z "$recorded" ] || [ "$recorded" != "$actual" ]; then
        if [ "${GRADE_STRICT:-0}" = 1 ]; then
            echo "$name: $rel differs from its line in exercises/starters.sha256."
            echo "  A changed starter must be recorded again: make exercise-hashes"
            exit 1
        fi
        echo "$name: skipped: $rel has been edited, so it is no longer the starter"
        exit 77
    fi
fi

# ---- Run the check, then the ThreadSanitizer build --------------------------

log=$(mktemp)
trap 'rm -f "$log"' EXIT

"$runner" "$program" "$expected" >"$log" 2>&1
status=$?
ran=$program under=
if [ "$status" -eq 0 ] && [ -n "$tsan" ]; then
    ran=$tsan under=tsan
    TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:handle_segv=0} \
        "$runner" "$tsan" "$expected" >"$log" 2>&1
    status=$?
fi
if [ "$status" -eq 2 ]; then # the runner could not run the check at all
    cat "$log"
    exit 2
fi

# ---- The verdict and its hint -----------------------------------------------

hint_for() { # key: prints the expected file's hint for it, if any
    sed -n "s/^# hint $1 = //p" "$expected" | head -n 1
}

hint=
if [ "$status" -ne 0 ]; then
    first=$(sed -n 's/^FAILED: //p' "$log" | head -n 1)
    case $first in
    *"did not finish within"*) key=time-limit ;;
    *"should exit with status"*) key=exit-status ;;
    *stderr*) key=stderr ;;
    *"printed nothing on stdout"*) key=stdout ;;
    *"should be the same"*) key=same ;;
    *"should differ"* | *"could not compare"*) key=different ;;
    "stdout does not match the "*) key=${first#stdout does not match the }; key=${key%% *} ;;
    *) key= ;;
    esac
    # Under ThreadSanitizer, the plain run already passed: a race or a
    # sanitizer's abort is the likely cause, whatever the runner saw first.
    if [ "$under" = tsan ] && grep -q 'ThreadSanitizer' "$log"; then
        key=tsan
    fi
    [ -n "$key" ] && hint=$(hint_for "$key")
    if [ -z "$hint" ]; then
        hint=$(printf '%s' "$first" | sed 's/the lesson/the program/')
    fi
    [ "$under" = tsan ] && hint="(built with ThreadSanitizer) $hint"
fi

if [ "$status" -eq 0 ]; then
    verdict=pass
    echo "$name: pass"
else
    verdict=fail
    echo "$name: fail - hint: $hint"
fi
if [ -n "$record" ]; then
    printf '%s\t%s\t%s\n' "$name" "$verdict" "$hint" >"$record"
fi

# ---- What the caller expected -----------------------------------------------

if [ "$verdict" = "$want" ]; then
    [ "$want" = fail ] && echo "  (as it should: this is the untouched starter)"
    exit 0
fi
if [ "$want" = fail ]; then
    echo "  The untouched starter passes its check, so the check proves nothing."
elif [ "$verbose" = 1 ]; then
    echo "  The runner's report:"
    sed 's/^/    | /' "$log"
else
    echo "  The whole report: scripts/run_lesson.sh ${ran#"$src"/} ${expected#"$src"/}"
fi
exit 1
