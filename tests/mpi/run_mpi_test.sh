#!/usr/bin/env bash
# run_mpi_test.sh - runs one MPI test program as a job (scripts/mpirun.sh)
# and checks how the job ended, from outside, as rank 0 cannot when a rank
# dies. Usage:
#     tests/mpi/run_mpi_test.sh [OPTIONS] PROGRAM [ARGS...]
#   --np N          ranks (MPI_NP; default 3)
#   --bound S       the job must end within S seconds (default 60)
#   --fails         the job must end with a non-zero status (default: 0)
#   --expect RE     stdout+stderr must match the extended regex RE (repeatable)
#   --absent RE     ... and must not match RE (repeatable)
#   --plain         run PROGRAM without mpirun
# ARGS go to mpirun as well, so ": -np 2 OTHER" makes an MPMD job.
# After the job, no process of it may be left: no mpirun of PROGRAM, and no
# process whose executable is PROGRAM or any other program in ARGS.
set -u
here=$(cd "$(dirname "$0")" && pwd)
np=3 bound=60 fails=0 plain=0 expect=() absent=()
while [ $# -gt 0 ]; do
    case $1 in
    --np) np=$2; shift 2 ;;
    --bound) bound=$2; shift 2 ;;
    --fails) fails=1; shift ;;
    --plain) plain=1; shift ;;
    --expect) expect+=("$2"); shift 2 ;;
    --absent) absent+=("$2"); shift 2 ;;
    *) break ;;
    esac
done
[ $# -ge 1 ] || { echo "usage: $0 [OPTIONS] PROGRAM [ARGS...]" >&2; exit 2; }
prog=$(realpath "$1") || exit 2
shift
exes=("$prog")
for a in "$@"; do [ -f "$a" ] && [ -x "$a" ] && exes+=("$(realpath "$a")"); done
name=$(basename "$prog")
log=$(mktemp -d) || exit 2
trap 'rm -rf "$log"' EXIT

start=$(date +%s.%N)
if [ "$plain" = 1 ]; then
    # Not under mpirun: no variable of Open MPI's may leak in from a caller.
    env -u OMPI_COMM_WORLD_SIZE -u PMIX_RANK timeout -k 5 "$bound" "$prog" "$@" \
        >"$log/out" 2>"$log/err"
else
    # -k: a job that ignores SIGTERM is killed 5 s later; both count as hangs.
    MPI_NP=$np timeout -k 5 "$bound" "$here/../../scripts/mpirun.sh" "$prog" "$@" \
        >"$log/out" 2>"$log/err"
fi
status=$?
end=$(date +%s.%N)
secs=$(echo "$end - $start" | bc)
cat "$log/out"
cat "$log/err" >&2

failed=0
fail() { echo "$name: FAILED: $*" >&2; failed=1; }
# timeout(1) gives 124, or 137 after -k; a job killed by SIGKILL gives 137
# too, so the clock decides.
if [ "$status" -eq 124 ] || [ "$(echo "$secs >= $bound" | bc)" = 1 ]; then
    fail "the job did not end within $bound s (status $status)"
elif [ "$fails" = 1 ] && [ "$status" -eq 0 ]; then
    fail "the job should have failed, yet exited 0"
elif [ "$fails" = 0 ] && [ "$status" -ne 0 ]; then
    fail "the job exited $status, not 0"
fi
for re in "${expect[@]}"; do
    cat "$log/out" "$log/err" | grep -Eq -- "$re" || fail "no line matches /$re/"
done
for re in "${absent[@]}"; do
    cat "$log/out" "$log/err" | grep -Eq -- "$re" && fail "a line matches /$re/, which must not be"
done

# No orphan: give the ranks a moment to go, then look for any left.
left=
for _ in $(seq 50); do
    # One find for every process's executable: "TARGET /proc/PID".
    left=$(find /proc -mindepth 2 -maxdepth 2 -name exe -printf '%l %h\n' 2>/dev/null |
        awk -v list="${exes[*]}" 'BEGIN { n = split(list, e, " "); for (i = 1; i <= n; i++) want[e[i]] = 1 }
            ($1 in want) { sub("/proc/", "", $2); printf " %s", $2 }')
    left+=$(pgrep -f -- "^mpirun .*$prog" | sed 's/^/ mpirun:/' | tr -d '\n')
    [ -z "$left" ] && break
    sleep 0.1
done
if [ -n "$left" ]; then
    fail "processes of the job are left:$left"
    for p in $left; do kill -9 "${p#mpirun:}" 2>/dev/null; done # only those we found
fi
echo "$name: status $status after $secs s; $([ $failed = 0 ] && echo passed || echo FAILED)" >&2
exit $failed
