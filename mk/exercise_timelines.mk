# Exercise 09 reads recorded timelines: exercises/timelines/09_X.json are
# traces of exercises/timelines/record_09.c (POOL_TRACE), committed, and
# scripts/trace_to_tsv.py turns each into $(BUILD)/exercises/timelines/09_X.tsv
# for the C program to read. Every build of an 09 program (starter,
# solution, alternative, wrong answers; each sanitizer flavor) depends on
# them and is told their folder as TIMELINES_DIR, an absolute path, so the
# program finds them from make's folder and from CTest's alike.
# The recorder itself is built with `all`, so it keeps compiling.

EX_TL_DIR  := $(BUILD)/exercises/timelines
EX_TL_TSV  := $(patsubst exercises/timelines/%.json,$(EX_TL_DIR)/%.tsv,\
                         $(wildcard exercises/timelines/09_*.json))
# The 09 programs, as mk/exercises.mk names them ($(BUILD)/exercises/[DIR/][FLAVOR/]09_x);
# computed here, since this file may be read before mk/exercises.mk.
EX_TL_SRC  := $(wildcard exercises/09_*.c exercises/*/09_*.c)
EX_TL_PROG := $(foreach s,$(EX_TL_SRC),$(foreach f,/ /tsan/ /asan/,\
                  $(BUILD)/$(patsubst %/,%,$(dir $s))$f$(basename $(notdir $s))))

$(EX_TL_DIR)/%.tsv: exercises/timelines/%.json scripts/trace_to_tsv.py
	@mkdir -p $(dir $@)
	python3 scripts/trace_to_tsv.py $< > $@.tmp && mv $@.tmp $@

# private: the pool and grader objects these programs need are built without it.
$(EX_TL_PROG): $(EX_TL_TSV) exercises/timelines/timeline.h
$(EX_TL_PROG): private EX_FLAGS_plain += -DTIMELINES_DIR='"$(abspath $(EX_TL_DIR))"' -Iexercises/timelines
$(EX_TL_PROG): private EX_FLAGS_tsan += -DTIMELINES_DIR='"$(abspath $(EX_TL_DIR))"' -Iexercises/timelines
$(EX_TL_PROG): private EX_FLAGS_asan += -DTIMELINES_DIR='"$(abspath $(EX_TL_DIR))"' -Iexercises/timelines

$(EX_TL_DIR)/record_09: exercises/timelines/record_09.c $(BUILD)/libcommon.a $(wildcard common/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< $(BUILD)/libcommon.a $(LDFLAGS) -o $@

all: $(EX_TL_DIR)/record_09 $(EX_TL_TSV)
