#!/usr/bin/env python3
# ds-run on examples/quest.mlir, checked against a float64 numpy reference (needs a GPU, numpy).
#
#   python3 examples/quest_ds_run.py [path/to/ds-run] [scratch-folder]
#
# Random bf16 inputs (B = 3 requests of 5000, 700 and 2049 tokens: sparse, dense, just past the
# budget; a permuted page table with spare columns) are written as .npy, ds-run compiles the
# example for the device and runs it, and the pages kept and the attention output are compared
# with the reference (Quest's bound from per-page min/max keys, top 127 pages + the last one,
# softmax attention over their tokens).
import numpy as np, os, subprocess, sys
rng = np.random.default_rng(7)
B, H, D, P, KEEP = 3, 32, 128, 16, 128
lens = np.array([5000, 700, 2049], dtype=np.int32)       # one sparse, one dense, one just past
maxp = int(max((n + P - 1) // P for n in lens)) + 2        # page-table columns past the pages
pages = B * maxp
perm = rng.permutation(pages).astype(np.int32)
pt = perm.reshape(B, maxp)
def bf16(x):  # round to bf16, kept as uint16 bit patterns (ds-run takes them for bf16 arguments)
    u = np.asarray(x, np.float32).view(np.uint32)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
def f32(u): return (u.astype(np.uint32) << 16).view(np.float32)
q = bf16(rng.uniform(-2, 2, (B, H, D)))
k = bf16(rng.uniform(-2, 2, (pages, P, H, D)))
v = bf16(rng.uniform(-1, 1, (pages, P, H, D)))
kf, vf, qf = f32(k).astype(np.float64), f32(v).astype(np.float64), f32(q).astype(np.float64)
kmin = bf16(f32(k).min(axis=1)); kmax = bf16(f32(k).max(axis=1))  # whole pages (random tails too)
# Only the present tokens count in a request's last page:
for b in range(B):
    n = lens[b]; last = (n - 1) // P; t = n - last * P
    p = pt[b, last]
    kmin[p] = bf16(f32(k[p, :t]).min(axis=0)); kmax[p] = bf16(f32(k[p, :t]).max(axis=0))
here = os.path.dirname(os.path.abspath(__file__))
dsrun = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "build", "bin", "ds-run")
d = sys.argv[2] if len(sys.argv) > 2 else "/tmp/ds-quest-run"
os.makedirs(d, exist_ok=True)
for name, a in [("q", q), ("k_cache", k), ("v_cache", v), ("kmin", kmin), ("kmax", kmax),
                ("page_table", pt), ("seq_lens", lens)]:
    np.save(f"{d}/{name}.npy", a)
# Reference.
mn, mx = f32(kmin).astype(np.float64), f32(kmax).astype(np.float64)
o_ref = np.zeros((B, H, D)); keep_ref = []
for b in range(B):
    n = lens[b]; npg = (n + P - 1) // P
    for h in range(H):
        u = np.array([np.maximum(qf[b, h] * mn[pt[b, i], h], qf[b, h] * mx[pt[b, i], h]).sum() for i in range(npg)])
        if npg <= KEEP: kept = list(range(npg))
        else:
            order = np.argsort(-u[:npg - 1], kind="stable")
            kept = sorted(list(order[:KEEP - 1]) + [npg - 1])
        keep_ref.append((b, h, set(kept), u))
        toks = [t for i in kept for t in range(i * P, min(n, (i + 1) * P))]
        K = np.array([kf[pt[b, t // P], t % P, h] for t in toks]); V = np.array([vf[pt[b, t // P], t % P, h] for t in toks])
        x = K @ qf[b, h] * 0.0883883461; x -= x.max(); w = np.exp(x); w /= w.sum()
        o_ref[b, h] = w @ V
np.save(f"{d}/o_ref.npy", o_ref)

inputs = ["q", "k_cache", "v_cache", "kmin", "kmax", "page_table", "seq_lens"]
cmd = [dsrun, os.path.join(here, "quest.mlir")] + [f"--input=@{d}/{n}.npy" for n in inputs] + \
      [f"--output=result0=@{d}/o.npy", f"--output=result1=@{d}/pages.npy"]
subprocess.run(cmd, check=True)
o = np.load(f"{d}/o.npy"); sel = np.load(f"{d}/pages.npy")
same, near, bad = 0, 0, 0
for (b, h, kept, u) in keep_ref:
    got = set(int(x) for x in sel[b, h] if x >= 0)
    if got == kept: same += 1; continue
    # A differing page must be a near-tie with the reference's choice.
    lo = min(u[i] for i in kept if i != len(u) - 1) if len(kept) > 1 else 0
    if all(abs(u[i] - lo) <= 1e-3 * (1 + abs(lo)) for i in got ^ kept): near += 1
    else: bad += 1
err = np.abs(o.astype(np.float64) - o_ref).max()
print(f"ds-run quest: o {o.shape} pages {sel.shape}; rows with the reference's pages: {same}, "
      f"near-tie swaps: {near}, wrong: {bad}; max |o - o_ref| = {err:.3e}")
ok = bad == 0 and err < 2e-2
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
