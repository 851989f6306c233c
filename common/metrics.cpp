#include "common/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>
#include <utility>

namespace pso::common {
namespace {

// Prometheus text format 0.0.4: label values escape backslash, double quote
// and newline; HELP text escapes backslash and newline only.
std::string escape(const std::string& text, bool quote) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    if (ch == '\\') {
      out += "\\\\";
    } else if (ch == '\n') {
      out += "\\n";
    } else if (ch == '"' && quote) {
      out += "\\\"";
    } else {
      out += ch;
    }
  }
  return out;
}

std::string formatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  // Shortest representation that reads back exactly; whole numbers print
  // without an exponent or fraction ("3", not "3.0").
  const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(v);
}

}  // namespace

void MetricsRegistry::describe(const std::string& name, const std::string& type,
                               const std::string& help) {
  std::lock_guard lock(mutex_);
  Family& family = families_[name];
  family.type = type;
  family.help = help;
}

void MetricsRegistry::increment(const std::string& name, const Labels& labels, double by) {
  std::lock_guard lock(mutex_);
  families_[name].values[labels] += by;
}

void MetricsRegistry::set(const std::string& name, const Labels& labels, double value) {
  std::lock_guard lock(mutex_);
  families_[name].values[labels] = value;
}

void MetricsRegistry::describeHistogram(const std::string& name, const std::string& help,
                                        std::vector<double> bounds) {
  std::lock_guard lock(mutex_);
  Family& family = families_[name];
  family.type = "histogram";
  family.help = help;
  family.bounds = std::move(bounds);
}

void MetricsRegistry::observe(const std::string& name, const Labels& labels, double value) {
  std::lock_guard lock(mutex_);
  auto family = families_.find(name);
  if (family == families_.end() || family->second.type != "histogram") return;
  const auto& bounds = family->second.bounds;
  Histogram& h = family->second.histograms[labels];
  if (h.counts.empty()) h.counts.assign(bounds.size() + 1, 0);
  const auto bucket = static_cast<std::size_t>(
      std::lower_bound(bounds.begin(), bounds.end(), value) - bounds.begin());
  ++h.counts[bucket];
  h.sum += value;
  ++h.count;
}

void MetricsRegistry::setGaugeTable(const std::string& name, const std::string& label,
                                    std::vector<std::pair<std::string, double>> rows) {
  // Sorted (and one row per label value, the last given) outside the lock.
  std::stable_sort(rows.begin(), rows.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  auto last = std::unique(rows.rbegin(), rows.rend(),
                          [](const auto& a, const auto& b) { return a.first == b.first; });
  rows.erase(rows.begin(), last.base());
  auto table = std::make_shared<const std::vector<std::pair<std::string, double>>>(std::move(rows));
  std::lock_guard lock(mutex_);
  Family& family = families_[name];
  family.values.clear();
  family.table_label = label;
  family.table = std::move(table);
}

double MetricsRegistry::value(const std::string& name, const Labels& labels) const {
  std::lock_guard lock(mutex_);
  const auto family = families_.find(name);
  if (family == families_.end()) return 0.0;
  if (family->second.table) {
    const auto& table = *family->second.table;
    const auto label = labels.find(family->second.table_label);
    if (labels.size() != 1 || label == labels.end()) return 0.0;
    const auto row = std::lower_bound(
        table.begin(), table.end(), label->second,
        [](const auto& entry, const std::string& key) { return entry.first < key; });
    return row == table.end() || row->first != label->second ? 0.0 : row->second;
  }
  if (family->second.type == "histogram") {
    const auto h = family->second.histograms.find(labels);
    return h == family->second.histograms.end() ? 0.0 : static_cast<double>(h->second.count);
  }
  const auto it = family->second.values.find(labels);
  return it == family->second.values.end() ? 0.0 : it->second;
}

double MetricsRegistry::total(const std::string& name) const {
  std::lock_guard lock(mutex_);
  const auto family = families_.find(name);
  if (family == families_.end()) return 0.0;
  const auto add = [](double sum, const auto& entry) { return sum + entry.second; };
  const double tabled =
      family->second.table
          ? std::accumulate(family->second.table->begin(), family->second.table->end(), 0.0, add)
          : 0.0;
  return std::accumulate(family->second.values.begin(), family->second.values.end(), tabled, add);
}

std::string MetricsRegistry::renderPrometheus() const {
  // A copy of the families, the gauge tables shared: the lock is held for
  // the copy, not for writing tens of thousands of lines.
  std::vector<std::pair<std::string, Family>> families;
  {
    std::lock_guard lock(mutex_);
    families.assign(families_.begin(), families_.end());
  }
  return renderFamilies(families);
}

std::string MetricsRegistry::renderPrometheus(const std::vector<std::string>& names) const {
  std::vector<std::pair<std::string, Family>> families;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [name, family] : families_) {
      if (std::find(names.begin(), names.end(), name) != names.end()) {
        families.emplace_back(name, family);
      }
    }
  }
  return renderFamilies(families);
}

std::string MetricsRegistry::renderFamilies(
    const std::vector<std::pair<std::string, Family>>& families) {
  std::string out;
  auto line = [&out](const std::string& name, const Labels& labels, double value) {
    out += name;
    if (!labels.empty()) {
      out += '{';
      bool first = true;
      for (const auto& [key, label_value] : labels) {
        if (!first) out += ',';
        first = false;
        out += key + "=\"" + escape(label_value, true) + "\"";
      }
      out += '}';
    }
    out += ' ' + formatValue(value) + '\n';
  };
  for (const auto& [name, family] : families) {
    if (!family.help.empty()) out += "# HELP " + name + " " + escape(family.help, false) + "\n";
    out += "# TYPE " + name + " " + family.type + "\n";
    for (const auto& [labels, value] : family.values) line(name, labels, value);
    if (family.table) {
      for (const auto& [label_value, value] : *family.table) {
        out += name + '{' + family.table_label + "=\"" + escape(label_value, true) + "\"} " +
               formatValue(value) + '\n';
      }
    }
    for (const auto& [labels, h] : family.histograms) {
      uint64_t cumulative = 0;
      for (std::size_t i = 0; i < h.counts.size(); ++i) {
        cumulative += h.counts[i];
        Labels with_le = labels;
        with_le["le"] = i < family.bounds.size() ? formatValue(family.bounds[i]) : "+Inf";
        line(name + "_bucket", with_le, static_cast<double>(cumulative));
      }
      line(name + "_sum", labels, h.sum);
      line(name + "_count", labels, static_cast<double>(h.count));
    }
  }
  return out;
}

}  // namespace pso::common
