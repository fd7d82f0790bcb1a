#!/usr/bin/env python3
# SGLang's Double Sparsity decode step on ds kernels: the call SGLang's DoubleSparseAttnBackend
# makes, with ds's adapter in place of its Triton function (needs a GPU and torch).
#
#   DS_LIBRARY=build/lib/libds.so PYTHONPATH=python python3 examples/adapters/sglang_double_sparsity.py
#
# In sglang/srt/layers/attention/double_sparsity_backend.py the swap is the import
#     from ds.adapters.sglang import flash_decode_sparse_attention_fwd
# plus, for the no-copy path, a HeadMajorLabels per layer written where set_kv_buffer is called
# (SGLang's labels are token-major [S, H, r]; ds reads them head-major [H, S, r]).
import math
import torch
from ds.adapters.sglang import HeadMajorLabels, flash_decode_sparse_attention_fwd

B, H, D, R, HEAVY = 4, 32, 128, 16, 256
lens = [3000, 800, 4096, 200]
S = sum(lens)                                   # SGLang's token pool: one slot per token
torch.manual_seed(0)
k_buffer = torch.randn(S, H, D, device="cuda", dtype=torch.bfloat16)
v_buffer = torch.randn(S, H, D, device="cuda", dtype=torch.bfloat16)
sorted_channels = torch.stack([torch.randperm(D)[:R] for _ in range(H)]).cuda()  # one layer's
slots = torch.randperm(S, device="cuda").to(torch.int32)
req_to_token = torch.zeros(B, max(lens), dtype=torch.int32, device="cuda")
start = 0
for b, n in enumerate(lens):
    req_to_token[b, :n] = slots[start:start + n]
    start += n
seq_lens = torch.tensor(lens, device="cuda")    # int64, as SGLang keeps it

# What SGLang stores: token-major labels; what ds reads without a copy: head-major labels.
k_label_buffer = torch.gather(k_buffer, 2, sorted_channels.unsqueeze(0).expand(S, -1, -1))
labels = HeadMajorLabels.empty(H, S, R, torch.bfloat16, "cuda")
labels.append(k_buffer, sorted_channels, torch.arange(S, device="cuda"))  # next to set_kv_buffer

q = torch.randn(B, H, D, device="cuda", dtype=torch.bfloat16)
q_label = torch.gather(q, 2, sorted_channels.unsqueeze(0).expand(B, -1, -1))
o = torch.empty_like(q)
args = (q, k_buffer, v_buffer, o, q_label, None, req_to_token, seq_lens, max(lens),
        1 / math.sqrt(D), 0.0, HEAVY)
flash_decode_sparse_attention_fwd(*args[:5], labels, *args[6:])
o_fast = o.clone()
flash_decode_sparse_attention_fwd(*args[:5], k_label_buffer, *args[6:])  # SGLang's buffer: copies
# Equal up to the order of the decode's sums (the top-k lists tokens in no fixed order).
print("max |o(head-major labels) - o(token-major labels)| =",
      f"{(o.double() - o_fast.double()).abs().max().item():.4f}")

# Against attention over each head's HEAVY best tokens by label score (float64).
err = 0.0
for b, n in enumerate(lens):
    tok = req_to_token[b, :n].long()
    for h in range(H):
        score = k_label_buffer[tok, h].double() @ q_label[b, h].double()
        keep = tok[torch.topk(score, min(HEAVY, n)).indices]
        w = torch.softmax(k_buffer[keep, h].double() @ q[b, h].double() / math.sqrt(D), 0)
        err = max(err, (w @ v_buffer[keep, h].double() - o[b, h].double()).abs().max().item())
print(f"max |o - float64 reference over the label top-{HEAVY}| = {err:.4f} (bf16 output)")
