#!/bin/sh
# /init of the initramfs built by `scripts/fixtures.sh vmcores` (runs under busybox in the guest).
# Loads the modules listed in /modules/load-order (qemu_fw_cfg makes the kernel hand VMCOREINFO to
# qemu's vmcoreinfo device), fills memory with a known mix, prints KTYPE-WORKLOAD-READY and idles.
# Sizes come from /etc/workload.conf (ANON_MB ZERO_MB SHMEM_MB DIRTY_MB).
# The kdump guest (scripts/kdump_run.sh) adds /kdump/guest.sh: a capture kernel (the one that
# has /proc/vmcore) hands over to it at once; the first kernel does after the workload.
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev /tmp /mnt
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
[ -e /proc/vmcore ] && [ -x /kdump/guest.sh ] && exec /kdump/guest.sh capture
. /etc/workload.conf
say() { echo "ktype-init: $*"; }

for m in $(cat /modules/load-order); do
	insmod "/modules/$m.ko" || say "insmod $m FAILED"
done
[ -d /sys/firmware/qemu_fw_cfg ] && say "qemu_fw_cfg loaded" || say "WARNING: no /sys/firmware/qemu_fw_cfg"

# Page cache: files of an ext4 disk read back (clean cache) and one written, kept dirty.
echo 0 >/proc/sys/vm/dirty_writeback_centisecs
echo 360000 >/proc/sys/vm/dirty_expire_centisecs
echo 90 >/proc/sys/vm/dirty_ratio
echo 80 >/proc/sys/vm/dirty_background_ratio
if [ -b /dev/vda ] && mount -t ext4 /dev/vda /mnt; then
	cat /mnt/data/* >/dev/null
	dd if=/dev/urandom of=/mnt/dirty.bin bs=1M count="$DIRTY_MB" 2>/dev/null
	say "page cache: $(du -sm /mnt/data | cut -f1) MiB clean, $DIRTY_MB MiB dirty"
else
	say "WARNING: no ext4 disk on /dev/vda; no file page cache"
fi

# Shared memory: a tmpfs file.
mount -t tmpfs -o size=$((SHMEM_MB + 8))m tmpfs /tmp
dd if=/dev/urandom of=/tmp/shmem.bin bs=1M count="$SHMEM_MB" 2>/dev/null

# Anonymous memory (random data) and zero-filled pages, held by a live process.
/bin/workload "$ANON_MB" "$ZERO_MB" /tmp/ready &
while [ ! -e /tmp/ready ]; do sleep 1; done

grep -E '^(MemTotal|MemFree|Cached|Dirty|AnonPages|Shmem|AnonHugePages):' /proc/meminfo
say "release $(uname -r)"
echo KTYPE-WORKLOAD-READY
[ -x /kdump/guest.sh ] && exec /kdump/guest.sh crash
while :; do sleep 1000; done
