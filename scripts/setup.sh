#!/usr/bin/env bash
# Installs what building, testing and benchmarking weft needs on Debian 12, with apt-get.
# A no-op (no apt-get call at all) when everything is already there.
set -euo pipefail

packages=(
  g++ meson ninja-build pkg-config
  libboost-context-dev  # fcontext switching: the fiber primitive
  libboost-fiber-dev    # benchmark peer
  libtbb-dev            # benchmark peer (stackless fork-join)
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-format          # CI checks formatting
  python3-matplotlib    # the report's plots
  time                  # the report's peak-RSS measurement (GNU time)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "weft setup: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
