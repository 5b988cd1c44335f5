# etcdc — the two commands:
#   make demo   build, start a throwaway etcd, run the C quick start, stop etcd
#   make test   every check: fmt, clippy, header, Rust tests, C tests under valgrind
#
# Both install etcd (Debian's etcd-server) when it is missing and they can;
# otherwise they say what to do. ETCD_BIN=/path/to/etcd uses another binary.

CARGO ?= cargo
ifdef ETCD_BIN
export ETCD_BIN
endif

.PHONY: all build demo test ensure-etcd ensure-tools fmt clippy check-header rust-test c-test clean

all: build

build:
	$(CARGO) build

ensure-etcd:
	@scripts/ensure-etcd.sh >/dev/null

# valgrind and a C++ compiler for the C checks.
ensure-tools:
	@scripts/ensure-tools.sh

demo: ensure-etcd build
	$(MAKE) -C examples-c build/quickstart
	scripts/with-etcd.sh examples-c/build/quickstart

test: ensure-etcd ensure-tools fmt clippy check-header rust-test c-test
	@echo "make test: all checks passed"

fmt:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --all-targets -- -D warnings

# build.rs regenerates include/etcdc.h; it must equal the committed one.
check-header: build
	@git diff --exit-code --stat -- include/etcdc.h || \
	  { echo "include/etcdc.h differs from what build.rs generates: commit the regenerated header"; exit 1; }
	$(MAKE) -C examples-c header readme

rust-test:
	$(CARGO) test

c-test: build
	$(MAKE) -C examples-c all
	scripts/with-etcd.sh $(MAKE) -C examples-c run

clean:
	$(CARGO) clean
	$(MAKE) -C examples-c clean
