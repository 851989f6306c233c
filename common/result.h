#pragma once

#include <string>
#include <utility>
#include <variant>

namespace pso {

/// An expected failure: a bad config line, a malformed message, a refused
/// command. `code` is a short stable token used for counting (e.g. in
/// /metrics: "missing_field", "oversize"); `message` is the one-line reason a
/// person reads, naming what was wrong.
struct Error {
  std::string code;
  std::string message;
};

/// Result of an operation that can fail in an expected way: either a value or
/// an Error. Exceptions are reserved for programming errors.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : data_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(data_); }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<T>(data_); }
  const T& value() const& { return std::get<T>(data_); }
  T&& value() && { return std::get<T>(std::move(data_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<Error>(data_); }

 private:
  std::variant<T, Error> data_;
};

/// Result of an operation with no value: ok, or an Error.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

/// Shorthand for building an Error in a return statement.
inline Error makeError(std::string code, std::string message) {
  return Error{std::move(code), std::move(message)};
}

}  // namespace pso
