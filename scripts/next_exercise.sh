#!/usr/bin/env bash
# next_exercise.sh - names the first exercise that does not pass yet, with
# the goal from its statement. `make next` runs it. Usage:
#     scripts/next_exercise.sh BUILD
# It checks the exercises in order with `make exercise-NN`, which prints one
# line, "NAME: pass", "NAME: not started" or "NAME: fail - hint: ...", and
# exits 0 on a pass. Anything else is "not passing yet", a compile error or
# a check that could not run included: a broken exercise is named, never
# skipped. (make's own status is 2 for any failure, so the line tells a fail
# from a check that could not run.)
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
[ $# -eq 1 ] || { echo "usage: $0 BUILD" >&2; exit 2; }
build=$1
make=${MAKE:-make}

out=$(mktemp)
trap 'rm -f "$out"' EXIT

total=0 passed=0
for c in "$src"/exercises/[0-9][0-9]_*.c; do
    [ -e "$c" ] || continue
    name=$(basename "$c" .c)
    nn=${name%%_*}
    total=$((total + 1))
    (cd "$src" && $make -s --no-print-directory BUILD="$build" "exercise-$nn") >"$out" 2>&1
    status=$?
    if [ "$status" -eq 0 ]; then
        passed=$((passed + 1))
        echo "$name: pass"
        continue
    fi

    doc=$(ls "$src"/docs/exercises/"$nn"_*.md 2>/dev/null | head -n 1)
    title=$(sed -n '1s/^# *//p' "$doc" 2>/dev/null)
    echo
    echo "Next: ${title:-exercise $nn}"
    [ -n "$doc" ] && echo "      (${doc#"$src"/})"
    echo
    [ -n "$doc" ] && awk '/^\*\*Goal\.\*\*/ { on = 1 } on && /^[ \t]*$/ { exit } on' "$doc" |
        sed 's/^\*\*Goal\.\*\*/Goal./'
    echo
    if grep -qE "^$name: (fail|not started)" "$out"; then
        echo "Its check says:"
    else
        echo "It could not be checked (make exercise-$nn exited with status $status):"
    fi
    grep -v '^make\(\[[0-9]*\]\)\?: \*\*\*' "$out" | sed 's/^/  /' | head -n 30
    echo
    echo "Edit exercises/$name.c, then run make exercise-$nn (or make watch)."
    echo "Stuck? make hint-$nn shows a hint."
    exit 0
done

if [ "$total" -eq 0 ]; then
    echo "no exercises/NN_*.c found" >&2
    exit 2
fi
echo
echo "All $total exercises pass. Well done!"
