// The JIT's spec checking and the compile path, without a GPU: bad specs give an error naming the
// field; a good spec compiles to a bundle whose launch plan the runtime accepts.
#include "codegen/JIT.h"

#include <gtest/gtest.h>

using namespace ds;

namespace {

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
}

TEST(DoubleSparsitySpec, CompilesToABundleWithoutAGpu) {
  jit::DoubleSparsitySpec spec;
  spec.kvHeads = 8;
  spec.sharedSelection = true;
  auto bundle = jit::compileDoubleSparsity(spec);
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

} // namespace
