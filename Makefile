# herald - build, test, demo, benchmark, install.
#
#   make            build ./herald
#   make deps       install what is missing (Debian: apt-get)
#   make check      deps, build, and the whole test suite through prove;
#                   then the store-touching tests again on PostgreSQL
#   make test-pg    only that second pass
#   make demo       deps, build, and one campaign end to end on a local sink
#   make asan       the whole suite under AddressSanitizer and UBSan
#   make fuzz       the libFuzzer targets, FUZZ_SECONDS each (tests/fuzz/fuzz.mk)
#   make bench      the benchmarks in tests/bench (figures and commands)
#   make bench-pg   the PostgreSQL ones: bench-pg.sh (beside SQLite, one
#                   run), bench-lmtp.sh and bench-relays-rss.sh with
#                   STORE=postgresql, bench-hosts.sh (a private server each)
#   make deb        herald_VERSION_ARCH.deb from debian/ (dpkg-buildpackage
#                   in a copy of the tree under DEBDIR, $(BUILD)/deb; the
#                   package lands in DEBOUT, this folder)
#   make install    PREFIX=/usr/local DESTDIR= (nothing else system-wide):
#                   the binary, an example herald.conf, the templates, the
#                   README and the manual (doc/**/*.md) with the example
#                   files of etc/ in share/doc/herald, the man pages
#                   (doc/*.scd) and the bash and zsh completion;
#                   the binary is the one "all" built (with SANITIZE=1,
#                   build-asan/herald: t0002 runs the binary under test)

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SYSCONFDIR ?= $(PREFIX)/etc
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
COMPLETIONDIR ?= $(DATADIR)/bash-completion/completions
ZSHCOMPDIR ?= $(DATADIR)/zsh/site-functions
DESTDIR ?=

PKGS = gmime-3.0 libesmtp-1.0 sqlite3 libconfuse glib-2.0 gthread-2.0 openssl \
	libmicrohttpd
TEST_PKGS = json-glib-1.0

CC ?= cc
OPT ?= -O2
CFLAGS ?= $(OPT) -g
WARN = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers
# BUILD follows SANITIZE unless given on the command line: the one the
# tests export (make install in t0002, t0905, t0906) must not link
# ./herald from another build's objects
ifeq ($(origin BUILD),environment)
undefine BUILD
endif
ifeq ($(SANITIZE),1)
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
BUILD ?= build-asan
else
BUILD ?= build
endif
HERALD ?= ./herald
override CPPFLAGS += -D_GNU_SOURCE -DSYSCONFDIR='"$(SYSCONFDIR)"' -DDATADIR='"$(DATADIR)"' $(LAYERS:%=-Isrc/%)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
TEST_CFLAGS := $(shell pkg-config --cflags $(TEST_PKGS) 2>/dev/null)
TEST_LIBS := $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null)
# libpq (the PostgreSQL store) is linked shared, and kept out of PKGS:
# its "pkg-config --static" list names libraries (LDAP, Kerberos) whose
# archives Debian does not ship
PQ_CFLAGS := $(shell pkg-config --cflags libpq 2>/dev/null)
PQ_LIBS := $(or $(shell pkg-config --libs libpq 2>/dev/null),-lpq)
ALL_CFLAGS = -std=gnu11 $(WARN) $(CFLAGS) $(SANFLAGS) $(PKG_CFLAGS) $(PQ_CFLAGS)
LDLIBS_ALL = $(PKG_LIBS) $(PQ_LIBS) -lpthread -lm

# ./herald links GLib, GObject, GIO, GMime, SQLite and libconfuse (and
# what only they use: PCRE2, libffi, GModule) from their static archives
# when all of them are installed (STATIC_DEPS=auto, the default; 1 insists,
# 0 links everything dynamically). The MTA starts one "herald pipe" per
# inbound message, and dynamic linking of those libraries (BIND_NOW: every
# symbol resolved at start) was the larger part of its run time. libesmtp
# and OpenSSL stay shared (no archive of libesmtp; OpenSSL gets its fixes
# from the system). The ASan build, the unit tests and the test tools link
# dynamically (json-glib there needs the shared GLib: one GLib a process;
# GThread is part of GLib and no longer needed apart).
STATIC_DEPS ?= auto
# libesmtp and OpenSSL are not linked into ./herald: src/outbound/send.c opens them
# with dlopen() when it first sends (most herald pipe runs never do), by
# the sonames of the libraries installed here; it defines connect(), which
# the executable must export for libesmtp to call it.
DLOPEN_LIBS = -lesmtp -lssl -lcrypto
soname = $(shell objdump -p $$($(CC) -print-file-name=$(1)) 2>/dev/null | sed -n 's/^ *SONAME *//p')
ESMTP_SONAME := $(call soname,libesmtp.so)
SSL_SONAME := $(call soname,libssl.so)
override CPPFLAGS += $(if $(ESMTP_SONAME),-DSEND_ESMTP_SONAME='"$(ESMTP_SONAME)"') $(if $(SSL_SONAME),-DSEND_SSL_SONAME='"$(SSL_SONAME)"')
# libcrypto is opened the same way, by src/outbound/dkim.c, when a list
# signs: herald's own DKIM signer (dkim_sign.c) runs on it.
CRYPTO_SONAME := $(call soname,libcrypto.so)
override CPPFLAGS += $(if $(CRYPTO_SONAME),-DDKIM_CRYPTO_SONAME='"$(CRYPTO_SONAME)"')
HERALD_LDFLAGS = -Wl,--export-dynamic-symbol=connect -Wl,--export-dynamic-symbol=write
STATIC_LIBS = gmime-3.0 gio-2.0 gobject-2.0 gmodule-2.0 glib-2.0 sqlite3 confuse pcre2-8 ffi
ifneq ($(STATIC_DEPS)$(SANITIZE),0)
ifneq ($(SANITIZE),1)
STATIC_MISSING := $(strip $(foreach l,$(STATIC_LIBS),$(if $(filter /%,$(shell $(CC) -print-file-name=lib$(l).a)),,$(l))))
ifeq ($(STATIC_MISSING),)
# the rest of "pkg-config --static" shared; a library whose unversioned
# .so link is not installed (no -dev package) is named by its file
STATIC_REST := $(filter-out $(STATIC_LIBS:%=-l%) $(DLOPEN_LIBS) -lgthread-2.0 -pthread,$(shell pkg-config --static --libs $(PKGS) 2>/dev/null))
STATIC_REST := $(foreach f,$(STATIC_REST),$(if $(filter -l%,$(f)),$(if $(filter /%,$(shell $(CC) -print-file-name=lib$(f:-l%=%).so)),$(f),$(or $(firstword $(wildcard $(dir $(shell $(CC) -print-file-name=libc.so))lib$(f:-l%=%).so.*)),$(f))),$(f)))
HERALD_LIBS = -Wl,-O1,--as-needed -Wl,-Bstatic $(STATIC_LIBS:%=-l%) -Wl,-Bdynamic $(sort $(STATIC_REST)) $(PQ_LIBS) -pthread -lm
else ifeq ($(STATIC_DEPS),1)
$(error STATIC_DEPS=1: no static archive of $(STATIC_MISSING))
endif
endif
endif
HERALD_LIBS ?= $(filter-out $(DLOPEN_LIBS),$(LDLIBS_ALL))

# src/ is one folder a layer, lowest first (src/README says what each is
# for and what it may call; t0004 checks the includes run one way)
LAYERS = util core store outbound inbound admin cmd
SRCS := $(sort $(foreach l,$(LAYERS),$(wildcard src/$(l)/*.c)))
OBJS := $(SRCS:src/%.c=$(BUILD)/%.o)
LIB_OBJS := $(filter-out $(BUILD)/cmd/main.o,$(OBJS))
HDRS := $(wildcard src/*/*.h)
UNIT_SRCS := $(sort $(wildcard tests/unit/test-*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/%)
TOOL_SRCS := $(sort $(wildcard tests/tools/*.c))
TOOL_BINS := $(TOOL_SRCS:tests/tools/%.c=$(BUILD)/tools/%)
SHELL_TESTS := $(sort $(wildcard tests/t[0-9][0-9][0-9][0-9]-*.sh))
# man pages: doc/NAME.N.scd, turned into roff by scdoc (Debian's scdoc);
# "make" builds them when scdoc is installed, "make install" insists. A
# page is written aside and renamed into place: a make install running at
# the same time (the tests', under prove -j) copies the old page or the
# new one, never half of one. The date in a page is its source's
# modification time (SOURCE_DATE_EPOCH when set, as dpkg-buildpackage
# sets it from debian/changelog), not the day of the build: a page built
# yesterday from the same source is the same page (t0905).
MAN_SRCS := $(sort $(wildcard doc/*.scd))
MAN_PAGES := $(MAN_SRCS:doc/%.scd=$(BUILD)/man/%)
SCDOC := $(shell command -v scdoc 2>/dev/null)

ifeq ($(SANITIZE),1)
HERALD_BIN = $(BUILD)/herald
else
HERALD_BIN = herald
endif

.PHONY: all deps check test test-pg asan demo bench bench-pg install uninstall clean units man deb

all: $(HERALD_BIN) $(if $(SCDOC),man)

man: $(MAN_PAGES)

$(BUILD)/man/%: doc/%.scd
	@mkdir -p $(BUILD)/man
	@command -v scdoc >/dev/null || { echo "make: scdoc is missing (make deps installs it)"; exit 1; }
	SOURCE_DATE_EPOCH=$${SOURCE_DATE_EPOCH:-$$(stat -c %Y $<)} scdoc < $< > $@.tmp$$$$ && \
	    mv -f $@.tmp$$$$ $@ || { rm -f $@.tmp$$$$; exit 1; }

$(HERALD_BIN): $(OBJS)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $(HERALD_LDFLAGS) -o $@ $(OBJS) $(HERALD_LIBS)

# each object's header dependencies, written by the compiler (-MMD -MP)
$(BUILD)/%.o: src/%.c | $(BUILD)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(CPPFLAGS) -MMD -MP -c -o $@ $<

-include $(OBJS:.o=.d)

$(BUILD)/test-%: tests/unit/test-%.c $(LIB_OBJS) $(HDRS) $(wildcard tests/unit/*.h)
	$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) $(CPPFLAGS) -o $@ $< $(LIB_OBJS) $(LDLIBS_ALL) $(TEST_LIBS)

$(BUILD)/tools/%: tests/tools/%.c $(LIB_OBJS) $(HDRS)
	@mkdir -p $(BUILD)/tools
	$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) $(CPPFLAGS) $(TOOL_LDFLAGS) -o $@ $< $(LIB_OBJS) $(LDLIBS_ALL) $(TEST_LIBS)

$(BUILD):
	mkdir -p $(BUILD)

units: $(UNIT_BINS) $(TOOL_BINS)

# Debian packages: libraries to build against, and the real programs the
# tests run (Postfix and its smtp-sink/smtp-source, aiosmtpd, prove; strace
# for t0504, which checks that herald pipe syncs its commit before exit 0;
# systemd for systemd-analyze, which t0411 and t0651 verify the shipped
# units with; man-db for man, which t0905 looks the pages up with;
# util-linux for flock, which keeps the tests' make install runs apart;
# prometheus for promtool, which t0720 checks /metrics with: about 96 MB
# installed, and no smaller Debian package ships promtool (the golang-
# github-prometheus-* packages are Go sources); debhelper, lintian and
# fakeroot for make deb and t0910, which builds and lints the package).
# Every point of the suite runs, none skips, as root with all of them.
DEB_PACKAGES = make gcc binutils libc6-dev pkg-config libglib2.0-dev libgmime-3.0-dev \
	libesmtp-dev libssl-dev libsqlite3-dev libconfuse-dev libjson-glib-dev sqlite3 \
	postfix python3 python3-aiosmtpd perl openssl procps time bc strace \
	libmicrohttpd-dev curl python3-selenium chromium chromium-driver wrk \
	nginx-light scdoc mandoc bash-completion zsh mlmmj \
	opendkim-tools python3-dkim iproute2 \
	systemd man-db util-linux prometheus debhelper lintian fakeroot \
	postgresql libpq-dev
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
	    grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "make deps: installing" $$missing; \
	    echo "postfix postfix/main_mailer_type select No configuration" | \
	        $(SUDO) debconf-set-selections; \
	    $(SUDO) apt-get update -q && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q \
	        --no-install-recommends $$missing; \
	else echo "make deps: everything is installed"; fi

# The suite: C unit tests (GLib's gtest prints TAP) and numbered shell
# tests, all through prove, which ends with its summary; --directives
# shows every skipped case with its reason (on a bare clone: the Mustache
# spec and the bounce corpus of ../shared, which HERALD_SPEC_DIR and
# HERALD_BOUNCE_CORPUS can name instead).
# Two tests at a time by default: every test's servers listen on ports and
# sockets of their own, and one at a time the suite has grown past 14
# minutes (PROVE_FLAGS= runs them one by one).
PROVE_FLAGS ?= -j2
test: all units
	TOP=$(CURDIR) HERALD=$(CURDIR)/$(HERALD_BIN) BUILD=$(CURDIR)/$(BUILD) \
	    prove --directives --exec '' $(PROVE_FLAGS) $(UNIT_BINS) $(SHELL_TESTS)

# the store-touching tests again on PostgreSQL (issue 23), on one server
# for the whole pass (tests/pg-pass.sh starts it from the template
# cluster and stops it at the end, whatever the tests did): each test
# makes a database of its own there; a test that stops or restarts
# PostgreSQL has a server of its own (pg_private). A test that cannot
# apply there says SKIP with the reason. Not here: t0509 (herald mta
# writes MTA configuration, it touches no store beyond the init every
# test here does).
PG_TEST_NUMS = 0100 0110 0120 0401 0402 0403 0404 0405 0406 0407 0410 0411 \
	0412 0420 0421 0422 0423 0424 0425 0430 0431 0432 0433 0500 0501 0502 0503 \
	0504 0505 0510 0511 0512 0515 0516 0600 0650 0651 0652 0700 0701 \
	0513 0704 0705 0706 0707 0904
PG_TESTS := $(foreach n,$(PG_TEST_NUMS),$(wildcard tests/t$(n)-*.sh))
# three at a time: these tests wait on PostgreSQL more than they compute
# (two at a time kept the CPUs 35-45% busy)
PG_PROVE_FLAGS ?= -j3
test-pg: all units
	HERALD_TEST_STORE=postgresql TOP=$(CURDIR) HERALD=$(CURDIR)/$(HERALD_BIN) \
	    BUILD=$(CURDIR)/$(BUILD) sh tests/pg-pass.sh \
	    prove --directives --exec '' $(PG_PROVE_FLAGS) $(PG_TESTS)

check: deps
	$(MAKE) test
	$(MAKE) test-pg

asan: deps
	$(MAKE) SANITIZE=1 test

# demo and check build in a second make: the pkg-config flags above are
# read when make starts, before deps has installed the libraries.
demo: deps
	$(MAKE) all
	sh tests/demo.sh

bench: all units
	@for b in $(filter-out tests/bench/lib.sh,$(wildcard tests/bench/*.sh)); do echo "== $$b"; sh $$b || exit 1; done

bench-pg: all units
	sh tests/bench/bench-pg.sh
	STORE=postgresql sh tests/bench/bench-lmtp.sh
	STORE=postgresql sh tests/bench/bench-relays-rss.sh
	sh tests/bench/bench-hosts.sh

install: all man
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSCONFDIR)/herald/lists \
	    $(DESTDIR)$(DATADIR)/herald/templates $(DESTDIR)$(DATADIR)/doc/herald \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(COMPLETIONDIR) $(DESTDIR)$(ZSHCOMPDIR)
	install -m 755 $(HERALD_BIN) $(DESTDIR)$(BINDIR)/herald
	for m in $(MAN_PAGES); do install -m 644 $$m \
	    $(DESTDIR)$(MANDIR)/man$${m##*.}/$${m##*/}; done
	install -m 644 etc/bash-completion/herald $(DESTDIR)$(COMPLETIONDIR)/herald
	install -m 644 etc/zsh-completion/_herald $(DESTDIR)$(ZSHCOMPDIR)/_herald
	install -m 644 etc/herald.conf $(DESTDIR)$(SYSCONFDIR)/herald/herald.conf.example
	if [ -d templates ]; then cp -R templates/. $(DESTDIR)$(DATADIR)/herald/templates/; fi
	cp -R etc/. $(DESTDIR)$(DATADIR)/doc/herald/
	install -m 644 README $(DESTDIR)$(DATADIR)/doc/herald/README
	cd doc && find . -name '*.md' | while read -r f; do \
	    install -D -m 644 "$$f" "$(DESTDIR)$(DATADIR)/doc/herald/$$f" || exit 1; done

# the Debian package: built by dpkg-buildpackage from a copy of this tree
# (tracked or not, without builds and binaries), so nothing is written
# beside the checkout and two builds with their own DEBDIR never meet;
# debian/changelog's version must be herald's own (src/util/herald.h)
VERSION := $(shell sed -n 's/^\#define HERALD_VERSION "\(.*\)"/\1/p' src/util/herald.h)
DEBDIR ?= $(CURDIR)/$(BUILD)/deb
DEBOUT ?= $(CURDIR)

deb:
	@v=$$(dpkg-parsechangelog -S Version); [ "$$v" = "$(VERSION)" ] || \
	    { echo "make deb: debian/changelog says $$v, herald is $(VERSION)"; exit 1; }
	rm -rf $(DEBDIR) && mkdir -p $(DEBDIR)/herald-$(VERSION)
	tar -cf - --exclude=./build --exclude=./build-asan --exclude=./herald \
	    --exclude=./.git --exclude='./*.deb' . | tar -xf - -C $(DEBDIR)/herald-$(VERSION)
	cd $(DEBDIR)/herald-$(VERSION) && DEB_BUILD_OPTIONS="parallel=2 $${DEB_BUILD_OPTIONS:-}" \
	    dpkg-buildpackage -b -us -uc
	cp $(DEBDIR)/herald_$(VERSION)_$$(dpkg-architecture -qDEB_HOST_ARCH).deb $(DEBOUT)/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/herald $(DESTDIR)$(COMPLETIONDIR)/herald \
	    $(DESTDIR)$(ZSHCOMPDIR)/_herald
	for m in $(MAN_PAGES); do rm -f $(DESTDIR)$(MANDIR)/man$${m##*.}/$${m##*/}; done
	rm -rf $(DESTDIR)$(DATADIR)/herald $(DESTDIR)$(DATADIR)/doc/herald

clean:
	rm -rf build build-asan herald

-include tests/fuzz/fuzz.mk
