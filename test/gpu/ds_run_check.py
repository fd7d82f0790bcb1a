#!/usr/bin/env python3
"""Checks ds-run end to end on a GPU machine: writes .npy inputs for the label_append bundle,
runs `ds-run`, and compares the .npy it writes with a NumPy reference.

    python3 test/gpu/ds_run_check.py path/to/ds-run path/to/label_append.dsb
"""
import os
import subprocess
import sys
import tempfile

import numpy as np


def to_bf16_f32(x):
    """Rounds float32 to bfloat16 (nearest even) and back, as ds-run does on input."""
    u = x.astype(np.float32).view(np.uint32)
    u = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16) << 16
    return u.astype(np.uint32).view(np.float32)


def main():
    ds_run, bundle = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(3)
    T, H, d, r, S = 37, 8, 128, 16, 64
    new_k = rng.uniform(-1, 1, (T, H, d)).astype(np.float32)
    channels = rng.integers(0, d, (H, r)).astype(np.int32)
    slots = rng.permutation(S)[:T].astype(np.int32)
    slots[0] = -1  # skipped
    cache = rng.uniform(-1, 1, (H, S, r)).astype(np.float32)
    want = to_bf16_f32(cache).copy()
    kb = to_bf16_f32(new_k)
    for t in range(T):
        if 0 <= slots[t] < S:
            for h in range(H):
                want[h, slots[t], :] = kb[t, h, channels[h]]
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for name, arr in [("new_k", new_k), ("channels", channels), ("slots", slots),
                          ("cache", cache)]:
            paths[name] = os.path.join(tmp, name + ".npy")
            np.save(paths[name], arr)
        out = os.path.join(tmp, "out.npy")
        subprocess.run([ds_run, bundle] + ["--input=@" + paths[n] for n in
                                           ("new_k", "channels", "slots", "cache")] +
                       ["--output=@" + out], check=True)
        got = np.load(out)
    ok = got.shape == want.shape and np.array_equal(got, want)
    print("ds-run label_append:", "matches NumPy" if ok else "MISMATCH", got.shape)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
