#!/usr/bin/env bash
# test_run_lesson.sh - checks the checker: runs scripts/run_lesson.sh on fake
# lessons (shell scripts that print a chosen output) and asserts which ones
# it passes and which it fails. A runner that passes everything fails here.
# Each expect_verdict only writes its fake and notes what it expects; then
# the cases run side by side (SELFTEST_JOBS at a time, 4 by default), and
# their verdicts are compared, in order. Process starts are most of the
# cost, so the fakes are written by bash itself and made executable at once.
set -u
# `maker | expect_verdict ...` must note its case in this shell, not in a
# subshell.
shopt -s lastpipe
src=$(cd "$(dirname "$0")/.." && pwd)
runner=$src/scripts/run_lesson.sh
exp=$src/expected_output
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
FILECHECK=${FILECHECK:-$("$src/scripts/ensure_tools.sh" --print-filecheck)}
export FILECHECK

mkdir "$tmp/fakes"
cases=()
declare -A scale=()
# expect_verdict pass|fail EXPECTED_FILE FAKE_NAME [OPTION...]  (the fake's
# script on stdin). Options: --says TEXT and --not-says TEXT, what the
# runner's report must (not) contain; --time-scale N, passed to the runner.
expect_verdict() {
    local want=$1 expected=$2 name=$3 body
    shift 3
    mapfile -t body
    printf '%s\n' '#!/bin/sh' "${body[@]}" >"$tmp/fakes/$name"
    : >"$tmp/$name.says"
    : >"$tmp/$name.not-says"
    while [ $# -ge 2 ]; do
        case $1 in
        --says) printf '%s\n' "$2" >>"$tmp/$name.says" ;;
        --not-says) printf '%s\n' "$2" >>"$tmp/$name.not-says" ;;
        --time-scale) scale[$name]=$2 ;;
        *) echo "expect_verdict: unknown option $1" >&2; exit 2 ;;
        esac
        shift 2
    done
    echo "$want $expected" >"$tmp/$name.want"
    cases+=("$name")
}

# ---- 01: one value, one callback --------------------------------------------

expect_verdict pass 01_apply_async_callback.txt 01_good <<'EOF'
echo 'Task 0 executing with 0.2998712545246843'
echo 'Callback got: 0.2998712545246843'
EOF
expect_verdict pass 01_apply_async_callback.txt 01_tiny_value <<'EOF'
echo 'Task 0 executing with 5e-05'
echo 'Callback got: 5e-05'
EOF
expect_verdict fail 01_apply_async_callback.txt 01_other_value <<'EOF'
echo 'Task 0 executing with 0.25'
echo 'Callback got: 0.255'
EOF
expect_verdict fail 01_apply_async_callback.txt 01_printed_twice <<'EOF'
echo 'Task 0 executing with 0.25'
echo 'Task 0 executing with 0.25'
echo 'Callback got: 0.25'
EOF
expect_verdict fail 01_apply_async_callback.txt 01_stray_stderr <<'EOF'
echo 'Task 0 executing with 0.25'
echo 'Callback got: 0.25'
echo 'warning: something' >&2
EOF
expect_verdict fail 01_apply_async_callback.txt 01_exit_1 <<'EOF'
echo 'Task 0 executing with 0.25'
echo 'Callback got: 0.25'
exit 1
EOF
expect_verdict fail 01_apply_async_callback.txt 01_no_output <<'EOF'
exit 0
EOF

# ---- 02: order of the delivered values --------------------------------------

expect_verdict pass 02_map_async_callback.txt 02_good <<'EOF'
for i in 2 0 4 1 3; do echo "Task $i executing with 0.$i$i"; done
for i in 0 1 2 3 4; do echo "Callback got: 0.$i$i"; done
EOF
expect_verdict fail 02_map_async_callback.txt 02_out_of_order <<'EOF'
for i in 2 0 4 1 3; do echo "Task $i executing with 0.$i$i"; done
for i in 2 0 4 1 3; do echo "Callback got: 0.$i$i"; done
EOF
expect_verdict fail 02_map_async_callback.txt 02_callback_early <<'EOF'
for i in 2 0 4 1; do echo "Task $i executing with 0.$i$i"; done
for i in 0 1 2 3 4; do echo "Callback got: 0.$i$i"; done
echo "Task 3 executing with 0.33"
EOF
expect_verdict fail 02_map_async_callback.txt 02_same_seed <<'EOF'
for i in 0 1 2 3 4; do echo "Task $i executing with 0.5"; done
for i in 0 1 2 3 4; do echo "Callback got: 0.5"; done
EOF
expect_verdict fail 02_map_async_callback.txt 02_task_twice <<'EOF'
for i in 2 0 4 1 3 3; do echo "Task $i executing with 0.$i$i"; done
for i in 0 1 2 3 4; do echo "Callback got: 0.$i$i"; done
EOF

# ---- 04: who runs what ------------------------------------------------------

good04() { # main callback-pid callback-tid callback-thread-name
    cat <<EOF
echo 'Main Process: name=lesson04 pid=100 parent=50'
echo 'Main Thread: name=lesson04 tid=100'
echo 'Task Process: name=PoolWorker-2 pid=103 parent=101'
echo 'Task Thread: name=PoolWorker-2 tid=103'
echo 'Callback Process: name=lesson04 pid=$1 parent=50'
echo 'Callback Thread: name=$3 tid=$2'
EOF
}
good04 100 102 result-handler | expect_verdict pass 04_which_process_and_thread.txt 04_good
good04 100 100 result-handler | expect_verdict fail 04_which_process_and_thread.txt 04_callback_on_main_thread
good04 103 103 result-handler | expect_verdict fail 04_which_process_and_thread.txt 04_callback_in_worker
good04 100 102 Thread-3 | expect_verdict fail 04_which_process_and_thread.txt 04_unnamed_handler
expect_verdict fail 04_which_process_and_thread.txt 04_task_in_main <<'EOF'
echo 'Main Process: name=lesson04 pid=100 parent=50'
echo 'Main Thread: name=lesson04 tid=100'
echo 'Task Process: name=PoolWorker-2 pid=100 parent=50'
echo 'Task Thread: name=PoolWorker-2 tid=100'
echo 'Callback Process: name=lesson04 pid=100 parent=50'
echo 'Callback Thread: name=result-handler tid=102'
EOF

# ---- 05: a value that must change -------------------------------------------

expect_verdict pass 05_sharing_data_with_callback.txt 05_good <<'EOF'
echo 'Main data: 0.5'
echo 'Callback data: 0.5'
echo 'Callback data now: 0.25'
echo 'Main data: 0.25'
EOF
expect_verdict pass 05_sharing_data_with_callback.txt 05_new_value_extends_old <<'EOF'
echo 'Main data: 0.5'
echo 'Callback data: 0.5'
echo 'Callback data now: 0.55'
echo 'Main data: 0.55'
EOF
expect_verdict fail 05_sharing_data_with_callback.txt 05_unchanged <<'EOF'
echo 'Main data: 0.5'
echo 'Callback data: 0.5'
echo 'Callback data now: 0.5'
echo 'Main data: 0.5'
EOF
expect_verdict fail 05_sharing_data_with_callback.txt 05_change_not_seen <<'EOF'
echo 'Main data: 0.5'
echo 'Callback data: 0.5'
echo 'Callback data now: 0.25'
echo 'Main data: 0.5'
EOF
expect_verdict fail 05_sharing_data_with_callback.txt 05_first_line_twice <<'EOF'
echo 'Main data: 0.5'
echo 'Main data: 0.5'
echo 'Callback data: 0.5'
echo 'Callback data now: 0.25'
echo 'Main data: 0.25'
EOF

# ---- 06 and 07: when the callback runs, and when it fails -------------------

expect_verdict pass 06_when_the_callback_runs.txt 06_good <<'EOF'
echo 'Task 1 done.'
echo 'Main tasks issued.'
for i in 0 3 2 4; do echo "Task $i done."; done
echo 'Callback done.'
echo 'Main tasks done.'
EOF
expect_verdict fail 06_when_the_callback_runs.txt 06_callback_early <<'EOF'
echo 'Main tasks issued.'
for i in 0 3 2 1; do echo "Task $i done."; done
echo 'Callback done.'
echo 'Task 4 done.'
echo 'Main tasks done.'
EOF
expect_verdict fail 06_when_the_callback_runs.txt 06_wait_returns_early <<'EOF'
echo 'Main tasks issued.'
for i in 0 3 2 1 4; do echo "Task $i done."; done
echo 'Main tasks done.'
echo 'Callback done.'
EOF
expect_verdict pass 07_failing_callback.txt 07_good <<'EOF'
echo 'Main tasks issued.'
for i in 0 1 2 3 4; do echo "Task $i done."; done
echo 'Callback running.'
echo 'pool: callback failed: Something bad happened' >&2
echo 'Main tasks done.'
echo 'Main successful: False'
EOF
# A tenth of the 5 s limit is enough to see the runner stop a hang.
expect_verdict fail 07_failing_callback.txt 07_hangs --time-scale 0.1 \
    --says 'FAILED: the lesson did not finish within 0.5 seconds, so it was stopped.' <<'EOF'
echo 'Main tasks issued.'
for i in 0 1 2 3 4; do echo "Task $i done."; done
echo 'Callback running.'
echo 'pool: callback failed: Something bad happened' >&2
exec sleep 60
EOF
expect_verdict fail 07_failing_callback.txt 07_silent_failure <<'EOF'
echo 'Main tasks issued.'
for i in 0 1 2 3 4; do echo "Task $i done."; done
echo 'Callback running.'
echo 'Main tasks done.'
echo 'Main successful: False'
EOF
expect_verdict fail 07_failing_callback.txt 07_reported_successful <<'EOF'
echo 'Main tasks issued.'
for i in 0 1 2 3 4; do echo "Task $i done."; done
echo 'Callback running.'
echo 'pool: callback failed: Something bad happened' >&2
echo 'Main tasks done.'
echo 'Main successful: True'
EOF

# ---- 08 and 09: the error callback, and a task without a value --------------

good08() { # error-callback-lines result-callback-line get-message
    cat <<EOF
echo 'Main tasks issued.'
$1
$2
echo "Main get: task failed, Error('${3:-task 3 failed in PoolWorker-2 (pid 77): division by zero}')"
echo 'Main successful: False'
EOF
}
err08="echo 'Error callback got: task 3 failed in PoolWorker-2 (pid 77): division by zero'"
good08 "$err08" "" | expect_verdict pass 08_error_callback.txt 08_good
good08 "$err08" "echo 'Callback got: [4, 6, 12, None, -12]'" |
    expect_verdict fail 08_error_callback.txt 08_result_callback_too
good08 "$err08
$err08" "" | expect_verdict fail 08_error_callback.txt 08_error_callback_twice
good08 "$err08" "" "task 4 failed in PoolWorker-2 (pid 77): division by zero" |
    expect_verdict fail 08_error_callback.txt 08_get_says_otherwise
good08 "echo 'Error callback got: division by zero'" "" "division by zero" |
    expect_verdict fail 08_error_callback.txt 08_task_not_named
expect_verdict pass 09_task_without_return_value.txt 09_good <<'EOF'
echo 'Task 0 done.'
echo 'Callback got: None'
echo 'Main successful: True'
EOF
expect_verdict fail 09_task_without_return_value.txt 09_zero_for_none <<'EOF'
echo 'Task 0 done.'
echo 'Callback got: 0'
echo 'Main successful: True'
EOF
expect_verdict fail 09_task_without_return_value.txt 09_no_callback <<'EOF'
echo 'Task 0 done.'
echo 'Main successful: True'
EOF

# ---- 10: two stages ---------------------------------------------------------

stage() { # stage item...: the task lines of one stage, in that order
    local s=$1 i
    shift
    for i in "$@"; do
        if [ "$s" = 1 ]; then echo "echo 'Stage 1 task $i: $((i * i))'"
        else echo "echo 'Stage 2 task $i: $((2 * i * i))'"; fi
    done
}
callback10="echo 'Stage 1 callback got: [0, 1, 4, 9, 16]'"
results10() {
    local i
    for i in 0 1 2 3 4; do echo "echo 'Main result $i: $((2 * i * i))'"; done
}
{ stage 1 3 0 4 1 2; echo "$callback10"; stage 2 1 0 2 4 3; results10; } |
    expect_verdict pass 10_follow_up_tasks_from_callback.txt 10_good
{ stage 1 3 0 4 1 2; stage 2 1; echo "$callback10"; stage 2 0 2 4 3; results10; } |
    expect_verdict fail 10_follow_up_tasks_from_callback.txt 10_stage_2_too_early
{ stage 1 3 0 4 1 2; echo "$callback10"; stage 2 1 0 2 4; results10; stage 2 3; } |
    expect_verdict fail 10_follow_up_tasks_from_callback.txt 10_main_does_not_wait

# ---- 11: a worker that crashes ----------------------------------------------

run11() { # worker-of-tasks-3-and-4 pid-the-error-names late (error after callback 3)
    local w=${1:-PoolWorker-2 (pid 104)} i
    local err="echo 'Error callback for task 2 got: PoolWorker-1 (pid ${2:-100}) died from signal 11 (Segmentation fault) while running the task'"
    echo "echo 'Task 0 done in PoolWorker-1 (pid 100).'"
    echo "echo 'Task 1 done in PoolWorker-1 (pid 100).'"
    echo "echo 'Callback for task 0 got: 0'"
    echo "echo 'Task 2 crashing in PoolWorker-1 (pid 100).'"
    echo "echo 'Task 3 done in $w.'"
    echo "echo 'Callback for task 1 got: 10'"
    echo "echo 'Task 4 done in $w.'"
    if [ "${3:-}" = late ]; then
        echo "echo 'Callback for task 3 got: 30'"
        echo "$err"
    else
        echo "$err"
        echo "echo 'Callback for task 3 got: 30'"
    fi
    echo "echo 'Callback for task 4 got: 40'"
    for i in 0 1 2 3 4; do
        if [ "$i" = 2 ]; then echo "echo 'Main task 2 successful: False'"
        else echo "echo 'Main task $i successful: True'"; fi
    done
}
run11 | expect_verdict pass 11_worker_crash.txt 11_good
run11 'PoolWorker-1 (pid 100)' | expect_verdict fail 11_worker_crash.txt 11_not_replaced
run11 '' 104 | expect_verdict fail 11_worker_crash.txt 11_blames_the_new_worker
run11 '' '' late | expect_verdict fail 11_worker_crash.txt 11_callbacks_out_of_order

# ---- 12: join and terminate -------------------------------------------------

run12() { # line-after-terminate what-handle-2-says-after-terminate
    local i
    echo "echo 'Main: close and join.'"
    for i in 3 1 0 4 2; do echo "echo 'Task $i done.'"; done
    for i in 0 1 2 3 4; do
        echo "echo 'After join, handle $i: ready True, successful True, $((i * i))'"
    done
    echo "echo 'Main: terminate.'"
    if [ -n "$1" ]; then echo "echo '$1'"; fi
    for i in 0 1 2 3 4; do
        if [ "$i" = 2 ] && [ -n "$2" ]; then
            echo "echo \"After terminate, handle 2: $2\""
        else
            echo "echo \"After terminate, handle $i: ready True, successful False, Error('terminated')\""
        fi
    done
}
run12 "" "" | expect_verdict pass 12_close_join_versus_terminate.txt 12_good
run12 "" "ready True, successful False, Error('boom')" |
    expect_verdict fail 12_close_join_versus_terminate.txt 12_wrong_error
run12 "Task 2 done." "" | expect_verdict fail 12_close_join_versus_terminate.txt 12_task_outlives_terminate
run12 "" "ready False, successful False, no value yet" |
    expect_verdict fail 12_close_join_versus_terminate.txt 12_handle_left_pending

# ---- 13: one slow callback --------------------------------------------------

run13() { # tid-of-callback-2 task-2(early|late) callback-1-before-callback-0-ends(yes|no)
    echo "echo 'Task 0 done.'"
    echo "echo 'Task 1 done.'"
    if [ "$2" = early ]; then echo "echo 'Task 2 done.'"; fi
    echo "echo 'Callback 0 got 0 on name=result-handler tid=50; sleeping 0.5 s.'"
    if [ "$3" = yes ]; then echo "echo 'Callback 1 got 10 on name=result-handler tid=50.'"; fi
    echo "echo 'Callback 0 done.'"
    if [ "$2" = late ]; then echo "echo 'Task 2 done.'"; fi
    if [ "$3" = no ]; then echo "echo 'Callback 1 got 10 on name=result-handler tid=50.'"; fi
    echo "echo 'Callback 2 got 20 on name=result-handler tid=$1.'"
    echo "echo 'Main: every handle is ready.'"
}
run13 50 early no | expect_verdict pass 13_slow_callback_stalls_results.txt 13_good
run13 51 early no | expect_verdict fail 13_slow_callback_stalls_results.txt 13_two_threads
run13 50 late no | expect_verdict fail 13_slow_callback_stalls_results.txt 13_task_after_callback_0
run13 50 early yes | expect_verdict fail 13_slow_callback_stalls_results.txt 13_callbacks_side_by_side

# ---- Exercises: the same runner, their own files ----------------------------

saves05() { # tid of the saves
    local v
    echo "echo 'Main runs on name=05_quick_callba tid=10.'"
    for v in 4 0 16 1 9; do echo "echo 'Saved $v on name=x tid=$1.'"; done
    echo "echo 'Main: all saved.'"
}
saves05 10 | expect_verdict pass exercises/05_quick_callback.txt ex05_good
saves05 11 | expect_verdict fail exercises/05_quick_callback.txt ex05_saved_by_the_callback
expect_verdict fail exercises/08_predict_chunks.txt ex08_wrong_default <<'EOF'
echo 'Chunksize 4, predicted: [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]'
echo 'Chunksize 4, observed: [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]'
echo 'Default chunksize for 10 items on 2 workers, predicted: 1'
echo 'Default chunksize, predicted: [[0], [1], [2], [3], [4], [5], [6], [7], [8], [9]]'
echo 'Default chunksize, observed: [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]'
EOF

# ---- A crash, in the runner's words, without bash's ---------------------------

expect_verdict fail 01_apply_async_callback.txt 01_segfault \
    --says 'FAILED: the lesson should exit with status 0, but the lesson was killed by signal 11 (Segmentation fault).' \
    --not-says 'line ' --not-says 'core dumped' <<'EOF'
echo 'Task 0 executing with 0.25'
echo 'Callback got: 0.25'
kill -SEGV $$
EOF
expect_verdict fail 01_apply_async_callback.txt 01_abort \
    --says 'killed by signal 6 (Aborted).' --not-says 'line ' <<'EOF'
echo 'Task 0 executing with 0.25'
kill -ABRT $$
EOF

# ---- An exercise's report says "the exercise" ---------------------------------

expect_verdict fail exercises/08_predict_chunks.txt ex08_segfault \
    --says 'FAILED: the exercise should exit with status 0, but the exercise was killed by signal 11 (Segmentation fault).' \
    --not-says 'lesson' --not-says 'line ' <<'EOF'
echo 'Chunksize 4, predicted: [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]'
kill -SEGV $$
EOF
expect_verdict fail exercises/05_quick_callback.txt ex05_silent \
    --says 'FAILED: the exercise printed nothing on stdout.' --not-says 'lesson' <<'EOF'
exit 0
EOF
expect_verdict fail exercises/08_predict_chunks.txt ex08_hangs --time-scale 0.05 \
    --says 'FAILED: the exercise did not finish within' \
    --says 'An exercise that hangs is usually waiting' --not-says 'lesson' <<'EOF'
exec sleep 60
EOF

# ---- Run them side by side ---------------------------------------------------

chmod +x "$tmp"/fakes/*
(cd "$tmp" && mkdir "${cases[@]/%/.d}") || exit 2 # the runs' own folders
running=0
for name in "${cases[@]}"; do
    if [ "$running" -ge "${SELFTEST_JOBS:-4}" ]; then
        wait -n
        running=$((running - 1))
    fi
    read -r want expected <"$tmp/$name.want"
    args=()
    [ -n "${scale[$name]:-}" ] && args=(--time-scale "${scale[$name]}")
    (
        RUN_LESSON_TMPDIR=$tmp/$name.d \
            bash "$runner" "${args[@]}" "$tmp/fakes/$name" "$exp/$expected" >"$tmp/$name.log" 2>&1
        echo $? >"$tmp/$name.status"
    ) &
    running=$((running + 1))
done
wait

# ---- The verdicts -----------------------------------------------------------------

checks=0 failed=0
for name in "${cases[@]}"; do
    read -r want expected <"$tmp/$name.want"
    status=
    read -r status 2>/dev/null <"$tmp/$name.status"
    case $status in 0) got=pass ;; 1) got=fail ;; *) got="exit status ${status:-unknown}" ;; esac
    problems=()
    [ "$got" = "$want" ] || problems+=("the runner should $want it, but it did: $got")
    while IFS= read -r text; do
        grep -qF -- "$text" "$tmp/$name.log" || problems+=("its report should say: $text")
    done <"$tmp/$name.says"
    while IFS= read -r text; do
        grep -qF -- "$text" "$tmp/$name.log" && problems+=("its report should not say: $text")
    done <"$tmp/$name.not-says"
    checks=$((checks + 1))
    if [ ${#problems[@]} -gt 0 ]; then
        failed=$((failed + 1))
        echo "FAILED: $name against $expected:"
        printf '    %s\n' "${problems[@]}"
        sed 's/^/    | /' "$tmp/$name.log"
    fi
done
echo "test_run_lesson: $checks checks, $failed failed"
[ "$failed" -eq 0 ]
