# Builds everything into $(BUILD); the source folders stay clean.
# `make help` lists the targets.

BUILD    ?= build
CC       ?= cc
WERROR   ?=
SANFLAGS ?=
OPT      ?= -O2
CFLAGS   := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wpedantic $(WERROR) \
            $(OPT) -g -pthread $(SANFLAGS) -Icommon
LDFLAGS  := -pthread $(SANFLAGS)
CTEST    ?= ctest
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)

# FileCheck comes with Debian's llvm-N-tools package.
FILECHECK ?= $(firstword $(wildcard /usr/lib/llvm-*/bin/FileCheck) \
                         $(shell command -v FileCheck 2>/dev/null))
export FILECHECK

COMMON_SRC := $(wildcard common/*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/%.o)
LESSONS    := $(patsubst lessons/%.c,$(BUILD)/lessons/%,$(wildcard lessons/[0-9][0-9]_*.c))
TESTS      := $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/test_*.c tests/fault_*.c))
PROGRAMS   := $(LESSONS) $(TESTS)

.PHONY: all run check memcheck sanitize tsan helgrind mutants clean help filecheck
.DEFAULT_GOAL := all
.SECONDARY:

all: $(PROGRAMS) $(BUILD)/CTestTestfile.cmake

$(BUILD)/%.o: %.c $(wildcard common/*.h) $(wildcard tests/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libcommon.a: $(COMMON_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/lessons/%: $(BUILD)/lessons/%.o $(BUILD)/libcommon.a
	$(CC) $(LDFLAGS) $^ -o $@

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(BUILD)/libcommon.a
	$(CC) $(LDFLAGS) $^ -o $@

# CTest reads this file directly, so no CMakeLists.txt is needed.
$(BUILD)/CTestTestfile.cmake: scripts/gen_ctest.sh $(wildcard scripts/ctest_*.sh) \
                              $(wildcard lessons/*.c tests/*.c expected_output/*) Makefile
	@mkdir -p $(BUILD)
	scripts/gen_ctest.sh $(BUILD) > $@

filecheck:
	@test -x "$(FILECHECK)" || { echo "FileCheck not found: install Debian's llvm-14-tools (apt-get install llvm-14-tools)" >&2; exit 1; }

# Runs every lesson in order, each under a header.
run: $(LESSONS)
	@for l in $(LESSONS); do \
	    echo "==== $$(basename $$l) ===="; \
	    timeout 30 $$l || echo "(exit status $$?)"; echo; \
	done

run-%: $(LESSONS)
	@l=$$(ls $(BUILD)/lessons/$*_* 2>/dev/null | grep -v '\.o$$' | head -1); \
	test -n "$$l" || { echo "no lesson $*" >&2; exit 1; }; \
	echo "==== $$(basename $$l) ===="; timeout 30 $$l

check: all filecheck
	cd $(BUILD) && $(CTEST) -j$(JOBS) --output-on-failure -LE memcheck

memcheck: all filecheck
	cd $(BUILD) && $(CTEST) -j$(JOBS) --output-on-failure -L memcheck

# The sanitizer builds live in their own folders and run the same tests.
sanitize:
	$(MAKE) BUILD=build/asan CC=clang OPT=-O1 \
	    SANFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" all
	cd build/asan && POOL_NO_RSS_CHECK=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:handle_segv=0 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    $(CTEST) -j$(JOBS) --output-on-failure -LE 'memcheck|nosan'

tsan:
	$(MAKE) BUILD=build/tsan CC=clang OPT=-O1 SANFLAGS="-fsanitize=thread" all
	cd build/tsan && POOL_NO_RSS_CHECK=1 TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:handle_segv=0 \
	    $(CTEST) -j$(JOBS) --output-on-failure -LE 'memcheck|nosan'

-include $(wildcard mk/*.mk)

clean:
	rm -rf build

help:
	@echo "make            build the lessons and tests into $(BUILD)/"
	@echo "make run        run every lesson in order"
	@echo "make run-NN     run lesson NN, e.g. make run-03"
	@echo "make check      build, then run every unit, fault and lesson test"
	@echo "make memcheck   run the tests under Valgrind, children included"
	@echo "make sanitize   run the tests under ASan + UBSan"
	@echo "make tsan       run the tests under ThreadSanitizer"
	@echo "make mutants    show that the lesson checks catch planted bugs"
	@echo "make bench      compare the pool with Python's multiprocessing.Pool"
	@echo "make clean      remove $(BUILD)/"
