"""Launching on the GPU: a Context (the device's primary CUDA context, shared with torch) and
its Pipelines, called with torch tensors."""
import ctypes
import math

from . import _capi
from . import Bundle, Error, _check, _config, _lib, _params, _text

_TORCH_DTYPES = None


def _torch():
    try:
        import torch
    except ImportError as e:  # compile-only use needs no torch
        raise Error("ds: launching takes torch tensors; install torch") from e
    global _TORCH_DTYPES
    if _TORCH_DTYPES is None:
        _TORCH_DTYPES = {"bf16": torch.bfloat16, "f16": torch.float16, "f32": torch.float32,
                         "i32": torch.int32, "i64": torch.int64, "i8": torch.int8, "u8": torch.uint8}
        if hasattr(torch, "float8_e4m3fn"):
            _TORCH_DTYPES["f8e4m3"] = torch.float8_e4m3fn
    return torch


def _current_stream(torch, device):
    """The raw handle of torch's current stream on `device` (torch's C hook where it has one: it
    skips building a Stream object, a few microseconds per call)."""
    raw = getattr(torch._C, "_cuda_getCurrentRawStream", None)
    if raw is not None:
        return raw(device.index if device.index is not None else torch.cuda.current_device())
    return torch.cuda.current_stream(device).cuda_stream


def _cdiv(a, b):
    return -(-a // b)


_FUNCTIONS = {"__builtins__": {}, "cdiv": _cdiv, "min": min, "max": max}


class SizeExpr:
    """A bundle size expression ("128", "q_d0", "cdiv((pt_d1)*16,4)"), compiled once (the
    bundle's "/" is integer division)."""

    def __init__(self, text):
        self.text = text
        try:
            self.code = compile(text.replace("/", "//"), "<ds size>", "eval")
        except SyntaxError:
            raise Error(f"ds: '{text}' is not a size expression") from None

    def __call__(self, symbols):
        try:
            return int(eval(self.code, _FUNCTIONS, symbols))
        except NameError as e:
            raise Error(f"ds: size '{self.text}' uses a symbol no input gives ({e})") from None
        except ZeroDivisionError:  # the runtime's expressions refuse a zero divisor too
            raise Error(f"ds: size '{self.text}' divides by zero for these shapes "
                        f"({', '.join(f'{k}={v}' for k, v in symbols.items())})") from None


def evaluate(expr, symbols):
    """A size expression's value over known symbols (see SizeExpr)."""
    return SizeExpr(expr)(symbols)


class Context:
    """A CUDA device for ds (its primary context, the one torch uses)."""

    def __init__(self, ordinal=0):
        # The C API takes an int32: a Python int outside it would wrap (2**32 opened device 0).
        if isinstance(ordinal, bool) or not isinstance(ordinal, int) or not 0 <= ordinal < 2**31:
            raise Error(f"ordinal must be a device number (an int in [0, 2**31)), got {ordinal!r}")
        h = ctypes.c_void_p()
        _check(_lib.ds_context_open(ordinal, ctypes.byref(h)))
        self._h = h
        self.ordinal = int(ordinal)
        self._pipelines = {}
        self._config = ()

    def set_config(self, *overrides):
        """Config overrides "op.field=value" for later pipelines (none: back to the chosen
        configs), e.g. ctx.set_config("topp.warps=16"). A malformed one raises here; one naming an
        op a pipeline lacks, or a config its kernels cannot build, when that pipeline compiles."""
        _check(_lib.ds_context_set_config(self._h, _config(list(overrides)) or None))
        self._config = tuple(overrides)

    def pipeline(self, family, **params):
        """A pipeline from a spec (compiled once per spec, config and device; also cached on
        disk)."""
        key = (family, tuple(sorted(params.items())), self._config)
        if key not in self._pipelines:
            h = ctypes.c_void_p()
            _check(_lib.ds_pipeline_from_spec(self._h, _text("family", family), _params(params),
                                              ctypes.byref(h)))
            self._pipelines[key] = Pipeline(self, h)
        return self._pipelines[key]

    def pipeline_from_ir(self, ir):
        h = ctypes.c_void_p()
        _check(_lib.ds_pipeline_from_ir(self._h, _text("ir", ir), ctypes.byref(h)))
        return Pipeline(self, h)

    def __del__(self):
        if getattr(self, "_h", None):
            self._pipelines.clear()
            _lib.ds_context_release(self._h)
            self._h = None


class Pipeline:
    """A loaded pipeline. Call it with its input (and in-place) tensors in argument order; it
    allocates the outputs, checks every tensor (device, dtype, shape, contiguity, alignment:
    errors name the argument), takes a workspace (given: a contiguous tensor on that device,
    256-byte aligned; else from torch's allocator) and launches on
    torch.cuda.current_stream() without a host sync."""

    def __init__(self, context, handle):
        self.context = context
        self._h = handle
        self.bundle = Bundle(_lib.ds_pipeline_bundle(handle), owner=self)
        self.args = self.bundle.args
        self.inputs = [a for a in self.args if a.role != "out"]
        self.outputs = [a for a in self.args if a.role == "out"]
        # Size expressions compiled once, not on every call.
        self._dims = {a.name: [SizeExpr(d) for d in a.dims] for a in self.args}
        # Calls already checked, by their inputs' (shape, strides, dtype, device): the output
        # shapes, the workspace size and the argument array's shapes (only addresses change).
        self._plans = {}
        self._array_type = _capi.Tensor * len(self.args)
        # Argument i's address is ptrs[j] (inputs in order, then outputs); inputs to realign.
        n_in, n_out, self._slots = 0, 0, []
        for i, a in enumerate(self.args):
            if a.role == "out":
                self._slots.append((i, len(self.inputs) + n_out))
                n_out += 1
            else:
                self._slots.append((i, n_in))
                n_in += 1
        self._aligned = [(i, a.align, a.name) for i, a in enumerate(self.inputs) if a.align > 1]

    def _check_tensor(self, arg, t, torch, symbols):
        if not isinstance(t, torch.Tensor):
            if hasattr(t, "__cuda_array_interface__") or hasattr(t, "__dlpack__"):
                t = torch.as_tensor(t, device="cuda") if hasattr(t, "__cuda_array_interface__") \
                    else torch.from_dlpack(t)
            else:
                raise Error(f"ds: argument '{arg.name}' must be a CUDA tensor, got {type(t).__name__}")
        if t.device.type != "cuda" or (t.device.index or 0) != self.context.ordinal:
            raise Error(f"ds: argument '{arg.name}' is on {t.device}, the pipeline on cuda:{self.context.ordinal}")
        want = _TORCH_DTYPES[arg.dtype]
        if t.dtype != want:
            raise Error(f"ds: argument '{arg.name}' must be {want}, got {t.dtype}")
        if t.dim() != len(arg.dims):
            raise Error(f"ds: argument '{arg.name}' must have rank {len(arg.dims)}, got {t.dim()}")
        if not t.is_contiguous():
            raise Error(f"ds: argument '{arg.name}' must be contiguous (row-major), got strides {tuple(t.stride())}")
        if arg.align > 1 and t.numel() and t.data_ptr() % arg.align:  # empty: no alignment
            raise Error(f"ds: argument '{arg.name}' must be {arg.align}-byte aligned")
        for i, d in enumerate(t.shape):
            symbols.setdefault(f"{arg.name}_d{i}", int(d))
        return t

    def _prepare(self, tensors, torch):
        """Checks the inputs, allocates the outputs; returns (outputs, argument array, device)."""
        if len(tensors) != len(self.inputs):
            names = ", ".join(a.name for a in self.inputs)
            raise Error(f"ds: the pipeline takes {len(self.inputs)} tensors ({names}), got {len(tensors)}")
        symbols = {}
        checked = [self._check_tensor(a, t, torch, symbols) for a, t in zip(self.inputs, tensors)]
        # Static dims and dims shared between inputs must agree.
        for a, t in zip(self.inputs, checked):
            for i, d in enumerate(self._dims[a.name]):
                want = d(symbols)
                if int(t.shape[i]) != want:
                    raise Error(f"ds: argument '{a.name}' dim {i} is {int(t.shape[i])} but must be {d.text} = {want}")
        device = checked[0].device if checked else torch.device("cuda", self.context.ordinal)
        outs = [torch.empty([d(symbols) for d in self._dims[a.name]], dtype=_TORCH_DTYPES[a.dtype],
                            device=device) for a in self.outputs]
        by_name = dict(zip((a.name for a in self.inputs), checked))
        by_name.update(zip((a.name for a in self.outputs), outs))
        arr = (_capi.Tensor * len(self.args))()
        for i, a in enumerate(self.args):
            t = by_name[a.name]
            arr[i].ptr = t.data_ptr()
            arr[i].rank = t.dim()
            for j, d in enumerate(t.shape):
                arr[i].shape[j] = int(d)
        return outs, arr, device

    def _workspace_bytes(self, arr):
        need = ctypes.c_size_t()
        _check(_lib.ds_pipeline_workspace_bytes(self._h, arr, len(self.args), ctypes.byref(need)))
        return int(need.value)

    def workspace_bytes(self, *tensors):
        """The workspace a launch on these inputs needs, in bytes (checks them as a call does)."""
        return self._workspace_bytes(self._prepare(tensors, _torch())[1])

    def __call__(self, *tensors, workspace=None, stream=None):
        torch = _torch()
        try:
            key = tuple((t.shape, t.stride(), t.dtype, t.get_device()) for t in tensors)
        except (AttributeError, TypeError):  # not torch tensors: the checked path converts them
            key = None
        plan = self._plans.get(key) if key is not None else None
        if plan is None:
            outs, arr, device = self._prepare(tensors, torch)
            need = self._workspace_bytes(arr)
            if key is not None and len(self._plans) < 256:
                # Inputs whose address must be realigned: the non-empty ones (as checked).
                aligned = [(i, al, n) for i, al, n in self._aligned if math.prod(key[i][0])]
                self._plans[key] = (bytes(arr), [(tuple(o.shape), o.dtype) for o in outs], need,
                                    device, aligned)
        else:
            # The same shapes, strides, dtypes and device as a checked call: only the addresses
            # are new, and only their alignment is checked again.
            template, out_specs, need, device, aligned = plan
            ptrs = [t.data_ptr() for t in tensors]
            for i, align, name in aligned:
                if ptrs[i] % align:
                    raise Error(f"ds: argument '{name}' must be {align}-byte aligned")
            outs = [torch.empty(shape, dtype=dtype, device=device) for shape, dtype in out_specs]
            ptrs += [o.data_ptr() for o in outs]
            arr = self._array_type.from_buffer_copy(template)
            for i, j in self._slots:
                arr[i].ptr = ptrs[j]
        if workspace is None:
            workspace = torch.empty(max(need, 1), dtype=torch.uint8, device=device)
        elif not isinstance(workspace, torch.Tensor) or workspace.device != device \
                or not workspace.is_contiguous():
            raise Error(f"ds: the workspace must be a contiguous tensor on {device}")
        elif workspace.numel() * workspace.element_size() < need:
            raise Error(f"ds: the workspace has {workspace.numel() * workspace.element_size()} bytes, "
                        f"the launch needs {need}")
        if stream is None:
            stream = _current_stream(torch, device)
        _check(_lib.ds_pipeline_launch(self._h, arr, len(self.args), workspace.data_ptr(),
                                       workspace.numel() * workspace.element_size(),
                                       ctypes.c_void_p(stream)))
        if not outs:
            return None
        return outs[0] if len(outs) == 1 else tuple(outs)

    def __del__(self):
        if getattr(self, "_h", None):
            _lib.ds_pipeline_release(self._h)
            self._h = None
