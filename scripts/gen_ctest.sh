#!/bin/sh
# Writes a CTestTestfile.cmake for the build folder $1 to stdout.
# Every test gets a TIMEOUT, so a hang fails instead of stalling the run.
# Other areas add their tests through scripts/ctest_*.sh, sourced here:
# they call test_line with $src (the source tree) and $bin (the build).
set -eu
build=$1
src=$(cd "$(dirname "$0")/.." && pwd)
bin=$(cd "$build" && pwd)

test_line() { # name timeout labels command...
    name=$1 timeout=$2 labels=$3; shift 3
    printf 'add_test(%s' "$name"
    for a in "$@"; do printf ' "%s"' "$a"; done
    printf ')\nset_tests_properties(%s PROPERTIES TIMEOUT %s LABELS "%s")\n' \
        "$name" "$timeout" "$labels"
}

for c in "$src"/tests/test_*.c "$src"/tests/fault_*.c; do
    [ -e "$c" ] || continue
    prog=$(basename "$c" .c)
    case $prog in test_*) label=unit ;; *) label=faults ;; esac
    test_line "$prog" 120 "$label" "$bin/tests/$prog"
    test_line "memcheck_$prog" 600 "memcheck" "$src/scripts/memcheck.sh" "$bin/tests/$prog"
    echo "set_tests_properties(memcheck_$prog PROPERTIES ENVIRONMENT POOL_NO_RSS_CHECK=1)"
done

for f in "$src"/scripts/ctest_*.sh; do
    [ -e "$f" ] || continue
    . "$f"
done
