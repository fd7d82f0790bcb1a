#include "tools/ds-run/Npy.h"

#include <cstring>
#include <fstream>
#include <sstream>

namespace ds::npy {

size_t Array::itemSize() const {
  return descr.size() >= 3 ? static_cast<size_t>(std::stoi(descr.substr(2))) : 0;
}

int64_t Array::count() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

static std::string field(const std::string &header, const std::string &key) {
  size_t at = header.find("'" + key + "'");
  if (at == std::string::npos)
    return "";
  size_t colon = header.find(':', at);
  if (colon == std::string::npos)
    return "";
  size_t start = header.find_first_not_of(' ', colon + 1);
  if (start == std::string::npos)
    return "";
  char open = header[start];
  size_t end = open == '(' ? header.find(')', start) + 1
               : open == '\'' ? header.find('\'', start + 1) + 1
                              : header.find_first_of(",}", start);
  return end == std::string::npos || end <= start ? "" : header.substr(start, end - start);
}

rt::Expected<Array> read(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return rt::Status::error("cannot read '" + path + "'", rt::ErrorCode::IO);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto bad = [&](const std::string &what) {
    return rt::Status::error("'" + path + "' is not a .npy file we can read: " + what,
                             rt::ErrorCode::Parse);
  };
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0)
    return bad("no NUMPY magic");
  int major = static_cast<unsigned char>(bytes[6]);
  size_t headerLen, offset;
  if (major == 1) {
    headerLen = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12)
      return bad("truncated header");
    uint32_t len;
    std::memcpy(&len, bytes.data() + 8, 4);
    headerLen = len;
    offset = 12;
  } else {
    return bad("format version " + std::to_string(major));
  }
  if (offset + headerLen > bytes.size())
    return bad("truncated header");
  std::string header = bytes.substr(offset, headerLen);
  Array a;
  std::string descr = field(header, "descr");
  if (descr.size() < 2)
    return bad("no descr");
  a.descr = descr.substr(1, descr.size() - 2);
  if (a.descr.size() >= 2 && a.descr[0] == '|')
    a.descr[0] = '<';
  static const char *known[] = {"<f4", "<f2", "<u2", "<i2", "<i4", "<i8", "<u4"};
  bool ok = false;
  for (const char *k : known)
    ok |= a.descr == k;
  if (!ok)
    return bad("dtype '" + a.descr + "' (use float32, float16, int32, int64 or uint16 bits)");
  if (field(header, "fortran_order").rfind("True", 0) == 0)
    return bad("fortran_order arrays are not supported (save a C-contiguous array)");
  std::string shape = field(header, "shape");
  if (shape.size() < 2)
    return bad("no shape");
  std::stringstream dims(shape.substr(1, shape.size() - 2));
  std::string item;
  while (std::getline(dims, item, ',')) {
    size_t s = item.find_first_not_of(' ');
    if (s == std::string::npos)
      continue;
    char *end = nullptr;
    long long v = std::strtoll(item.c_str() + s, &end, 10);
    if (v < 0)
      return bad("negative dim");
    a.shape.push_back(v);
  }
  size_t payload = static_cast<size_t>(a.count()) * a.itemSize();
  if (bytes.size() - offset - headerLen < payload)
    return bad("data is shorter than its shape says");
  a.data.assign(bytes.begin() + offset + headerLen, bytes.begin() + offset + headerLen + payload);
  return a;
}

rt::Status write(const std::string &path, const Array &a) {
  std::string shape = "(";
  for (int64_t d : a.shape)
    shape += std::to_string(d) + ",";
  if (a.shape.size() > 1)
    shape.pop_back();
  shape += ")";
  std::string header = "{'descr': '" + a.descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  if (!out)
    return rt::Status::error("cannot write '" + path + "'", rt::ErrorCode::IO);
  char pre[10] = {'\x93', 'N', 'U', 'M', 'P', 'Y', 1, 0, 0, 0};
  pre[8] = static_cast<char>(header.size() & 0xff);
  pre[9] = static_cast<char>(header.size() >> 8);
  out.write(pre, 10);
  out << header;
  out.write(a.data.data(), static_cast<std::streamsize>(a.data.size()));
  return out ? rt::Status::success() : rt::Status::error("write to '" + path + "' failed", rt::ErrorCode::IO);
}

} // namespace ds::npy
