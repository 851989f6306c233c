#include "common/config.h"

#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <optional>
#include <set>
#include <sstream>

namespace pso::common {

Result<Duration> parseDuration(const std::string& text) {
  const auto bad = [&text] {
    return makeError("invalid",
                     "bad duration '" + text + "' (expected e.g. 500ms, 5s, 2m, 1h, 1d)");
  };
  std::size_t end = 0;
  while (end < text.size() &&
         (std::isdigit(static_cast<unsigned char>(text[end])) || text[end] == '.')) {
    ++end;
  }
  if (end == 0) return bad();
  double number = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + end, number);
  if (ec != std::errc() || ptr != text.data() + end) return bad();
  const std::string unit = text.substr(end);
  double ms_per_unit = 0;
  if (unit.empty() || unit == "s") {
    ms_per_unit = 1000;
  } else if (unit == "ms") {
    ms_per_unit = 1;
  } else if (unit == "m") {
    ms_per_unit = 60'000;
  } else if (unit == "h") {
    ms_per_unit = 3'600'000;
  } else if (unit == "d") {
    ms_per_unit = 86'400'000;
  } else {
    return bad();
  }
  const double ms = std::round(number * ms_per_unit);
  // Far beyond any sensible setting, but below the int64 limit.
  if (!std::isfinite(ms) || ms > 1e15) return bad();
  return Duration(static_cast<int64_t>(ms));
}

std::string formatDuration(Duration d) {
  int64_t ms = d.count();
  if (ms < 0) return "-" + formatDuration(Duration(-ms));
  if (ms == 0) return "0s";
  static constexpr std::pair<int64_t, const char*> kUnits[] = {
      {86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1000, "s"}};
  for (const auto& [size, unit] : kUnits) {
    if (ms % size == 0) return std::to_string(ms / size) + unit;
  }
  if (ms < 1000) return std::to_string(ms) + "ms";
  // Seconds with up to three decimals, trailing zeros dropped: "1.5s".
  std::string fraction = std::to_string(1000 + ms % 1000).substr(1);
  while (fraction.back() == '0') fraction.pop_back();
  return std::to_string(ms / 1000) + "." + fraction + "s";
}

namespace {

using KeySet = std::initializer_list<const char*>;

// Walks a YAML document, reading typed values into config structs and
// remembering the first error with its file, line and key path. Readers leave
// the default in place for an absent or null key (every key is optional).
class Reader {
 public:
  explicit Reader(std::string origin) : origin_(std::move(origin)) {}

  bool failed() const { return error_.has_value(); }
  const Error& error() const { return *error_; }

  void fail(const YAML::Node& at, const std::string& path, const std::string& what,
            const char* code = "invalid") {
    if (error_) return;
    const YAML::Mark mark = at.IsDefined() ? at.Mark() : YAML::Mark::null_mark();
    std::string where = origin_;
    if (mark.line >= 0) where += ":" + std::to_string(mark.line + 1);
    error_ = Error{code, where + ": " + (path.empty() ? "" : path + ": ") + what};
  }

  static std::string child(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }
  static std::string index(const std::string& path, std::size_t i) {
    return path + "[" + std::to_string(i) + "]";
  }

  static bool present(const YAML::Node& node) { return node.IsDefined() && !node.IsNull(); }

  // A map whose keys are all in `allowed` and unique. An absent or null node
  // passes (the section keeps its defaults).
  bool map(const YAML::Node& node, const std::string& path, KeySet allowed) {
    if (failed() || !present(node)) return false;
    if (!node.IsMap()) {
      fail(node, path, "expected a mapping, got " + describe(node));
      return false;
    }
    std::set<std::string> seen;
    for (const auto& entry : node) {
      const YAML::Node& key = entry.first;
      const std::string name = key.IsScalar() ? key.Scalar() : "<non-scalar key>";
      bool known = false;
      for (const char* a : allowed) known = known || name == a;
      if (!known) {
        fail(key, child(path, name), "unknown key");
        return false;
      }
      if (!seen.insert(name).second) {
        fail(key, child(path, name), "duplicate key");
        return false;
      }
    }
    return true;
  }

  // A sequence; absent or null means "keep the default".
  bool sequence(const YAML::Node& node, const std::string& path) {
    if (failed() || !present(node)) return false;
    if (!node.IsSequence()) {
      fail(node, path, "expected a list, got " + describe(node));
      return false;
    }
    return true;
  }

  bool scalar(const YAML::Node& node, const std::string& path, const char* expected) {
    if (failed() || !present(node)) return false;
    if (!node.IsScalar()) {
      fail(node, path, std::string("expected ") + expected + ", got " + describe(node));
      return false;
    }
    return true;
  }

  void read(const YAML::Node& node, const std::string& path, std::string& out) {
    if (scalar(node, path, "a string")) out = node.Scalar();
  }

  void read(const YAML::Node& node, const std::string& path, int64_t& out) {
    if (!scalar(node, path, "an integer")) return;
    const std::string& s = node.Scalar();
    int64_t v = 0;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || ptr != s.data() + s.size()) {
      fail(node, path, "expected an integer, got '" + s + "'");
      return;
    }
    out = v;
  }

  void read(const YAML::Node& node, const std::string& path, double& out) {
    if (!scalar(node, path, "a number")) return;
    const std::string& s = node.Scalar();
    double v = 0;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(v)) {
      fail(node, path, "expected a number, got '" + s + "'");
      return;
    }
    out = v;
  }

  void read(const YAML::Node& node, const std::string& path, bool& out) {
    if (!scalar(node, path, "true or false")) return;
    const std::string& s = node.Scalar();
    if (s == "true" || s == "yes" || s == "on" || s == "True" || s == "TRUE") {
      out = true;
    } else if (s == "false" || s == "no" || s == "off" || s == "False" || s == "FALSE") {
      out = false;
    } else {
      fail(node, path, "expected true or false, got '" + s + "'");
    }
  }

  void read(const YAML::Node& node, const std::string& path, Duration& out) {
    if (!scalar(node, path, "a duration")) return;
    auto d = parseDuration(node.Scalar());
    if (!d) {
      fail(node, path, d.error().message);
      return;
    }
    out = *d;
  }

  void read(const YAML::Node& node, const std::string& path, std::vector<std::string>& out) {
    if (!sequence(node, path)) return;
    std::vector<std::string> items;
    for (std::size_t i = 0; i < node.size() && !failed(); ++i) {
      std::string item;
      if (!present(node[i])) {
        fail(node[i], index(path, i), "expected a string, got null");
      }
      read(node[i], index(path, i), item);
      items.push_back(std::move(item));
    }
    out = std::move(items);
  }

  void read(const YAML::Node& node, const std::string& path,
            std::map<std::string, std::string>& out) {
    if (failed() || !present(node)) return;
    if (!node.IsMap()) {
      fail(node, path, "expected a mapping, got " + describe(node));
      return;
    }
    std::map<std::string, std::string> items;
    for (const auto& entry : node) {
      if (!entry.first.IsScalar()) {
        fail(entry.first, path, "keys must be strings");
        return;
      }
      const std::string key = entry.first.Scalar();
      read(entry.second, child(path, key), items[key]);
    }
    out = std::move(items);
  }

  // Reads `node[key]` into `out` with the path extended by `key`.
  template <typename T>
  void field(const YAML::Node& node, const std::string& path, const char* key, T& out) {
    if (!failed()) read(node[key], child(path, key), out);
  }

  // Reports a bad value against the node of `key` (or the enclosing map).
  void check(bool ok, const YAML::Node& node, const std::string& path, const char* key,
             const std::string& what) {
    if (ok || failed()) return;
    const YAML::Node at = (present(node) && node.IsMap() && node[key]) ? node[key] : node;
    fail(at, child(path, key), what);
  }

  void oneOf(const std::string& value, KeySet allowed, const YAML::Node& node,
             const std::string& path, const char* key) {
    std::string list;
    for (const char* a : allowed) {
      if (value == a) return;
      list += (list.empty() ? "" : " | ") + std::string(a);
    }
    check(false, node, path, key, "'" + value + "' is not one of " + list);
  }

 private:
  static std::string describe(const YAML::Node& node) {
    switch (node.Type()) {
      case YAML::NodeType::Map:
        return "a mapping";
      case YAML::NodeType::Sequence:
        return "a list";
      case YAML::NodeType::Scalar:
        return "'" + node.Scalar() + "'";
      default:
        return "nothing";
    }
  }

  std::string origin_;
  std::optional<Error> error_;
};

constexpr KeySet kLogLevels = {"trace",   "debug", "info",     "warn",
                               "warning", "error", "critical", "off"};

std::string hostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') return "pso-agent";
  return buf;
}

// The directory relative paths in a config are resolved against: the config
// file's own directory, so an example config works from any working directory.
std::filesystem::path baseDirectory(const std::string& origin) {
  return std::filesystem::path(origin).parent_path();
}

void readDemand(Reader& r, const YAML::Node& node, const std::string& path,
                const std::filesystem::path& base, DemandSourceConfig& d) {
  if (!r.map(node, path,
             {"source", "url", "metric", "labels", "command", "file", "speed", "loop", "scale",
              "timeout", "rate"})) {
    return;
  }
  r.field(node, path, "source", d.source);
  r.field(node, path, "url", d.url);
  r.field(node, path, "metric", d.metric);
  r.field(node, path, "labels", d.labels);
  r.field(node, path, "command", d.command);
  r.field(node, path, "file", d.file);
  r.field(node, path, "speed", d.speed);
  r.field(node, path, "loop", d.loop);
  r.field(node, path, "scale", d.scale);
  r.field(node, path, "timeout", d.timeout);
  r.field(node, path, "rate", d.rate);
  if (r.failed()) return;
  r.oneOf(d.rate, {"auto", "true", "false"}, node, path, "rate");
  r.oneOf(d.source, {"prometheus", "command", "replay", "host", "cgroup"}, node, path, "source");
  if (d.source == "prometheus") {
    r.check(!d.url.empty(), node, path, "url", "required for source prometheus");
    r.check(!d.metric.empty(), node, path, "metric", "required for source prometheus");
  } else if (d.source == "command") {
    r.check(!d.command.empty(), node, path, "command", "required for source command");
  } else if (d.source == "replay") {
    r.check(!d.file.empty(), node, path, "file", "required for source replay");
  } else {
    r.check(!d.metric.empty(), node, path, "metric", "required for source " + d.source);
  }
  r.check(d.speed > 0, node, path, "speed", "must be positive");
  r.check(d.timeout.count() > 0, node, path, "timeout", "must be positive");
  if (!d.file.empty() && std::filesystem::path(d.file).is_relative() && !base.empty()) {
    d.file = (base / d.file).lexically_normal().string();
  }
}

void readHealth(Reader& r, const YAML::Node& node, const std::string& path, HealthCheckConfig& h) {
  if (!r.present(node)) {
    r.fail(node, path, "expected a mapping with http, tcp or command, got nothing");
    return;
  }
  if (!r.map(node, path,
             {"http", "tcp", "command", "interval", "timeout", "failure_threshold", "status_min",
              "status_max", "body_contains"})) {
    return;
  }
  int kinds = 0;
  for (const char* kind : {"http", "tcp", "command"}) {
    if (node[kind]) {
      ++kinds;
      h.kind = kind;
    }
  }
  if (kinds != 1) {
    r.fail(node, path, "exactly one of http, tcp or command is required");
    return;
  }
  if (h.kind == "command") {
    r.field(node, path, "command", h.command);
    r.check(!h.command.empty(), node, path, "command", "must not be empty");
    for (const auto& arg : h.command) h.target += (h.target.empty() ? "" : " ") + arg;
  } else {
    r.field(node, path, h.kind.c_str(), h.target);
    r.check(!h.target.empty(), node, path, h.kind.c_str(), "must not be empty");
  }
  r.field(node, path, "interval", h.interval);
  r.field(node, path, "timeout", h.timeout);
  r.field(node, path, "failure_threshold", h.failure_threshold);
  r.field(node, path, "status_min", h.status_min);
  r.field(node, path, "status_max", h.status_max);
  r.field(node, path, "body_contains", h.body_contains);
  if (r.failed()) return;
  if (h.kind == "tcp") {
    const auto colon = h.target.rfind(':');
    int64_t port = 0;
    const bool has_port =
        colon != std::string::npos && colon > 0 &&
        std::from_chars(h.target.data() + colon + 1, h.target.data() + h.target.size(), port).ptr ==
            h.target.data() + h.target.size();
    r.check(has_port && port > 0 && port < 65536, node, path, "tcp",
            "expected host:port, got '" + h.target + "'");
  }
  r.check(h.interval.count() > 0, node, path, "interval", "must be positive");
  r.check(h.timeout.count() > 0, node, path, "timeout", "must be positive");
  r.check(h.failure_threshold >= 1, node, path, "failure_threshold", "must be at least 1");
  r.check(h.status_min >= 100 && h.status_min <= 599, node, path, "status_min",
          "must be an HTTP status (100-599)");
  r.check(h.status_max >= h.status_min && h.status_max <= 599, node, path, "status_max",
          "must be between status_min and 599");
}

void readActuator(Reader& r, const YAML::Node& node, const std::string& path, ActuatorConfig& a) {
  if (!r.map(node, path,
             {"kind",       "command",     "status_command", "timeout",       "cooldown",
              "dry_run",    "stop_grace",  "unit",           "systemctl",     "min_cpu",
              "max_cpu",    "min_memory",  "max_memory",     "cpu_period_us", "socket",
              "image",      "labels",      "api_version",    "api_server",    "namespace",
              "deployment", "statefulset", "token_file",     "ca_file"})) {
    return;
  }
  r.field(node, path, "kind", a.kind);
  r.field(node, path, "command", a.command);
  r.field(node, path, "status_command", a.status_command);
  r.field(node, path, "timeout", a.timeout);
  r.field(node, path, "cooldown", a.cooldown);
  r.field(node, path, "dry_run", a.dry_run);
  r.field(node, path, "stop_grace", a.stop_grace);
  r.field(node, path, "unit", a.unit);
  r.field(node, path, "systemctl", a.systemctl);
  r.field(node, path, "min_cpu", a.min_cpu);
  r.field(node, path, "max_cpu", a.max_cpu);
  r.field(node, path, "min_memory", a.min_memory);
  r.field(node, path, "max_memory", a.max_memory);
  r.field(node, path, "cpu_period_us", a.cpu_period_us);
  r.field(node, path, "socket", a.socket);
  r.field(node, path, "image", a.image);
  r.field(node, path, "labels", a.labels);
  r.field(node, path, "api_version", a.api_version);
  r.field(node, path, "api_server", a.api_server);
  r.field(node, path, "namespace", a.namespace_);
  r.field(node, path, "deployment", a.deployment);
  r.field(node, path, "statefulset", a.statefulset);
  r.field(node, path, "token_file", a.token_file);
  r.field(node, path, "ca_file", a.ca_file);
  if (r.failed()) return;
  r.oneOf(a.kind, {"exec", "process-pool", "systemd", "cgroup", "docker", "kubernetes"}, node, path,
          "kind");
  if (a.kind == "exec" || a.kind == "process-pool") {
    r.check(!a.command.empty(), node, path, "command", "required for kind " + a.kind);
  }
  r.check(a.timeout.count() > 0, node, path, "timeout", "must be positive");
  if (a.kind == "systemd") {
    r.check(!a.unit.empty() && a.unit.find('@') == std::string::npos &&
                a.unit.find('/') == std::string::npos,
            node, path, "unit",
            "required for kind systemd: the template's name without '@' (web for web@.service)");
    r.check(!a.systemctl.empty(), node, path, "systemctl", "must not be empty");
  }
  if (a.kind == "cgroup") {
    r.check(a.min_cpu > 0, node, path, "min_cpu", "must be positive");
    r.check(a.max_cpu == 0 || a.max_cpu >= a.min_cpu, node, path, "max_cpu",
            "must be 0 (the host's CPU count) or at least min_cpu");
    r.check(a.min_memory > 0, node, path, "min_memory", "must be positive");
    r.check(a.max_memory == 0 || a.max_memory >= a.min_memory, node, path, "max_memory",
            "must be 0 (the host's memory) or at least min_memory");
    r.check(a.cpu_period_us >= 1000 && a.cpu_period_us <= 1000000, node, path, "cpu_period_us",
            "must be between 1000 and 1000000 (the kernel's range)");
  }
  if (a.kind == "docker") {
    r.check(!a.image.empty(), node, path, "image", "required for kind docker");
    r.check(!a.socket.empty(), node, path, "socket", "must not be empty");
  }
  if (a.kind == "kubernetes") {
    r.check(a.deployment.empty() != a.statefulset.empty(), node, path, "deployment",
            "kind kubernetes needs exactly one of deployment or statefulset");
  }
}

void readSystem(Reader& r, const YAML::Node& node, const std::string& path,
                const std::filesystem::path& base, SystemConfig& s) {
  if (!r.present(node)) {
    r.fail(node, path, "expected a mapping, got nothing");
    return;
  }
  if (!r.map(node, path,
             {"name", "capacity_per_replica", "target_utilization", "min_replicas", "max_replicas",
              "initial_replicas", "warmup", "priority", "depends_on", "cgroup", "demand", "health",
              "actuator"})) {
    return;
  }
  r.field(node, path, "name", s.name);
  r.check(!s.name.empty(), node, path, "name", "required");
  r.field(node, path, "capacity_per_replica", s.capacity_per_replica);
  r.field(node, path, "target_utilization", s.target_utilization);
  r.field(node, path, "min_replicas", s.min_replicas);
  r.field(node, path, "max_replicas", s.max_replicas);
  r.field(node, path, "initial_replicas", s.initial_replicas);
  r.field(node, path, "warmup", s.warmup);
  r.field(node, path, "priority", s.priority);
  r.field(node, path, "depends_on", s.depends_on);
  r.field(node, path, "cgroup", s.cgroup);
  if (r.failed()) return;
  r.check(s.cgroup.find("..") == std::string::npos, node, path, "cgroup",
          "must not contain '..' (it is relative to the cgroup root)");
  r.check(s.capacity_per_replica > 0, node, path, "capacity_per_replica", "must be positive");
  r.check(s.target_utilization > 0 && s.target_utilization <= 1, node, path, "target_utilization",
          "must be in (0, 1]");
  r.check(s.min_replicas >= 0, node, path, "min_replicas", "must not be negative");
  r.check(s.max_replicas >= s.min_replicas, node, path, "max_replicas",
          "must not be less than min_replicas (" + std::to_string(s.min_replicas) + ")");
  r.check(s.initial_replicas == -1 ||
              (s.initial_replicas >= s.min_replicas && s.initial_replicas <= s.max_replicas),
          node, path, "initial_replicas", "must be -1 or between min_replicas and max_replicas");
  for (const auto& dep : s.depends_on) {
    r.check(dep != s.name, node, path, "depends_on", "a system cannot depend on itself");
  }
  readDemand(r, node["demand"], Reader::child(path, "demand"), base, s.demand);
  const YAML::Node health = node["health"];
  if (r.sequence(health, Reader::child(path, "health"))) {
    s.health.resize(health.size());
    for (std::size_t i = 0; i < health.size() && !r.failed(); ++i) {
      readHealth(r, health[i], Reader::index(Reader::child(path, "health"), i), s.health[i]);
    }
  }
  readActuator(r, node["actuator"], Reader::child(path, "actuator"), s.actuator);
  if (r.failed()) return;
  // Both need to know where the system's cgroup is.
  r.check(s.actuator.kind != "cgroup" || !s.cgroup.empty(), node, path, "cgroup",
          "required for actuator kind cgroup");
  r.check(s.demand.source != "cgroup" || !s.cgroup.empty(), node, path, "cgroup",
          "required for demand source cgroup");
}

// Loads a YAML document, turning yaml-cpp's exceptions into an Error with the
// line of the syntax problem.
Result<YAML::Node> loadYaml(const std::string& yaml, const std::string& origin) {
  try {
    return YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    std::string where = origin;
    if (e.mark.line >= 0) where += ":" + std::to_string(e.mark.line + 1);
    return makeError("invalid", where + ": YAML syntax error: " + e.msg);
  }
}

Result<std::string> readFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return makeError("io", "cannot read config " + path + ": is a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return makeError("io", "cannot open config " + path);
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) return makeError("io", "cannot read config " + path);
  return content.str();
}

bool rootMap(Reader& r, const YAML::Node& root, KeySet allowed) {
  if (!root.IsDefined() || root.IsNull()) return false;
  return r.map(root, "", allowed);
}

template <typename Config, typename Body>
Result<Config> parseWith(const std::string& yaml, const std::string& origin, Body body) {
  auto root = loadYaml(yaml, origin);
  if (!root) return root.error();
  Reader r(origin);
  Config config;
  // yaml-cpp reports some problems (e.g. a bad alias) only when a node is used.
  try {
    body(r, *root, config);
  } catch (const YAML::Exception& e) {
    std::string where = origin;
    if (e.mark.line >= 0) where += ":" + std::to_string(e.mark.line + 1);
    return makeError("invalid", where + ": " + e.msg);
  }
  if (r.failed()) return r.error();
  return config;
}

}  // namespace

Result<AgentConfig> parseAgentConfig(const std::string& yaml, const std::string& origin) {
  return parseWith<AgentConfig>(
      yaml, origin, [&](Reader& r, const YAML::Node& root, AgentConfig& c) {
        if (rootMap(r, root, {"agent", "systems"})) {
          const YAML::Node agent = root["agent"];
          const std::string p = "agent";
          if (r.map(agent, p,
                    {"id", "controller", "spool", "sample_interval", "heartbeat_interval",
                     "batch_max_samples", "spool_max_batches", "proc_root", "sys_root",
                     "filesystems", "log_level", "curve"})) {
            r.field(agent, p, "id", c.id);
            r.field(agent, p, "controller", c.controller);
            r.field(agent, p, "spool", c.spool);
            r.field(agent, p, "sample_interval", c.sample_interval);
            r.field(agent, p, "heartbeat_interval", c.heartbeat_interval);
            r.field(agent, p, "batch_max_samples", c.batch_max_samples);
            r.field(agent, p, "spool_max_batches", c.spool_max_batches);
            r.field(agent, p, "proc_root", c.proc_root);
            r.field(agent, p, "sys_root", c.sys_root);
            r.field(agent, p, "filesystems", c.filesystems);
            r.field(agent, p, "log_level", c.log_level);
            const YAML::Node curve = agent["curve"];
            if (r.map(curve, "agent.curve", {"server_public_key", "secret_key_file"})) {
              r.field(curve, "agent.curve", "server_public_key", c.curve.server_public_key);
              r.field(curve, "agent.curve", "secret_key_file", c.curve.secret_key_file);
            }
            if (!r.failed()) {
              r.check(!c.controller.empty(), agent, p, "controller", "must not be empty");
              r.check(!c.spool.empty(), agent, p, "spool", "must not be empty");
              r.check(c.sample_interval.count() > 0, agent, p, "sample_interval",
                      "must be positive");
              r.check(c.heartbeat_interval.count() > 0, agent, p, "heartbeat_interval",
                      "must be positive");
              r.check(c.batch_max_samples > 0, agent, p, "batch_max_samples", "must be positive");
              r.check(c.spool_max_batches > 0, agent, p, "spool_max_batches", "must be positive");
              r.oneOf(c.log_level, kLogLevels, agent, p, "log_level");
            }
          }
          const YAML::Node systems = root["systems"];
          const auto base = baseDirectory(origin);
          if (r.sequence(systems, "systems")) {
            c.systems.resize(systems.size());
            std::map<std::string, std::size_t> names;
            for (std::size_t i = 0; i < systems.size() && !r.failed(); ++i) {
              const std::string path = Reader::index("systems", i);
              readSystem(r, systems[i], path, base, c.systems[i]);
              if (r.failed()) break;
              const auto [it, inserted] = names.emplace(c.systems[i].name, i);
              r.check(inserted, systems[i], path, "name",
                      "duplicate system name '" + c.systems[i].name + "' (also systems[" +
                          std::to_string(it->second) + "])");
            }
          }
        }
        if (c.id.empty()) c.id = hostName();
      });
}

Result<ControllerConfig> parseControllerConfig(const std::string& yaml, const std::string& origin) {
  return parseWith<ControllerConfig>(
      yaml, origin, [&](Reader& r, const YAML::Node& root, ControllerConfig& c) {
        if (!rootMap(r, root, {"controller", "pools", "alerts"})) return;
        const YAML::Node ctl = root["controller"];
        const std::string p = "controller";
        if (r.map(ctl, p,
                  {"id", "bind", "http", "db", "cycle_interval", "mode", "actions_per_hour",
                   "api_tokens_file", "heartbeat_interval", "agent_timeout", "directive_deadline",
                   "retention", "rollup_retention_minute", "rollup_retention_hour", "log_level",
                   "curve", "engine"})) {
          r.field(ctl, p, "id", c.id);
          r.field(ctl, p, "bind", c.bind);
          r.field(ctl, p, "http", c.http);
          r.field(ctl, p, "db", c.db);
          r.field(ctl, p, "cycle_interval", c.cycle_interval);
          r.field(ctl, p, "mode", c.mode);
          r.field(ctl, p, "actions_per_hour", c.actions_per_hour);
          r.field(ctl, p, "api_tokens_file", c.api_tokens_file);
          r.field(ctl, p, "heartbeat_interval", c.heartbeat_interval);
          r.field(ctl, p, "agent_timeout", c.agent_timeout);
          r.field(ctl, p, "directive_deadline", c.directive_deadline);
          r.field(ctl, p, "retention", c.retention);
          r.field(ctl, p, "rollup_retention_minute", c.rollup_retention_minute);
          r.field(ctl, p, "rollup_retention_hour", c.rollup_retention_hour);
          r.field(ctl, p, "log_level", c.log_level);
          const YAML::Node curve = ctl["curve"];
          if (r.map(curve, "controller.curve", {"secret_key_file", "authorized_keys_dir"})) {
            r.field(curve, "controller.curve", "secret_key_file", c.curve.secret_key_file);
            r.field(curve, "controller.curve", "authorized_keys_dir", c.curve.authorized_keys_dir);
          }
          const YAML::Node engine = ctl["engine"];
          const std::string e = "controller.engine";
          if (r.map(engine, e,
                    {"scale_down_stabilization", "max_step_up", "max_step_down", "cooldown",
                     "interval_coverage", "risk"})) {
            r.field(engine, e, "scale_down_stabilization", c.engine.scale_down_stabilization);
            r.field(engine, e, "max_step_up", c.engine.max_step_up);
            r.field(engine, e, "max_step_down", c.engine.max_step_down);
            r.field(engine, e, "cooldown", c.engine.cooldown);
            r.field(engine, e, "interval_coverage", c.engine.interval_coverage);
            r.field(engine, e, "risk", c.engine.risk);
            if (!r.failed()) {
              r.check(c.engine.max_step_up >= 0, engine, e, "max_step_up", "must not be negative");
              r.check(c.engine.max_step_down >= 0, engine, e, "max_step_down",
                      "must not be negative");
              r.check(c.engine.interval_coverage > 0 && c.engine.interval_coverage < 1, engine, e,
                      "interval_coverage", "must be in (0, 1)");
              r.check(c.engine.risk > 0 && c.engine.risk < 0.5, engine, e, "risk",
                      "must be in (0, 0.5)");
            }
          }
          if (!r.failed()) {
            r.check(!c.id.empty(), ctl, p, "id", "must not be empty");
            r.check(!c.bind.empty(), ctl, p, "bind", "must not be empty");
            r.check(c.http.rfind(':') != std::string::npos, ctl, p, "http",
                    "expected address:port, got '" + c.http + "'");
            r.check(!c.db.empty(), ctl, p, "db", "must not be empty");
            r.check(c.cycle_interval.count() > 0, ctl, p, "cycle_interval", "must be positive");
            r.oneOf(c.mode, {"act", "forecast-only"}, ctl, p, "mode");
            r.check(c.actions_per_hour >= 0, ctl, p, "actions_per_hour", "must not be negative");
            r.check(c.heartbeat_interval.count() > 0, ctl, p, "heartbeat_interval",
                    "must be positive");
            r.check(c.agent_timeout.count() > 0, ctl, p, "agent_timeout", "must be positive");
            r.check(c.directive_deadline.count() > 0, ctl, p, "directive_deadline",
                    "must be positive");
            r.check(c.retention.count() > 0, ctl, p, "retention", "must be positive");
            r.check(c.rollup_retention_minute.count() > 0, ctl, p, "rollup_retention_minute",
                    "must be positive");
            r.check(c.rollup_retention_hour.count() > 0, ctl, p, "rollup_retention_hour",
                    "must be positive");
            r.oneOf(c.log_level, kLogLevels, ctl, p, "log_level");
          }
        }

        const YAML::Node pools = root["pools"];
        if (r.sequence(pools, "pools")) {
          std::set<std::string> names;
          for (std::size_t i = 0; i < pools.size() && !r.failed(); ++i) {
            const YAML::Node node = pools[i];
            const std::string path = Reader::index("pools", i);
            PoolConfig pool;
            if (!r.present(node)) r.fail(node, path, "expected a mapping, got nothing");
            if (!r.map(node, path, {"name", "capacity_replicas", "systems"})) break;
            r.field(node, path, "name", pool.name);
            r.field(node, path, "capacity_replicas", pool.capacity_replicas);
            r.field(node, path, "systems", pool.systems);
            r.check(!pool.name.empty(), node, path, "name", "required");
            r.check(names.insert(pool.name).second, node, path, "name",
                    "duplicate pool name '" + pool.name + "'");
            r.check(pool.capacity_replicas > 0, node, path, "capacity_replicas",
                    "must be positive");
            r.check(!pool.systems.empty(), node, path, "systems", "must list at least one system");
            c.pools.push_back(std::move(pool));
          }
        }

        const YAML::Node alerts = root["alerts"];
        if (r.sequence(alerts, "alerts")) {
          for (std::size_t i = 0; i < alerts.size() && !r.failed(); ++i) {
            const YAML::Node node = alerts[i];
            const std::string path = Reader::index("alerts", i);
            AlertRuleConfig alert;
            if (!r.present(node)) r.fail(node, path, "expected a mapping, got nothing");
            if (!r.map(node, path, {"when", "notify", "scale_up", "system"})) break;
            r.field(node, path, "when", alert.when);
            r.field(node, path, "notify", alert.notify);
            r.field(node, path, "scale_up", alert.scale_up);
            r.field(node, path, "system", alert.system);
            if (r.failed()) break;
            // "<metric> <op> <number>": checked here so a typo fails at start-up,
            // not when the rule first fires.
            std::istringstream when(alert.when);
            std::string metric, op, number, rest;
            when >> metric >> op >> number >> rest;
            double threshold = 0;
            const bool number_ok =
                !number.empty() &&
                std::from_chars(number.data(), number.data() + number.size(), threshold).ptr ==
                    number.data() + number.size();
            const bool op_ok =
                op == "<" || op == "<=" || op == ">" || op == ">=" || op == "==" || op == "!=";
            r.check(!metric.empty() && op_ok && number_ok && rest.empty(), node, path, "when",
                    "expected '<metric> <op> <number>' with op one of < <= > >= == !=, got '" +
                        alert.when + "'");
            r.check(!alert.notify.empty() || !alert.scale_up.empty(), node, path, "when",
                    "an alert needs notify or scale_up");
            c.alerts.push_back(std::move(alert));
          }
        }
      });
}

Result<AgentConfig> loadAgentConfig(const std::string& path) {
  auto text = readFile(path);
  if (!text) return text.error();
  return parseAgentConfig(*text, path);
}

Result<ControllerConfig> loadControllerConfig(const std::string& path) {
  auto text = readFile(path);
  if (!text) return text.error();
  return parseControllerConfig(*text, path);
}

}  // namespace pso::common
