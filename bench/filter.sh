#!/usr/bin/env bash
# Benchmark of the main job: dumptool filter vs makedumpfile 1.7.8 (Debian
# sid's build, which has every codec: zlib, lzo, snappy, zstd) on a real
# dump made by scripts/fixtures.sh, side by side in one run: whole-process
# wall time, peak anonymous memory and output size on disk, best of RUNS, on one
# thread (both tools' default) and on two.
#
#   bench/filter.sh [RUNS] [SUITE] [MEM_MiB]     (defaults: 3 bookworm 3072)
#
# The anchor must really do the work: a makedumpfile that lacks a codec
# (sid's has no snappy) stores raw pages with a warning, and such a row
# would compare nothing, so
# the script leaves such a job without numbers.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${1:-3}
SUITE=${2:-bookworm}
MEM=${3:-3072}
FIX=${FIXTURES_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ktype-fixtures}
OUT=$REPO/target/bench
mkdir -p "$OUT"
bash "$REPO/scripts/fixtures.sh" tools >&2
bash "$REPO/scripts/fixtures.sh" vmcores --mem "$MEM" "$SUITE" >&2
# fixtures.sh names a dump of its default size after the suite alone.
DEFAULT_MEM=$(sed -n 's/^DEFAULT_MEM=//p' "$REPO/scripts/fixtures.sh")
NAME=$SUITE-$MEM
[ "$MEM" = "$DEFAULT_MEM" ] && NAME=$SUITE
SRC=$FIX/vmcores/$NAME/vmcore.elf
NORM=$OUT/$NAME.norm.elf
[ "$NORM" -nt "$SRC" ] || python3 "$REPO/scripts/normalize_elf.py" "$SRC" "$NORM" >&2
cargo build -q --release -p dumptool --manifest-path "$REPO/Cargo.toml"
OURS=$REPO/target/release/dumptool
MDF=$FIX/tools/makedumpfile-sid/makedumpfile
MDF_VERSION=$("$MDF" -v 2>&1 | awk 'NR == 1')

best() { # CMD... : "wall anon_kib size" of the fastest of RUNS runs; "failed in N/RUNS runs" if any fails
	local b="" line failed=0 size
	for _ in $(seq "$RUNS"); do
		rm -f "$OUT/out"
		if ! line=$(python3 "$REPO/bench/run_measured.py" "$@"); then
			failed=$((failed + 1))
			continue
		fi
		# Bytes on disk (an ELF output's excluded memory is a hole).
		size=$(stat -c '%b %B' "$OUT/out" 2>/dev/null | awk '{ print $1 * $2 }')
		if [ -z "$b" ] || awk -v a="${line% *}" -v c="${b%% *}" 'BEGIN{exit !(a<c)}'; then b="$line $size"; fi
	done
	rm -f "$OUT/out"
	if [ "$failed" -gt 0 ]; then echo "failed in $failed/$RUNS runs"; else echo "$b"; fi
}

# Ours must not fail; makedumpfile's failures are shown in the table.
ours() {
	local r
	r=$(best "$OURS" "$@")
	case "$r" in failed*) echo "dumptool $* $r" >&2; exit 1 ;; esac
	echo "$r"
}

echo "anchor: $MDF_VERSION; dump: $SRC ($(($(stat -c %s "$SRC") >> 20)) MiB); best of $RUNS"
printf '| job | dumptool s | makedumpfile s | time ratio | dumptool MiB out | makedumpfile MiB out | size ratio | dumptool anon MiB | makedumpfile anon MiB | dumptool 2 threads s | makedumpfile 2 threads s |\n'
printf '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n'
for job in "-d 31 -l" "-d 31 -z" "-d 31 -c" "-d 31 -p" "-d 31 -E" "-d 0 -z" "-d 0 -l"; do
	# shellcheck disable=SC2086
	dry=$("$MDF" $job --dry-run "$NORM" "$OUT/x" 2>&1 || true)
	if grep -i "disabled\|not supported" <<<"$dry" >/dev/null; then
		# No row that compares nothing: the job is named, without numbers.
		printf '| `%s` | - | makedumpfile lacks the codec (it would store raw pages): no anchor | | | | | | | | |\n' "$job"
		continue
	fi
	# shellcheck disable=SC2086
	o=$(ours filter $job "$SRC" "$OUT/out")
	# shellcheck disable=SC2086
	m=$(best "$MDF" $job "$NORM" "$OUT/out")
	# shellcheck disable=SC2086
	o2=$(ours filter $job --threads 2 "$SRC" "$OUT/out")
	case "$job" in
	*-E*) m2="n/a" ;;
	# shellcheck disable=SC2086
	*) m2=$(best "$MDF" $job --num-threads 2 "$NORM" "$OUT/out") ;;
	esac
	awk -v j="$job" -v o="$o" -v m="$m" -v o2="$o2" -v m2="$m2" 'BEGIN{split(o,a," "); split(m,b," "); split(o2,c," "); split(m2,d," ");
		if (m ~ /^failed/) { ms = m; mm = "-"; rt = "-"; msz = "-"; rs = "-" }
		else { ms = b[1]; mm = sprintf("%.1f", b[2]/1024); rt = sprintf("%.2fx", a[1]/b[1]); msz = sprintf("%.1f", b[3]/1048576); rs = sprintf("%.3f", a[3]/b[3]) }
		m2s = (m2 == "n/a") ? "n/a (refuses -E)" : (m2 ~ /^failed/ ? m2 : d[1])
		printf("| `%s` | %.2f | %s | %s | %.1f | %s | %s | %.1f | %s | %.2f | %s |\n", j, a[1], ms, rt, a[3]/1048576, msz, rs, a[2]/1024, mm, c[1], m2s)}'
done
