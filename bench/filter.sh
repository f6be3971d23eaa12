#!/usr/bin/env bash
# Benchmark of the main job: dumptool filter vs Debian's makedumpfile on a
# real 3 GiB 6.1 dump (made by scripts/fixtures.sh), side by side in one run:
# whole-process wall time and peak anonymous memory, best of RUNS, on one
# thread and on two.
#
#   bench/filter.sh [RUNS]        (default 3)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${1:-3}
FIX=${FIXTURES_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ktype-fixtures}
OUT=$REPO/target/bench
mkdir -p "$OUT"
bash "$REPO/scripts/fixtures.sh" vmcores --mem 3072 bookworm >&2
SRC=$FIX/vmcores/bookworm-3072/vmcore.elf
NORM=$OUT/bookworm-3072.norm.elf
[ "$NORM" -nt "$SRC" ] || python3 "$REPO/scripts/normalize_elf.py" "$SRC" "$NORM" >&2
cargo build -q --release -p dumptool --manifest-path "$REPO/Cargo.toml"
OURS=$REPO/target/release/dumptool

best() { # CMD... : best wall and its peak over RUNS runs; "failed in N/RUNS runs" if any fails
	local b="" line failed=0
	for _ in $(seq "$RUNS"); do
		rm -f "$OUT/out"
		if ! line=$(python3 "$REPO/bench/run_measured.py" "$@"); then
			failed=$((failed + 1))
			continue
		fi
		if [ -z "$b" ] || awk -v a="${line% *}" -v c="${b% *}" 'BEGIN{exit !(a<c)}'; then b=$line; fi
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

# One thread each (both tools' default), then two threads each (this
# machine's cores; makedumpfile --num-threads, which it refuses with -E).
printf '| job (3 GiB 6.1 dump) | dumptool s | dumptool anon MiB | makedumpfile s | makedumpfile anon MiB | speed-up | dumptool 2 threads s | makedumpfile 2 threads s | speed-up, 2 threads |\n'
printf '|---|---:|---:|---:|---:|---:|---:|---:|---:|\n'
for job in "-d 31 -z" "-d 31 -E" "-d 31 -c" "-d 0 -z" "-d 0 -l"; do
	# shellcheck disable=SC2086
	o=$(ours filter $job "$SRC" "$OUT/out")
	# shellcheck disable=SC2086
	m=$(best makedumpfile $job "$NORM" "$OUT/out")
	# shellcheck disable=SC2086
	o2=$(ours filter $job --threads 2 "$SRC" "$OUT/out")
	case "$job" in
	*-E*) m2="n/a" ;;
	# shellcheck disable=SC2086
	*) m2=$(best makedumpfile $job --num-threads 2 "$NORM" "$OUT/out") ;;
	esac
	# Debian's build lacks zstd: it then warns and stores pages uncompressed.
	# shellcheck disable=SC2086
	note=$(makedumpfile $job --dry-run "$NORM" "$OUT/x" 2>&1 | grep -c "disabled" >/dev/null && echo " (makedumpfile stored raw pages: no zstd in this build)" || true)
	awk -v j="$job" -v o="$o" -v m="$m" -v o2="$o2" -v m2="$m2" -v note="$note" 'BEGIN{split(o,a," "); split(m,b," "); split(o2,c," "); split(m2,d," ");
		if (m ~ /^failed/) { ms = m; mm = "-"; sp = "-" }
		else { ms = b[1]; mm = sprintf("%.1f", b[2]/1024); sp = sprintf("%.1fx%s", b[1]/a[1], note) }
		if (m2 == "n/a") { m2s = "n/a (refuses -E)"; sp2 = (m ~ /^failed/) ? "-" : sprintf("%.1fx vs 1 thread", b[1]/c[1]) }
		else if (m2 ~ /^failed/) { m2s = m2; sp2 = "-" }
		else { m2s = d[1]; sp2 = sprintf("%.1fx", d[1]/c[1]) }
		printf("| `%s` | %.2f | %.1f | %s | %s | %s | %.2f | %s | %s |\n", j, a[1], a[2]/1024, ms, mm, sp, c[1], m2s, sp2)}'
done
