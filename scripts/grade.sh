#!/usr/bin/env bash
# grade.sh - grades every exercise and prints one table. Usage:
#     scripts/grade.sh BUILD [exercises|solutions]
# `make grade` runs it. It builds the pool and the grader, then
# writes BUILD/grade/CTestTestfile.cmake with one
# test per exercise (scripts/check_exercise.sh, which builds that exercise
# alone, so one that does not compile fails alone); runs CTest there, which
# also writes BUILD/grade/junit.xml for an autograder (CTest 3.21 or newer);
# and prints exercise, result and hint, then "N passed, N failed". A starter
# still as shipped shows "not started" and no hint.
# It exits 0 once everything is graded, whatever the grades; 2 if it could
# not grade.
set -u
[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: $0 BUILD [exercises|solutions]" >&2; exit 2; }
src=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1" || exit 2
build=$(cd "$1" && pwd)
from=${2:-exercises}
make=${MAKE:-make}
ctest=${CTEST:-ctest}
jobs=${JOBS:-2}

case $from in
exercises) bins=$build/exercises; what="the exercises in exercises/" ;;
solutions | exercises/solutions) bins=$build/exercises/solutions
    what="the reference solutions in exercises/solutions/" ;;
*) echo "$0: EXERCISES_FROM must be exercises or solutions, not $from" >&2; exit 2 ;;
esac
rel=${build#"$src"/}

grade=$build/grade
rm -rf "$grade"
mkdir -p "$grade/results" "$grade/build-logs"

names=()
for c in "$src"/exercises/[0-9][0-9]_*.c; do
    [ -e "$c" ] && names+=("$(basename "$c" .c)")
done
[ ${#names[@]} -gt 0 ] || { echo "$0: no exercises/NN_*.c found" >&2; exit 2; }

# ---- The shared parts, built once; then one CTest test per exercise --------
# Each test builds its own exercise (check_exercise.sh --make), so one that
# does not compile fails alone.

echo "Grading $what ..."
if ! (cd "$src" && $make -s --no-print-directory BUILD="$rel" exercise-deps) \
    >"$grade/build-logs/common.log" 2>&1; then
    cat "$grade/build-logs/common.log"
    echo "$0: the pool or the grader does not build; nothing was graded" >&2
    exit 2
fi
{
    echo "# Written by scripts/grade.sh: one test per exercise, label grade."
    for name in "${names[@]}"; do
        nn=${name%%_*}
        args=(--verbose --make "$build" --record "$grade/results/$name.tsv")
        [ "$from" = exercises ] && args+=(--starter "$src/exercises/$name.c")
        printf 'add_test(exercise_%s "%s"' "$nn" "$src/scripts/check_exercise.sh"
        for a in "${args[@]}" "$bins/$name" "$src/expected_output/exercises/$name.txt"; do
            printf ' "%s"' "$a"
        done
        printf ')\nset_tests_properties(exercise_%s PROPERTIES TIMEOUT 180 LABELS "grade")\n' "$nn"
    done
} >"$grade/CTestTestfile.cmake"

# ---- Run them ------------------------------------------------------------------

junit=()
version=$("$ctest" --version 2>/dev/null | sed -n '1s/[^0-9]*\([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
read -r major minor <<<"${version:-0 0}"
if [ "$major" -gt 3 ] || { [ "$major" -eq 3 ] && [ "$minor" -ge 21 ]; }; then
    junit=(--output-junit "$grade/junit.xml")
fi
(cd "$grade" && "$ctest" -j"$jobs" "${junit[@]}" >"$grade/ctest.log" 2>&1)
if [ ${#junit[@]} -gt 0 ]; then
    echo "JUnit report: ${grade#"$src"/}/junit.xml; each test's output: ${grade#"$src"/}/ctest.log"
else
    echo "No JUnit report: it needs CTest 3.21 or newer. Output: ${grade#"$src"/}/ctest.log"
fi

# ---- The table -----------------------------------------------------------------

passed=0 failed=0 notstarted=0
echo
printf '%-36s %-6s %s\n' exercise result hint
for name in "${names[@]}"; do
    row=$grade/results/$name.tsv
    if [ -s "$row" ]; then
        IFS=$'\t' read -r _ result hint <"$row"
    else
        result=fail
        hint="the check did not finish; see ${grade#"$src"/}/ctest.log"
    fi
    if [ "$result" = pass ]; then
        passed=$((passed + 1))
        hint=
    elif [ "$result" = "not started" ]; then
        failed=$((failed + 1)) notstarted=$((notstarted + 1))
        hint=
    else
        failed=$((failed + 1))
    fi
    if [ -n "$hint" ]; then
        printf '%-36s %-6s %s\n' "$name" "$result" "$hint"
    else
        printf '%-36s %s\n' "$name" "$result"
    fi
done
echo
[ "$notstarted" -eq 0 ] || echo "($notstarted of the failed not started yet: still the starter as shipped)"
echo "$passed passed, $failed failed"
