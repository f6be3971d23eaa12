#!/usr/bin/env bash
# Benchmark: start-up of a dump tool on a real 1 GiB dump with no vmlinux:
# ours = kallsyms decoded from the dump + vmlinux and module BTF read from it
# + every binding resolved (in-process, best of 20); the anchor is the whole
# makedumpfile process up to its page classification (`--dry-run -d 31`),
# which sets up its kernel knowledge from VMCOREINFO.
#
#   bench/dump_bootstrap.sh
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FIX=${FIXTURES_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ktype-fixtures}
OUT=$REPO/target/bench
mkdir -p "$OUT"
bash "$REPO/scripts/fixtures.sh" vmcores --mem 1024 bookworm trixie >&2
cargo build -q --release -p dumptool --example bootstrap --manifest-path "$REPO/Cargo.toml"
printf '| 1 GiB dump | ours: kallsyms + BTF + resolve (ms) | makedumpfile --dry-run -d 31 (ms, whole process) |\n|---|---:|---:|\n'
for suite in bookworm trixie; do
	for fmt in elf kdump-zlib; do
		src=$FIX/vmcores/$suite-1024/vmcore.$fmt
		ours=$("$REPO/target/release/examples/bootstrap" "$src" 20 2>/dev/null)
		norm=$OUT/$suite-1024.norm.elf
		[ "$norm" -nt "$FIX/vmcores/$suite-1024/vmcore.elf" ] || python3 "$REPO/scripts/normalize_elf.py" "$FIX/vmcores/$suite-1024/vmcore.elf" "$norm" >&2
		m=$(python3 -c "
import subprocess,time
best=9e9
for _ in range(10):
    t=time.monotonic(); subprocess.run(['makedumpfile','--dry-run','-d','31','$norm','$OUT/x'],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL); best=min(best,time.monotonic()-t)
print(f'{best*1e3:.1f}')")
		printf '| %s %s | %s | %s |\n' "$suite" "$fmt" "$ours" "$m"
	done
done
