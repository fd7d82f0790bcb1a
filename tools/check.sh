#!/usr/bin/env bash
# The test command: installs what is missing, configures and builds (reusing ./build), runs every
# test (lit + GoogleTest; GPU tests skip themselves where there is no GPU).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/setup.sh"
build=${DS_BUILD_DIR:-$root/build}
if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
cmake --build "$build" -j "${DS_JOBS:-2}"
ctest --test-dir "$build" --output-on-failure -j "${DS_JOBS:-2}"
