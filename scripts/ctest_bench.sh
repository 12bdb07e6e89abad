# Sourced by scripts/gen_ctest.sh: the benchmark's smoke test, with tiny
# sizes and no thresholds (the benchmark is never a timed test).
test_line bench_smoke 300 bench "$src/bench/smoke.sh" "$bin/bench/pool_bench" "$src/bench/pool_bench.py"
