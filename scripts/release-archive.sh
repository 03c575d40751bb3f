#!/usr/bin/env bash
# Packs a built Keel into a release archive for VMs (deploy/ansible): dist/, bin/, package files
# and the production node_modules (no devDependencies), plus build-info.json (commit and date) so
# that `keel version` names the build. Run `npm run build` first. Native modules (better-sqlite3)
# are built for this machine's platform and Node ABI: build on the target's (linux-x64, Node 20).
#
# Usage: scripts/release-archive.sh <out.tar.gz>
set -euo pipefail
out="${1:?usage: scripts/release-archive.sh <out.tar.gz>}"
root="$(cd "$(dirname "$0")/.." && pwd)"
[ -f "$root/dist/cli/main.js" ] || { echo "no dist/: run npm run build first" >&2; exit 2; }
stage=$(mktemp -d)
chmod 0755 "$stage"   # the archive's top directory becomes the release directory
trap 'rm -rf "$stage"' EXIT
cp -a "$root/dist" "$root/bin" "$root/package.json" "$root/package-lock.json" "$stage/"
# node_modules may be a symlink (a worktree sharing another's): copy what it points to.
cp -a "$(readlink -f "$root/node_modules")" "$stage/node_modules"
(cd "$stage" && npm prune --omit=dev --offline --no-audit --no-fund --loglevel=error >/dev/null)
# npm prune leaves the emptied scope folders (@typescript) behind.
find "$stage/node_modules" -mindepth 1 -maxdepth 1 -type d -empty -delete
if commit=$(git -C "$root" rev-parse HEAD 2>/dev/null); then
  # build-info.mjs writes next to its own parent folder: run a copy inside the stage.
  mkdir "$stage/scripts" && cp "$root/scripts/build-info.mjs" "$stage/scripts/"
  node "$stage/scripts/build-info.mjs" "$commit" && rm -r "$stage/scripts"
fi
tar -C "$stage" -czf "$out" .
