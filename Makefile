# Builds everything into $(BUILD); the source folders stay clean.
# `make help` lists the targets.

BUILD    ?= build
CC       ?= cc
WERROR   ?=
SANFLAGS ?=
OPT      ?= -O2
MPI      ?=
CFLAGS   := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wpedantic $(WERROR) \
            $(OPT) -g -pthread $(SANFLAGS) -Icommon $(if $(MPI),-DPOOL_MPI)
# -z now binds every symbol at start-up, once, in the program: the fork
# server and each worker, copies of it, then never write the copied
# symbol table, and a pool starts with a few dozen page faults fewer.
LDFLAGS  := -pthread $(SANFLAGS) -Wl,-z,now
CTEST    ?= ctest
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)

# FileCheck comes with Debian's llvm-N-tools package. scripts/ensure_tools.sh
# is the one place that finds it, for this file and for the runner alike.
ifeq ($(origin FILECHECK),undefined)
FILECHECK := $(shell scripts/ensure_tools.sh --print-filecheck)
endif
export FILECHECK

# pool_mpi*.c are the MPI build's alone (MPI=1, mk/mpi.mk).
COMMON_SRC := $(filter-out $(if $(MPI),,common/pool_mpi%.c),$(wildcard common/*.c))
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/%.o)
LESSONS    := $(patsubst lessons/%.c,$(BUILD)/lessons/%,$(wildcard lessons/[0-9][0-9]_*.c))
TESTS      := $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/test_*.c tests/fault_*.c))
PROGRAMS   := $(LESSONS) $(TESTS)

.PHONY: all run check memcheck sanitize tsan helgrind mutants clean help filecheck tools
.DEFAULT_GOAL := all
.SECONDARY:

# `make help` prints every "## make ..." line of this file and of mk/*.mk,
# so each file documents its own targets beside them. Targets that scripts
# call, not people, are listed in HELP_INTERNAL instead; the test help_lists_
# every_target (scripts/check_make_help.sh) fails if a target is in neither.
HELP_INTERNAL := filecheck exercise-deps

## make all             build the lessons, tests and reference solutions into build/
all: $(PROGRAMS) $(BUILD)/CTestTestfile.cmake

$(BUILD)/%.o: %.c $(wildcard common/*.h) $(wildcard tests/*.h tests/fault/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libcommon.a: $(COMMON_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/lessons/%: $(BUILD)/lessons/%.o $(BUILD)/libcommon.a
	$(CC) $(LDFLAGS) $^ -o $@

# The tests' helpers (tests/fault/), built with the same flags, so
# that a sanitizer build's tests get a sanitizer build of them.
$(BUILD)/libfault.a: $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/fault/*.c))
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(BUILD)/libfault.a $(BUILD)/libcommon.a
	$(CC) $(LDFLAGS) $^ -o $@

# test_trace runs tests/trace_expect.py, found through this.
$(BUILD)/tests/test_trace.o: CFLAGS += -DTESTS_DIR='"$(CURDIR)/tests"'

# CTest reads this file directly, so no CMakeLists.txt is needed.
$(BUILD)/CTestTestfile.cmake: scripts/gen_ctest.sh $(wildcard scripts/ctest_*.sh) \
                              $(wildcard lessons/*.c tests/*.c expected_output/*) Makefile
	@mkdir -p $(BUILD)
	scripts/gen_ctest.sh $(BUILD) > $@

# Both install what is missing (as root or through sudo -n), or say how.
filecheck:
	@scripts/ensure_tools.sh filecheck

## make tools           install what the tests need: ctest, FileCheck, valgrind, clang's TSan runtime, Open MPI
tools:
	@CTEST="$(CTEST)" scripts/ensure_tools.sh ctest filecheck valgrind tsan mpi

## make run             run every lesson in order
run: $(LESSONS)
	@for l in $(LESSONS); do \
	    echo "==== $$(basename $$l) ===="; \
	    timeout 30 $$l || echo "(exit status $$?)"; echo; \
	done

## make run-NN          run lesson NN, e.g. make run-03
run-%: $(LESSONS)
	@l=$$(ls $(BUILD)/lessons/$*_* 2>/dev/null | grep -v '\.o$$' | head -1); \
	test -n "$$l" || { echo "no lesson $*" >&2; exit 1; }; \
	echo "==== $$(basename $$l) ===="; timeout 30 $$l

# The exercises' self-check (label selfcheck: every solution, alternative and
# wrong answer) is left to make grade-selfcheck, to keep make check quick.
## make check           set up the tools if missing, build (the MPI build too), then run the tests (not Valgrind's, not the self-check)
check: tools all mpi
	cd $(BUILD) && $(CTEST) -j$(JOBS) --output-on-failure -LE 'memcheck|selfcheck'

## make memcheck        run the tests under Valgrind, forked workers included
memcheck: tools all
	cd $(BUILD) && $(CTEST) -j$(JOBS) --output-on-failure -L memcheck

# The sanitizer builds live in their own folders and run the same tests.
## make sanitize        rebuild with ASan + UBSan in build/asan/ and run the tests
sanitize: tools
	$(MAKE) BUILD=build/asan CC=clang OPT=-O1 \
	    SANFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" all
	cd build/asan && POOL_NO_RSS_CHECK=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:handle_segv=0 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    $(CTEST) -j$(JOBS) --output-on-failure -LE 'memcheck|nosan'

## make tsan            rebuild with ThreadSanitizer in build/tsan/ and run the tests
tsan: tools
	$(MAKE) BUILD=build/tsan CC=clang OPT=-O1 SANFLAGS="-fsanitize=thread" all
	cd build/tsan && POOL_NO_RSS_CHECK=1 TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:handle_segv=0 \
	    $(CTEST) -j$(JOBS) --output-on-failure -LE 'memcheck|nosan'

-include $(wildcard mk/*.mk)

# mk/mutants.mk has no "## make" line of its own yet.
## make mutants         show that the lesson checks and fault tests catch the planted bugs in tests/mutants/

## make clean           remove the build folder: build/, or the one BUILD= names
clean:
	@test -n "$(BUILD)" || { echo "make clean: BUILD is empty" >&2; exit 2; }
	rm -rf -- $(BUILD)

# The exercises' targets first, as learners want them most; a blank line
# between files.
HELP_FILES := Makefile $(wildcard mk/exercises.mk mk/learner.mk) \
              $(filter-out mk/exercises.mk mk/learner.mk,$(sort $(wildcard mk/*.mk)))

## make help            list the targets
help:
	@awk '/^## / { if (FILENAME != last && last != "") print ""; last = FILENAME; \
	               print substr($$0, 4) }' $(HELP_FILES)
