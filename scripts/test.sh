#!/usr/bin/env bash
# The project's whole test suite, from a fresh Debian machine:
# installs the tools, builds the real-kernel fixtures, then runs every check.
#
#   scripts/test.sh
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
step() { printf '\n== %s (%s)\n' "$*" "$(date +%T)"; }

step "tools and fixtures"
bash scripts/fixtures.sh tools
bash scripts/fixtures.sh kernels
bash scripts/fixtures.sh vmcores
bash scripts/fixtures.sh kdump
bash scripts/fixtures.sh arm64

step "format and lints"
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# rustdoc: no broken or ambiguous intra-doc links, no private items linked from public docs.
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace --locked
# examples/ is a crate outside the workspace (what a user's own tool looks like).
cargo fmt --manifest-path examples/Cargo.toml --check
cargo clippy --manifest-path examples/Cargo.toml --locked --target-dir target -- -D warnings

step "fuzz targets build (their own workspace: fuzz/)"
cargo build --locked --manifest-path fuzz/Cargo.toml --target-dir target/fuzz-build

step "release build (the kdump test puts it in its guest)"
cargo build --release --locked -p dumptool

step "tests"
status=0
cargo test --workspace --locked --no-fail-fast 2>&1 | tee target/test-output.txt || status=$?
# The fuzz targets replay their seeds (written by the tests above): no panic on any.
for target in btf_parse btf_split dump_open; do
    target/fuzz-build/debug/$target -runs=0 "target/fuzz-corpus/$target" 2>&1 | tail -1 || status=$?
done
# One closing line for the whole suite, counted from cargo's per-binary lines
# (printed on failure too, then cargo's exit status is passed on).
awk '/^test result:/ { p += $4; f += $6; i += $8 } END { printf "\nsuite: %d passed, %d failed, %d skipped\n", p, f, i }' target/test-output.txt
exit "$status"
