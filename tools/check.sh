#!/usr/bin/env bash
# The test command: installs what is missing, configures and builds (reusing ./build), runs every
# test (lit + GoogleTest; GPU tests skip themselves where there is no GPU).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$("$root/tools/prepare-build.sh")
cmake --build "$build" -j "${DS_JOBS:-2}"
ctest --test-dir "$build" --output-on-failure -j "${DS_JOBS:-2}"
