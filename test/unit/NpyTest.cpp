// The .npy reader of ds-run (tools/ds-run/Npy.h): strict header parsing, checked sizes, and clear
// errors naming the file for every malformed input (cases from fuzzing ds-run).
#include "tools/ds-run/Npy.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

using namespace ds;

namespace {

/// A .npy file: preamble of format `major`.0, the header dict padded as NumPy pads it, the data.
std::string npyBytes(const std::string &dict, const std::string &data, int major = 1) {
  const size_t lengthBytes = major == 1 ? 2 : 4;
  std::string header = dict;
  size_t total = 8 + lengthBytes + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string bytes("\x93NUMPY", 6);
  bytes += char(major);
  bytes += char(0);
  for (size_t i = 0; i < lengthBytes; ++i)
    bytes += char((header.size() >> (8 * i)) & 0xff);
  return bytes + header + data;
}

std::string dictOf(const std::string &descr, const std::string &shape,
                   const std::string &fortran = "False") {
  return "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
}

/// Parses `bytes` as file "x.npy", expects an error and returns its message.
std::string parseError(const std::string &bytes) {
  auto a = npy::parse(bytes, "x.npy");
  EXPECT_FALSE(a.ok()) << "parsed";
  if (a.ok())
    return "";
  EXPECT_EQ(a.message().rfind("'x.npy': ", 0), 0u) << a.message();
  return a.message();
}

bool contains(const std::string &s, const std::string &sub) { return s.find(sub) != std::string::npos; }

std::string tempPath(const std::string &name) { return ::testing::TempDir() + "/ds_npy_" + name; }

} // namespace

TEST(Npy, ReadsWhatNumPyWrites) {
  std::string data(2 * 3 * 4, '\0');
  auto a = npy::parse(npyBytes(dictOf("<f4", "(2, 3)"), data), "x.npy");
  ASSERT_TRUE(a.ok()) << a.message();
  EXPECT_EQ(a->descr, "<f4");
  EXPECT_EQ(a->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a->data.size(), data.size());
  EXPECT_EQ(a->count(), 6);

  auto one = npy::parse(npyBytes(dictOf("<i4", "(5,)"), std::string(20, '\0')), "x.npy");
  ASSERT_TRUE(one.ok()) << one.message();
  EXPECT_EQ(one->shape, (std::vector<int64_t>{5}));

  auto scalar = npy::parse(npyBytes(dictOf("<i8", "()"), std::string(8, '\0')), "x.npy");
  ASSERT_TRUE(scalar.ok()) << scalar.message();
  EXPECT_TRUE(scalar->shape.empty());

  auto empty = npy::parse(npyBytes(dictOf("<f2", "(0, 7)"), ""), "x.npy");
  ASSERT_TRUE(empty.ok()) << empty.message();
  EXPECT_EQ(empty->count(), 0);

  // Keys in any order, double quotes, no trailing comma; format 2.0 and 3.0 (4-byte length).
  auto reordered = npy::parse(
      npyBytes("{\"shape\": (2,), \"fortran_order\": False, \"descr\": \"<u2\"}", "abcd", 2), "x.npy");
  ASSERT_TRUE(reordered.ok()) << reordered.message();
  EXPECT_EQ(reordered->descr, "<u2");
  EXPECT_TRUE(npy::parse(npyBytes(dictOf("<u2", "(2,)"), "abcd", 3), "x.npy").ok());
}

/// Writes `a` to a temporary file and checks that reading it back gives the same array.
static void expectRoundTrip(const npy::Array &a, const std::string &path) {
  ASSERT_TRUE(npy::write(path, a).ok());
  auto b = npy::read(path);
  ASSERT_TRUE(b.ok()) << b.message();
  EXPECT_EQ(b->descr, a.descr);
  EXPECT_EQ(b->shape, a.shape);
  EXPECT_EQ(b->data, a.data);
  std::remove(path.c_str());
}

TEST(Npy, WriteThenRead) {
  npy::Array a;
  a.descr = "<i4";
  a.shape = {2, 1, 3};
  for (int i = 0; i < 6; ++i)
    a.data.insert(a.data.end(), {char(i), 0, 0, 0});
  const std::string path = tempPath("roundtrip.npy");
  expectRoundTrip(a, path);

  // Data that does not match the shape is refused, not written.
  a.data.pop_back();
  EXPECT_FALSE(npy::write(path, a).ok());
}

// One-byte dtypes (fp8 e4m3 bit patterns, u8 and i8 arguments) round-trip with their own size.
TEST(Npy, OneByteDtypes) {
  for (const char *descr : {"|u1", "|i1"}) {
    npy::Array a;
    a.descr = descr;
    a.shape = {3, 5};
    for (int i = 0; i < 15; ++i)
      a.data.push_back(char(i * 17));
    EXPECT_EQ(a.itemSize(), 1u);
    expectRoundTrip(a, tempPath("onebyte.npy"));
  }
}

// Fuzz finding: a 128-byte file with shape (2^61,) passed the checks, then aborted with
// std::length_error when the data was copied.
TEST(Npy, ShapeProductOverflowIsAnError) {
  std::string e = parseError(npyBytes(dictOf("<f4", "(2305843009213693952,)"), ""));
  EXPECT_TRUE(contains(e, "too large")) << e;
  e = parseError(npyBytes(dictOf("<i2", "(4294967296, 4294967296)"), std::string(64, '\0')));
  EXPECT_TRUE(contains(e, "too large")) << e;
  e = parseError(npyBytes(dictOf("<f4", "(99999999999999999999,)"), ""));
  EXPECT_TRUE(contains(e, "too large")) << e;
  // A huge dim next to a zero dim is an empty array: fine.
  EXPECT_TRUE(npy::parse(npyBytes(dictOf("<f4", "(0, 2305843009213693952)"), ""), "x.npy").ok());
}

TEST(Npy, DataMustMatchTheShapeExactly) {
  std::string e = parseError(npyBytes(dictOf("<f4", "(2, 3)"), std::string(23, '\0')));
  EXPECT_TRUE(contains(e, "23 bytes")) << e;
  EXPECT_TRUE(contains(e, "needs 24")) << e;
  e = parseError(npyBytes(dictOf("<f4", "(2, 3)"), std::string(25, '\0')));
  EXPECT_TRUE(contains(e, "25 bytes")) << e;
}

// Fuzz finding: `(2abc, 2.9)` was read as (2, 2).
TEST(Npy, ShapeIsParsedStrictly) {
  for (const char *shape : {"(2abc, 2.9)", "(2, 2.9)", "(2,, 3)", "(2 3)", "(0x10,)", "(2, 3",
                            "[2, 3]", "2", "(True,)", "(2L,)", "(,)", "(- 1,)"}) {
    std::string e = parseError(npyBytes(dictOf("<f4", shape), std::string(16, '\0')));
    EXPECT_TRUE(contains(e, "shape")) << shape << ": " << e;
  }
}

TEST(Npy, NegativeDimsAreErrors) {
  std::string e = parseError(npyBytes(dictOf("<f4", "(-1,)"), ""));
  EXPECT_TRUE(contains(e, "negative dim -1")) << e;
  e = parseError(npyBytes(dictOf("<f4", "(2, -3)"), ""));
  EXPECT_TRUE(contains(e, "negative dim -3")) << e;
}

// Fuzz finding: fortran_order True (and 1) was read as C order.
TEST(Npy, FortranOrderIsRefused) {
  std::string e = parseError(npyBytes(dictOf("<f4", "(2, 2)", "True"), std::string(16, '\0')));
  EXPECT_TRUE(contains(e, "fortran_order arrays are not supported")) << e;
  e = parseError(npyBytes(dictOf("<f4", "(2, 2)", "1"), std::string(16, '\0')));
  EXPECT_TRUE(contains(e, "'fortran_order' must be False or True, got '1'")) << e;
  e = parseError(npyBytes(dictOf("<f4", "(2, 2)", "0"), std::string(16, '\0')));
  EXPECT_TRUE(contains(e, "fortran_order")) << e;
}

TEST(Npy, HeaderDictIsChecked) {
  const std::string data(8, '\0');
  EXPECT_TRUE(contains(parseError(npyBytes("{'descr': '<f4', 'shape': (2,), }", data)),
                       "lacks 'fortran_order'"));
  EXPECT_TRUE(contains(parseError(npyBytes("{'fortran_order': False, 'shape': (2,), }", data)),
                       "lacks 'descr'"));
  EXPECT_TRUE(contains(parseError(npyBytes("{'descr': '<f4', 'fortran_order': False}", data)),
                       "lacks 'shape'"));
  EXPECT_TRUE(contains(parseError(npyBytes(dictOf("<f4", "(2,), 'extra': 1"), data)),
                       "unexpected key 'extra'"));
  EXPECT_TRUE(contains(parseError(npyBytes(dictOf("<f4", "(2,), 'shape': (2,)"), data)),
                       "'shape' given twice"));
  EXPECT_TRUE(contains(parseError(npyBytes(dictOf("<f4", "(2,)") + " junk", data)),
                       "after the header dict"));
  EXPECT_TRUE(contains(parseError(npyBytes("'descr': '<f4'", data)), "not a dict"));
  EXPECT_TRUE(contains(parseError(npyBytes("{'descr': <f4, }", data)), "descr"));
  EXPECT_TRUE(contains(parseError(npyBytes("{'descr': '<f4 ", data)), "descr"));
}

TEST(Npy, UnsupportedDtypes) {
  for (const char *descr : {">f4", "<f8", "|b1", "<u1", "<c8", "", "<f4x"}) {
    std::string e = parseError(npyBytes(dictOf(descr, "(2,)"), std::string(16, '\0')));
    EXPECT_TRUE(contains(e, "dtype '" + std::string(descr) + "' is not supported")) << e;
  }
}

TEST(Npy, HeaderBytesAreQuotedInPrintableAscii) {
  // A damaged header's bytes outside printable ASCII come back as \xNN, never raw.
  std::string e = parseError(npyBytes(dictOf("<\x89\x01", "(2,)"), std::string(16, '\0')));
  EXPECT_TRUE(contains(e, "dtype '<\\x89\\x01' is not supported")) << e;
  e = parseError(npyBytes("{'descr': '<f4', 'fortran_order': False, 'sh\xffpe': (2,), }",
                          std::string(8, '\0')));
  EXPECT_TRUE(contains(e, "unexpected key 'sh\\xffpe'")) << e;
  for (char c : e)
    EXPECT_TRUE(c >= 0x20 && c < 0x7f) << e;
}

TEST(Npy, MagicAndVersion) {
  std::string good = npyBytes(dictOf("<f4", "(1,)"), std::string(4, '\0'));
  std::string bad = good;
  bad[0] = 'N';
  EXPECT_TRUE(contains(parseError(bad), "not a .npy file"));
  EXPECT_TRUE(contains(parseError("hello"), "not a .npy file"));
  EXPECT_TRUE(contains(parseError(""), "not a .npy file"));
  bad = good;
  bad[6] = 4;
  EXPECT_TRUE(contains(parseError(bad), "unsupported .npy format version 4.0"));
  bad = good;
  bad[6] = 0;
  EXPECT_TRUE(contains(parseError(bad), "version 0.0"));
  bad = good;
  bad[7] = 1;
  EXPECT_TRUE(contains(parseError(bad), "version 1.1"));
}

TEST(Npy, TruncatedFilesAreErrors) {
  // Every proper prefix of a valid file is refused with an error (never a crash).
  std::string good = npyBytes(dictOf("<i8", "(3,)"), std::string(24, '\x7f'));
  for (size_t n = 0; n < good.size(); ++n) {
    auto a = npy::parse(good.substr(0, n), "x.npy");
    EXPECT_FALSE(a.ok()) << "prefix of " << n << " bytes parsed";
  }
  // A header length beyond the end of the file.
  std::string longHeader = good.substr(0, 8) + std::string("\xff\xff", 2) + good.substr(10, 20);
  EXPECT_TRUE(contains(parseError(longHeader), "truncated .npy header (65535 bytes announced"));
  std::string v2 = npyBytes(dictOf("<i8", "(3,)"), std::string(24, '\0'), 2);
  v2[11] = '\x7f';
  EXPECT_TRUE(contains(parseError(v2), "truncated .npy header"));
}

TEST(Npy, MutatedFilesNeverCrash) {
  // Deterministic byte mutations of a valid file: each parses or fails with a message.
  const std::string good = npyBytes(dictOf("<f2", "(4, 2)"), std::string(16, '\x01'));
  uint64_t state = 12345;
  auto next = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return uint32_t(state >> 33);
  };
  for (int trial = 0; trial < 5000; ++trial) {
    std::string bytes = good;
    for (int m = 0, count = 1 + next() % 4; m < count; ++m)
      bytes[next() % bytes.size()] = char(next() & 0xff);
    auto a = npy::parse(bytes, "x.npy");
    if (a.ok())
      EXPECT_EQ(uint64_t(a->count()) * a->itemSize(), a->data.size());
    else
      EXPECT_FALSE(a.message().empty());
  }
}

// Fuzz finding: a directory as input aborted ds-run.
TEST(Npy, ReadErrorsNameTheFile) {
  auto dir = npy::read(::testing::TempDir());
  ASSERT_FALSE(dir.ok());
  EXPECT_TRUE(contains(dir.message(), "is a directory")) << dir.message();
  EXPECT_TRUE(contains(dir.message(), ::testing::TempDir())) << dir.message();
  EXPECT_EQ(dir.status().code(), rt::ErrorCode::IO);

  // Fuzz finding: a device file was read until memory ran out before its header was looked at.
  auto zero = npy::read("/dev/zero");
  ASSERT_FALSE(zero.ok());
  EXPECT_TRUE(contains(zero.message(), "'/dev/zero': cannot read: not a regular file"))
      << zero.message();

  const std::string missing = tempPath("no_such_file.npy");
  auto none = npy::read(missing);
  ASSERT_FALSE(none.ok());
  EXPECT_TRUE(contains(none.message(), "'" + missing + "': cannot read")) << none.message();

  const std::string empty = tempPath("empty.npy");
  std::ofstream(empty, std::ios::binary).close();
  auto e = npy::read(empty);
  ASSERT_FALSE(e.ok());
  EXPECT_TRUE(contains(e.message(), "'" + empty + "': not a .npy file")) << e.message();
  std::remove(empty.c_str());
}

TEST(Npy, ByteSize) {
  EXPECT_EQ(npy::byteSize({2, 3}, 4).value_or(-1), 24);
  EXPECT_EQ(npy::byteSize({}, 2).value_or(-1), 2);
  EXPECT_EQ(npy::byteSize({0, int64_t(1) << 62}, 8).value_or(-1), 0);
  EXPECT_FALSE(npy::byteSize({int64_t(1) << 61}, 4).has_value());
  EXPECT_FALSE(npy::byteSize({-1}, 4).has_value());
}
