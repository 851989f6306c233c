#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace pso::cli {

/// A plain-text table for people: a header row, aligned columns, no borders.
class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void addRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }
  void print(std::ostream& out) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

/// Formats a number with up to `decimals` decimals, trailing zeros trimmed.
std::string formatNumber(double value, int decimals = 1);

}  // namespace pso::cli
