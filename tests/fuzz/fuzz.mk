# fuzz.mk - libFuzzer targets, one per parser of outside input, built
# under ASan and UBSan with clang. Included by the top-level Makefile.
#
#   make fuzz               build and run every target, FUZZ_SECONDS each
#                           (a crash stops make: make -k fuzz runs the rest)
#   make fuzz-NAME          one of them (NAME in FUZZ_TARGETS)
#   make fuzz-build         build them all, run none
#
#   bounce    bounce.c: parse and classify a message (DSN, ARF, VERP)
#   csv       csv.c: the import reader, and the writer's quoting back
#   segment   segment.c: compile an expression, count it on a database
#   template  template.c: compile Mustache (partials, parents), render
#   pipe      pipe.c: route and act on a raw message (pipe_deliver)
#   lmtp      lmtp.c: an LMTP session, commands and DATA, on a socket
#   web       web.c: an HTTP request to herald serve (paths, tokens,
#             urlencoded and multipart bodies)
#
# The library objects are compiled again with the fuzz flags into
# build/fuzz/obj/; the targets are build/fuzz/fuzz-NAME. Each runs over
# build/fuzz/corpus/NAME (kept between runs), seeded from the tests'
# fixtures (tests/fuzz/seeds.sh writes the seeds that need a wrapping
# into build/fuzz/seeds/NAME) and from the kept crashes. A crash lands in
# build/fuzz/crashes/NAME/: fix it, and keep the input under
# tests/fuzz/crashes/NAME/, which t0950 replays through the normal build
# (build/tools/fuzz-replay); bounce's crashes stay in tests/t0600/crashes,
# which t0600 replays through herald bounce scan (and t0950 too).

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 600
FUZZ_TARGETS = bounce csv segment template pipe lmtp web
# the throwaway instances (pipe resets its database for every input):
# in memory when /dev/shm is there
FUZZ_TMPDIR ?= $(if $(wildcard /dev/shm),/dev/shm,/tmp)
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS = -std=gnu11 $(WARN) -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) \
	$(PKG_CFLAGS)
FUZZ_OBJS := $(patsubst src/%.c,build/fuzz/obj/%.o,$(filter-out src/cmd/main.c,$(SRCS)))
FUZZ_HARNESS = $(FUZZ_TARGETS:%=tests/fuzz/fuzz-%.c) tests/fuzz/instance.c
# -max_len per target: a message or a CSV file may be long, an
# expression or a command session need not be
FUZZ_MAXLEN_bounce = 65536
FUZZ_MAXLEN_csv = 16384
FUZZ_MAXLEN_segment = 4096
FUZZ_MAXLEN_template = 8192
FUZZ_MAXLEN_pipe = 65536
FUZZ_MAXLEN_lmtp = 16384
FUZZ_MAXLEN_web = 8192
# pipe, lmtp and web log a line for each message or request on stderr:
# closed for them (the sanitizers' and libFuzzer's reports still come out)
FUZZ_OPTS_pipe = -close_fd_mask=2
FUZZ_OPTS_lmtp = -close_fd_mask=2
FUZZ_OPTS_web = -close_fd_mask=2
# the seeds: fixture folders as they are (libFuzzer reads them
# recursively), the kept crashes, and build/fuzz/seeds/NAME
FUZZ_SEEDS_bounce = tests/t0600 ../shared/corpus/bounces tests/t0500
FUZZ_SEEDS_csv = lists tests/t0110
FUZZ_SEEDS_segment =
FUZZ_SEEDS_template = templates tests/t0300
FUZZ_SEEDS_pipe =
FUZZ_SEEDS_lmtp =
FUZZ_SEEDS_web =

build/fuzz/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(CPPFLAGS) -c -o $@ $<

build/fuzz/fuzz-%: tests/fuzz/fuzz-%.c tests/fuzz/instance.c tests/fuzz/fuzz.h $(FUZZ_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(CPPFLAGS) -Itests/fuzz \
	    -o $@ $< tests/fuzz/instance.c $(FUZZ_OBJS) $(LDLIBS_ALL)

build/fuzz/seeds/%: tests/fuzz/seeds.sh FORCE
	@sh tests/fuzz/seeds.sh $* $@

fuzz-build: $(FUZZ_TARGETS:%=build/fuzz/fuzz-%)

fuzz: $(FUZZ_TARGETS:%=fuzz-%)

# one target: its corpus, then the run (nice: it shares the machine)
fuzz-%: build/fuzz/fuzz-% build/fuzz/seeds/%
	@mkdir -p build/fuzz/corpus/$* build/fuzz/crashes/$*
	TMPDIR=$(FUZZ_TMPDIR) nice ./build/fuzz/fuzz-$* -max_total_time=$(FUZZ_SECONDS) \
	    -max_len=$(FUZZ_MAXLEN_$*) -rss_limit_mb=2048 -timeout=10 \
	    -print_final_stats=1 $(FUZZ_OPTS_$*) -artifact_prefix=build/fuzz/crashes/$*/ \
	    build/fuzz/corpus/$* build/fuzz/seeds/$* \
	    $(wildcard $(FUZZ_SEEDS_$*) tests/fuzz/crashes/$*)

# the replay driver of the kept crashes (t0950), built by "make units"
# with the normal compiler and objects: it needs no clang
$(BUILD)/tools/fuzz-replay: tests/tools/fuzz-replay.c $(FUZZ_HARNESS) tests/fuzz/fuzz.h $(LIB_OBJS) $(HDRS)
	@mkdir -p $(BUILD)/tools
	$(CC) $(ALL_CFLAGS) $(CPPFLAGS) -DFUZZ_REPLAY -Itests/fuzz -o $@ \
	    tests/tools/fuzz-replay.c $(FUZZ_HARNESS) $(LIB_OBJS) $(LDLIBS_ALL)

FORCE:

.PHONY: fuzz fuzz-build FORCE

.PRECIOUS: build/fuzz/fuzz-% build/fuzz/obj/%.o build/fuzz/seeds/%
