"""SGLang's Double Sparsity decode step on ds kernels.

    # sglang/srt/layers/attention/double_sparsity_backend.py, forward_decode:
    from ds.adapters.sglang import flash_decode_sparse_attention_fwd, HeadMajorLabels
    flash_decode_sparse_attention_fwd(q, k_buffer, v_buffer, o, q_label, k_label_buffer,
                                      ds_req_to_token, seq_lens, max_seq_len, layer.scaling,
                                      layer.logit_cap, heavy_token_num, ...)

Same arguments in the same order as SGLang's Triton function; what ds does with each:

- q [B, Hq, d], o [B, Hq, d] (written), q_label [B, Hq, r]: as SGLang (q_label is the gather of
  q at the layer's sorted channels; ds scores with it directly).
- k_buffer, v_buffer [S, Hkv, d]: SGLang's token pool is ds's paged cache with page size 1
  ([S, 1, Hkv, d], a view: no copy).
- k_label_buffer: SGLang keeps labels token-major, [S, Hkv, r]; ds's scorer reads them
  head-major, [Hkv, S, r], so that one head's labels are contiguous. Given SGLang's buffer, the
  call transposes the whole pool into ds's layout first (correct, but it copies S * Hkv * r
  elements every call). For the fast path keep the labels head-major in a `HeadMajorLabels`
  (written next to set_kv_buffer by its `append`, from the same k and out_cache_loc) and pass it
  instead: no copy.
- req_to_token: the batch's rows of the token table ([B, max_len] i32, SGLang's
  ds_req_to_token) = ds's page_table at page size 1. b_seq_len [B] (i32, or i64 converted).
- max_len_in_batch: not needed (ds reads the lengths on the GPU: no host sync).
- sm_scale, logit_cap (<= 0: none), heavy_token_num: the pipeline's scale, soft cap and k.
- att_out_approx, mid_out, mid_o_logexpsum, BLOCK_SEQ: SGLang's scratch buffers and tile size;
  accepted for the call shape and not used (ds sizes its own workspace, from torch's allocator).

GQA (Hq a multiple of Hkv) selects per q head, as SGLang's kernel does. A request shorter than
heavy_token_num attends to all its tokens.
"""
from .. import Error
from .. import ops

_pipelines = {}


def _ir(hq, hkv, d, r, k, t, scale, soft_cap):
    """ds IR of the step: label scores from q_label, top-k, sparse decode (page size 1)."""
    qT = f"tensor<?x{hq}x{d}x{t}>"
    kvT = f"tensor<?x1x{hkv}x{d}x{t}>"
    lcT = f"tensor<{hkv}x?x{r}x{t}>"
    qlT = f"tensor<?x{hq}x{r}x{t}>"
    scT = f"tensor<?x{hq}x?xf32>"
    idxT = f"tensor<?x{hq}x{k}xi32>"
    s = f"{scale:.9e} : f32"
    cap = f"{soft_cap:.9e} : f32"
    return (
        f'func.func @sglang_double_sparsity(%q: {qT} {{ds.name = "q"}}, '
        f'%k_cache: {kvT} {{ds.name = "k_buffer"}}, %v_cache: {kvT} {{ds.name = "v_buffer"}}, '
        f'%q_label: {qlT} {{ds.name = "q_label"}}, %label_cache: {lcT} {{ds.name = "k_label"}}, '
        f'%page_table: tensor<?x?xi32> {{ds.name = "req_to_token"}}, '
        f'%seq_lens: tensor<?xi32> {{ds.name = "b_seq_len"}}) -> {qT} {{\n'
        f"  %scores = ds.label_score %q_label, %label_cache, %page_table, %seq_lens "
        f"{{page_size = 1 : i64, scale = {s}, group_reduce = #ds.group_reduce<none>}} : "
        f"({qlT}, {lcT}, tensor<?x?xi32>, tensor<?xi32>) -> {scT}\n"
        f"  %heavy = ds.topk %scores, %seq_lens {{k = {k} : i64}} : ({scT}, tensor<?xi32>) -> {idxT}\n"
        f"  %o = ds.sparse_decode %q, %k_cache, %v_cache, %page_table, %seq_lens, %heavy "
        f"{{scale = {s}, soft_cap = {cap}, dense_below = 0 : i64}} : ({qT}, {kvT}, {kvT}, "
        f"tensor<?x?xi32>, tensor<?xi32>, {idxT}) -> {qT}\n"
        f"  return %o : {qT}\n}}\n")


class HeadMajorLabels:
    """A layer's label cache in ds's layout, [Hkv, S, r], for the no-copy path."""

    def __init__(self, tensor):
        if tensor.dim() != 3:
            raise Error(f"ds: HeadMajorLabels takes a [Hkv, S, r] tensor, got shape "
                        f"{tuple(tensor.shape)}")
        self.tensor = tensor

    @classmethod
    def empty(cls, kv_heads, pool_size, label_dim, dtype, device):
        import torch
        return cls(torch.zeros(kv_heads, pool_size, label_dim, dtype=dtype, device=device))

    def append(self, k, channels, out_cache_loc):
        """Labels of new keys k [T, Hkv, d] at channels [Hkv, r] (SGLang's sorted_channels of the
        layer, any integer dtype) into slots out_cache_loc [T]; call it where SGLang calls
        set_kv_buffer."""
        import torch
        ops.label_append(self.tensor, k, channels.to(torch.int32).contiguous(),
                         out_cache_loc.to(torch.int32).contiguous())
        return self


def flash_decode_sparse_attention_fwd(q, k_buffer, v_buffer, o, q_label, k_label_buffer,
                                      req_to_token, b_seq_len, max_len_in_batch, sm_scale,
                                      logit_cap, heavy_token_num=32, att_out_approx=None,
                                      mid_out=None, mid_o_logexpsum=None, BLOCK_SEQ=256):
    """Writes o [B, Hq, d]: attention of q over the heavy_token_num tokens per (request, q head)
    with the highest label scores q_label . k_label (module docstring: the layouts)."""
    import torch
    B, hq, d = (int(x) for x in q.shape)
    if k_buffer.dim() != 3 or v_buffer.dim() != 3:
        raise Error("ds: k_buffer and v_buffer must be SGLang's token pools [S, Hkv, d], got "
                    f"{tuple(k_buffer.shape)} and {tuple(v_buffer.shape)}")
    S, hkv, dk = (int(x) for x in k_buffer.shape)
    for name, t in (("k_buffer", k_buffer), ("v_buffer", v_buffer)):
        if not t.is_contiguous():
            raise Error(f"ds: {name} must be contiguous (SGLang's token pool is), got strides "
                        f"{tuple(t.stride())}")
    if dk != d:
        raise Error(f"ds: k_buffer head dim ({dk}) must equal q's ({d})")
    if isinstance(k_label_buffer, HeadMajorLabels):
        labels = k_label_buffer.tensor
    else:
        if k_label_buffer.dim() != 3 or int(k_label_buffer.shape[1]) != hkv:
            raise Error("ds: k_label_buffer must be SGLang's [S, Hkv, r] label pool (or a "
                        f"HeadMajorLabels), got shape {tuple(k_label_buffer.shape)}")
        labels = k_label_buffer.transpose(0, 1).contiguous()  # [Hkv, S, r]: one copy
    r = int(labels.shape[2])
    if tuple(q_label.shape) != (B, hq, r):
        raise Error(f"ds: q_label must be [B, Hq, r] = {(B, hq, r)}, got {tuple(q_label.shape)}")
    if tuple(o.shape) != (B, hq, d):
        raise Error(f"ds: o must be [B, Hq, d] = {(B, hq, d)}, got {tuple(o.shape)}")
    if heavy_token_num < 1:
        raise Error(f"ds: heavy_token_num must be >= 1, got {heavy_token_num}")
    soft_cap = float(logit_cap) if logit_cap and logit_cap > 0 else 0.0
    t = ops._dtype_name(q)
    key = (hq, hkv, d, r, int(heavy_token_num), t, float(sm_scale), soft_cap, q.device)
    pipe = _pipelines.get(key)
    if pipe is None:
        pipe = ops._context(q).pipeline_from_ir(
            _ir(hq, hkv, d, r, int(heavy_token_num), t, float(sm_scale), soft_cap))
        _pipelines[key] = pipe
    seq = b_seq_len if b_seq_len.dtype == torch.int32 else b_seq_len.to(torch.int32)
    table = req_to_token if req_to_token.dtype == torch.int32 else req_to_token.to(torch.int32)
    out = pipe(q, k_buffer.view(S, 1, hkv, d), v_buffer.view(S, 1, hkv, d), q_label, labels,
               table, seq)
    o.copy_(out)
    return o
