#!/usr/bin/env bash
# check_exercise.sh - grades one exercise program against its expected file,
# with scripts/run_lesson.sh, and turns the verdict into one line:
#     01_sum_in_map_callback: pass
#     01_sum_in_map_callback: fail - hint: <the expected file's hint>
#     01_sum_in_map_callback: not started      (the untouched starter fails)
# Usage:
#     scripts/check_exercise.sh [options] PROGRAM EXPECTED
#
# A program is checked in up to four runs, and the first that fails decides:
#   1. as built, against EXPECTED;
#   2. as built, against each file named by a "# grade: also FILE" line of
#      EXPECTED (same folder), with that file's "# grade: env VAR=VALUE"
#      lines set: a run with a fault injected by the grader, for instance;
#   3. built with AddressSanitizer + UBSan, if EXPECTED says "# grade: asan";
#   4. built with ThreadSanitizer, if EXPECTED says "# grade: tsan", with
#      each callback held back 20 ms (POOL_GRADE_CALLBACK_DELAY), so that a
#      race with main's first look at shared data happens in every run.
# Each run enforces the grader rules its file lists on "# grader:" lines
# (exercises/grader/grader.c), through POOL_GRADE.
#
# The hint comes from the failing file's "# hint KEY = text" lines. KEY is
# the grader rule that was broken; else callback-failed (stderr shows
# "pool: callback failed" or "pool: error callback failed", which the file
# does not expect); else asan or tsan (the sanitizer reported); else crash
# (killed by a signal); else the pass whose FileCheck lines failed
# (CHECK, SHAPE, ...) or what else went wrong: time-limit, exit-status,
# stderr, stdout, same, different. Without a matching hint, a general one.
#
# Options:
#   --make BUILD     build the program, and each sanitizer build before its
#                    run (with make BUILD=BUILD); one that does not compile
#                    fails
#   --only asan|tsan check only that build, not the others
#   --expect pass|fail|starter   what the caller expects: starter means fail
#                    while the file is the untouched starter, pass once edited
#   --expect-key KEY with --expect fail: the failure must be KEY, or one of
#                    KEY|KEY2 (a wrong answer must be caught for the reason
#                    it was written for)
#   --starter FILE   the exercise's source; if it matches its line in
#                    exercises/starters.sha256 it is "not started"
#   --verbose        on an unexpected verdict, show the runner's whole report
#   --record FILE    also write "name<TAB>result<TAB>hint" to FILE
# Exit status: 0 as expected, 1 not as expected, 2 could not check.
# With --expect starter and GRADE_STRICT=1, an edited starter is a failure.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
runner=$src/scripts/run_lesson.sh

usage() {
    echo "usage: $0 [--make BUILD] [--only asan|tsan] [--expect pass|fail|starter] [--expect-key KEY] [--starter FILE] [--verbose] [--record FILE] PROGRAM EXPECTED" >&2
    exit 2
}

want=pass want_key= only= build= record= starter= verbose=0
while [ $# -gt 0 ]; do
    case $1 in
    --expect) [ $# -ge 2 ] || usage; want=$2; shift 2 ;;
    --expect-key) [ $# -ge 2 ] || usage; want_key=$2; shift 2 ;;
    --only) [ $# -ge 2 ] || usage; only=$2; shift 2 ;;
    --make) [ $# -ge 2 ] || usage; build=$2; shift 2 ;;
    --record) [ $# -ge 2 ] || usage; record=$2; shift 2 ;;
    --starter) [ $# -ge 2 ] || usage; starter=$2; shift 2 ;;
    --verbose) verbose=1; shift ;;
    -*) usage ;;
    *) break ;;
    esac
done
[ $# -eq 2 ] || usage
case $want in pass | fail | starter) ;; *) usage ;; esac
case $only in "" | asan | tsan) ;; *) usage ;; esac
program=$1
expected=$2
name=$(basename "$program")
nn=${name%%_*}
dir=$(dirname "$program")
[ -r "$expected" ] || { echo "$name: no expected file $expected" >&2; exit 2; }

log=$(mktemp)
trap 'rm -f "$log"' EXIT

say_verdict() { # verdict hint
    if [ "$1" = pass ]; then
        echo "$name: $1"
    elif [ "$1" = "not started" ]; then
        echo "$name: not started (it is the starter as shipped; make hint-$nn gives a first hint)"
    else
        echo "$name: fail - hint: $2"
    fi
    [ -z "$record" ] || printf '%s\t%s\t%s\n' "$name" "$1" "$2" >"$record"
}

# ---- Which runs ---------------------------------------------------------------

flavors=()
[ "$only" = "" ] && flavors+=(plain)
if grep -q '^# grade: asan' "$expected" && [ "$only" != tsan ]; then flavors+=(asan); fi
if grep -q '^# grade: tsan' "$expected" && [ "$only" != asan ]; then flavors+=(tsan); fi
if [ ${#flavors[@]} -eq 0 ]; then
    echo "$name: $(basename "$expected") asks for no $only build; try it without SAN=" >&2
    exit 2
fi
flavor_program() { # flavor
    if [ "$1" = plain ]; then echo "$program"; else echo "$dir/$1/$name"; fi
}

# ---- Starter untouched? --------------------------------------------------------

untouched=0
if [ -n "$starter" ]; then
    rel=${starter#"$src"/}
    recorded=$(awk -v f="$rel" '$2 == f { print $1 }' "$src/exercises/starters.sha256" 2>/dev/null)
    actual=$(sha256sum "$starter" 2>/dev/null | cut -d ' ' -f 1)
    [ -n "$recorded" ] && [ "$recorded" = "$actual" ] && untouched=1
fi
if [ "$want" = starter ]; then
    if [ "$untouched" = 1 ]; then
        want=fail
    elif [ "${GRADE_STRICT:-0}" = 1 ]; then
        echo "$name: ${starter#"$src"/} differs from its line in exercises/starters.sha256."
        echo "  A changed starter must be recorded again: make exercise-hashes"
        exit 1
    else
        want=pass
    fi
fi

# ---- Build (each flavor just before its first run) -------------------------------

built=" "
build_flavor() { # flavor: 0 if built; else prints the verdict and exits 1
    local target
    target=$(flavor_program "$1")
    [ -z "$build" ] && return 0
    [[ "$built" == *" $1 "* ]] && return 0
    rm -f "$target" # never check an old build
    if ! make -s --no-print-directory -C "$src" BUILD="$build" "$target" >"$log" 2>&1; then
        say_verdict fail "it does not compile: make exercise-$nn shows the compiler's errors"
        sed 's/^/    | /' "$log"
        exit 1 # a shipped program that does not compile is never as expected
    fi
    built="$built$1 "
}

# ---- Run ----------------------------------------------------------------------------

rules_of() { sed -n 's/^# grader: *//p' "$1" | tr '\n' ' '; }

failed_file= failed_flavor=
run() { # flavor expected-file [VAR=VALUE...]
    local flavor=$1 file=$2 prog
    shift 2
    build_flavor "$flavor"
    prog=$(flavor_program "$flavor")
    # Under ThreadSanitizer each callback starts 20 ms late, so that main
    # has looked at the shared data first and a missing lock always shows.
    local delay=
    [ "$flavor" = tsan ] && delay=0.02
    env POOL_GRADE="$(rules_of "$file")" POOL_GRADE_CALLBACK_DELAY="$delay" "$@" \
        TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:handle_segv=0}" \
        ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:handle_segv=1}" \
        UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
        "$runner" "$prog" "$file" >"$log" 2>&1
    status=$?
    if [ "$status" -ne 0 ]; then
        failed_file=$file failed_flavor=$flavor
        return 1
    fi
}

status=0
for flavor in "${flavors[@]}"; do
    run "$flavor" "$expected" || break
    if [ "$flavor" = plain ]; then
        while read -r also; do
            [ -n "$also" ] || continue
            file=$(dirname "$expected")/$also
            mapfile -t envs < <(sed -n 's/^# grade: env //p' "$file")
            run plain "$file" "${envs[@]}" || break 2
        done < <(sed -n 's/^# grade: also //p' "$expected")
    fi
done
if [ "$status" -eq 2 ]; then # the runner could not run the check at all
    cat "$log"
    exit 2
fi

# ---- The verdict and its hint ---------------------------------------------------

hint_for() { # key: the failing file's hint for it, if any
    sed -n "s/^# hint $1 = //p" "$failed_file" | head -n 1
}

key= hint=
if [ "$status" -ne 0 ]; then
    first=$(sed -n 's/^FAILED: //p' "$log" | head -n 1)
    rule=$(sed -n 's/^grader: \([a-z-]*\): .*/\1/p' "$log" | head -n 1)
    if [ -n "$rule" ]; then
        key=$rule
    elif grep -qE "^pool: (error )?callback failed" "$log" &&
        ! grep -q '^# expect stderr:.*callback failed' "$failed_file"; then
        key=callback-failed
    elif grep -q 'ThreadSanitizer' "$log"; then
        key=tsan
    elif grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$log"; then
        key=asan
    else
        case $first in
        *"killed by signal"*) key=crash ;;
        *"did not finish within"*) key=time-limit ;;
        *"should exit with status"*) key=exit-status ;;
        *stderr*) key=stderr ;;
        *"printed nothing on stdout"*) key=stdout ;;
        *"should be the same"*) key=same ;;
        *"should differ"* | *"could not compare"*) key=different ;;
        "stdout does not match the "*) key=${first#stdout does not match the }; key=${key%% *} ;;
        esac
    fi
    [ -n "$key" ] && hint=$(hint_for "$key")
    if [ -z "$hint" ]; then
        case $key in
        crash) hint="the exercise crashed, killed by $(printf '%s' "$first" | grep -o 'signal [0-9]*.*' | sed 's/[.]$//'): make exercise-$nn SAN=address shows where" ;;
        callback-failed) hint="a callback failed (stderr says 'pool: callback failed'): a callback returns pool_none() once it has done its work, and pool_error() only to report that it could not" ;;
        asan) hint="AddressSanitizer found a memory error or a leak: make exercise-$nn SAN=address shows where" ;;
        tsan) hint="ThreadSanitizer found a data race: make exercise-$nn SAN=thread shows where" ;;
        *) hint=$first ;;
        esac
    fi
    case $failed_flavor in
    asan) hint="(built with AddressSanitizer) $hint" ;;
    tsan) hint="(built with ThreadSanitizer) $hint" ;;
    esac
    [ "$failed_file" != "$expected" ] && hint="(with $(sed -n 's/^# grade: env //p' "$failed_file" | tr '\n' ' ' | sed 's/ $//')) $hint"
fi

if [ "$status" -eq 0 ]; then
    verdict=pass
elif [ "$untouched" = 1 ]; then
    verdict="not started"
else
    verdict=fail
fi
say_verdict "$verdict" "$hint"

# ---- What the caller expected ------------------------------------------------------

if [ "$want" = fail ] && [ "$verdict" != pass ]; then
    if [ -n "$want_key" ] && ! [[ "|$want_key|" == *"|$key|"* ]]; then
        echo "  It failed, but for '$key', not for '$want_key' as this wrong answer should."
        [ "$verbose" = 1 ] && sed 's/^/    | /' "$log"
        exit 1
    fi
    [ -n "$want_key" ] && echo "  (as it should: a wrong answer, caught by '$key')"
    [ -z "$want_key" ] && [ "$untouched" = 1 ] && echo "  (as it should: this is the untouched starter)"
    exit 0
fi
if [ "$want" = pass ] && [ "$verdict" = pass ]; then
    exit 0
fi
if [ "$want" = fail ]; then
    echo "  This program should fail its check, but it passes, so the check misses it."
elif [ "$verbose" = 1 ]; then
    echo "  The runner's report:"
    sed 's/^/    | /' "$log"
else
    echo "  The whole report: make exercise-$nn V=1"
fi
exit 1
