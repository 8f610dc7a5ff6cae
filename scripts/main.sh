#!/usr/bin/env bash
# README's main command: set up, build in release mode, run the example programs on each model,
# then the benchmark suite comparing 1:1 threads with M:N fibers.
# Usage: scripts/main.sh [--full]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

build=build/release
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" --buildtype=release
fi
ninja -C "$build"

echo "== examples (the Rust book's chapter 16 programs), on each model =="
for ex in spawn_join move_vector thread_pool channel_hello channel_iterate channel_producers \
  channel_worker_pool channel_select; do
  for model in os fiber; do
    echo "-- $ex --model=$model"
    "$build/examples/$ex" --model=$model
  done
done

echo "== benchmarks =="
min_time=0.2
[ "${1:-}" = "--full" ] && min_time=1
for b in "$build"/bench/*_bench; do
  [ -x "$b" ] || continue
  echo "-- $(basename "$b")"
  "$b" --benchmark_min_time="$min_time"
done
