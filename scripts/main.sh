#!/usr/bin/env bash
# README's main command: set up, build in release mode, run the example programs on each model,
# then the 1:1 vs M:N comparison suite, which writes report/report.md (table), the raw Google
# Benchmark JSON and PNG plots (scripts/report.py).
# Usage: scripts/main.sh [--full]     (--full: more repetitions, tighter figures)
# The per-component benchmarks with their peers (bench/*_bench) are built too; run them alone.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

# Its own build directory, without the test suite: the main job builds only the library, the
# examples and the benchmarks (scripts/test.sh builds and runs the tests in build/release).
build=build/main
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" --buildtype=release -Dtests=false
fi
ninja -C "$build"

echo "== examples (the Rust book's chapter 16 programs), on each model =="
for ex in spawn_join move_vector thread_pool channel_hello channel_iterate channel_producers \
  channel_worker_pool channel_select counter; do
  for model in os fiber; do
    echo "-- $ex --model=$model"
    "$build/examples/$ex" --model=$model
  done
done

echo "== the echo server (examples/echo_server, loopback) driven by examples/echo_client =="
for model in os fiber; do
  echo "-- echo_server --model=$model, echo_client --model=$model --connections=100 --duration=1"
  log=$(mktemp)
  "$build/examples/echo_server" --model=$model --port=0 --duration=30 >"$log" &
  server=$!
  for _ in $(seq 100); do grep -q listening "$log" && break; sleep 0.1; done
  port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log")
  "$build/examples/echo_client" --model=$model --port="$port" --connections=100 --duration=1
  kill -INT "$server"
  wait "$server"
  cat "$log"
  rm -f "$log"
done

echo "== the 1:1 vs M:N comparison =="
# Debian's python3 (with python3-matplotlib), not whatever python3 comes first on PATH.
/usr/bin/python3 scripts/report.py --build "$build" ${1:+"$1"}
