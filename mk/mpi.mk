# The MPI build: the same sources with mpicc and -DPOOL_MPI (MPI=1), in
# build/mpi, run as MPI jobs by scripts/mpirun.sh. `make mpi` calls make
# again with those variables, so the object rules are the Makefile's.
## make mpi             build the lessons, tests/mpi/ and bench/*_mpi.c for Open MPI into build/mpi/
## make run-mpi         run every lesson that applies as an MPI job, each checked (MPI_HOSTS=hostfile: across machines)
## make run-mpi-NN      run lesson NN as an MPI job, checked, e.g. make run-mpi-04
## make mpi-tools       install Open MPI (openmpi-bin, libopenmpi-dev) if missing

# build/mpi, or BUILD's mpi/: where scripts/ctest_mpi.sh looks for it.
MPI_BUILD = $(BUILD)/mpi
MPICC     ?= mpicc

# Every lesson; every tests/mpi/mpi_x.c as build/mpi/tests/mpi_x; every
# bench/x_mpi.c as build/mpi/bench/x_mpi.
mpi_targets = $(patsubst lessons/%.c,$(1)/lessons/%,$(wildcard lessons/[0-9][0-9]_*.c)) \
              $(patsubst tests/mpi/%.c,$(1)/tests/%,$(wildcard tests/mpi/*.c)) \
              $(patsubst bench/%.c,$(1)/bench/%,$(wildcard bench/*_mpi.c))

.PHONY: mpi run-mpi mpi-tools

mpi:
	@command -v $(MPICC) >/dev/null 2>&1 || \
	    { echo "make mpi: $(MPICC) was not found; make mpi-tools installs Open MPI" >&2; exit 1; }
	@$(MAKE) --no-print-directory BUILD=$(MPI_BUILD) CC=$(MPICC) MPI=1 $(MPI_BUILD)/mpi-programs

run-mpi: mpi
	@scripts/run_mpi_lessons.sh $(MPI_BUILD)

# Shorter stem than the Makefile's run-%, so make picks this one.
run-mpi-%: mpi
	@scripts/run_mpi_lessons.sh $(MPI_BUILD) $*

mpi-tools:
	@scripts/ensure_tools.sh mpi

# Rules the inner make (MPI=1) uses. One target for all, so that make
# says nothing when everything is up to date.
.PHONY: $(BUILD)/mpi-programs
$(BUILD)/mpi-programs: $(call mpi_targets,$(BUILD))
	@:

# tests/mpi/*.c may use tests/check.h
# and tests/fault/, so they link libfault.a, as tests/ do; the linker
# takes only what they call from it.
$(BUILD)/tests/mpi_%: $(BUILD)/tests/mpi/mpi_%.o $(BUILD)/libfault.a $(BUILD)/libcommon.a
	$(CC) $(LDFLAGS) $^ -o $@

# -Itests: they include "check.h" and "fault/fault.h" as tests/*.c do.
$(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/mpi/*.c)): $(wildcard tests/mpi/*.h)
$(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/mpi/*.c)): CFLAGS += -Itests

# The benchmark needs libm, as bench/pool_bench does.
$(BUILD)/bench/%_mpi: $(BUILD)/bench/%_mpi.o $(BUILD)/bench/bench_common.o $(BUILD)/libcommon.a
	$(CC) $(LDFLAGS) $^ -lm -o $@

# The CTest file lists the MPI lessons (scripts/ctest_mpi.sh), so it is
# remade when their list or their expected files change.
$(BUILD)/CTestTestfile.cmake: $(wildcard expected_output/mpi/* scripts/test_mpi_expected.sh scripts/run_mpi_lessons.sh)
