#!/usr/bin/env bash
# Benchmark: whole-process wall time to open a BTF file, index it and resolve
# 200 STRUCT.member pairs (bench/pairs.txt), ours vs a C program on libbpf,
# side by side in one run. Both must print identical offsets first.
#
#   bench/btf_resolve.sh [BTF_FILE]     (default /sys/kernel/btf/vmlinux)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BTF=${1:-/sys/kernel/btf/vmlinux}
PAIRS=$REPO/bench/pairs.txt
OUT=$REPO/target/bench
mkdir -p "$OUT"

need() { command -v "$1" >/dev/null || { echo "installing $2" >&2; apt-get install -y -qq "$2" >/dev/null; }; }
need hyperfine hyperfine
need gcc gcc
[ -f /usr/include/bpf/btf.h ] || apt-get install -y -qq libbpf-dev pkg-config >/dev/null

gcc -O2 -o "$OUT/libbpf_resolve" "$REPO/bench/libbpf_resolve.c" $(pkg-config --cflags --libs libbpf)
cargo build -q --release -p ktype-runtime --example resolve_pairs --manifest-path "$REPO/Cargo.toml"
OURS=$REPO/target/release/examples/resolve_pairs

if ! diff <("$OURS" "$BTF" "$PAIRS") <("$OUT/libbpf_resolve" "$BTF" "$PAIRS") >/dev/null; then
	echo "ours and libbpf disagree:" >&2
	diff <("$OURS" "$BTF" "$PAIRS") <("$OUT/libbpf_resolve" "$BTF" "$PAIRS") | sed -n '1,10p' >&2
	exit 1
fi
unresolved=$("$OURS" "$BTF" "$PAIRS" | grep -c ' -1$' || true)
echo "both resolved $(wc -l <"$PAIRS") pairs identically ($unresolved not in this kernel) from $BTF"
hyperfine -N --warmup 5 --runs 50 --style basic --export-markdown "$OUT/btf_resolve.md" \
	-n "ktype (ours)" "$OURS $BTF $PAIRS" \
	-n "libbpf $(pkg-config --modversion libbpf)" "$OUT/libbpf_resolve $BTF $PAIRS" >/dev/null
cat "$OUT/btf_resolve.md"
