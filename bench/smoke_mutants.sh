#!/bin/sh
# Shows that bench/smoke.sh --mpi has teeth: each bench/mutants/*.patch
# breaks bench/pool_bench.c's MPI rows on purpose, and the smoke test must
# fail on the program built from it, and pass on the unpatched copy built
# the same way. Exits 77 (skipped) without Open MPI or the MPI program.
# usage: smoke_mutants.sh PATH/TO/pool_bench_mpi [WORK_DIR]
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
mpi_bench=$1
work=${2:-$(mktemp -d)} || exit 1
fail() { echo "bench mutants: $*" >&2; exit 1; }
if ! command -v mpirun >/dev/null 2>&1 || [ ! -x "$mpi_bench" ]; then
    echo "bench mutants: skipped: no mpirun, or no $mpi_bench (make mpi)"
    exit 77
fi
mkdir -p "$work/lib" || fail "cannot make $work"
cc=${CC:-cc}
flags="-std=c11 -D_GNU_SOURCE -O1 -pthread -I$src/common -I$src/bench"
# The pool without its MPI files, and the bench's shared cases, once:
# pool_bench links them in.
for c in "$src"/common/*.c "$src/bench/bench_common.c"; do
    case $c in */pool_mpi*) continue ;; esac
    $cc $flags -c "$c" -o "$work/lib/$(basename "$c" .c).o" || fail "cannot build $c"
done
build() { # name patch-or-empty
    cp "$src/bench/pool_bench.c" "$work/$1.c" || fail "cannot copy pool_bench.c"
    if [ -n "$2" ]; then
        (cd "$work" && sed 's|bench/pool_bench.c|'"$1"'.c|' "$2" | patch -s -p1) ||
            fail "$2 does not apply"
    fi
    $cc $flags "$work/$1.c" "$work"/lib/*.o -lm -o "$work/$1" || fail "cannot build $1"
}
build control ""
"$here/smoke.sh" --mpi "$work/control" "$mpi_bench" >"$work/control.log" 2>&1 ||
    fail "the unpatched copy fails the smoke test (see $work/control.log)"
caught=0 total=0
for m in "$here"/mutants/*.patch; do
    name=$(basename "$m" .patch)
    total=$((total + 1))
    build "$name" "$m"
    "$here/smoke.sh" --mpi "$work/$name" "$mpi_bench" >"$work/$name.log" 2>&1
    status=$?
    if [ "$status" -eq 1 ]; then
        echo "caught: $name: $(grep '^bench smoke:' "$work/$name.log" | tail -1)"
        caught=$((caught + 1))
    else
        echo "NOT CAUGHT: $name (smoke status $status, see $work/$name.log)"
    fi
done
[ "$caught" -eq "$total" ] || fail "$caught of $total mutants caught"
echo "bench mutants: all $total caught"
