#!/usr/bin/env bash
# test_driver.sh - shows that each check of tests/mpi/run_mpi_test.sh can
# fail: every wrong job below must make it fail, and a right one pass.
# Usage: tests/mpi/test_driver.sh MPI_BUILD_DIR (holding tests/mpi_known_wrong
# and tests/mpi_other_build).
set -u
here=$(cd "$(dirname "$0")" && pwd)
t=$(cd "${1:?usage: $0 MPI_BUILD_DIR}" && pwd)/tests
run=$here/run_mpi_test.sh
failed=0
must() { # pass|fail what args...
    local want=$1 what=$2
    shift 2
    "$run" "$@" >/tmp/test_driver.$$ 2>&1
    local got=$?
    if { [ "$want" = pass ] && [ $got -ne 0 ]; } || { [ "$want" = fail ] && [ $got -eq 0 ]; }; then
        echo "test_driver: FAILED: $what: the driver should $want, and got $got:"
        cat /tmp/test_driver.$$
        failed=1
    else
        echo "test_driver: $what: $(grep -m 1 ': FAILED: ' /tmp/test_driver.$$ || tail -n 1 /tmp/test_driver.$$)"
    fi
    rm -f /tmp/test_driver.$$
}
must pass "a right job" --bound 30 --expect 'all fine' "$t/mpi_known_wrong"
must fail "a process left behind" --bound 30 "$t/mpi_known_wrong" orphan
must fail "a job that hangs" --bound 3 "$t/mpi_known_wrong" hang
must fail "success when a failure is due" --fails --bound 30 "$t/mpi_known_wrong"
must fail "a failure when success is due" --bound 30 "$t/mpi_known_wrong" exit1
must fail "a message missing" --bound 30 --expect 'no such line' "$t/mpi_known_wrong"
must fail "a message that must be absent" --bound 30 --absent 'all fine' "$t/mpi_known_wrong"
# mpi_other_build must fail when every rank runs the same build.
must fail "another build that is the same build" --np 1 --bound 30 \
    "$t/mpi_other_build" : -np 2 "$t/mpi_other_build"
exit $failed
