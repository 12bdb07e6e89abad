# The learner's workflow: one lesson's check, and the exercises' hints,
# reset, next and watch mode (rustlings has the same). Each is a script in
# scripts/; make only passes BUILD and the options.
#
## make check-NN        build lesson NN alone and run its check, e.g. make check-03
## make hint-NN         show exercise NN's next hint, one per call (N=2: show hint 2)
## make reset-NN        restore exercise NN's starter as shipped, yours kept in build/backup/ (FORCE=1: no question)
## make next            name the first exercise that does not pass yet, with its goal
## make watch           re-check an exercise each time you save it; Ctrl-C stops

.PHONY: next watch

LESSON_NAMES := $(basename $(notdir $(wildcard lessons/[0-9][0-9]_*.c)))

check-%: filecheck
	@name=$(filter $*_%,$(LESSON_NAMES)); \
	test -n "$$name" || { echo "no lesson $*; there are: $(foreach l,$(LESSON_NAMES),$(firstword $(subst _, ,$l)))" >&2; exit 2; }; \
	$(MAKE) -s --no-print-directory $(BUILD)/lessons/$$name && \
	scripts/run_lesson.sh $(BUILD)/lessons/$$name expected_output/$$name.txt

hint-%:
	@scripts/hint.sh $(if $(N),--show $(N)) $(BUILD) $*

reset-%:
	@scripts/reset_exercise.sh $(if $(filter-out 0 no,$(FORCE)),--force) $(BUILD) $*

next:
	@MAKE="$(MAKE)" scripts/next_exercise.sh $(BUILD)

watch:
	@MAKE="$(MAKE)" scripts/watch.sh $(BUILD)
