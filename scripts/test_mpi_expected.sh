#!/usr/bin/env bash
# test_mpi_expected.sh - checks the MPI build's own expected files
# (expected_output/mpi/): scripts/run_lesson.sh must pass a right output and
# fail each known-wrong one, for the reason named. A wrong output is either
# a fake (a shell script that prints a real run's lines with one thing
# changed) or a real program that is wrong for the file: the fork build's
# lesson, run without mpirun. Usage:
#     scripts/test_mpi_expected.sh BUILD [CASE...]   (all cases if none)
#     scripts/test_mpi_expected.sh --list
# BUILD is the main build folder, whose lessons/ holds the fork build.
# Exit status: 0 every case as expected, 1 some not, 2 usage.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
runner=$src/scripts/run_lesson.sh
mpi=$src/expected_output/mpi

# ---- The cases: name, verdict, expected file, what the report must say -------

# A real run of lesson 04 under mpirun.sh (np 3), fields as arguments:
# task-rank task-name task-tid callback-rank callback-pid callback-host
# callback-tid callback-thread-name; main is rank 0, pid 21889.
out04() {
    cat <<EOF
Main Process: rank=0 host=vm name=04_which_proces pid=21889
Main Thread: name=04_which_proces tid=21889
Task Process: rank=$1 host=vm name=$2 pid=21890
Task Thread: name=$2 tid=$3
Callback Process: rank=$4 host=$6 name=04_which_proces pid=$5
Callback Thread: name=$8 tid=$7
EOF
}
# A real run of lesson 17 under mpirun.sh; $1 the task's process line.
out17() {
    cat <<EOF
Main Process: rank=0 host=vm name=17_thread_pool_ pid=29512
Main Thread: name=17_thread_pool_ tid=29512
Task Process: $1
Task Thread: name=PoolWorker-1 tid=29521
Callback Process: rank=0 host=vm name=17_thread_pool_ pid=29512
Callback Thread: name=result-handler tid=29524
EOF
}

cases=(
    # name|verdict|file|the report must say
    "04_good|pass|04_which_process_and_thread|PASS"
    "04_fork_build|fail|04_which_process_and_thread|does not match the MAIN lines"
    "04_task_on_rank_0|fail|04_which_process_and_thread|does not match the CHECK lines"
    "04_task_not_a_pool_worker|fail|04_which_process_and_thread|does not match the CHECK lines"
    "04_task_off_its_main_thread|fail|04_which_process_and_thread|does not match the CHECK lines"
    "04_callback_before_task|fail|04_which_process_and_thread|does not match the CHECK lines"
    "04_callback_on_a_worker_rank|fail|04_which_process_and_thread|does not match the CHECK lines"
    "04_callback_in_another_process|fail|04_which_process_and_thread|Main Process pid and Callback Process pid should be the same"
    "04_callback_on_another_host|fail|04_which_process_and_thread|Main Process host and Callback Process host should be the same"
    "04_callback_on_main_thread|fail|04_which_process_and_thread|Main Thread tid and Callback Thread tid should differ"
    "04_callback_not_on_result_handler|fail|04_which_process_and_thread|does not match the CHECK lines"
    "04_seven_lines|fail|04_which_process_and_thread|does not match the SHAPE lines"
    "17_good|pass|17_thread_pool_callbacks|PASS"
    "17_fork_build|fail|17_thread_pool_callbacks|does not match the MAIN lines"
    "17_task_on_a_worker_rank|fail|17_thread_pool_callbacks|does not match the CHECK lines"
)

# Writes case $1's program to $2: a fake's script, or a link to a real one.
make_program() {
    local body
    case $1 in
    04_good) body=$(out04 1 PoolWorker-1 21890 0 21889 vm 22018 result-handler) ;;
    04_task_on_rank_0) body=$(out04 0 PoolWorker-1 21890 0 21889 vm 22018 result-handler) ;;
    04_task_not_a_pool_worker) body=$(out04 1 04_which_proces 21890 0 21889 vm 22018 result-handler) ;;
    04_task_off_its_main_thread) body=$(out04 1 PoolWorker-1 21895 0 21889 vm 22018 result-handler) ;;
    04_callback_before_task)
        body=$(out04 1 PoolWorker-1 21890 0 21889 vm 22018 result-handler |
            awk '{ line[NR] = $0 } END { print line[1]; print line[2]; print line[5]; print line[6]; print line[3]; print line[4] }') ;;
    04_callback_on_a_worker_rank) body=$(out04 1 PoolWorker-1 21890 1 21889 vm 22018 result-handler) ;;
    04_callback_in_another_process) body=$(out04 1 PoolWorker-1 21890 0 21890 vm 22018 result-handler) ;;
    04_callback_on_another_host) body=$(out04 1 PoolWorker-1 21890 0 21889 vm2 22018 result-handler) ;;
    04_callback_on_main_thread) body=$(out04 1 PoolWorker-1 21890 0 21889 vm 21889 result-handler) ;;
    04_callback_not_on_result_handler) body=$(out04 1 PoolWorker-1 21890 0 21889 vm 22018 Thread-3) ;;
    04_seven_lines)
        body=$(out04 1 PoolWorker-1 21890 0 21889 vm 22018 result-handler
            echo "Task Thread: name=PoolWorker-1 tid=21890") ;;
    17_good) body=$(out17 "rank=0 host=vm name=17_thread_pool_ pid=29512") ;;
    17_task_on_a_worker_rank) body=$(out17 "rank=1 host=vm name=PoolWorker-1 pid=29513") ;;
    *_fork_build)
        local real c
        for c in "$src/lessons/${1%%_*}"_*.c; do real=$build/lessons/$(basename "$c" .c); done
        if [ ! -x "$real" ]; then
            echo "$1: the fork build's lesson ${1%%_*} is not in $build/lessons; run make first" >&2
            return 2
        fi
        ln -s "$real" "$2"
        return ;;
    *) echo "$0: unknown case $1" >&2; return 2 ;;
    esac
    # printf, not echo: the fake prints each line as it is.
    printf '#!/bin/sh\ncat <<'\''EOF'\''\n%s\nEOF\n' "$body" >"$2" && chmod +x "$2"
}

if [ "${1:-}" = --list ]; then
    for c in "${cases[@]}"; do echo "${c%%|*}"; done
    exit 0
fi
[ $# -ge 1 ] || { echo "usage: $0 BUILD [CASE...] | --list" >&2; exit 2; }
build=$(cd "$1" && pwd) || exit 2
shift
if [ $# -eq 0 ]; then
    for c in "${cases[@]}"; do set -- "$@" "${c%%|*}"; done
fi

tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
checks=0 failed=0
for name in "$@"; do
    row=
    for c in "${cases[@]}"; do [ "${c%%|*}" = "$name" ] && row=$c; done
    [ -n "$row" ] || { echo "$0: unknown case $name" >&2; exit 2; }
    IFS='|' read -r _ want lesson says <<<"$row"
    make_program "$name" "$tmp/$name" || exit 2
    bash "$runner" "$tmp/$name" "$mpi/$lesson.txt" >"$tmp/$name.log" 2>&1
    status=$?
    case $status in 0) got=pass ;; 1) got=fail ;; *) got="exit status $status" ;; esac
    checks=$((checks + 1))
    problems=()
    [ "$got" = "$want" ] || problems+=("the runner should $want it, but it did: $got")
    grep -qF -- "$says" "$tmp/$name.log" || problems+=("its report should say: $says")
    if [ ${#problems[@]} -gt 0 ]; then
        failed=$((failed + 1))
        echo "FAILED: $name against mpi/$lesson.txt:"
        printf '    %s\n' "${problems[@]}"
        sed 's/^/    | /' "$tmp/$name.log"
    else
        echo "ok: $name ($want, says: $says)"
    fi
done
echo "test_mpi_expected: $checks checks, $failed failed"
[ "$failed" -eq 0 ]
