"""Lightning Attention (MiniMax) decode and prefill on ds kernels, with the call shapes of
vLLM's `vllm/model_executor/layers/lightning_attn.py` (SGLang's LightningAttentionBackend makes
the same linear_decode_forward_triton call for decode; its prefill uses seg_la_fwd instead):

    from ds.adapters.lightning import lightning_attention, linear_decode_forward_triton

Both take one tensor-parallel rank's heads: q/k/v of its heads, the state slots' slice of its
heads, and its slopes (the rank's slice, as SGLang's tp_slope). Decay per head is exp(-slope), the
state S [d, e] f32: S <- exp(-slope) S + k^T v, o = q S (ALGORITHMS.md section 5).

Layout translations:
- decode: q, k, v [B, H, 1, D] are viewed as ds's [B, H, D] (no copy when contiguous);
  kv_caches [slots, H, D, E] f32 is ds's state pool as is (updated in place); slope_rate [H]
  (or [H, 1, 1]); slot_idx [B] (i32, or i64 converted): a slot outside [0, slots), such as
  vLLM's PAD_SLOT_ID -1, writes no state and gives o = 0 (vLLM's kernel leaves those rows
  uninitialised). Returns [B, H * E] like vLLM.
- prefill: q, k [b, H, n, D], v [b, H, n, E] (b requests of n tokens each) are packed
  token-major ([b * n, H, D], one copy each) as ds's ragged batch with cu_seqlens = 0, n, 2n...;
  kv_history [b, H, D, E] f32 (or None: zero states) is copied, not modified, as vLLM clones it.
  Returns (o [b, H, n, E] in q's dtype, kv [b, H, 1, D, E] f32): vLLM's kv stacks per-block
  states with the final state last and callers read kv[:, :, -1]; ds returns the final state
  only, at that same index. block_size is accepted and not used (ds's config pass picks the
  chunking).
"""
from .. import Error
from .. import ops


def _slopes(slope_rate, H):
    import torch
    s = slope_rate.reshape(-1)
    if s.numel() != H:
        raise Error(f"ds: slope_rate must hold one slope per head ({H}), got shape "
                    f"{tuple(slope_rate.shape)}")
    return s.to(torch.float32).contiguous()


def linear_decode_forward_triton(q, k, v, kv_caches, slope_rate, slot_idx, BLOCK_SIZE=32):
    """One decode step: o [B, H * E]; kv_caches updated in place at slot_idx."""
    import torch
    if q.dim() != 4 or q.shape[2] != 1:
        raise Error(f"ds: q must be [B, H, 1, D], got shape {tuple(q.shape)}")
    B, H, _, D = (int(x) for x in q.shape)
    if tuple(k.shape) != (B, H, 1, D) or v.dim() != 4 or tuple(v.shape[:3]) != (B, H, 1):
        raise Error(f"ds: k must be [B, H, 1, D] and v [B, H, 1, E] with B, H, D = {(B, H, D)}, "
                    f"got {tuple(k.shape)} and {tuple(v.shape)}")
    E = int(v.shape[3])
    idx = slot_idx if slot_idx.dtype == torch.int32 else slot_idx.to(torch.int32)
    o = ops.linear_attn_decode(q.reshape(B, H, D), k.reshape(B, H, D), v.reshape(B, H, E),
                               _slopes(slope_rate, H), kv_caches, idx)
    return o.reshape(B, H * E)


def lightning_attention(q, k, v, ed, block_size=256, kv_history=None):
    """Prefill of b requests of n tokens: (o [b, H, n, E], kv [b, H, 1, D, E])."""
    import torch
    if q.dim() != 4:
        raise Error(f"ds: q must be [b, H, n, D], got shape {tuple(q.shape)}")
    b, H, n, D = (int(x) for x in q.shape)
    if tuple(k.shape) != (b, H, n, D) or v.dim() != 4 or tuple(v.shape[:3]) != (b, H, n):
        raise Error(f"ds: k must be [b, H, n, D] and v [b, H, n, E] with b, H, n, D = "
                    f"{(b, H, n, D)}, got {tuple(k.shape)} and {tuple(v.shape)}")
    E = int(v.shape[3])
    dev = q.device
    if kv_history is None:
        states = torch.zeros(b, H, D, E, dtype=torch.float32, device=dev)
        has_initial = torch.zeros(b, dtype=torch.int32, device=dev)
    else:
        if tuple(kv_history.shape) != (b, H, D, E):
            raise Error(f"ds: kv_history must be [b, H, D, E] = {(b, H, D, E)}, got "
                        f"{tuple(kv_history.shape)}")
        states = kv_history.to(torch.float32).clone().contiguous()
        has_initial = torch.ones(b, dtype=torch.int32, device=dev)
    pack = lambda t, w: t.transpose(1, 2).reshape(b * n, H, w).contiguous()
    cu = torch.arange(0, (b + 1) * n, n, dtype=torch.int32, device=dev)
    slots = torch.arange(b, dtype=torch.int32, device=dev)
    o = ops.linear_attn_prefill(pack(q, D), pack(k, D), pack(v.to(q.dtype), E),
                                _slopes(ed, H), cu, states, slots, has_initial)
    return o.reshape(b, n, H, E).transpose(1, 2), states.unsqueeze(2)
