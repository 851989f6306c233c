#pragma once

// The one shape in which a seam's implementations are named, so config can
// pick them (osquery's RegistryFactory, Envoy's Registry::FactoryRegistry):
// each implementation registers an entry under its name from its own .cpp
// file, and the seam looks entries up by that name.
//
// Entries are added by explicit registration functions that the seam calls
// from one place when its registry is first used (e.g. builtin actuators in
// agent/actuator.cpp), not by static registrar objects. The agent is built as
// a static library, and a linker keeps an object file out of an executable
// when nothing refers to it: a self-registering actuator would silently be
// missing from pso-agent (osquery and Envoy both need whole-archive linking
// or "force link" lists for this). Calling each registration function names
// its object file, so every implementation is linked, the order is fixed
// (messages list names in it), and no registration runs during static
// initialisation.

#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pso::common {

/// Implementations of one seam by name. `Entry` has a `std::string name`
/// and whatever the seam needs to build one (a factory, the config keys it
/// reads). Filled once, then only read: safe to share between threads.
template <typename Entry>
class Registry {
 public:
  /// Adds an implementation's entry (or several) to the registry it is given.
  using Registration = void (*)(Registry& registry);

  Registry() = default;
  /// Runs each registration function, in order.
  explicit Registry(std::initializer_list<Registration> registrations) {
    for (Registration registration : registrations) registration(*this);
  }

  /// Adds `entry`. Registering a name twice is a programming error and aborts.
  void add(Entry entry) {
    if (find(entry.name) != nullptr) {
      std::fprintf(stderr, "registry: '%s' is registered twice\n", entry.name.c_str());
      std::abort();
    }
    entries_.push_back(std::move(entry));
  }

  /// The entry named `name`, or nullptr.
  const Entry* find(std::string_view name) const {
    for (const Entry& entry : entries_) {
      if (entry.name == name) return &entry;
    }
    return nullptr;
  }

  /// Every entry, in registration order.
  const std::vector<Entry>& entries() const { return entries_; }

  std::vector<std::string> names() const {
    std::vector<std::string> names;
    for (const Entry& entry : entries_) names.push_back(entry.name);
    return names;
  }

  /// The names joined for a message: nameList(", ") gives "a, b, c";
  /// nameList(", ", " or ") gives "a, b or c".
  std::string nameList(std::string_view separator, std::string_view last_separator = {}) const {
    if (last_separator.empty()) last_separator = separator;
    std::string list;
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      if (i > 0) list += i + 1 == entries_.size() ? last_separator : separator;
      list += entries_[i].name;
    }
    return list;
  }

 private:
  std::vector<Entry> entries_;
};

}  // namespace pso::common
