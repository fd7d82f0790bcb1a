"""One function per pipeline, on torch tensors: the spec is read off the tensors' shapes and
dtypes (heads, kv heads, head dim, page size, dtype), the pipeline compiled once per spec and
device (then cached in memory and on disk), and launched on the current stream.

    o, heavy = ds.ops.double_sparsity_decode(q, k_cache, v_cache, label_cache, channels,
                                             page_table, seq_lens, k=1024)

Layouts are ds's (docs in codegen/JIT.h): q [B, Hq, d]; k_cache, v_cache [pages, P, Hkv, d];
label_cache [Hkv, pages * P, r]; page_table [B, max_pages] i32; seq_lens [B] i32.
"""
from . import Error
from .runtime import Context

_contexts = {}
_pipelines = {}  # (entry point, what decides its spec) -> Pipeline: no spec work on a repeat call


def _sig(t):
    """What of a tensor decides a spec: its shape past the batch dim, dtype and device."""
    return (tuple(t.shape[1:]), t.dtype, t.get_device())


def _pipeline(key, make):
    """The pipeline for `key` (built by make() on the first call). Tensors without torch's
    attributes skip the cache."""
    try:
        p = _pipelines.get(key)
    except TypeError:
        return make()
    if p is None:
        p = make()
        _pipelines[key] = p
    return p


def _dtype_name(t):
    name = str(t.dtype)
    if name.endswith("bfloat16"):
        return "bf16"
    if name.endswith("float16"):
        return "f16"
    raise Error(f"ds: q must be bfloat16 or float16, got {t.dtype}")


def _label_format(label_cache, label_scales):
    """(labelFormat, labelDim) of a label cache [Hkv, S, r]: its dtype (q's) with no scales; with
    label_scales [Hkv, S] f16, float8_e4m3fn labels (fp8) or int32 words of 8 int4 labels."""
    last = _shape(label_cache, "label_cache", 3)[2]
    if label_scales is None:
        return "same", last
    _shape(label_scales, "label_scales", 2)
    name = str(label_cache.dtype)
    if name.endswith("float8_e4m3fn"):
        return "fp8", last
    if name.endswith("int32"):
        return "int4", 8 * last
    raise Error(f"ds: argument 'label_cache' with label_scales must be float8_e4m3fn (fp8) or "
                f"int32 (int4 words), got {label_cache.dtype}")


def _context(t, name):
    if not hasattr(t, "device"):
        raise Error(f"ds: argument '{name}' must be a CUDA tensor, got {type(t).__name__}")
    index = getattr(t.device, "index", None) or 0
    if index not in _contexts:
        _contexts[index] = Context(index)
    return _contexts[index]


def _shape(t, name, rank):
    if not hasattr(t, "shape") or not hasattr(t, "dtype"):
        raise Error(f"ds: argument '{name}' must be a CUDA tensor, got {type(t).__name__}")
    s = tuple(int(x) for x in t.shape)
    if len(s) != rank:
        raise Error(f"ds: argument '{name}' must have rank {rank}, got shape {s}")
    return s


def paged_attention_spec(q, k_cache, **extra):
    """heads, kvHeads, headDim, pageSize and dtype from q [B, Hq, d] and k_cache [pages, P, Hkv, d]."""
    _, hq, d = _shape(q, "q", 3)
    _, page, hkv, dk = _shape(k_cache, "k_cache", 4)
    if dk != d:
        raise Error(f"ds: k_cache head dim ({dk}) must equal q's ({d})")
    spec = dict(heads=hq, kvHeads=hkv, headDim=d, pageSize=page, dtype=_dtype_name(q))
    spec.update({k: v for k, v in extra.items() if v is not None})
    return spec


def double_sparsity_decode(q, k_cache, v_cache, label_cache, channels, page_table, seq_lens, *,
                           k, shared_selection=False, dense_below=0, scale=None, soft_cap=None,
                           label_scales=None):
    """Returns (o [B, Hq, d], heavy_tokens [B, Hsel, k]). With label_scales [Hkv, S] f16 the
    label cache is low-bit: float8_e4m3fn [Hkv, S, r] or int32 [Hkv, S, r / 8] (int4)."""
    def make():
        label_format, label_dim = _label_format(label_cache, label_scales)
        spec = paged_attention_spec(q, k_cache, k=k, labelDim=label_dim,
                                    sharedSelection=shared_selection, denseBelow=dense_below,
                                    scale=scale, softCap=soft_cap, labelFormat=label_format)
        return _context(q, "q").pipeline("double_sparsity", **spec)
    try:  # the label format follows from the cache's dtype and whether scales come with it
        key = ("double_sparsity", _sig(q), _sig(k_cache), label_cache.shape[-1], label_cache.dtype,
               label_scales is None, k, shared_selection, dense_below, scale, soft_cap)
    except AttributeError:
        key = None
    p = _pipeline(key, make) if key else make()
    if label_scales is None:
        return p(q, k_cache, v_cache, label_cache, channels, page_table, seq_lens)
    return p(q, k_cache, v_cache, label_cache, label_scales, channels, page_table, seq_lens)


def dense_decode(q, k_cache, v_cache, page_table, seq_lens, *, scale=None, soft_cap=None):
    def make():
        return _context(q, "q").pipeline("dense_decode", **paged_attention_spec(q, k_cache, scale=scale,
                                                                          softCap=soft_cap))
    try:
        key = ("dense_decode", _sig(q), _sig(k_cache), scale, soft_cap)
    except AttributeError:
        key = None
    p = _pipeline(key, make) if key else make()
    return p(q, k_cache, v_cache, page_table, seq_lens)


def label_append(label_cache, new_k, channels, slot_mapping, label_scales=None):
    """Updates label_cache [Hkv, S, r] in place with new_k [T, Hkv, d] at slot_mapping [T]; a
    low-bit cache (see double_sparsity_decode) with its label_scales, also updated in place."""
    _, hkv, d = _shape(new_k, "new_k", 3)
    label_format, label_dim = _label_format(label_cache, label_scales)
    spec = dict(kvHeads=hkv, headDim=d, labelDim=label_dim, dtype=_dtype_name(new_k),
                labelFormat=label_format)
    p = _context(new_k, "new_k").pipeline("label_append", **spec)
    if label_scales is None:
        p(new_k, channels, slot_mapping, label_cache)
    else:
        p(new_k, channels, slot_mapping, label_cache, label_scales)
    return label_cache


def quest_decode(q, k_cache, v_cache, kmin, kmax, page_table, seq_lens, *, token_budget,
                 shared_selection=False, dense_below=0, scale=None, soft_cap=None):
    """Returns (o, selected_pages [B, Hsel, token_budget / P])."""
    spec = paged_attention_spec(q, k_cache, tokenBudget=token_budget,
                                sharedSelection=shared_selection, denseBelow=dense_below,
                                scale=scale, softCap=soft_cap)
    return _context(q, "q").pipeline("quest", **spec)(q, k_cache, v_cache, kmin, kmax, page_table,
                                                 seq_lens)


def quest_summary_append(kmin, kmax, new_k, slot_mapping, *, page_size):
    """Folds new keys [T, Hkv, d] into Quest's page summaries kmin / kmax [pages, Hkv, d] in place
    (slot = page * page_size + offset; a page's token at offset 0 restarts it; a request's tokens
    of one page come consecutively in slot_mapping). Returns (kmin, kmax)."""
    _, hkv, d = _shape(new_k, "new_k", 3)
    _context(new_k, "new_k").pipeline("quest_summary", kvHeads=hkv, headDim=d, pageSize=page_size,
                             dtype=_dtype_name(new_k))(new_k, slot_mapping, kmin, kmax)
    return kmin, kmax


def vattention_decode(q, k_cache, v_cache, label_cache, channels, page_table, seq_lens, philox, *,
                      k, sinks=64, window=512, num_samples=1024, shared_selection=False,
                      scale=None, soft_cap=None):
    """Returns (o, selected [B, Hsel, T], log_weights [B, Hsel, T]); philox = [seed, offset] i64
    on the GPU (advance the offset between steps, also inside a CUDA graph)."""
    spec = paged_attention_spec(q, k_cache, k=k, sinks=sinks, window=window,
                                numSamples=num_samples,
                                labelDim=_shape(label_cache, "label_cache", 3)[2],
                                sharedSelection=shared_selection, scale=scale, softCap=soft_cap)
    return _context(q, "q").pipeline("vattention", **spec)(q, k_cache, v_cache, label_cache, channels,
                                                      page_table, seq_lens, philox)


def twilight_decode(q, k_cache, v_cache, label_cache, channels, page_table, seq_lens, *,
                    candidates, top_p, kq=None, shared_selection=False, scale=None,
                    soft_cap=None):
    """Returns (o, kept [B, Hsel, candidates], kept_counts [B, Hsel]); with kq (the int4 key
    records from int4_append) the candidates' logits are estimated from them, else from the
    labels."""
    spec = paged_attention_spec(q, k_cache, candidates=candidates, topP=top_p,
                                labelDim=_shape(label_cache, "label_cache", 3)[2],
                                int4Estimate=kq is not None, sharedSelection=shared_selection,
                                scale=scale, softCap=soft_cap)
    p = _context(q, "q").pipeline("twilight", **spec)
    if kq is None:
        return p(q, k_cache, v_cache, label_cache, channels, page_table, seq_lens)
    return p(q, k_cache, v_cache, label_cache, channels, kq, page_table, seq_lens)


def int4_append(kq, new_k, slot_mapping):
    """Updates the int4 key records kq [S, Hkv, d / 8 + 4] i32 in place: per slot and kv head
    d / 8 words of 4-bit values (channel 8 i + j in bits 4 j of word i), then four words of f16
    scales, one per group of 32 channels (group g in half g % 2 of word d / 8 + g / 2; zeros
    past the d / 32 scales)."""
    _, hkv, d = _shape(new_k, "new_k", 3)
    _context(new_k, "new_k").pipeline("int4_append", kvHeads=hkv, headDim=d, dtype=_dtype_name(new_k))(
        kq, new_k, slot_mapping)
    return kq


def linear_attn_decode(q, k, v, slopes, states, state_indices):
    """o [B, H, e]; states [slots, H, d, e] f32 updated in place."""
    _, h, d = _shape(q, "q", 3)
    e = _shape(v, "v", 3)[2]
    return _context(q, "q").pipeline("linear_attn_decode", heads=h, keyDim=d, valueDim=e,
                                dtype=_dtype_name(q))(q, k, v, slopes, states, state_indices)


def linear_attn_prefill(q, k, v, slopes, cu_seqlens, states, state_indices, has_initial_state,
                        keep_intermediate=False):
    """o [T, H, e] over a packed ragged batch; final states written in place. With
    keep_intermediate, (o, intermediate [T, H, d, e] f32): the state after each token."""
    _, h, d = _shape(q, "q", 3)
    e = _shape(v, "v", 3)[2]
    return _context(q, "q").pipeline("linear_attn_prefill", heads=h, keyDim=d, valueDim=e,
                                keepIntermediate=keep_intermediate, dtype=_dtype_name(q))(
        q, k, v, slopes, cu_seqlens, states, state_indices, has_initial_state)
