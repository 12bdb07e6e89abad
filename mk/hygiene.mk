# Hygiene targets for the pool's threads and for flakiness.
#
## make helgrind        run the threaded fault tests under Valgrind's helgrind; any race fails
## make drd             the same tests under Valgrind's DRD, a second opinion
## make repeat          run the unit and fault tests REPEAT (20) times each, until one fails
#
# helgrind runs HELGRIND_TESTS; any reported race, lock-order or pthread
# misuse in any process fails the target. repeat stops a test at its first
# failure.
# Under Valgrind the tests shrink their sizes themselves (tests/fault/where.c).

HELGRIND_TESTS ?= fault_threads fault_nested fault_callback_stall fault_callback_fail \
                  fault_misuse fault_terminate fault_idle_kill fault_cancel_race test_thread_pool
HELGRIND_FLAGS ?= --vgdb=no --error-exitcode=1
REPEAT         ?= 20

.PHONY: helgrind drd repeat

# $(1): the Valgrind tool. Every process (fork server and workers too, as
# Valgrind follows fork) logs to its own file; a log with an error fails.
define race_check
	@command -v valgrind >/dev/null || { echo "valgrind not found (make tools installs it)" >&2; exit 2; }
	@rm -rf $(BUILD)/$(1) && mkdir -p $(BUILD)/$(1)
	@failed=""; for t in $(HELGRIND_TESTS); do \
	    printf '== %s %s: ' $(1) $$t; \
	    timeout 900 valgrind --tool=$(1) $(HELGRIND_FLAGS) \
	        --log-file=$(BUILD)/$(1)/$$t.%p.log $(BUILD)/tests/$$t \
	        > $(BUILD)/$(1)/$$t.out 2>&1; status=$$?; \
	    bad=$$(grep -lE 'ERROR SUMMARY: [1-9]|Possible data race|lock order|Conflicting (load|store)|Thread #[0-9]+: .*(unlock|destroy|pthread_)' \
	        $(BUILD)/$(1)/$$t.*.log 2>/dev/null); \
	    if [ $$status -ne 0 ] || [ -n "$$bad" ]; then \
	        echo "FAILED (exit status $$status)"; failed="$$failed $$t"; \
	        tail -n 5 $(BUILD)/$(1)/$$t.out; \
	        for log in $$bad; do echo "---- $$log"; head -n 80 $$log; done; \
	    else \
	        echo "clean"; \
	    fi; \
	done; \
	if [ -n "$$failed" ]; then echo "$(1) found problems in:$$failed" >&2; exit 1; fi; \
	echo "$(1): $(words $(HELGRIND_TESTS)) tests clean"
endef

helgrind: all
	$(call race_check,helgrind)

drd: all
	$(call race_check,drd)

# The two slowest fault tests (about 20 s a run) repeat a quarter as often,
# which keeps CI's whole run near half an hour.
REPEAT_SLOW := fault_memory_peak|fault_create_destroy|fault_imap_rss|fault_cancel_race
repeat: all
	cd $(BUILD) && $(CTEST) -j$(JOBS) --output-on-failure -L 'unit|faults' \
	    -E '^($(REPEAT_SLOW))$$' --repeat until-fail:$(REPEAT)
	cd $(BUILD) && $(CTEST) -j$(JOBS) --output-on-failure -R '^($(REPEAT_SLOW))$$' \
	    --repeat until-fail:$$(( ($(REPEAT) + 3) / 4 ))
