#!/usr/bin/env bash
# Builds the e2e rootfs tarball without a registry: Debian's static busybox (every applet
# linked), the host's `node` binary and the shared libraries `ldd` lists for it (and for
# the native addon when it is built). The checkout itself is NOT in the image: the
# fixture bind-mounts it read-only at /src.
#
#   e2e/image/rootfs.sh key              → prints the content hash (cache key) and exits
#   e2e/image/rootfs.sh build OUT.tar    → writes the rootfs tarball
set -euo pipefail

busybox_bin=$(command -v busybox)
node_bin=$(readlink -f "$(command -v node)")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

# Shared objects needed by node and by the addon, as absolute paths (ld.so included).
libs() {
  local targets=("$node_bin")
  local addon
  for addon in "$repo"/native/build/Release/*.node; do
    [[ -f $addon ]] && targets+=("$addon")
  done
  ldd "${targets[@]}" 2>/dev/null |
    awk '/=> \// { print $3 } /^[ \t]*\/[^ ]+ \(0x/ { print $1 }' | sort -u
}

key() {
  {
    sha256sum "$here/rootfs.sh" "$busybox_bin" "$node_bin"
    libs | xargs -r sha256sum
  } | sha256sum | cut -c1-16
}

build() {
  local out=$1 root
  root=$(mktemp -d "${TMPDIR:-/tmp}/shipote-rootfs.XXXXXX")
  # shellcheck disable=SC2064 # expand now: the trap must remove this very directory
  trap "rm -rf '$root'" RETURN
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,run,tmp,root,src,var/tmp}
  chmod 1777 "$root/tmp" "$root/var/tmp"
  cp "$busybox_bin" "$root/bin/busybox"
  local applet
  for applet in $("$busybox_bin" --list); do
    [[ $applet == busybox ]] || ln -sf busybox "$root/bin/$applet"
  done
  ln -sf ../../bin/env "$root/usr/bin/env"
  cp "$node_bin" "$root/usr/bin/node"
  local lib
  for lib in $(libs); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
  # Debian's multiarch layout: /lib and /lib64 resolve through /usr on the host.
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' \
    >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  echo shipote-e2e >"$root/etc/hostname"
  tar -C "$root" --numeric-owner -cf "$out" .
}

case ${1:-} in
key) key ;;
build) build "${2:?usage: rootfs.sh build OUT.tar}" ;;
*)
  echo "usage: rootfs.sh key | build OUT.tar" >&2
  exit 2
  ;;
esac
