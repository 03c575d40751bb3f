#!/usr/bin/env bash
# Builds the base image the image test builds Keel on, without any image registry (none is
# reachable from CI): a minimal Debian root filesystem from debootstrap (the release of this
# machine, from the mirror its apt uses) plus this machine's Node and npm. Production builds on
# a public Node 20 image instead (Containerfile's BUILD_IMAGE / RUNTIME_IMAGE).
#
# The root filesystem is cached as a tarball under $KEEL_TEST_CACHE (default /var/cache/keel-test)
# so that only the first run pays for debootstrap; the image itself is rebuilt when missing.
#
# Usage: test-base-image.sh <image-name>     (prints nothing but progress; exits non-zero on failure)
set -euo pipefail
image="${1:?usage: test-base-image.sh <image-name>}"
cache="${KEEL_TEST_CACHE:-/var/cache/keel-test}"
. /etc/os-release
codename="${VERSION_CODENAME:?/etc/os-release has no VERSION_CODENAME}"
rootfs_tar="$cache/rootfs-$codename-minbase.tar"

# The first Debian mirror apt is configured with (deb822 .sources or a classic sources.list).
mirror() {
  local uri
  uri=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v -- '-security' | head -n1 || true)
  [ -n "$uri" ] || uri=$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{print $2}' | grep -v -- '-security' | head -n1 || true)
  [ -n "$uri" ] || { echo "no Debian mirror configured for apt" >&2; return 1; }
  echo "$uri"
}

mkdir -p "$cache"
if [ ! -s "$rootfs_tar" ]; then
  work=$(mktemp -d "$cache/debootstrap.XXXXXX")
  echo "--- debootstrap --variant=minbase $codename (cached in $rootfs_tar)"
  debootstrap --variant=minbase "$codename" "$work/root" "$(mirror)" >"$work/debootstrap.log" 2>&1 || { tail -n 30 "$work/debootstrap.log" >&2; rm -rf "$work"; exit 1; }
  # Package lists and caches are not needed in an image.
  rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"*
  tar -C "$work/root" -cf "$rootfs_tar.part" .
  mv "$rootfs_tar.part" "$rootfs_tar"
  rm -rf "$work"
fi

if buildah --storage-driver vfs inspect --type image "$image" >/dev/null 2>&1; then
  exit 0
fi
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
node_bin=$(readlink -f "$(command -v node)")
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
cp "$node_bin" "$ctx/node"
tar -C "$(dirname "$npm_dir")" -cf "$ctx/npm.tar" "$(basename "$npm_dir")"
ln "$rootfs_tar" "$ctx/rootfs.tar" 2>/dev/null || cp "$rootfs_tar" "$ctx/rootfs.tar"
cat >"$ctx/Containerfile" <<'CF'
FROM scratch
ADD rootfs.tar /
COPY node /usr/local/bin/node
ADD npm.tar /usr/local/lib/node_modules/
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && node --version && npm --version
CMD ["node"]
CF
echo "--- building base image $image"
buildah --storage-driver vfs bud --isolation chroot --quiet -t "$image" -f "$ctx/Containerfile" "$ctx" >/dev/null
