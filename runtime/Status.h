// Error handling and small vocabulary types of the ds runtime.
//
// The runtime never throws, aborts or exits: every fallible call returns a Status (ok, or an
// error with a message) or an Expected<T> (a value, or an error Status).
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace ds::rt {

/// What kind of failure a Status reports; lets callers (e.g. tests) tell "no GPU here" apart from
/// real errors without matching message text.
enum class ErrorCode : uint8_t {
  Ok = 0,
  DriverNotFound, ///< libcuda could not be loaded or lacks a required symbol.
  NoDevice,       ///< The driver loaded but there is no (such) CUDA device.
  Driver,         ///< A driver call returned an error.
  InvalidArgument,///< The caller passed something inconsistent (shapes, sizes, indices...).
  Parse,          ///< A bundle or expression could not be parsed.
  IO,             ///< A file could not be read or written.
};

class [[nodiscard]] Status {
public:
  /// An ok status.
  Status() = default;
  static Status success() { return Status(); }
  static Status error(std::string message, ErrorCode code = ErrorCode::InvalidArgument) {
    Status s;
    s.code_ = code == ErrorCode::Ok ? ErrorCode::InvalidArgument : code;
    s.message_ = std::move(message);
    return s;
  }

  bool ok() const { return code_ == ErrorCode::Ok; }
  ErrorCode code() const { return code_; }
  /// Empty for an ok status.
  const std::string &message() const { return message_; }

  /// Returns this error with "context: " put in front of the message (ok stays ok).
  Status withContext(const std::string &context) const {
    if (ok())
      return *this;
    return error(context + ": " + message_, code_);
  }

private:
  ErrorCode code_ = ErrorCode::Ok;
  std::string message_;
};

/// A value of type T or an error Status.
template <typename T> class [[nodiscard]] Expected {
public:
  Expected(T value) : value_(std::move(value)) {}
  /// `status` must be an error; an ok status is turned into an "internal error" (never UB).
  Expected(Status status)
      : status_(status.ok() ? Status::error("internal error: Expected built from an ok Status")
                            : std::move(status)) {}

  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }
  /// The error (an ok Status when this holds a value).
  const Status &status() const { return status_; }
  const std::string &message() const { return status_.message(); }

  /// Precondition: ok().
  T &value() & { return *value_; }
  const T &value() const & { return *value_; }
  T &&value() && { return std::move(*value_); }
  T &operator*() & { return *value_; }
  const T &operator*() const & { return *value_; }
  T *operator->() { return &*value_; }
  const T *operator->() const { return &*value_; }

private:
  std::optional<T> value_;
  Status status_;
};

/// A non-owning view of a contiguous array (std::span is C++20).
template <typename T> class Span {
public:
  using value_type = std::remove_cv_t<T>;
  constexpr Span() = default;
  constexpr Span(T *data, size_t size) : data_(data), size_(size) {}
  template <size_t N> constexpr Span(T (&array)[N]) : data_(array), size_(N) {}
  /// Any contiguous container (std::vector, std::array, std::string, Span...). A temporary
  /// container is only valid for the duration of the full expression (use for call arguments).
  template <typename C, typename = decltype(std::declval<C &>().data()),
            typename = std::enable_if_t<std::is_convertible_v<
                std::remove_pointer_t<decltype(std::declval<C &>().data())> (*)[], T (*)[]>>>
  constexpr Span(C &&container) : data_(container.data()), size_(container.size()) {}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winit-list-lifetime"
#endif
  /// Only valid for the duration of the full expression (use for call arguments).
  constexpr Span(std::initializer_list<value_type> list)
      : data_(list.begin()), size_(list.size()) {}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

  constexpr T *data() const { return data_; }
  constexpr size_t size() const { return size_; }
  constexpr bool empty() const { return size_ == 0; }
  constexpr T &operator[](size_t i) const { return data_[i]; }
  constexpr T *begin() const { return data_; }
  constexpr T *end() const { return data_ + size_; }

private:
  T *data_ = nullptr;
  size_t size_ = 0;
};

/// `text` with every byte outside printable ASCII written as \xNN: for quoting text read from a
/// file that should be ASCII (a bundle's lines, an .npy header) into a message, so that a damaged
/// file does not put raw bytes on a terminal. At most `maxBytes` bytes of `text` are quoted; the
/// rest is counted ("... (N more bytes)"), so a huge token or binary run keeps the message short.
inline std::string printableAscii(std::string_view text, size_t maxBytes = 512) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  const size_t more = text.size() > maxBytes ? text.size() - maxBytes : 0;
  text = text.substr(0, text.size() - more);
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (more)
    out += "... (" + std::to_string(more) + " more bytes)";
  return out;
}

} // namespace ds::rt

/// Internal helper: return early with the error of a Status-returning expression.
#define DS_RT_RETURN_IF_ERROR(expr)                                                                \
  do {                                                                                             \
    ::ds::rt::Status ds_rt_status_ = (expr);                                                       \
    if (!ds_rt_status_.ok())                                                                       \
      return ds_rt_status_;                                                                        \
  } while (0)
