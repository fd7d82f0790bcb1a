"""Lightning Attention (MiniMax) decode and prefill on ds kernels, with the call shapes of
vLLM's `vllm/model_executor/layers/lightning_attn.py` (SGLang's LightningAttentionBackend makes
the same linear_decode_forward_triton call for decode) and of `seg_la_fwd`, through which
SGLang's LightningAttentionBackend runs prefill (and decode) over packed token-major batches:

    from ds.adapters.lightning import lightning_attention, linear_decode_forward_triton
    from ds.adapters.lightning import seg_la_fwd

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
- seg_la_fwd(q, k, v, s, decay_scales, meta, ...): q, k, v [T, H, D] packed token-major (the
  rows of request b are [meta.q_offsets[b], meta.q_offsets[b + 1])) are ds's packed batch as is
  (a strided view, e.g. a slice of a fused qkv projection, is copied to contiguous first); s
  [slots, H, D, D] f32 is ds's state pool, updated in place at meta.s_offsets (i32 or i64;
  -1, or any slot outside the pool, gives o = 0 and no state read or write, where seg_la leaves
  those rows unwritten); meta.s_scales (bool or int: seg_la's has_initial_states) starts a
  request from its slot when non-zero, else from zero; decay_scales [H] (or SGLang's tp_slope
  entry [H, 1, 1]) are the slopes. seg_la scales q.S by softmax_scale (default D ** -0.5) and
  keeps the state unscaled: o = softmax_scale * q S_t with S_t = exp(-slope) S_{t-1} + k^T v,
  which ds computes as (softmax_scale * q) S_t (q scaled in f32, then in q's dtype). Batches of
  one token per request (T == meta.batch_size, seg_la's decode path) run ds's decode kernel,
  which always reads the slot's state, as seg_la's decode kernel does. Returns o [T, H, D] in
  q's dtype. `decouple` only picks seg_la's numerics and is accepted; `meta.mask` (tree
  speculative decoding) is refused.
- seg_la_fwd(..., caches, cache_indices), speculative verify (seg_la's MTP path): bs requests of
  T / bs > 1 tokens each start from their slots' states (s_scales is not read, as in seg_la) and
  the state after token i of request b goes to caches[cache_indices[b], i] (caches [entries,
  >= T / bs, H, D, D] f32); s is not written (the caller commits the accepted state). ds runs
  its keep_intermediate prefill on a copy of the bs slots' states, then scatters the states
  [T, H, D, D] into caches (gathers and scatters on the GPU, no host sync). A request whose slot or
  cache entry is out of range gets o = 0 and leaves caches unchanged. With one token per
  request seg_la takes its decode path, which ignores caches and updates s; so does this one.
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


def seg_la_fwd(q, k, v, s, decay_scales, meta, caches=None, cache_indices=None,
               softmax_scale=None, decouple=False):
    """SGLang's seg_la_fwd on ds kernels: o [T, H, D]; s updated in place (see above)."""
    import torch
    if (caches is None) != (cache_indices is None):
        raise Error("ds: seg_la_fwd's intermediate states need both caches and cache_indices")
    if getattr(meta, "mask", None) is not None:
        raise Error("ds: seg_la_fwd's meta.mask (tree speculative decoding) is not supported by "
                    "this adapter")
    if q.dim() != 3:
        raise Error(f"ds: q must be [T, H, D], got shape {tuple(q.shape)}")
    T, H, D = (int(x) for x in q.shape)
    if tuple(k.shape) != (T, H, D) or tuple(v.shape) != (T, H, D):
        raise Error(f"ds: k and v must be [T, H, D] = {(T, H, D)} (seg_la has no GQA), got "
                    f"{tuple(k.shape)} and {tuple(v.shape)}")
    if s.dtype != torch.float32 or s.dim() != 4 or tuple(s.shape[1:]) != (H, D, D):
        raise Error(f"ds: s must be an f32 state pool [slots, {H}, {D}, {D}], got "
                    f"{s.dtype} {tuple(s.shape)}")
    bs = int(meta.batch_size)
    if bs < 1:
        raise Error(f"ds: meta.batch_size must be at least 1, got {bs}")
    scale = D ** -0.5 if softmax_scale is None else float(softmax_scale)
    qs = (q.float() * scale).to(q.dtype)
    slots = meta.s_offsets.reshape(-1)[:bs].to(torch.int32)
    slopes = _slopes(decay_scales, H)
    if (T + bs - 1) // bs == 1:  # seg_la's decode path: one token per request, row b
        if T != bs:
            raise Error(f"ds: a decode batch needs one token per request (T = batch_size), got "
                        f"T = {T}, batch_size = {bs}")
        return ops.linear_attn_decode(qs, k.contiguous(), v.contiguous(), slopes, s, slots)
    if caches is not None:
        return _seg_la_mtp(qs, k.contiguous(), v.contiguous(), s, slopes, slots, caches,
                           cache_indices, bs)
    cu = meta.q_offsets.reshape(-1)[:bs + 1].to(torch.int32)
    initial = meta.s_scales.reshape(-1)[:bs].to(torch.int32)
    return ops.linear_attn_prefill(qs, k.contiguous(), v.contiguous(), slopes, cu, s, slots,
                                   initial)


def _seg_la_mtp(qs, k, v, s, slopes, slots, caches, cache_indices, bs):
    """seg_la's verify path: bs requests of T / bs tokens each from their slots' states (always
    read), the state after every token to caches, s not written (see the module docstring)."""
    import torch
    T, H, D = (int(x) for x in qs.shape)
    if T % bs:
        raise Error(f"ds: with caches every request has the same number of tokens: T = {T} is "
                    f"not a multiple of batch_size = {bs}")
    step = T // bs
    if (caches.dtype != torch.float32 or caches.dim() != 5 or int(caches.shape[1]) < step
            or tuple(caches.shape[2:]) != (H, D, D)):
        raise Error(f"ds: caches must be f32 [entries, >= {step}, {H}, {D}, {D}], got "
                    f"{caches.dtype} {tuple(caches.shape)}")
    if cache_indices.numel() < bs:
        raise Error(f"ds: cache_indices must hold batch_size = {bs} entries, got "
                    f"{cache_indices.numel()}")
    n = int(caches.shape[0])
    entries = cache_indices.reshape(-1)[:bs].long()
    live = (slots >= 0) & (slots < s.shape[0]) & (entries >= 0) & (entries < n)
    # The slots' states are copied so that the kernel's final-state write leaves s as it was;
    # a request with no valid slot or cache entry gets o = 0 and writes no cache entry.
    start = s[slots.clamp(0, s.shape[0] - 1).long()]
    row = torch.arange(bs, device=qs.device)
    rows = torch.where(live, row, -1).to(torch.int32)
    cu = torch.arange(0, T + 1, step, device=qs.device, dtype=torch.int32)
    ones = torch.ones(bs, device=qs.device, dtype=torch.int32)
    o, inter = ops.linear_attn_prefill(qs, k, v, slopes, cu, start, rows, ones,
                                       keep_intermediate=True)
    # Without a host sync (CUDA-graph safe): every request writes its (clamped) entry, and all
    # requests that name one entry write the same value: the states of the last live request
    # naming it, else the entry's own contents.
    target = entries.clamp(0, n - 1)
    winner = torch.full((n,), -1, device=qs.device, dtype=torch.long).scatter_reduce_(
        0, target, torch.where(live, row, -1), "amax")
    src = winner[target]
    states = inter.view(bs, step, H, D, D)
    caches[target, :step] = torch.where((src >= 0).view(-1, 1, 1, 1, 1),
                                        states[src.clamp(min=0)], caches[target, :step])
    return o
