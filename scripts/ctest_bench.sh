# Sourced by scripts/gen_ctest.sh: the benchmark's smoke test, with tiny
# sizes and no thresholds (the benchmark is never a timed test).
test_line bench_smoke 300 bench "$src/bench/smoke.sh" "$bin/bench/pool_bench" "$src/bench/pool_bench.py"
# Its MPI rows, from the MPI build's program (make mpi builds it in
# build/mpi); skipped (77) without it or without Open MPI.
test_line bench_smoke_mpi 300 "bench;mpi;nosan" "$src/bench/smoke.sh" --mpi "$bin/bench/pool_bench" "$src/build/mpi/bench/pool_bench_mpi"
echo "set_tests_properties(bench_smoke_mpi PROPERTIES SKIP_RETURN_CODE 77)"
# And that the smoke tests fail on pool_bench built with each of
# bench/mutants/*.patch: the mpi_* ones meet the MPI smoke test (skipped
# without Open MPI), the others the plain one.
test_line bench_smoke_mutants 600 "bench;mpi;nosan" "$src/bench/smoke_mutants.sh" "$src/build/mpi/bench/pool_bench_mpi"
echo "set_tests_properties(bench_smoke_mutants PROPERTIES SKIP_RETURN_CODE 77)"
