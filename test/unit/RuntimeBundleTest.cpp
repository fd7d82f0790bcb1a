// Bundle construction through the struct API, serialization and round trips.
#include "runtime/Bundle.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <unistd.h>

using namespace ds::rt;

namespace {

Expr ex(const Bundle &b, const char *text) {
  auto e = b.expr(text);
  EXPECT_TRUE(e.ok()) << e.message();
  return e.ok() ? *e : Expr();
}

// The label_append pipeline, built as the compiler would.
Bundle makeBundle() {
  Bundle b;
  b.target = "sm_90a";
  EXPECT_TRUE(b.addArgDimSymbol("T", 0, 0).ok());
  EXPECT_TRUE(b.addArgDimSymbol("Hkv", 0, 1).ok());
  EXPECT_TRUE(b.addArgDimSymbol("d", 0, 2).ok());
  EXPECT_TRUE(b.addArgDimSymbol("r", 1, 1).ok());
  EXPECT_TRUE(b.addArgDimSymbol("S", 3, 1).ok());
  EXPECT_TRUE(b.addExprSymbol("NT", "cdiv(T*Hkv*r, 128)").ok());
  b.args.push_back({"new_k", ArgRole::In, DType::BF16, {ex(b, "T"), ex(b, "Hkv"), ex(b, "d")}});
  b.args.push_back({"channels", ArgRole::In, DType::I32, {ex(b, "Hkv"), ex(b, "r")}});
  b.args.push_back({"slot_mapping", ArgRole::In, DType::I32, {ex(b, "T")}});
  b.args.push_back({"label_cache", ArgRole::InOut, DType::BF16, {ex(b, "Hkv"), ex(b, "S"), ex(b, "r")}});
  b.workspace = ex(b, "4 * NT");
  b.ptx = ".version 7.0\n.target sm_75\n";
  KernelSpec k;
  k.name = "label_append";
  k.grid = {ex(b, "NT"), Expr(1), Expr(1)};
  k.block = {Expr(128), Expr(1), Expr(1)};
  k.smem = Expr(0);
  for (int i = 0; i < 4; ++i)
    k.params.push_back(Param::argPtr(i));
  for (const char *s : {"T", "Hkv", "d", "r", "S"})
    k.params.push_back(Param::i64(ex(b, s)));
  k.params.push_back(Param::wsPtr(ex(b, "2*NT")));
  k.params.push_back(Param::i32(Expr(-3)));
  k.params.push_back(Param::f32Value(0.1f));
  b.kernels.push_back(k);
  return b;
}

void expectSameBundle(const Bundle &a, const Bundle &b) {
  EXPECT_EQ(a.target, b.target);
  ASSERT_EQ(a.symbols.size(), b.symbols.size());
  for (size_t i = 0; i < a.symbols.size(); ++i) {
    EXPECT_EQ(a.symbols[i].name, b.symbols[i].name);
    EXPECT_EQ(a.symbols[i].kind, b.symbols[i].kind);
    if (a.symbols[i].kind == Symbol::Kind::ArgDim) {
      EXPECT_EQ(a.symbols[i].arg, b.symbols[i].arg);
      EXPECT_EQ(a.symbols[i].dim, b.symbols[i].dim);
    } else {
      EXPECT_TRUE(a.symbols[i].expr == b.symbols[i].expr);
    }
  }
  ASSERT_EQ(a.args.size(), b.args.size());
  for (size_t i = 0; i < a.args.size(); ++i) {
    EXPECT_EQ(a.args[i].name, b.args[i].name);
    EXPECT_EQ(a.args[i].role, b.args[i].role);
    EXPECT_EQ(a.args[i].dtype, b.args[i].dtype);
    EXPECT_TRUE(a.args[i].dims == b.args[i].dims);
  }
  EXPECT_TRUE(a.workspace == b.workspace);
  EXPECT_EQ(a.ptx, b.ptx);
  EXPECT_EQ(a.cubin, b.cubin);
  ASSERT_EQ(a.kernels.size(), b.kernels.size());
  for (size_t k = 0; k < a.kernels.size(); ++k) {
    const KernelSpec &x = a.kernels[k], &y = b.kernels[k];
    EXPECT_EQ(x.name, y.name);
    EXPECT_TRUE(x.grid == y.grid);
    EXPECT_TRUE(x.block == y.block);
    EXPECT_TRUE(x.smem == y.smem);
    EXPECT_EQ(x.programmatic, y.programmatic);
    ASSERT_EQ(x.params.size(), y.params.size());
    for (size_t p = 0; p < x.params.size(); ++p) {
      EXPECT_EQ(x.params[p].kind, y.params[p].kind);
      EXPECT_EQ(x.params[p].arg, y.params[p].arg);
      EXPECT_TRUE(x.params[p].value == y.params[p].value);
      EXPECT_EQ(std::memcmp(&x.params[p].f32, &y.params[p].f32, 4), 0) << x.params[p].f32;
    }
  }
}

} // namespace

TEST(RuntimeBundle, BuildValidateSerialize) {
  Bundle b = makeBundle();
  ASSERT_TRUE(b.validate().ok()) << b.validate().message();
  std::string text = b.serialize();
  EXPECT_EQ(text.compare(0, 11, "dsbundle 1\n"), 0);
  EXPECT_NE(text.find("target sm_90a\n"), std::string::npos);
  EXPECT_NE(text.find("symbol S arg 3 dim 1\n"), std::string::npos);
  EXPECT_NE(text.find("symbol NT expr cdiv(T*Hkv*r,128)\n"), std::string::npos);
  EXPECT_NE(text.find("arg label_cache inout bf16 Hkv S r\n"), std::string::npos);
  EXPECT_NE(text.find("workspace 4*NT\n"), std::string::npos);
  EXPECT_NE(text.find("image ptx " + std::to_string(b.ptx.size()) + "\n" + b.ptx + "\nkernel"), std::string::npos);
  EXPECT_NE(text.find("kernel label_append\n  grid NT 1 1\n  block 128 1 1\n  smem 0\n"), std::string::npos);
  EXPECT_NE(text.find("  param ptr arg 3\n"), std::string::npos);
  EXPECT_NE(text.find("  param ptr ws 2*NT\n"), std::string::npos);
  EXPECT_NE(text.find("  param i32 -3\n"), std::string::npos);
  EXPECT_NE(text.find("  param f32 0.1\nend\n"), std::string::npos);

  auto back = Bundle::parse(text);
  ASSERT_TRUE(back.ok()) << back.message();
  expectSameBundle(b, *back);
  EXPECT_EQ(back->serialize(), text);
}

TEST(RuntimeBundle, ProgrammaticLaunchRoundTrips) {
  Bundle b = makeBundle();
  EXPECT_EQ(b.serialize().find("programmatic"), std::string::npos); // off by default
  KernelSpec second = b.kernels[0];
  second.name = "label_append_2";
  second.programmatic = true;
  b.kernels.push_back(second);
  ASSERT_TRUE(b.validate().ok()) << b.validate().message();
  std::string text = b.serialize();
  EXPECT_NE(text.find("kernel label_append_2\n  grid NT 1 1\n  block 128 1 1\n  smem 0\n"
                      "  programmatic\n  param ptr arg 0\n"),
            std::string::npos);
  auto back = Bundle::parse(text);
  ASSERT_TRUE(back.ok()) << back.message();
  ASSERT_EQ(back->kernels.size(), 2u);
  EXPECT_FALSE(back->kernels[0].programmatic);
  EXPECT_TRUE(back->kernels[1].programmatic);
  expectSameBundle(b, *back);
  EXPECT_EQ(back->serialize(), text);
}

TEST(RuntimeBundle, BinaryImagesRoundTrip) {
  Bundle b = makeBundle();
  std::string bin;
  for (int i = 0; i < 1024; ++i)
    bin.push_back(char(i * 37 + (i >> 3)));
  static const char tricky[] = "\0\0\n\nend\nkernel x\n# not a comment\r\n\n";
  bin += std::string(tricky, sizeof(tricky) - 1);
  b.cubin = bin;
  static const char lookalike[] = "\n\nimage ptx 5\nend\n\0tail\n"; // payload that looks like bundle text
  b.ptx = std::string(lookalike, sizeof(lookalike) - 1);
  std::string text = b.serialize();
  auto back = Bundle::parse(text);
  ASSERT_TRUE(back.ok()) << back.message();
  EXPECT_EQ(back->cubin, bin);
  EXPECT_EQ(back->ptx, b.ptx);
  expectSameBundle(b, *back);
}

TEST(RuntimeBundle, FloatParamsRoundTripExactly) {
  Bundle b = makeBundle();
  const float values[] = {0.0f, -0.0f, 1.0f / 3.0f, 0.1f, -2.5e-38f, 1.17549435e-38f, 1.4e-45f,
                          std::numeric_limits<float>::max(), std::numeric_limits<float>::lowest(),
                          std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                          0.08838834764831845f /* 1/sqrt(128) */};
  for (float f : values)
    b.kernels[0].params.push_back(Param::f32Value(f));
  auto back = Bundle::parse(b.serialize());
  ASSERT_TRUE(back.ok()) << back.message();
  expectSameBundle(b, *back);
  b.kernels[0].params.push_back(Param::f32Value(std::numeric_limits<float>::quiet_NaN()));
  back = Bundle::parse(b.serialize());
  ASSERT_TRUE(back.ok()) << back.message();
  EXPECT_TRUE(std::isnan(back->kernels[0].params.back().f32));
}

TEST(RuntimeBundle, HandWrittenTextWithCommentsAndBlankLines) {
  const char *text = "dsbundle 1   # magic\r\n"
                     "\n"
                     "   # a comment line\n"
                     "target sm_90\n"
                     "symbol B arg 0 dim 0          # runtime sizes\n"
                     "symbol T arg 1 dim 0\n"
                     "symbol NT expr cdiv(T, 128)\n"
                     "arg q in bf16 B 32 128\n"
                     "arg k in f16 T 32\n"
                     "arg out out f32 B\n"
                     "workspace 4*B*32 * cdiv(T,128)\n"
                     "image ptx 3\n"
                     "abc\n"
                     "kernel first\n"
                     "  grid cdiv(T,4) B 1\n"
                     "  block 128 1 1\n"
                     "  param ptr arg 2\n"
                     "  param i64 T*8*128\n"
                     "end\n"
                     "kernel second\n"
                     "  block 32 4 1\n"
                     "  smem 1024*NT\n"
                     "  grid 1 1 1\n"
                     "end\n";
  auto b = Bundle::parse(text);
  ASSERT_TRUE(b.ok()) << b.message();
  EXPECT_EQ(b->target, "sm_90");
  ASSERT_EQ(b->symbols.size(), 3u);
  EXPECT_EQ(b->symbols[2].expr.text(), "cdiv(T,128)");
  ASSERT_EQ(b->args.size(), 3u);
  EXPECT_EQ(b->args[1].dtype, DType::F16);
  EXPECT_EQ(b->args[2].role, ArgRole::Out);
  EXPECT_EQ(b->workspace.text(), "4*B*32*cdiv(T,128)");
  EXPECT_EQ(b->ptx, "abc");
  EXPECT_TRUE(b->cubin.empty());
  ASSERT_EQ(b->kernels.size(), 2u);
  EXPECT_EQ(b->kernels[0].smem.constantValue(), 0); // default
  EXPECT_EQ(b->kernels[0].grid[1].text(), "B");
  EXPECT_EQ(b->kernels[1].block[1].constantValue(), 4);
  EXPECT_EQ(b->kernels[1].smem.text(), "1024*NT");
  EXPECT_EQ(b->argIndex("out"), 2);
  EXPECT_EQ(b->symbolIndex("NT"), 2);
  EXPECT_EQ(b->symbolIndex("nope"), -1);
}

TEST(RuntimeBundle, FileRoundTrip) {
  Bundle b = makeBundle();
  b.cubin = std::string("\x7f" "ELF\0\1\2\n", 8);
  char path[] = "/tmp/ds-bundle-test-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  ASSERT_TRUE(b.writeFile(path).ok());
  auto back = Bundle::readFile(path);
  std::remove(path);
  ASSERT_TRUE(back.ok()) << back.message();
  expectSameBundle(b, *back);

  auto missing = Bundle::readFile("/nonexistent/x.dsb");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::IO);
  EXPECT_NE(missing.message().find("/nonexistent/x.dsb"), std::string::npos);
}

TEST(RuntimeBundle, BuilderErrors) {
  Bundle b = makeBundle();
  EXPECT_FALSE(b.addArgDimSymbol("T", 0, 0).ok());            // duplicate
  EXPECT_FALSE(b.addArgDimSymbol("max", 0, 0).ok());          // reserved
  EXPECT_FALSE(b.addExprSymbol("Y", "Z+1").ok());             // unknown symbol
  EXPECT_NE(b.expr("Q*2").message().find("unknown symbol 'Q'"), std::string::npos);

  Bundle bad = makeBundle();
  bad.kernels[0].params[0] = Param::argPtr(7);
  EXPECT_NE(bad.validate().message().find("points to argument 7"), std::string::npos) << bad.validate().message();
  EXPECT_FALSE(bad.writeFile("/tmp/never-written.dsb").ok());
  bad = makeBundle();
  bad.symbols[4].dim = 5;
  EXPECT_NE(bad.validate().message().find("symbol 'S' reads dim 5"), std::string::npos) << bad.validate().message();
  bad = makeBundle();
  bad.target = "hopper";
  EXPECT_NE(bad.validate().message().find("bad target 'hopper'"), std::string::npos);
  bad = makeBundle();
  bad.args[1].name = "new_k";
  EXPECT_NE(bad.validate().message().find("duplicate argument 'new_k'"), std::string::npos);
  bad = makeBundle();
  bad.args[0].dims.resize(9, Expr(1));
  EXPECT_NE(bad.validate().message().find("rank 9"), std::string::npos);
  bad = makeBundle();
  bad.kernels[0].params.resize(129, Param::i64(Expr(0)));
  EXPECT_NE(bad.validate().message().find("129 params"), std::string::npos);
  // A symbol expression may only use earlier symbols.
  bad = makeBundle();
  std::swap(bad.symbols[0], bad.symbols[5]);
  EXPECT_NE(bad.validate().message().find("not declared before it"), std::string::npos) << bad.validate().message();
}

TEST(RuntimeBundle, DTypes) {
  EXPECT_EQ(dtypeBytes(DType::BF16), 2u);
  EXPECT_EQ(dtypeBytes(DType::I64), 8u);
  EXPECT_EQ(dtypeBytes(DType::U8), 1u);
  for (const char *n : {"bf16", "f16", "f32", "i32", "i64", "i8", "u8"})
    EXPECT_EQ(dtypeName(*parseDType(n)), std::string(n));
  EXPECT_FALSE(parseDType("f64").has_value());
  EXPECT_EQ(*parseArgRole("inout"), ArgRole::InOut);
  EXPECT_FALSE(parseArgRole("io").has_value());
}
