# Timelines from the pool's own trace (POOL_TRACE, Chrome Trace Event
# Format): scripts/timeline.py draws one in the terminal or as an SVG.
#
## make trace-NN        run lesson NN traced into build/trace/NN.json and print its timeline (NO_COLOR=1: ASCII)
## make timelines       trace every lesson and draw docs/img/NN_name.svg, the pictures the lesson docs show
#
# A lesson's output goes to build/trace/NN.out, to keep the picture whole.
# The tools the timelines' tests need join `make tools`: xmllint, jq, and
# chromium for the browser test.

TRACE_DIR     := $(BUILD)/trace
TRACE_LESSONS := $(basename $(notdir $(wildcard lessons/[0-9][0-9]_*.c)))
TRACE_TIMEOUT ?= 60
HELP_INTERNAL += trace-tools

.PHONY: timelines trace-tools

tools: trace-tools
trace-tools:
	@scripts/ensure_tools.sh xmllint jq chromium

# trace_run NAME NN: runs lesson NAME traced; its exit status is the lesson's.
trace_run = rm -f $(TRACE_DIR)/$2.json && \
    POOL_TRACE=$(TRACE_DIR)/$2.json timeout $(TRACE_TIMEOUT) $(BUILD)/lessons/$1 >$(TRACE_DIR)/$2.out 2>&1

# $(error) makes an unknown lesson one line: "mk/trace.mk:NN: *** no lesson 99 ...".
trace-%:
	$(if $(filter $*_%,$(TRACE_LESSONS)),,$(error no lesson $*; there are $(foreach l,$(TRACE_LESSONS),$(firstword $(subst _, ,$l)))))
	@$(MAKE) -s --no-print-directory $(BUILD)/lessons/$(filter $*_%,$(TRACE_LESSONS))
	@mkdir -p $(TRACE_DIR)
	@$(call trace_run,$(filter $*_%,$(TRACE_LESSONS)),$*); status=$$?; \
	python3 scripts/timeline.py $(TRACE_DIR)/$*.json || exit $$?; \
	echo "(trace: $(TRACE_DIR)/$*.json; the lesson's output: $(TRACE_DIR)/$*.out)"; \
	if [ $$status -ne 0 ]; then echo "lesson $* exited with status $$status" >&2; exit 1; fi

timelines: $(LESSONS)
	@mkdir -p $(TRACE_DIR) docs/img
	@failed=""; for name in $(TRACE_LESSONS); do \
	    nn=$${name%%_*}; \
	    if $(call trace_run,$$name,$$nn) && \
	       python3 scripts/timeline.py --svg docs/img/$$name.svg $(TRACE_DIR)/$$nn.json; then \
	        echo "docs/img/$$name.svg"; \
	    else \
	        echo "lesson $$nn: no timeline (see $(TRACE_DIR)/$$nn.out)" >&2; failed="$$failed $$nn"; \
	    fi; \
	done; \
	test -z "$$failed" || { echo "make timelines failed for:$$failed" >&2; exit 1; }
