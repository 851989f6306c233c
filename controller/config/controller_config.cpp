#include "controller/config/controller_config.h"

#include <yaml-cpp/yaml.h>

#include <set>

#include "common/text.h"
#include "controller/engine/alert_rules.h"
#include "controller/engine/types.h"

namespace pso::controller {
namespace {

namespace checks = common::checks;
using common::ConfigKey;
using common::ConfigReader;
using common::Finding;
using common::KeyList;
using common::Problem;

Finding checkHttpAddress(const std::string& http, const ControllerConfig& /*config*/) {
  if (http.rfind(':') != std::string::npos) return std::nullopt;
  return Problem::invalid("expected address:port, got '" + http + "'");
}

Finding checkReadRequiresToken(bool required, const ControllerConfig& config) {
  if (!required || !config.api_tokens_file.empty()) return std::nullopt;
  return Problem::invalid("true needs api_tokens_file: nobody could read the API");
}

// Both files or neither: a certificate without its key (or the reverse)
// cannot serve HTTPS, and silently serving plain HTTP instead would be worse.
Finding checkTlsPair(const std::string& /*cert_file*/, const HttpTlsConfig& tls) {
  if (tls.cert_file.empty() == tls.key_file.empty()) return std::nullopt;
  return Problem::invalid("give both cert_file and key_file, or neither");
}

const KeyList<HttpTlsConfig>& httpTlsKeys() {
  using T = HttpTlsConfig;
  static const KeyList<T> keys = {
      ConfigKey<T>::path("cert_file", &T::cert_file,
                         "PEM certificate chain, the server's first; empty: plain HTTP",
                         &checkTlsPair),
      ConfigKey<T>::path("key_file", &T::key_file, "PEM private key of cert_file", &checkTlsPair),
  };
  return keys;
}

// A PostgreSQL store needs somewhere to connect to; libpq's own defaults
// (a local socket, the login's name) would rarely be what was meant.
Finding checkStoreDsn(const std::string& dsn, const StoreConfig& store) {
  if (store.backend != "postgresql" || !dsn.empty()) return std::nullopt;
  return Problem::invalid("backend postgresql needs a dsn (a libpq connection string)");
}

// Below a second, a renewal every third of the term would be a busy loop
// against the database, and a pause of the process a takeover.
Finding checkLeaseTtl(Duration ttl, const StoreConfig& /*store*/) {
  if (ttl >= std::chrono::seconds(1)) return std::nullopt;
  return Problem::invalid("must be at least 1s");
}

const KeyList<StoreConfig>& storeKeys() {
  using S = StoreConfig;
  static const KeyList<S> keys = {
      {"backend", &S::backend, "sqlite (the file controller.db) | postgresql (dsn)",
       checks::oneOf({"sqlite", "postgresql"})},
      ConfigKey<S>("dsn", &S::dsn,
                   "libpq connection string of the PostgreSQL database, e.g. \"host=db.internal "
                   "dbname=pso user=pso\"",
                   &checkStoreDsn)
          .emptyMeans("none (sqlite)"),
      {"lease_ttl", &S::lease_ttl,
       "postgresql: term of the acting controller's leader lease; a standby takes over at most "
       "this long after the acting one died",
       &checkLeaseTtl},
  };
  return keys;
}

const KeyList<ControllerConfig>& controllerKeys() {
  using C = ControllerConfig;
  static const KeyList<C> keys = {
      {"id", &C::id, "name sent to agents in \"welcome\"", checks::notEmpty()},
      {"bind", &C::bind, "ROUTER endpoint agents connect to", checks::notEmpty()},
      {"http", &C::http, "HTTP API and dashboard, address:port", &checkHttpAddress},
      {"db", &C::db, "SQLite database (store.backend sqlite)", checks::notEmpty()},
      {"cycle_interval", &C::cycle_interval, "one decision cycle every", checks::positive()},
      {"mode", &C::mode, "act | forecast-only (engine decisions recorded, not sent)",
       checks::oneOf({"act", "forecast-only"})},
      {"actions_per_hour", &C::actions_per_hour, "global limit on engine directives per hour",
       checks::notNegative()},
      {"api_tokens_file", &C::api_tokens_file,
       "bearer tokens, one \"TOKEN [read|operate]\" per line; empty disables the API that needs "
       "a token"},
      {"api_read_requires_token", &C::api_read_requires_token,
       "true: reading the API needs a read or operate token (/metrics and status stay open)",
       &checkReadRequiresToken},
      {"heartbeat_interval", &C::heartbeat_interval, "told to agents in \"welcome\"",
       checks::positive()},
      {"agent_timeout", &C::agent_timeout, "an agent silent this long is considered down",
       checks::positive()},
      {"directive_deadline", &C::directive_deadline,
       "agents must not act on a directive older than this", checks::positive()},
      {"retention", &C::retention, "raw samples are kept this long", checks::positive()},
      {"rollup_retention_minute", &C::rollup_retention_minute,
       "1-minute rollups are kept this long", checks::positive()},
      {"rollup_retention_hour", &C::rollup_retention_hour, "1-hour rollups are kept this long",
       checks::positive()},
      {"cycle_retention", &C::cycle_retention,
       "cycle records (every system's decision) are kept this long", checks::positive()},
      {"directive_retention", &C::directive_retention,
       "directives are kept this long (not those awaiting their agent, nor holds in force)",
       checks::positive()},
      {"scenario_retention", &C::scenario_retention,
       "scenarios are kept this long (not those a learner's attempt refers to)",
       checks::positive()},
      {"compact_after", &C::compact_after,
       "cycles and scenarios older than this are rewritten into compact blocks, an hour of them "
       "at a time (reads return them unchanged)",
       checks::positive()},
      {"log_level", &C::log_level, "trace | debug | info | warn | error | critical | off",
       checks::logLevel()},
      ConfigKey<C>::section("curve",
                            "CurveZMQ encryption and agent authentication (docs/security.md)"),
      ConfigKey<C>::section("store", "where the store lives (docs/operations.md \"PostgreSQL\")",
                            "SQLite in db"),
      ConfigKey<C>::section("http_tls", "HTTPS for the HTTP API", "plain HTTP"),
      ConfigKey<C>::section("ingest", "what is accepted from agents (docs/security.md)"),
      ConfigKey<C>::section("engine", "decision engine tuning"),
      ConfigKey<C>::section("webhooks", "delivery of alert notifications"),
      ConfigKey<C>::section("remote_write",
                            "forwarding of stored telemetry to a Prometheus remote_write receiver",
                            "off"),
  };
  return keys;
}

const KeyList<common::CurveConfig>& curveKeys() {
  using C = common::CurveConfig;
  static const KeyList<C> keys = {
      {"secret_key_file", &C::secret_key_file,
       "this controller's key file from psoctl keygen (mode 0600); empty: plain TCP"},
      {"authorized_keys_dir", &C::authorized_keys_dir,
       "one <agent-id>.pub per agent allowed in; re-read without a restart"},
  };
  return keys;
}

Finding checkCoverage(double coverage, const EngineConfig& /*engine*/) {
  if (coverage > 0 && coverage < 1) return std::nullopt;
  return Problem::invalid("must be in (0, 1)");
}

Finding checkRisk(double risk, const EngineConfig& /*engine*/) {
  if (risk > 0 && risk < 0.5) return std::nullopt;
  return Problem::invalid("must be in (0, 0.5)");
}

Finding checkShare(double share, const EngineConfig& /*engine*/) {
  if (share >= 0 && share < 1) return std::nullopt;
  return Problem::invalid("must be in [0, 1)");
}

Finding checkDecideThreads(int64_t threads, const EngineConfig& /*engine*/) {
  if (threads >= 0 && threads <= engine::kMaxDecideThreads) return std::nullopt;
  return Problem::invalid("must be in [0, " + std::to_string(engine::kMaxDecideThreads) + "]");
}

Finding checkPlanMargin(Duration margin, const EngineConfig& /*engine*/) {
  if (margin.count() >= 0 &&
      margin.count() <= static_cast<int64_t>(engine::kMaxPlanMarginS * 1000.0)) {
    return std::nullopt;
  }
  return Problem::invalid("must be between 0s and 1h");
}

const KeyList<IngestConfig>& ingestKeys() {
  using I = IngestConfig;
  static const KeyList<I> keys = {
      {"max_sample_age", &I::max_sample_age,
       "samples older than this are refused; raise it to take a longer agent backlog",
       checks::positive()},
      {"max_sample_ahead", &I::max_sample_ahead,
       "samples this far ahead of the controller's clock are refused", checks::positive()},
      {"max_seq_advance", &I::max_seq_advance,
       "most batches one telemetry batch may move an agent's position forward", checks::positive()},
  };
  return keys;
}

const KeyList<EngineConfig>& engineKeys() {
  using E = EngineConfig;
  static const KeyList<E> keys = {
      {"scale_down_stabilization", &E::scale_down_stabilization,
       "scale down only to the highest count wanted over this window"},
      {"max_step_up", &E::max_step_up, "most replicas added per decision, 0 = unlimited",
       checks::notNegative()},
      {"max_step_down", &E::max_step_down, "most replicas removed per decision, 0 = unlimited",
       checks::notNegative()},
      {"cooldown", &E::cooldown, "least time between two engine actions on one system"},
      {"interval_coverage", &E::interval_coverage,
       "central prediction interval reported with forecasts", &checkCoverage},
      {"risk", &E::risk, "chance per step the plan accepts demand above target", &checkRisk},
      {"scale_down_min_share", &E::scale_down_min_share,
       "a step down frees more than this share of the running replicas, or the count stays",
       &checkShare},
      {"plan_margin", &E::plan_margin,
       "how far beyond the warm-up the plan looks, at most the warm-up and at least one cycle",
       &checkPlanMargin},
      {"decide_threads", &E::decide_threads,
       "threads that plan a cycle's systems side by side, 0 = one per core up to 4",
       &checkDecideThreads},
  };
  return keys;
}

Finding checkPoolSystems(const std::vector<std::string>& systems, const PoolConfig& /*pool*/) {
  if (!systems.empty()) return std::nullopt;
  return Problem::invalid("must list at least one system");
}

const KeyList<PoolConfig>& poolKeys() {
  using P = PoolConfig;
  static const KeyList<P> keys = {
      {"name", &P::name, "unique pool name", checks::required()},
      {"capacity_replicas", &P::capacity_replicas, "replicas the pool can hold in total",
       checks::positive()},
      {"systems", &P::systems, "members, divided by priority when capacity is short",
       &checkPoolSystems},
  };
  return keys;
}

// The condition is parsed by the same code that evaluates it, when the config
// is read: a typo fails at start-up, not when the rule first fires.
Finding checkWhen(const std::string& when, const AlertRuleConfig& /*alert*/) {
  auto condition = engine::AlertCondition::parse(when);
  if (!condition) return Problem::invalid(condition.error().message);
  return std::nullopt;
}

Finding checkAlertActions(const std::string& /*notify*/, const AlertRuleConfig& alert) {
  const int scale_actions = static_cast<int>(!alert.scale_up.empty()) +
                            static_cast<int>(!alert.scale_down.empty()) +
                            static_cast<int>(!alert.hold.empty());
  if (alert.notify.empty() && scale_actions == 0) {
    return Problem::invalid("an alert needs notify, scale_up, scale_down or hold");
  }
  if (scale_actions > 1) return Problem::invalid("give one of scale_up, scale_down and hold");
  if (!alert.notify.empty() && alert.notify.rfind("http://", 0) != 0 &&
      alert.notify.rfind("https://", 0) != 0) {
    return Problem::invalid("notify must be an http:// or https:// URL, got '" + alert.notify +
                            "'");
  }
  return std::nullopt;
}

// Agent figures have agents for subjects, the others systems: a filter of the
// other kind would never match anything, and "$subject" would name an agent
// where a system is needed.
std::optional<bool> agentFigure(const AlertRuleConfig& alert) {
  auto condition = engine::AlertCondition::parse(alert.when);
  if (!condition) return std::nullopt;  // reported on `when`
  return engine::isAgentFigure(condition->metric);
}

std::string figureName(const AlertRuleConfig& alert) {
  return engine::AlertCondition::parse(alert.when)->metric;
}

Finding checkSystemFilter(const std::string& system, const AlertRuleConfig& alert) {
  if (system.empty() || agentFigure(alert) != true) return std::nullopt;
  return Problem::invalid(figureName(alert) + " is an agent figure: filter with agent, not system");
}

Finding checkAgentFilter(const std::string& agent, const AlertRuleConfig& alert) {
  if (agent.empty() || agentFigure(alert) != false) return std::nullopt;
  return Problem::invalid(figureName(alert) + " is a system figure: filter with system, not agent");
}

Finding checkScaleTarget(const std::string& target, const AlertRuleConfig& alert) {
  if (target != "$subject" || agentFigure(alert) != true) return std::nullopt;
  return Problem::invalid("$subject names a system, and " + figureName(alert) +
                          " is an agent figure: name the system to scale");
}

const KeyList<AlertRuleConfig>& alertKeys() {
  using A = AlertRuleConfig;
  static const KeyList<A> keys = {
      ConfigKey<A>("name", &A::name, "unique rule name").emptyMeans("the condition's text"),
      {"when", &A::when, "\"<metric> <op> <number>\", op one of < <= > >= == !=", &checkWhen},
      {"for", &A::for_duration, "the condition must hold this long before the alert fires"},
      {"hysteresis", &A::hysteresis,
       "a firing alert resolves once the figure is this far past the threshold",
       checks::notNegative()},
      ConfigKey<A>("system", &A::system, "only for this system", &checkSystemFilter)
          .emptyMeans("every system"),
      ConfigKey<A>("agent", &A::agent, "only for this agent (agent figures)", &checkAgentFilter)
          .emptyMeans("every agent"),
      {"notify", &A::notify, "webhook URL to POST to (http or https)", &checkAlertActions},
      {"format", &A::format, "webhook payload: pso | alertmanager (Alertmanager's webhook JSON)",
       checks::oneOf({"pso", "alertmanager"})},
      {"send_resolved", &A::send_resolved, "notify when the alert resolves too"},
      {"scale_up", &A::scale_up, "system to scale up while firing ($subject: the alert's system)",
       &checkScaleTarget},
      {"scale_down", &A::scale_down, "system to scale down while firing", &checkScaleTarget},
      {"hold", &A::hold, "system whose count is held while firing", &checkScaleTarget},
      {"step", &A::step, "replicas per scale_up / scale_down", checks::positive()},
  };
  return keys;
}

const KeyList<WebhookConfig>& webhookKeys() {
  using W = WebhookConfig;
  static const KeyList<W> keys = {
      ConfigKey<W>::path("secret_file", &W::secret_file,
                         "HMAC-SHA256 key (first line) for the X-PSO-Signature header")
          .emptyMeans("no signature"),
      {"timeout", &W::timeout, "one delivery attempt", checks::positive()},
      {"max_backoff", &W::max_backoff, "longest wait between delivery attempts",
       checks::positive()},
      {"give_up_after", &W::give_up_after,
       "a notification not delivered after this long is dropped and counted", checks::positive()},
      ConfigKey<W>("dashboard_url", &W::dashboard_url, "dashboard base URL in links")
          .emptyMeans("http://<controller.http>"),
  };
  return keys;
}

Finding checkRemoteWriteUrl(const std::string& url, const RemoteWriteConfig& /*section*/) {
  if (url.empty() || url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0) {
    return std::nullopt;
  }
  return Problem::invalid("must be an http:// or https:// URL, got '" + url + "'");
}

const KeyList<RemoteWriteConfig>& remoteWriteKeys() {
  using W = RemoteWriteConfig;
  static const KeyList<W> keys = {
      ConfigKey<W>("url", &W::url, "the receiver's write endpoint (http or https)",
                   checkRemoteWriteUrl)
          .emptyMeans("off"),
      ConfigKey<W>::path("bearer_token_file", &W::bearer_token_file,
                         "bearer token (first line) for the Authorization header")
          .emptyMeans("no Authorization header"),
      {"timeout", &W::timeout, "one request, connect included", checks::positive()},
      {"max_samples_per_send", &W::max_samples_per_send, "most samples in one request",
       checks::positive()},
      {"max_queued_samples", &W::max_queued_samples,
       "samples waiting beyond this are dropped, oldest first, and counted", checks::positive()},
      {"max_backoff", &W::max_backoff, "longest wait between attempts", checks::positive()},
  };
  return keys;
}

const KeyList<ControllerConfig>& rootKeys() {
  using C = ControllerConfig;
  static const KeyList<C> keys = {
      ConfigKey<C>::section("controller", "this controller"),
      ConfigKey<C>::section("pools", "shared capacity across systems", "none"),
      ConfigKey<C>::section("alerts", "rules: a condition over a figure -> notify or scale",
                            "none"),
  };
  return keys;
}

// Reads a list of sections of one shape; each entry must be a mapping.
template <typename Section>
void readList(ConfigReader& r, const YAML::Node& list, const std::string& path,
              const KeyList<Section>& keys, std::vector<Section>& out) {
  if (!r.sequence(list, path)) return;
  for (std::size_t i = 0; i < list.size() && !r.failed(); ++i) {
    const std::string item_path = ConfigReader::index(path, i);
    if (!ConfigReader::present(list[i])) {
      r.fail(list[i], item_path, "expected a mapping, got nothing");
      return;
    }
    Section item;
    common::readSection(r, list[i], item_path, keys, item);
    out.push_back(std::move(item));
  }
}

void readController(ConfigReader& r, const YAML::Node& root, ControllerConfig& c) {
  if (!ConfigReader::present(root) || !r.map(root, "", common::keyNames(rootKeys()))) return;
  const YAML::Node ctl = ConfigReader::at(root, "controller");
  if (common::readSection(r, ctl, "controller", controllerKeys(), c)) {
    common::readSection(r, ConfigReader::at(ctl, "curve"), "controller.curve", curveKeys(),
                        c.curve);
    common::readSection(r, ConfigReader::at(ctl, "store"), "controller.store", storeKeys(),
                        c.store);
    common::readSection(r, ConfigReader::at(ctl, "http_tls"), "controller.http_tls", httpTlsKeys(),
                        c.http_tls);
    common::readSection(r, ConfigReader::at(ctl, "ingest"), "controller.ingest", ingestKeys(),
                        c.ingest);
    common::readSection(r, ConfigReader::at(ctl, "engine"), "controller.engine", engineKeys(),
                        c.engine);
    common::readSection(r, ConfigReader::at(ctl, "webhooks"), "controller.webhooks", webhookKeys(),
                        c.webhooks);
    common::readSection(r, ConfigReader::at(ctl, "remote_write"), "controller.remote_write",
                        remoteWriteKeys(), c.remote_write);
  }
  const YAML::Node pools = ConfigReader::at(root, "pools");
  readList(r, pools, "pools", poolKeys(), c.pools);
  std::set<std::string> names;
  for (std::size_t i = 0; i < c.pools.size() && !r.failed(); ++i) {
    r.check(names.insert(c.pools[i].name).second, pools[i], ConfigReader::index("pools", i), "name",
            "duplicate pool name '" + c.pools[i].name + "'");
  }
  const YAML::Node alerts = ConfigReader::at(root, "alerts");
  readList(r, alerts, "alerts", alertKeys(), c.alerts);
  names.clear();
  for (std::size_t i = 0; i < c.alerts.size() && !r.failed(); ++i) {
    if (c.alerts[i].name.empty()) c.alerts[i].name = c.alerts[i].when;
    r.check(names.insert(c.alerts[i].name).second, alerts[i], ConfigReader::index("alerts", i),
            "name", "duplicate alert name '" + c.alerts[i].name + "'");
  }
}

}  // namespace

Result<ControllerConfig> parseControllerConfig(const std::string& yaml, const std::string& origin) {
  ControllerConfig config;
  Status read = common::readConfigDocument(
      yaml, origin,
      [&](ConfigReader& r, const YAML::Node& root) { readController(r, root, config); });
  if (!read) return read.error();
  return config;
}

Result<ControllerConfig> loadControllerConfig(const std::string& path) {
  Result<std::string> text = common::readConfigFile(path);
  if (!text) return text.error();
  return parseControllerConfig(*text, path);
}

std::vector<common::SectionDoc> describeControllerConfig() {
  return {
      common::sectionDoc("", rootKeys()),
      common::sectionDoc("controller", controllerKeys()),
      common::sectionDoc("controller.curve", curveKeys()),
      common::sectionDoc("controller.store", storeKeys()),
      common::sectionDoc("controller.http_tls", httpTlsKeys()),
      common::sectionDoc("controller.ingest", ingestKeys()),
      common::sectionDoc("controller.engine", engineKeys()),
      common::sectionDoc("controller.webhooks", webhookKeys()),
      common::sectionDoc("controller.remote_write", remoteWriteKeys()),
      common::sectionDoc("pools", poolKeys()),
      common::sectionDoc("alerts", alertKeys()),
  };
}

}  // namespace pso::controller
