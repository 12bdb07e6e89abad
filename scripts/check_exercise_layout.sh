#!/usr/bin/env bash
# check_exercise_layout.sh - keeps the exercises complete and their docs honest.
# For each starter exercises/NN_name.c there must be a reference solution
# exercises/solutions/NN_name.c, a check expected_output/exercises/NN_name.txt
# with a "# hint" line for each of its passes, a statement
# docs/exercises/NN_name.md listed in docs/exercises/index.md, and a line in
# exercises/starters.sha256. The starter has TODOs and the solution none. A
# statement may name, in backticks, a C function (`save()`) or a pool_ or
# lesson_ name only if the starter, the solution or common/*.h has it.
# Each exercise also has a second right answer exercises/alternative/NN_name.c
# and at least three known-wrong answers exercises/wrong/NN_*.c, each opening
# with the one line "/* WRONG: what is wrong. Caught by: KEY */", where KEY
# (or each of KEY|KEY2) has a "# hint KEY" line in one of the exercise's
# expected files, or is one of the keys check_exercise.sh has a general
# hint for (crash, asan, tsan, callback-failed).
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src" || exit 2

problems=0
problem() {
    problems=$((problems + 1))
    echo "$1"
}

starters=(exercises/[0-9][0-9]_*.c)
[ -e "${starters[0]}" ] || { echo "no exercises/NN_*.c found"; exit 1; }

for starter in "${starters[@]}"; do
    name=$(basename "$starter" .c)
    solution=exercises/solutions/$name.c
    expected=expected_output/exercises/$name.txt
    doc=docs/exercises/$name.md

    [ -f "$solution" ] || problem "$starter: no reference solution $solution"
    [ -f "exercises/alternative/$name.c" ] ||
        problem "$starter: no second correct answer exercises/alternative/$name.c"
    nn=${name%%_*}
    wrong=(exercises/wrong/"$nn"_*.c)
    [ -e "${wrong[0]}" ] && [ ${#wrong[@]} -ge 3 ] ||
        problem "$starter: fewer than three known-wrong answers exercises/wrong/${nn}_*.c"
    for w in "${wrong[@]}"; do
        [ -e "$w" ] || continue
        keys=$(sed -n '1s|^/\* WRONG: .* Caught by: \([a-zA-Z|-]*\) \*/$|\1|p' "$w")
        if [ -z "$keys" ]; then
            problem "$w: its first line must be /* WRONG: what is wrong. Caught by: KEY */"
            continue
        fi
        for key in ${keys//|/ }; do
            case $key in crash | asan | tsan | callback-failed) continue ;; esac
            grep -qs "^# hint $key = " expected_output/exercises/"$name".*txt expected_output/exercises/"$name".txt ||
                problem "$w: caught by $key, but no expected file of $name has a '# hint $key' line"
        done
    done
    [ -f "$doc" ] || problem "$starter: no statement $doc"
    grep -q 'TODO' "$starter" || problem "$starter: a starter should mark what to do with TODO"
    [ -f "$solution" ] && grep -q 'TODO' "$solution" &&
        problem "$solution: a reference solution should have no TODO left"
    grep -q "  $starter\$" exercises/starters.sha256 2>/dev/null ||
        problem "$starter: not in exercises/starters.sha256 (make exercise-hashes)"

    if [ -f "$expected" ]; then
        while IFS= read -r prefix; do
            grep -q "^# hint $prefix = " "$expected" ||
                problem "$expected: the pass $prefix has no '# hint $prefix = ...' line"
        done < <(sed -n 's/^# pass \([A-Z][A-Z0-9_]*\) = .*/\1/p' "$expected")
    else
        problem "$starter: no check $expected"
    fi

    [ -f "$doc" ] || continue
    while IFS= read -r word; do
        grep -qw -- "$word" "$starter" $([ -f "$solution" ] && echo "$solution") common/*.h ||
            problem "$doc: names \`$word\`, which is in neither $starter, $solution nor common/*.h"
    done < <(grep -oE '`[A-Za-z_][A-Za-z0-9_]*(\(\))?`' "$doc" | tr -d '`' |
        grep -E '\(\)$|^(pool|lesson|POOL|LESSON)_' | sed 's/()$//' | sort -u)
done

# Nothing left over from an exercise that is gone.
for f in exercises/solutions/*.c exercises/alternative/*.c expected_output/exercises/*.txt \
    docs/exercises/[0-9][0-9]_*.md; do
    [ -e "$f" ] || continue
    name=$(basename "$f")
    name=${name%%.*}
    [ -f "exercises/$name.c" ] || problem "$f: there is no starter exercises/$name.c for it"
done

# The index lists every statement, in order.
if [ -f docs/exercises/index.md ]; then
    listed=$(grep -oE '\(([0-9][0-9]_[a-z_]+)\.md\)' docs/exercises/index.md | tr -d '()' | tr '\n' ' ')
    wanted=$(for s in "${starters[@]}"; do echo "$(basename "$s" .c).md"; done | tr '\n' ' ')
    [ "$listed" = "$wanted" ] ||
        problem "docs/exercises/index.md lists [$listed] but the exercises are [$wanted]"
else
    problem "docs/exercises/index.md is missing"
fi

if [ "$problems" -ne 0 ]; then
    echo "check_exercise_layout: $problems problem(s)"
    exit 1
fi
echo "check_exercise_layout: ${#starters[@]} exercises, each with its solution, alternative, wrong answers, check and statement"
