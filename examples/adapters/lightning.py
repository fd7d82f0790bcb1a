#!/usr/bin/env python3
# Lightning Attention (MiniMax) prefill then decode on ds kernels, called the way vLLM's MiniMax
# layer calls its Triton functions (needs a GPU and torch).
#
#   DS_LIBRARY=build/lib/libds.so PYTHONPATH=python python3 examples/adapters/lightning.py
#
# In vllm/model_executor/models/minimax_text_01.py the swap is the import (SGLang's
# LightningAttentionBackend calls the same linear_decode_forward_triton for decode)
#     from ds.adapters.lightning import lightning_attention, linear_decode_forward_triton
# Each tensor-parallel rank passes its own heads and slopes (tp_slope) and its own state pool.
import torch
from ds.adapters.lightning import lightning_attention, linear_decode_forward_triton

H, D, n, slots = 8, 128, 1000, 4
torch.manual_seed(0)
tp_slope = torch.tensor([2 ** (-8 * (i + 1) / H) for i in range(H)], device="cuda")
kv_caches = torch.zeros(slots, H, D, D, device="cuda")          # f32 state pool
q, k, v = (torch.randn(1, H, n, D, device="cuda", dtype=torch.bfloat16) * 0.1 for _ in range(3))

# Prefill of request 0 into slot 2 (vLLM: per request, then copies kv[:, :, -1] into its slot).
o, kv = lightning_attention(q, k, v, tp_slope.view(H, 1, 1), block_size=256,
                            kv_history=kv_caches[2].unsqueeze(0))
kv_caches[2].copy_(kv[0, :, -1])

# Decode steps: the batch's slots, padding rows marked -1.
slot_idx = torch.tensor([2, -1], device="cuda")
lam = torch.exp(-tp_slope.double())[:, None, None]
state = kv_caches[2].double().clone()
for step in range(4):
    qd, kd, vd = (torch.randn(2, H, 1, D, device="cuda", dtype=torch.bfloat16) * 0.1
                  for _ in range(3))
    out = linear_decode_forward_triton(qd, kd, vd, kv_caches, tp_slope, slot_idx)  # [2, H * D]
    state = lam * state + kd[0, :, 0].double()[:, :, None] * vd[0, :, 0].double()[:, None, :]
    want = torch.einsum("hd,hde->he", qd[0, :, 0].double(), state)
    err = (out[0].view(H, D).double() - want).abs().max().item()
    print(f"decode step {step}: max |o - float64 recurrence| = {err:.2e}; padding row zero: "
          f"{bool((out[1] == 0).all())}")
