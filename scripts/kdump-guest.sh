#!/bin/sh
# /kdump/guest.sh of the kdump guest (scripts/kdump_run.sh); /init (guest-init.sh) hands over to it.
#
#   guest.sh crash     first kernel, after the workload: read the running kernel with
#                      `dumptool info --live`, `dumptool dmesg --live` and, when present, the
#                      examples' ps as /bin/ktype-ps (outputs, with the guest's own view, in
#                      results/live/ on /dev/vdb), load the capture
#                      kernel with `kexec -p` and crash the kernel through sysrq
#   guest.sh capture   capture kernel (/proc/vmcore exists): run every line of
#                      /etc/kdump/commands on /proc/vmcore under `measure`, results on the
#                      ext4 disk /dev/vdb (folder results/), then power off
#
# /etc/kdump/commands: one run per line, `NAME SHELL-COMMAND` (blank lines and lines starting
# with # are skipped). The command runs under `sh -c` in the results folder with VMCORE set to
# /proc/vmcore; its stdout and stderr go to NAME.stdout and NAME.stderr, its time and peak
# memory to results.txt (see measure.c). /etc/kdump/params sets CAPTURE_APPEND.
export PATH=/bin
say() { echo "ktype-kdump: $*"; }
fail() {
	say "FAILED: $*"
	sync
	poweroff -f
	sleep 5
	echo o >/proc/sysrq-trigger
}
. /etc/kdump/params

# The running kernel read live (/proc/kcore), with what the guest itself says for comparison:
# results/live/ on the results disk (the capture kernel adds its own results beside it).
live() {
	mkdir -p /out
	mount -t ext4 /dev/vdb /out || fail "mount /dev/vdb (live runs)"
	mkdir -p /out/results/live
	cd /out/results/live || fail "cd /out/results/live"
	uname -r >uname.txt
	cat /proc/modules >modules.txt
	dmesg >busybox-dmesg.txt
	dumptool info --live >info.stdout 2>info.stderr
	echo "info=$?" >status.txt
	dumptool dmesg --live >dmesg.stdout 2>dmesg.stderr
	echo "dmesg=$?" >>status.txt
	# The examples' ps (kdump_run.sh --tool ktype-ps=...), with the processes as /proc lists them
	# just before and just after (a kthread may end meanwhile) and the shell's pid (ps's parent).
	if [ -x /bin/ktype-ps ]; then
		echo $$ >shell-pid.txt
		for f in /proc/[0-9]*/stat; do cat "$f" 2>/dev/null; done >proc-stat.txt
		ktype-ps /proc/kcore >ps.stdout 2>ps.stderr
		echo "ps=$?" >>status.txt
		for f in /proc/[0-9]*/stat; do cat "$f" 2>/dev/null; done >proc-stat-after.txt
	fi
	say "live runs: $(tr '\n' ' ' <status.txt)"
	cd /
	sync
	umount /out || fail "umount /out (live runs)"
}

case $1 in
crash)
	live
	size=$(cat /sys/kernel/kexec_crash_size 2>/dev/null)
	[ "${size:-0}" -gt 0 ] || fail "no memory reserved for a crash kernel (crashkernel= in $(cat /proc/cmdline))"
	say "crashkernel: $((size / 1048576)) MiB reserved"
	kexec -p /kdump/vmlinuz --initrd=/kdump/initrd.img --append="$CAPTURE_APPEND" ||
		fail "kexec -p /kdump/vmlinuz"
	[ "$(cat /sys/kernel/kexec_crash_loaded)" = 1 ] || fail "kexec -p returned but kexec_crash_loaded is not 1"
	say "capture kernel loaded; crashing through sysrq"
	echo c >/proc/sysrq-trigger
	fail "still alive after the sysrq crash"
	;;
capture)
	say "capture kernel $(uname -r): /proc/vmcore of $(stat -c %s /proc/vmcore) bytes"
	for m in $(cat /modules/load-order); do
		insmod "/modules/$m.ko" || say "insmod $m FAILED"
	done
	mkdir -p /out
	mount -t ext4 /dev/vdb /out || fail "mount /dev/vdb"
	mkdir -p /out/results
	cd /out/results || fail "cd /out/results"
	{
		echo "release=$(uname -r)"
		echo "cmdline=$(cat /proc/cmdline)"
		echo "vmcore_bytes=$(stat -c %s /proc/vmcore)"
		echo "uptime_start=$(cut -d' ' -f1 /proc/uptime)"
	} >capture.txt
	cat /proc/meminfo >meminfo-before.txt
	export VMCORE=/proc/vmcore
	grep -v '^[[:space:]]*#' /etc/kdump/commands | while read -r name cmd; do
		[ -n "$name" ] || continue
		say "run $name: $cmd"
		sync
		echo 3 >/proc/sys/vm/drop_caches
		measure results.txt "$name" sh -c "$cmd" </dev/null >"$name.stdout" 2>"$name.stderr"
		say "run $name: exit $?"
		sync
	done
	cat /proc/meminfo >meminfo-after.txt
	echo "uptime_end=$(cut -d' ' -f1 /proc/uptime)" >>capture.txt
	dmesg >dmesg.txt
	cd /
	sync
	umount /out || say "umount /out FAILED"
	say "KTYPE-KDUMP-DONE"
	poweroff -f
	;;
*)
	fail "usage: guest.sh crash|capture"
	;;
esac
