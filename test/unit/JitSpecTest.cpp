// The JIT's spec checking and the compile path, without a GPU: bad specs give an error naming the
// field; a good spec's IR parses and verifies, and compiles to a bundle whose launch plan the
// runtime accepts.
#include "codegen/Compiler.h"
#include "codegen/JIT.h"
#include "codegen/PlanExpr.h"
#include "passes/ConfigOverride.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringExtras.h"

#include <gtest/gtest.h>

#include <cctype>
#include <limits>

using namespace ds;

namespace {

/// Parses and verifies a spec's IR in the compiler's context; returns the diagnostics ("" when
/// it is valid) and the number of results of its one `opName` op (-1 if there is none).
std::string parseAndVerify(const std::string &ir, llvm::StringRef opName, int &results) {
  auto ctx = mlir::ds::createCompilerContext();
  std::string diagnostics;
  mlir::ScopedDiagnosticHandler handler(ctx.get(), [&](mlir::Diagnostic &d) {
    diagnostics += d.str() + "\n";
    return mlir::success();
  });
  results = -1;
  mlir::OwningOpRef<mlir::ModuleOp> module = mlir::parseSourceString<mlir::ModuleOp>(ir, ctx.get());
  if (!module)
    return "parse failed: " + diagnostics;
  if (mlir::failed(mlir::verify(*module)))
    return "verify failed: " + diagnostics;
  module->walk([&](mlir::Operation *op) {
    if (op->getName().getStringRef() == opName)
      results = static_cast<int>(op->getNumResults());
  });
  return diagnostics;
}

TEST(DoubleSparsitySpecErrors, NameTheField) {
  jit::DoubleSparsitySpec spec;
  spec.kvHeads = 5;
  auto ir = jit::doubleSparsityIR(spec);
  ASSERT_FALSE(ir.ok());
  EXPECT_NE(ir.message().find("'heads'"), std::string::npos) << ir.message();
  spec = {};
  spec.labelDim = 12;
  ir = jit::doubleSparsityIR(spec);
  ASSERT_FALSE(ir.ok());
  EXPECT_NE(ir.message().find("'labelDim'"), std::string::npos) << ir.message();
  spec = {};
  spec.k = 0;
  ir = jit::doubleSparsityIR(spec);
  ASSERT_FALSE(ir.ok());
  EXPECT_NE(ir.message().find("'k'"), std::string::npos) << ir.message();
  // A shared selection's group is unrolled by its kernels: 1024 heads on one kv head compiled
  // for more than ten minutes. 64 is served; per-head selections take any group.
  spec = {};
  spec.heads = 1024;
  spec.kvHeads = 1;
  spec.sharedSelection = true;
  ir = jit::doubleSparsityIR(spec);
  ASSERT_FALSE(ir.ok());
  EXPECT_NE(ir.message().find("at most 64 query heads per kv head, got 1024 / 1"),
            std::string::npos)
      << ir.message();
  spec.heads = 64;
  EXPECT_TRUE(jit::doubleSparsityIR(spec).ok());
  spec.heads = 1024;
  spec.sharedSelection = false;
  EXPECT_TRUE(jit::doubleSparsityIR(spec).ok());
}

TEST(DoubleSparsitySpec, CompilesToABundleWithoutAGpu) {
  jit::DoubleSparsitySpec spec;
  spec.kvHeads = 8;
  spec.sharedSelection = true;
  auto bundle = jit::compileDoubleSparsity(spec, jit::Target{"sm_90", 132});
  ASSERT_TRUE(bundle.ok()) << bundle.message();
  EXPECT_FALSE(bundle->ptx.empty());
  EXPECT_TRUE(bundle->validate().ok());
  // q, k_cache, v_cache, label_cache, channels, page_table, seq_lens; then o and heavy_tokens.
  ASSERT_EQ(bundle->args.size(), 9u);
  EXPECT_EQ(bundle->args[7].role, rt::ArgRole::Out);
  EXPECT_EQ(bundle->args[8].dtype, rt::DType::I32);
  EXPECT_GE(bundle->kernels.size(), 4u);
  // Round trip through the file format.
  auto again = rt::Bundle::parse(bundle->serialize());
  ASSERT_TRUE(again.ok()) << again.message();
  EXPECT_EQ(again->kernels.size(), bundle->kernels.size());
}

TEST(DenseDecodeSpec, BadHeadDimNamesTheField) {
  jit::DenseDecodeSpec spec;
  spec.headDim = 96;
  auto ir = jit::denseDecodeIR(spec);
  ASSERT_FALSE(ir.ok());
  EXPECT_NE(ir.message().find("'headDim'"), std::string::npos) << ir.message();
}

TEST(LinearAttnDecodeSpec, IRParsesAndVerifies) {
  jit::LinearAttnDecodeSpec spec;
  spec.dtype = jit::DataType::F16;
  auto ir = jit::linearAttnDecodeIR(spec);
  ASSERT_TRUE(ir.ok()) << ir.message();
  int results = 0;
  EXPECT_EQ(parseAndVerify(*ir, "ds.linear_attn_decode", results), "") << *ir;
  EXPECT_EQ(results, 2); // o, new_states
}

TEST(LinearAttnPrefillSpec, IRParsesAndVerifies) {
  for (bool keep : {false, true}) {
    jit::LinearAttnPrefillSpec spec;
    spec.heads = 8, spec.keyDim = 64, spec.valueDim = 128, spec.chunkSize = 32;
    spec.keepIntermediate = keep;
    auto ir = jit::linearAttnPrefillIR(spec);
    ASSERT_TRUE(ir.ok()) << ir.message();
    int results = 0;
    EXPECT_EQ(parseAndVerify(*ir, "ds.linear_attn_prefill", results), "") << *ir;
    // o, new_states and, with keepIntermediate, intermediate [T, H, d, e].
    EXPECT_EQ(results, keep ? 3 : 2) << *ir;
    EXPECT_NE(ir->find("chunk_size = 32"), std::string::npos) << *ir;
    EXPECT_EQ(ir->find("keep_intermediate") != std::string::npos, keep) << *ir;
    EXPECT_EQ(ir->find("tensor<?x8x64x128xf32>") != std::string::npos, true) << *ir;
  }
  // The defaults (H = 64, d = e = 128, C = 64, bf16) too.
  auto ir = jit::linearAttnPrefillIR({});
  ASSERT_TRUE(ir.ok()) << ir.message();
  int results = 0;
  EXPECT_EQ(parseAndVerify(*ir, "ds.linear_attn_prefill", results), "") << *ir;
  EXPECT_EQ(results, 2);
}

TEST(LinearAttnPrefillSpecErrors, NameTheField) {
  auto expectNamed = [](const jit::LinearAttnPrefillSpec &spec, const std::string &field) {
    auto ir = jit::linearAttnPrefillIR(spec);
    ASSERT_FALSE(ir.ok()) << field;
    EXPECT_NE(ir.message().find("'" + field + "'"), std::string::npos) << ir.message();
  };
  jit::LinearAttnPrefillSpec spec;
  spec.heads = 0;
  expectNamed(spec, "heads");
  spec = {};
  spec.keyDim = -1;
  expectNamed(spec, "keyDim");
  spec = {};
  spec.valueDim = 0;
  expectNamed(spec, "valueDim");
  spec = {};
  spec.chunkSize = 0;
  expectNamed(spec, "chunkSize");
  // Past the tensor-core kernels' tiles, the recurrent kernel's bounds, by field: a value dim
  // that does not divide 128, a key dim past its state registers (256 at e = 128, 8192 at e = 4).
  spec = {};
  spec.valueDim = 136; // tiled: a multiple of 8
  EXPECT_TRUE(jit::linearAttnPrefillIR(spec).ok());
  spec.keepIntermediate = true; // the recurrent kernel
  expectNamed(spec, "valueDim");
  spec = {};
  spec.chunkSize = 32, spec.valueDim = 12;
  expectNamed(spec, "valueDim");
  spec = {};
  spec.keyDim = 136; // past the tiles: the recurrent kernel holds it at e = 128
  EXPECT_TRUE(jit::linearAttnPrefillIR(spec).ok());
  spec.keyDim = 256;
  EXPECT_TRUE(jit::linearAttnPrefillIR(spec).ok());
  spec.keyDim = 257;
  expectNamed(spec, "keyDim");
  spec.valueDim = 4, spec.keyDim = 8192;
  EXPECT_TRUE(jit::linearAttnPrefillIR(spec).ok());
  spec.keyDim = 8193;
  expectNamed(spec, "keyDim");
}

} // namespace

TEST(JitTarget, UnsupportedChipAndMissingTargetAreRefusedByName) {
  jit::DoubleSparsitySpec spec;
  auto noChip = jit::compileDoubleSparsity(spec, jit::Target{});
  ASSERT_FALSE(noChip.ok());
  EXPECT_NE(noChip.message().find("option 'chip'"), std::string::npos) << noChip.message();
  for (const char *chip : {"sm_75", "sm_85", "sm_91", "sm_80a", "sm_200", "gfx90a"}) {
    auto bad = jit::compileDoubleSparsity(spec, jit::Target{chip, 132});
    ASSERT_FALSE(bad.ok()) << chip;
    EXPECT_NE(bad.message().find(std::string("'") + chip + "' is not supported"), std::string::npos)
        << bad.message();
  }
  auto badSm = jit::compileDoubleSparsity(spec, jit::Target{"sm_90", int64_t(1) << 62});
  ASSERT_FALSE(badSm.ok());
  EXPECT_NE(badSm.message().find("option 'sm-count' must be in [1, 1024]"), std::string::npos)
      << badSm.message();
}

TEST(JitTarget, EverySupportedChipCompiles) {
  // Each chip gets the PTX version it needs (Blackwell: 8.6 / 8.7); the bundle names the chip.
  jit::DoubleSparsitySpec spec;
  for (const char *chip : {"sm_80", "sm_86", "sm_89", "sm_90", "sm_90a", "sm_100", "sm_100a",
                           "sm_120", "sm_120a"}) {
    auto bundle = jit::compileDoubleSparsity(spec, jit::Target{chip, 132});
    ASSERT_TRUE(bundle.ok()) << chip << ": " << bundle.message();
    EXPECT_EQ(bundle->target, chip);
    EXPECT_NE(bundle->ptx.find(std::string(".target ") + chip), std::string::npos) << chip;
  }
}

TEST(PlanExpr, ConstantsFoldAndNeutralOperandsVanish) {
  using mlir::ds::PlanExpr;
  PlanExpr b = PlanExpr::symbol("B"), n = PlanExpr::symbol("(pt_d1)*16");
  EXPECT_EQ(cdiv(PlanExpr(256), 64).text(), "4");
  EXPECT_EQ((PlanExpr(264) / (PlanExpr(4) * 8)).text(), "8");
  EXPECT_EQ(max(1, min(PlanExpr(264), PlanExpr(264) / (b * 32))).text(), "max(1,min(264,264/(B*32)))");
  EXPECT_EQ((b * 1 + 0).text(), "B");
  EXPECT_EQ(cdiv(n, 512).text(), "cdiv((pt_d1)*16,512)");
  EXPECT_EQ((n * 2).text(), "((pt_d1)*16)*2");
  EXPECT_EQ((PlanExpr(5) - b).text(), "5-B");
  EXPECT_EQ(max(b, cdiv(n, 8)).text(), "max(B,cdiv((pt_d1)*16,8))");
  // No fold where the runtime would refuse: division by zero stays an expression.
  EXPECT_EQ(cdiv(PlanExpr(4), 0).text(), "cdiv(4,0)");
  EXPECT_FALSE((PlanExpr(INT64_MAX) + 1).constant());
}

TEST(PlanExpr, GatesFoldForStaticSizes) {
  using mlir::ds::PlanExpr;
  PlanExpr b = PlanExpr::symbol("B");
  EXPECT_EQ(atMostGate(b * 8, 132).text(), "min(max(133-(B*8),0),1)");
  EXPECT_EQ(aboveGate(b, 127).text(), "min(max(B-127,0),1)");
  EXPECT_EQ(atMostGate(PlanExpr(8) * 8, 132).text(), "1");
  EXPECT_EQ(atMostGate(PlanExpr(32) * 8, 132).text(), "0");
  EXPECT_EQ(aboveGate(PlanExpr(65536), 16384).text(), "1");
  EXPECT_EQ(aboveGate(PlanExpr(4096), 16384).text(), "0");
  // A product with a gate that is 0 is 0, whatever the other factors; 1 - gate folds too.
  PlanExpr gate = atMostGate(b * 8, 132) * aboveGate(PlanExpr(4096), 16384);
  EXPECT_EQ(gate.constant(), std::optional<int64_t>(0));
  EXPECT_EQ((PlanExpr(1) - gate).text(), "1");
  EXPECT_EQ((b * 32 * gate).text(), "0");
}

TEST(QuestSpec, BadSpecsNameTheField) {
  jit::QuestSpec spec;
  spec.tokenBudget = 8; // below one page of 16
  auto ir = jit::questIR(spec);
  ASSERT_FALSE(ir.ok());
  EXPECT_NE(ir.message().find("'tokenBudget'"), std::string::npos) << ir.message();
  spec = jit::QuestSpec();
  spec.pageSize = 0;
  ir = jit::questIR(spec);
  ASSERT_FALSE(ir.ok());
  EXPECT_NE(ir.message().find("'pageSize'"), std::string::npos) << ir.message();
  // Past the ops' largest page: named by the spec field, not the compiled op's k_cache dim.
  spec = jit::QuestSpec();
  spec.pageSize = 100000;
  spec.tokenBudget = 200000;
  ir = jit::questIR(spec);
  ASSERT_FALSE(ir.ok());
  EXPECT_NE(ir.message().find("spec field 'pageSize' must be <= 65536, got 100000"), std::string::npos)
      << ir.message();
  jit::DenseDecodeSpec dense;
  dense.pageSize = int64_t(1) << 62;
  auto denseIR = jit::denseDecodeIR(dense);
  ASSERT_FALSE(denseIR.ok());
  EXPECT_NE(denseIR.message().find("'pageSize' must be <= 65536"), std::string::npos) << denseIR.message();
  spec = jit::QuestSpec();
  spec.heads = 128;
  spec.kvHeads = 1;
  spec.sharedSelection = true;
  ir = jit::questIR(spec);
  ASSERT_FALSE(ir.ok());
  EXPECT_NE(ir.message().find("'heads' / 'kvHeads'"), std::string::npos) << ir.message();
}

TEST(QuestSpec, CompilesWithoutAGpu) {
  for (bool shared : {false, true}) {
    jit::QuestSpec spec;
    spec.kvHeads = 8;
    spec.sharedSelection = shared;
    auto ir = jit::questIR(spec);
    ASSERT_TRUE(ir.ok()) << ir.message();
    auto bundle = jit::compileSource(*ir, jit::Target{"sm_90", 132});
    ASSERT_TRUE(bundle.ok()) << bundle.message();
    // q, k_cache, v_cache, kmin, kmax, page_table, seq_lens; then o and selected_pages.
    ASSERT_EQ(bundle->args.size(), 9u);
    EXPECT_EQ(bundle->args[8].dims.back().text(), "128");
  }
  for (bool fromCache : {false, true}) {
    jit::QuestSummarySpec spec;
    spec.fromCache = fromCache;
    auto ir = jit::questSummaryIR(spec);
    ASSERT_TRUE(ir.ok()) << ir.message();
    auto bundle = jit::compileSource(*ir, jit::Target{"sm_90", 132});
    ASSERT_TRUE(bundle.ok()) << bundle.message();
    EXPECT_EQ(bundle->args.back().role, rt::ArgRole::InOut);
  }
}

TEST(VAttentionSpec, BadSpecsNameTheField) {
  jit::VAttentionSpec spec;
  spec.numSamples = 0;
  auto ir = jit::vattentionIR(spec);
  ASSERT_FALSE(ir.ok());
  EXPECT_NE(ir.message().find("'numSamples'"), std::string::npos) << ir.message();
  spec = jit::VAttentionSpec();
  spec.sinks = -1;
  ir = jit::vattentionIR(spec);
  ASSERT_FALSE(ir.ok());
  EXPECT_NE(ir.message().find("'sinks'"), std::string::npos) << ir.message();
  spec = jit::VAttentionSpec();
  spec.k = 10000;
  ir = jit::vattentionIR(spec);
  ASSERT_FALSE(ir.ok());
  EXPECT_NE(ir.message().find("'k'"), std::string::npos) << ir.message();
}

TEST(VAttentionSpec, CompilesWithoutAGpu) {
  for (bool shared : {false, true}) {
    jit::VAttentionSpec spec;
    spec.kvHeads = 8;
    spec.sharedSelection = shared;
    auto ir = jit::vattentionIR(spec);
    ASSERT_TRUE(ir.ok()) << ir.message();
    auto bundle = jit::compileSource(*ir, jit::Target{"sm_90", 132});
    ASSERT_TRUE(bundle.ok()) << bundle.message();
    // q, k_cache, v_cache, label_cache, channels, page_table, seq_lens, philox; then o,
    // selected and log_weights of 64 + 512 + 1024 + 1024 entries per row.
    ASSERT_EQ(bundle->args.size(), 11u);
    EXPECT_EQ(bundle->args[9].dims.back().text(), "2624");
    EXPECT_EQ(bundle->args[9].dims[1].text(), shared ? "8" : "32");
  }
}

TEST(TwilightSpec, BadSpecsNameTheField) {
  jit::TwilightSpec spec;
  spec.topP = 1.5f;
  auto ir = jit::twilightIR(spec);
  ASSERT_FALSE(ir.ok());
  EXPECT_NE(ir.message().find("'topP'"), std::string::npos) << ir.message();
  spec = jit::TwilightSpec();
  spec.candidates = 0;
  ir = jit::twilightIR(spec);
  ASSERT_FALSE(ir.ok());
  EXPECT_NE(ir.message().find("'candidates'"), std::string::npos) << ir.message();
}

TEST(TwilightSpec, CompilesWithoutAGpu) {
  for (bool shared : {false, true}) {
    jit::TwilightSpec spec;
    spec.kvHeads = 8;
    spec.sharedSelection = shared;
    auto ir = jit::twilightIR(spec);
    ASSERT_TRUE(ir.ok()) << ir.message();
    auto bundle = jit::compileSource(*ir, jit::Target{"sm_90", 132});
    ASSERT_TRUE(bundle.ok()) << bundle.message();
    // The DS arguments; then o, kept [B, Hsel, 4096] and kept_counts [B, Hsel].
    ASSERT_EQ(bundle->args.size(), 10u);
    EXPECT_EQ(bundle->args[8].dims.back().text(), "4096");
    EXPECT_EQ(bundle->args[9].dims.size(), 2u);
  }
}

TEST(TwilightSpec, Int4EstimateTakesTheInt4Keys) {
  jit::TwilightSpec spec;
  spec.int4Estimate = true;
  auto ir = jit::twilightIR(spec);
  ASSERT_TRUE(ir.ok()) << ir.message();
  EXPECT_NE(ir->find("ds.int4_score"), std::string::npos);
  auto bundle = jit::compileSource(*ir, jit::Target{"sm_90", 132});
  ASSERT_TRUE(bundle.ok()) << bundle.message();
  // The DS arguments with the int4 records kq [S, 32, 16 + 4] i32 after channels.
  ASSERT_EQ(bundle->args.size(), 11u);
  EXPECT_EQ(bundle->args[5].name, "kq");
  EXPECT_EQ(bundle->args[5].dims.back().text(), "20");
  jit::Int4AppendSpec append;
  append.headDim = 100;
  auto bad = jit::int4AppendIR(append);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("'headDim'"), std::string::npos) << bad.message();
  append.headDim = 128;
  auto a = jit::int4AppendIR(append);
  ASSERT_TRUE(a.ok()) << a.message();
  auto ab = jit::compileSource(*a, jit::Target{"sm_90", 132});
  ASSERT_TRUE(ab.ok()) << ab.message();
  EXPECT_EQ(ab->args[0].role, rt::ArgRole::InOut);
}

TEST(TwilightSpec, QuestCandidates) {
  jit::TwilightSpec spec;
  spec.questCandidates = true;
  auto ir = jit::twilightIR(spec);
  ASSERT_FALSE(ir.ok());
  EXPECT_NE(ir.message().find("'int4Estimate'"), std::string::npos) << ir.message();
  spec.int4Estimate = true, spec.pageSize = 16, spec.candidates = 1000;
  ir = jit::twilightIR(spec);
  ASSERT_FALSE(ir.ok());
  EXPECT_NE(ir.message().find("'candidates'"), std::string::npos) << ir.message();
  for (bool shared : {false, true}) {
    spec.candidates = 4096, spec.kvHeads = 8, spec.sharedSelection = shared;
    ir = jit::twilightIR(spec);
    ASSERT_TRUE(ir.ok()) << ir.message();
    EXPECT_NE(ir->find("ds.expand_pages"), std::string::npos);
    auto bundle = jit::compileSource(*ir, jit::Target{"sm_90", 132});
    ASSERT_TRUE(bundle.ok()) << bundle.message();
    // q, k_cache, v_cache, kmin, kmax, kq, page_table, seq_lens; o, kept, kept_counts.
    ASSERT_EQ(bundle->args.size(), 11u);
    EXPECT_EQ(bundle->args[3].name, "kmin");
    EXPECT_EQ(bundle->args[5].name, "kq");
    EXPECT_EQ(bundle->args[9].dims[1].text(), shared ? "8" : "32");
    EXPECT_EQ(bundle->args[9].dims[2].text(), "4096");
  }
}

TEST(SpecErrors, SelectionSizesPastTheTopKLimitNameTheField) {
  // Found by fuzzing: these reached the compile and failed there naming 'ds.topk' or a config
  // field the caller never set.
  jit::QuestSpec quest;
  quest.pageSize = 32;
  quest.tokenBudget = int64_t(1) << 40;
  auto ir = jit::questIR(quest);
  ASSERT_FALSE(ir.ok());
  EXPECT_NE(ir.message().find("spec field 'tokenBudget' must be <= 2^30"), std::string::npos)
      << ir.message();
  jit::TwilightSpec twilight;
  twilight.candidates = int64_t(1) << 31;
  ir = jit::twilightIR(twilight);
  ASSERT_FALSE(ir.ok());
  EXPECT_NE(ir.message().find("spec field 'candidates' must be <= 2^30"), std::string::npos)
      << ir.message();
}

// Inputs that crashed the C API or answered without naming the field (a fuzzing run through
// libds.so, session 28): each is now an error that names what is wrong.
TEST(SpecErrors, NonFiniteHugeAndMisnamedFieldsAreNamed) {
  auto expectNamed = [](const auto &ir, const std::string &field) {
    ASSERT_FALSE(ir.ok()) << field;
    EXPECT_NE(ir.message().find("'" + field + "'"), std::string::npos) << ir.message();
  };
  jit::DoubleSparsitySpec ds;
  ds.scale = std::numeric_limits<float>::quiet_NaN();
  expectNamed(jit::doubleSparsityIR(ds), "scale");
  ds = {};
  ds.softCap = std::numeric_limits<float>::infinity();
  expectNamed(jit::doubleSparsityIR(ds), "softCap");
  jit::DenseDecodeSpec dense;
  dense.scale = -std::numeric_limits<float>::infinity();
  expectNamed(jit::denseDecodeIR(dense), "scale");
  jit::VAttentionSpec va;
  va.window = std::numeric_limits<int64_t>::max(); // overflowed the selection's dim before
  expectNamed(jit::vattentionIR(va), "window");
  jit::LinearAttnDecodeSpec lad;
  lad.heads = int64_t(1) << 62; // overflowed the launch plan before ("internal error")
  expectNamed(jit::linearAttnDecodeIR(lad), "heads");
  jit::LinearAttnPrefillSpec lap;
  lap.heads = int64_t(1) << 62;
  expectNamed(jit::linearAttnPrefillIR(lap), "heads");
  jit::Int4AppendSpec i4;
  i4.kvHeads = 0; // was reported as field 'heads'
  expectNamed(jit::int4AppendIR(i4), "kvHeads");
  // Limits the compiler enforced only as a compile error naming the op.
  ds = {};
  ds.heads = ds.kvHeads = 2048;
  expectNamed(jit::doubleSparsityIR(ds), "heads");
  ds = {};
  ds.k = (int64_t(1) << 30) + 1;
  expectNamed(jit::doubleSparsityIR(ds), "k");
}

mlir::ds::CompileOptions sm90() {
  mlir::ds::CompileOptions options;
  options.chip = "sm_90";
  options.smCount = 132;
  options.cubin = false;
  return options;
}

// Deeply nested text overflowed MLIR's recursive parser (SIGSEGV): refused before parsing.
TEST(CompileSource, DeepNestingIsRefusedNotACrash) {
  std::string modules;
  for (int i = 0; i < 5000; ++i)
    modules += "module {";
  modules += std::string(5000, '}');
  auto bundle = mlir::ds::compileSourceToBundle(modules, sm90(), "");
  ASSERT_FALSE(bundle.ok());
  EXPECT_NE(bundle.message().find("nests more than 256"), std::string::npos) << bundle.message();
  const std::string list = "module attributes {x = " + std::string(20000, '[') +
                           std::string(20000, ']') + "} {}";
  bundle = mlir::ds::compileSourceToBundle(list, sm90(), "");
  ASSERT_FALSE(bundle.ok());
  EXPECT_NE(bundle.message().find("nests more than 256"), std::string::npos) << bundle.message();
  // Brackets inside a string or a comment, and the '>' of '->', do not count.
  EXPECT_FALSE(mlir::ds::compileSourceToBundle("// " + std::string(1000, '{') + "\nmodule {}",
                                               sm90(), "")
                   .message()
                   .find("nests more than") != std::string::npos);
}

// A key dim that overflowed the recurrent kernel's register check (and then its allocation,
// SIGABRT) is refused; so is a value dim whose config choice divided by zero (SIGFPE).
TEST(CompileSource, HugeOrTinyLinearAttentionDimsAreRefused) {
  // The spec refuses these key dims (by field); IR text need not: d = 24 -> the dim.
  jit::LinearAttnPrefillSpec prefill;
  prefill.heads = 3, prefill.keyDim = 24;
  auto prefillIR = jit::linearAttnPrefillIR(prefill);
  ASSERT_TRUE(prefillIR.ok()) << prefillIR.message();
  auto withKeyDim = [&](const std::string &d) {
    std::string text = *prefillIR;
    for (size_t at; (at = text.find("x3x24x")) != std::string::npos;)
      text.replace(at, 6, "x3x" + d + "x");
    return text;
  };
  auto bundle = mlir::ds::compileSourceToBundle(
      withKeyDim(std::to_string(std::numeric_limits<int64_t>::max())), sm90(), "");
  ASSERT_FALSE(bundle.ok());
  EXPECT_NE(bundle.message().find("(key dim) must be at most 65536"), std::string::npos)
      << bundle.message();
  // within the verifier's bound: the recurrent kernel's register check
  bundle = mlir::ds::compileSourceToBundle(withKeyDim("65536"), sm90(), "");
  ASSERT_FALSE(bundle.ok());
  EXPECT_NE(bundle.message().find("state values per thread"), std::string::npos)
      << bundle.message();
  jit::LinearAttnDecodeSpec decode;
  decode.keyDim = 64; // q, k [?, 64, 64], v [?, 64, 128], states [?, 64, 64, 128]
  auto dir = jit::linearAttnDecodeIR(decode);
  ASSERT_TRUE(dir.ok()) << dir.message();
  std::string src = *dir; // the value dim 128 -> 1 (the spec refuses it, IR text need not)
  auto replaceAll = [&](const std::string &from, const std::string &to) {
    for (size_t at; (at = src.find(from)) != std::string::npos;)
      src.replace(at, from.size(), to);
  };
  replaceAll("x64x128xbf16>", "x64x1xbf16>");
  replaceAll("x64x64x128xf32>", "x64x64x1xf32>");
  bundle = mlir::ds::compileSourceToBundle(src, sm90(), "");
  ASSERT_FALSE(bundle.ok());
  EXPECT_NE(bundle.message().find("value dims 4 to 128"), std::string::npos) << bundle.message();
}

// The spec's prefill checks draw the compiler's line: on each side of every bound, the spec and
// the compiler (given the same IR, written from a valid spec) agree.
TEST(LinearAttnPrefillSpec, ChecksMatchTheCompiler) {
  struct Case { int64_t d, e, chunk; bool keep, ok; };
  for (const Case &c : {Case{256, 128, 64, false, true}, Case{257, 128, 64, false, false},
                        Case{136, 136, 64, false, false}, Case{128, 136, 64, false, true},
                        Case{8192, 4, 32, false, true}, Case{8193, 4, 32, false, false},
                        Case{64, 24, 64, true, false}, Case{64, 32, 64, true, true},
                        Case{128, 12, 32, false, false}, Case{512, 64, 64, false, true},
                        Case{513, 64, 64, false, false}}) {
    jit::LinearAttnPrefillSpec spec;
    spec.heads = 3, spec.keyDim = c.d, spec.valueDim = c.e, spec.chunkSize = c.chunk;
    spec.keepIntermediate = c.keep;
    auto checked = jit::linearAttnPrefillIR(spec);
    EXPECT_EQ(checked.ok(), c.ok) << c.d << " " << c.e << ": " << checked.message();
    spec.keyDim = 24, spec.valueDim = 32;
    auto ir = jit::linearAttnPrefillIR(spec);
    ASSERT_TRUE(ir.ok()) << ir.message();
    std::string text = *ir;
    const std::string d = std::to_string(c.d), e = std::to_string(c.e);
    auto replaceAll = [&](const std::string &from, const std::string &to) {
      for (size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size())
        text.replace(at, from.size(), to);
    };
    replaceAll("x3x24x32xf32", "x3x" + d + "x" + e + "xf32");
    replaceAll("x3x24x", "x3x" + d + "x");
    replaceAll("x3x32x", "x3x" + e + "x");
    if (c.ok)
      EXPECT_EQ(text, *checked);
    auto bundle = mlir::ds::compileSourceToBundle(text, sm90(), "");
    EXPECT_EQ(bundle.ok(), c.ok) << c.d << " " << c.e << ": " << bundle.message();
  }
}

// An empty module, or a function name the module does not have, is named as such before the
// pipeline runs (it read "no compiled function (ds.plan)").
TEST(CompileSource, NothingToCompileOrAWrongNameIsNamed) {
  auto bundle = mlir::ds::compileSourceToBundle("module {}", sm90(), "");
  ASSERT_FALSE(bundle.ok());
  EXPECT_NE(bundle.message().find("holds no function to compile"), std::string::npos)
      << bundle.message();
  bundle = mlir::ds::compileSourceToBundle("func.func private @decl(%x: i32)", sm90(), "");
  ASSERT_FALSE(bundle.ok());
  EXPECT_NE(bundle.message().find("holds no function to compile"), std::string::npos)
      << bundle.message();
  jit::LinearAttnDecodeSpec decode;
  auto ir = jit::linearAttnDecodeIR(decode);
  ASSERT_TRUE(ir.ok()) << ir.message();
  bundle = mlir::ds::compileSourceToBundle(*ir, sm90(), "decdoe");
  ASSERT_FALSE(bundle.ok());
  EXPECT_NE(bundle.message().find("no function named 'decdoe' in the module (it has: "),
            std::string::npos)
      << bundle.message();
}

namespace {
TEST(ConfigOverrides, ChangeTheKernelsAndTheCacheKey) {
  auto ir = jit::questIR(jit::QuestSpec{});
  ASSERT_TRUE(ir.ok()) << ir.message();
  jit::Target chosen{"sm_90", 132};
  jit::Target tuned = chosen;
  tuned.configOverrides = {"sparse_decode.warps=4", "decode_merge.warps=2"};
  EXPECT_NE(chosen.key(), tuned.key());
  auto a = jit::compileSource(*ir, chosen);
  auto b = jit::compileSource(*ir, tuned);
  ASSERT_TRUE(a.ok()) << a.message();
  ASSERT_TRUE(b.ok()) << b.message();
  ASSERT_EQ(a->kernels.size(), b->kernels.size());
  auto blockOf = [](const rt::Bundle &bundle, llvm::StringRef part) {
    for (const rt::KernelSpec &k : bundle.kernels)
      if (llvm::StringRef(k.name).contains(part))
        return k.block[0].text();
    return std::string("none");
  };
  EXPECT_EQ(blockOf(*a, "decode_partial"), "256");
  EXPECT_EQ(blockOf(*b, "decode_partial"), "128");
  EXPECT_EQ(blockOf(*b, "decode_merge"), "64");
  // An override the family cannot build fails the compile, naming the field.
  jit::Target bad = chosen;
  bad.configOverrides = {"topk.warps=3"};
  auto c = jit::compileSource(*ir, bad);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.message().find("config field 'warps'"), std::string::npos) << c.message();
}

// What the tools check before they compile or open a device: the syntax, the field, that the op
// is one of the dialect's, and an integer value inside the attribute's range.
TEST(ConfigOverrides, CheckedBeforeAnyCompile) {
  using mlir::ds::configOverridesError;
  EXPECT_FALSE(configOverridesError({}));
  EXPECT_FALSE(configOverridesError({"topp.warps=16", "ds.sparse_decode.splits=4",
                                     "linear_attn_prefill.variant=chunked", "topk.occupancy=0"}));
  auto errorOf = [](const std::string &o) {
    std::optional<std::string> e = configOverridesError({"topp.warps=8", o});
    return e ? *e : std::string("(accepted)");
  };
  EXPECT_EQ(errorOf("topp.wraps=8"), "config override 'topp.wraps=8': unknown field 'wraps' (the "
                                     "fields: block_tokens, warps, splits, stages, vector_width, "
                                     "variant, occupancy, heads, cluster_warps, cluster_stages)");
  EXPECT_EQ(errorOf("topq.warps=8"),
            "config override 'topq.warps=8': 'ds.topq' is not an op of the ds dialect");
  EXPECT_EQ(errorOf("topp.warps=33"),
            "config override 'topp.warps=33': kernel_config: warps must be in [1, 32], got 33");
  EXPECT_EQ(errorOf("decode_merge.vector_width=6"),
            "config override 'decode_merge.vector_width=6': kernel_config: vector_width must be "
            "a power of two in [1, 32], got 6");
  EXPECT_EQ(errorOf("topk.occupancy=-1"),
            "config override 'topk.occupancy=-1': kernel_config: occupancy must be in [0, 32], got -1");
  EXPECT_EQ(errorOf("topk.cluster_warps=9223372036854775807"),
            "config override 'topk.cluster_warps=9223372036854775807': kernel_config: "
            "cluster_warps must be in [0, 32], got 9223372036854775807");
  // A value the attribute accepts but a family cannot build is the compile's to refuse.
  EXPECT_EQ(errorOf("topk.warps=3"), "(accepted)");
}

// verifySource parses and verifies: a spec's IR passes; an op's verifier failure and a syntax
// error come back with their locations.
TEST(VerifySource, ParsesAndVerifiesOnly) {
  auto ir = jit::questIR(jit::QuestSpec{});
  ASSERT_TRUE(ir.ok()) << ir.message();
  EXPECT_TRUE(mlir::ds::verifySource(*ir, "quest.mlir").ok());
  const std::string bad = "func.func @t(%s: tensor<?x4x?xf32>, %l: tensor<?xi32>) -> "
                          "tensor<?x4x8xi32> {\n  %i = ds.topk %s, %l {k = 0 : i64} : "
                          "(tensor<?x4x?xf32>, tensor<?xi32>) -> tensor<?x4x8xi32>\n  return %i : "
                          "tensor<?x4x8xi32>\n}\n";
  rt::Status st = mlir::ds::verifySource(bad, "bad.mlir");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("bad.mlir:2:"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("error:"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("cannot parse or verify bad.mlir"), std::string::npos) << st.message();
  rt::Status syntax = mlir::ds::verifySource("func.func @t( {", "syntax.mlir");
  ASSERT_FALSE(syntax.ok());
  EXPECT_NE(syntax.message().find("syntax.mlir:1:"), std::string::npos) << syntax.message();
}

// With config overrides, verifySource also checks that the function has each override's op as
// the config pass sees it: Double Sparsity's label_score and topk are one score_topk there, and
// the decode's split partial and merge count as the decode's.
TEST(VerifySource, OverridesNameOpsOfTheFusedFunction) {
  auto ir = jit::doubleSparsityIR(jit::DoubleSparsitySpec{});
  ASSERT_TRUE(ir.ok()) << ir.message();
  EXPECT_TRUE(mlir::ds::verifySource(*ir, "ds.mlir", {"score_topk.warps=16"}).ok());
  EXPECT_TRUE(mlir::ds::verifySource(*ir, "ds.mlir", {"decode_merge.warps=4"}).ok());
  rt::Status st = mlir::ds::verifySource(*ir, "ds.mlir", {"score_topk.warps=16", "topk.warps=8"});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("ds.mlir:1:1: error: ds-select-kernel-config: config override of "
                              "'ds.topk': the function has no such op (it has: ds.score_topk, "
                              "ds.sparse_decode)"),
            std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("config overrides do not match ds.mlir"), std::string::npos)
      << st.message();
}
} // namespace

namespace {
/// Runs ds-to-ptx up to the lowered kernels with `overrides`; diagnostics are swallowed.
bool lowersWith(mlir::MLIRContext &ctx, const std::string &ir,
                const std::vector<std::string> &overrides, std::string *firstError = nullptr) {
  std::string error;
  mlir::ScopedDiagnosticHandler handler(&ctx, [&](mlir::Diagnostic &d) {
    if (error.empty())
      error = d.str();
    return mlir::success();
  });
  mlir::OwningOpRef<mlir::ModuleOp> module = mlir::parseSourceString<mlir::ModuleOp>(ir, &ctx);
  if (!module)
    return false;
  mlir::PassManager pm(&ctx);
  mlir::ds::CompileOptions options;
  options.chip = "sm_90";
  options.smCount = 132;
  options.stopAfterLowering = true;
  options.configOverrides = overrides;
  mlir::ds::buildDSToPTXPipeline(pm, options);
  const bool ok = mlir::succeeded(pm.run(*module));
  if (firstError)
    *firstError = error;
  if (ok) {
    // A plan's size expressions hold no negative literal: one is a constant that wrapped around.
    std::string text;
    llvm::raw_string_ostream os(text);
    module->print(os);
    for (size_t at = text.find("ds.plan"); at < text.size(); ++at)
      if ((text[at] == '(' || text[at] == ',') && text.compare(at + 1, 1, "-") == 0 &&
          at + 2 < text.size() && std::isdigit(static_cast<unsigned char>(text[at + 2])))
        ADD_FAILURE() << "a negative constant in the plan with " << llvm::join(overrides, ",")
                      << ": ..." << text.substr(at > 60 ? at - 60 : 0, 120) << "...";
  }
  return ok;
}

// Every field of every op of every family, overridden with values outside what any kernel
// builds: an error each time (or a config that builds), never a crash (a fuzzer found builders
// sizing arrays by an unchecked `stages = -1` and dividing by `vector_width = 0`, and plans whose
// constants had wrapped around from `splits` or `block_tokens` = 2^63 - 1).
TEST(ConfigOverrides, ExtremeValuesAreErrorsNotCrashes) {
  std::vector<std::string> irs;
  for (auto ir : {jit::doubleSparsityIR({}), jit::questIR({}), jit::vattentionIR({}),
                  jit::twilightIR({}), jit::linearAttnPrefillIR({}), jit::linearAttnDecodeIR({}),
                  jit::labelAppendIR({}), jit::questSummaryIR({}), jit::int4AppendIR({})}) {
    ASSERT_TRUE(ir.ok()) << ir.message();
    irs.push_back(*ir);
  }
  const std::vector<std::string> ops = {
      "label_gather", "label_append", "label_score", "page_summary", "page_summary_append",
      "page_score", "topk", "score_topk", "page_score_topk", "topp", "sample_residual",
      "expand_pages", "int4_append", "int4_score", "sparse_decode", "dense_decode",
      "decode_partial", "decode_merge", "linear_attn_prefill", "linear_attn_decode"};
  const std::vector<std::string> fields = {"block_tokens", "warps", "splits", "stages",
                                           "vector_width", "occupancy", "heads", "cluster_warps",
                                           "cluster_stages"};
  const std::vector<std::string> values = {"0", "-1", "3", "16777216", "9223372036854775807",
                                           "-9223372036854775808"};
  auto ctx = mlir::ds::createCompilerContext();
  int opsSeen = 0, refused = 0, built = 0;
  for (const std::string &ir : irs) {
    ASSERT_TRUE(lowersWith(*ctx, ir, {}));
    for (const std::string &op : ops) {
      std::string error;
      // An op the pipeline does not have is named as such; skip it.
      if (!lowersWith(*ctx, ir, {op + ".variant=x"}, &error) &&
          error.find("has no such op") != std::string::npos)
        continue;
      ++opsSeen;
      for (const std::string &field : fields)
        for (const std::string &value : values)
          (lowersWith(*ctx, ir, {op + "." + field + "=" + value}) ? built : refused)++;
    }
  }
  EXPECT_GE(opsSeen, 20);
  EXPECT_GT(refused, 0);
  EXPECT_GT(built, 0); // e.g. `heads = 0` where unused, `stages = 3` where several are built
}
} // namespace
