#include "protocol/names.h"

#include <cstdio>

namespace pso::protocol {
namespace {

bool isAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool allowed(char c, NameKind kind) {
  if (isAlnum(c) || c == '.' || c == '_' || c == '-') return true;
  return kind == NameKind::kMetric && (c == ':' || c == '/');
}

bool allowedFirst(char c, NameKind kind) {
  return isAlnum(c) || (kind == NameKind::kMetric && c == '_');
}

}  // namespace

std::string nameProblem(std::string_view name, NameKind kind) {
  const std::size_t limit = kind == NameKind::kMetric ? kMaxMetricNameLength : kMaxIdLength;
  if (name.empty() || name.size() > limit) {
    return "must be 1-" + std::to_string(limit) + " characters, got " + std::to_string(name.size());
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (allowed(c, kind) && (i > 0 || allowedFirst(c, kind))) continue;
    char shown[8];
    std::snprintf(shown, sizeof shown, "0x%02x",
                  static_cast<unsigned>(static_cast<unsigned char>(c)));
    if (i == 0 && allowed(c, kind)) {
      return std::string("must start with a letter or digit") +
             (kind == NameKind::kMetric ? " or '_'" : "") + ", got " + shown;
    }
    return std::string("character ") + shown + " at " + std::to_string(i) +
           " is not allowed (letters, digits, '.', '_', '-'" +
           (kind == NameKind::kMetric ? ", ':', '/'" : "") + ")";
  }
  return {};
}

bool isValidName(std::string_view name, NameKind kind) {
  return nameProblem(name, kind).empty();
}

}  // namespace pso::protocol
