#include "controller/scenarios/jcs.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

namespace pso::controller::scenarios {
namespace {

using nlohmann::json;

// Largest magnitude below which every whole double is exactly an integer
// (ECMAScript prints such numbers without exponent or fraction).
constexpr double kExactIntegerLimit = 9007199254740992.0;  // 2^53

// The UTF-16 code units of a UTF-8 string, or false when it is not valid UTF-8.
bool utf16Units(const std::string& text, std::vector<uint16_t>& units) {
  units.clear();
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    uint32_t cp = 0;
    std::size_t length = 0;
    if (lead < 0x80) {
      cp = lead;
      length = 1;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      cp = lead & 0x1F;
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      cp = lead & 0x0F;
      length = 3;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      cp = lead & 0x07;
      length = 4;
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (next & 0x3F);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8.
    if ((length == 3 && cp < 0x800) || (length == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      units.push_back(static_cast<uint16_t>(0xD800 + (cp >> 10)));
      units.push_back(static_cast<uint16_t>(0xDC00 + (cp & 0x3FF)));
    } else {
      units.push_back(static_cast<uint16_t>(cp));
    }
    i += length;
  }
  return true;
}

Status appendString(const std::string& text, std::string& out) {
  std::vector<uint16_t> units;
  if (!utf16Units(text, units)) return makeError("invalid", "a string is not valid UTF-8");
  static const char kHex[] = "0123456789abcdef";
  out += '"';
  for (char ch : text) {
    const auto byte = static_cast<unsigned char>(ch);
    switch (ch) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (byte < 0x20) {
          out += "\\u00";
          out += kHex[byte >> 4];
          out += kHex[byte & 0x0F];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
  return Status();
}

Status appendNumber(const json& value, std::string& out) {
  if (value.is_number_integer()) {
    out += value.is_number_unsigned() ? std::to_string(value.get<uint64_t>())
                                      : std::to_string(value.get<int64_t>());
    return Status();
  }
  const double d = value.get<double>();
  if (!std::isfinite(d) || std::trunc(d) != d || std::fabs(d) >= kExactIntegerLimit) {
    return makeError("invalid", "a number that is not an integer cannot be canonicalized here");
  }
  // -0 prints as 0 in ECMAScript.
  out += std::to_string(static_cast<int64_t>(d) == 0 ? 0 : static_cast<int64_t>(d));
  return Status();
}

// Nesting deeper than this is refused rather than recursed into (a hostile
// file must not exhaust the stack).
constexpr int kMaxDepth = 64;

Status append(const json& value, std::string& out, int depth) {
  if (depth > kMaxDepth) return makeError("invalid", "nested deeper than 64 levels");
  switch (value.type()) {
    case json::value_t::null:
      out += "null";
      return Status();
    case json::value_t::boolean:
      out += value.get<bool>() ? "true" : "false";
      return Status();
    case json::value_t::string:
      return appendString(value.get_ref<const std::string&>(), out);
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return appendNumber(value, out);
    case json::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& item : value) {
        if (!first) out += ',';
        first = false;
        if (auto st = append(item, out, depth + 1); !st.ok()) return st;
      }
      out += ']';
      return Status();
    }
    case json::value_t::object: {
      std::vector<std::pair<std::vector<uint16_t>, const std::string*>> names;
      for (auto it = value.begin(); it != value.end(); ++it) {
        std::vector<uint16_t> units;
        if (!utf16Units(it.key(), units)) return makeError("invalid", "a name is not valid UTF-8");
        names.emplace_back(std::move(units), &it.key());
      }
      std::sort(names.begin(), names.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      out += '{';
      bool first = true;
      for (const auto& [units, name] : names) {
        if (!first) out += ',';
        first = false;
        if (auto st = appendString(*name, out); !st.ok()) return st;
        out += ':';
        if (auto st = append(value.at(*name), out, depth + 1); !st.ok()) return st;
      }
      out += '}';
      return Status();
    }
    case json::value_t::binary:
    case json::value_t::discarded:
      break;
  }
  return makeError("invalid", "not a JSON value");
}

}  // namespace

Result<std::string> canonicalJson(const json& value) {
  std::string out;
  if (auto st = append(value, out, 0); !st.ok()) return st.error();
  return out;
}

}  // namespace pso::controller::scenarios
