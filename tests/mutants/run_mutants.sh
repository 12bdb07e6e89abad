#!/usr/bin/env bash
# run_mutants.sh - shows that the lesson checks and the fault tests have
# teeth. Usage:
#     tests/mutants/run_mutants.sh [WORK_DIR [NAME_PART]]
# Each tests/mutants/*.patch breaks the pool or a lesson on purpose. For each
# one this copies the source tree into WORK_DIR (build/mutants by default),
# applies the patch, builds the lessons its "Caught-by:" line names (by
# number) and the tests its "Caught-by-test:" line names (program names in
# tests/, e.g. fault_signals), and runs them; its "Caught-by-trace:" line
# names lessons (by number) whose trace check, scripts/run_trace_check.sh,
# runs too. Its "Caught-by-mpi:" line names MPI tests, as
# scripts/ctest_mpi_faults.sh names them (e.g. mpi_terminate): the tree is
# built as the MPI build too (make BUILD=build/mpi CC=mpicc MPI=1, and
# tests/mpi/*.c into build/mpi/tests/), and CTest runs those tests there,
# each with the command and TIMEOUT it has in CTest; without mpicc and
# mpirun such a mutant is skipped, and said to be. A patch needs at least
# one of the four lines. The mutant is
# caught when a lesson check or a trace check fails or a test exits
# non-zero. With MUTANTS_TRACE_ONLY=1, every mutant is judged by the trace
# checks of all the lessons and nothing else, to show which of them the
# trace checks catch as well; the run then fails only on a broken mutant. A "Tries: N" line allows N runs per lesson, for a mutant
# whose symptom depends on timing; a test runs once, so it must catch its
# mutant every time. Every lesson run has the time limit of its expected
# file, every test run 120 s (a test that times out has caught its mutant).
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

build_tests() { # tree log test-names...
    local tree=$1 log=$2
    shift 2
    timeout 300 make -C "$tree" -s BUILD=build "${@/#/build/tests/}" >"$log" 2>&1
}

# Runs one lesson with tracing on and checks its trace; returns its verdict.
check_trace() { # tree lesson log
    "$1/scripts/run_trace_check.sh" "$1/build/lessons/$2" "$1/build/trace/check_${2%%_*}.json" \
        >"$3" 2>&1
}

# Runs one test in a tree; 124 from timeout means it hung. The -k is for a
# test that ignores SIGTERM while its pool is stuck.
run_test() { # tree test log
    (cd "$1" && timeout -k 10 120 "build/tests/$2") >"$3" 2>&1
}

# Why a test failed, in one line: its first FAILED line (check.h puts the
# message on the next line, so that comes along), or how it ended.
test_failure() { # status log
    local line
    line=$(grep -m 1 -A 1 'FAILED' "$2" | sed 's/^ *//' | paste -sd ' ')
    if [ "$1" -eq 124 ] || [ "$1" -eq 137 ]; then
        echo "timed out after 120 s${line:+; $line}"
    elif [ -n "$line" ]; then
        echo "$line"
    else
        echo "exit status $1: $(tail -n 1 "$2")"
    fi
}

# A patch's MPI tests, as named on its "Caught-by-mpi:" lines.
patch_mpi() { # patch
    sed -n 's/^Caught-by-mpi: //p' "$1" | tr -s ' \t' '\n' | grep -v '^$'
}

# Builds the MPI build of a tree: make mpi (mk/mpi.mk) where it exists;
# else the library, then each tests/mpi/*.c as build/mpi/tests/NAME, with
# the flags the Makefile gives MPI=1.
build_mpi() { # tree log
    local tree=$1 log=$2 c
    if [ -e "$tree/mk/mpi.mk" ]; then
        timeout 600 make -C "$tree" -s mpi >>"$log" 2>&1
        return
    fi
    timeout 300 make -C "$tree" -s BUILD=build/mpi CC=mpicc MPI=1 build/mpi/libcommon.a \
        >>"$log" 2>&1 || return 1
    mkdir -p "$tree/build/mpi/tests"
    for c in "$tree"/tests/mpi/*.c; do
        timeout 120 mpicc -std=c11 -D_GNU_SOURCE -O2 -g -pthread -I"$tree/common" -DPOOL_MPI \
            "$c" "$tree/build/mpi/libcommon.a" -o "$tree/build/mpi/tests/$(basename "$c" .c)" \
            >>"$log" 2>&1 || return 1
    done
}

# Runs MPI tests of a tree through CTest, as scripts/ctest_mpi_faults.sh
# adds them to the tree's build/; fails if any fails.
run_mpi() { # tree log names...
    local tree=$1 log=$2
    shift 2
    mkdir -p "$tree/build"
    "$tree/scripts/gen_ctest.sh" "$tree/build" >"$tree/build/CTestTestfile.cmake" 2>"$log" ||
        return 1
    (cd "$tree/build" && ctest --output-on-failure -R "^($(IFS='|'; echo "$*"))\$") >>"$log" 2>&1
}

# Why an MPI test failed, in one line: the first test CTest lists as failed,
# with the first FAILED line of its output.
mpi_failure() { # log
    local t line
    t=$(sed -n 's/^[[:space:]]*[0-9]* - \([a-z_0-9]*\) .*/\1/p' "$1" | head -n 1)
    line=$(grep -m 1 -A 1 'FAILED' "$1" | sed 's/^ *//' | paste -sd ' ')
    echo "${t:-ctest}: ${line:-$(tail -n 1 "$1")}"
}

# A patch's tests, as named on its "Caught-by-test:" lines.
patch_tests() { # patch
    sed -n 's/^Caught-by-test: //p' "$1" | tr -s ' \t' '\n' | grep -v '^$'
}

all_lessons=()
for c in "$src"/lessons/[0-9][0-9]_*.c; do
    [ -e "$c" ] && all_lessons+=("$(basename "$c" .c)")
done
trace_only=${MUTANTS_TRACE_ONLY:-0}

# A patch's lessons whose trace is checked, as names: every lesson when
# MUTANTS_TRACE_ONLY=1.
patch_traces() { # patch
    local nn
    if [ "$trace_only" = 1 ]; then
        printf '%s\n' "${all_lessons[@]}"
        return
    fi
    for nn in $(sed -n 's/^Caught-by-trace: //p' "$1"); do
        lesson_name "$nn"
    done
}

# The tests that the selected mutants name, each once: a fault test takes
# seconds, so the base runs only those a mutant will need.
all_tests=() all_traces=() all_mpi=()
for patch in "$src"/tests/mutants/*.patch; do
    case $(basename "$patch" .patch) in *"$only"*) ;; *) continue ;; esac
    if [ "$trace_only" != 1 ]; then
        for t in $(patch_tests "$patch"); do
            [ -e "$src/tests/$t.c" ] && all_tests+=("$t")
        done
        mapfile -t -O "${#all_mpi[@]}" all_mpi < <(patch_mpi "$patch")
    fi
    mapfile -t -O "${#all_traces[@]}" all_traces < <(patch_traces "$patch")
done
mapfile -t all_tests < <(printf '%s\n' "${all_tests[@]}" | sort -u | grep -v '^$')
mapfile -t all_traces < <(printf '%s\n' "${all_traces[@]}" | sort -u | grep -v '^$')
mapfile -t all_mpi < <(printf '%s\n' "${all_mpi[@]}" | sort -u | grep -v '^$')
# Without Open MPI, the MPI mutants are skipped, and said to be.
have_mpi=1
command -v mpicc >/dev/null 2>&1 && command -v mpirun >/dev/null 2>&1 || have_mpi=0
[ "$have_mpi" = 1 ] || all_mpi=()

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
for l in "${all_traces[@]}"; do
    if ! check_trace "$base" "$l" "$work/base.$l.trace.log"; then
        echo "mutants: the trace check of $l fails without any mutant, so no mutant can be judged:"
        cat "$work/base.$l.trace.log"
        exit 1
    fi
done
if [ ${#all_tests[@]} -gt 0 ]; then
    echo "mutants: running ${all_tests[*]} on the unmutated copy"
    if ! build_tests "$base" "$work/base.log" "${all_tests[@]}"; then
        echo "mutants: the unmutated tree's tests do not build:"
        cat "$work/base.log"
        exit 1
    fi
fi
for t in "${all_tests[@]}"; do
    run_test "$base" "$t" "$work/base.$t.log"
    status=$?
    if [ "$status" -ne 0 ]; then
        echo "mutants: $t fails without any mutant ($(test_failure "$status" \
            "$work/base.$t.log")), so no mutant can be judged by it:"
        cat "$work/base.$t.log"
        exit 1
    fi
done

if [ ${#all_mpi[@]} -gt 0 ]; then
    echo "mutants: running ${all_mpi[*]} on the unmutated copy's MPI build"
    if ! build_mpi "$base" "$work/base.mpi.log"; then
        echo "mutants: the unmutated tree's MPI build fails:"
        cat "$work/base.mpi.log"
        exit 1
    fi
    if ! run_mpi "$base" "$work/base.mpi.log" "${all_mpi[@]}"; then
        echo "mutants: the MPI tests fail without any mutant ($(mpi_failure "$work/base.mpi.log")), so no mutant can be judged by them:"
        cat "$work/base.mpi.log"
        exit 1
    fi
fi

# ---- Each mutant ----------------------------------------------------------------

caught=0 survived=0 broken=0 skipped=0
for patch in "$src"/tests/mutants/*.patch; do
    name=$(basename "$patch" .patch)
    case $name in *"$only"*) ;; *) continue ;; esac
    what=$(sed -n 's/^Mutant: //p' "$patch" | head -n 1 | sed 's/\.$//')
    tries=$(sed -n 's/^Tries: //p' "$patch" | head -n 1)
    tries=${tries:-1}
    lessons=()
    for nn in $(sed -n 's/^Caught-by: //p' "$patch"); do
        l=$(lesson_name "$nn")
        [ -n "$l" ] && [ "$trace_only" != 1 ] && lessons+=("$l")
    done
    mapfile -t traces < <(patch_traces "$patch")
    tests=() mpi=() missing=
    [ "$trace_only" = 1 ] || for t in $(patch_tests "$patch"); do
        if [ -e "$src/tests/$t.c" ]; then
            tests+=("$t")
        else
            missing+=" $t"
        fi
    done
    [ "$trace_only" = 1 ] || for t in $(patch_mpi "$patch"); do
        if grep -q "test_line $t " "$src/scripts/ctest_mpi_faults.sh"; then
            mpi+=("$t")
        else
            missing+=" $t"
        fi
    done
    if [ ${#mpi[@]} -gt 0 ] && [ "$have_mpi" = 0 ]; then
        echo "skipped   $name: mpicc or mpirun not found: Open MPI is not installed"
        skipped=$((skipped + 1))
        continue
    fi
    if [ -n "$missing" ]; then # a misspelt name would go untested
        echo "BROKEN    $name: its Caught-by-test: or Caught-by-mpi: line names no such test:$missing"
        broken=$((broken + 1))
        continue
    fi
    if [ ${#lessons[@]} -eq 0 ] && [ ${#tests[@]} -eq 0 ] && [ ${#traces[@]} -eq 0 ] &&
        [ ${#mpi[@]} -eq 0 ]; then
        echo "BROKEN    $name: its Caught-by: line names no lesson, and it has no Caught-by-test:, Caught-by-trace: or Caught-by-mpi:"
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
    if { [ $((${#lessons[@]} + ${#traces[@]})) -gt 0 ] &&
        ! build_lessons "$tree" "$work/$name.log" "${lessons[@]}" "${traces[@]}"; } ||
        { [ ${#tests[@]} -gt 0 ] && ! build_tests "$tree" "$work/$name.log" "${tests[@]}"; } ||
        { [ ${#mpi[@]} -gt 0 ] && ! build_mpi "$tree" "$work/$name.log"; }; then
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
    for l in "${traces[@]}"; do
        [ -n "$by" ] && break
        for ((t = 1; t <= tries; t++)); do
            if ! check_trace "$tree" "$l" "$work/$name.$l.trace.log"; then
                by="trace_${l%%_*}: $(grep -m 1 -e '^FAILED ' -e '^run_trace_check:' \
                    "$work/$name.$l.trace.log")"
                break
            fi
        done
    done
    for t in "${tests[@]}"; do
        [ -n "$by" ] && break
        run_test "$tree" "$t" "$work/$name.$t.log"
        status=$?
        [ "$status" -ne 0 ] && by="$t: $(test_failure "$status" "$work/$name.$t.log")"
    done
    if [ -z "$by" ] && [ ${#mpi[@]} -gt 0 ] && ! run_mpi "$tree" "$work/$name.mpi.log" "${mpi[@]}"; then
        by=$(mpi_failure "$work/$name.mpi.log")
    fi
    if [ -n "$by" ]; then
        echo "caught    $name ($what)"
        echo "          by $by" | cut -c 1-160
        caught=$((caught + 1))
    else
        passed=
        [ ${#lessons[@]} -gt 0 ] && passed="${lessons[*]} passed $tries time(s) each"
        [ ${#tests[@]} -gt 0 ] && passed="${passed:+$passed; }${tests[*]} passed"
        [ ${#traces[@]} -gt 0 ] && passed="${passed:+$passed; }the traces of ${#traces[@]} lesson(s) passed"
        [ ${#mpi[@]} -gt 0 ] && passed="${passed:+$passed; }${mpi[*]} passed"
        echo "SURVIVED  $name ($what): $passed"
        survived=$((survived + 1))
    fi
done

echo "mutants: $caught caught, $survived survived${broken:+, $broken broken}${skipped:+, $skipped skipped}" |
    sed 's/, 0 broken//; s/, 0 skipped$//'
if [ "$trace_only" = 1 ]; then # survivors are expected: the trace checks are not the only ones
    [ "$broken" -eq 0 ]
else
    [ "$survived" -eq 0 ] && [ "$broken" -eq 0 ] && [ "$caught" -gt 0 ]
fi
