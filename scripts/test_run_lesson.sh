#!/usr/bin/env bash
# test_run_lesson.sh - checks the checker: runs scripts/run_lesson.sh on fake
# lessons (shell scripts that print a chosen output) and asserts which ones
# it passes and which it fails. A runner that passes everything fails here.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
runner=$src/scripts/run_lesson.sh
exp=$src/expected_output
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

checks=0 failed=0
# expect_verdict pass|fail EXPECTED_FILE FAKE_NAME  (the fake's script on stdin)
expect_verdict() {
    local want=$1 expected=$2 fake=$tmp/$3 got
    { echo '#!/bin/sh'; cat; } >"$fake"
    chmod +x "$fake"
    if "$runner" "$fake" "$exp/$expected" >"$tmp/log" 2>&1; then got=pass; else got=fail; fi
    checks=$((checks + 1))
    if [ "$got" != "$want" ]; then
        failed=$((failed + 1))
        echo "FAILED: the runner should $want $3 against $expected, but it did $got:"
        sed 's/^/    | /' "$tmp/log"
    fi
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
expect_verdict fail 07_failing_callback.txt 07_hangs <<'EOF'
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

echo "test_run_lesson: $checks checks, $failed failed"
[ "$failed" -eq 0 ]
