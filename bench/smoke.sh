#!/bin/sh
# The benchmark's smoke test: runs pool_bench --quick and checks that it ran
# every case and printed sane numbers. No thresholds: targets may be missed.
# usage: smoke.sh PATH/TO/pool_bench PATH/TO/pool_bench.py
#        smoke.sh --mpi PATH/TO/pool_bench PATH/TO/pool_bench_mpi
# The first runs every case but MPI's; the second only the MPI rows (label
# mpi): each has a figure that fits in the run's elapsed time, and a
# missing, a silent and a hung MPI program each get the verdict they
# should. It exits 77 (skipped) without Open MPI or the MPI build.
# bench/smoke_mutants.sh shows that it fails on broken pool_bench builds.
set -u
here=$(cd "$(dirname "$0")" && pwd)
mpirun_sh=$here/../scripts/mpirun.sh
fail() { echo "bench smoke: $*" >&2; exit 1; }

if [ "${1:-}" = --mpi ]; then
    bench=$2 mpi_bench=$3
    if ! command -v mpirun >/dev/null 2>&1 || [ ! -x "$mpi_bench" ]; then
        echo "bench smoke: skipped: no mpirun, or no $mpi_bench (make mpi)"
        exit 77
    fi
    # The real program: both rows get a figure, and the note its details.
    t0=$(date +%s.%N)
    out=$(timeout 120 "$bench" --quick --only mpi --mpirun "$mpirun_sh" \
          --mpi-bench "$mpi_bench" 2>&1)
    rc=$?
    wall=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
    printf '%s\n' "$out"
    [ "$rc" -eq 0 ] || fail "pool_bench --only mpi exited with status $rc"
    for r in '^2m +the same over MPI, np 3 +us/task +[0-9]' \
             '^4m +the same over MPI, np 3 +items/s +[0-9]' \
             'round trip: MPI [0-9.]+ us, pipes - us' \
             'after 20 ms idle: MPI [0-9.]+ us' \
             'CPU time per task, case 2m: rank 0 [0-9.]+ us \(' \
             'the worker ranks [0-9.]+ us'; do
        printf '%s\n' "$out" | grep -Eq "$r" || fail "no line matching /$r/"
    done
    # What a figure says was timed must fit in the run: reps x tasks x
    # us/task, and reps x items / (items/s), each at most the elapsed time.
    printf '%s\n' "$out" | awk -v wall="$wall" '
        /^pool benchmark:/ { for (i = 1; i <= NF; i++) if ($i == "median") reps = $(i + 2) }
        /^2  apply_async/ { split($0, a, ","); tasks = a[2] + 0 }
        /^4  map [0-9]+ items/ { items = $3 }
        /^2m / { us = $(NF - 6) } /^4m / { ips = $(NF - 6) }
        END {
            if (!reps || !tasks || !items || !us || !ips) { print "unparsed"; exit 1 }
            apply_s = reps * tasks * us / 1e6; map_s = reps * items / ips
            if (apply_s > wall || map_s > wall) {
                printf "2m says %.3g s, 4m %.3g s, in a run of %.3g s\n", apply_s, map_s, wall
                exit 1
            }
        }' || fail "the MPI rows' figures do not fit in the run's elapsed time"
    # Known-wrong programs: each must be told apart from a real run.
    tmp=$(mktemp -d) || fail "mktemp failed"
    trap 'rm -rf "$tmp"' EXIT
    printf '#!/bin/sh\necho "no figures here"\n' >"$tmp/silent"
    # It hangs while mpirun lives, 90 s at most: unlike an MPI program, a
    # script would outlive an mpirun that timeout(1) ended.
    printf '#!/bin/sh\ni=0\nwhile [ $i -lt 90 ] && kill -0 $PPID 2>/dev/null; do\n    sleep 1; i=$((i + 1))\ndone\n' >"$tmp/hangs"
    chmod +x "$tmp/silent" "$tmp/hangs"
    check_wrong() { # program, timeout, status wanted, row text wanted
        # Into a file, not $(...): a job left running would hold a pipe open.
        timeout 60 "$bench" --quick --only mpi --mpirun "$mpirun_sh" --mpi-bench "$1" \
            --timeout "$2" >"$tmp/out" 2>&1
        s=$?
        o=$(cat "$tmp/out")
        [ "$s" -eq "$3" ] || fail "with $1: status $s, wanted $3"
        for id in 2m 4m; do
            printf '%s\n' "$o" | grep -Eq "^$id +MPI: $4 .* - " ||
                fail "with $1: row $id does not say \"MPI: $4\" with no figure"
        done
    }
    check_wrong "$tmp/missing" 30 0 'not built \(make mpi\)'
    check_wrong "$tmp/silent" 30 1 'failed'
    start=$(date +%s)
    check_wrong "$tmp/hangs" 3 1 'failed'
    [ $(($(date +%s) - start)) -lt 40 ] || fail "a hung MPI program was not stopped in time"
    echo "bench smoke: the MPI rows are right, and wrong programs are caught"
    exit 0
fi

bench=$1 script=$2
out=$(timeout 240 "$bench" --quick --no-mpi --script "$script" 2>&1)
rc=$?
printf '%s\n' "$out"
[ "$rc" -eq 0 ] || fail "pool_bench exited with status $rc"

# Every row, with a number in the C column (checked as a digit right after
# the unit).
for r in '^1  start \+ stop .* ms +[0-9]' \
         '^2  apply_async \+ callback.* us/task +[0-9]' \
         '^3  map chunksize 1.* us/task +[0-9]' \
         '^4  map [0-9]+ items.* items/s +[0-9]' \
         '^5  round trip of .* MB/s +[0-9]' \
         '^6  CPU-bound .* x +[0-9]' \
         '^7  peak RSS of case 4.* MiB +[0-9]' \
         '^F1 pipe round trip.* us +[0-9]' \
         '^F2 pipelined .* us/msg +[0-9]' \
         '^F3 fork \+ exit \+ wait.* us +[0-9]' \
         '^F4 pipe echo of.* MB/s +[0-9]' \
         '^4f +faults per run, parent \+ workers +faults +[0-9]' \
         '^ +the same alone: first run, fresh +faults +[0-9]' \
         '^5c +the same by copy \(POOL_SHM_NEVER\) +MB/s +[0-9]' \
         '^9  [0-9.]+ MiB round trip, fresh process +MB/s +[0-9]' \
         '^7  case 4 alone: first run, fresh +item +[0-9]' \
         '^ +encode: pool_encode\(\).* [0-9.]+ +[0-9]+%$' \
         '^ +the map \(case 4\): wall time per item +[0-9]' \
         '^2m +MPI: skipped .* - ' \
         '^4m +MPI: skipped .* - ' \
         '^targets: [0-9]+ met, [0-9]+ not met'; do
    printf '%s\n' "$out" | grep -Eq "$r" || fail "no row matching /$r/"
done

# With python3 present the Python column must be filled in; without it the
# program must say the comparison was skipped.
if command -v python3 >/dev/null 2>&1; then
    printf '%s\n' "$out" | grep -q 'multiprocessing.Pool (fork start method)' ||
        fail "python3 is here but the comparison did not run"
    # The main table only: the cost block below has "-" where none applies.
    n=$(printf '%s\n' "$out" | sed '/^what a run cost/,$d' | grep -E '^[1-7]  ' |
        grep -c ' - ') || true
    [ "$n" -eq 0 ] || fail "$n case rows lack a figure"
else
    printf '%s\n' "$out" | grep -q 'Python comparison skipped' ||
        fail "python3 is missing but the table does not say the comparison was skipped"
fi
# The first map in a fresh process must fault in its workers: a scan of
# /proc that finds no worker reads 0 here.
printf '%s\n' "$out" | awk '/^7  case 4 alone: first run, fresh +item / {
        found = 1; ok = $(NF - 3) + 0 > 0 && $(NF - 2) + 0 > 0 }
    END { exit !(found && ok) }' || fail "case 7's run shows no page faults of the parent or the workers"

# The split's sum is the sum of its five stages (to the rounding of the
# printed figures).
printf '%s\n' "$out" | awk '
    /^case 4 split/ { on = 1; next }
    on && /^   (encode|pipe|decode|task call|result placement):/ {
        v = $NF ~ /%$/ ? $(NF - 1) : $NF; sum += v; n++ }
    on && /^   sum of the stages/ { total = $NF }
    END {
        if (n != 5 || total == "") { print "split: " n " stages, sum \"" total "\""; exit 1 }
        d = total - sum; if (d < 0) d = -d
        if (d > 0.01 * (total < 0 ? -total : total) + 0.01) {
            printf "split: the stages add up to %g, the sum line says %g\n", sum, total; exit 1
        }
    }' || fail "the split's sum line is not the sum of its stages"

# A row is marked noisy exactly when its spread is above 30% (a printed 30%
# may be either: the percentage is rounded).
printf '%s\n' "$out" | awk '
    /^#  case .* spread/ { on = 1; next } /^$/ { on = 0 }
    on && match($0, / >?[0-9]+%/) {
        p = substr($0, RSTART + 1, RLENGTH - 2); noisy = $0 ~ / noisy$/
        p = p ~ /^>/ ? 1000 : p + 0
        if ((p > 30 && !noisy) || (p < 30 && noisy)) { print "row: " $0; bad = 1 }
    }
    END { exit bad }' || fail "a row's noisy mark does not follow its spread"

# The load warning is there exactly when the load at the start was above 0.5.
load=$(printf '%s\n' "$out" | sed -n 's/^load average (1 min) \([0-9.]*\) before.*/\1/p')
[ -n "$load" ] || fail "no load average line"
warned=0
printf '%s\n' "$out" | grep -q '^WARNING: the load average' && warned=1
over=$(awk -v l="$load" 'BEGIN { print (l > 0.5) ? 1 : 0 }')
[ "$warned" -eq "$over" ] || fail "load $load at the start, yet the warning says otherwise"
echo "bench smoke: all rows present"
