# fuzz.mk - "make fuzz": build the libFuzzer target for bounce.c under
# ASan and UBSan and run it for FUZZ_SECONDS (default 600) over a corpus
# seeded from the bounce fixtures. Included by the top-level Makefile.
# Crashes land in build/fuzz-crashes/; keep each as a fixture under
# tests/t0600/crashes/, which tests/t0600-bounce-scan.sh replays.

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 600
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -Isrc/util -Isrc/core -Isrc/inbound $(shell pkg-config --cflags gmime-3.0)
FUZZ_LIBS = $(shell pkg-config --libs gmime-3.0)
FUZZ_SEEDS = tests/t0600 tests/t0600/crashes ../shared/corpus/bounces

build/fuzz-bounce: tests/fuzz/fuzz-bounce.c src/inbound/bounce.c src/inbound/bounce.h
	@mkdir -p build
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz-bounce.c src/inbound/bounce.c $(FUZZ_LIBS)

fuzz: build/fuzz-bounce
	@mkdir -p build/fuzz-corpus build/fuzz-crashes
	./build/fuzz-bounce -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	    -rss_limit_mb=2048 -timeout=10 \
	    -artifact_prefix=build/fuzz-crashes/ build/fuzz-corpus \
	    $(wildcard $(FUZZ_SEEDS))

.PHONY: fuzz
