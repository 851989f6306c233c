#pragma once

// Config sections declared key by key, the way fluent-bit's config_map[] and
// osquery's flags are: each key is written once, with its name, its type (the
// member it fills), its default, its check and a one-line doc, and everything
// else is derived from that one declaration: which keys a section accepts,
// how it is read, how it is checked, what a factory refuses in a config built
// in code, and what the example files must document.
//
// The default is the member's initialiser in the section struct (read through
// the member pointer from a default-constructed section), so it too is written
// once; a key whose empty value stands for something computed says what with
// emptyMeans().
//
// A check sees the value and the whole section (for rules across keys such as
// "max_cpu is 0 or at least min_cpu") and returns a Problem: a missing setting
// (rendered "required for kind docker" by the reader, "needs 'image'" by a
// factory) or a wrong value ("must be positive").

#include <yaml-cpp/yaml.h>

#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/config.h"
#include "common/registry.h"

namespace pso::common {

/// What a check found wrong.
struct Problem {
  bool missing = false;  ///< a required setting is absent
  std::string what;      ///< a wrong value: why; a missing setting: an optional hint

  static Problem required(std::string hint = {}) { return {true, std::move(hint)}; }
  static Problem invalid(std::string what) { return {false, std::move(what)}; }
};
using Finding = std::optional<Problem>;

/// A key's value type, as documentation names it.
enum class ValueType {
  kString,
  kPath,
  kInteger,
  kNumber,
  kBoolean,
  kDuration,
  kList,
  kMapping,
  kSection
};
const char* valueTypeName(ValueType type);

/// A value the way the example configs write a default: "5s", "0.7", "[/]";
/// "" for an empty string, list or mapping.
std::string formatConfigValue(const std::string& value);
std::string formatConfigValue(int64_t value);
std::string formatConfigValue(double value);
std::string formatConfigValue(bool value);
std::string formatConfigValue(Duration value);
std::string formatConfigValue(const std::vector<std::string>& value);
std::string formatConfigValue(const std::map<std::string, std::string>& value);

/// One key of a `Section` struct: name, type, default, check and doc.
template <typename Section>
class ConfigKey {
 public:
  /// A key filling `member`. `check(value, section)` returns a Finding; the
  /// default (no check) accepts every value of the type.
  template <typename T, typename CheckFn = std::nullptr_t>
  ConfigKey(std::string_view name, T Section::*member, std::string_view doc,
            CheckFn check = nullptr)
      : name_(name), doc_(doc), type_(typeOf<T>()) {
    read_ = [member, key = name_](ConfigReader& r, const YAML::Node& map, const std::string& path,
                                  Section& out) { r.field(map, path, key, out.*member); };
    default_ = [member] { return formatConfigValue(Section{}.*member); };
    if constexpr (!std::is_same_v<CheckFn, std::nullptr_t>) {
      check_ = [member, check](const Section& s) -> Finding { return check(s.*member, s); };
    }
  }

  /// A string key naming a file; a relative path is resolved against the
  /// directory of the config file it is read from.
  template <typename CheckFn = std::nullptr_t>
  static ConfigKey path(std::string_view name, std::string Section::*member, std::string_view doc,
                        CheckFn check = nullptr) {
    ConfigKey key(name, member, doc, check);
    key.type_ = ValueType::kPath;
    key.read_ = [member, key_name = key.name_](ConfigReader& r, const YAML::Node& map,
                                               const std::string& p, Section& out) {
      r.pathField(map, p, key_name, out.*member);
    };
    return key;
  }

  /// A nested section (a mapping or a list of them) that the owner reads
  /// itself; declared so that it is accepted and documented.
  static ConfigKey section(std::string_view name, std::string_view doc,
                           std::string_view default_text = {}) {
    ConfigKey key;
    key.name_ = name;
    key.doc_ = doc;
    key.type_ = ValueType::kSection;
    key.default_ = [text = std::string(default_text)] { return text; };
    return key;
  }

  /// What an empty value stands for ("the host name"), as its default is documented.
  ConfigKey emptyMeans(std::string_view meaning) && {
    std::function<std::string()> plain = std::move(default_);
    default_ = [plain, text = std::string(meaning)] {
      std::string value = plain();
      return value.empty() ? text : value;
    };
    return std::move(*this);
  }

  const std::string& name() const { return name_; }
  const std::string& doc() const { return doc_; }
  ValueType type() const { return type_; }
  /// The default as the docs write it; empty when there is none to show.
  std::string defaultText() const { return default_ ? default_() : std::string(); }

  /// Reads the key from the mapping `map` into `out` (absent: unchanged).
  void read(ConfigReader& r, const YAML::Node& map, const std::string& path, Section& out) const {
    if (read_ && !r.failed()) read_(r, map, path, out);
  }
  /// The key's check on a whole section; nullopt when it passes.
  Finding check(const Section& section) const { return check_ ? check_(section) : std::nullopt; }

 private:
  ConfigKey() = default;

  template <typename T>
  static constexpr ValueType typeOf() {
    if constexpr (std::is_same_v<T, std::string>) {
      return ValueType::kString;
    } else if constexpr (std::is_same_v<T, int64_t>) {
      return ValueType::kInteger;
    } else if constexpr (std::is_same_v<T, double>) {
      return ValueType::kNumber;
    } else if constexpr (std::is_same_v<T, bool>) {
      return ValueType::kBoolean;
    } else if constexpr (std::is_same_v<T, Duration>) {
      return ValueType::kDuration;
    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      return ValueType::kList;
    } else {
      static_assert(
          std::is_same_v<T, std::map<std::string, std::string>>,
          "a config key is a string, integer, number, boolean, duration, list or mapping");
      return ValueType::kMapping;
    }
  }

  std::string name_;
  std::string doc_;
  ValueType type_ = ValueType::kString;
  std::function<void(ConfigReader&, const YAML::Node&, const std::string&, Section&)> read_;
  std::function<std::string()> default_;
  std::function<Finding(const Section&)> check_;
};

template <typename Section>
using KeyList = std::vector<ConfigKey<Section>>;

/// Checks for ConfigKey, usable on any member type they make sense for.
namespace checks {

template <typename T>
bool isEmptyValue(const T& value) {
  if constexpr (std::is_same_v<T, Duration>) {
    return value.count() == 0;
  } else if constexpr (std::is_arithmetic_v<T>) {
    return value == 0;
  } else {
    return value.empty();
  }
}

/// The setting must be given (a non-empty string or list); `hint` says what it is.
inline auto required(std::string hint = {}) {
  return [hint](const auto& value, const auto& /*section*/) -> Finding {
    if (isEmptyValue(value)) return Problem::required(hint);
    return std::nullopt;
  };
}

inline auto notEmpty() {
  return [](const auto& value, const auto& /*section*/) -> Finding {
    if (isEmptyValue(value)) return Problem::invalid("must not be empty");
    return std::nullopt;
  };
}

/// Greater than zero: a number, or a duration.
inline auto positive() {
  return [](const auto& value, const auto& /*section*/) -> Finding {
    if constexpr (std::is_same_v<std::decay_t<decltype(value)>, Duration>) {
      if (value.count() > 0) return std::nullopt;
    } else {
      if (value > 0) return std::nullopt;
    }
    return Problem::invalid("must be positive");
  };
}

inline auto notNegative() {
  return [](const auto& value, const auto& /*section*/) -> Finding {
    if (value >= 0) return std::nullopt;
    return Problem::invalid("must not be negative");
  };
}

/// One of `allowed`: "'loud' is not one of trace | debug | ...".
inline auto oneOf(std::vector<std::string> allowed) {
  return [allowed](const std::string& value, const auto& /*section*/) -> Finding {
    std::string list;
    for (const std::string& a : allowed) {
      if (value == a) return std::nullopt;
      list += (list.empty() ? "" : " | ") + a;
    }
    return Problem::invalid("'" + value + "' is not one of " + list);
  };
}

/// The log levels common/logging.h accepts.
inline auto logLevel() {
  return oneOf({"trace", "debug", "info", "warn", "warning", "error", "critical", "off"});
}

}  // namespace checks

/// The names `keys` declare, for ConfigReader::map().
template <typename Section>
std::vector<std::string_view> keyNames(const KeyList<Section>& keys) {
  std::vector<std::string_view> names;
  for (const ConfigKey<Section>& key : keys) names.emplace_back(key.name());
  return names;
}

/// Reads every key of `keys` present in `map` into `out`.
template <typename Section>
void readKeys(ConfigReader& r, const YAML::Node& map, const std::string& path,
              const KeyList<Section>& keys, Section& out) {
  for (const ConfigKey<Section>& key : keys) key.read(r, map, path, out);
}

/// Runs the checks of `keys` on `section`, in declaration order, and records
/// the first problem against its key: a missing setting as "required" plus
/// `required_for` ("for kind docker") and its hint.
template <typename Section>
void checkKeys(ConfigReader& r, const YAML::Node& map, const std::string& path,
               const KeyList<Section>& keys, const Section& section,
               const std::string& required_for = {}) {
  for (const ConfigKey<Section>& key : keys) {
    if (r.failed()) return;
    Finding problem = key.check(section);
    if (!problem) continue;
    std::string what = problem->what;
    if (problem->missing) {
      what = "required" + (required_for.empty() ? "" : " " + required_for) +
             (problem->what.empty() ? "" : ": " + problem->what);
    }
    r.check(false, map, path, key.name(), what);
  }
}

/// Reads a section made of `keys` (plus the nested sections the owner reads,
/// declared with ConfigKey::section) and checks it. False when the section is
/// absent, null or refused; the caller then leaves its nested sections alone.
template <typename Section>
bool readSection(ConfigReader& r, const YAML::Node& map, const std::string& path,
                 const KeyList<Section>& keys, Section& out) {
  if (!r.map(map, path, keyNames(keys))) return false;
  readKeys(r, map, path, keys, out);
  checkKeys(r, map, path, keys, out);
  return !r.failed();
}

/// Why `section`, built in code, cannot work, the way a factory says it:
/// every missing setting at once ("<subject> needs 'url' and 'metric'"),
/// otherwise the first wrong value ("<subject>: speed: must be positive"; the
/// key is left out when it is `own_key`, the key naming the component). The
/// checks are the ones the config reader runs, so a rule is written once.
template <typename Section>
std::optional<std::string> refusal(const Section& section,
                                   std::initializer_list<const KeyList<Section>*> lists,
                                   const std::string& subject, std::string_view own_key = {}) {
  std::vector<std::string> missing;
  std::string hint;
  std::optional<std::string> first_invalid;
  for (const KeyList<Section>* keys : lists) {
    for (const ConfigKey<Section>& key : *keys) {
      Finding problem = key.check(section);
      if (!problem) continue;
      if (problem->missing) {
        missing.push_back("'" + key.name() + "'");
        if (hint.empty()) hint = problem->what;
      } else if (!first_invalid) {
        first_invalid =
            subject + ": " + (key.name() == own_key ? "" : key.name() + ": ") + problem->what;
      }
    }
  }
  if (!missing.empty()) {
    std::string names;
    for (std::size_t i = 0; i < missing.size(); ++i) {
      names += (i == 0 ? "" : i + 1 == missing.size() ? " and " : ", ") + missing[i];
    }
    return subject + " needs " + names + (missing.size() == 1 && !hint.empty() ? ", " + hint : "");
  }
  return first_invalid;
}

/// One key as the docs show it, with the components that read it (empty: the
/// section's own key).
struct KeyDoc {
  std::string name;
  const char* type = "";
  std::string default_text;
  std::string doc;
  std::vector<std::string> readers;
};

/// A section of a config file and its keys. `path` leaves list indices out:
/// "systems.actuator".
struct SectionDoc {
  std::string path;
  std::vector<KeyDoc> keys;
};

/// Adds `keys` to `out`, merging a key several components declare into one
/// entry that lists them all.
template <typename Section>
void describeKeys(const KeyList<Section>& keys, std::vector<KeyDoc>& out,
                  const std::string& reader = {}) {
  for (const ConfigKey<Section>& key : keys) {
    KeyDoc* doc = nullptr;
    for (KeyDoc& existing : out) {
      if (existing.name == key.name()) doc = &existing;
    }
    if (doc == nullptr) {
      doc = &out.emplace_back();
      doc->name = key.name();
      doc->type = valueTypeName(key.type());
      doc->default_text = key.defaultText();
      doc->doc = key.doc();
    }
    if (!reader.empty()) doc->readers.push_back(reader);
  }
}

/// The docs of a section made of `keys`.
template <typename Section>
SectionDoc sectionDoc(std::string path, const KeyList<Section>& keys) {
  SectionDoc doc{std::move(path), {}};
  describeKeys(keys, doc.keys);
  return doc;
}

/// A section that picks one registered component by name, such as an
/// actuator ("kind: docker") or a demand source ("source: prometheus"). It
/// accepts the shared keys and every key any registered component declares
/// (so one example can document them all), reads them, and then runs the
/// shared checks and the chosen component's. `Entry` is a registry entry with
/// `name` and `keys` (KeyList<Entry::Section>).
template <typename Entry>
struct ComponentSection {
  using Section = typename Entry::Section;

  const Registry<Entry>* registry = nullptr;
  /// Keys every component reads; the selector key among them.
  const KeyList<Section>* shared = nullptr;
  /// The member naming the chosen component.
  std::string Section::*selected = nullptr;
  /// The key naming it ("kind"); empty when the component is chosen by which
  /// of the registered names is present as a key (a health check's "tcp:").
  std::string selector;
  /// How a missing setting is explained: "kind" gives "required for kind docker".
  std::string noun;

  /// The shared keys, then each component's, each name once.
  KeyList<Section> keys() const {
    KeyList<Section> all = *shared;
    for (const Entry& entry : registry->entries()) {
      for (const ConfigKey<Section>& key : entry.keys) {
        bool known = false;
        for (const ConfigKey<Section>& k : all) known = known || k.name() == key.name();
        if (!known) all.push_back(key);
      }
    }
    return all;
  }

  /// Docs of every key, each with the components that read it.
  std::vector<KeyDoc> describe() const {
    std::vector<KeyDoc> docs;
    describeKeys(*shared, docs);
    for (const Entry& entry : registry->entries()) describeKeys(entry.keys, docs, entry.name);
    return docs;
  }

  /// Reads and checks the section at `map`. Returns the chosen component, or
  /// nullptr when the section is absent (the defaults stand, unchecked, as
  /// for every other section) or refused.
  const Entry* read(ConfigReader& r, const YAML::Node& map, const std::string& path,
                    Section& out) const {
    const KeyList<Section> all = keys();
    if (!r.map(map, path, keyNames(all))) return nullptr;
    if (selector.empty() && !choosePresent(r, map, path, out)) return nullptr;
    readKeys(r, map, path, all, out);
    if (r.failed()) return nullptr;
    const Entry* entry = registry->find(out.*selected);
    if (entry == nullptr) {
      r.check(false, map, path, selector,
              "'" + out.*selected + "' is not one of " + registry->nameList(" | "));
      return nullptr;
    }
    checkKeys(r, map, path, *shared, out);
    checkKeys(r, map, path, entry->keys, out, "for " + noun + " " + entry->name);
    return r.failed() ? nullptr : entry;
  }

 private:
  bool choosePresent(ConfigReader& r, const YAML::Node& map, const std::string& path,
                     Section& out) const {
    int found = 0;
    for (const Entry& entry : registry->entries()) {
      if (ConfigReader::at(map, entry.name).IsDefined()) {
        ++found;
        out.*selected = entry.name;
      }
    }
    if (found != 1) {
      r.fail(map, path, "exactly one of " + registry->nameList(", ", " or ") + " is required");
      return false;
    }
    return true;
  }
};

}  // namespace pso::common
