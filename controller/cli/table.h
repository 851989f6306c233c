#pragma once

#include <cstddef>
#include <ostream>
#include <string>
#include <vector>

namespace pso::cli {

/// How a table is laid out: with or without its header row, and the width it
/// must fit (0: no limit, every cell whole, as `-o wide` prints).
struct TableStyle {
  bool headers = true;
  std::size_t max_width = 120;
};

/// A plain-text table for people: a header row, aligned columns, no borders.
/// Columns marked shrinkable (free text: rationale, reason, message) are
/// shortened with an ellipsis, widest first, until the table fits the
/// style's width; the other columns are never cut, so a table of many narrow
/// columns may still be wider.
class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void addRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  /// Lets the column of this header name be shortened to fit; an unknown name
  /// changes nothing.
  Table& shrinkable(const std::string& header);
  bool empty() const { return rows_.empty(); }
  void print(std::ostream& out, const TableStyle& style = {}) const;

 private:
  std::vector<std::string> header_;
  std::vector<bool> shrinkable_;
  std::vector<std::vector<std::string>> rows_;
};

/// Columns `text` takes on a terminal: UTF-8 code points (each counted as one
/// column; psoctl prints no wide characters of its own).
std::size_t displayWidth(const std::string& text);

/// `text` cut to at most `width` columns, ending in "…" when it was cut.
std::string ellipsize(const std::string& text, std::size_t width);

/// Formats a number with up to `decimals` decimals, trailing zeros trimmed.
std::string formatNumber(double value, int decimals = 1);

}  // namespace pso::cli
