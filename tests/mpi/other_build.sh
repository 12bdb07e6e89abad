#!/usr/bin/env bash
# other_build.sh - runs mpi_other_build as an MPMD job whose worker ranks
# run another build of it. Usage: tests/mpi/other_build.sh MPI_BUILD_DIR
# (e.g. build/mpi, holding libcommon.a and tests/mpi_other_build). It builds
# the variant (-DVARIANT=1: another build id) into a temporary folder with
# the MPI build's flags, then runs rank 0 from the usual build and ranks 1-2
# from the variant.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
mpi=$(cd "${1:?usage: $0 MPI_BUILD_DIR}" && pwd) || exit 2
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
variant=$tmp/mpi_other_build_variant
if ! timeout 120 mpicc -std=c11 -D_GNU_SOURCE -O2 -g -pthread -I"$src/common" -DPOOL_MPI \
    -DVARIANT=1 "$here/mpi_other_build.c" "$mpi/libcommon.a" -o "$variant"; then
    echo "other_build.sh: the variant does not build" >&2
    exit 1
fi
exec "$here/run_mpi_test.sh" --np 1 --bound 30 --absent 'signal|Segmentation' \
    "$mpi/tests/mpi_other_build" : -np 2 "$variant"
