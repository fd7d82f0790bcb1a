#!/usr/bin/env bash
# The main command: installs what is missing, builds, and compiles the built-in Double Sparsity
# example (examples/double_sparsity.mlir) to PTX and a kernel bundle. Where a GPU is present it
# then runs it on random ragged inputs and checks it against the CPU reference (ds-example).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$("$root/tools/prepare-build.sh")
cmake --build "$build" -j "${DS_JOBS:-2}" --target ds-opt ds-compile ds-example
example="$root/examples/double_sparsity.mlir"
echo "== ds-opt: parse, verify and choose kernel configs"
"$build/bin/ds-opt" "$example" --ds-select-kernel-config
echo "== ds-compile: PTX and kernel bundle"
"$build/bin/ds-compile" "$example" -o "$build/double_sparsity.dsb"
"$build/bin/ds-compile" "$example" -o "$build/double_sparsity.ptx" --emit=ptx
echo "wrote $build/double_sparsity.dsb ($(wc -c < "$build/double_sparsity.dsb") bytes) and $build/double_sparsity.ptx"
grep -E '^\.visible \.entry' "$build/double_sparsity.ptx" | sed 's/(.*//'
echo "== ds-example: JIT-compile the example, run it on the GPU (if any), check against the CPU reference"
"$build/bin/ds-example" "$example"
