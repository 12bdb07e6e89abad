#!/usr/bin/env bash
# run_mutants.sh - shows that the lesson checks have teeth. Usage:
#     tests/mutants/run_mutants.sh [WORK_DIR [NAME_PART]]
# Each tests/mutants/*.patch breaks the pool or a lesson on purpose. For each
# one this copies the source tree into WORK_DIR (build/mutants by default),
# applies the patch, builds the lessons its "Caught-by:" line names, and runs
# their checks; the mutant is caught when one of those checks fails. A
# "Tries: N" line allows N runs per lesson, for a mutant whose symptom
# depends on timing. Every run has the time limit of its expected file.
# It fails unless every mutant applies, builds and is caught.
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
work=${1:-$src/build/mutants}
only=${2:-}
mkdir -p "$work"
work=$(cd "$work" && pwd)

# Every lesson target, by number: 01 -> build/lessons/01_apply_async_callback.
lesson_name() {
    local c
    for c in "$src"/lessons/"$1"_*.c; do
        [ -e "$c" ] && basename "$c" .c
    done
}

# Copies the tracked and new (not ignored) files, never a build folder.
copy_tree() {
    rm -rf "$1"
    mkdir -p "$1"
    if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
        git -C "$src" ls-files -z --cached --others --exclude-standard |
            grep -zv '^build/' |
            tar -C "$src" --null -T - --ignore-failed-read -cf - 2>/dev/null |
            tar -C "$1" -xf -
    else
        tar -C "$src" --exclude=./build -cf - . | tar -C "$1" -xf -
    fi
}

build_lessons() { # tree log lesson-names...
    local tree=$1 log=$2
    shift 2
    timeout 300 make -C "$tree" -s BUILD=build "${@/#/build/lessons/}" >"$log" 2>&1
}

# Runs one lesson's check in a tree; returns its verdict.
check_lesson() { # tree lesson log
    "$1/scripts/run_lesson.sh" "$1/build/lessons/$2" "$1/expected_output/$2.txt" >"$3" 2>&1
}

all_lessons=()
for c in "$src"/lessons/[0-9][0-9]_*.c; do
    [ -e "$c" ] && all_lessons+=("$(basename "$c" .c)")
done

# ---- The unmutated tree must pass, or "caught" would mean nothing --------------

base=$work/base
echo "mutants: building the unmutated copy in $base"
copy_tree "$base"
if ! build_lessons "$base" "$work/base.log" "${all_lessons[@]}"; then
    echo "mutants: the unmutated tree does not build:"
    cat "$work/base.log"
    exit 1
fi
for l in "${all_lessons[@]}"; do
    if ! check_lesson "$base" "$l" "$work/base.$l.log"; then
        echo "mutants: $l fails without any mutant, so no mutant can be judged:"
        cat "$work/base.$l.log"
        exit 1
    fi
done

# ---- Each mutant ----------------------------------------------------------------

caught=0 survived=0 broken=0
for patch in "$src"/tests/mutants/*.patch; do
    name=$(basename "$patch" .patch)
    case $name in *"$only"*) ;; *) continue ;; esac
    what=$(sed -n 's/^Mutant: //p' "$patch" | head -n 1 | sed 's/\.$//')
    tries=$(sed -n 's/^Tries: //p' "$patch" | head -n 1)
    tries=${tries:-1}
    lessons=()
    for nn in $(sed -n 's/^Caught-by: //p' "$patch"); do
        l=$(lesson_name "$nn")
        [ -n "$l" ] && lessons+=("$l")
    done
    if [ ${#lessons[@]} -eq 0 ]; then
        echo "BROKEN    $name: its Caught-by: line names no lesson"
        broken=$((broken + 1))
        continue
    fi

    tree=$work/$name
    rm -rf "$tree"
    cp -a "$base" "$tree" # with its build folder: only what the patch touches is rebuilt
    if ! patch -p1 -s --no-backup-if-mismatch -d "$tree" <"$patch" >"$work/$name.log" 2>&1; then
        echo "BROKEN    $name: the patch does not apply (see $work/$name.log)"
        broken=$((broken + 1))
        continue
    fi
    if ! build_lessons "$tree" "$work/$name.log" "${lessons[@]}"; then
        echo "BROKEN    $name: the mutant does not build (see $work/$name.log)"
        broken=$((broken + 1))
        continue
    fi

    by=
    for l in "${lessons[@]}"; do
        for ((t = 1; t <= tries; t++)); do
            if ! check_lesson "$tree" "$l" "$work/$name.$l.log"; then
                by="$l: $(grep -m 1 '^FAILED: ' "$work/$name.$l.log" | cut -c 9-)"
                break 2
            fi
        done
    done
    if [ -n "$by" ]; then
        echo "caught    $name ($what)"
        echo "          by $by" | cut -c 1-160
        caught=$((caught + 1))
    else
        echo "SURVIVED  $name ($what): ${lessons[*]} passed $tries time(s) each"
        survived=$((survived + 1))
    fi
done

echo "mutants: $caught caught, $survived survived${broken:+, $broken broken}" |
    sed 's/, 0 broken$//'
[ "$survived" -eq 0 ] && [ "$broken" -eq 0 ] && [ "$caught" -gt 0 ]
