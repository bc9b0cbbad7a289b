#!/usr/bin/env bash
# `npm run e2e:v2`: the cgroup v2 path against a real unified hierarchy.
#
# Boots a Debian cloud kernel under qemu (software emulation: nested KVM stalls on this
# machine's kind) with an initramfs built from this checkout: busybox, the host's node and
# the libraries ldd lists, the compiled addon, dist/ + bin/ + package.json, the production
# node_modules and e2e/vm/guest/. The guest's /init (e2e/vm/init.sh) mounts cgroup2 and runs
# e2e/vm/guest/suite.mjs, which prints `SHIPOTE-TEST ok|fail|skip <name>[: reason]` lines and
# `SHIPOTE-SUITE done` on the serial console, then powers off. The host parses the console
# (e2e/vm/report.ts), prints `N passed, N failed, N skipped`, and exits 1 on any failure.
#
# Only Debian packages are used (qemu-system-x86, cpio, busybox-static, linux-image-*-cloud-amd64).
# Cache: .e2e-work/vm/ (gitignored): the kernel keyed by package version, the initramfs keyed
# by the sha256 of its staged contents.
#
# Environment knobs:
#   SHIPOTE_VM_TIMEOUT_S (480)  whole-VM bound; qemu is killed past it
#   SHIPOTE_VM_MEM_MB (1024), SHIPOTE_VM_SMP (2), SHIPOTE_VM_ACCEL (tcg)
#   SHIPOTE_VM_KERNEL_PKG       e.g. linux-image-6.1.0-56-cloud-amd64 (default: what the
#                               linux-image-cloud-amd64 meta-package depends on)
#   SHIPOTE_VM_ONLY             comma-separated test-name prefixes to run inside the guest
#   SHIPOTE_VM_NO_BUILD=1       never run `npm run build` (default: build when dist/ is stale)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=${SHIPOTE_VM_WORK:-$repo/.e2e-work/vm}
timeout_s=${SHIPOTE_VM_TIMEOUT_S:-480}
mem_mb=${SHIPOTE_VM_MEM_MB:-1024}
smp=${SHIPOTE_VM_SMP:-2}
accel=${SHIPOTE_VM_ACCEL:-tcg}
started_s=$SECONDS

say() { printf 'e2e-v2: %s\n' "$*" >&2; }
die() {
  say "error: $*"
  exit 1
}

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo -n "$@"; fi
}

# ── 1. host tools, from Debian only ────────────────────────────────────────────────────
ensure_tools() {
  local missing=()
  command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
  command -v cpio >/dev/null || missing+=(cpio)
  [[ -x /bin/busybox ]] && /bin/busybox --list-full >/dev/null 2>&1 ||
    missing+=(busybox-static)
  # Dynamic busybox cannot run in the guest (no matching libs guaranteed): insist on static.
  if [[ -x /bin/busybox ]] && ldd /bin/busybox >/dev/null 2>&1; then
    missing+=(busybox-static)
  fi
  ((${#missing[@]} == 0)) && return 0
  say "installing from Debian: ${missing[*]}"
  as_root apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    --no-install-recommends "${missing[@]}" >/dev/null
}

# ── 2. kernel: a Debian cloud image, cached by package name and version ────────────────
kernel_pkg() {
  if [[ -n ${SHIPOTE_VM_KERNEL_PKG:-} ]]; then
    echo "$SHIPOTE_VM_KERNEL_PKG"
    return
  fi
  local pkg
  pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
    awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
  if [[ -z $pkg ]]; then
    as_root apt-get -o DPkg::Lock::Timeout=600 update -qq
    pkg=$(apt-cache depends linux-image-cloud-amd64 |
      awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
  fi
  [[ -n $pkg ]] || die "no linux-image-*-cloud-amd64 package known to apt"
  echo "$pkg"
}

fetch_kernel() {
  local pkg version dir tmp
  pkg=$(kernel_pkg)
  version=$(apt-cache policy "$pkg" | awk '/Candidate:/ { print $2; exit }')
  [[ -n $version && $version != "(none)" ]] || die "apt knows no version of $pkg"
  dir="$work/kernel/${pkg}_${version//[:\/]/_}"
  if [[ ! -s $dir/vmlinuz ]]; then
    say "fetching $pkg $version from Debian"
    tmp=$(mktemp -d "$work/kernel-dl.XXXXXX")
    (cd "$tmp" && apt-get download -qq "$pkg=$version" 2>/dev/null)
    dpkg-deb -x "$tmp"/*.deb "$tmp/x"
    mkdir -p "$dir"
    cp "$tmp"/x/boot/vmlinuz-* "$dir/vmlinuz.part"
    cp "$tmp"/x/boot/config-* "$dir/config"
    sha256sum "$tmp"/*.deb | awk '{ print $1 }' >"$dir/deb.sha256"
    mv "$dir/vmlinuz.part" "$dir/vmlinuz"
    rm -rf "$tmp"
  fi
  # What the suite relies on must be built in: the initramfs has no modules.
  local opt
  for opt in CGROUPS MEMCG CGROUP_PIDS CGROUP_SCHED BLK_DEV_INITRD RD_GZIP DEVTMPFS \
    SERIAL_8250_CONSOLE UNIX; do
    grep -q "^CONFIG_$opt=y" "$dir/config" || die "$pkg lacks CONFIG_$opt=y (modules unsupported)"
  done
  kernel_dir=$dir
  kernel_label="$pkg $version"
}

# ── 3. the project: compiled dist/ and the addon ───────────────────────────────────────
ensure_built() {
  local main=$repo/dist/adapters/cli/main.js
  [[ ${SHIPOTE_VM_NO_BUILD:-} == 1 ]] && return 0
  if [[ ! -f $main ]] || [[ -n $(find "$repo/core" "$repo/adapters" -name '*.ts' \
    -newer "$main" -print -quit 2>/dev/null) ]]; then
    say "building dist/ (npm run build)"
    (cd "$repo" && npm run --silent build >"$work/build.log" 2>&1) ||
      say "npm run build failed (see $work/build.log); using whatever dist/ it left"
  fi
  # The addon is built by `npm ci` / `npm run install` (native/ is not ours to rebuild here).
  compgen -G "$repo/native/build/Release/*.node" >/dev/null ||
    say "no native/build/Release/*.node: the shipote tests will be skipped"
}

# ── 4. initramfs ───────────────────────────────────────────────────────────────────────
# Shared objects the binaries need, as absolute paths (ld.so included).
shared_libs() {
  ldd "$@" 2>/dev/null |
    awk '/=> \// { print $3 } /^[ \t]*\/[^ ]+ \(0x/ { print $1 }' | sort -u
}

stage_base() {
  local root=$1 node_bin applet lib
  node_bin=$(readlink -f "$(command -v node)")
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,root,etc,shipote}
  cp /bin/busybox "$root/bin/busybox"
  while read -r applet; do
    [[ -e $root/$applet ]] || ln -s /bin/busybox "$root/$applet"
  done < <(/bin/busybox --list-full)
  cp "$node_bin" "$root/usr/bin/node"
  local addons=()
  mapfile -t addons < <(compgen -G "$repo/native/build/Release/*.node" || true)
  while read -r lib; do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done < <(shared_libs "$node_bin" "${addons[@]}")
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  printf '127.0.0.1 localhost\n' >"$root/etc/hosts"
  install -m 0755 "$here/init.sh" "$root/init"
}

stage_project() {
  local dst=$1/shipote dir
  cp "$repo/package.json" "$dst/"
  for dir in dist bin; do
    [[ -d $repo/$dir ]] && cp -r "$repo/$dir" "$dst/"
  done
  if compgen -G "$repo/native/build/Release/*.node" >/dev/null; then
    mkdir -p "$dst/native/build/Release"
    cp "$repo"/native/build/Release/*.node "$dst/native/build/Release/"
  fi
  mkdir -p "$dst/e2e/vm"
  cp -r "$here/guest" "$dst/e2e/vm/"
  # Production dependencies only (npm lists the tree; the first line is the project).
  local mod rel
  while read -r mod; do
    [[ $mod == "$repo" ]] && continue
    rel=${mod#"$repo"/}
    mkdir -p "$dst/$(dirname "$rel")"
    cp -r "$mod" "$dst/$rel"
  done < <(cd "$repo" && { npm ls --omit=dev --parseable --all 2>/dev/null || true; })
}

# Content hash of a staged tree: names, types, modes, link targets and file contents.
tree_hash() {
  (
    cd "$1"
    find . -printf '%P %y %m %l\n' | LC_ALL=C sort
    find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
  ) | sha256sum | cut -c1-16
}

build_initramfs() {
  local stage=$work/stage hash
  rm -rf "$stage"
  mkdir -p "$stage"
  stage_base "$stage"
  stage_project "$stage"
  hash=$(tree_hash "$stage")
  initrd=$work/initrd-$hash.cpio.gz
  if [[ ! -s $initrd ]]; then
    say "packing initramfs $hash"
    (cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
      cpio --quiet -o -H newc -R 0:0 | gzip -1 >"$initrd.part")
    mv "$initrd.part" "$initrd"
    # Keep only the newest few images.
    # shellcheck disable=SC2012 # our own names, no odd characters
    ls -1t "$work"/initrd-*.cpio.gz 2>/dev/null | tail -n +4 | xargs -r rm -f
  fi
  rm -rf "$stage"
}

# ── 5. boot, bounded ───────────────────────────────────────────────────────────────────
boot() {
  local log=$1 append="console=ttyS0 panic=-1 quiet"
  append+=" SHIPOTE_VM_BUDGET_S=$((timeout_s > 90 ? timeout_s - 60 : timeout_s / 2))"
  [[ -n ${SHIPOTE_VM_ONLY:-} ]] && append+=" SHIPOTE_VM_ONLY=${SHIPOTE_VM_ONLY}"
  local qemu=(qemu-system-x86_64 -accel "$accel" -cpu max -smp "$smp" -m "$mem_mb"
    -nodefaults -no-user-config -display none -serial stdio -monitor none -no-reboot
    -kernel "$kernel_dir/vmlinuz" -initrd "$initrd" -append "$append")
  say "booting $kernel_label (accel=$accel, smp=$smp, ${mem_mb} MiB, bound ${timeout_s} s)"
  say "console log: $log"
  set +e
  timeout --kill-after=10 "$timeout_s" "${qemu[@]}" </dev/null 2>&1 | tr -d '\r' | tee "$log" |
    grep --line-buffered -a -E '^SHIPOTE-(TEST|SUITE|VM)' | sed -u 's/^/  vm| /' >&2
  local codes=("${PIPESTATUS[@]}")
  set -e
  qemu_rc=${codes[0]}
  if ((qemu_rc == 124 || qemu_rc == 137)); then
    say "the VM run exceeded ${timeout_s} s and was killed"
  elif ((qemu_rc != 0)); then
    say "qemu exited with status $qemu_rc"
  fi
}

main() {
  mkdir -p "$work"
  ensure_tools
  fetch_kernel
  ensure_built
  build_initramfs
  local log
  log=$work/console-$(date -u +%Y%m%dT%H%M%SZ).log
  boot "$log"
  ln -sfn "$(basename "$log")" "$work/console-latest.log"
  # shellcheck disable=SC2012 # our own names, no odd characters
  ls -1t "$work"/console-*Z.log 2>/dev/null | tail -n +6 | xargs -r rm -f
  local status=0
  (cd "$repo" && node_modules/.bin/tsx e2e/vm/report.ts "$log" --qemu-status "$qemu_rc") ||
    status=$?
  say "console and kernel messages: $log"
  say "wall time $((SECONDS - started_s)) s"
  exit "$status"
}

main "$@"
