#!/bin/sh
# Shows that bench/smoke.sh has teeth: each bench/mutants/*.patch breaks
# bench/pool_bench.c on purpose, and the smoke test must fail on the program
# built from it, and pass on the unpatched copy built the same way. A
# mutant named mpi_*.patch breaks the MPI rows and meets smoke.sh --mpi;
# the others meet the plain smoke test (--quick, every case but MPI's).
# Without Open MPI or the MPI program the mpi_* mutants are skipped and the
# others still run; it exits 77 (skipped) only when no mutant could run.
# usage: smoke_mutants.sh PATH/TO/pool_bench_mpi [WORK_DIR]
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
mpi_bench=$1
work=${2:-$(mktemp -d)} || exit 1
fail() { echo "bench mutants: $*" >&2; exit 1; }
have_mpi=1
if ! command -v mpirun >/dev/null 2>&1 || [ ! -x "$mpi_bench" ]; then
    echo "bench mutants: no mpirun, or no $mpi_bench (make mpi): the mpi_* mutants are skipped"
    have_mpi=0
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
smoke() { # program mpi-or-plain
    if [ "$2" = mpi ]; then
        "$here/smoke.sh" --mpi "$1" "$mpi_bench"
    else
        "$here/smoke.sh" "$1" "$here/pool_bench.py"
    fi
}
build control ""
smoke "$work/control" plain >"$work/control.log" 2>&1 ||
    fail "the unpatched copy fails the smoke test (see $work/control.log)"
if [ "$have_mpi" -eq 1 ]; then
    smoke "$work/control" mpi >"$work/control-mpi.log" 2>&1 ||
        fail "the unpatched copy fails the MPI smoke test (see $work/control-mpi.log)"
fi
caught=0 total=0
for m in "$here"/mutants/*.patch; do
    name=$(basename "$m" .patch)
    case $name in
        mpi_*) kind=mpi; [ "$have_mpi" -eq 1 ] || continue ;;
        *) kind=plain ;;
    esac
    total=$((total + 1))
    build "$name" "$m"
    smoke "$work/$name" "$kind" >"$work/$name.log" 2>&1
    status=$?
    if [ "$status" -eq 1 ]; then
        echo "caught: $name: $(grep '^bench smoke:' "$work/$name.log" | tail -1)"
        caught=$((caught + 1))
    else
        echo "NOT CAUGHT: $name (smoke status $status, see $work/$name.log)"
    fi
done
[ "$total" -gt 0 ] || { echo "bench mutants: skipped: none could run"; exit 77; }
[ "$caught" -eq "$total" ] || fail "$caught of $total mutants caught"
echo "bench mutants: all $total caught"
