#include "runtime/Expr.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

using namespace ds::rt;

namespace {

const std::vector<std::string> kNames = {"B", "T", "NT", "d_1"};

int64_t evalOk(const std::string &text, std::vector<int64_t> vals = {2, 300, 3, 64}) {
  auto e = Expr::parse(text, kNames);
  EXPECT_TRUE(e.ok()) << text << ": " << e.message();
  if (!e.ok())
    return -999999;
  auto v = e->eval(vals);
  EXPECT_TRUE(v.ok()) << text << ": " << v.message();
  return v.ok() ? *v : -999999;
}

std::string parseError(const std::string &text) {
  auto e = Expr::parse(text, kNames);
  EXPECT_FALSE(e.ok()) << "'" << text << "' parsed";
  EXPECT_EQ(e.status().code(), ErrorCode::Parse);
  return e.message();
}

std::string evalError(const std::string &text, std::vector<int64_t> vals = {2, 300, 3, 64}) {
  auto e = Expr::parse(text, kNames);
  EXPECT_TRUE(e.ok()) << e.message();
  if (!e.ok())
    return "";
  auto v = e->eval(vals);
  EXPECT_FALSE(v.ok()) << text << " evaluated to " << *v;
  return v.message();
}

bool contains(const std::string &s, const std::string &sub) { return s.find(sub) != std::string::npos; }

} // namespace

TEST(RuntimeExpr, Arithmetic) {
  EXPECT_EQ(evalOk("42"), 42);
  EXPECT_EQ(evalOk("B"), 2);
  EXPECT_EQ(evalOk("d_1"), 64);
  EXPECT_EQ(evalOk("1+2*3"), 7);
  EXPECT_EQ(evalOk("(1+2)*3"), 9);
  EXPECT_EQ(evalOk("10-4-3"), 3);
  EXPECT_EQ(evalOk("100/10/5"), 2);
  EXPECT_EQ(evalOk("4*B*32*cdiv(T,128)"), 4 * 2 * 32 * 3);
  EXPECT_EQ(evalOk(" T * 8 * 128 "), 300 * 8 * 128);
  EXPECT_EQ(evalOk("-5"), -5);
  EXPECT_EQ(evalOk("-B*3"), -6);
  EXPECT_EQ(evalOk("--B"), 2);
  EXPECT_EQ(evalOk("-(B+1)"), -3);
  EXPECT_EQ(evalOk("min(B,T)+max(B,T)"), 302);
  EXPECT_EQ(evalOk("max(min(T,100),cdiv(T,NT))"), 100);
  EXPECT_EQ(evalOk("9223372036854775807"), std::numeric_limits<int64_t>::max());
}

TEST(RuntimeExpr, CSemantics) {
  EXPECT_EQ(evalOk("-7/2"), -3);
  EXPECT_EQ(evalOk("-7%2"), -1);
  EXPECT_EQ(evalOk("7%-2"), 1);
  EXPECT_EQ(evalOk("cdiv(7,2)"), 4);
  EXPECT_EQ(evalOk("cdiv(8,2)"), 4);
  EXPECT_EQ(evalOk("cdiv(0,5)"), 0);
  EXPECT_EQ(evalOk("cdiv(-7,2)"), -3);
  EXPECT_EQ(evalOk("cdiv(7,-2)"), -3);
  EXPECT_EQ(evalOk("cdiv(-7,-2)"), 4);
  EXPECT_EQ(evalOk("cdiv(T,128)"), 3);
}

TEST(RuntimeExpr, EvaluationErrors) {
  EXPECT_TRUE(contains(evalError("T/0"), "division by zero"));
  EXPECT_TRUE(contains(evalError("T%(B-2)"), "remainder by zero"));
  EXPECT_TRUE(contains(evalError("cdiv(T,B-B)"), "division by zero"));
  EXPECT_TRUE(contains(evalError("9223372036854775807+1"), "overflow"));
  EXPECT_TRUE(contains(evalError("-9223372036854775807-2"), "overflow"));
  EXPECT_TRUE(contains(evalError("3037000500*3037000500"), "overflow"));
  EXPECT_TRUE(contains(evalError("(-9223372036854775807-1)/-1"), "overflow"));
  EXPECT_EQ(evalOk("(-9223372036854775807-1)%-1"), 0);
  std::string m = evalError("T+1", {});
  EXPECT_TRUE(contains(m, "unbound symbol")) << m;
  EXPECT_TRUE(contains(m, "'T+1'")) << m;
}

TEST(RuntimeExpr, ParseErrors) {
  std::string m = parseError("cdiv(X,128)");
  EXPECT_TRUE(contains(m, "unknown symbol 'X'")) << m;
  EXPECT_TRUE(contains(m, "column 6")) << m;
  EXPECT_TRUE(contains(m, "'cdiv(X,128)'")) << m;
  EXPECT_TRUE(contains(parseError(""), "before end"));
  EXPECT_TRUE(contains(parseError("1+"), "before end"));
  EXPECT_TRUE(contains(parseError("(1+2"), "expected ')'"));
  EXPECT_TRUE(contains(parseError("1+2)"), "unexpected ')'"));
  EXPECT_TRUE(contains(parseError("1 2"), "unexpected '2'"));
  EXPECT_TRUE(contains(parseError("cdiv(1)"), "expected ','"));
  EXPECT_TRUE(contains(parseError("min 1,2"), "expected '('"));
  EXPECT_TRUE(contains(parseError("2^3"), "unexpected '^'"));
  EXPECT_TRUE(contains(parseError("12abc"), "bad integer literal"));
  EXPECT_TRUE(contains(parseError("9223372036854775808"), "out of range"));
  // Past 2^64 the digits once wrapped around: 18446744073709551621 read as 5.
  EXPECT_TRUE(contains(parseError("18446744073709551621"), "out of range"));
  EXPECT_TRUE(contains(parseError("99999999999999999999"), "out of range"));
  EXPECT_TRUE(contains(parseError("b"), "unknown symbol 'b'")); // case-sensitive
  EXPECT_TRUE(contains(parseError(std::string(300, '(') + "1" + std::string(300, ')')), "too deeply"));
  // More than kMaxStack pending operands.
  std::string deep;
  for (int i = 0; i < 70; ++i)
    deep += "1+(";
  deep += "1" + std::string(70, ')');
  EXPECT_TRUE(contains(parseError(deep), "too complex"));
}

TEST(RuntimeExpr, TextRoundTrips) {
  const char *cases[] = {"1+2*3",       "(1+2)*3",      "10-(4-3)",          "10-4-3",
                         "a/(b*c)",     "-B*3",         "-(B+1)",            "B*-3",
                         "B-(-3)",      "--B",          "4*B*32*cdiv(T,128)", "min(B,max(T,NT))%7",
                         "-9223372036854775807-1", "T - - NT", "d_1*(T+NT)/B"};
  std::vector<std::string> names = {"B", "T", "NT", "d_1", "a", "b", "c"};
  for (const char *c : cases) {
    auto e = Expr::parse(c, names);
    ASSERT_TRUE(e.ok()) << c << ": " << e.message();
    EXPECT_EQ(e->text().find(' '), std::string::npos) << e->text();
    auto again = Expr::parse(e->text(), names);
    ASSERT_TRUE(again.ok()) << e->text() << ": " << again.message();
    EXPECT_TRUE(*again == *e) << c << " -> " << e->text();
    EXPECT_EQ(again->text(), e->text());
    std::vector<int64_t> vals = {2, 300, 3, 64, 17, 3, 5};
    auto v1 = e->eval(vals), v2 = again->eval(vals);
    ASSERT_EQ(v1.ok(), v2.ok());
    if (v1.ok()) {
      EXPECT_EQ(*v1, *v2) << c;
    }
  }
  EXPECT_EQ(Expr::parse(" 4 * B * 32 * cdiv( T , 128 ) ", names)->text(), "4*B*32*cdiv(T,128)");
  EXPECT_EQ(Expr(std::numeric_limits<int64_t>::min()).text(), "(-9223372036854775807-1)");
}

TEST(RuntimeExpr, ConstantsAndSymbols) {
  EXPECT_EQ(Expr().constantValue(), 0);
  EXPECT_EQ(Expr(48 * 1024).constantValue(), 49152);
  EXPECT_EQ(Expr::parse("1<<30", kNames).ok(), false); // no shifts
  EXPECT_EQ(Expr::parse("1024*1024*1024", kNames)->constantValue(), int64_t(1) << 30);
  EXPECT_FALSE(Expr::parse("T*2", kNames)->constantValue().has_value());
  EXPECT_FALSE(Expr::parse("1/0", kNames)->constantValue().has_value());
  EXPECT_EQ(Expr::parse("T*NT", kNames)->maxSymbolIndex(), 2);
  EXPECT_EQ(Expr(5).maxSymbolIndex(), -1);
  EXPECT_TRUE(isValidSymbolName("T"));
  EXPECT_TRUE(isValidSymbolName("_x9"));
  EXPECT_FALSE(isValidSymbolName("9x"));
  EXPECT_FALSE(isValidSymbolName("cdiv"));
  EXPECT_FALSE(isValidSymbolName("a-b"));
  EXPECT_FALSE(isValidSymbolName(""));
}
