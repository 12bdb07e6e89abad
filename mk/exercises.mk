# The graded exercises. Starters are exercises/NN_name.c (students edit
# these); reference solutions are exercises/solutions/NN_name.c, second
# correct answers in another style exercises/alternative/NN_name.c, and
# known-wrong answers exercises/wrong/NN_what.c. Checks are
# expected_output/exercises/NN_name.txt, statements docs/exercises/.
#
## make exercise-NN     build and check your exercise NN: pass, or fail with a hint (V=1: the whole report)
## make exercise-NN SAN=thread|address   the same under ThreadSanitizer or ASan, its report shown
## make grade           check every exercise and print a table (EXERCISES_FROM=solutions: the solutions)
## make grade-selfcheck every wrong answer fails with its hint, every right answer passes
## make exercise-hashes record the starters' sha256 after changing one on purpose
#
# Every exercise program is linked with the grader (exercises/grader/),
# which watches what the output cannot show: see grader.c. An expected file
# with "# grade: tsan" or "# grade: asan" is also checked with the program
# built with ThreadSanitizer or AddressSanitizer (+UBSan); those builds live
# in tsan/ and asan/ beside the plain one, with the pool built likewise.
#
# The starters are not part of `make all`, so a half-done exercise that does
# not compile stops nothing: its own test builds it and fails alone.

EXERCISES_FROM ?= exercises
TSAN_CC        ?= $(CC)
ASAN_CC        ?= $(CC)

comma := ,
EX_STARTERS := $(wildcard exercises/[0-9][0-9]_*.c)
EX_OURS     := $(wildcard exercises/solutions/[0-9][0-9]_*.c exercises/alternative/[0-9][0-9]_*.c \
                          exercises/wrong/[0-9][0-9]_*.c)
EX_NAMES    := $(basename $(notdir $(EX_STARTERS)))
GRADER_WRAP := $(patsubst %,-Wl$(comma)--wrap=%,$(shell cat exercises/grader/wrap.list))

# The exercise numbers whose check asks for a sanitizer build.
ex_numbers = $(foreach f,$(shell grep -l '^\# grade: $1' $(wildcard expected_output/exercises/*.txt) /dev/null),\
                 $(firstword $(subst _, ,$(notdir $f))))
EX_TSAN_NN := $(call ex_numbers,tsan)
EX_ASAN_NN := $(call ex_numbers,asan)
ex_with = $(foreach s,$2,$(if $(filter $(firstword $(subst _, ,$(notdir $s))),$1),$s))

# ex_out SOURCE FLAVOR: exercises/wrong/03_x.c tsan -> $(BUILD)/exercises/wrong/tsan/03_x
ex_dir = $(patsubst exercises/%,%,$(dir $1))
ex_out = $(BUILD)/exercises/$(call ex_dir,$1)$(if $(filter plain,$2),,$2/)$(basename $(notdir $1))

# Per flavor: compiler, flags, the pool library, the grader object. The
# sanitizer flavors take the Makefile's CFLAGS without its optimisation and
# sanitizer flags, and add their own.
EX_CC_plain    = $(CC)
EX_FLAGS_plain = $(CFLAGS)
EX_LIB_plain   = $(BUILD)/libcommon.a
EX_FLAGS_base  = $(filter-out $(OPT) $(SANFLAGS),$(CFLAGS)) -O1
EX_CC_tsan     = $(TSAN_CC)
EX_FLAGS_tsan  = $(EX_FLAGS_base) -fsanitize=thread
EX_LIB_tsan    = $(BUILD)/exercises/tsan/libcommon.a
EX_CC_asan     = $(ASAN_CC)
EX_FLAGS_asan  = $(EX_FLAGS_base) -fsanitize=address,undefined -fno-omit-frame-pointer \
                 -fno-sanitize-recover=all
EX_LIB_asan    = $(BUILD)/exercises/asan/libcommon.a
ex_grader      = $(BUILD)/exercises/$(if $(filter plain,$1),,$1/)grader.o

# One link rule per program and flavor.
define ex_program
$(call ex_out,$1,$2): $1 $(call ex_grader,$2) $(EX_LIB_$2) $(wildcard common/*.h) exercises/grader/wrap.list
	@mkdir -p $$(dir $$@)
	@echo "$$(EX_CC_$2) $$(EX_FLAGS_$2) $$< $(call ex_grader,$2) $(EX_LIB_$2) (grader wraps) -o $$@"
	@$$(EX_CC_$2) $$(EX_FLAGS_$2) $$< $(call ex_grader,$2) $(EX_LIB_$2) $$(GRADER_WRAP) -o $$@
endef
EX_ALL_SRC := $(EX_STARTERS) $(EX_OURS)
$(foreach s,$(EX_ALL_SRC),$(eval $(call ex_program,$s,plain)))
$(foreach s,$(call ex_with,$(EX_TSAN_NN),$(EX_ALL_SRC)),$(eval $(call ex_program,$s,tsan)))
$(foreach s,$(call ex_with,$(EX_ASAN_NN),$(EX_ALL_SRC)),$(eval $(call ex_program,$s,asan)))

# The grader and the pool, once per sanitizer flavor.
$(call ex_grader,plain): exercises/grader/grader.c $(wildcard common/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@
define ex_flavor_lib
$(call ex_grader,$1): exercises/grader/grader.c $(wildcard common/*.h)
	@mkdir -p $$(dir $$@)
	$$(EX_CC_$1) $$(EX_FLAGS_$1) -c $$< -o $$@
$(BUILD)/exercises/$1/common/%.o: common/%.c $(wildcard common/*.h)
	@mkdir -p $$(dir $$@)
	$$(EX_CC_$1) $$(EX_FLAGS_$1) -c $$< -o $$@
$(EX_LIB_$1): $(COMMON_SRC:%.c=$(BUILD)/exercises/$1/%.o)
	@rm -f $$@
	ar rcs $$@ $$^
endef
$(eval $(call ex_flavor_lib,tsan))
$(eval $(call ex_flavor_lib,asan))

# Every flavor of one program: ex_flavors SOURCE
ex_flavors = $(call ex_out,$1,plain) \
             $(if $(call ex_with,$(EX_TSAN_NN),$1),$(call ex_out,$1,tsan)) \
             $(if $(call ex_with,$(EX_ASAN_NN),$1),$(call ex_out,$1,asan))

all: $(foreach s,$(EX_OURS),$(call ex_flavors,$s))

.PHONY: grade grade-selfcheck exercise-hashes

# The self-check tests come from scripts/ctest_exercises.sh.
$(BUILD)/CTestTestfile.cmake: $(wildcard exercises/*.c exercises/*/*.c expected_output/exercises/*.txt)

# exercise-03: builds only exercise 03 (a broken one elsewhere does not
# stop it), then checks it. SAN=thread or SAN=address checks only that
# build, and shows the runner's whole report; V=1 shows it for any failure.
exercise-%: filecheck
	@name=$(filter $*_%,$(EX_NAMES)); \
	test -n "$$name" || { echo "no exercise $* (there are: $(EX_NAMES))" >&2; exit 2; }; \
	case "$(SAN)" in \
	"") only= ;; thread) only=tsan ;; address) only=asan ;; \
	*) echo "SAN must be thread or address, not $(SAN)" >&2; exit 2 ;; \
	esac; \
	scripts/check_exercise.sh --make $(BUILD) --starter exercises/$$name.c \
	    $${only:+--only $$only --verbose} $(if $(V),--verbose) \
	    $(BUILD)/exercises/$$name expected_output/exercises/$$name.txt

grade: filecheck
	@MAKE="$(MAKE)" JOBS="$(JOBS)" CTEST="$(CTEST)" scripts/grade.sh $(BUILD) $(EXERCISES_FROM)

grade-selfcheck: all filecheck
	cd $(BUILD) && GRADE_STRICT=1 $(CTEST) -j$(JOBS) --output-on-failure -L 'exercises|selfcheck'

exercise-hashes:
	sha256sum exercises/[0-9][0-9]_*.c > exercises/starters.sha256

# What every exercise program links with, for scripts/grade.sh to build
# once before its tests build the exercises in parallel.
.PHONY: exercise-deps
exercise-deps: $(BUILD)/libcommon.a $(EX_LIB_tsan) $(EX_LIB_asan) \
               $(foreach f,plain tsan asan,$(call ex_grader,$f))
