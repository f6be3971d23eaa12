#!/usr/bin/env bash
# kdump_run.sh — a real kdump of a fixture kernel in qemu (TCG): the kernel boots with
# crashkernel=, runs the vmcores workload, loads itself as capture kernel (`kexec -p`) and
# crashes (sysrq c); the capture kernel runs the given commands on /proc/vmcore and writes their
# outputs, time and peak memory to a second ext4 disk, which is read back here without mounting.
#
#   scripts/kdump_run.sh --suite SUITE --dumptool BIN --commands FILE --out DIR
#                        [--tool NAME=BIN]... [--mem MiB] [--crashkernel MiB] [--timeout SECONDS]
#
# COMMANDS: one run per line, `NAME SHELL-COMMAND` (see kdump-guest.sh), e.g.
#   lzo-dumptool  dumptool filter -d 31 -l $VMCORE lzo-dumptool.kdump
# BIN: a dynamically linked dumptool; it goes into the initramfs with the libraries `ldd` lists
# and the host's loader (the initramfs is made each run, from this binary). --tool adds another
# such program as /bin/NAME (e.g. the examples' ps, which kdump-guest.sh runs live when present).
# The rest of the guest (busybox, modules, kexec, makedumpfile-sid) is the
# `scripts/fixtures.sh kdump SUITE` fixture, made first if missing.
#
# DIR (replaced when it is an earlier run's) gets: console.log (both kernels), results/ (the disk's results folder: results.txt,
# NAME.stdout, NAME.stderr, the outputs, meminfo-*.txt, capture.txt, dmesg.txt, and live/: the first
# kernel read live before the crash, see kdump-guest.sh), run.txt
# (key=value: suite, release, mem, crashkernel, timings seen on the console).
set -euo pipefail
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FIXTURES_DIR=${FIXTURES_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ktype-fixtures}

log() { printf '[kdump_run %s] %s\n' "$(date +%T)" "$*" >&2; }
die() {
	printf '[kdump_run] ERROR: %s\n' "$*" >&2
	exit 1
}
usage() {
	sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

suite="" dumptool="" commands="" out="" mem=1024 crashkernel=256 timeout=900
tools=()
while (($#)); do
	case $1 in
	--suite) suite=${2:-} ;;
	--dumptool) dumptool=${2:-} ;;
	--tool) tools+=("${2:-}") ;;
	--commands) commands=${2:-} ;;
	--out) out=${2:-} ;;
	--mem) mem=${2:-} ;;
	--crashkernel) crashkernel=${2:-} ;;
	--timeout) timeout=${2:-} ;;
	-h | --help) usage ;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
	shift 2 || die "$1 needs a value"
done
[[ $suite =~ ^[a-z]+$ ]] || die "--suite SUITE is required (bookworm, trixie, sid)"
[[ -n $dumptool && -x $dumptool ]] || die "--dumptool: '$dumptool' is not an executable file"
[[ -n $commands && -f $commands ]] || die "--commands: '$commands' is not a file"
for tool in "${tools[@]}"; do
	[[ $tool =~ ^[a-z0-9_-]+=(.+)$ && -x ${BASH_REMATCH[1]} ]] || die "--tool: '$tool' is not NAME=EXECUTABLE"
done
[[ -n $out ]] || die "--out DIR is required"
[[ $mem =~ ^[0-9]+$ && $crashkernel =~ ^[0-9]+$ && $timeout =~ ^[0-9]+$ ]] ||
	die "--mem, --crashkernel and --timeout take whole numbers"
((crashkernel < mem)) || die "--crashkernel $crashkernel must be less than --mem $mem"
for c in qemu-system-x86_64 cpio gzip gcc mkfs.ext4 debugfs ldd objcopy; do
	command -v "$c" >/dev/null || die "$c is missing (scripts/fixtures.sh tools installs it)"
done

kdir=$FIXTURES_DIR/kernels/$suite fix=$FIXTURES_DIR/kdump/$suite
# The cached part; fixtures.sh keeps it current (kernel release, tool versions).
bash "$SCRIPT_DIR/fixtures.sh" kdump "$suite" || die "scripts/fixtures.sh kdump $suite failed"
for f in "$kdir/vmlinuz" "$kdir/release" "$kdir/config" "$fix/base.cpio.gz" "$fix/kexec.cpio.gz"; do
	[[ -f $f ]] || die "$f is missing after scripts/fixtures.sh kdump $suite"
done
release=$(cat "$kdir/release")

# DIR is replaced only when it is empty or an earlier run's (it has .kdump_run).
if [[ -e $out && ! -f $out/.kdump_run ]] && [[ ! -d $out || -n $(ls -A "$out") ]]; then
	die "--out $out exists and is not an earlier kdump_run.sh output (no .kdump_run); not replacing it"
fi
rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)
: >"$out/.kdump_run"
work=$out/work
mkdir -p "$work/run/bin" "$work/run/etc/kdump" "$work/run/kdump" "$work/tool" "$work/nested/kdump" "$work/disk/data"
t0=$SECONDS

# --- the run's own initramfs parts --------------------------------------------------------
# run: the guest scripts, the workload, measure, the commands and parameters.
# Workload sizes as in `fixtures.sh vmcores`, for the memory the first kernel keeps.
avail=$((mem - crashkernel))
anon=$((avail / 8)) zero=$((avail / 16)) cache=$((avail / 12)) shmem=$((avail / 48)) dirty=$((avail / 96))
r=$work/run
install -m 0755 "$SCRIPT_DIR/guest-init.sh" "$r/init"
install -m 0755 "$SCRIPT_DIR/kdump-guest.sh" "$r/kdump/guest.sh"
printf 'ANON_MB=%s\nZERO_MB=%s\nSHMEM_MB=%s\nDIRTY_MB=%s\n' "$anon" "$zero" "$shmem" "$dirty" >"$r/etc/workload.conf"
gcc -static -O2 -Wall -o "$r/bin/workload" "$SCRIPT_DIR/workload.c" || die "gcc -static workload.c failed"
gcc -static -O2 -Wall -o "$r/bin/measure" "$SCRIPT_DIR/measure.c" || die "gcc -static measure.c failed"
cp "$commands" "$r/etc/kdump/commands"
capture_append="console=ttyS0 reset_devices nr_cpus=1 irqpoll panic=1"
printf 'CAPTURE_APPEND="%s"\n' "$capture_append" >"$r/etc/kdump/params"

# tool: dumptool and each --tool (debug info stripped) with the libraries ldd lists and the
# host's loader, at the paths the binaries ask for.
t=$work/tool
mkdir -p "$t/bin"
programs=("dumptool=$dumptool" "${tools[@]}")
for p in "${programs[@]}"; do
	objcopy --strip-debug "${p#*=}" "$t/bin/${p%%=*}" || die "objcopy --strip-debug ${p#*=} failed"
done
# dumptool under makedumpfile's name (it then takes makedumpfile's command line), outside PATH:
# the commands run kdump-tools' own command lines as `/opt/dumptool/makedumpfile ...`.
mkdir -p "$t/opt/dumptool"
ln -s /bin/dumptool "$t/opt/dumptool/makedumpfile"
while read -r lib; do
	[[ -n $lib ]] || continue
	mkdir -p "$t$(dirname "$lib")"
	cp -L "$lib" "$t$lib"
done < <(for p in "${programs[@]}"; do ldd "${p#*=}"; done |
	awk '/not found/ { print "MISSING " $1; next } $2 == "=>" && $3 ~ /^\// { print $3; next } $1 ~ /^\// { print $1 }' |
	sed 's/^MISSING \(.*\)/\/nonexistent\/\1/' | sort -u)
[[ ! -e $t/nonexistent ]] || die "ldd ${programs[*]}: libraries not found: $(ls "$t/nonexistent")"
compgen -G "$t/lib*/ld-linux-x86-64.so.2" >/dev/null || die "ldd $dumptool lists no ld-linux-x86-64.so.2"

cpio_gz() { # DIR OUT
	(cd "$1" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -6n) >"$2" || die "cpio of $1 failed"
}
cpio_gz "$work/run" "$work/run.cpio.gz"
cpio_gz "$work/tool" "$work/tool.cpio.gz"
# The capture kernel's initramfs (concatenated cpio archives are one initramfs to the kernel),
# and the first kernel's: the same plus kexec and, as files, the capture kernel and its initramfs
# (dumptool reads the first kernel live before the crash).
cat "$fix/base.cpio.gz" "$work/run.cpio.gz" "$work/tool.cpio.gz" >"$work/nested/kdump/initrd.img"
cp "$kdir/vmlinuz" "$work/nested/kdump/vmlinuz"
cpio_gz "$work/nested" "$work/nested.cpio.gz"
cat "$fix/base.cpio.gz" "$fix/kexec.cpio.gz" "$work/run.cpio.gz" "$work/tool.cpio.gz" "$work/nested.cpio.gz" >"$work/initrd.img"
capture_initrd_bytes=$(stat -c %s "$work/nested/kdump/initrd.img")

# --- disks: vda is the workload's (page cache), vdb receives the results ----------------------
head -c "$((cache * 1024 * 1024))" /dev/urandom >"$work/disk/data/cache.bin"
cp "$kdir/config" "$work/disk/data/config.txt"
mkfs.ext4 -q -F -O ^metadata_csum -L ktype -d "$work/disk" "$work/data.img" "$((cache + dirty + 64))M" >/dev/null ||
	die "mkfs.ext4 -d (data disk) failed"
rm -rf "$work/disk"
mkfs.ext4 -q -F -O ^metadata_csum -L results "$work/results.img" "$((mem + 512))M" >/dev/null ||
	die "mkfs.ext4 (results disk) failed"
prep_s=$((SECONDS - t0))

# --- boot, crash, capture ---------------------------------------------------------------------
cmdline="console=ttyS0 panic=1 crashkernel=${crashkernel}M"
console=$out/console.log
qemu-system-x86_64 -accel "${QEMU_ACCEL:-tcg}" -machine pc -cpu qemu64 -m "$mem" -smp 1 \
	-nodefaults -display none -no-reboot \
	-kernel "$kdir/vmlinuz" -initrd "$work/initrd.img" -append "$cmdline" \
	-drive "file=$work/data.img,format=raw,if=virtio" \
	-drive "file=$work/results.img,format=raw,if=virtio" \
	-serial "file:$console" -monitor none \
	>"$work/qemu.log" 2>&1 &
qemu=$!
trap 'kill "$qemu" 2>/dev/null || true' EXIT
log "$suite ($release): qemu pid $qemu, $mem MiB, crashkernel=${crashkernel}M, capture initramfs $((capture_initrd_bytes >> 20)) MiB"
tq=$SECONDS
declare -A seen=()
markers=(KTYPE-WORKLOAD-READY "ktype-kdump: capture kernel loaded" "sysrq: Trigger a crash" ": /proc/vmcore of " "ktype-kdump: run " KTYPE-KDUMP-DONE)
keys=(workload_ready_s kexec_loaded_s crash_s capture_init_s first_run_s capture_done_s)
scan() { # notes the time each marker first shows on the console
	local i
	for i in "${!markers[@]}"; do
		[[ -n ${seen[$i]:-} ]] && continue
		if grep -aqF -- "${markers[$i]}" "$console" 2>/dev/null; then
			seen[$i]=$((SECONDS - tq))
			log "$suite: '${markers[$i]}' after ${seen[$i]} s"
		fi
	done
}
while kill -0 "$qemu" 2>/dev/null; do
	scan
	if ((SECONDS - tq > timeout)); then
		kill "$qemu" 2>/dev/null || true
		die "$suite: timed out after $timeout s; console tail:"$'\n'"$(tail -n 15 "$console")"
	fi
	sleep 1
done
trap - EXIT
scan
qemu_s=$((SECONDS - tq))
wait "$qemu" || log "$suite: qemu exited with status $?"
log "$suite: qemu finished after $qemu_s s"

# --- results, read from the disk image without mounting it --------------------------------------
if ! debugfs -R "rdump /results $out" "$work/results.img" >"$work/debugfs.log" 2>&1 || [[ ! -d $out/results ]]; then
	die "$suite: no results folder on the results disk (debugfs: $(tail -n 3 "$work/debugfs.log")); console tail:"$'\n'"$(tail -n 15 "$console")"
fi
{
	echo "suite=$suite"
	echo "release=$release"
	echo "mem_mib=$mem"
	echo "crashkernel_mib=$crashkernel"
	echo "cmdline=$cmdline"
	echo "capture_append=$capture_append"
	echo "capture_initrd_bytes=$capture_initrd_bytes"
	echo "first_initrd_bytes=$(stat -c %s "$work/initrd.img")"
	echo "prepare_s=$prep_s"
	for i in "${!keys[@]}"; do echo "${keys[$i]}=${seen[$i]:-}"; done
	echo "qemu_total_s=$qemu_s"
	echo "qemu=$(qemu-system-x86_64 --version | awk 'NR == 1')"
} >"$out/run.txt"
rm -rf "$work"
log "$suite: done in $((SECONDS - t0)) s: $out"
