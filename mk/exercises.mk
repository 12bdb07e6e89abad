# The graded exercises. Starters are exercises/NN_name.c (students edit
# these), reference solutions exercises/solutions/NN_name.c, checks
# expected_output/exercises/NN_name.txt, statements docs/exercises/.
#
# make exercise-NN    builds the student's exercise NN and checks it: pass,
#                     or fail with a short hint
# make grade          checks every exercise through CTest and prints a table
#                     (exercise, result, hint) ending in "N passed, N failed";
#                     CTest's JUnit report of the run is $(BUILD)/grade/junit.xml.
#                     EXERCISES_FROM=solutions grades the reference solutions
# make grade-selfcheck  every solution passes and every starter fails (the
#                     CTest label "exercises", also part of make check), and
#                     no starter differs from exercises/starters.sha256
# make exercise-hashes  records the starters' sha256 after changing one
#
# An expected file with the line "# grade: tsan" is checked a second time
# with the exercise built with ThreadSanitizer, which sees the data races
# that no output can show. Those builds live in $(BUILD)/exercises/tsan/.

EXERCISES_FROM ?= exercises
TSAN_CC        ?= $(CC)

EX_NAMES    := $(basename $(notdir $(wildcard exercises/[0-9][0-9]_*.c)))
EX_TSAN     := $(basename $(notdir $(shell grep -l '^\# grade: tsan' \
                   $(wildcard expected_output/exercises/*.txt) /dev/null)))
EX_BIN      := $(EX_NAMES:%=$(BUILD)/exercises/%)
EX_SOL_BIN  := $(EX_NAMES:%=$(BUILD)/exercises/solutions/%)
EX_TSAN_BIN := $(EX_TSAN:%=$(BUILD)/exercises/tsan/%) \
               $(EX_TSAN:%=$(BUILD)/exercises/solutions/tsan/%)

# The pool and the helpers, built once more with ThreadSanitizer.
EX_TSAN_LIB   := $(BUILD)/exercises/tsan/libcommon.a
EX_TSAN_OBJ   := $(COMMON_SRC:%.c=$(BUILD)/exercises/tsan/%.o)
EX_TSAN_FLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wpedantic $(WERROR) \
                 -O1 -g -pthread -fsanitize=thread -Icommon

.PHONY: grade grade-selfcheck exercise-hashes

all: $(EX_BIN) $(EX_SOL_BIN) $(EX_TSAN_BIN)

$(EX_BIN) $(EX_SOL_BIN): %: %.o $(BUILD)/libcommon.a
	$(CC) $(LDFLAGS) $^ -o $@

$(EX_TSAN_OBJ): $(BUILD)/exercises/tsan/%.o: %.c $(wildcard common/*.h)
	@mkdir -p $(dir $@)
	$(TSAN_CC) $(EX_TSAN_FLAGS) -c $< -o $@

$(EX_TSAN_LIB): $(EX_TSAN_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/exercises/tsan/%: exercises/%.c $(EX_TSAN_LIB) $(wildcard common/*.h)
	@mkdir -p $(dir $@)
	$(TSAN_CC) $(EX_TSAN_FLAGS) $< $(EX_TSAN_LIB) -o $@

$(BUILD)/exercises/solutions/tsan/%: exercises/solutions/%.c $(EX_TSAN_LIB) $(wildcard common/*.h)
	@mkdir -p $(dir $@)
	$(TSAN_CC) $(EX_TSAN_FLAGS) $< $(EX_TSAN_LIB) -o $@

# The self-check tests come from scripts/ctest_exercises.sh.
$(BUILD)/CTestTestfile.cmake: $(wildcard exercises/*.c exercises/solutions/*.c \
                                        expected_output/exercises/*.txt)

# exercise-03: builds only exercise 03 (a broken one elsewhere does not
# stop it), then checks it.
exercise-%: filecheck
	@name=$(filter $*_%,$(EX_NAMES)); \
	test -n "$$name" || { echo "no exercise $* (there are: $(EX_NAMES))" >&2; exit 2; }; \
	tsan=; case " $(EX_TSAN) " in *" $$name "*) tsan=$(BUILD)/exercises/tsan/$$name ;; esac; \
	$(MAKE) -s --no-print-directory $(BUILD)/exercises/$$name $$tsan || exit 2; \
	scripts/check_exercise.sh $${tsan:+--tsan $$tsan} \
	    $(BUILD)/exercises/$$name expected_output/exercises/$$name.txt

grade: filecheck
	@MAKE="$(MAKE)" JOBS="$(JOBS)" CTEST="$(CTEST)" scripts/grade.sh $(BUILD) $(EXERCISES_FROM)

grade-selfcheck: all filecheck
	cd $(BUILD) && GRADE_STRICT=1 $(CTEST) -j$(JOBS) --output-on-failure -L exercises

exercise-hashes:
	sha256sum exercises/[0-9][0-9]_*.c > exercises/starters.sha256
