#!/usr/bin/env bash
# Usage: fuzz/run.sh [SECONDS] [TARGET...]   (make fuzz SECONDS=N)
#
# Builds the libFuzzer targets with the stable toolchain (the sanitizer-
# coverage flags cargo-fuzz passes, no nightly-only ones: no ASan, which
# matters little here since the code under test has no `unsafe` parsing; the
# C view's pointers are checked by Miri and `make asan`), then runs each
# target for SECONDS (default 60) on fuzz/corpus/<target>, seeded from
# fuzz/seeds/<target>. A crash stops the run and leaves its input in
# fuzz/artifacts/<target>/: copy it to fuzz/regressions/<target>/ with the
# fix, and `make test` replays it from then on (tests/fuzz_replay.rs).
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(reply http request_target h2_frames hpack grpc dns v3_answers)

triple=$(rustc -vV | sed -n 's/^host: //p')
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
# --target keeps these flags off build scripts.
cargo build --release --bins --target "$triple"

for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  echo "== fuzzing $t for ${seconds}s"
  "target/$triple/release/$t" "corpus/$t" "seeds/$t" \
    -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="artifacts/$t/"
done
