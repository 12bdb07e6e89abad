## make fuzz            run libFuzzer on pool_decode() and wire_decode() for FUZZ_SECONDS (60)
## make fuzz-seeds      regenerate tests/fuzz/seeds/ from tests/fuzz/make_seeds.c
#
# make fuzz: libFuzzer on pool_decode(), the parser of everything a worker
# sends back, and on wire_decode() with a side socket the harness fills with
# memfds proper and improper (its input's first byte says which). Builds tests/fuzz/decode_fuzz.c with clang
# -fsanitize=fuzzer,address,undefined, compiling the common sources into the
# binary directly (pool_decode lives in one of them), then runs it for
# FUZZ_SECONDS (default 60) on a copy of tests/fuzz/seeds/, plus seeds
# encoded afresh by tests/fuzz/make_seeds.c (so they follow the wire format),
# and prints how many inputs it executed. A crash leaves its input in
# $(BUILD)/fuzz/.
# clang's libFuzzer runtime comes with Debian's libclang-rt-14-dev.

FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_BIN     := $(FUZZ_DIR)/decode_fuzz
FUZZ_FLAGS   := -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -Icommon \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

.PHONY: fuzz fuzz-seeds

$(FUZZ_BIN): tests/fuzz/decode_fuzz.c $(COMMON_SRC) $(wildcard common/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) tests/fuzz/decode_fuzz.c $(COMMON_SRC) -lm -pthread -o $@

fuzz: $(FUZZ_BIN) $(FUZZ_DIR)/make_seeds
	@rm -rf $(FUZZ_DIR)/corpus $(FUZZ_DIR)/fresh && mkdir -p $(FUZZ_DIR)/corpus $(FUZZ_DIR)/fresh
	@cp tests/fuzz/seeds/* $(FUZZ_DIR)/corpus/
	@$(FUZZ_DIR)/make_seeds $(FUZZ_DIR)/fresh && \
	    for f in $(FUZZ_DIR)/fresh/*; do cp $$f $(FUZZ_DIR)/corpus/fresh-$$(basename $$f); done
	@echo "fuzz: pool_decode and wire_decode for $(FUZZ_SECONDS) s on $$(ls $(FUZZ_DIR)/corpus | wc -l) seeds"
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    $(FUZZ_BIN) -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_DIR)/ $(FUZZ_DIR)/corpus > $(FUZZ_DIR)/fuzz.log 2>&1; \
	status=$$?; tail -n 25 $(FUZZ_DIR)/fuzz.log; \
	execs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $(FUZZ_DIR)/fuzz.log); \
	echo "fuzz: $${execs:-no} executions of pool_decode and wire_decode in $(FUZZ_SECONDS) s, exit status $$status"; \
	exit $$status

$(FUZZ_DIR)/make_seeds: tests/fuzz/make_seeds.c $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< $(BUILD)/libcommon.a $(LDFLAGS) -lm -o $@

fuzz-seeds: $(FUZZ_DIR)/make_seeds
	rm -f tests/fuzz/seeds/*
	mkdir -p tests/fuzz/seeds
	$(FUZZ_DIR)/make_seeds tests/fuzz/seeds
