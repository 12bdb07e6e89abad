#!/bin/sh
# The benchmark's smoke test: runs pool_bench --quick and checks that it ran
# every case and printed sane numbers. No thresholds: targets may be missed.
# usage: smoke.sh PATH/TO/pool_bench PATH/TO/pool_bench.py
set -u
bench=$1 script=$2
out=$(timeout 240 "$bench" --quick --script "$script" 2>&1)
rc=$?
printf '%s\n' "$out"
fail() { echo "bench smoke: $*" >&2; exit 1; }
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
         '^targets: [0-9]+ met, [0-9]+ not met'; do
    printf '%s\n' "$out" | grep -Eq "$r" || fail "no row matching /$r/"
done

# With python3 present the Python column must be filled in; without it the
# program must say the comparison was skipped.
if command -v python3 >/dev/null 2>&1; then
    printf '%s\n' "$out" | grep -q 'multiprocessing.Pool (fork start method)' ||
        fail "python3 is here but the comparison did not run"
    n=$(printf '%s\n' "$out" | grep -E '^[1-7]  ' | grep -c ' - ') || true
    [ "$n" -eq 0 ] || fail "$n case rows lack a figure"
else
    printf '%s\n' "$out" | grep -q 'Python comparison skipped' ||
        fail "python3 is missing but the table does not say the comparison was skipped"
fi
echo "bench smoke: all rows present"
