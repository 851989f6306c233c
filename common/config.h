#pragma once

// What both products read their YAML configuration with (docs/architecture.md
// section 7): durations, a reader that walks a document and keeps the first
// problem, and file loading. What a file may contain is declared beside its
// owner, key by key (common/config_schema.h): the agent's schema in
// agent/agent_config.h, the controller's in controller/config/controller_config.h.
//
// Every key is optional. An unknown key, a duplicate key, a wrong type, a YAML
// syntax error or a bad value is an Error with code "invalid" whose message
// names the file, the 1-based line and the key path, e.g.
//   "/etc/pso/agent.yaml:12: systems[0].max_replicas: expected an integer, got 'ten'".
// A key that is present but empty (null) keeps its default.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace YAML {
class Node;
}

namespace pso::common {

using Duration = std::chrono::milliseconds;

/// Parses "500ms", "5s", "2m", "1h", "1d" (also bare numbers as seconds and
/// decimals such as "1.5s"; rounded to whole milliseconds). Negative values
/// and unknown units are Error code "invalid".
[[nodiscard]] Result<Duration> parseDuration(const std::string& text);

/// Formats a duration the way parseDuration reads it ("1500ms" -> "1.5s").
std::string formatDuration(Duration d);

/// CurveZMQ key material. Each product declares the keys it reads (the agent:
/// server_public_key and secret_key_file; the controller: secret_key_file and
/// authorized_keys_dir).
struct CurveConfig {
  std::string server_public_key;    ///< agent: the controller's public key (Z85)
  std::string secret_key_file;      ///< file holding this process's key pair
  std::string authorized_keys_dir;  ///< controller: one agent public key per file
  bool enabled() const { return !secret_key_file.empty(); }
};

/// Walks one YAML document, reading typed values into config structs and
/// keeping the first problem with its file, line and key path; after a
/// problem every call is a no-op, so a schema reads on without checking.
/// Reads leave the default in place for an absent or null key.
class ConfigReader {
 public:
  /// @param origin the file named in messages; relative paths read with
  /// pathField() are resolved against its directory.
  explicit ConfigReader(std::string origin);

  bool failed() const { return error_.has_value(); }
  const Error& error() const { return *error_; }

  /// Records `what` against `path`, at the line of `at` (none when `at` is
  /// not defined). Only the first problem is kept.
  void fail(const YAML::Node& at, const std::string& path, const std::string& what);

  /// Records a bad value of `key` in the mapping `map`, at the key's line (or
  /// the mapping's when the key is absent). Nothing happens when `ok`.
  void check(bool ok, const YAML::Node& map, const std::string& path, std::string_view key,
             const std::string& what);

  static std::string child(const std::string& path, std::string_view key);
  static std::string index(const std::string& path, std::size_t i);
  /// Defined and not null.
  static bool present(const YAML::Node& node);
  /// The mapping entry `key` of `map`; undefined when absent (never inserts).
  static YAML::Node at(const YAML::Node& map, std::string_view key);

  /// True for a mapping whose keys are all in `allowed` and unique; records
  /// "unknown key" or "duplicate key" otherwise. False, silently, for an
  /// absent or null node (the section keeps its defaults).
  bool map(const YAML::Node& node, const std::string& path,
           const std::vector<std::string_view>& allowed);
  /// True for a list; false, silently, for an absent or null node.
  bool sequence(const YAML::Node& node, const std::string& path);

  /// Reads `map[key]` into `out`, the path extended by `key`.
  void field(const YAML::Node& map, const std::string& path, std::string_view key,
             std::string& out);
  void field(const YAML::Node& map, const std::string& path, std::string_view key, int64_t& out);
  void field(const YAML::Node& map, const std::string& path, std::string_view key, double& out);
  void field(const YAML::Node& map, const std::string& path, std::string_view key, bool& out);
  void field(const YAML::Node& map, const std::string& path, std::string_view key, Duration& out);
  void field(const YAML::Node& map, const std::string& path, std::string_view key,
             std::vector<std::string>& out);
  void field(const YAML::Node& map, const std::string& path, std::string_view key,
             std::map<std::string, std::string>& out);
  /// A string naming a file: a relative one is resolved against the config
  /// file's directory, so an example config works from any working directory.
  void pathField(const YAML::Node& map, const std::string& path, std::string_view key,
                 std::string& out);

 private:
  void read(const YAML::Node& node, const std::string& path, std::string& out);
  bool scalar(const YAML::Node& node, const std::string& path, const char* expected);

  std::string origin_;
  std::optional<Error> error_;
};

/// Reads a config file's text. A missing file or a directory is code "io".
[[nodiscard]] Result<std::string> readConfigFile(const std::string& path);

/// Parses `yaml` and hands its root to `body`, which reads it with the
/// reader. YAML syntax errors (and problems yaml-cpp finds only when a node is
/// used) become code "invalid" with the line; otherwise the reader's first
/// problem is the result.
[[nodiscard]] Status readConfigDocument(
    const std::string& yaml, const std::string& origin,
    const std::function<void(ConfigReader&, const YAML::Node& root)>& body);

}  // namespace pso::common
