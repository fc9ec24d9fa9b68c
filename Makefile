# LiveStreamX: one library (build/libcs.a), eight thin commands (bin/cs-*).
# Overrides go in config.mak (CC, CFLAGS, PREFIX, ...). `make DEVELOPER=1`
# adds extra warnings.

-include config.mak

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/vendor-completions
DESTDIR ?=

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

PKGS = libavformat libavcodec libavfilter libswscale libswresample \
       libavdevice libavutil srt libcurl libcjson expat libmicrohttpd librist zlib gnutls \
       gstreamer-1.0 gstreamer-app-1.0 gstreamer-webrtc-1.0 gstreamer-sdp-1.0 \
       gstreamer-rtp-1.0

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    = -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow \
          -Wno-missing-field-initializers \
          -Wstrict-prototypes -Wmissing-prototypes -Wvla
ifeq ($(DEVELOPER),1)
WARN   += -Wconversion -Wno-sign-conversion -Wformat=2 -Wcast-qual
endif

O ?= build
B ?= bin

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# libavformat links libsrt-gnutls: link that same copy rather than a second
# libsrt (two copies of its C++ statics crash at exit).
SRT_GNUTLS := $(notdir $(wildcard /usr/lib/*/libsrt-gnutls.so.1.5))
ifneq ($(SRT_GNUTLS),)
PKG_LIBS  := $(patsubst -lsrt,-l:$(SRT_GNUTLS),$(PKG_LIBS))
endif
ALL_CFLAGS = -std=gnu11 -D_GNU_SOURCE $(CFLAGS) $(WARN) -Ilib -DCS_VERSION='"$(VERSION)"' \
             $(PKG_CFLAGS) -MMD -MP
ALL_LDFLAGS = $(LDFLAGS)
LIBS_ALL   = $(PKG_LIBS) -lpthread -lm

LIB_SRC  := $(sort $(shell find lib -name '*.c'))
LIB_OBJ  := $(LIB_SRC:%.c=$(O)/%.o)
CMD_SRC  := $(sort $(wildcard cmd/cs-*.c))
CMD_COMMON := $(O)/cmd/common.o
PROGRAMS := $(CMD_SRC:cmd/%.c=$(B)/%)
TOOL_SRC := $(sort $(wildcard tests/tools/*.c))
TOOLS    := $(TOOL_SRC:tests/tools/%.c=$(O)/tools/%) \
            $(O)/tools/noupnp/libgupnp-igd-1.0.so.4
MANPAGES := $(sort $(wildcard man/*.1 man/*.7))

.PHONY: all deps build check asan asan-build tsan tsan-build lint \
        code-rules install uninstall clean fuzz fuzz-build fuzz-smoke \
        fuzz-targets faults \
        demo completions test tools

all: deps
	@$(MAKE) --no-print-directory build

build: $(PROGRAMS) $(TOOLS)

deps:
	@scripts/deps.sh

$(O)/libcs.a: $(LIB_OBJ)
	@mkdir -p $(@D)
	@rm -f $@
	$(AR) rcs $@ $^

$(O)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# cs-fetch needs few of the libraries: linking only those it calls saves
# it loading libavformat and its codecs at every start (see fetch/play.c)
$(B)/cs-fetch: ALL_LDFLAGS += -Wl,--as-needed

$(B)/cs-%: $(O)/cmd/cs-%.o $(CMD_COMMON) $(O)/libcs.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_ALL)

$(O)/tools/%: tests/tools/%.c $(O)/libcs.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_ALL)

# A libgupnp-igd without libsoup 3, for whip-client in the tests
# (tests/tools/noupnp/gupnp-igd.c says why).
$(O)/tools/noupnp/libgupnp-igd-1.0.so.4: tests/tools/noupnp/gupnp-igd.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -fPIC -shared -Wl,-soname,$(@F) -o $@ $< \
	    $$(pkg-config --libs gobject-2.0)

# Completions are generated from each command's option table
# (`cs-X --dump-options`), so they cannot drift from --help.
completions: build
	@scripts/gen-completions.sh $(B) completions

# Every bats file, against the binaries in $(B).
test: build
	@CS_BIN=$(CURDIR)/$(B) CS_TOOLS=$(CURDIR)/$(O)/tools scripts/run-tests.sh $(TESTS)

# The sanitizer build: bin-asan/ and build-asan/.
ASAN_MAKE = $(MAKE) --no-print-directory O=build-asan B=bin-asan \
	    CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	    LDFLAGS="-fsanitize=address,undefined"

# The ThreadSanitizer build, bin-tsan/ and build-tsan/, and the tests of
# the threaded programs against it (cs-ladder's rung threads, libav*'s
# codec threads logging through lib/log.c, cs-serve's threads). Every
# report is written to build-tsan/reports and fails the target. Races
# inside libav* (not instrumented) are suppressed (tests/tsan.supp), and
# thread leaks are not reported: a second signal _exits on purpose.
TSAN_MAKE = $(MAKE) --no-print-directory O=build-tsan B=bin-tsan \
	    CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=thread" \
	    LDFLAGS="-fsanitize=thread"
TSAN_TESTS ?= tests/cs-ladder.bats tests/cs-serve.bats

tsan-build:
	@$(TSAN_MAKE) build

tsan: deps
	@$(TSAN_MAKE) build
	@rm -rf build-tsan/reports && mkdir -p build-tsan/reports
	@CS_BIN=$(CURDIR)/bin-tsan CS_TOOLS=$(CURDIR)/build-tsan/tools CS_LADDER_TIMEOUT=900 \
	    TSAN_OPTIONS="halt_on_error=0 report_thread_leaks=0 second_deadlock_stack=1 suppressions=$(CURDIR)/tests/tsan.supp log_path=$(CURDIR)/build-tsan/reports/tsan" \
	    scripts/run-tests.sh $(TSAN_TESTS); rc=$$?; \
	    n=$$(cat build-tsan/reports/tsan.* 2>/dev/null | grep -c '^WARNING: ThreadSanitizer'); \
	    echo "tsan: $$n report(s) in build-tsan/reports"; \
	    [ "$$rc" -eq 0 ] && [ "$$n" -eq 0 ]

# libFuzzer targets (tests/fuzz/fuzz_*.c), one per parser of untrusted
# bytes, built with clang against a libcs.a of their own (build-fuzz/).
# `make fuzz` runs each for FUZZ_S seconds from its seed corpus
# (tests/fuzz/corpus/NAME) after replaying its regression inputs
# (tests/fuzz/regress/NAME); `make fuzz-smoke` runs each for FUZZ_SMOKE_S.
FUZZ_S ?= 60
FUZZ_SMOKE_S ?= 3
FUZZ_CC ?= clang
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_MAKE = $(MAKE) --no-print-directory O=build-fuzz B=build-fuzz/bin \
	    CC=$(FUZZ_CC) WARN=-w \
	    CFLAGS="-O1 -g -fno-omit-frame-pointer $(FUZZ_SAN) -fsanitize=fuzzer-no-link"
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(O)/fuzz/%)

fuzz-targets: $(FUZZ_BIN)

$(O)/fuzz/%: tests/fuzz/%.c $(O)/libcs.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer $(ALL_LDFLAGS) -o $@ $^ $(LIBS_ALL)

fuzz-build:
	+@$(FUZZ_MAKE) fuzz-targets

fuzz: fuzz-build
	@scripts/fuzz.sh build-fuzz/fuzz $(FUZZ_S)

fuzz-smoke: fuzz-build
	@scripts/fuzz.sh build-fuzz/fuzz $(FUZZ_SMOKE_S)

# Shell files: bats tests with their helpers, and the scripts. A bats check
# written `[ A ] && B` cannot fail on A (nor can a bare `! cmd`, which
# shellcheck reports): refused as well.
lint:
	@shellcheck -S warning -s bash tests/*.bats tests/*.bash
	@shellcheck -S warning -x scripts/*.sh examples/*.sh examples/*/*.sh bench/*.sh
	@shellcheck -S warning -x deploy/*.sh deploy/*/*.sh
	@! grep -nE '^\s+\[\[? .*\]\]? && (\[|one_line|grep|cmp|diff)' tests/*.bats || \
	    { echo 'lint: in bats, only the last part of `A && B` can fail a test' >&2; false; }

# The layering rules of docs/ARCHITECTURE.md that a compiler does not
# check: short functions, no include cycle or call circle among lib/
# modules, no error printed by lib/.
code-rules: build
	@python3 scripts/check-code.py functions 60
	@python3 scripts/check-code.py cycles
	@python3 scripts/check-code.py calls $(O)/lib
	@python3 scripts/check-code.py prints

# The builds of `make check` run this many compilers at once.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

# Every test against bin/, then the tests tagged `sanitize` (bad input and
# parsers) against the sanitizer build, where a report fails the run; one
# summary line for both.
check: deps lint
	@$(MAKE) --no-print-directory -j$(JOBS) build
	@$(MAKE) --no-print-directory code-rules
	@$(MAKE) --no-print-directory -j$(JOBS) fuzz-smoke
	@$(ASAN_MAKE) -j$(JOBS) build
	@CS_BIN=$(CURDIR)/$(B) CS_TOOLS=$(CURDIR)/$(O)/tools \
	    CS_SANITIZE_BIN=$(CURDIR)/bin-asan \
	    CS_SANITIZE_TOOLS=$(CURDIR)/build-asan/tools scripts/run-tests.sh $(TESTS)

# The fault campaigns of issue 14 at full length (make check runs them
# short): 50 SIGKILLs of cs-segment, 50 publisher restarts per protocol,
# cs-serve under hostile load.
FAULT_RUNS ?= 50
FAULT_TESTS ?= tests/segment-faults.bats tests/ingest-faults.bats tests/serve-faults.bats

faults: deps
	@$(MAKE) --no-print-directory build
	@CS_FAULT_RUNS=$(FAULT_RUNS) scripts/run-tests.sh $(FAULT_TESTS)

asan-build:
	@$(ASAN_MAKE) build

asan: deps
	@$(ASAN_MAKE) test

demo: deps
	@$(MAKE) --no-print-directory build
	@examples/live-local.sh

install: build
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	install -m 755 $(PROGRAMS) $(DESTDIR)$(BINDIR)
	for m in $(MANPAGES); do \
	    s=$${m##*.}; install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s; done
	for f in completions/bash/*; do \
	    [ -f "$$f" ] && install -m 644 $$f $(DESTDIR)$(BASHCOMPDIR); done; true
	for f in completions/zsh/_*; do \
	    [ -f "$$f" ] && install -m 644 $$f $(DESTDIR)$(ZSHCOMPDIR); done; true

# The container image (deploy/image/build.sh): a Debian 12 root file system
# made by mmdebstrap from the Debian archive, built with buildah or podman;
# several minutes. IMAGE_TAG defaults to livestreamx:VERSION.
.PHONY: image
image: build
	@deploy/image/build.sh $(if $(IMAGE_TAG),-t $(IMAGE_TAG))

uninstall:
	for p in $(PROGRAMS); do rm -f $(DESTDIR)$(BINDIR)/$${p##*/}; done

clean:
	rm -rf build build-asan bin bin-asan build-tsan bin-tsan build-fuzz

-include $(LIB_OBJ:.o=.d) $(CMD_SRC:cmd/%.c=$(O)/cmd/%.d) $(CMD_COMMON:.o=.d)
