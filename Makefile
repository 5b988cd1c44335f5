# etcdc — the two commands:
#   make demo   build, start a throwaway etcd, run the C quick starts (v2, v3), stop etcd
#   make test   every check: fmt, clippy, header, Rust tests, C tests under valgrind
#
# After changing src/ffi/, `make header` rewrites include/etcdc.h (commit it).
#
# Both install etcd (Debian's etcd-server) when it is missing and they can;
# otherwise they say what to do. ETCD_BIN=/path/to/etcd uses another binary.

CARGO ?= cargo
ifdef ETCD_BIN
export ETCD_BIN
endif

.PHONY: all build release demo test ensure-etcd ensure-tools fmt clippy header check-header proto check-proto \
        rust-test c-test asan check-exports link-test python-test python-wheel bench bench-smoke fuzz fuzz-replay \
        install uninstall clean

PREFIX  ?= /usr/local
DESTDIR ?=
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
# The C ABI number, the soname's: libetcdc.so.$(ABI) ([package.metadata.etcdc] in Cargo.toml).
ABI     := $(shell sed -n '/^\[package\.metadata\.etcdc\]/,/^\[/s/^abi *= *\([0-9][0-9]*\).*/\1/p' Cargo.toml)
ifeq ($(ABI),)
$(error Cargo.toml has no ABI number: add `abi = 1` under [package.metadata.etcdc])
endif
LIBDIR   = $(DESTDIR)$(PREFIX)/lib
INCDIR   = $(DESTDIR)$(PREFIX)/include

all: build

build:
	$(CARGO) build

release:
	$(CARGO) build --release

ensure-etcd:
	@scripts/ensure-etcd.sh >/dev/null

# valgrind and a C++ compiler for the C checks.
ensure-tools:
	@scripts/ensure-tools.sh

demo: ensure-etcd build
	$(MAKE) -C examples-c build/quickstart build/v3_quickstart
	scripts/with-etcd.sh sh -c 'examples-c/build/quickstart && echo && examples-c/build/v3_quickstart'

test: ensure-etcd ensure-tools fmt clippy check-header check-proto rust-test fuzz-replay c-test asan \
      check-exports link-test python-test bench-smoke
	@echo "make test: all checks passed"

fmt:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --all-targets --features fuzzing -- -D warnings

# include/etcdc.h is generated from src/ffi/ by tools/gen-header (cbindgen, then
# ordered as a manual) and committed: `make header` rewrites it, `make
# check-header` fails when the committed one is not what it would write. The
# tool is its own crate, built into target/tools/: building etcdc itself never
# compiles cbindgen.
GEN_HEADER = CARGO_TARGET_DIR=$(CURDIR)/target/tools $(CARGO) run --quiet --locked \
             --manifest-path tools/gen-header/Cargo.toml -- --crate $(CURDIR)

header:
	$(GEN_HEADER) include/etcdc.h

check-header:
	@tmp=$$(mktemp "$${TMPDIR:-/tmp}/etcdc.h.XXXXXX") && trap 'rm -f "$$tmp"' EXIT && \
	  $(GEN_HEADER) "$$tmp" && \
	  { cmp -s "$$tmp" include/etcdc.h || \
	    { diff -u include/etcdc.h "$$tmp" | head -n 40; \
	      echo "include/etcdc.h is out of date: run make header and commit it"; exit 1; }; }
	$(MAKE) -C examples-c header readme

# src/v3/proto/ is generated from etcd's .proto files in proto/ (see
# proto/README.md) by tools/gen-proto (protox + prost-build: no protoc) and
# committed: `make proto` rewrites it, `make check-proto` fails when the
# committed files are not what it would write, or when proto/ is not what
# proto/SOURCES records. The tool is its own crate, built into target/tools/.
GEN_PROTO = CARGO_TARGET_DIR=$(CURDIR)/target/tools $(CARGO) run --quiet --locked \
            --manifest-path tools/gen-proto/Cargo.toml -- --root $(CURDIR)

proto:
	$(GEN_PROTO) src/v3/proto

check-proto:
	@cd proto && sed '1,/^$$/d' SOURCES | sha256sum --check --quiet --strict || \
	  { echo "proto/ differs from proto/SOURCES: vendor it again with proto/vendor.sh (see proto/README.md)"; exit 1; }
	@tmp=$$(mktemp -d "$${TMPDIR:-/tmp}/etcdc-proto.XXXXXX") && trap 'rm -rf "$$tmp"' EXIT && \
	  $(GEN_PROTO) "$$tmp" && \
	  { diff -r src/v3/proto "$$tmp" >/dev/null || \
	    { diff -ru src/v3/proto "$$tmp" | head -n 40; \
	      echo "src/v3/proto is out of date: run make proto and commit it"; exit 1; }; }

rust-test:
	$(CARGO) test

# The fuzz seeds and every input the fuzzer found a bug with, replayed.
fuzz-replay:
	$(CARGO) test --features fuzzing --test fuzz_replay

# Coverage-guided fuzzing (libFuzzer, stable toolchain): each target for
# SECONDS (default 60). Not part of make test. See fuzz/run.sh.
SECONDS ?= 60
fuzz:
	fuzz/run.sh $(SECONDS)

c-test: build
	$(MAKE) -C examples-c all
	scripts/with-etcd.sh $(MAKE) -C examples-c run
	ETCD_TLS=1 scripts/with-etcd.sh $(MAKE) -C examples-c run-secure

# The C examples and tests again, built with -fsanitize=address,undefined.
asan: build
	scripts/with-etcd.sh $(MAKE) -C examples-c asan
	ETCD_TLS=1 scripts/with-etcd.sh $(MAKE) -C examples-c asan-secure

# The shared library exports the etcdc_* functions and nothing else.
check-exports: release
	@bad=$$(nm -D --defined-only target/release/libetcdc.so | awk '{print $$3}' | grep -v '^etcdc_' || true); \
	  if [ -n "$$bad" ]; then echo "libetcdc.so exports more than etcdc_*:"; echo "$$bad"; exit 1; fi; \
	  echo "libetcdc.so exports $$(nm -D --defined-only target/release/libetcdc.so | wc -l) symbols, all etcdc_*"
	@readelf -d target/release/libetcdc.so | grep -q 'SONAME.*\[libetcdc.so.$(ABI)\]' || \
	  { echo "libetcdc.so has no soname libetcdc.so.$(ABI)"; exit 1; }

# Install into a temporary prefix, build C and C++ with pkg-config (shared
# and static), run them against etcd, uninstall.
link-test: release
	scripts/link-test.sh

# The Python binding (bindings/python) in a venv, pytest against etcd; then
# its wheel, as a user gets it (python-wheel).
python-test: release
	bindings/python/run-tests.sh -q
	bindings/python/test-wheel.sh

# The binding's wheel (target/python-wheel/, libetcdc.so inside, built by pip
# with setuptools-rust from target/release), installed alone in a fresh venv
# outside the tree, runs python-etcd's README against etcd.
python-wheel: release
	bindings/python/test-wheel.sh

# Benchmarks side by side (etcdc C/Rust/Python, python-etcd, wrk) on one
# throwaway etcd, then etcdc's v3 API against the etcd-client crate (tonic) on
# it and on etcd 3.5.1; prints the tables (also target/bench/results.md). ~25 min.
bench:
	benches/run.sh

# The same with tiny counts, so the benchmark code can't rot (in make test).
bench-smoke:
	SMOKE=1 benches/run.sh

# make install [PREFIX=/usr/local] [DESTDIR=]: the shared library
# (libetcdc.so.$(VERSION)) with its soname link (libetcdc.so.$(ABI)) and the
# link-time name (libetcdc.so), the static library, the header and etcdc.pc.
install: release
	install -d $(LIBDIR)/pkgconfig $(INCDIR)
	install -m 0755 target/release/libetcdc.so $(LIBDIR)/libetcdc.so.$(VERSION)
	ln -sf libetcdc.so.$(VERSION) $(LIBDIR)/libetcdc.so.$(ABI)
	ln -sf libetcdc.so.$(ABI) $(LIBDIR)/libetcdc.so
	install -m 0644 target/release/libetcdc.a $(LIBDIR)/libetcdc.a
	install -m 0644 include/etcdc.h $(INCDIR)/etcdc.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' etcdc.pc.in > $(LIBDIR)/pkgconfig/etcdc.pc
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then ldconfig; fi

uninstall:
	rm -f $(LIBDIR)/libetcdc.so.$(VERSION) $(LIBDIR)/libetcdc.so.$(ABI) $(LIBDIR)/libetcdc.so \
	      $(LIBDIR)/libetcdc.a $(INCDIR)/etcdc.h $(LIBDIR)/pkgconfig/etcdc.pc

clean:
	$(CARGO) clean
	$(MAKE) -C examples-c clean
