#!/usr/bin/env bash
# run_mpi_lessons.sh - runs the lessons of the MPI build as MPI jobs
# (scripts/mpirun.sh) and checks each with scripts/run_lesson.sh. Usage:
#     scripts/run_mpi_lessons.sh [--list] BUILD [NN...]
# BUILD is the MPI build folder (build/mpi); NN picks lessons (all if none).
# A lesson listed in expected_output/mpi/NOT_APPLICABLE is skipped, with its
# reason; one with a file in expected_output/mpi/ is checked against it,
# else against its usual expected_output/ file. An "# expect mpi-np: N" line
# in the file chosen sets the number of ranks (MPI_NP) for that lesson.
# --list prints "NN PROGRAM EXPECTED NP" for each lesson that applies, and
# "NN skip REASON" for the others (scripts/ctest_mpi.sh reads it).
# Exit status: 0 every lesson run passed, 1 some failed, 2 usage.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
list=0
[ "${1:-}" = --list ] && { list=1; shift; }
[ $# -ge 1 ] || { echo "usage: $0 [--list] BUILD [NN...]" >&2; exit 2; }
build=$1
shift

declare -A reason=()
while read -r nn why; do
    case $nn in '' | '#'*) continue ;; esac
    reason[$nn]=$why
done <"$src/expected_output/mpi/NOT_APPLICABLE"

# Picks the lessons by number; an unknown number is a usage error.
lessons=()
for c in "$src"/lessons/[0-9][0-9]_*.c; do
    lesson=$(basename "$c" .c)
    if [ $# -eq 0 ]; then lessons+=("$lesson"); continue; fi
    for want in "$@"; do [ "${lesson%%_*}" = "$want" ] && lessons+=("$lesson"); done
done
if [ ${#lessons[@]} -eq 0 ] || { [ $# -gt 0 ] && [ ${#lessons[@]} -ne $# ]; }; then
    echo "$0: no lesson numbered: $*" >&2
    exit 2
fi

passed=0 failed=() skipped=()
for lesson in "${lessons[@]}"; do
    nn=${lesson%%_*}
    if [ -n "${reason[$nn]:-}" ]; then
        if [ "$list" = 1 ]; then echo "$nn skip ${reason[$nn]}"; else skipped+=("$nn: ${reason[$nn]}"); fi
        continue
    fi
    expected=$src/expected_output/mpi/$lesson.txt
    [ -e "$expected" ] || expected=$src/expected_output/$lesson.txt
    np=$(sed -n 's/^# expect mpi-np: *\([0-9][0-9]*\).*/\1/p' "$expected")
    np=${np:-${MPI_NP:-3}}
    if [ "$list" = 1 ]; then
        echo "$nn $build/lessons/$lesson $expected $np"
        continue
    fi
    echo "==== $lesson (MPI_NP=$np, ${expected#"$src"/}) ===="
    if MPI_NP=$np "$src/scripts/run_lesson.sh" --wrap "$src/scripts/mpirun.sh" \
        "$build/lessons/$lesson" "$expected"; then
        passed=$((passed + 1))
    else
        failed+=("$nn")
    fi
done
[ "$list" = 1 ] && exit 0

echo
if [ ${#skipped[@]} -gt 0 ]; then
    echo "Not run, as they do not apply to the MPI build:"
    printf '    %s\n' "${skipped[@]}"
fi
echo "run-mpi: $passed passed, ${#failed[@]} failed${failed:+ (${failed[*]})}, ${#skipped[@]} not applicable."
[ ${#failed[@]} -eq 0 ]
