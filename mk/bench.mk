# The benchmark: the pool against Python's multiprocessing.Pool and the pipe
# floor. `make bench` prints one table; `make bench-quick` uses tiny sizes.
## make bench           compare the pool with Python's multiprocessing.Pool (slow; one table)
## make bench-quick     the same benchmark with tiny sizes
# It is never a timed test: CTest runs it only as a smoke test (label bench).

BENCH_BIN     := $(BUILD)/bench/pool_bench
BENCH_ARGS    ?=
BENCH_TIMEOUT ?= 1200

.PHONY: bench bench-quick

all: $(BENCH_BIN)

$(BENCH_BIN): $(BUILD)/bench/pool_bench.o $(BUILD)/libcommon.a
	$(CC) $(LDFLAGS) $^ -lm -o $@

bench: $(BENCH_BIN)
	timeout $(BENCH_TIMEOUT) $(BENCH_BIN) --script bench/pool_bench.py $(BENCH_ARGS)

bench-quick: $(BENCH_BIN)
	timeout 300 $(BENCH_BIN) --quick --script bench/pool_bench.py $(BENCH_ARGS)
