#include "tools/ds-run/Npy.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>

#include <sys/stat.h>

namespace ds::npy {

namespace {

struct KnownDescr {
  const char *descr;
  size_t bytes;
};
constexpr KnownDescr kKnownDescrs[] = {{"<f4", 4}, {"<f2", 2}, {"<u2", 2}, {"<i2", 2},
                                       {"<i4", 4}, {"<u4", 4}, {"<i8", 8}, {"|u1", 1},
                                       {"|i1", 1}};
/// NumPy's own limit on the number of dimensions.
constexpr size_t kMaxRank = 64;

size_t knownItemSize(std::string_view descr) {
  for (const KnownDescr &k : kKnownDescrs)
    if (descr == k.descr)
      return k.bytes;
  return 0;
}

std::string shapeText(const std::vector<int64_t> &shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

/// Reads the header: the Python dict literal NumPy writes, e.g.
///   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
/// Strict: exactly these three keys, each once; nothing but whitespace after the '}'.
class HeaderParser {
public:
  explicit HeaderParser(std::string_view text) : text(text) {}

  /// Fills `array.descr` and `array.shape`; on failure returns false with `error` set.
  bool parse(Array &array) {
    bool haveDescr = false, haveOrder = false, haveShape = false;
    skipSpace();
    if (!eat('{'))
      return fail("the header is not a dict");
    while (true) {
      skipSpace();
      if (eat('}'))
        break;
      std::string key;
      if (!quoted(key))
        return fail("expected a quoted key or '}'");
      skipSpace();
      if (!eat(':'))
        return fail("expected ':' after '" + key + "'");
      skipSpace();
      if (key == "descr") {
        if (haveDescr)
          return fail("'descr' given twice");
        haveDescr = true;
        if (!quoted(array.descr))
          return fail("'descr' must be a quoted dtype string such as '<f4'");
      } else if (key == "fortran_order") {
        if (haveOrder)
          return fail("'fortran_order' given twice");
        haveOrder = true;
        if (!fortranOrder())
          return false;
      } else if (key == "shape") {
        if (haveShape)
          return fail("'shape' given twice");
        haveShape = true;
        if (!shape(array.shape))
          return false;
      } else {
        return fail("unexpected key '" + key + "'");
      }
      skipSpace();
      if (eat(','))
        continue;
      skipSpace();
      if (eat('}'))
        break;
      return fail("expected ',' or '}' after the value of '" + key + "'");
    }
    skipSpace();
    if (pos != text.size())
      return fail("unexpected text after the header dict");
    if (!haveDescr || !haveOrder || !haveShape)
      return fail(std::string("the header lacks '") +
                  (!haveDescr ? "descr" : !haveOrder ? "fortran_order" : "shape") + "'");
    return true;
  }

  std::string error;

private:
  bool fail(const std::string &what) {
    error = "bad .npy header: " + what;
    return false;
  }
  void skipSpace() {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t' || text[pos] == '\n' ||
                                 text[pos] == '\r'))
      ++pos;
  }
  bool eat(char c) {
    if (pos < text.size() && text[pos] == c) {
      ++pos;
      return true;
    }
    return false;
  }
  bool isWordChar(size_t at) const {
    if (at >= text.size())
      return false;
    char c = text[at];
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  }
  /// A word (True, False, a number) up to the next delimiter.
  std::string_view word() {
    size_t start = pos;
    while (isWordChar(pos) || (pos < text.size() && (text[pos] == '.' || text[pos] == '-')))
      ++pos;
    return text.substr(start, pos - start);
  }
  /// 'text' or "text", without escapes.
  bool quoted(std::string &out) {
    if (pos >= text.size() || (text[pos] != '\'' && text[pos] != '"'))
      return false;
    char quote = text[pos];
    size_t end = text.find(quote, pos + 1);
    if (end == std::string_view::npos)
      return false;
    std::string_view body = text.substr(pos + 1, end - pos - 1);
    if (body.find('\\') != std::string_view::npos)
      return false;
    out.assign(body.begin(), body.end());
    pos = end + 1;
    return true;
  }
  bool fortranOrder() {
    std::string_view value = word();
    if (value == "False")
      return true;
    if (value == "True")
      return fail("fortran_order arrays are not supported (save a C-order array, e.g. "
                  "np.save(path, np.ascontiguousarray(x)))");
    return fail("'fortran_order' must be False or True, got '" + std::string(value) + "'");
  }
  /// (), (n,), (n, m) or (n, m,): non-negative decimal integers that fit in int64.
  bool shape(std::vector<int64_t> &dims) {
    if (!eat('('))
      return fail("'shape' must be a tuple such as (3, 4)");
    while (true) {
      skipSpace();
      if (eat(')'))
        return true;
      std::string_view item = word();
      if (item.empty())
        return fail("'shape' must be a tuple of integers");
      if (item[0] == '-' && item.size() > 1 && item.find_first_not_of("0123456789", 1) == item.npos)
        return fail("negative dim " + std::string(item) + " in 'shape'");
      int64_t value = 0;
      for (char c : item) {
        if (c < '0' || c > '9')
          return fail("dim '" + std::string(item) + "' in 'shape' is not an integer");
        int digit = c - '0';
        if (value > (std::numeric_limits<int64_t>::max() - digit) / 10)
          return fail("dim " + std::string(item) + " in 'shape' is too large");
        value = value * 10 + digit;
      }
      dims.push_back(value);
      if (dims.size() > kMaxRank)
        return fail("'shape' has more than " + std::to_string(kMaxRank) + " dims");
      skipSpace();
      if (eat(','))
        continue;
      if (eat(')'))
        return true;
      return fail("expected ',' or ')' after dim " + std::string(item) + " in 'shape'");
    }
  }

  std::string_view text;
  size_t pos = 0;
};

rt::Status fileError(const std::string &name, const std::string &what,
                     rt::ErrorCode code = rt::ErrorCode::Parse) {
  return rt::Status::error("'" + name + "': " + what, code);
}

} // namespace

size_t Array::itemSize() const { return knownItemSize(descr); }

int64_t Array::count() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

std::optional<int64_t> byteSize(const std::vector<int64_t> &shape, size_t itemSize) {
  if (itemSize > size_t(std::numeric_limits<int64_t>::max()))
    return std::nullopt;
  int64_t n = int64_t(itemSize);
  for (int64_t d : shape)
    if (d < 0 || __builtin_mul_overflow(n, d, &n))
      return std::nullopt;
  return n;
}

rt::Expected<Array> parse(std::string_view bytes, const std::string &name) {
  static constexpr std::string_view kMagic("\x93NUMPY", 6);
  if (bytes.size() < kMagic.size() || bytes.substr(0, kMagic.size()) != kMagic)
    return fileError(name, "not a .npy file (no \\x93NUMPY magic)");
  if (bytes.size() < 8)
    return fileError(name, "truncated .npy header (no format version)");
  const unsigned major = static_cast<unsigned char>(bytes[6]);
  const unsigned minor = static_cast<unsigned char>(bytes[7]);
  if (major < 1 || major > 3 || minor != 0)
    return fileError(name, "unsupported .npy format version " + std::to_string(major) + "." +
                               std::to_string(minor) + " (1.0, 2.0 and 3.0 are read)");
  // Version 1.0 stores the header length in 2 bytes, 2.0 and 3.0 in 4 (little-endian).
  const size_t lengthBytes = major == 1 ? 2 : 4;
  const size_t offset = 8 + lengthBytes;
  if (bytes.size() < offset)
    return fileError(name, "truncated .npy header (no header length)");
  size_t headerLen = 0;
  for (size_t i = 0; i < lengthBytes; ++i)
    headerLen |= size_t(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
  if (headerLen > bytes.size() - offset)
    return fileError(name, "truncated .npy header (" + std::to_string(headerLen) +
                               " bytes announced, " + std::to_string(bytes.size() - offset) +
                               " in the file)");
  Array a;
  HeaderParser header(bytes.substr(offset, headerLen));
  // Text quoted from the header (ASCII by the format) goes out in printable ASCII.
  if (!header.parse(a))
    return fileError(name, rt::printableAscii(header.error));
  if (a.itemSize() == 0)
    return fileError(name, "dtype '" + rt::printableAscii(a.descr) +
                               "' is not supported (little-endian float32, float16, int32, int64, "
                               "uint16/int16 bit patterns, uint8 or int8)");
  std::optional<int64_t> need = byteSize(a.shape, a.itemSize());
  if (!need)
    return fileError(name, "shape " + shapeText(a.shape) + " of " + a.descr +
                               " is too large (its byte size overflows int64)");
  const size_t have = bytes.size() - offset - headerLen;
  if (uint64_t(*need) != have)
    return fileError(name, "the data is " + std::to_string(have) + " bytes but shape " +
                               shapeText(a.shape) + " of " + a.descr + " needs " +
                               std::to_string(*need));
  const char *data = bytes.data() + offset + headerLen;
  a.data.assign(data, data + have);
  return a;
}

rt::Expected<Array> read(const std::string &path) {
  struct stat info;
  if (::stat(path.c_str(), &info) != 0)
    return fileError(path, std::string("cannot read: ") + std::strerror(errno), rt::ErrorCode::IO);
  if (S_ISDIR(info.st_mode))
    return fileError(path, "cannot read: is a directory, not a .npy file", rt::ErrorCode::IO);
  // A device or pipe (/dev/zero) would be read until memory runs out before its header is
  // looked at.
  if (!S_ISREG(info.st_mode))
    return fileError(path, "cannot read: not a regular file", rt::ErrorCode::IO);
  std::FILE *f = std::fopen(path.c_str(), "rb");
  if (!f)
    return fileError(path, std::string("cannot read: ") + std::strerror(errno), rt::ErrorCode::IO);
  std::string bytes;
  char buffer[65536];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), f)) > 0)
    bytes.append(buffer, n);
  const bool failed = std::ferror(f);
  const int readErrno = errno;
  std::fclose(f);
  if (failed)
    return fileError(path, std::string("cannot read: ") + std::strerror(readErrno),
                     rt::ErrorCode::IO);
  return parse(bytes, path);
}

rt::Status write(const std::string &path, const Array &a) {
  std::optional<int64_t> need = byteSize(a.shape, a.itemSize());
  if (a.itemSize() == 0 || !need || uint64_t(*need) != a.data.size())
    return fileError(path, "internal error: array data does not match its dtype and shape",
                     rt::ErrorCode::InvalidArgument);
  std::string header = "{'descr': '" + a.descr + "', 'fortran_order': False, 'shape': " +
                       shapeText(a.shape) + ", }";
  // The data starts on a 64-byte boundary: 10 bytes of preamble, the header, a newline.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  if (header.size() > 0xffff)
    return fileError(path, "header too long for .npy format 1.0", rt::ErrorCode::InvalidArgument);
  std::ofstream out(path, std::ios::binary);
  if (!out)
    return fileError(path, std::string("cannot write: ") + std::strerror(errno), rt::ErrorCode::IO);
  char pre[10] = {'\x93', 'N', 'U', 'M', 'P', 'Y', 1, 0, 0, 0};
  pre[8] = static_cast<char>(header.size() & 0xff);
  pre[9] = static_cast<char>(header.size() >> 8);
  out.write(pre, 10);
  out << header;
  out.write(a.data.data(), static_cast<std::streamsize>(a.data.size()));
  out.close();
  return out ? rt::Status::success() : fileError(path, "write failed", rt::ErrorCode::IO);
}

} // namespace ds::npy
