#!/usr/bin/env python3
# SGLang's Lightning prefill and decode through seg_la_fwd on ds kernels (needs a GPU and torch).
#
#   DS_LIBRARY=build/lib/libds.so PYTHONPATH=python python3 examples/adapters/seg_la.py
#
# In sglang/srt/layers/attention/linear/lightning_backend.py the swap is the import
#     from ds.adapters.lightning import seg_la_fwd
# with the same SegLaMeta (batch_size, q_offsets, s_offsets, s_scales; q_lengths and
# max_q_length are not needed) and the rank's tp_slope[layer_id]. The state pool must be f32.
from types import SimpleNamespace

import torch
from ds.adapters.lightning import seg_la_fwd

H, D, slots = 8, 128, 6
torch.manual_seed(0)
tp_slope = torch.tensor([2 ** (-8 * (i + 1) / H) for i in range(H)], device="cuda").view(H, 1, 1)
pool = torch.zeros(slots, H, D, D, device="cuda")  # f32 states, one slot per request
lam = torch.exp(-tp_slope.view(H).double())[:, None, None]
scale = D ** -0.5


def reference(q, k, v, state):
    """float64 recurrence of one request's tokens [n, H, D] from state [H, D, D]."""
    outs = []
    for t in range(q.shape[0]):
        state = lam * state + k[t].double()[:, :, None] * v[t].double()[:, None, :]
        outs.append(scale * torch.einsum("hd,hde->he", q[t].double(), state))
    return torch.stack(outs), state


# Prefill: two requests of 700 and 301 tokens packed token-major into slots 4 and 1.
lens, req_slots = [700, 301], [4, 1]
T = sum(lens)
q, k, v = (torch.randn(T, H, D, device="cuda", dtype=torch.bfloat16) * 0.1 for _ in range(3))
meta = SimpleNamespace(batch_size=2, mask=None,
                       q_offsets=torch.tensor([0, lens[0], T], dtype=torch.int32, device="cuda"),
                       s_offsets=torch.tensor(req_slots, dtype=torch.int32, device="cuda"),
                       s_scales=torch.tensor([False, False], device="cuda"))
o = seg_la_fwd(q, k, v, pool, tp_slope, meta, decouple=True)
states = {}
for b, (a, e) in enumerate([(0, lens[0]), (lens[0], T)]):
    want, states[req_slots[b]] = reference(q[a:e], k[a:e], v[a:e], torch.zeros(H, D, D, device="cuda").double())
    err = (o[a:e].double() - want).abs().max().item()
    print(f"prefill request {b} ({e - a} tokens): max |o - float64 recurrence| = {err:.2e}")

# Decode steps: one token per request, the batch's slots (-1 for a padding row).
dmeta = SimpleNamespace(batch_size=3, mask=None,
                        q_offsets=torch.arange(4, dtype=torch.int32, device="cuda"),
                        s_offsets=torch.tensor([4, 1, -1], dtype=torch.int32, device="cuda"),
                        s_scales=torch.ones(3, dtype=torch.bool, device="cuda"))
for step in range(3):
    qd, kd, vd = (torch.randn(3, H, D, device="cuda", dtype=torch.bfloat16) * 0.1 for _ in range(3))
    out = seg_la_fwd(qd, kd, vd, pool, tp_slope, dmeta)
    errs = []
    for b, slot in enumerate([4, 1]):
        want, states[slot] = reference(qd[b:b + 1], kd[b:b + 1], vd[b:b + 1], states[slot])
        errs.append((out[b].double() - want[0]).abs().max().item())
    print(f"decode step {step}: max |o - float64 recurrence| = {max(errs):.2e}; padding row "
          f"zero: {bool((out[2] == 0).all())}")

# Speculative verify (seg_la's MTP path): each request checks 4 draft tokens from its slot's
# state; the state after every draft token goes to caches[cache_indices[b], i] and the pool is
# left as it was (the engine then commits the accepted token's state).
draft = 4
caches = torch.zeros(2, draft, H, D, D, device="cuda")
offsets = torch.arange(0, 2 * draft + 1, draft, dtype=torch.int32, device="cuda")
vmeta = SimpleNamespace(batch_size=2, mask=None, q_offsets=offsets,
                        s_offsets=torch.tensor([4, 1], dtype=torch.int32, device="cuda"),
                        s_scales=torch.ones(2, dtype=torch.bool, device="cuda"))
qv, kv, vv = (torch.randn(2 * draft, H, D, device="cuda", dtype=torch.bfloat16) * 0.1
              for _ in range(3))
before = pool.clone()
ov = seg_la_fwd(qv, kv, vv, pool, tp_slope, vmeta, caches=caches,
                cache_indices=torch.tensor([1, 0], dtype=torch.int32, device="cuda"))
for b, (slot, entry) in enumerate([(4, 1), (1, 0)]):
    rows = slice(b * draft, (b + 1) * draft)
    want, _ = reference(qv[rows], kv[rows], vv[rows], states[slot])
    state, serr = states[slot], 0.0
    for i in range(draft):
        t = b * draft + i
        state = lam * state + kv[t].double()[:, :, None] * vv[t].double()[:, None, :]
        serr = max(serr, (caches[entry, i].double() - state).abs().max().item())
    oerr = (ov[rows].double() - want).abs().max().item()
    print(f"verify request {b}: max |o - float64| = {oerr:.2e}, "
          f"max |caches - float64 states| = {serr:.2e}")
print(f"pool unchanged by the verify: {bool(torch.equal(pool, before))}")
