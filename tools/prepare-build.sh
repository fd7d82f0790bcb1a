#!/usr/bin/env bash
# Shared first steps of tools/check.sh and tools/run-example.sh: install what is missing, then
# configure the build folder (./build, or $DS_BUILD_DIR) once. Prints the build folder.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/setup.sh" >&2
build=${DS_BUILD_DIR:-$root/build}
if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
fi
echo "$build"
