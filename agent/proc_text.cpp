#include "agent/proc_text.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "common/text.h"

namespace pso::agent {

bool LineCursor::next(std::string_view& line) {
  if (pos_ >= text_.size()) return false;
  std::size_t end = text_.find('\n', pos_);
  if (end == std::string_view::npos) end = text_.size();
  line = text_.substr(pos_, end - pos_);
  pos_ = end + 1;
  ++number_;
  return true;
}

std::string_view nextToken(std::string_view& rest) {
  std::size_t begin = rest.find_first_not_of(" \t\n\r");
  if (begin == std::string_view::npos) {
    rest = {};
    return {};
  }
  std::size_t end = rest.find_first_of(" \t\n\r", begin);
  if (end == std::string_view::npos) end = rest.size();
  std::string_view token = rest.substr(begin, end - begin);
  rest = rest.substr(end);
  return token;
}

bool parseU64(std::string_view token, uint64_t& value) {
  const std::optional<uint64_t> parsed = common::parseUint64(token);
  if (parsed) value = *parsed;
  return parsed.has_value();
}

bool parseI64(std::string_view token, int64_t& value) {
  const std::optional<int64_t> parsed = common::parseInt64(token);
  if (parsed) value = *parsed;
  return parsed.has_value();
}

bool parseDouble(std::string_view token, double& value) {
  const std::optional<double> parsed = common::parseDouble(token);
  if (parsed) value = *parsed;
  return parsed.has_value();
}

Error lineError(const std::string& path, int line_number, const std::string& expected,
                std::string_view line) {
  // Cut short so a binary file cannot produce a huge log line.
  constexpr std::size_t kMax = 80;
  std::string quoted = "'";
  quoted.append(line.substr(0, kMax));
  if (line.size() > kMax) quoted.append("...");
  quoted.append("'");
  return makeError("malformed", path + ":" + std::to_string(line_number) + ": expected " +
                                    expected + ", got " + quoted);
}

Status readSmallFile(const std::string& path, std::string& buffer) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    return makeError(err == ENOENT ? "not_found" : "io",
                     "cannot read " + path + ": " + std::strerror(err));
  }
  buffer.clear();
  std::size_t used = 0;
  for (;;) {
    if (buffer.capacity() - used < 4096) buffer.reserve(buffer.capacity() * 2 + 4096);
    buffer.resize(buffer.capacity());
    ssize_t n = ::read(fd, buffer.data() + used, buffer.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      buffer.clear();
      return makeError("io", "cannot read " + path + ": " + std::strerror(err));
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  ::close(fd);
  buffer.resize(used);
  return {};
}

Result<Pressure> parsePressure(const std::string& path, std::string_view text) {
  Pressure pressure;
  bool have_some = false;
  LineCursor lines(text);
  std::string_view line;
  while (lines.next(line)) {
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    std::string_view rest = line;
    std::string_view kind = nextToken(rest);
    std::string_view avg10 = nextToken(rest);
    double value = 0.0;
    if ((kind != "some" && kind != "full") || avg10.substr(0, 6) != "avg10=" ||
        !parseDouble(avg10.substr(6), value) || value < 0) {
      return lineError(path, lines.number(), "'some|full avg10=<percent> ...'", line);
    }
    if (kind == "some") {
      pressure.some_avg10 = value;
      have_some = true;
    } else {
      pressure.full_avg10 = value;
    }
  }
  if (!have_some) return makeError("malformed", path + ": no 'some' line");
  return pressure;
}

}  // namespace pso::agent
