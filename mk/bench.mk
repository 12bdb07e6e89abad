# The benchmark: the pool against Python's multiprocessing.Pool and the pipe
# floor. `make bench` prints one table; `make bench-quick` uses tiny sizes.
## make bench           compare the pool with Python's multiprocessing.Pool (slow; one table)
## make bench-quick     the same benchmark with tiny sizes
# It is never a timed test: CTest runs it only as a smoke test (label bench).
# Its MPI rows come from build/mpi/bench/pool_bench_mpi, which make mpi
# builds; bench builds it too when mpicc is here, and without mpicc those
# rows say "MPI: not built (make mpi)" and the rest still runs.

BENCH_BIN     := $(BUILD)/bench/pool_bench
BENCH_ARGS    ?=
BENCH_TIMEOUT ?= 1200

.PHONY: bench bench-quick

all: $(BENCH_BIN)

# Both benchmark programs time their shared cases with bench/bench_common.c.
$(BENCH_BIN): $(BUILD)/bench/pool_bench.o $(BUILD)/bench/bench_common.o $(BUILD)/libcommon.a
	$(CC) $(LDFLAGS) $^ -lm -o $@

# The MPI bench alone, by the MPI build's flags (the Makefile's MPI=1).
MPI_BENCH_BIN := build/mpi/bench/pool_bench_mpi
MPICC         ?= mpicc
BUILD_MPI_BENCH = @if command -v $(MPICC) >/dev/null 2>&1; then \
	    $(MAKE) --no-print-directory BUILD=build/mpi CC=$(MPICC) MPI=1 $(MPI_BENCH_BIN); \
	else echo "make bench: no $(MPICC), so no MPI rows (Open MPI is not installed)"; fi

# With MPI=1 its pool runs on MPI ranks. Built plainly (make
# build/bench/pool_bench_mpi), the same program runs the same cases on a
# pipe pool, to compare the two (docs/performance.md).
$(BUILD)/bench/pool_bench_mpi: $(BUILD)/bench/pool_bench_mpi.o $(BUILD)/bench/bench_common.o \
                               $(BUILD)/libcommon.a
	$(CC) $(LDFLAGS) $^ -lm -o $@

bench: $(BENCH_BIN)
	$(BUILD_MPI_BENCH)
	timeout $(BENCH_TIMEOUT) $(BENCH_BIN) --script bench/pool_bench.py --mpi-bench $(MPI_BENCH_BIN) $(BENCH_ARGS)

bench-quick: $(BENCH_BIN)
	$(BUILD_MPI_BENCH)
	timeout 300 $(BENCH_BIN) --quick --script bench/pool_bench.py --mpi-bench $(MPI_BENCH_BIN) $(BENCH_ARGS)

# Every bench object follows the header both programs share.
$(patsubst bench/%.c,$(BUILD)/bench/%.o,$(wildcard bench/*.c)): bench/bench_common.h
