#!/usr/bin/env bash
# mpirun.sh - runs one program of the MPI build as an MPI job: rank 0 is the
# parent, ranks 1 .. N-1 its workers. Usage:
#     scripts/mpirun.sh PROGRAM [ARGS...]
# MPI_NP (default 3) is the number of ranks. MPI_HOSTS runs them across
# machines: a hostfile's path, or a host list such as "a:2,b:2" (mpirun's
# --host). Without it every rank runs here, oversubscribed if need be.
set -u
[ $# -ge 1 ] || { echo "usage: $0 PROGRAM [ARGS...]" >&2; exit 2; }
if ! command -v mpirun >/dev/null 2>&1; then
    echo "mpirun.sh: mpirun was not found; make mpi-tools (or scripts/ensure_tools.sh mpi) installs Open MPI" >&2
    exit 2
fi
# Open MPI refuses root unless both are set; only then, and only here.
if [ "$(id -u)" = 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
np=${MPI_NP:-3}
hosts=()
if [ -n "${MPI_HOSTS:-}" ]; then
    if [ -f "$MPI_HOSTS" ]; then hosts=(--hostfile "$MPI_HOSTS"); else hosts=(--host "$MPI_HOSTS"); fi
fi
# --oversubscribe: more ranks than cores is fine for lessons that mostly
# sleep; each idle rank sleeps rather than spins (common/pool_mpi.c).
exec mpirun --oversubscribe -np "$np" "${hosts[@]}" "$@"
