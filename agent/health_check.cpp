#include "agent/health_check.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "agent/http_client.h"
#include "agent/subprocess.h"
#include "common/clock.h"
#include "common/text.h"

namespace pso::agent {
namespace {

// GET the URL: healthy when the transfer completes within the timeout, the
// status is in [status_min, status_max] and, when set, the body contains the
// substring.
class HttpHealthCheck final : public HealthCheck {
 public:
  explicit HttpHealthCheck(const HealthCheckConfig& config)
      : name_("http:" + config.target),
        status_min_(config.status_min),
        status_max_(config.status_max),
        body_contains_(config.body_contains) {
    request_.url = config.target;
    request_.timeout = config.timeout;
    request_.max_body = 1024 * 1024;
  }

  const std::string& name() const override { return name_; }

  ProbeResult probe() override {
    ProbeResult result;
    Status status = client_.perform(request_, response_);
    result.latency_ms = response_.latency_ms;
    if (!status) {
      result.error = status.error().message;
      return result;
    }
    if (response_.status < status_min_ || response_.status > status_max_) {
      result.error = "GET " + request_.url + ": HTTP status " + std::to_string(response_.status) +
                     " outside " + std::to_string(status_min_) + "-" + std::to_string(status_max_);
      return result;
    }
    if (!body_contains_.empty() && response_.body.find(body_contains_) == std::string::npos) {
      result.error = "GET " + request_.url + ": body does not contain '" + body_contains_ + "'";
      return result;
    }
    result.ok = true;
    return result;
  }

 private:
  std::string name_;
  int64_t status_min_;
  int64_t status_max_;
  std::string body_contains_;
  HttpClient client_;
  HttpRequest request_;
  HttpResponse response_;
};

// Healthy when a TCP connection to host:port completes within the timeout;
// the connection is closed at once.
class TcpHealthCheck final : public HealthCheck {
 public:
  TcpHealthCheck(const HealthCheckConfig& config, std::string host, std::string port)
      : name_("tcp:" + config.target),
        target_(config.target),
        host_(std::move(host)),
        port_(std::move(port)),
        timeout_ms_(config.timeout.count()) {}

  const std::string& name() const override { return name_; }

  ProbeResult probe() override {
    ProbeResult result;
    const int64_t started = common::steadyMs();
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* addresses = nullptr;
    if (int rc = ::getaddrinfo(host_.c_str(), port_.c_str(), &hints, &addresses); rc != 0) {
      result.error = "tcp " + target_ + ": cannot resolve: " + ::gai_strerror(rc);
      return result;
    }
    std::string last_error = "no address";
    for (addrinfo* a = addresses; a != nullptr && !result.ok; a = a->ai_next) {
      const int64_t remaining = timeout_ms_ - (common::steadyMs() - started);
      if (remaining <= 0) {
        last_error = "timed out after " + std::to_string(timeout_ms_) + "ms";
        break;
      }
      result.ok = connectOnce(a, static_cast<int>(remaining), last_error);
    }
    ::freeaddrinfo(addresses);
    result.latency_ms = static_cast<double>(common::steadyMs() - started);
    if (!result.ok) result.error = "tcp " + target_ + ": " + last_error;
    return result;
  }

 private:
  static bool connectOnce(const addrinfo* address, int timeout_ms, std::string& error) {
    int fd = ::socket(address->ai_family, address->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                      address->ai_protocol);
    if (fd < 0) {
      error = std::string("socket: ") + std::strerror(errno);
      return false;
    }
    bool connected = false;
    if (::connect(fd, address->ai_addr, address->ai_addrlen) == 0) {
      connected = true;
    } else if (errno != EINPROGRESS) {
      error = std::strerror(errno);
    } else {
      pollfd pfd{fd, POLLOUT, 0};
      int rc = 0;
      do {
        rc = ::poll(&pfd, 1, timeout_ms);
      } while (rc < 0 && errno == EINTR);
      if (rc == 0) {
        error = "connect timed out after " + std::to_string(timeout_ms) + "ms";
      } else {
        int so_error = 0;
        socklen_t len = sizeof so_error;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
        connected = so_error == 0;
        if (!connected) error = std::strerror(so_error);
      }
    }
    ::close(fd);
    return connected;
  }

  std::string name_;
  std::string target_;
  std::string host_;
  std::string port_;
  int64_t timeout_ms_;
};

// Healthy when the command exits 0 within the timeout; its process group is
// killed at the timeout.
class CommandHealthCheck final : public HealthCheck {
 public:
  explicit CommandHealthCheck(const HealthCheckConfig& config)
      : name_("command:" + config.target),
        target_(config.target),
        command_(config.command),
        timeout_(config.timeout) {}

  const std::string& name() const override { return name_; }

  ProbeResult probe() override {
    ProbeResult result;
    Result<CommandOutcome> outcome = runCommand(command_, timeout_, 4096);
    if (!outcome) {
      result.error = "command '" + target_ + "': " + outcome.error().message;
      return result;
    }
    result.latency_ms = static_cast<double>(outcome->duration_ms);
    result.ok = outcome->succeeded();
    if (!result.ok) result.error = "command '" + target_ + "': " + outcome->describe(timeout_);
    return result;
  }

 private:
  std::string name_;
  std::string target_;
  std::vector<std::string> command_;
  common::Duration timeout_;
};

namespace checks = common::checks;
using H = HealthCheckConfig;

Result<std::unique_ptr<HealthCheck>> buildHttp(const HealthCheckConfig& config) {
  if (Status http = checkHttpSupport(config.target); !http) {
    return makeError(http.error().code,
                     "health check http:" + config.target + ": " + http.error().message);
  }
  return std::unique_ptr<HealthCheck>(std::make_unique<HttpHealthCheck>(config));
}

common::Finding checkStatusMin(int64_t status_min, const HealthCheckConfig& /*config*/) {
  if (status_min >= 100 && status_min <= 599) return std::nullopt;
  return common::Problem::invalid("must be an HTTP status (100-599)");
}

common::Finding checkStatusMax(int64_t status_max, const HealthCheckConfig& config) {
  if (status_max >= config.status_min && status_max <= 599) return std::nullopt;
  return common::Problem::invalid("must be between status_min and 599");
}

void registerHttpHealthCheck(HealthCheckRegistry& registry) {
  registry.add(HealthCheckKind{
      .name = "http",
      .keys = {{"http", &H::target, "GET this URL (http:// or https://)", checks::notEmpty()},
               {"status_min", &H::status_min, "least accepted HTTP status", &checkStatusMin},
               {"status_max", &H::status_max, "greatest accepted HTTP status", &checkStatusMax},
               {"body_contains", &H::body_contains, "a substring the body must contain"}},
      .build = &buildHttp,
  });
}

Result<std::unique_ptr<HealthCheck>> buildTcp(const HealthCheckConfig& config) {
  std::optional<common::HostPort> address = common::splitHostPort(config.target);
  if (!address) {
    return makeError("invalid",
                     "health check tcp: expected host:port, got '" + config.target + "'");
  }
  return std::unique_ptr<HealthCheck>(
      std::make_unique<TcpHealthCheck>(config, address->host, std::to_string(address->port)));
}

common::Finding checkTcpTarget(const std::string& target, const HealthCheckConfig& /*config*/) {
  if (target.empty()) return common::Problem::invalid("must not be empty");
  if (common::splitHostPort(target)) return std::nullopt;
  return common::Problem::invalid("expected host:port, got '" + target + "'");
}

void registerTcpHealthCheck(HealthCheckRegistry& registry) {
  registry.add(HealthCheckKind{
      .name = "tcp",
      .keys = {{"tcp", &H::target, "connect to host:port ([v6-address]:port)", &checkTcpTarget}},
      .build = &buildTcp,
  });
}

Result<std::unique_ptr<HealthCheck>> buildCommandHealthCheck(const HealthCheckConfig& config) {
  return std::unique_ptr<HealthCheck>(std::make_unique<CommandHealthCheck>(config));
}

// The command line names the check in results and messages.
void joinCommandLine(HealthCheckConfig& config) {
  config.target.clear();
  for (const std::string& arg : config.command) {
    config.target += (config.target.empty() ? "" : " ") + arg;
  }
}

void registerCommandHealthCheck(HealthCheckRegistry& registry) {
  registry.add(HealthCheckKind{
      .name = "command",
      .keys = {{"command", &H::command, "run argv; exit status 0 is healthy", checks::notEmpty()}},
      .build = &buildCommandHealthCheck,
      .complete = &joinCommandLine,
  });
}

common::Finding checkFailureThreshold(int64_t threshold, const HealthCheckConfig& /*config*/) {
  if (threshold >= 1) return std::nullopt;
  return common::Problem::invalid("must be at least 1");
}

const common::KeyList<HealthCheckConfig>& healthCheckSharedKeys() {
  static const common::KeyList<HealthCheckConfig> keys = {
      {"interval", &H::interval, "how often the check runs", checks::positive()},
      {"timeout", &H::timeout, "per attempt", checks::positive()},
      {"failure_threshold", &H::failure_threshold,
       "consecutive failures before the check is \"failing\"", &checkFailureThreshold},
  };
  return keys;
}

}  // namespace

const HealthCheckRegistry& healthCheckRegistry() {
  // Naming each registration here keeps every kind linked into pso-agent
  // (see common/registry.h) and fixes the order kinds are listed in.
  static const HealthCheckRegistry registry{&registerHttpHealthCheck, &registerTcpHealthCheck,
                                            &registerCommandHealthCheck};
  return registry;
}

const common::ComponentSection<HealthCheckKind>& healthCheckSection() {
  static const common::ComponentSection<HealthCheckKind> section{
      &healthCheckRegistry(), &healthCheckSharedKeys(), &HealthCheckConfig::kind, "", "kind"};
  return section;
}

Result<std::unique_ptr<HealthCheck>> makeHealthCheck(const HealthCheckConfig& config) {
  const HealthCheckKind* kind = healthCheckRegistry().find(config.kind);
  if (kind == nullptr) {
    return makeError("invalid", "unknown health check kind '" + config.kind + "' (expected " +
                                    healthCheckRegistry().nameList(", ", " or ") + ")");
  }
  // A config built in code has not been through the reader: the same
  // declared checks refuse it here.
  if (std::optional<std::string> refused =
          common::refusal(config, {&healthCheckSharedKeys(), &kind->keys},
                          "health check " + kind->name, kind->name)) {
    return makeError("invalid", *refused);
  }
  return kind->build(config);
}

}  // namespace pso::agent
