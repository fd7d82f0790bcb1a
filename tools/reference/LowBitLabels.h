#ifndef DS_TOOLS_REFERENCE_LOWBITLABELS_H
#define DS_TOOLS_REFERENCE_LOWBITLABELS_H

// Low-bit label caches on the host (ds.label_append with label_scales): fp8 (e4m3) or int4
// labels with one f16 scale per (kv head, slot). The quantization is written independently of
// the GPU kernel (the e4m3 code is found by searching the format's values), so a bit-exact match
// checks the kernel's integer rounding; the int4 search for a scale and zero point repeats the
// kernel's f32 operations in its order (no contraction on either side).
#include "tools/reference/Reference.h"

#include <cstdint>
#include <vector>

namespace ds::ref {

enum class LabelFormat { Plain, FP8, Int4 };

struct LowBitLabels {
  std::vector<uint8_t> data;    ///< fp8: [rows, r] codes; int4: [rows, r / 2] bytes (label 2i in the low nibble)
  std::vector<uint16_t> scales; ///< [rows] f16
};

/// The value of an e4m3 (fn) code (0x7f / 0xff, NaN, never produced, read as NaN).
double e4m3Value(uint8_t code);
/// The e4m3 code nearest to `v` (ties to the even code), saturated at +-448.
uint8_t e4m3Code(float v);

/// Quantizes `rows` rows of `r` labels (16-bit patterns of `type`) as label_append does.
LowBitLabels quantizeLabels(const std::vector<uint16_t> &labels, int64_t rows, int64_t r, Half type,
                            LabelFormat format);
/// Quantizes rows of real labels (already rounded to the pipeline's dtype).
LowBitLabels quantizeLabels(const std::vector<float> &labels, int64_t rows, int64_t r,
                            LabelFormat format);
/// The labels as the scorer reads them: scale * value, [rows, r].
std::vector<double> dequantizeLabels(const LowBitLabels &q, int64_t rows, int64_t r,
                                     LabelFormat format);

} // namespace ds::ref

#endif // DS_TOOLS_REFERENCE_LOWBITLABELS_H
