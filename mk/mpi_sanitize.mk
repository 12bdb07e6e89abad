# The MPI build under the sanitizers: the same lessons, built with mpicc and
# ASan + UBSan, or TSan, each run as an MPI job and checked as make run-mpi
# checks them. Open MPI itself is not built with them: its reports are
# suppressed (tests/sanitizers/mpi_tsan.supp says why, line by line), and
# LeakSanitizer is off, since Open MPI unloads its components at
# MPI_Finalize and their leaks have no symbols left to suppress them by; the
# pool's own leaks are the fork build's make sanitize and make memcheck's.
## make mpi-sanitize    build the MPI build with ASan + UBSan in build/mpi-asan/ and check every lesson that applies
## make mpi-tsan        build the MPI build with ThreadSanitizer in build/mpi-tsan/ and check every lesson that applies

.PHONY: mpi-sanitize mpi-tsan

mpi-sanitize: mpi-tools
	@$(MAKE) --no-print-directory BUILD=build/mpi-asan CC=$(MPICC) MPI=1 OPT=-O1 \
	    SANFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    build/mpi-asan/mpi-programs
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    scripts/run_mpi_lessons.sh build/mpi-asan

mpi-tsan: mpi-tools
	@$(MAKE) --no-print-directory BUILD=build/mpi-tsan CC=$(MPICC) MPI=1 OPT=-O1 \
	    SANFLAGS="-fsanitize=thread" build/mpi-tsan/mpi-programs
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$(CURDIR)/tests/sanitizers/mpi_tsan.supp \
	    scripts/run_mpi_lessons.sh build/mpi-tsan
