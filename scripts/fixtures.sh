#!/usr/bin/env bash
# fixtures.sh — reproducible test fixtures for ktype / dumptool (Debian hosts).
#
#   scripts/fixtures.sh tools                  install the comparison tools (pahole, bpftool, makedumpfile, qemu, ...)
#   scripts/fixtures.sh kernels [SUITE...]     vmlinux (with .BTF), System.map, modules of Debian's current kernels
#   scripts/fixtures.sh vmcores [--mem MiB] [SUITE...]
#                                              real crash dumps of those kernels booted in qemu
#   scripts/fixtures.sh kdump [SUITE...]       the kernel-dependent part of the kdump guest
#                                              (scripts/kdump_run.sh): busybox, modules, kexec, makedumpfile
#   scripts/fixtures.sh arm64 [SUITE...]       Debian's arm64 kernels (and their -dbg vmlinux), their
#                                              qemu-system-aarch64 dumps and sid's arm64 makedumpfile
#                                              (under qemu-aarch64-static)
#
# Output goes to $FIXTURES_DIR (default: ~/.cache/ktype-fixtures). Every fixture directory is
# built in a staging directory, gets a `.complete` marker written last and is then moved into
# place; a directory whose `.complete` names the current layout version is never rebuilt (a
# vmcore also not while kernels/<suite>/release is unchanged). Concurrent runs serialise on
# flock(1) lock files under $FIXTURES_DIR/.locks. See scripts/README.md.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/.." && pwd)
# The cache lives outside the checkout (a fresh clone, as CI makes, reuses it); its fixture
# directories are keyed by the kernel release they were built from, and rebuilt when that changes.
FIXTURES_DIR=${FIXTURES_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ktype-fixtures}
# bookworm 6.1, trixie 6.12 and sid: the newest kernel Debian ships, whatever its version is today.
ALL_SUITES=(bookworm trixie sid)
# Modules copied into kernels/<suite>/modules (plus their dependencies). Override with a space-separated list.
# virtio_pci, virtio_blk and crc32c_generic (ext4 mount) are needed by the vmcores guest (trixie builds virtio_pci in).
FIXTURE_MODULES=${FIXTURE_MODULES:-"qemu_fw_cfg ext4 virtio_net nf_tables virtio_blk virtio_pci crc32c_generic"}
# Modules that must exist; the others only warn when a kernel lacks them.
REQUIRED_MODULES="qemu_fw_cfg"
# Bumped when the content of kernels/<suite> changes; a .complete with another layout is rebuilt.
KERNELS_LAYOUT=4
VMCORES_LAYOUT=3
KDUMP_LAYOUT=1
# kexec-tools for the kdump guest: any suite's works with every kernel; bookworm's is stable.
KEXEC_SUITE=bookworm
DEFAULT_MEM=768

# Under `set -o pipefail` a reader that stops early (head, grep -q/-m, awk's exit) makes the
# writer die of SIGPIPE when it writes after that, and the pipeline then fails (exit 141) at
# random, depending on scheduling. Pipelines here use these instead: they read all their input.
first() { # [N] : the first N (default 1) lines of stdin
	awk -v n="${1:-1}" 'NR <= n'
}
matches() { # REGEX : true when a line of stdin matches (grep -q that reads to the end)
	grep -c -- "$1" >/dev/null
}

usage() {
	cat >&2 <<EOF
usage: $(basename "$0") COMMAND [OPTIONS] [SUITE...]

commands:
  tools                       apt-get install the comparison anchors (dwarves, bpftool, libbpf-dev, gdb,
                              pkg-config, makedumpfile, qemu-system-x86, busybox-static, cpio, ...), makedumpfile
                              from sid and crash from trixie with their own loaders (tools/)
  kernels [SUITE...]          fetch Debian's current linux-image-amd64 of each suite and produce
                              kernels/<suite>/{vmlinux,vmlinuz,System.map,config,release,modules/}
  vmcores [--mem MiB] [SUITE...]
                              boot each kernel in qemu (TCG), run a workload and dump its memory:
                              vmcores/<suite>[-<mem>]/{vmcore.elf,vmcore.kdump-zlib,vmcore.kdump-lzo}
                              (default --mem 768; other sizes go to vmcores/<suite>-<mem>/)
  kdump [SUITE...]            kdump/<suite>/{base,kexec}.cpio.gz: the cached part of the kdump guest's
                              initramfs (scripts/kdump_run.sh adds dumptool and the run's commands)
  arm64 [SUITE...]            Debian's linux-image-arm64 of each suite (kernels/<suite>-arm64), booted in
                              qemu-system-aarch64 with the same workload and dumped (vmcores/<suite>-arm64:
                              vmcore.elf, vmcore.kdump-zlib, vmcore.kdump-lzo and dmesg.txt by sid's arm64
                              makedumpfile, tools/makedumpfile-sid-arm64, run under qemu-aarch64-static);
                              for kernels built for LPA2 also vmcores/<suite>-arm64-nolpa2 (a CPU without it);
                              kernels/<suite>-arm64/vmlinux-dbg, the -dbg package's vmlinux (DWARF)

suites: ${ALL_SUITES[*]} (default: all)
environment:
  FIXTURES_DIR      output root (default: ~/.cache/ktype-fixtures; now: $FIXTURES_DIR)
  DEBIAN_MIRROR     archive URI for suites other than the host's (default: read from the host's apt sources)
  FIXTURE_MODULES   modules to copy (default: "$FIXTURE_MODULES")
  QEMU_ACCEL        qemu accelerator for vmcores (default: tcg)
EOF
}

log() { printf '[fixtures %s] %s\n' "$(date +%T)" "$*" >&2; }
warn() { printf '[fixtures %s] WARNING: %s\n' "$(date +%T)" "$*" >&2; }
die() {
	printf '[fixtures] ERROR: %s\n' "$*" >&2
	exit 1
}
# A command that fails under `set -e` without a die() names itself and its line.
set -E
trap 'rc=$?; printf "[fixtures] ERROR: line %s: \"%s\" failed (exit %s)\n" "$LINENO" "$BASH_COMMAND" "$rc" >&2' ERR

# ---------------------------------------------------------------------------------------------
# host tools
# ---------------------------------------------------------------------------------------------
APT_SYSTEM_UPDATED=0
apt_system() { # apt-get on the host's own configuration, non-interactive, waiting for the dpkg lock
	DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=600 "$@"
}

apt_install() { # PKG... : install the packages that are not installed yet
	local p missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | matches '^install ok installed$' || missing+=("$p")
	done
	((${#missing[@]})) || return 0
	[[ $(id -u) == 0 ]] || die "missing packages ${missing[*]}; run as root or install them: apt-get install ${missing[*]}"
	log "apt-get install ${missing[*]}"
	if ! apt_system install -y --no-install-recommends "${missing[@]}" >&2; then
		log "install failed; running apt-get update and retrying"
		apt_system update >&2 || die "apt-get update failed"
		APT_SYSTEM_UPDATED=1
		apt_system install -y --no-install-recommends "${missing[@]}" >&2 || die "apt-get install ${missing[*]} failed"
	fi
}

need() { # CMD:PKG... : make sure each command exists, installing its Debian package if not
	local spec cmd pkgs=()
	for spec in "$@"; do
		cmd=${spec%%:*}
		command -v "$cmd" >/dev/null 2>&1 || pkgs+=("${spec#*:}")
	done
	((${#pkgs[@]})) || return 0
	apt_install "${pkgs[@]}"
	for spec in "$@"; do
		cmd=${spec%%:*}
		command -v "$cmd" >/dev/null 2>&1 || die "command '$cmd' still missing after installing ${spec#*:}"
	done
}

# A program of another Debian suite, run on this host through that suite's own loader and
# libraries (e.g. sid's makedumpfile needs glibc 2.38): `apt-get download` of the packages
# (never pinned: each suite's current versions), `dpkg -x` into one folder, and a wrapper
# $FIXTURES_DIR/tools/NAME/BIN that runs it through that folder's ld-linux. Rebuilt when the
# program package's version changes. With --arch arm64 the packages are arm64's and the wrapper
# runs the program under qemu-aarch64-static -L (qemu-user-static) with that folder as its root.
foreign_tool() { # [--arch arm64] NAME SUITE BIN PKG... (the first PKG is the program's)
	local arch=""
	if [[ $1 == --arch ]]; then
		arch=$2
		shift 2
	fi
	local name=$1 suite=$2 bin=$3
	shift 3
	local dir="$FIXTURES_DIR/tools/$name" stage="$FIXTURES_DIR/tools/.$name.staging" p ver deb vers=()
	setup_apt "$suite" "$arch"
	ver=$(candidate_version "$1")
	[[ -n $ver ]] || die "$suite has no package $1"
	if complete "$dir" "$1=$ver"; then
		log "$name: up to date ($1 $ver from $suite)"
		return 0
	fi
	lock "tools-$name"
	rm -rf "$stage"
	mkdir -p "$stage/dl" "$stage/out/root"
	CLEANUP_PATHS+=("$stage")
	for p in "$@"; do
		local v
		v=$(candidate_version "$p")
		[[ -n $v ]] || die "$name: $suite has no package $p"
		deb=$(download "$stage/dl" "$p" "$v")
		dpkg-deb -x "$deb" "$stage/out/root" || die "dpkg-deb -x $deb failed"
		vers+=("$p=$v")
	done
	local ld
	[[ -x $stage/out/root/$bin ]] || die "$name: $1 $ver from $suite has no $bin"
	if [[ $arch == arm64 ]]; then
		# merged /usr: the interpreter /lib/ld-linux-aarch64.so.1 is found through lib -> usr/lib,
		# which base-files (not extracted here) provides.
		for p in lib bin sbin; do
			[[ -d $stage/out/root/usr/$p && ! -e $stage/out/root/$p ]] && ln -s "usr/$p" "$stage/out/root/$p"
		done
		find_in "$stage/out/root" usr/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1 lib/aarch64-linux-gnu/ld-linux-aarch64.so.1 \
			>/dev/null || die "$name: no ld-linux-aarch64.so.1 in ${*} from $suite"
		# ld.so's /lib/ld-linux-aarch64.so.1 and library paths resolve inside the folder (-L).
		cat >"$stage/out/$(basename "$bin")" <<WRAP
#!/bin/sh
# $1 $ver (arm64) from Debian $suite, under qemu-aarch64-static with its own libraries (scripts/fixtures.sh arm64).
R=\$(dirname "\$(readlink -f "\$0")")/root
exec qemu-aarch64-static -L "\$R" "\$R/$bin" "\$@"
WRAP
	else
		ld=$(find_in "$stage/out/root" usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 lib/x86_64-linux-gnu/ld-linux-x86-64.so.2) ||
			die "$name: no ld-linux-x86-64.so.2 in ${*} from $suite"
		# The wrapper finds its folder at run time, so the cache can be moved.
		cat >"$stage/out/$(basename "$bin")" <<WRAP
#!/bin/sh
# $1 $ver from Debian $suite, through its own loader and libraries (scripts/fixtures.sh tools).
R=\$(dirname "\$(readlink -f "\$0")")/root
exec "\$R/${ld#"$stage/out/root/"}" --library-path "\$R/usr/lib/x86_64-linux-gnu:\$R/lib/x86_64-linux-gnu" "\$R/$bin" "\$@"
WRAP
	fi
	chmod 0755 "$stage/out/$(basename "$bin")"
	printf '%s\n' "${vers[@]}" >"$stage/out/packages"
	printf 'layout=%s\nbuilt=%s\n' "$1=$ver" "$(date -u +%FT%TZ)" >"$stage/out/.complete"
	rm -rf "$dir"
	mv "$stage/out" "$dir"
	rm -rf "$stage"
	unlock "tools-$name"
	log "$name: $1 $ver from $suite in $dir"
}

# The library packages PKG needs (Depends and Pre-Depends named lib*, recursively), for
# foreign_tool; apt state of the suite must be set up (setup_apt).
lib_closure() { # PKG
	local queue=("$1") seen=" " p d
	while ((${#queue[@]})); do
		p=${queue[0]}
		queue=("${queue[@]:1}")
		[[ $seen == *" $p "* ]] && continue
		seen+="$p "
		[[ $p == "$1" ]] || echo "$p"
		for d in $(apt_cache depends --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces \
			--no-enhances "$p" 2>/dev/null | awk '$1 ~ /^[|]?(Pre)?Depends:$/ && $2 ~ /^lib/ {print $2}'); do
			queue+=("$d")
		done
	done
}

# kexec (kexec-tools, with its Xen libraries) for the kdump guest, in tools/kexec-tools/.
kexec_tool() {
	local libs
	setup_apt "$KEXEC_SUITE"
	libs=$(lib_closure kexec-tools)
	# shellcheck disable=SC2086 # one word per package
	foreign_tool kexec-tools "$KEXEC_SUITE" sbin/kexec kexec-tools $libs
	"$FIXTURES_DIR/tools/kexec-tools/kexec" --version >/dev/null 2>&1 ||
		die "kexec-tools does not run: $("$FIXTURES_DIR/tools/kexec-tools/kexec" --version 2>&1 | first 3)"
}

cmd_tools() {
	apt_install dwarves bpftool libbpf-dev pkg-config makedumpfile qemu-system-x86 busybox-static \
		cpio xz-utils zstd gzip binutils kmod util-linux gcc libc6-dev python3 file gdb e2fsprogs
	# --- drgn (PyPI), for the dump writers' tests (tests/tests/writers.rs) -------------------
	# Installed for the python3 first on PATH (the one the tests run). Debian's own python3 is
	# "externally managed" (PEP 668): pip then needs --break-system-packages.
	if ! python3 -c 'import drgn' 2>/dev/null; then
		python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
		log "pip install drgn (for $(command -v python3))"
		python3 -m pip install --quiet drgn >&2 ||
			python3 -m pip install --quiet --break-system-packages drgn >&2 ||
			die "pip install drgn failed for $(command -v python3)"
		python3 -c 'import drgn' || die "drgn installed but python3 cannot import it"
	fi
	# --- end drgn --------------------------------------------------------------------------------
	# makedumpfile 1.7.8+ from sid: the anchor that knows 6.12+ kernels (with lzo and zstd).
	foreign_tool makedumpfile-sid sid usr/bin/makedumpfile makedumpfile libc6 libdw1t64 libelf1t64 \
		liblzo2-2 libzstd1 zlib1g liblzma5 libbz2-1.0
	"$FIXTURES_DIR/tools/makedumpfile-sid/makedumpfile" -v >/dev/null 2>&1 ||
		die "makedumpfile-sid does not run: $("$FIXTURES_DIR/tools/makedumpfile-sid/makedumpfile" -v 2>&1 | first 3)"
	# crash 8.0.6+ from trixie: a second debugger that must open every output (crash_reads_outputs).
	# Its gdb needs the kernel's DWARF (kernels/<suite>/vmlinux-dbg).
	foreign_tool crash-trixie trixie usr/bin/crash crash libc6 libgcc-s1 liblzo2-2 libncursesw6 \
		libsnappy1v5 libstdc++6 libtinfo6 libzstd1 zlib1g
	"$FIXTURES_DIR/tools/crash-trixie/crash" --version >/dev/null 2>&1 ||
		die "crash-trixie does not run: $("$FIXTURES_DIR/tools/crash-trixie/crash" --version 2>&1 | first 3)"
	kexec_tool
	log "tools installed:"
	{
		pahole --version | sed 's/^/  pahole /'
		bpftool version | first | sed 's/^/  /'
		makedumpfile -v 2>&1 | first | sed 's/^/  /'
		"$FIXTURES_DIR/tools/makedumpfile-sid/makedumpfile" -v 2>&1 | first | sed 's/^/  (sid) /'
		"$FIXTURES_DIR/tools/crash-trixie/crash" --version 2>&1 | grep '^crash' | first | sed 's/^/  (trixie) /'
		"$FIXTURES_DIR/tools/kexec-tools/kexec" --version 2>&1 | first | sed "s/^/  ($KEXEC_SUITE) /"
		qemu-system-x86_64 --version | first | sed 's/^/  /'
		python3 -c 'import drgn; print("  drgn", drgn.__version__)'
	} >&2 || true
}

# ---------------------------------------------------------------------------------------------
# locking and staging
# ---------------------------------------------------------------------------------------------
lock() { # NAME : take an exclusive lock (held until the script exits or unlock NAME)
	local name=$1 fd
	mkdir -p "$FIXTURES_DIR/.locks"
	exec {fd}>"$FIXTURES_DIR/.locks/$name.lock"
	if ! flock -n "$fd"; then
		log "waiting for lock $name (another fixtures.sh is building it)"
		flock "$fd"
	fi
	eval "LOCK_FD_${name//[^A-Za-z0-9]/_}=$fd"
}
unlock() {
	local var="LOCK_FD_${1//[^A-Za-z0-9]/_}" fd
	fd=${!var:-}
	[[ -n $fd ]] && exec {fd}>&-
	eval "$var="
}

CLEANUP_PATHS=()
cleanup() {
	local p
	kill_qemu
	for p in "${CLEANUP_PATHS[@]}"; do [[ -n $p ]] && rm -rf -- "$p"; done
	return 0
}
trap cleanup EXIT
trap 'die "interrupted"' INT TERM

# ---------------------------------------------------------------------------------------------
# apt for a given suite
# ---------------------------------------------------------------------------------------------
host_codename() {
	# shellcheck disable=SC1091
	(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
}

debian_mirror() { # the host's main Debian archive URI
	if [[ -n ${DEBIAN_MIRROR:-} ]]; then
		echo "$DEBIAN_MIRROR"
		return
	fi
	local uri=""
	if [[ -r /etc/apt/sources.list.d/debian.sources ]]; then
		uri=$(awk 'tolower($1)=="uris:" { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' \
			/etc/apt/sources.list.d/debian.sources)
	fi
	if [[ -z $uri ]]; then
		uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
			awk '$1=="deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z+]+:\/\//) { if ($i !~ /security/) { print $i; exit } else break } }')
	fi
	[[ -n $uri ]] || die "cannot find a Debian archive URI in /etc/apt/sources.list.d/debian.sources or sources.list; set DEBIAN_MIRROR"
	echo "${uri%/}"
}

# Sets the global array APT_OPTS for SUITE: empty for the host's own suite, else a private apt
# state under $FIXTURES_DIR/apt-<suite> (the host's apt lists and cache stay untouched). With
# ARCH (e.g. arm64) the private state apt-<suite>-<arch> sees that architecture's packages only,
# without touching the host's dpkg architectures.
APT_OPTS=()
APT_UPDATED="" # private states updated by this run
setup_apt() { # SUITE [ARCH]
	local suite=$1 arch=${2:-}
	APT_OPTS=(-o APT::Sandbox::User=root)
	if [[ -z $arch && $suite == "$(host_codename)" ]]; then
		if [[ $APT_SYSTEM_UPDATED == 0 && -z $(candidate_version linux-image-amd64) ]]; then
			log "host apt lists lack linux-image-amd64; running apt-get update"
			apt_system update >&2 || die "apt-get update failed"
			APT_SYSTEM_UPDATED=1
		fi
		return
	fi
	local dir="$FIXTURES_DIR/apt-$suite${arch:+-$arch}" mirror
	mirror=$(debian_mirror)
	mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
	echo "deb [trusted=yes] $mirror $suite main" >"$dir/sources.list"
	APT_OPTS+=(
		-o "Dir::Etc::SourceList=$dir/sources.list"
		-o "Dir::Etc::SourceParts=/dev/null"
		-o "Dir::State::Lists=$dir/lists"
		-o "Dir::Cache=$dir/cache"
		-o "Dir::State::status=/dev/null"
		-o "Acquire::Languages=none"
	)
	[[ -z $arch ]] || APT_OPTS+=(-o "APT::Architecture=$arch" -o "APT::Architectures=$arch")
	[[ " $APT_UPDATED " == *" $dir "* ]] && return 0 # once per run
	log "$suite${arch:+ ($arch)}: apt-get update (private state in $dir, $mirror)"
	apt-get -q "${APT_OPTS[@]}" update >"$dir/update.log" 2>&1 ||
		die "apt-get update for $suite failed; see $dir/update.log"
	APT_UPDATED+=" $dir"
}

apt_get() { apt-get -q "${APT_OPTS[@]}" "$@"; }
apt_cache() { apt-cache "${APT_OPTS[@]}" "$@"; }

candidate_version() { # PKG
	apt_cache policy "$1" 2>/dev/null | awk '$1=="Candidate:" && $2!="(none)" {print $2}'
}

# Prints "PKG VERSION" of the linux-image-* package that SUITE's linux-image-ARCH (default
# amd64) depends on.
resolve_image_package() { # SUITE [ARCH]
	local suite=$1 meta="linux-image-${2:-amd64}" meta_ver dep pkg ver
	meta_ver=$(candidate_version "$meta")
	[[ -n $meta_ver ]] || die "$suite: no candidate for $meta (apt lists missing?)"
	dep=$(apt_cache show "$meta=$meta_ver" | sed -n 's/^Depends: //p' | first |
		tr ',' '\n' | sed -E 's/^ +//; s/ *\|.*//' | grep -E '^linux-image-' | first) || true
	[[ -n $dep ]] || die "$suite: $meta $meta_ver has no linux-image-* dependency"
	pkg=${dep%% *}
	ver=$(sed -nE 's/.*\(= *([^ )]+)\).*/\1/p' <<<"$dep")
	[[ -n $ver ]] || ver=$(candidate_version "$pkg")
	[[ -n $ver ]] || die "$suite: cannot resolve a version of $pkg"
	echo "$pkg $ver"
}

download() { # DIR PKG VERSION : apt-get download into DIR, prints the .deb path
	local dir=$1 pkg=$2 ver=$3 deb
	(cd "$dir" && apt_get download "$pkg=$ver" >download.log 2>&1) ||
		die "apt-get download $pkg=$ver failed: $(tail -3 "$dir/download.log")"
	deb=$(ls "$dir/${pkg}_"*.deb 2>/dev/null | first)
	[[ -f $deb ]] || die "apt-get download $pkg=$ver produced no .deb"
	echo "$deb"
}

# ---------------------------------------------------------------------------------------------
# kernels
# ---------------------------------------------------------------------------------------------

# Decompress the kernel image inside a bzImage (like linux/scripts/extract-vmlinux): try every
# occurrence of each compressor's magic until the output is an ELF file.
extract_vmlinux() { # VMLINUZ OUT
	local img=$1 out=$2 spec magic tool off
	for spec in 'xz:\xFD7zXZ\x00' 'zstd:\x28\xB5\x2F\xFD' 'gzip:\x1F\x8B\x08' 'lz4:\x02\x21\x4C\x18' \
		'lzma:\x5D\x00\x00\x00' 'bzip2:BZh' 'lzop:\x89\x4C\x5A\x4F'; do
		tool=${spec%%:*}
		magic=${spec#*:}
		command -v "$tool" >/dev/null 2>&1 || continue
		for off in $(LC_ALL=C grep -obUaP "$magic" "$img" 2>/dev/null | cut -d: -f1 | first 20 || true); do
			case $tool in
			lzma) tail -c "+$((off + 1))" "$img" | xz -F lzma -dc >"$out" 2>/dev/null || true ;;
			*) tail -c "+$((off + 1))" "$img" | "$tool" -dc >"$out" 2>/dev/null || true ;;
			esac
			if [[ $(head -c 4 "$out" | od -An -tx1 | tr -d ' \n') == 7f454c46 ]]; then
				log "  vmlinux: $tool payload at offset $off of $(basename "$img")"
				return 0
			fi
		done
	done
	rm -f "$out"
	return 1
}

module_name() { # PATH -> module name (basename without .ko[.xz|.zst|.gz], '-' -> '_')
	local n=${1##*/}
	n=${n%.xz}
	n=${n%.zst}
	n=${n%.gz}
	n=${n%.ko}
	echo "${n//-/_}"
}

decompress_module() { # SRC DST(.ko)
	case $1 in
	*.ko.xz) xz -dc "$1" >"$2" ;;
	*.ko.zst) zstd -q -dc "$1" >"$2" ;;
	*.ko.gz) gzip -dc "$1" >"$2" ;;
	*.ko) cp "$1" "$2" ;;
	*) die "unknown module file type: $1" ;;
	esac
}

module_depends() { # PLAIN.ko -> comma-separated dependency names
	# readelf reads every architecture's modules (the host's objcopy only its own).
	readelf -p .modinfo "$1" 2>/dev/null | sed -n 's/^ *\[ *[0-9a-f]*\] *depends=//p' | first
}

# The packages a kernel is made of: PKG and, recursively, every linux-* dependency pinned to VERSION.
kernel_package_set() { # PKG VERSION
	local queue=("$1") ver=$2 seen=" " p dep
	while ((${#queue[@]})); do
		p=${queue[0]}
		queue=("${queue[@]:1}")
		[[ $seen == *" $p "* ]] && continue
		seen+="$p "
		echo "$p"
		for dep in $(apt_cache show "$p=$ver" | sed -n 's/^\(Pre-\)\?Depends: //p' | tr ',' '\n' |
			sed -E 's/^ +//; s/ *\|.*//' | awk -v pin="(= $ver)" '$1 ~ /^linux-/ && index($0, pin) {print $1}'); do
			queue+=("$dep")
		done
	done
}

find_in() { # ROOT RELGLOB... : the first existing path under ROOT matching one of the globs
	local root=$1 g f
	shift
	for g in "$@"; do
		for f in "$root"/$g; do
			[[ -e $f ]] && { echo "$f"; return 0; }
		done
	done
	return 1
}

# FIXTURE_MODULES of a kernel's module tree MODDIR (with their dependencies) into OUT,
# decompressed (trixie-style compressed originals kept too), with a `name: deps` modules.dep;
# sets MODULES_COPIED to their names.
MODULES_COPIED=()
copy_modules() { # SUITE RELEASE MODDIR OUT
	local suite=$1 release=$2 moddir=$3 out=$4
	declare -A modpath=()
	local f name
	while IFS= read -r f; do
		modpath[$(module_name "$f")]=$f
	done < <(find "$moddir/kernel" -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' -o -name '*.ko.gz')
	local queue=() deps d
	MODULES_COPIED=()
	for name in $FIXTURE_MODULES; do
		if [[ -z ${modpath[$name]:-} ]]; then
			if grep -qE "/${name//_/[-_]}\.ko" "$moddir/modules.builtin" 2>/dev/null; then
				[[ " $REQUIRED_MODULES " == *" $name "* ]] && die "$suite: $name is built into $release, not a module"
				log "$suite: $name is built into $release"
				continue
			fi
			[[ " $REQUIRED_MODULES " == *" $name "* ]] && die "$suite: module $name not found in $release"
			warn "$suite: module $name not in $release; skipped"
			continue
		fi
		queue+=("$name")
	done
	declare -A seen=()
	: >"$out/modules.dep"
	while ((${#queue[@]})); do
		name=${queue[0]}
		queue=("${queue[@]:1}")
		[[ -n ${seen[$name]:-} ]] && continue
		seen[$name]=1
		f=${modpath[$name]:-}
		[[ -n $f ]] || die "$suite: dependency module $name not found"
		decompress_module "$f" "$out/$name.ko"
		[[ $f == *.ko ]] || cp "$f" "$out/$name.ko${f##*.ko}"
		deps=$(module_depends "$out/$name.ko")
		echo "$name: ${deps//,/ }" >>"$out/modules.dep"
		for d in ${deps//,/ }; do queue+=("${d//-/_}"); done
		MODULES_COPIED+=("$name")
	done
	[[ -f $moddir/modules.builtin ]] && cp "$moddir/modules.builtin" "$out/modules.builtin"
	return 0
}

# The -dbg package (vmlinux with DWARF) of image package PKG at VERSION, in the current apt state:
# PKG-dbg (linux-image-X-unsigned: linux-image-X-dbg), else linux-image-RELEASE-dbg.
debug_package() { # PKG VERSION RELEASE
	local pkg=$1 ver=$2 release=$3 dbg
	for dbg in "${pkg%-unsigned}-dbg" "linux-image-$release-dbg"; do
		if apt_cache show "$dbg=$ver" >/dev/null 2>&1; then
			echo "$dbg"
			return 0
		fi
	done
	return 1
}

build_kernel() { # SUITE
	local suite=$1 out="$FIXTURES_DIR/kernels/$1" t0=$SECONDS
	local stage="$FIXTURES_DIR/kernels/.$1.staging" pkg ver deb dbgdeb release vmlinuz root
	need xz:xz-utils zstd:zstd gzip:gzip readelf:binutils objcopy:binutils flock:util-linux
	rm -rf "$stage"
	mkdir -p "$stage/dl" "$stage/root" "$stage/out/modules"
	CLEANUP_PATHS+=("$stage")
	root=$stage/root

	setup_apt "$suite"
	local resolved
	resolved=$(resolve_image_package "$suite")
	read -r pkg ver <<<"$resolved"
	log "$suite: linux-image-amd64 -> $pkg $ver"

	# The kernel is the image package plus every linux-* package it depends on at exactly its
	# version (bookworm/trixie: one package; sid: a metapackage over linux-binary-*,
	# linux-modules-* and linux-base-*). Where each file lives is then looked up in them.
	local pkgs=() p pkgs_used=()
	mapfile -t pkgs < <(kernel_package_set "$pkg" "$ver")
	for p in "${pkgs[@]}"; do
		deb=$(download "$stage/dl" "$p" "$ver")
		dpkg-deb -x "$deb" "$root" || die "dpkg-deb -x $deb failed"
		pkgs_used+=("$p=$ver")
	done
	local from="${pkgs[*]} ($ver, from $suite's linux-image-amd64)"
	vmlinuz=$(find_in "$root" boot/vmlinuz-'*' usr/lib/modules/'*'/vmlinuz lib/modules/'*'/vmlinuz) ||
		die "$suite: no vmlinuz (boot/vmlinuz-*, usr/lib/modules/*/vmlinuz) in $from"
	case $vmlinuz in
	*/boot/vmlinuz-*) release=${vmlinuz##*/vmlinuz-} ;;
	*) release=$(basename "$(dirname "$vmlinuz")") ;;
	esac
	log "$suite: release $release; vmlinuz is ${vmlinuz#"$root"/}"

	local moddir=""
	moddir=$(find_in "$root" "usr/lib/modules/$release/kernel" "lib/modules/$release/kernel") ||
		die "$suite: no modules directory (usr/lib/modules/$release/kernel) in $from"
	moddir=${moddir%/kernel}

	# vmlinux
	cp "$vmlinuz" "$stage/out/vmlinuz"
	local config
	config=$(find_in "$root" "boot/config-$release" "usr/lib/modules/$release/config" "lib/modules/$release/config") ||
		die "$suite: no kernel config (boot/config-$release, usr/lib/modules/$release/config) in $from"
	cp "$config" "$stage/out/config"
	extract_vmlinux "$vmlinuz" "$stage/out/vmlinux" ||
		die "$suite: could not find a compressed ELF payload in $vmlinuz (tried xz, zstd, gzip, lz4, lzma, bzip2, lzo)"
	readelf -SW "$stage/out/vmlinux" | grep -E '[[:space:]]\.BTF[[:space:]]' >/dev/null ||
		die "$suite: extracted vmlinux has no .BTF section (readelf -S)"
	LC_ALL=C grep -aq "Linux version $release " "$stage/out/vmlinux" ||
		die "$suite: extracted vmlinux does not carry the banner 'Linux version $release'"

	# The -dbg package: the vmlinux with DWARF (for drgn and crash) and, where the image ships
	# a one-line stub, the real System.map.
	local dbg
	dbg=$(debug_package "$pkg" "$ver" "$release") || die "$suite: no debug package ($pkg-dbg, linux-image-$release-dbg) at $ver"
	log "$suite: fetching the debug vmlinux and System.map from $dbg $ver (large download)"
	dbgdeb=$(download "$stage/dl" "$dbg" "$ver")
	python3 "$SCRIPT_DIR/deb_extract.py" "$dbgdeb" "$stage/dbg" \
		"usr/lib/debug/boot/System.map-$release|usr/lib/debug/lib/modules/$release/System.map" \
		"usr/lib/debug/boot/vmlinux-$release|usr/lib/debug/lib/modules/$release/vmlinux" >"$stage/dbg.list" ||
		die "$suite: $dbg $ver lacks System.map or vmlinux under usr/lib/debug/{boot,lib/modules/$release}"
	rm -f "$dbgdeb"
	pkgs_used+=("$dbg=$ver")
	mv "$stage/dbg/$(grep vmlinux "$stage/dbg.list")" "$stage/out/vmlinux-dbg"
	local smap
	smap=$(find_in "$root" "boot/System.map-$release" "usr/lib/modules/$release/System.map" "lib/modules/$release/System.map" || true)
	if [[ -z $smap ]] || (($(wc -l <"$smap") < 1000)); then
		smap="$stage/dbg/$(grep System.map "$stage/dbg.list")"
	fi
	(($(wc -l <"$smap") >= 1000)) || die "$suite: System.map $smap looks like a stub"
	cp "$smap" "$stage/out/System.map"
	local text_elf text_map
	text_elf=$(readelf -SW "$stage/out/vmlinux" | awk '!found {for (i = 1; i < NF; i++) if ($i == ".text") {print $(i + 2); found = 1}}')
	text_map=$(awk '$3 == "_text" {print $1; exit}' "$stage/out/System.map")
	[[ -n $text_elf && $((16#$text_elf)) == $((16#${text_map:-0})) ]] ||
		die "$suite: System.map (_text=$text_map) does not match vmlinux (.text at $text_elf)"

	copy_modules "$suite" "$release" "$moddir" "$stage/out/modules"

	# Sanity check with the host's bpftool when present (older bpftools may not know newer BTF kinds).
	if command -v bpftool >/dev/null 2>&1; then
		bpftool -B "$stage/out/vmlinux" btf dump file "$stage/out/modules/qemu_fw_cfg.ko" 2>/dev/null |
			matches "STRUCT 'fw_cfg_file'" ||
			warn "$suite: host bpftool cannot read qemu_fw_cfg.ko's split BTF on top of vmlinux"
	fi

	echo "$release" >"$stage/out/release"
	printf '%s\n' "${pkgs_used[@]}" >"$stage/out/packages"
	printf 'layout=%s\nbuilt=%s\n' "$KERNELS_LAYOUT" "$(date -u +%FT%TZ)" >"$stage/out/.complete"

	rm -rf "$out"
	mv "$stage/out" "$out"
	rm -rf "$stage"
	log "$suite: done in $((SECONDS - t0)) s: $out (release $release; modules: ${MODULES_COPIED[*]})"
}

complete() { # DIR LAYOUT : is DIR a finished fixture of that layout?
	grep -qx "layout=$2" "$1/.complete" 2>/dev/null
}

ensure_kernel() { # SUITE
	local suite=$1 out="$FIXTURES_DIR/kernels/$1"
	complete "$out" "$KERNELS_LAYOUT" && return 0
	lock "kernels-$suite"
	if ! complete "$out" "$KERNELS_LAYOUT"; then
		build_kernel "$suite"
	else
		log "$suite: built meanwhile by another run ($out)"
	fi
	unlock "kernels-$suite"
}

cmd_kernels() {
	local suites=("$@") s
	((${#suites[@]})) || suites=("${ALL_SUITES[@]}")
	for s in "${suites[@]}"; do
		check_suite "$s"
		local dir="$FIXTURES_DIR/kernels/$s" now built
		if complete "$dir" "$KERNELS_LAYOUT"; then
			# Never pinned: a cached kernel that is no longer the suite's current one is rebuilt.
			built=$(first <"$dir/packages")
			if now=$(setup_apt "$s" && resolve_image_package "$s"); then
				now=${now/ /=}
				if [[ $now != "$built" ]]; then
					log "$s: $built is cached, but $s now has $now: rebuilding"
					rm -f "$dir/.complete"
				fi
			else
				warn "$s: cannot resolve the current linux-image-amd64 (offline?); keeping the cached $built"
			fi
		fi
		if complete "$dir" "$KERNELS_LAYOUT"; then
			log "$s: up to date ($dir, release $(cat "$dir/release"))"
		else
			ensure_kernel "$s"
		fi
	done
}

check_suite() {
	[[ $1 =~ ^[a-z]+$ ]] || die "bad suite name '$1'"
}

# ---------------------------------------------------------------------------------------------
# vmcores
# ---------------------------------------------------------------------------------------------
QEMU_PID=""
kill_qemu() {
	if [[ -n $QEMU_PID ]] && kill -0 "$QEMU_PID" 2>/dev/null; then
		kill "$QEMU_PID" 2>/dev/null || true
		sleep 1
		kill -9 "$QEMU_PID" 2>/dev/null || true
	fi
	QEMU_PID=""
}

# Dumps the guest started as $QEMU_PID (QMP socket in $qdir of the caller) once its workload is
# ready: STAGE/out/{vmcore.elf,vmcore.kdump-zlib.flat,console.log}, STAGE/{formats,qmp.log}; waits
# for qemu to quit; checks the ELF dump's VMCOREINFO names RELEASE; reassembles qemu's flattened
# kdump-zlib (qemu < 8.2 writes makedumpfile's flattened stream) into STAGE/out/vmcore.kdump-zlib.
qmp_dump_guest() { # NAME STAGE RELEASE BOOT_TIMEOUT DUMP_TIMEOUT
	local name=$1 stage=$2 release=$3 boot=$4 dump=$5 _ osrel
	if ! python3 "$SCRIPT_DIR/qmp_dump.py" --socket "$qdir/qmp.sock" --serial "$stage/out/console.log" \
		--qemu-pid "$QEMU_PID" --boot-timeout "$boot" --dump-timeout "$dump" \
		--formats-out "$stage/formats" \
		--dump "elf:$stage/out/vmcore.elf" --dump "kdump-zlib:$stage/out/vmcore.kdump-zlib.flat" \
		--quit 2>&1 | tee "$stage/qmp.log" >&2; then
		kill_qemu
		die "$name: qemu/QMP failed; qemu said: $(tail -5 "$stage/qemu.log"); console tail: $(tail -5 "$stage/out/console.log" 2>/dev/null)"
	fi
	for _ in $(seq 1 30); do kill -0 "$QEMU_PID" 2>/dev/null || break; sleep 1; done
	kill_qemu
	grep -q '^ktype-init: .*\(FAILED\|WARNING\)' "$stage/out/console.log" &&
		warn "$name: guest reported: $(grep '^ktype-init: .*\(FAILED\|WARNING\)' "$stage/out/console.log")"
	osrel=$(strings -n 10 "$stage/out/vmcore.elf" | grep '^OSRELEASE=' | first || true)
	[[ $osrel == "OSRELEASE=$release" ]] ||
		die "$name: vmcore.elf has no VMCOREINFO note with OSRELEASE=$release (found '${osrel}'); was qemu_fw_cfg loaded?"
	makedumpfile -R "$stage/out/vmcore.kdump-zlib" <"$stage/out/vmcore.kdump-zlib.flat" >"$stage/makedumpfile-R.log" 2>&1 ||
		die "$name: makedumpfile -R (reassemble qemu's flattened kdump-zlib) failed: $(tail -5 "$stage/makedumpfile-R.log")"
	[[ $(head -c 8 "$stage/out/vmcore.kdump-zlib") == "KDUMP   " ]] || die "$name: reassembled vmcore.kdump-zlib lacks the KDUMP signature"
}


# Module names in dependency order (dependencies first) for NAME..., from a `name: deps` file.
module_load_order() { # MODULES_DEP NAME...
	local depfile=$1 name
	shift
	declare -A placed=()
	_place() {
		local n=$1 d
		[[ -n ${placed[$n]:-} ]] && return 0
		placed[$n]=1
		for d in $(sed -n "s/^$n: *//p" "$depfile"); do _place "$d"; done
		echo "$n"
	}
	for name in "$@"; do
		grep -q "^$name:" "$depfile" && _place "$name"
	done
	return 0
}

static_busybox() { # prints the path of a statically linked busybox, installing busybox-static if needed
	local b
	for b in /bin/busybox /usr/bin/busybox; do
		if [[ -x $b ]] && ! readelf -lW "$b" 2>/dev/null | grep INTERP >/dev/null; then
			echo "$b"
			return
		fi
	done
	apt_install busybox-static
	for b in /bin/busybox /usr/bin/busybox; do
		[[ -x $b ]] && ! readelf -lW "$b" | grep INTERP >/dev/null && { echo "$b"; return; }
	done
	die "no statically linked busybox after installing busybox-static"
}

build_vmcore() { # SUITE MEM_MiB NAME
	local suite=$1 mem=$2 name=$3 t0=$SECONDS
	local kdir="$FIXTURES_DIR/kernels/$suite" out="$FIXTURES_DIR/vmcores/$name"
	local stage="$FIXTURES_DIR/vmcores/.$name.staging" release busybox
	need qemu-system-x86_64:qemu-system-x86 cpio:cpio gzip:gzip gcc:gcc mkfs.ext4:e2fsprogs \
		makedumpfile:makedumpfile python3:python3 strings:binutils readelf:binutils
	apt_install libc6-dev
	busybox=$(static_busybox)
	release=$(cat "$kdir/release")
	rm -rf "$stage"
	mkdir -p "$stage/out" "$stage/initrd/bin" "$stage/initrd/etc" "$stage/initrd/modules" "$stage/disk/data"
	CLEANUP_PATHS+=("$stage")

	# Workload sizes scale with the guest memory (768 MiB: 96 anon, 48 zero, 64 clean cache, 16 shmem, 8 dirty).
	local anon=$((mem / 8)) zero=$((mem / 16)) cache=$((mem / 12)) shmem=$((mem / 48)) dirty=$((mem / 96))
	log "$name: guest $mem MiB: anon $anon MiB, zero $zero MiB, page cache $cache MiB (+$dirty dirty), shmem $shmem MiB"

	# initramfs: static busybox, /init, the workload, the modules (decompressed) in load order
	local root=$stage/initrd m order
	cp "$busybox" "$root/bin/busybox"
	ln -s busybox "$root/bin/sh"
	install -m 0755 "$SCRIPT_DIR/guest-init.sh" "$root/init"
	printf 'ANON_MB=%s\nZERO_MB=%s\nSHMEM_MB=%s\nDIRTY_MB=%s\n' "$anon" "$zero" "$shmem" "$dirty" >"$root/etc/workload.conf"
	gcc -static -O2 -Wall -o "$root/bin/workload" "$SCRIPT_DIR/workload.c" || die "gcc -static workload.c failed (libc6-dev?)"
	order=$(module_load_order "$kdir/modules/modules.dep" qemu_fw_cfg virtio_pci virtio_blk crc32c_generic ext4)
	grep -qx qemu_fw_cfg <<<"$order" || die "$suite: qemu_fw_cfg.ko missing from $kdir/modules"
	for m in $order; do cp "$kdir/modules/$m.ko" "$root/modules/"; done
	echo "$order" >"$root/modules/load-order"
	(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -9n) >"$stage/initramfs.cpio.gz" ||
		die "building the initramfs failed"

	# ext4 disk whose files the guest reads into the page cache
	head -c "$((cache * 1024 * 1024))" /dev/urandom >"$stage/disk/data/cache.bin"
	cp "$kdir/config" "$stage/disk/data/config.txt"
	mkfs.ext4 -q -F -O ^metadata_csum -L ktype -d "$stage/disk" "$stage/disk.img" "$((cache + dirty + 64))M" >/dev/null ||
		die "mkfs.ext4 -d failed"
	rm -rf "$stage/disk"

	# boot
	local qdir accel=${QEMU_ACCEL:-tcg} tq=$SECONDS
	qdir=$(mktemp -d /tmp/ktype-qemu.XXXXXX) # short path for the unix socket
	CLEANUP_PATHS+=("$qdir")
	local cmdline="console=ttyS0 panic=1"
	qemu-system-x86_64 -accel "$accel" -machine pc -cpu qemu64 -m "$mem" -smp 1 \
		-nodefaults -display none -no-reboot \
		-kernel "$kdir/vmlinuz" -initrd "$stage/initramfs.cpio.gz" -append "$cmdline" \
		-device vmcoreinfo \
		-drive "file=$stage/disk.img,format=raw,if=virtio" \
		-serial "file:$stage/out/console.log" -monitor none \
		-qmp "unix:$qdir/qmp.sock,server=on,wait=off" \
		>"$stage/qemu.log" 2>&1 &
	QEMU_PID=$!
	log "$name: qemu started (pid $QEMU_PID, accel $accel); waiting for the workload"
	qmp_dump_guest "$name" "$stage" "$release" 300 600
	local qemu_s=$((SECONDS - tq))

	# kdump-lzo via makedumpfile from a normalised copy of qemu's ELF
	python3 "$SCRIPT_DIR/normalize_elf.py" "$stage/out/vmcore.elf" "$stage/normalized.elf" >&2 ||
		die "$name: normalize_elf.py failed"
	makedumpfile --dump-dmesg "$stage/normalized.elf" "$stage/out/dmesg.txt" >"$stage/makedumpfile-dmesg.log" 2>&1 ||
		die "$name: makedumpfile --dump-dmesg failed: $(tail -5 "$stage/makedumpfile-dmesg.log")"
	grep -q "Linux version $release" "$stage/out/dmesg.txt" ||
		die "$name: makedumpfile --dump-dmesg output lacks 'Linux version $release'"
	makedumpfile -l -d 0 "$stage/normalized.elf" "$stage/out/vmcore.kdump-lzo" >"$stage/makedumpfile.log" 2>&1 ||
		die "$name: makedumpfile -l -d 0 failed: $(tail -5 "$stage/makedumpfile.log")"
	rm -f "$stage/normalized.elf" "$stage/disk.img"

	# qemu 7.2 parses VMCOREINFO's decimal NUMBER(phys_base) as hex for the kdump sub-header, so its
	# kdump-zlib carries a wrong phys_base whenever KASLR moved the kernel. The fixture keeps qemu's
	# value; check that the file is otherwise readable by makedumpfile with the phys_base corrected.
	local phys_base hdr_phys_base
	phys_base=$(strings -n 10 "$stage/out/vmcore.elf" | sed -n 's/^NUMBER(phys_base)=//p' | first)
	[[ $phys_base =~ ^-?[0-9]+$ ]] || die "$name: no decimal NUMBER(phys_base) in VMCOREINFO"
	hdr_phys_base=$(kdump_phys_base "$stage/out/vmcore.kdump-zlib")
	cp "$stage/out/vmcore.kdump-zlib" "$stage/fixed.kdump"
	kdump_phys_base "$stage/fixed.kdump" "$phys_base" >/dev/null
	makedumpfile --dump-dmesg "$stage/fixed.kdump" "$stage/dmesg-zlib.txt" >"$stage/makedumpfile-dmesg-zlib.log" 2>&1 ||
		die "$name: makedumpfile cannot read the kdump-zlib dump even with phys_base fixed: $(tail -5 "$stage/makedumpfile-dmesg-zlib.log")"
	cmp -s "$stage/dmesg-zlib.txt" "$stage/out/dmesg.txt" || die "$name: dmesg from kdump-zlib differs from dmesg from the ELF dump"
	rm -f "$stage/fixed.kdump"
	chmod 0644 "$stage/out"/*

	cp "$stage/initramfs.cpio.gz" "$stage/out/"
	{
		echo "suite=$suite"
		echo "release=$release"
		echo "mem_mib=$mem"
		echo "accel=$accel"
		echo "cmdline=$cmdline"
		echo "vmcoreinfo_phys_base=$(printf '%#x' "$phys_base")"
		echo "kdump_zlib_header_phys_base=$hdr_phys_base"
		echo "vmcoreinfo_kerneloffset=$(strings -n 10 "$stage/out/vmcore.elf" | sed -n 's/^KERNELOFFSET=//p' | first)"
		echo "qemu=$(qemu-system-x86_64 --version | first)"
		echo "qemu_dump_formats=$(tr '\n' ' ' <"$stage/formats" | sed 's/ $//')"
		echo "makedumpfile=$(makedumpfile -v 2>&1 | first)"
		echo "workload_mib=anon:$anon zero:$zero cache:$cache dirty:$dirty shmem:$shmem"
		echo "guest_ready_s=$(sed -n 's/.*guest ready .* after \([0-9.]*\)s.*/\1/p' "$stage/qmp.log")"
		echo "qemu_total_s=$qemu_s"
		echo "build_total_s=$((SECONDS - t0))"
	} >"$stage/out/info"
	printf 'layout=%s\nbuilt=%s\n' "$VMCORES_LAYOUT" "$(date -u +%FT%TZ)" >"$stage/out/.complete"
	rm -rf "$out"
	mv "$stage/out" "$out"
	rm -rf "$stage"
	log "$name: done in $((SECONDS - t0)) s: $out"
	ls -l "$out" >&2
}

vmcore_current() { # NAME SUITE : complete, and made from the kernel now in kernels/<suite>
	local dir="$FIXTURES_DIR/vmcores/$1"
	complete "$dir" "$VMCORES_LAYOUT" &&
		grep -qxF "release=$(cat "$FIXTURES_DIR/kernels/$2/release")" "$dir/info" 2>/dev/null
}

# Prints (or, with VALUE, sets) phys_base in the kdump sub-header of a kdump-compressed file.
kdump_phys_base() { # FILE [VALUE]
	python3 - "$@" <<'PY'
import struct, sys
path, value = sys.argv[1], sys.argv[2:]
with open(path, "r+b" if value else "rb") as f:
    hdr = f.read(464)
    if hdr[:8] != b"KDUMP   ":
        sys.exit(f"{path}: not a kdump-compressed file")
    block_size = struct.unpack_from("<i", hdr, 428)[0]  # struct disk_dump_header.block_size
    f.seek(block_size)  # struct kdump_sub_header starts one block in; phys_base is its first field
    old = struct.unpack("<Q", f.read(8))[0]
    if value:
        f.seek(block_size)
        f.write(struct.pack("<q", int(value[0], 0)))
    print(f"{old:#x}")
PY
}

cmd_vmcores() {
	local mem=$DEFAULT_MEM suites=() s name
	while (($#)); do
		case $1 in
		--mem)
			if ! [[ ${2:-} =~ ^[0-9]+$ ]] || ((10#$2 < 128)); then die "--mem needs a size in MiB (>= 128)"; fi
			mem=$((10#$2))
			shift 2
			;;
		--mem=*)
			set -- --mem "${1#--mem=}" "${@:2}"
			;;
		-*) die "unknown option $1 (see --help)" ;;
		*)
			check_suite "$1"
			suites+=("$1")
			shift
			;;
		esac
	done
	((${#suites[@]})) || suites=("${ALL_SUITES[@]}")
	for s in "${suites[@]}"; do
		name=$s
		((mem == DEFAULT_MEM)) || name=$s-$mem
		ensure_kernel "$s"
		if vmcore_current "$name" "$s"; then
			log "$name: up to date ($FIXTURES_DIR/vmcores/$name)"
			continue
		fi
		lock "vmcores-$name"
		if vmcore_current "$name" "$s"; then
			log "$name: built meanwhile by another run"
		else
			build_vmcore "$s" "$mem" "$name"
		fi
		unlock "vmcores-$name"
	done
}

# ---------------------------------------------------------------------------------------------
# kdump: the cached, kernel-dependent part of the kdump guest (scripts/kdump_run.sh)
# ---------------------------------------------------------------------------------------------
# kdump/<suite>/base.cpio.gz: static busybox, the modules the capture kernel needs for its ext4
# disk (in load order) and makedumpfile-sid's whole tree (/bin/makedumpfile is its wrapper);
# kdump/<suite>/kexec.cpio.gz: kexec-tools' tree (/bin/kexec), for the first kernel only.
# Keyed by the kernel release and the tools' package versions (info).
kdump_key() { # SUITE : the lines of info that must match for a cached kdump/<suite> to be current
	echo "release=$(cat "$FIXTURES_DIR/kernels/$1/release")"
	echo "makedumpfile=$(first <"$FIXTURES_DIR/tools/makedumpfile-sid/packages")"
	echo "kexec=$(first <"$FIXTURES_DIR/tools/kexec-tools/packages")"
}

kdump_current() { # SUITE
	local dir="$FIXTURES_DIR/kdump/$1" line
	complete "$dir" "$KDUMP_LAYOUT" || return 1
	while IFS= read -r line; do
		grep -qxF "$line" "$dir/info" 2>/dev/null || return 1
	done < <(kdump_key "$1")
}

cpio_gz() { # DIR OUT : a newc cpio of DIR's content, gzip'd, reproducible order
	(cd "$1" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -9n) >"$2" || die "cpio of $1 failed"
}

build_kdump() { # SUITE
	local suite=$1 t0=$SECONDS kdir="$FIXTURES_DIR/kernels/$1" out="$FIXTURES_DIR/kdump/$1"
	local stage="$FIXTURES_DIR/kdump/.$1.staging" busybox m order
	need cpio:cpio gzip:gzip readelf:binutils
	busybox=$(static_busybox)
	rm -rf "$stage"
	mkdir -p "$stage/out" "$stage/base/bin" "$stage/base/modules" "$stage/base/opt" "$stage/kexec/bin" "$stage/kexec/opt"
	CLEANUP_PATHS+=("$stage")
	cp "$busybox" "$stage/base/bin/busybox"
	ln -s busybox "$stage/base/bin/sh"
	order=$(module_load_order "$kdir/modules/modules.dep" qemu_fw_cfg virtio_pci virtio_blk crc32c_generic ext4)
	grep -qx ext4 <<<"$order" || die "$suite: ext4.ko missing from $kdir/modules"
	for m in $order; do cp "$kdir/modules/$m.ko" "$stage/base/modules/"; done
	echo "$order" >"$stage/base/modules/load-order"
	cp -a "$FIXTURES_DIR/tools/makedumpfile-sid" "$stage/base/opt/makedumpfile-sid"
	rm -f "$stage/base/opt/makedumpfile-sid/.complete"
	ln -s /opt/makedumpfile-sid/makedumpfile "$stage/base/bin/makedumpfile"
	cp -a "$FIXTURES_DIR/tools/kexec-tools" "$stage/kexec/opt/kexec-tools"
	rm -f "$stage/kexec/opt/kexec-tools/.complete"
	ln -s /opt/kexec-tools/kexec "$stage/kexec/bin/kexec"
	cpio_gz "$stage/base" "$stage/out/base.cpio.gz"
	cpio_gz "$stage/kexec" "$stage/out/kexec.cpio.gz"
	{
		kdump_key "$suite"
		echo "modules=$(tr '\n' ' ' <<<"$order" | sed 's/ $//')"
		echo "busybox=$("$busybox" 2>&1 | first)"
	} >"$stage/out/info"
	printf 'layout=%s\nbuilt=%s\n' "$KDUMP_LAYOUT" "$(date -u +%FT%TZ)" >"$stage/out/.complete"
	rm -rf "$out"
	mv "$stage/out" "$out"
	rm -rf "$stage"
	log "kdump $suite: done in $((SECONDS - t0)) s: $out"
}

cmd_kdump() {
	local suites=("$@") s
	((${#suites[@]})) || suites=("${ALL_SUITES[@]}")
	# What scripts/kdump_run.sh needs on the host, too.
	need qemu-system-x86_64:qemu-system-x86 cpio:cpio gzip:gzip gcc:gcc mkfs.ext4:e2fsprogs debugfs:e2fsprogs \
		objcopy:binutils readelf:binutils ldd:libc-bin flock:util-linux
	apt_install libc6-dev
	[[ -f $FIXTURES_DIR/tools/makedumpfile-sid/.complete ]] || cmd_tools
	[[ -f $FIXTURES_DIR/tools/kexec-tools/.complete ]] || kexec_tool
	for s in "${suites[@]}"; do
		check_suite "$s"
		ensure_kernel "$s"
		if kdump_current "$s"; then
			log "kdump $s: up to date ($FIXTURES_DIR/kdump/$s)"
			continue
		fi
		lock "kdump-$s"
		if kdump_current "$s"; then
			log "kdump $s: built meanwhile by another run"
		else
			build_kdump "$s"
		fi
		unlock "kdump-$s"
	done
}

# ---------------------------------------------------------------------------------------------
# arm64: Debian's arm64 kernels, booted under qemu-system-aarch64 (TCG) on this host
# ---------------------------------------------------------------------------------------------
# kernels/<suite>-arm64/{Image,config,release,packages,modules/}: linux-image-arm64 of SUITE from a
# private arm64 apt state (apt-<suite>-arm64); Image is the uncompressed kernel qemu boots.
# vmcores/<suite>-arm64/: the same workload as the x86_64 guests, dumped through QMP (ELF and
# kdump-zlib), plus vmcore.kdump-lzo and dmesg.txt written by sid's arm64 makedumpfile
# (tools/makedumpfile-sid-arm64, run under qemu-aarch64-static), the anchor of page sets.
# vmcores/<suite>-arm64-nolpa2/: for a kernel built for 52-bit addresses with 4 KiB pages (LPA2,
# CONFIG_ARM64_VA_BITS_52), the same guest on a CPU without FEAT_LPA2 (`lpa2=off`), as on most
# arm64 servers: the kernel then runs with 48 bits, 4 levels and classic page-table entries.
ARM64_KERNELS_LAYOUT=2
ARM64_VMCORES_LAYOUT=2
ARM64_MEM=1024
ARM64_QEMU_CPU="max,pauth-impdef=on" # the default pointer-auth algorithm (QARMA) triples boot time under TCG

# The uncompressed arm64 Image in a vmlinuz: already one ("ARM\x64" at 0x38), gzip'd, or an EFI
# zboot image (PE "zimg" header naming the payload's offset, size and compressor).
arm64_image() { # VMLINUZ OUT
	local in=$1 out=$2 magic
	magic=$(od -An -tx1 -j 56 -N 4 "$in" | tr -d ' \n')
	if [[ $magic == 41524d64 ]]; then
		cp "$in" "$out"
		return 0
	fi
	case $(od -An -tx1 -N 2 "$in" | tr -d ' \n') in
	1f8b) gzip -dc "$in" >"$out" ;;
	4d5a)
		[[ $(dd if="$in" bs=1 skip=4 count=4 status=none) == zimg ]] || die "$in: a PE file but not an EFI zboot image"
		local off size comp
		off=$(od -An -tu4 -j 8 -N 4 "$in" | tr -d ' ')
		size=$(od -An -tu4 -j 12 -N 4 "$in" | tr -d ' ')
		comp=$(dd if="$in" bs=1 skip=24 count=32 status=none | tr -d '\0')
		log "  vmlinuz is an EFI zboot image ($comp payload, $size bytes at $off)"
		# dd reads exactly the payload (a reader that stops early would SIGPIPE its writer).
		local payload=(dd if="$in" bs=64K iflag=skip_bytes,count_bytes skip="$off" count="$size" status=none)
		case $comp in
		gzip | zstd | xz | lz4 | bzip2) "${payload[@]}" | "$comp" -dc >"$out" ;;
		lzma) "${payload[@]}" | xz -F lzma -dc >"$out" ;;
		*) die "$in: zboot payload compressed with unknown '$comp'" ;;
		esac
		;;
	*) die "$in: neither an arm64 Image, gzip nor EFI zboot" ;;
	esac
	[[ $(od -An -tx1 -j 56 -N 4 "$out" | tr -d ' \n') == 41524d64 ]] || die "$in: decompressed payload is not an arm64 Image"
}

build_kernel_arm64() { # SUITE
	local suite=$1 name="$1-arm64" t0=$SECONDS
	local out="$FIXTURES_DIR/kernels/$name" stage="$FIXTURES_DIR/kernels/.$name.staging" pkg ver deb p release vmlinuz
	need xz:xz-utils zstd:zstd gzip:gzip readelf:binutils objcopy:binutils
	rm -rf "$stage"
	mkdir -p "$stage/dl" "$stage/root" "$stage/out/modules"
	CLEANUP_PATHS+=("$stage")
	setup_apt "$suite" arm64
	read -r pkg ver <<<"$(resolve_image_package "$suite" arm64)"
	log "$name: linux-image-arm64 -> $pkg $ver"
	local pkgs=() pkgs_used=()
	mapfile -t pkgs < <(kernel_package_set "$pkg" "$ver")
	for p in "${pkgs[@]}"; do
		deb=$(download "$stage/dl" "$p" "$ver")
		dpkg-deb -x "$deb" "$stage/root" || die "dpkg-deb -x $deb failed"
		pkgs_used+=("$p=$ver")
	done
	local root=$stage/root from="${pkgs[*]} ($ver, from $suite's linux-image-arm64)"
	vmlinuz=$(find_in "$root" boot/vmlinuz-'*' usr/lib/modules/'*'/vmlinuz lib/modules/'*'/vmlinuz) ||
		die "$name: no vmlinuz in $from"
	case $vmlinuz in
	*/boot/vmlinuz-*) release=${vmlinuz##*/vmlinuz-} ;;
	*) release=$(basename "$(dirname "$vmlinuz")") ;;
	esac
	log "$name: release $release; vmlinuz is ${vmlinuz#"$root"/}"
	arm64_image "$vmlinuz" "$stage/out/Image"
	LC_ALL=C grep -aq "Linux version $release " "$stage/out/Image" || die "$name: Image lacks the banner 'Linux version $release'"
	local config moddir
	config=$(find_in "$root" "boot/config-$release" "usr/lib/modules/$release/config" "lib/modules/$release/config") ||
		die "$name: no kernel config in $from"
	cp "$config" "$stage/out/config"
	moddir=$(find_in "$root" "usr/lib/modules/$release/kernel" "lib/modules/$release/kernel") || die "$name: no modules in $from"
	copy_modules "$name" "$release" "${moddir%/kernel}" "$stage/out/modules"
	echo "$release" >"$stage/out/release"
	printf '%s\n' "${pkgs_used[@]}" >"$stage/out/packages"
	printf 'layout=%s\nbuilt=%s\n' "$ARM64_KERNELS_LAYOUT" "$(date -u +%FT%TZ)" >"$stage/out/.complete"
	rm -rf "$out"
	mv "$stage/out" "$out"
	rm -rf "$stage"
	log "$name: done in $((SECONDS - t0)) s: $out (release $release; modules: ${MODULES_COPIED[*]})"
}

# Never pinned: a cached kernel that is no longer the suite's current one is rebuilt.
ensure_kernel_arm64() { # SUITE
	local suite=$1 dir="$FIXTURES_DIR/kernels/$1-arm64" now
	setup_apt "$suite" arm64
	if complete "$dir" "$ARM64_KERNELS_LAYOUT"; then
		if now=$(resolve_image_package "$suite" arm64); then
			[[ ${now/ /=} == "$(first <"$dir/packages")" ]] && return 0
			log "$suite-arm64: $(first <"$dir/packages") is cached, but $suite now has ${now/ /=}: rebuilding"
		else
			warn "$suite-arm64: cannot resolve the current linux-image-arm64 (offline?); keeping the cached kernel"
			return 0
		fi
	fi
	lock "kernels-$suite-arm64"
	build_kernel_arm64 "$suite"
	unlock "kernels-$suite-arm64"
}

# kernels/<suite>-arm64/vmlinux-dbg: the vmlinux (DWARF) of the -dbg package matching the kernel
# in kernels/<suite>-arm64 (its image package's exact version, from the same private arm64 apt
# state), for pahole and drgn. Only that file is read out of the package (≈1 GB; the .deb is
# deleted). It has its own marker, .vmlinux-dbg.complete, naming the kernel package it belongs
# to: fetching it rebuilds neither the kernel nor its dumps, and a new kernel (whose directory
# is replaced whole) gets its own.
arm64_vmlinux_dbg_current() { # SUITE
	local dir="$FIXTURES_DIR/kernels/$1-arm64"
	[[ -f $dir/vmlinux-dbg ]] &&
		grep -qxF "kernel=$(first <"$dir/packages")" "$dir/.vmlinux-dbg.complete" 2>/dev/null
}

fetch_vmlinux_dbg_arm64() { # SUITE
	local suite=$1 name="$1-arm64" t0=$SECONDS
	local dir="$FIXTURES_DIR/kernels/$name" stage="$FIXTURES_DIR/kernels/.$name-dbg.staging"
	local kernel pkg ver release dbg deb member vmlinux
	need readelf:binutils python3:python3
	kernel=$(first <"$dir/packages")
	pkg=${kernel%%=*} ver=${kernel#*=}
	release=$(cat "$dir/release")
	setup_apt "$suite" arm64
	dbg=$(debug_package "$pkg" "$ver" "$release") ||
		die "$name: no debug package ($pkg-dbg, linux-image-$release-dbg) at $ver in $suite (arm64)"
	rm -rf "$stage"
	mkdir -p "$stage/dl"
	CLEANUP_PATHS+=("$stage")
	log "$name: fetching the debug vmlinux from $dbg $ver (large download)"
	deb=$(download "$stage/dl" "$dbg" "$ver")
	local deb_bytes download_s=$((SECONDS - t0)) tx=$SECONDS
	deb_bytes=$(stat -c %s "$deb")
	member=$(python3 "$SCRIPT_DIR/deb_extract.py" "$deb" "$stage/x" \
		"usr/lib/debug/boot/vmlinux-$release|usr/lib/debug/lib/modules/$release/vmlinux") ||
		die "$name: $dbg $ver has no vmlinux under usr/lib/debug/{boot,lib/modules/$release}"
	rm -f "$deb"
	vmlinux="$stage/x/$member"
	readelf -hW "$vmlinux" | matches 'Machine:[[:space:]]*AArch64' ||
		die "$name: $member of $dbg is not an AArch64 ELF file"
	readelf -SW "$vmlinux" | matches '[[:space:]]\.debug_info[[:space:]]' || die "$name: $member of $dbg has no .debug_info"
	LC_ALL=C grep -aq "Linux version $release " "$vmlinux" ||
		die "$name: $member of $dbg lacks the banner 'Linux version $release'"
	rm -f "$dir/.vmlinux-dbg.complete"
	mv "$vmlinux" "$dir/vmlinux-dbg"
	printf 'kernel=%s\npackage=%s=%s\nmember=%s\ndeb_bytes=%s\nvmlinux_bytes=%s\ndownload_s=%s\nextract_s=%s\nbuilt=%s\n' \
		"$kernel" "$dbg" "$ver" "$member" "$deb_bytes" "$(stat -c %s "$dir/vmlinux-dbg")" "$download_s" \
		"$((SECONDS - tx))" "$(date -u +%FT%TZ)" >"$dir/.vmlinux-dbg.complete"
	rm -rf "$stage"
	log "$name: vmlinux-dbg in $((SECONDS - t0)) s ($dbg $ver, $deb_bytes bytes downloaded in $download_s s)"
}

ensure_vmlinux_dbg_arm64() { # SUITE (after ensure_kernel_arm64)
	local suite=$1
	arm64_vmlinux_dbg_current "$suite" && return 0
	# The kernel's lock: a kernel rebuild replaces the directory the vmlinux goes into.
	lock "kernels-$suite-arm64"
	if arm64_vmlinux_dbg_current "$suite"; then
		log "$suite-arm64: vmlinux-dbg fetched meanwhile by another run"
	else
		fetch_vmlinux_dbg_arm64 "$suite"
	fi
	unlock "kernels-$suite-arm64"
}

# sid's arm64 makedumpfile (1.7.8+), run under qemu-aarch64-static: the page-set anchor.
makedumpfile_arm64_tool() {
	need qemu-aarch64-static:qemu-user-static
	foreign_tool --arch arm64 makedumpfile-sid-arm64 sid usr/bin/makedumpfile makedumpfile libc6 libdw1t64 \
		libelf1t64 liblzo2-2 libzstd1 zlib1g liblzma5 libbz2-1.0
	"$FIXTURES_DIR/tools/makedumpfile-sid-arm64/makedumpfile" -v >/dev/null 2>&1 ||
		die "makedumpfile-sid-arm64 does not run: $("$FIXTURES_DIR/tools/makedumpfile-sid-arm64/makedumpfile" -v 2>&1 | first 3)"
}

# A statically linked arm64 busybox: busybox-static of the host's suite, from the arm64 apt state.
arm64_busybox() { # DIR : prints the path of DIR/busybox
	local dir=$1 suite ver deb
	suite=$(host_codename)
	[[ -n $suite ]] || suite=bookworm
	setup_apt "$suite" arm64
	ver=$(candidate_version busybox-static)
	[[ -n $ver ]] || die "no arm64 busybox-static in $suite"
	mkdir -p "$dir/x"
	deb=$(download "$dir" busybox-static "$ver")
	dpkg-deb -x "$deb" "$dir/x"
	local b
	b=$(find_in "$dir/x" bin/busybox usr/bin/busybox) || die "busybox-static $ver (arm64) has no bin/busybox"
	file -b "$b" | matches 'ARM aarch64.*statically linked' || die "$b is not a static arm64 executable: $(file -b "$b")"
	echo "$b"
}

build_vmcore_arm64() { # SUITE
	local suite=$1 variant=${2:-} name="$1-arm64${2:+-$2}" mem=$ARM64_MEM t0=$SECONDS cpu=$ARM64_QEMU_CPU
	case $variant in
	"") ;;
	nolpa2) cpu+=",lpa2=off" ;;
	*) die "unknown arm64 fixture variant '$variant'" ;;
	esac
	local kdir="$FIXTURES_DIR/kernels/$suite-arm64" out="$FIXTURES_DIR/vmcores/$name"
	local stage="$FIXTURES_DIR/vmcores/.$name.staging" release busybox mdf="$FIXTURES_DIR/tools/makedumpfile-sid-arm64/makedumpfile"
	need qemu-system-aarch64:qemu-system-arm aarch64-linux-gnu-gcc:gcc-aarch64-linux-gnu cpio:cpio gzip:gzip \
		mkfs.ext4:e2fsprogs makedumpfile:makedumpfile python3:python3 strings:binutils file:file
	apt_install libc6-dev-arm64-cross
	release=$(cat "$kdir/release")
	rm -rf "$stage"
	mkdir -p "$stage/out" "$stage/bb" "$stage/initrd/bin" "$stage/initrd/etc" "$stage/initrd/modules" "$stage/disk/data"
	CLEANUP_PATHS+=("$stage")
	busybox=$(arm64_busybox "$stage/bb")

	# The same workload mix and sizes (relative to memory) as build_vmcore.
	local anon=$((mem / 8)) zero=$((mem / 16)) cache=$((mem / 12)) shmem=$((mem / 48)) dirty=$((mem / 96))
	log "$name: guest $mem MiB: anon $anon MiB, zero $zero MiB, page cache $cache MiB (+$dirty dirty), shmem $shmem MiB"
	local root=$stage/initrd m order
	cp "$busybox" "$root/bin/busybox"
	ln -s busybox "$root/bin/sh"
	install -m 0755 "$SCRIPT_DIR/guest-init.sh" "$root/init"
	printf 'ANON_MB=%s\nZERO_MB=%s\nSHMEM_MB=%s\nDIRTY_MB=%s\n' "$anon" "$zero" "$shmem" "$dirty" >"$root/etc/workload.conf"
	aarch64-linux-gnu-gcc -static -O2 -Wall -o "$root/bin/workload" "$SCRIPT_DIR/workload.c" ||
		die "aarch64-linux-gnu-gcc -static workload.c failed (libc6-dev-arm64-cross?)"
	order=$(module_load_order "$kdir/modules/modules.dep" qemu_fw_cfg virtio_pci virtio_blk crc32c_generic ext4)
	grep -qx qemu_fw_cfg <<<"$order" || die "$name: qemu_fw_cfg.ko missing from $kdir/modules"
	for m in $order; do cp "$kdir/modules/$m.ko" "$root/modules/"; done
	echo "$order" >"$root/modules/load-order"
	cpio_gz "$root" "$stage/initramfs.cpio.gz"
	head -c "$((cache * 1024 * 1024))" /dev/urandom >"$stage/disk/data/cache.bin"
	cp "$kdir/config" "$stage/disk/data/config.txt"
	mkfs.ext4 -q -F -O ^metadata_csum -L ktype -d "$stage/disk" "$stage/disk.img" "$((cache + dirty + 64))M" >/dev/null ||
		die "mkfs.ext4 -d failed"
	rm -rf "$stage/disk"

	local qdir tq=$SECONDS cmdline="console=ttyAMA0 panic=1"
	qdir=$(mktemp -d /tmp/ktype-qemu.XXXXXX)
	CLEANUP_PATHS+=("$qdir")
	qemu-system-aarch64 -machine virt -cpu "$cpu" -m "$mem" -smp 2 \
		-nodefaults -display none -no-reboot \
		-kernel "$kdir/Image" -initrd "$stage/initramfs.cpio.gz" -append "$cmdline" \
		-device vmcoreinfo \
		-drive "file=$stage/disk.img,format=raw,if=none,id=disk0" -device virtio-blk-pci,drive=disk0 \
		-serial "file:$stage/out/console.log" -monitor none \
		-qmp "unix:$qdir/qmp.sock,server=on,wait=off" \
		>"$stage/qemu.log" 2>&1 &
	QEMU_PID=$!
	log "$name: qemu-system-aarch64 started (pid $QEMU_PID); waiting for the workload"
	qmp_dump_guest "$name" "$stage" "$release" 600 900
	local qemu_s=$((SECONDS - tq))

	# The anchor reads a normalised copy of qemu's ELF: the kernel log and a kdump-lzo of every page.
	local tm=$SECONDS
	python3 "$SCRIPT_DIR/normalize_elf.py" "$stage/out/vmcore.elf" "$stage/normalized.elf" >&2 || die "$name: normalize_elf.py failed"
	# makedumpfile 1.7.8 does not know every arm64 configuration (4 KiB pages with 52-bit
	# addresses, LPA2): then the fixture has no anchor output, and says why (anchor=).
	local anchor=yes
	if "$mdf" --dump-dmesg "$stage/normalized.elf" "$stage/out/dmesg.txt" >"$stage/makedumpfile-dmesg.log" 2>&1; then
		grep -q "Linux version $release" "$stage/out/dmesg.txt" || die "$name: makedumpfile --dump-dmesg output lacks 'Linux version $release'"
		"$mdf" -l -d 0 "$stage/normalized.elf" "$stage/out/vmcore.kdump-lzo" >"$stage/makedumpfile.log" 2>&1 ||
			die "$name: arm64 makedumpfile -l -d 0 failed: $(tail -5 "$stage/makedumpfile.log")"
	else
		anchor="none: $(grep -v '^$' "$stage/makedumpfile-dmesg.log" | first | tr -d '\n')"
		warn "$name: arm64 makedumpfile cannot read this dump ($anchor); no dmesg.txt, no vmcore.kdump-lzo"
		rm -f "$stage/out/dmesg.txt"
	fi
	local mdf_s=$((SECONDS - tm))
	rm -f "$stage/normalized.elf" "$stage/disk.img"
	chmod 0644 "$stage/out"/*
	cp "$stage/initramfs.cpio.gz" "$stage/out/"
	{
		echo "suite=$suite"
		echo "arch=arm64"
		echo "release=$release"
		echo "kernel_packages=$(first <"$kdir/packages")"
		echo "mem_mib=$mem"
		echo "cpu=$cpu"
		echo "cmdline=$cmdline"
		echo "vmcoreinfo_kimage_voffset=$(strings -n 10 "$stage/out/vmcore.elf" | sed -n 's/^NUMBER(kimage_voffset)=//p' | first)"
		echo "vmcoreinfo_kerneloffset=$(strings -n 10 "$stage/out/vmcore.elf" | sed -n 's/^KERNELOFFSET=//p' | first)"
		echo "qemu=$(qemu-system-aarch64 --version | first)"
		echo "qemu_dump_formats=$(tr '\n' ' ' <"$stage/formats" | sed 's/ $//')"
		echo "makedumpfile=$("$mdf" -v 2>&1 | first) (arm64, sid, qemu-aarch64-static)"
		echo "anchor=$anchor"
		echo "workload_mib=anon:$anon zero:$zero cache:$cache dirty:$dirty shmem:$shmem"
		echo "guest_ready_s=$(sed -n 's/.*guest ready .* after \([0-9.]*\)s.*/\1/p' "$stage/qmp.log")"
		echo "qemu_total_s=$qemu_s"
		echo "makedumpfile_s=$mdf_s"
		echo "build_total_s=$((SECONDS - t0))"
	} >"$stage/out/info"
	printf 'layout=%s\nbuilt=%s\n' "$ARM64_VMCORES_LAYOUT" "$(date -u +%FT%TZ)" >"$stage/out/.complete"
	rm -rf "$out"
	mv "$stage/out" "$out"
	rm -rf "$stage"
	log "$name: done in $((SECONDS - t0)) s: $out"
	ls -l "$out" >&2
}

# Keyed by the kernel's package version (kernel_packages= in info).
vmcore_arm64_current() { # SUITE [VARIANT]
	local dir="$FIXTURES_DIR/vmcores/$1-arm64${2:+-$2}"
	complete "$dir" "$ARM64_VMCORES_LAYOUT" &&
		grep -qxF "kernel_packages=$(first <"$FIXTURES_DIR/kernels/$1-arm64/packages")" "$dir/info" 2>/dev/null
}

# The dumps of SUITE's arm64 kernel in each variant it has: the default guest, and the guest
# without FEAT_LPA2 when the kernel is built for 52-bit addresses with 4 KiB pages.
build_arm64_variants() { # SUITE
	local s=$1 v variants=("")
	grep -qx 'CONFIG_ARM64_VA_BITS_52=y' "$FIXTURES_DIR/kernels/$s-arm64/config" &&
		grep -qx 'CONFIG_ARM64_4K_PAGES=y' "$FIXTURES_DIR/kernels/$s-arm64/config" && variants+=(nolpa2)
	for v in "${variants[@]}"; do
		if vmcore_arm64_current "$s" "$v"; then
			log "$s-arm64${v:+-$v}: up to date ($FIXTURES_DIR/vmcores/$s-arm64${v:+-$v})"
			continue
		fi
		lock "vmcores-$s-arm64${v:+-$v}"
		if vmcore_arm64_current "$s" "$v"; then
			log "$s-arm64${v:+-$v}: built meanwhile by another run"
		else
			build_vmcore_arm64 "$s" "$v"
		fi
		unlock "vmcores-$s-arm64${v:+-$v}"
	done
}

cmd_arm64() {
	local suites=("$@") s
	((${#suites[@]})) || suites=("${ALL_SUITES[@]}")
	need qemu-system-aarch64:qemu-system-arm qemu-aarch64-static:qemu-user-static flock:util-linux
	makedumpfile_arm64_tool
	for s in "${suites[@]}"; do
		check_suite "$s"
		ensure_kernel_arm64 "$s"
		build_arm64_variants "$s"
		ensure_vmlinux_dbg_arm64 "$s"
	done
}

# ---------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------
main() {
	(($#)) || {
		usage
		exit 2
	}
	local cmd=$1
	shift
	case $cmd in
	tools) cmd_tools "$@" ;;
	kernels) cmd_kernels "$@" ;;
	kdump) cmd_kdump "$@" ;;
	vmcores) cmd_vmcores "$@" ;;
	arm64) cmd_arm64 "$@" ;;
	-h | --help | help) usage ;;
	*)
		usage
		die "unknown command '$cmd'"
		;;
	esac
}

main "$@"
