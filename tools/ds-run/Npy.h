#ifndef DS_TOOLS_DSRUN_NPY_H
#define DS_TOOLS_DSRUN_NPY_H

// Minimal .npy (NumPy format 1.0, 2.0, 3.0) reading and writing: little-endian, C order.
// Reading is strict and never throws or aborts: the header dict must hold exactly 'descr',
// 'fortran_order' (False) and 'shape' (a tuple of non-negative integers), and the data must be
// exactly count * itemsize bytes. Every error names the file.
#include "runtime/Status.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ds::npy {

struct Array {
  std::string descr; ///< "<f4", "<f2", "<u2", "<i2", "<i4", "<u4", "<i8"
  std::vector<int64_t> shape;
  std::vector<char> data;
  /// Bytes per element of `descr` (0 for an unknown descr).
  size_t itemSize() const;
  /// Product of the dims (1 for rank 0). read() guarantees it fits in int64.
  int64_t count() const;
};

/// count(shape) * itemSize, or nullopt on a negative dim or int64 overflow.
std::optional<int64_t> byteSize(const std::vector<int64_t> &shape, size_t itemSize);

/// Parses the bytes of a .npy file; `name` (the file) prefixes every error.
rt::Expected<Array> parse(std::string_view bytes, const std::string &name);
/// Reads and parses `path`: a missing file, a directory or a read error is an ErrorCode::IO error.
rt::Expected<Array> read(const std::string &path);
/// Writes format 1.0; `array.data` must hold exactly count * itemSize bytes.
rt::Status write(const std::string &path, const Array &array);

} // namespace ds::npy

#endif // DS_TOOLS_DSRUN_NPY_H
