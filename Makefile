# libasyncring — build, install, test, demo.
#
#   make                 build the shared and static libraries (release)
#   make test            every test: lint, Rust, C (ASan), header, symbols, echo, Zig, Swift
#   make lint            rustfmt --check, clippy -D warnings (all targets), zig fmt --check
#   make demo            the library at work: the C echo server under the load generator
#   make bench           the benchmark suite (bench/RESULTS.md)
#   make torture SEED= OPS=   the torture test with its oracle, long (tests/torture)
#   make fuzz            fuzz the C API for FUZZ_SECONDS (600) with libFuzzer (tests/fuzz)
#   make install PREFIX=/usr/local DESTDIR=   /  make uninstall
#   make header          regenerate include/asyncring.h (pinned cbindgen)

VERSION    := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
MAJOR      := $(word 1,$(subst ., ,$(VERSION)))
PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DESTDIR    ?=
CC         ?= cc
CARGO      ?= cargo

RELEASE    := target/release
SONAME     := libasyncring.so.$(MAJOR)
REALNAME   := libasyncring.so.$(VERSION)
BUILD      := build
# Tests build against an installed copy of the library, the way users do.
TEST_PREFIX := $(CURDIR)/$(BUILD)/prefix
TEST_PC     := PKG_CONFIG_PATH=$(TEST_PREFIX)/lib/pkgconfig
CFLAGS_TEST := -std=c11 -g -O1 -Wall -Wextra -Werror -fsanitize=address,undefined -fno-omit-frame-pointer

.PHONY: test-fuzz fuzz fuzz-known fuzz-clang
.PHONY: test-torture test-torture-valgrind torture
.PHONY: test-fallback test-rust-fallback test-c-fallback test-torture-fallback test-seccomp
.PHONY: FORCE prefix all lib header lint check-header check-symbols install uninstall test test-rust test-c \
        test-header test-install test-examples test-net test-zig test-swift examples demo bench clean

all: lib

lib: $(RELEASE)/libasyncring.so

# Cargo decides whether anything changed; the files' timestamps then tell make.
$(RELEASE)/libasyncring.so $(RELEASE)/libasyncring.a: FORCE
	$(CARGO) build --release --lib

FORCE:

$(BUILD)/asyncring.pc: asyncring.pc.in Cargo.toml
	@mkdir -p $(BUILD)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|' $< > $@

# --- generated header (committed) ---------------------------------------------------------
CBINDGEN = $(shell scripts/provision-cbindgen.sh)

header:
	$(CBINDGEN) --quiet --config cbindgen.toml --crate asyncring --output include/asyncring.h

check-header:
	@mkdir -p $(BUILD)
	$(CBINDGEN) --quiet --config cbindgen.toml --crate asyncring --output $(BUILD)/asyncring.h
	@diff -u include/asyncring.h $(BUILD)/asyncring.h \
	  || { echo "FAIL: include/asyncring.h is stale: run 'make header' and commit it"; exit 1; }
	@echo "ok: include/asyncring.h is up to date"

check-symbols: lib
	@nm -D --defined-only $(RELEASE)/libasyncring.so | awk '{print $$3}' | sort > $(BUILD)/symbols.txt
	@diff -u include/asyncring.symbols $(BUILD)/symbols.txt \
	  || { echo "FAIL: exported symbols differ from include/asyncring.symbols"; exit 1; }
	@echo "ok: exported symbols match include/asyncring.symbols"

# --- install -------------------------------------------------------------------------------
install: lib $(BUILD)/asyncring.pc
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 755 $(RELEASE)/libasyncring.so $(DESTDIR)$(LIBDIR)/$(REALNAME)
	ln -sf $(REALNAME) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libasyncring.so
	install -m 644 $(RELEASE)/libasyncring.a $(DESTDIR)$(LIBDIR)/libasyncring.a
	install -m 644 include/asyncring.h $(DESTDIR)$(INCLUDEDIR)/asyncring.h
	install -m 644 $(BUILD)/asyncring.pc $(DESTDIR)$(PKGCONFIGDIR)/asyncring.pc

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/$(REALNAME) $(DESTDIR)$(LIBDIR)/$(SONAME) \
	      $(DESTDIR)$(LIBDIR)/libasyncring.so $(DESTDIR)$(LIBDIR)/libasyncring.a \
	      $(DESTDIR)$(INCLUDEDIR)/asyncring.h $(DESTDIR)$(PKGCONFIGDIR)/asyncring.pc

# A private install for tests and examples (a sub-make so PREFIX is set for the .pc file).
$(TEST_PREFIX)/.stamp: $(RELEASE)/libasyncring.so asyncring.pc.in include/asyncring.h
	rm -f $(BUILD)/asyncring.pc
	$(MAKE) --no-print-directory install PREFIX=$(TEST_PREFIX) DESTDIR=
	rm -f $(BUILD)/asyncring.pc
	touch $@

# `make prefix` (or `make build/prefix/.stamp`): the private install the Zig and Swift
# packages and the examples build against.
prefix: $(TEST_PREFIX)/.stamp
$(BUILD)/prefix/.stamp: $(TEST_PREFIX)/.stamp
	@:

# --- tests ---------------------------------------------------------------------------------
test: lint test-rust check-header check-symbols test-header test-install test-c test-torture test-torture-valgrind test-examples test-net test-fallback test-zig test-swift test-fuzz
	@echo "make test: all suites passed"

test-rust:
	$(CARGO) test --quiet

# The code stays clean because CI checks it, not by habit.
ZIG_FMT_PATHS := $(wildcard build.zig) zig
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets --quiet -- -D warnings
	$$(scripts/provision-zig.sh) fmt --check $(ZIG_FMT_PATHS)
	@echo "ok: lint (rustfmt, clippy, zig fmt)"

C_TESTS := $(sort $(basename $(notdir $(wildcard tests/c/t_*.c))))

$(BUILD)/tests/%: tests/c/%.c tests/c/harness.h tests/c/net.h $(TEST_PREFIX)/.stamp
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_TEST) $$($(TEST_PC) pkg-config --cflags asyncring) -o $@ $< \
	    $$($(TEST_PC) pkg-config --libs asyncring) -Wl,-rpath,$(TEST_PREFIX)/lib -lpthread

test-c: $(addprefix $(BUILD)/tests/,$(C_TESTS))
	@tests/c/run.sh $(addprefix $(BUILD)/tests/,$(C_TESTS))

test-install: lib
	@tests/install.sh

# The header compiles on its own, as C11 and as C++17, from the installed prefix.
test-header: $(TEST_PREFIX)/.stamp
	$(CC) -std=c11 -Wall -Wextra -Werror -pedantic -fsyntax-only -I$(TEST_PREFIX)/include tests/header/alone.c
	c++ -std=c++17 -Wall -Wextra -Werror -pedantic -fsyntax-only -I$(TEST_PREFIX)/include -x c++ tests/header/alone.c
	@echo "ok: asyncring.h compiles alone as C11 and C++17"

# The Zig package (zig/), built and tested with Zig 0.17.1 and 0.16.0 against the private prefix.
test-zig: $(TEST_PREFIX)/.stamp
	zig/test.sh $(TEST_PREFIX)

# The Swift package (Package.swift, swift/): Swift 6 mode, warnings as errors, XCTest.
test-swift: $(TEST_PREFIX)/.stamp
	swift/test.sh

# --- fuzzing (tests/fuzz): libFuzzer over the whole C API ----------------------------------
# The fuzzer links its own build of the library (build/fuzz-target): the Rust code carries
# libFuzzer's coverage instrumentation (sancov), debug assertions, overflow checks and
# panic=abort, so coverage guides it through the library's branches and any panic is a crash.
# A second binary links the installed shared library, as users do, and replays the saved
# inputs too. Both run under ASan, UBSan and LeakSanitizer.
# `make test-fuzz` replays tests/fuzz/corpus and tests/fuzz/regressions, then fuzzes for
# FUZZ_TEST_SECONDS; `make fuzz FUZZ_SECONDS=3600 FUZZ_JOBS=2` runs long; `make fuzz-known`
# replays the reproducers of reported, unfixed defects (tests/fuzz/known).
FUZZ_CC           ?= clang-14
FUZZ_SECONDS      ?= 600
FUZZ_TEST_SECONDS ?= 60
FUZZ_CFLAGS := -std=gnu11 -g -O1 -Wall -Wextra -Werror -fno-omit-frame-pointer \
               -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_SRCS   := tests/fuzz/fuzz_api.c tests/fuzz/fuzz_world.c
FUZZ_TRIPLE := $(shell rustc -vV 2>/dev/null | sed -n 's/^host: //p')
FUZZ_LIB    := $(BUILD)/fuzz-target/$(FUZZ_TRIPLE)/release/libasyncring.a
# --target keeps these flags off build scripts, which run on the host uninstrumented.
FUZZ_RUSTFLAGS := -C passes=sancov-module -C llvm-args=-sanitizer-coverage-level=3 \
                  -C llvm-args=-sanitizer-coverage-inline-8bit-counters \
                  -C llvm-args=-sanitizer-coverage-pc-table -C llvm-args=-sanitizer-coverage-trace-compares

$(FUZZ_LIB): FORCE
	CARGO_TARGET_DIR=$(BUILD)/fuzz-target RUSTFLAGS='$(FUZZ_RUSTFLAGS)' \
	CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS=true CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS=true \
	CARGO_PROFILE_RELEASE_PANIC=abort $(CARGO) build --quiet --release --lib --target $(FUZZ_TRIPLE)

fuzz-clang:
	@scripts/provision-debian.sh clang-14 libclang-rt-14-dev

$(BUILD)/fuzz/fuzz_api: $(FUZZ_SRCS) tests/fuzz/fuzz.h include/asyncring.h $(FUZZ_LIB) | fuzz-clang
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Iinclude -o $@ $(FUZZ_SRCS) $(FUZZ_LIB) -lpthread -ldl -lm

$(BUILD)/fuzz/fuzz_api_so: $(FUZZ_SRCS) tests/fuzz/fuzz.h $(TEST_PREFIX)/.stamp | fuzz-clang
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -I$(TEST_PREFIX)/include -o $@ $(FUZZ_SRCS) \
	    -L$(TEST_PREFIX)/lib -lasyncring -Wl,-rpath,$(TEST_PREFIX)/lib -lpthread

test-fuzz: $(BUILD)/fuzz/fuzz_api $(BUILD)/fuzz/fuzz_api_so
	@FUZZ_TEST_SECONDS=$(FUZZ_TEST_SECONDS) tests/fuzz/run.sh test $^

fuzz: $(BUILD)/fuzz/fuzz_api
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh long $<

fuzz-known: $(BUILD)/fuzz/fuzz_api $(BUILD)/fuzz/fuzz_api_so
	@tests/fuzz/run.sh known $^

# --- torture test (tests/torture): every operation family, every ring mode, an oracle -------
# A seeded random mix of operations on pipes, socketpairs, TCP loopback and files, with
# cancels, deadlines, chains, drains, multishot receives into tiny groups and rings freed
# mid-flight; the oracle checks every id's callbacks, every byte and ar_ring_inflight, and a
# watchdog turns a hang in ar_ring_free into a failure that prints the seed.
# `make test-torture` runs a bounded pass under ASan+UBSan (TORTURE_TEST_OPS per mode),
# `make test-torture-valgrind` a short memcheck pass of a build without sanitizers, and
# `make torture SEED=... OPS=...` long ones (OPS per mode; TORTURE_ARGS for e.g. --mode tiny).
TORTURE_TEST_OPS     ?= 30000
TORTURE_VALGRIND_OPS ?= 4000
OPS                  ?= 500000
SEED                 ?=
TORTURE_ARGS         ?=
TORTURE_SEED_ARG      = $(if $(SEED),--seed $(SEED))
# The bounded passes in `make test` use a fixed seed (reproducible; thread timing still varies).
TORTURE_TEST_SEED    ?= 1
TORTURE_CFLAGS       := -std=gnu11 -g -O1 -Wall -Wextra -Werror -fno-omit-frame-pointer

$(BUILD)/torture/torture: tests/torture/torture.c $(TEST_PREFIX)/.stamp
	@mkdir -p $(dir $@)
	$(CC) $(TORTURE_CFLAGS) -fsanitize=address,undefined $$($(TEST_PC) pkg-config --cflags asyncring) -o $@ $< \
	    $$($(TEST_PC) pkg-config --libs asyncring) -Wl,-rpath,$(TEST_PREFIX)/lib -lpthread

$(BUILD)/torture/torture-plain: tests/torture/torture.c $(TEST_PREFIX)/.stamp
	@mkdir -p $(dir $@)
	$(CC) $(TORTURE_CFLAGS) $$($(TEST_PC) pkg-config --cflags asyncring) -o $@ $< \
	    $$($(TEST_PC) pkg-config --libs asyncring) -Wl,-rpath,$(TEST_PREFIX)/lib -lpthread

test-torture: $(BUILD)/torture/torture
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	    $< --seed $(if $(SEED),$(SEED),$(TORTURE_TEST_SEED)) --ops $(TORTURE_TEST_OPS) $(TORTURE_ARGS)

test-torture-valgrind: $(BUILD)/torture/torture-plain
	@scripts/provision-debian.sh valgrind
	@valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
	    $< --seed $(if $(SEED),$(SEED),$(TORTURE_TEST_SEED)) --ops $(TORTURE_VALGRIND_OPS) --no blockrun --free-timeout 60 $(TORTURE_ARGS)

torture: $(BUILD)/torture/torture
	ASAN_OPTIONS=detect_leaks=1 $< $(TORTURE_SEED_ARG) --ops $(OPS) --mode-timeout 7200 $(TORTURE_ARGS)

# --- the fallback backend (src/kernel/fallback) --------------------------------------------
# The suites that exercise the core run again on the fallback backend, forced with
# ASYNCRING_BACKEND=fallback (the Zig and Swift scripts do the same for theirs), and the C
# suite and the echo demo run once more under a real seccomp filter that refuses io_uring the
# way Docker's default profile does (tests/seccomp/no_uring.c): there, default rings must
# fall back by themselves. The tests that need io_uring itself (the probe) skip there.
TORTURE_FALLBACK_OPS ?= 10000

test-fallback: test-rust-fallback test-c-fallback test-torture-fallback test-seccomp

test-rust-fallback:
	ASYNCRING_BACKEND=fallback $(CARGO) test --quiet

test-c-fallback: $(addprefix $(BUILD)/tests/,$(C_TESTS))
	@ASYNCRING_BACKEND=fallback SUITE=c-fallback tests/c/run.sh $(addprefix $(BUILD)/tests/,$(C_TESTS))

test-torture-fallback: $(BUILD)/torture/torture
	@ASYNCRING_BACKEND=fallback ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	    $< --seed $(if $(SEED),$(SEED),$(TORTURE_TEST_SEED)) --ops $(TORTURE_FALLBACK_OPS) $(TORTURE_ARGS)

$(BUILD)/no_uring: tests/seccomp/no_uring.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -o $@ $<

test-seccomp: $(BUILD)/no_uring $(addprefix $(BUILD)/tests/,$(C_TESTS)) $(BUILD)/tests/echo_server $(BUILD)/loadgen
	@SUITE=c-seccomp $(BUILD)/no_uring tests/c/run.sh $(addprefix $(BUILD)/tests/,$(C_TESTS))
	@ASAN_OPTIONS=detect_leaks=1 SUITE=echo-seccomp $(BUILD)/no_uring tests/net/echo.sh $(BUILD)/tests/echo_server $(BUILD)/loadgen

# --- demo ----------------------------------------------------------------------------------
$(BUILD)/examples/%: examples/c/%.c $(TEST_PREFIX)/.stamp
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror $$($(TEST_PC) pkg-config --cflags asyncring) -o $@ $< \
	    $$($(TEST_PC) pkg-config --libs asyncring) -Wl,-rpath,$(TEST_PREFIX)/lib

EXAMPLES := $(addprefix $(BUILD)/examples/,checksum host_loop echo_server thread_pool)

examples: $(EXAMPLES)

$(BUILD)/loadgen: bench/loadgen.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -o $@ $< -lpthread

demo: $(BUILD)/examples/echo_server $(BUILD)/loadgen
	@examples/demo.sh $(BUILD)/examples/echo_server $(BUILD)/loadgen

# The echo example under ASan, for the network tests.
$(BUILD)/tests/echo_server: examples/c/echo_server.c $(TEST_PREFIX)/.stamp
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -std=c11,$(CFLAGS_TEST)) -std=gnu11 $$($(TEST_PC) pkg-config --cflags asyncring) -o $@ $< \
	    $$($(TEST_PC) pkg-config --libs asyncring) -Wl,-rpath,$(TEST_PREFIX)/lib

test-net: $(BUILD)/tests/echo_server $(BUILD)/loadgen
	@ASAN_OPTIONS=detect_leaks=1 tests/net/echo.sh $(BUILD)/tests/echo_server $(BUILD)/loadgen

# The examples run as tests too: they must build warning-free and do what they print.
test-examples: $(EXAMPLES)
	@$(BUILD)/examples/checksum /proc/self/exe >/dev/null && echo "ok: examples/c/checksum"
	@printf 'hello\n' | $(BUILD)/examples/host_loop | grep -q 'read 6 bytes: hello' && echo "ok: examples/c/host_loop"
	@$(BUILD)/examples/thread_pool | grep -q '^64 of 64 reads' && echo "ok: examples/c/thread_pool"
	@$(BUILD)/examples/thread_pool sqpoll | grep -q '^64 of 64 reads' && echo "ok: examples/c/thread_pool sqpoll"


# --- benchmarks (bench/run.py; results in bench/RESULTS.md) --------------------------------
BENCH_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror

$(BUILD)/nop_c $(BUILD)/file_c: $(BUILD)/%: bench/%.c $(TEST_PREFIX)/.stamp
	$(CC) $(BENCH_CFLAGS) $$($(TEST_PC) pkg-config --cflags asyncring) -o $@ $< \
	    $$($(TEST_PC) pkg-config --libs asyncring) -Wl,-rpath,$(TEST_PREFIX)/lib

$(BUILD)/malloc_count.so: bench/malloc_count.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -shared -fPIC -Wall -Wextra -Werror -o $@ $< -ldl

$(BUILD)/echo_epoll: bench/baselines/echo_epoll.c
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -o $@ $<

$(BUILD)/file_pool: bench/baselines/file_pool.c
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -o $@ $< -lpthread

$(BUILD)/echo_uring_raw: bench/baselines/echo_uring_raw.c
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -o $@ $< -luring

bench:
	scripts/provision-debian.sh liburing-dev linux-perf pkg-config valgrind
	python3 bench/run.py

clean:
	$(CARGO) clean
	rm -rf $(BUILD) .zig-cache zig-out .build
