#!/usr/bin/env bash
# README's test command: set up, build (release, warnings as errors) and run every test.
# Usage: scripts/test.sh [build-dir [extra meson options...]]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

build=${1:-build/release}
shift || true
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" --buildtype=release -Dwerror=true "$@"
fi
ninja -C "$build"
# compile_commands.json at the root for clangd / clang-tidy
ln -sfn "$build/compile_commands.json" compile_commands.json
meson test -C "$build" --print-errorlogs --num-processes 2
