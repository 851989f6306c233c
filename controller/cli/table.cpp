#include "controller/cli/table.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace pso::cli {
namespace {

// Shrinkable columns keep at least this many columns (or their header's
// width), so a cut cell still says what it starts with.
constexpr std::size_t kMinShrunkWidth = 8;
constexpr std::size_t kColumnGap = 2;

bool isContinuationByte(char byte) {
  return (static_cast<unsigned char>(byte) & 0xC0) == 0x80;
}

}  // namespace

std::size_t displayWidth(const std::string& text) {
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return !isContinuationByte(c); }));
}

std::string ellipsize(const std::string& text, std::size_t width) {
  if (displayWidth(text) <= width) return text;
  if (width == 0) return "";
  // Keep width - 1 code points, then the ellipsis.
  std::size_t kept = 0;
  std::size_t end = 0;
  while (end < text.size()) {
    if (!isContinuationByte(text[end])) {
      if (kept == width - 1) break;
      ++kept;
    }
    ++end;
  }
  return text.substr(0, end) + "\u2026";
}

Table& Table::shrinkable(const std::string& header) {
  shrinkable_.resize(header_.size(), false);
  for (std::size_t i = 0; i < header_.size(); ++i) {
    if (header_[i] == header) shrinkable_[i] = true;
  }
  return *this;
}

void Table::print(std::ostream& out, const TableStyle& style) const {
  std::vector<std::size_t> widths(header_.size(), 0);
  auto widen = [&](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], displayWidth(row[i]));
    }
  };
  if (style.headers) widen(header_);
  for (const auto& row : rows_) widen(row);

  if (style.max_width > 0 && !widths.empty()) {
    std::size_t total = kColumnGap * (widths.size() - 1);
    for (std::size_t w : widths) total += w;
    // Take one column at a time from the widest shrinkable column: the
    // longest texts lose the most, short ones stay whole.
    while (total > style.max_width) {
      std::size_t widest = widths.size();
      for (std::size_t i = 0; i < widths.size(); ++i) {
        if (i >= shrinkable_.size() || !shrinkable_[i]) continue;
        const std::size_t floor =
            std::max(kMinShrunkWidth, style.headers ? displayWidth(header_[i]) : 0);
        if (widths[i] <= floor) continue;
        if (widest == widths.size() || widths[i] > widths[widest]) widest = i;
      }
      if (widest == widths.size()) break;
      --widths[widest];
      --total;
    }
  }

  auto emit = [&](const std::vector<std::string>& row) {
    std::string line;
    for (std::size_t i = 0; i < widths.size(); ++i) {
      const std::string cell = ellipsize(i < row.size() ? row[i] : "", widths[i]);
      line += cell;
      if (i + 1 < widths.size()) {
        line += std::string(widths[i] - displayWidth(cell) + kColumnGap, ' ');
      }
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << '\n';
  };
  if (style.headers) emit(header_);
  for (const auto& row : rows_) emit(row);
}

std::string formatNumber(double value, int decimals) {
  if (std::isnan(value)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  std::string s = buf;
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  return s == "-0" ? "0" : s;
}

}  // namespace pso::cli
