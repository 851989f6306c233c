#pragma once

// Reading and parsing the small text files of /proc, /sys and cgroup v2, shared
// by the samplers and the cgroup actuator. Parsers never allocate per line and
// report a bad line as "<path>:<line>: expected ..., got '<line>'".

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace pso::agent {

/// Walks a buffer line by line, counting lines from 1 for error messages.
class LineCursor {
 public:
  explicit LineCursor(std::string_view text) : text_(text) {}
  bool next(std::string_view& line);
  int number() const { return number_; }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
  int number_ = 0;
};

/// Returns the next token separated by spaces, tabs or line ends, and
/// advances `rest` past it; empty at the end.
std::string_view nextToken(std::string_view& rest);

/// Whole-token parsers: false on an empty token or trailing characters.
/// parseDouble also refuses "nan" and "inf": no series may carry a value the
/// protocol refuses (a non-finite number would make the whole batch refused).
bool parseU64(std::string_view token, uint64_t& value);
bool parseI64(std::string_view token, int64_t& value);
bool parseDouble(std::string_view token, double& value);

/// "<path>:<line>: expected <expected>, got '<line cut to 80 characters>'"
/// with code "malformed".
Error lineError(const std::string& path, int line_number, const std::string& expected,
                std::string_view line);

/// Reads a whole file into `buffer` (reused: it only grows when a file is
/// larger than any read before). Files under /proc and /sys report size 0, so
/// it reads until EOF. Error code "not_found" when the file does not exist,
/// "io" for other failures, naming the path and the reason.
[[nodiscard]] Status readSmallFile(const std::string& path, std::string& buffer);

/// The "some"/"full" avg10 percentages of a pressure file
/// ("some avg10=1.00 avg60=... total=..."). `full` is absent in cpu.pressure
/// of kernels before 5.13.
struct Pressure {
  double some_avg10 = 0.0;
  std::optional<double> full_avg10;
};
[[nodiscard]] Result<Pressure> parsePressure(const std::string& path, std::string_view text);

}  // namespace pso::agent
