#!/usr/bin/env bash
# weft::os must stay standard-library only: list every header that <weft/os.hpp> reaches and fail
# if one belongs to Boost, fiber/ or scheduler/ (DESIGN.md: thread/ never includes the M:N side).
# Usage: os_isolation_check.sh CXX SOURCE_ROOT
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 CXX SOURCE_ROOT" >&2
  exit 2
fi
cxx=$1
root=$2
# meson's cmd_array()[0] is the compiler launcher when one is configured; use the real compiler.
case "$(basename "$cxx")" in
  ccache | sccache) cxx=${CXX:-c++} ;;
esac

if ! deps=$(echo '#include <weft/os.hpp>' | "$cxx" -std=c++20 -I"$root/include" -M -x c++ -); then
  echo "os_isolation: FAIL: $cxx could not preprocess <weft/os.hpp>" >&2
  exit 1
fi

# One path per line; drop the make target ("-:"), the line continuations, and the checkout's own
# location (so a checkout under e.g. /home/me/fiber/ does not match by accident).
paths=$(printf '%s\n' "$deps" | tr -s ' \\' '\n\n' | grep -v -e '^$' -e ':$' |
  sed "s|^$root/|<root>/|")
count=$(printf '%s\n' "$paths" | wc -l)

if bad=$(printf '%s\n' "$paths" | grep -E 'boost/|/fiber/|/scheduler/'); then
  echo "os_isolation: FAIL: <weft/os.hpp> reaches headers of Boost, fiber/ or scheduler/:" >&2
  printf '  %s\n' $bad >&2
  exit 1
fi
echo "os_isolation: OK: <weft/os.hpp> reaches $count headers, none of Boost, fiber/ or scheduler/"
