# ctest_trace.sh - the trace checks, sourced by scripts/gen_ctest.sh with
# $src, $bin and test_line set (label trace). trace_NN runs lesson NN with
# POOL_TRACE=$bin/trace/check_NN.json and asserts the lesson's claims on
# the trace, as orders of events (scripts/check_trace.py --list shows them).
# trace_check_selftest shows that each claim can fail: every known-wrong
# trace in tests/trace_check/ must fail with the claim it names.
for c in "$src"/lessons/[0-9][0-9]_*.c; do
    [ -e "$c" ] || continue
    lesson=$(basename "$c" .c)
    nn=${lesson%%_*}
    test_line "trace_$nn" 60 trace \
        "$src/scripts/run_trace_check.sh" "$bin/lessons/$lesson" "$bin/trace/check_$nn.json"
done
test_line trace_check_selftest 120 trace "$src/scripts/test_check_trace.sh"
