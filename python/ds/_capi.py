"""ctypes bindings of libds.so (capi/include/ds/ds.h).

ctypes rather than a compiled extension: the C API is a stable C ABI, so the package needs no
build step against Python or torch headers and one libds.so serves every Python version; a
launch costs a few microseconds of argument marshalling, small beside a decode step.
"""
import ctypes
import os
import pathlib

DS_MAX_RANK = 8

OK = 0
ERROR_INVALID_ARGUMENT = 1
ERROR_COMPILE = 2
ERROR_NO_DRIVER = 3
ERROR_NO_DEVICE = 4
ERROR_DRIVER = 5
ERROR_INTERNAL = 6

DTYPES = ["bf16", "f16", "f32", "i32", "i64", "i8", "u8", "f8e4m3"]
ROLES = ["in", "out", "inout"]


class Tensor(ctypes.Structure):
    _fields_ = [("ptr", ctypes.c_uint64), ("rank", ctypes.c_int32),
                ("shape", ctypes.c_int64 * DS_MAX_RANK)]


class ArgInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("role", ctypes.c_int), ("dtype", ctypes.c_int),
                ("rank", ctypes.c_int32), ("dims", ctypes.c_char_p * DS_MAX_RANK),
                ("align", ctypes.c_int64)]


def _candidates():
    env = os.environ.get("DS_LIBRARY")
    if env:
        yield pathlib.Path(env)
        return
    here = pathlib.Path(__file__).resolve().parent
    yield here / "libds.so"                       # an installed wheel ships it beside us
    yield here.parent.parent / "build" / "lib" / "libds.so"   # a source checkout's build


def load():
    errors = []
    for path in _candidates():
        if path.is_file():
            try:
                lib = ctypes.CDLL(str(path), mode=ctypes.RTLD_LOCAL)
            except OSError as e:
                errors.append(f"{path}: {e}")
                continue
            _declare(lib)
            return lib
        errors.append(f"{path}: not found")
    raise ImportError("ds: cannot load libds.so (set DS_LIBRARY to its path): " + "; ".join(errors))


def _declare(lib):
    c = ctypes
    status = c.c_int
    handle = c.c_void_p
    sigs = {
        "ds_last_error": (c.c_char_p, []),
        "ds_version": (c.c_char_p, []),
        "ds_spec_ir": (status, [c.c_char_p, c.c_char_p, c.POINTER(c.c_void_p)]),
        "ds_free_string": (None, [c.c_void_p]),
        "ds_compile_ir": (status, [c.c_char_p, c.c_char_p, c.c_int32, c.POINTER(handle)]),
        "ds_compile_spec": (status, [c.c_char_p, c.c_char_p, c.c_char_p, c.c_int32, c.POINTER(handle)]),
        "ds_compile_ir_config": (status, [c.c_char_p, c.c_char_p, c.c_int32, c.c_char_p, c.POINTER(handle)]),
        "ds_bundle_release": (None, [handle]),
        "ds_bundle_num_args": (c.c_int32, [handle]),
        "ds_bundle_arg": (status, [handle, c.c_int32, c.POINTER(ArgInfo)]),
        "ds_bundle_serialize": (status, [handle, c.POINTER(c.c_void_p)]),
        "ds_bundle_serialize_n": (status, [handle, c.POINTER(c.c_void_p), c.POINTER(c.c_size_t)]),
        "ds_context_open": (status, [c.c_int32, c.POINTER(handle)]),
        "ds_context_release": (None, [handle]),
        "ds_context_set_config": (status, [handle, c.c_char_p]),
        "ds_pipeline_from_ir": (status, [handle, c.c_char_p, c.POINTER(handle)]),
        "ds_pipeline_from_spec": (status, [handle, c.c_char_p, c.c_char_p, c.POINTER(handle)]),
        "ds_pipeline_release": (None, [handle]),
        "ds_pipeline_bundle": (handle, [handle]),
        "ds_pipeline_workspace_bytes": (status, [handle, c.POINTER(Tensor), c.c_int32, c.POINTER(c.c_size_t)]),
        "ds_pipeline_launch": (status, [handle, c.POINTER(Tensor), c.c_int32, c.c_uint64, c.c_size_t, c.c_void_p]),
    }
    for name, (res, args) in sigs.items():
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args
