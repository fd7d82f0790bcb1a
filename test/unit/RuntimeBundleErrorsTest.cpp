// Malformed and truncated bundles are rejected with the line number and what is wrong.
#include "runtime/Bundle.h"
#include "runtime/Expr.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace ds::rt;

namespace {

// A valid bundle, one entry per line (line i+1 is kLines[i]); the image payload is line 9.
const std::vector<std::string> kLines = {
    "dsbundle 1",                 // 1
    "target sm_90",               // 2
    "symbol T arg 0 dim 0",       // 3
    "symbol NT expr cdiv(T,128)", // 4
    "arg x in f32 T",             // 5
    "arg y out f32 T",            // 6
    "workspace 4*NT",             // 7
    "image ptx 5",                // 8
    "hello",                      // 9
    "kernel k",                   // 10
    "  grid NT 1 1",              // 11
    "  block 128 1 1",            // 12
    "  smem 0",                   // 13
    "  param ptr arg 0",          // 14
    "  param ptr arg 1",          // 15
    "  param i64 T",              // 16
    "end",                        // 17
};

std::string join(const std::vector<std::string> &lines) {
  std::string s;
  for (const std::string &l : lines)
    s += l + "\n";
  return s;
}

// kLines with line `n` (1-based) replaced by `text`.
std::string withLine(int n, const std::string &text) {
  std::vector<std::string> l = kLines;
  l[size_t(n - 1)] = text;
  return join(l);
}
std::string withoutLine(int n) {
  std::vector<std::string> l = kLines;
  l.erase(l.begin() + (n - 1));
  return join(l);
}
std::string withInserted(int n, const std::string &text) { // becomes line n
  std::vector<std::string> l = kLines;
  l.insert(l.begin() + (n - 1), text);
  return join(l);
}

struct Case {
  const char *name;
  std::string text;
  int line;
  const char *what;
};

} // namespace

TEST(RuntimeBundleErrors, BaseIsValid) {
  auto b = Bundle::parse(join(kLines));
  ASSERT_TRUE(b.ok()) << b.message();
  EXPECT_EQ(b->ptx, "hello");
}

TEST(RuntimeBundleErrors, RejectedWithLineAndReason) {
  const std::string base = join(kLines);
  std::vector<Case> cases = {
      {"empty file", "", 1, "empty file"},
      {"bad magic", withLine(1, "dsbundel 1"), 1, "not a ds bundle"},
      {"binary junk", std::string("\x7f" "ELF\x02\x01", 6), 1, "not a ds bundle"},
      {"unknown version", withLine(1, "dsbundle 2"), 1, "unsupported bundle version '2'"},
      {"header extra", withLine(1, "dsbundle 1 x"), 1, "malformed header"},
      {"missing target", withoutLine(2), 16, "missing 'target' line"},
      {"bad target", withLine(2, "target sm90"), 2, "bad target 'sm90'"},
      // Bytes outside printable ASCII are quoted as \xNN, never raw.
      {"bad target bytes", withLine(2, std::string("target sm_\x89\x01")), 2,
       "bad target 'sm_\\x89\\x01'"},
      {"duplicate target", withInserted(3, "target sm_80"), 3, "duplicate 'target'"},
      {"unknown keyword", withLine(7, "workspaces 4"), 7, "unknown keyword 'workspaces'"},
      {"duplicate workspace", withInserted(8, "workspace 0"), 8, "duplicate 'workspace'"},
      {"bad workspace expr", withLine(7, "workspace 4*"), 7, "bad expression '4*'"},
      {"symbol syntax", withLine(3, "symbol T arg 0"), 3, "expected 'symbol T arg <index> dim <index>'"},
      {"symbol kind", withLine(3, "symbol T from 0"), 3, "expected 'arg' or 'expr'"},
      {"symbol bad name", withLine(3, "symbol 9T arg 0 dim 0"), 3, "bad symbol name '9T'"},
      {"symbol reserved name", withLine(3, "symbol min arg 0 dim 0"), 3, "bad symbol name 'min'"},
      {"duplicate symbol", withLine(4, "symbol T expr 1"), 4, "duplicate symbol 'T'"},
      {"symbol forward reference", withLine(3, "symbol T expr NT"), 3, "unknown symbol 'NT'"},
      {"symbol arg out of range", withLine(3, "symbol T arg 5 dim 0"), 3, "reads argument 5 but only 2"},
      {"symbol dim out of range", withLine(3, "symbol T arg 0 dim 1"), 3, "reads dim 1 of argument 'x', which has rank 1"},
      {"unknown dtype", withLine(5, "arg x in f64 T"), 5, "unknown dtype 'f64'"},
      {"unknown role", withLine(5, "arg x input f32 T"), 5, "unknown role 'input'"},
      {"arg too short", withLine(5, "arg x in"), 5, "expected 'arg <name>"},
      {"duplicate arg", withLine(6, "arg x out f32 T"), 6, "duplicate argument 'x'"},
      {"arg bad dim", withLine(5, "arg x in f32 T*"), 5, "argument 'x' dim 0: bad expression 'T*'"},
      {"arg unknown symbol", withLine(5, "arg x in f32 U"), 5, "unknown symbol 'U'"},
      {"arg rank", withLine(5, "arg x in f32 T 1 1 1 1 1 1 1 1"), 5, "rank 9 exceeds 8"},
      {"image beyond end", withLine(8, "image ptx 5000"), 8, "declares 5000 bytes but only"},
      {"image count too small", withLine(8, "image ptx 3"), 8, "not followed by a newline"},
      {"image empty", withLine(8, "image ptx 0"), 8, "empty ptx image"},
      {"image kind", withLine(8, "image sass 5"), 8, "expected 'image ptx <bytes>'"},
      {"image count not a number", withLine(8, "image ptx 5x"), 8, "expected 'image ptx <bytes>'"},
      {"duplicate image", withInserted(10, "image ptx 2\nab"), 10, "duplicate ptx image"},
      {"truncated in image", base.substr(0, base.find("hello") + 3), 8, "declares 5 bytes but only 3 remain"},
      {"truncated in kernel", base.substr(0, base.find("  param i64")), 10, "kernel 'k' has no 'end'"},
      {"kernel without end", withoutLine(17), 10, "kernel 'k' has no 'end'"},
      {"kernel inside kernel", withLine(17, "kernel k2"), 17, "'kernel' inside kernel 'k' (opened at line 10)"},
      {"kernel without name", withLine(10, "kernel"), 10, "'kernel' takes one name"},
      {"duplicate kernel", join(kLines) + "kernel k\n grid 1 1 1\n block 1 1 1\nend\n", 18, "duplicate kernel 'k'"},
      {"end outside kernel", withInserted(7, "end"), 7, "'end' outside a kernel block"},
      {"param outside kernel", withInserted(7, "param i64 1"), 7, "'param' outside a kernel block"},
      {"text after end", withLine(17, "end now"), 17, "unexpected text after 'end'"},
      {"missing grid", withoutLine(11), 16, "kernel 'k' has no 'grid' line"},
      {"missing block", withoutLine(12), 16, "kernel 'k' has no 'block' line"},
      {"duplicate grid", withInserted(12, "grid 1 1 1"), 12, "duplicate 'grid'"},
      {"grid two exprs", withLine(11, "  grid NT 1"), 11, "takes three expressions"},
      {"grid spaces in expr", withLine(11, "  grid NT + 1 1 1"), 11, "takes three expressions"},
      {"grid bad expr", withLine(11, "  grid NT+ 1 1"), 11, "kernel 'k' grid x: bad expression 'NT+'"},
      {"block unknown symbol", withLine(12, "  block 128 B 1"), 12, "unknown symbol 'B'"},
      {"smem bad expr", withLine(13, "  smem (1"), 13, "kernel 'k' smem: bad expression '(1'"},
      {"kernel unknown keyword", withLine(13, "  shmem 0"), 13, "kernel 'k': unknown keyword 'shmem'"},
      {"programmatic with text", withInserted(13, "  programmatic yes"), 13, "kernel 'k': unexpected text after 'programmatic'"},
      {"duplicate programmatic", withInserted(13, "  programmatic\n  programmatic"), 14, "kernel 'k': duplicate 'programmatic' line"},
      {"programmatic outside kernel", withInserted(7, "programmatic"), 7, "'programmatic' outside a kernel block"},
      {"param arg out of range", withLine(15, "  param ptr arg 2"), 15, "param 1: argument index 2 out of range"},
      {"param arg not a number", withLine(15, "  param ptr arg -1"), 15, "expected 'param ptr arg <index>'"},
      {"param ptr kind", withLine(15, "  param ptr tmp 0"), 15, "expected 'ptr arg <index>' or 'ptr ws <offset>'"},
      {"param unknown kind", withLine(16, "  param f64 1"), 16, "unknown param kind 'f64'"},
      {"param unknown symbol", withLine(16, "  param i64 Q"), 16, "param 2: bad expression 'Q': unknown symbol 'Q'"},
      {"param missing expr", withLine(16, "  param i32"), 16, "missing expression"},
      {"param bad float", withLine(16, "  param f32 1.5x"), 16, "bad float '1.5x'"},
      {"param f32 out of range", withLine(16, "  param f32 1e39"), 16, "'1e39' is outside a 32-bit float's range"},
      {"param f32 underflow", withLine(16, "  param f32 1e-50"), 16, "'1e-50' is outside a 32-bit float's range"},
      {"param ws bad expr", withLine(16, "  param ptr ws *"), 16, "workspace offset"},
      // A known keyword inside a kernel block is a missing 'end' (it was "unknown keyword").
      {"arg inside kernel", withInserted(14, "arg z in f32 T"), 14,
       "'arg' inside kernel 'k' (opened at line 10), which has no 'end'"},
      {"target inside kernel", withInserted(14, "target sm_90"), 14,
       "'target' inside kernel 'k' (opened at line 10), which has no 'end'"},
      // A target number of more than 4 digits (sm_4294967386 was read as 90 by the runtime).
      {"huge target", withLine(2, "target sm_4294967386"), 2, "bad target 'sm_4294967386'"},
      {"bad kernel name", withLine(10, "kernel quest-decode"), 10,
       "bad kernel name 'quest-decode' (a PTX identifier: a letter, or '_', '$' or '%' and more, "
       "then letters, digits, '_' and '$')"},
      {"kernel name from a digit", withLine(10, "kernel 9k"), 10, "bad kernel name '9k'"},
      {"kernel name with a dot", withLine(10, "kernel a.b"), 10, "bad kernel name 'a.b'"},
      {"kernel name '_' alone", withLine(10, "kernel _"), 10, "bad kernel name '_'"},
      // Spaces and tabs separate tokens; other control bytes (a vertical tab, a form feed, a
      // '\r' before the line's end) do not.
      {"vertical tab separator", withLine(10, "kernel\vk"), 10, "unknown keyword 'kernel\\x0bk'"},
      {"form feed in an expression", withLine(7, "workspace 4\f+4"), 7, "bad expression '4\\x0c+4'"},
      {"carriage return mid-line", withLine(5, "arg x in\rf32 T"), 5, "unknown role 'in\\x0df32'"},
      // Line numbers count the lines inside an image payload.
      {"line after multi-line payload", withLine(9, "a\nb\nc") + "bogus\n", 20, "unknown keyword 'bogus'"},
  };
  for (const Case &c : cases) {
    auto b = Bundle::parse(c.text);
    if (b.ok()) {
      ADD_FAILURE() << c.name << ": parsed";
      continue;
    }
    EXPECT_EQ(b.status().code(), ErrorCode::Parse) << c.name;
    std::string prefix = "bundle line " + std::to_string(c.line) + ": ";
    EXPECT_EQ(b.message().compare(0, prefix.size(), prefix), 0) << c.name << ": " << b.message();
    EXPECT_NE(b.message().find(c.what), std::string::npos) << c.name << ": " << b.message();
  }
}

TEST(RuntimeBundleErrors, CountsAreCappedAndQuotesShort) {
  // Arguments and kernels are capped (their duplicate checks scan the names: an uncapped file of
  // 100k of them took minutes), at the first line past the cap.
  std::vector<std::string> lines = kLines;
  for (size_t i = 0; i < Bundle::kMaxArgs; ++i)
    lines.insert(lines.begin() + 6, "arg a" + std::to_string(i) + " in f32 T");
  auto b = Bundle::parse(join(lines));
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.message().find("bundle line " + std::to_string(7 + Bundle::kMaxArgs - 2) +
                             ": too many arguments (at most 256)"),
            std::string::npos)
      << b.message().substr(0, 200);
  std::string many = join(kLines);
  for (size_t i = 0; i < Bundle::kMaxKernels; ++i)
    many += "kernel k" + std::to_string(i) + "\n  grid 1 1 1\n  block 1 1 1\nend\n";
  b = Bundle::parse(many);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.message().find("too many kernels (at most 1024)"), std::string::npos)
      << b.message().substr(0, 200);
  // A device file is refused before it is read (it was read until memory ran out).
  b = Bundle::readFile("/dev/zero");
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.message().find("cannot read bundle '/dev/zero': not a regular file"),
            std::string::npos)
      << b.message();
  // A huge token is quoted in part, the rest counted.
  b = Bundle::parse(withLine(7, "workspaces" + std::string(100000, 'x')));
  ASSERT_FALSE(b.ok());
  EXPECT_LT(b.message().size(), 700u);
  EXPECT_NE(b.message().find("... (99"), std::string::npos) << b.message();
}

TEST(RuntimeBundleErrors, ExpressionsAreBoundedAndParseBack) {
  // A flat 1+1+...+1 past 4096 bytes is refused at once: its parse was quadratic (1.3 MB, 27 s).
  std::string flat = "1";
  while (flat.size() <= Expr::kMaxTextBytes)
    flat += "+1";
  auto b = Bundle::parse(withLine(7, "workspace " + flat));
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.message().find("longer than 4096 bytes"), std::string::npos) << b.message();
  // The reason is shown, not cut off behind a long quote.
  std::string longQ = "T";
  for (int i = 0; i < 300; ++i)
    longQ += "+T";
  b = Bundle::parse(withLine(16, "  param i64 " + longQ + "+Q"));
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.message().find("unknown symbol 'Q'"), std::string::npos) << b.message();
  // Canonical text nests deeper than the source (a right operand's unary minus gets
  // parentheses): refused at parse, where serialize() wrote a file parse() could not read.
  std::string nested = "T";
  for (int i = 0; i < 40; ++i)
    nested = "T--(" + nested + ")";
  nested.insert(nested.rfind("T"), std::string(81, '-'));
  b = Bundle::parse(withLine(7, "workspace " + nested));
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.message().find("canonical form"), std::string::npos) << b.message().substr(0, 300);
  // What parses serializes to what parses back, to the same text.
  std::string ok = "T";
  for (int i = 0; i < 20; ++i)
    ok = "T--(" + ok + ")";
  b = Bundle::parse(withLine(7, "workspace " + ok));
  ASSERT_TRUE(b.ok()) << b.message();
  auto again = Bundle::parse(b->serialize());
  ASSERT_TRUE(again.ok()) << again.message();
  EXPECT_EQ(again->serialize(), b->serialize());
}

TEST(RuntimeBundleErrors, Truncations) {
  // Cutting the file anywhere must never crash; a cut inside an image payload or a kernel block
  // is an error.
  const std::string base = join(kLines);
  const size_t image = base.find("image ptx"), payloadEnd = base.find("hello") + 5;
  const size_t kernel = base.find("kernel k"), end = base.find("end\n") + 3;
  for (size_t n = 0; n < base.size(); ++n) {
    auto b = Bundle::parse(base.substr(0, n));
    if ((n > image && n <= payloadEnd) || (n > kernel && n < end) || n < base.find("target")) {
      EXPECT_FALSE(b.ok()) << "cut at " << n;
    }
    if (!b.ok()) {
      EXPECT_EQ(b.message().compare(0, 12, "bundle line "), 0) << b.message();
    }
  }
}
