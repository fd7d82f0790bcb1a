#ifndef DS_TOOLS_DSRUN_NPY_H
#define DS_TOOLS_DSRUN_NPY_H

// Minimal .npy (NumPy format 1.0-3.0) reading and writing: little-endian, C order.
#include "runtime/Status.h"

#include <cstdint>
#include <string>
#include <vector>

namespace ds::npy {

struct Array {
  std::string descr; ///< "<f4", "<f2", "<u2", "<i2", "<i4", "<i8"
  std::vector<int64_t> shape;
  std::vector<char> data;
  size_t itemSize() const;
  int64_t count() const;
};

rt::Expected<Array> read(const std::string &path);
rt::Status write(const std::string &path, const Array &array);

} // namespace ds::npy

#endif // DS_TOOLS_DSRUN_NPY_H
