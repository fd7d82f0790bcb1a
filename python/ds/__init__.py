"""ds from Python: compile sparse-attention pipelines (a spec or ds IR) and launch them on torch
tensors (or any tensor with __cuda_array_interface__ / DLPack through torch).

    import ds
    b = ds.compile_spec("double_sparsity", chip="sm_90", sm_count=132, heads=32, kvHeads=8, k=1024)
    [a.name for a in b.args]          # compile-only: no GPU, no torch needed

    ctx = ds.Context(0)               # needs the CUDA driver and a GPU
    p = ctx.pipeline("double_sparsity", heads=32, kvHeads=8, k=1024)
    o, heavy = p(q, k_cache, v_cache, label_cache, channels, page_table, seq_lens)
    o, heavy = ds.ops.double_sparsity_decode(q, k_cache, v_cache, label_cache, channels,
                                             page_table, seq_lens, k=1024)   # spec from shapes

`import ds` works without torch; launching takes torch tensors. Every check names the argument.
"""
from . import _capi

__all__ = ["Error", "CompileError", "DriverNotFound", "NoDevice", "ArgInfo", "Bundle", "Context",
           "Pipeline", "spec_ir", "compile_ir", "compile_spec", "version", "FAMILIES"]

FAMILIES = ("double_sparsity", "dense_decode", "label_append", "linear_attn_decode",
            "linear_attn_prefill", "quest", "quest_summary", "vattention", "twilight",
            "int4_append")

_lib = _capi.load()


class Error(RuntimeError):
    """A ds call failed; the message names what was wrong."""


class CompileError(Error):
    """The IR does not parse, verify or lower (the message carries the diagnostics)."""


class DriverNotFound(Error):
    """The CUDA driver (libcuda.so.1) could not be loaded."""


class NoDevice(Error):
    """The driver loaded but there is no (such) CUDA device."""


def _check(status):
    if status == _capi.OK:
        return
    # A message may echo bytes that are not UTF-8 (a driver's path): shown escaped, so that the
    # error raised is still the status's.
    msg = (_lib.ds_last_error() or b"").decode(errors="backslashreplace")
    raise {_capi.ERROR_COMPILE: CompileError, _capi.ERROR_NO_DRIVER: DriverNotFound,
           _capi.ERROR_NO_DEVICE: NoDevice}.get(status, Error)(msg)


def _text(what, value):
    """`value` as the C API's NUL-terminated text; a NUL inside would silently cut it short.
    Only a str: anything else read as its repr (None compiled as the text 'None')."""
    if not isinstance(value, str):
        raise Error(f"{what} must be a str, got {type(value).__name__}")
    if "\0" in value:
        raise Error(f"{what} {value!r} contains a NUL character")
    return _utf8(what, value)


def _utf8(what, value):
    try:
        return value.encode()
    except UnicodeEncodeError as e:  # a lone surrogate
        raise Error(f"{what} {value!r} is not valid Unicode text ({e.reason})") from None


def _params(params):
    """Spec fields as the C API takes them, "name=value" joined by commas: a ',' or '=' in a name
    or value would set other fields, so it is refused."""
    out = []
    for name, value in params.items():
        if isinstance(value, bool):
            value = int(value)
        for what, text in (("spec field name", name), (f"spec field '{name}'", value)):
            text = str(text)
            if any(c in text for c in ",=\0"):
                raise Error(f"{what} {text!r} contains ',', '=' or a NUL character")
        out.append(f"{name}={value}")
    return _utf8("spec fields", ",".join(out))


def _sm_count(sm_count):
    """The C API's int32 SM count (its range is checked there): a Python int outside int32 would
    wrap silently."""
    if isinstance(sm_count, bool) or not isinstance(sm_count, int) or not -2**31 <= sm_count < 2**31:
        raise Error(f"sm_count must be an int32, got {sm_count!r}")
    return sm_count


def _take_string(ptr):
    import ctypes
    try:
        return ctypes.string_at(ptr).decode()
    finally:
        _lib.ds_free_string(ptr)


def version():
    """The compiler's identity (what the JIT disk cache is keyed by)."""
    return _lib.ds_version().decode()


def spec_ir(family, **params):
    """The ds IR (MLIR text) of a pipeline spec; params are the C++ spec's field names."""
    import ctypes
    out = ctypes.c_void_p()
    _check(_lib.ds_spec_ir(_text("family", family), _params(params), ctypes.byref(out)))
    return _take_string(out)


class ArgInfo:
    """One pipeline argument: name, role (in/out/inout), dtype, dims (ints or size expressions
    over the other arguments' dims, e.g. "q_d0"), alignment in bytes."""

    def __init__(self, info):
        self.name = info.name.decode()
        self.role = _capi.ROLES[info.role]
        self.dtype = _capi.DTYPES[info.dtype]
        self.dims = [info.dims[i].decode() for i in range(info.rank)]
        self.align = info.align

    def __repr__(self):
        return f"ArgInfo({self.name}, {self.role}, {self.dtype}, [{', '.join(self.dims)}])"


class Bundle:
    """A compiled pipeline (kernels and launch plan) and its arguments."""

    def __init__(self, handle, owner=None):
        self._h = handle
        self._owner = owner  # a Pipeline owns its bundle
        n = _lib.ds_bundle_num_args(handle)
        self.args = []
        for i in range(n):
            info = _capi.ArgInfo()
            _check(_lib.ds_bundle_arg(handle, i, info))
            self.args.append(ArgInfo(info))

    def serialize(self):
        """The bundle file (docs/bundle.md) as bytes: its cubin, where it has one, is binary."""
        import ctypes
        out, size = ctypes.c_void_p(), ctypes.c_size_t()
        _check(_lib.ds_bundle_serialize_n(self._h, ctypes.byref(out), ctypes.byref(size)))
        try:
            return ctypes.string_at(out, size.value)
        finally:
            _lib.ds_free_string(out)

    def __del__(self):
        if getattr(self, "_owner", 1) is None and getattr(self, "_h", None):
            _lib.ds_bundle_release(self._h)
            self._h = None


def _config(config):
    """Config overrides as the C API takes them: "op.field=value" strings joined by commas."""
    if config is None:
        return None
    if isinstance(config, str):
        config = [config]
    if not isinstance(config, (list, tuple)) or not all(isinstance(c, str) for c in config):
        raise Error(f"config must be a str or a list of str, got {config!r}")
    return _text("config", ",".join(config))


def compile_ir(ir, chip, sm_count, config=None):
    """Compile-only (no GPU): MLIR text of ds ops for `chip` ("sm_90", ...) with `sm_count` SMs.
    `config`: overrides "op.field=value" (a string or a list), e.g. "topp.warps=16"."""
    import ctypes
    h = ctypes.c_void_p()
    _check(_lib.ds_compile_ir_config(_text("ir", ir), _text("chip", chip), _sm_count(sm_count),
                                     _config(config), ctypes.byref(h)))
    return Bundle(h)


def compile_spec(family, chip, sm_count, **params):
    """Compile-only (no GPU): a pipeline spec for `chip` with `sm_count` SMs."""
    import ctypes
    h = ctypes.c_void_p()
    _check(_lib.ds_compile_spec(_text("family", family), _params(params), _text("chip", chip),
                                _sm_count(sm_count), ctypes.byref(h)))
    return Bundle(h)


from .runtime import Context, Pipeline  # noqa: E402  (needs _lib and the errors above)
from . import ops  # noqa: E402,F401  (one function per pipeline on torch tensors)
