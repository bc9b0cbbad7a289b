#!/bin/sh
# PID 1 of the e2e:v2 microVM (busybox sh). Mounts the pseudo file systems and the unified
# cgroup hierarchy, runs the suite with node, dumps the kernel log, powers off.
# Kernel chatter is kept off the console while the suite runs (printk level 1) so it cannot
# split a result line; the whole dmesg follows the suite between SHIPOTE-DMESG markers.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
export HOME=/root TMPDIR=/tmp XDG_RUNTIME_DIR=/run/user/0 XDG_STATE_HOME=/root/.local/state

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
mkdir -p "$XDG_RUNTIME_DIR" "$XDG_STATE_HOME"
chmod 0700 "$XDG_RUNTIME_DIR"
ip link set lo up 2>/dev/null
hostname shipote-vm
echo 1 >/proc/sys/kernel/printk

echo "SHIPOTE-VM booted kernel=$(uname -r) cpus=$(nproc) uptime_s=$(cut -d' ' -f1 /proc/uptime)"
cd /shipote || exit 1
node e2e/vm/guest/suite.mjs
rc=$?
echo "SHIPOTE-VM suite-exit status=$rc uptime_s=$(cut -d' ' -f1 /proc/uptime)"

echo 7 >/proc/sys/kernel/printk
echo "SHIPOTE-DMESG begin"
dmesg
echo "SHIPOTE-DMESG end"
sync
# qemu runs with -no-reboot: a reboot request ends the VM at once.
reboot -f
sleep 5
poweroff -f
