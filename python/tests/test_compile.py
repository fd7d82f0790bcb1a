"""The Python package without a GPU or torch: specs, compile-only bundles, errors that name the
field or argument, and the device call reporting a missing driver."""
import unittest

import ds
from ds import runtime


class CompileOnly(unittest.TestCase):
    def test_version(self):
        self.assertTrue(ds.version())

    def test_spec_ir(self):
        ir = ds.spec_ir("double_sparsity", heads=32, kvHeads=8, k=1024, sharedSelection=True)
        self.assertIn("ds.label_score", ir)
        self.assertIn("group_reduce = #ds.group_reduce<sum>", ir)

    def test_vattention_bundle_args(self):
        b = ds.compile_spec("vattention", "sm_90", 132, kvHeads=8)
        names = [a.name for a in b.args]
        self.assertEqual(names[:8], ["q", "k_cache", "v_cache", "label_cache", "channels",
                                     "page_table", "seq_lens", "philox"])
        philox = b.args[7]
        self.assertEqual((philox.role, philox.dtype, philox.dims), ("in", "i64", ["2"]))
        sel = b.args[9]
        self.assertEqual((sel.role, sel.dtype, sel.dims[1:]), ("out", "i32", ["32", "2624"]))
        self.assertIn(b"target sm_90\n", b.serialize())

    def test_sglang_adapter_pipeline_takes_sglangs_arguments(self):
        from ds.adapters import sglang
        ir = sglang._ir(32, 8, 128, 16, 256, "bf16", 0.088, 0.0)
        b = ds.compile_ir(ir, "sm_90", 132)
        self.assertEqual([(a.name, a.role) for a in b.args],
                         [("q", "in"), ("k_buffer", "in"), ("v_buffer", "in"), ("q_label", "in"),
                          ("k_label", "in"), ("req_to_token", "in"), ("b_seq_len", "in"),
                          ("result0", "out")])

    def test_low_bit_label_bundles(self):
        # fp8 and int4 label caches: the cache's dtype and shape, then its f16 scales.
        for fmt, dtype, last in (("fp8", "f8e4m3", "16"), ("int4", "i32", "2")):
            with self.subTest(labelFormat=fmt):
                b = ds.compile_spec("double_sparsity", "sm_90", 132, labelFormat=fmt)
                names = [a.name for a in b.args]
                self.assertEqual(names[3:6], ["label_cache", "label_scales", "channels"])
                cache, scales = b.args[3], b.args[4]
                self.assertEqual((cache.dtype, cache.dims[0], cache.dims[2]), (dtype, "32", last))
                self.assertEqual((scales.role, scales.dtype, scales.dims[0]), ("in", "f16", "32"))
                a = ds.compile_spec("label_append", "sm_90", 132, labelFormat=fmt)
                self.assertEqual([(x.name, x.role) for x in a.args][3:],
                                 [("label_cache", "inout"), ("label_scales", "inout")])
        with self.assertRaisesRegex(ds.Error, "'labelFormat' must be same, fp8 or int4"):
            ds.spec_ir("double_sparsity", labelFormat="fp4")
        with self.assertRaisesRegex(ds.Error, "'labelDim' must be a multiple of 8 with labelFormat int4"):
            ds.spec_ir("label_append", labelFormat="int4", labelDim=12)

    def test_every_family_compiles(self):
        for family in ds.FAMILIES:
            with self.subTest(family=family):
                b = ds.compile_spec(family, "sm_90", 132)
                self.assertGreater(len(b.args), 2)

    def test_errors_name_the_field(self):
        with self.assertRaisesRegex(ds.Error, "no field 'kvHeds'"):
            ds.spec_ir("quest", kvHeds=8)
        with self.assertRaisesRegex(ds.Error, "'topP' must be in"):
            ds.spec_ir("twilight", topP=2)
        with self.assertRaisesRegex(ds.Error, "unknown spec family 'flash'"):
            ds.spec_ir("flash")
        with self.assertRaisesRegex(ds.Error, "sm_count"):
            ds.compile_spec("dense_decode", "sm_90", 0)
        # Found by fuzzing: a value with ',' or '=' set other fields, a NUL cut the text short,
        # and an sm_count past int32 wrapped (2**32 + 132 compiled for 132 SMs).
        with self.assertRaisesRegex(ds.Error, "spec field 'pageSize' '1,heads=16' contains ','"):
            ds.spec_ir("dense_decode", pageSize="1,heads=16")
        with self.assertRaisesRegex(ds.Error, "contains ',', '=' or a NUL"):
            ds.spec_ir("dense_decode", dtype="f16\0", heads=64)
        with self.assertRaisesRegex(ds.Error, "^family .* contains a NUL character$"):
            ds.spec_ir("dense_decode\0x")
        with self.assertRaisesRegex(ds.Error, "^chip .* contains a NUL character$"):
            ds.compile_spec("dense_decode", "sm_90a\0junk", 132)
        with self.assertRaisesRegex(ds.Error, "sm_count must be an int32, got 4294967428"):
            ds.compile_spec("dense_decode", "sm_90", 2**32 + 132)
        # Text arguments are str: None compiled as the text 'None'.
        with self.assertRaisesRegex(ds.Error, "^ir must be a str, got NoneType$"):
            ds.compile_ir(None, "sm_90", 132)
        with self.assertRaisesRegex(ds.Error, "^chip must be a str, got int$"):
            ds.compile_spec("dense_decode", 90, 132)

    def test_bad_arguments_raise_ds_errors(self):
        # Found by the C API / Python audit: each raised a Python error other than ds.Error, or
        # (1e-50) was read as 0, the field's default.
        with self.assertRaisesRegex(ds.Error, "is not valid Unicode text"):
            ds.spec_ir("\ud800")
        with self.assertRaisesRegex(ds.Error, "is not valid Unicode text"):
            ds.spec_ir("dense_decode", dtype="\udcff")
        with self.assertRaisesRegex(ds.Error, "'scale' is outside a 32-bit float's range"):
            ds.spec_ir("dense_decode", scale=1e-50)
        ir = ds.spec_ir("label_append", kvHeads=8)
        for bad in (5, b"label_append.warps=4", ["label_append.warps=4", 4]):
            with self.assertRaisesRegex(ds.Error, "^config must be a str or a list of str"):
                ds.compile_ir(ir, "sm_90", 132, config=bad)
        with self.assertRaisesRegex(ds.Error, "argument 'q' must be a CUDA tensor, got NoneType"):
            ds.ops.dense_decode(None, None, None, None, None)
        with self.assertRaisesRegex(ds.Error, "argument 'new_k' must be a CUDA tensor, got list"):
            ds.ops.label_append(None, [1], None, None)
        with self.assertRaisesRegex(ds.Error, "divides by zero for these shapes"):
            ds.runtime.evaluate("cdiv(q_d0, q_d1)", {"q_d0": 5, "q_d1": 0})

    def test_compile_error_has_a_location(self):
        bad = ("func.func @f(%s: tensor<?x8x64xf32>, %i: tensor<?x8x64xi32>) -> "
               "(tensor<?x8x64xi32>, tensor<?x8xi32>) {\n"
               "  %k, %c = ds.topp %s, %i {top_p = 0.0 : f32} : (tensor<?x8x64xf32>, "
               "tensor<?x8x64xi32>) -> (tensor<?x8x64xi32>, tensor<?x8xi32>)\n"
               "  return %k, %c : tensor<?x8x64xi32>, tensor<?x8xi32>\n}\n")
        with self.assertRaises(ds.CompileError) as e:
            ds.compile_ir(bad, "sm_90", 132)
        self.assertIn(":2:", str(e.exception))
        self.assertIn("top_p", str(e.exception))

    def test_config_overrides(self):
        ir = ds.spec_ir("label_append", kvHeads=8)
        self.assertIn(b"block 256 1 1", ds.compile_ir(ir, "sm_90", 132).serialize())
        tuned = ds.compile_ir(ir, "sm_90", 132, config="label_append.warps=4").serialize()
        self.assertIn(b"block 128 1 1", tuned)
        with self.assertRaisesRegex(ds.Error, "unknown field 'warp'"):
            ds.compile_ir(ir, "sm_90", 132, config=["label_append.warp=4"])
        with self.assertRaisesRegex(ds.CompileError, "config field 'vector_width' must be 1"):
            ds.compile_ir(ir, "sm_90", 132, config=["label_append.vector_width=4"])
        with self.assertRaisesRegex(ds.CompileError, "has no such op"):
            ds.compile_ir(ir, "sm_90", 132, config="topk.warps=4")
        # Checked before the compile: an op the dialect lacks, a value outside the field's range.
        with self.assertRaisesRegex(ds.Error, "'ds.label_apend' is not an op of the ds dialect"):
            ds.compile_ir(ir, "sm_90", 132, config="label_apend.warps=4")
        with self.assertRaisesRegex(ds.Error, r"warps must be in \[1, 32\], got 64"):
            ds.compile_ir(ir, "sm_90", 132, config="label_append.warps=64")

    def test_size_expressions(self):
        sym = {"q_d0": 8, "page_table_d1": 3}
        self.assertEqual(runtime.evaluate("128", sym), 128)
        self.assertEqual(runtime.evaluate("(page_table_d1)*16", sym), 48)
        self.assertEqual(runtime.evaluate("cdiv(q_d0,3)", sym), 3)
        self.assertEqual(runtime.evaluate("(q_d0)/3+max(1,2)", sym), 4)
        with self.assertRaisesRegex(ds.Error, "uses a symbol no input gives"):
            runtime.evaluate("k_d0", sym)


class Device(unittest.TestCase):
    def test_context_ordinal_is_checked_first(self):
        # Before the driver: 2**32 wrapped to device 0 through the C API's int32.
        for bad in (2**32, 2**32 + 1, -1, "a", 1.0, True, None):
            with self.assertRaisesRegex(ds.Error, "ordinal must be a device number"):
                ds.Context(bad)

    def test_context_without_gpu_says_so(self):
        try:
            ctx = ds.Context(0)
        except (ds.DriverNotFound, ds.NoDevice) as e:
            self.assertTrue(str(e))
            return
        # A GPU: a pipeline loads and its arguments are checked before any launch.
        p = ctx.pipeline("label_append", kvHeads=8)
        self.assertEqual([(a.name, a.role) for a in p.args],
                         [("new_k", "in"), ("channels", "in"), ("slot_mapping", "in"),
                          ("label_cache", "inout")])
        try:
            import torch  # noqa: F401
        except ImportError:
            return
        with self.assertRaisesRegex(ds.Error, "takes 4 tensors"):
            p(1, 2)


if __name__ == "__main__":
    unittest.main()


class FakeTensor:
    """Shape and dtype only (what ds.ops reads to build a spec), without torch."""

    def __init__(self, shape, dtype="torch.bfloat16"):
        self.shape = shape
        self.dtype = dtype


class OpsSpecs(unittest.TestCase):
    def test_spec_from_shapes_compiles(self):
        q = FakeTensor((4, 32, 128))
        k = FakeTensor((100, 16, 8, 128))
        spec = ds.ops.paged_attention_spec(q, k, k=256, labelDim=16, sharedSelection=True,
                                           scale=None)
        self.assertEqual(spec, dict(heads=32, kvHeads=8, headDim=128, pageSize=16, dtype="bf16",
                                    k=256, labelDim=16, sharedSelection=True))
        b = ds.compile_spec("double_sparsity", "sm_90", 132, **spec)
        self.assertEqual(b.args[1].dims[1:], ["16", "8", "128"])

    def test_spec_errors_name_the_argument(self):
        with self.assertRaisesRegex(ds.Error, "'q' must have rank 3"):
            ds.ops.paged_attention_spec(FakeTensor((32, 128)), FakeTensor((1, 16, 8, 128)))
        with self.assertRaisesRegex(ds.Error, "q must be bfloat16 or float16"):
            ds.ops.paged_attention_spec(FakeTensor((1, 32, 128), "torch.float32"),
                                        FakeTensor((1, 16, 8, 128)))
        with self.assertRaisesRegex(ds.Error, "head dim"):
            ds.ops.paged_attention_spec(FakeTensor((1, 32, 128)), FakeTensor((1, 16, 8, 64)))
