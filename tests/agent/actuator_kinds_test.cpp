// The systemd, cgroup, docker and kubernetes actuators against what each one
// talks to: a systemctl stand-in script, a cgroup fixture tree, and real HTTP
// servers speaking the Docker Engine API (on a unix socket) and the
// Kubernetes API (on a loopback port).

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "agent/actuator.h"
#include "agent/cgroup_actuator.h"
#include "agent/kubernetes_actuator.h"
#include "agent_test_util.h"
#include "http_test_server.h"

namespace pso::agent {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::HttpTestServer;
using testing::readFile;
using testing::TempDir;
using testing::writeFile;

protocol::Directive scaleDirective(int64_t replicas, const std::string& id = "d-scale") {
  protocol::Directive directive;
  directive.id = id;
  directive.system = "web";
  directive.action = "scale";
  directive.replicas = replicas;
  return directive;
}

protocol::Directive limits(std::optional<double> cpu, std::optional<int64_t> memory) {
  protocol::Directive directive;
  directive.id = "d-limits";
  directive.system = "web";
  directive.action = "limits";
  directive.cpu = cpu;
  directive.memory_bytes = memory;
  return directive;
}

// ---- kubernetes ------------------------------------------------------------

// The scale subresource of apps/v1 Deployments, as the API server serves it.
class FakeApiServer {
 public:
  explicit FakeApiServer(std::string token, int64_t replicas)
      : token_(std::move(token)),
        replicas_(replicas),
        server_([this](const auto& r) { return handle(r); }) {}

  std::string url() const { return server_.url(""); }
  std::vector<HttpTestServer::Request> requests() const { return server_.requests(); }
  int64_t replicas() {
    std::lock_guard lock(mutex_);
    return replicas_;
  }

 private:
  HttpTestServer::Response scale(const std::string& resource, const std::string& name) {
    json body{{"kind", "Scale"},
              {"apiVersion", "autoscaling/v1"},
              {"metadata", {{"name", name}, {"namespace", "shop"}}},
              {"spec", {{"replicas", replicas_}}},
              {"status", {{"replicas", replicas_}, {"selector", "app=" + name}}}};
    (void)resource;
    return {200, body.dump(), "application/json"};
  }

  HttpTestServer::Response handle(const HttpTestServer::Request& request) {
    std::lock_guard lock(mutex_);
    auto status = [](int code, const std::string& reason, const std::string& message) {
      json body{{"kind", "Status"},
                {"status", "Failure"},
                {"message", message},
                {"reason", reason},
                {"code", code}};
      return HttpTestServer::Response{code, body.dump(), "application/json"};
    };
    auto auth = request.headers.find("authorization");
    if (auth == request.headers.end() || auth->second != "Bearer " + token_) {
      return status(401, "Unauthorized", "Unauthorized");
    }
    const std::string prefix = "/apis/apps/v1/namespaces/shop/";
    for (const std::string resource : {"deployments", "statefulsets"}) {
      const std::string path = prefix + resource + "/web/scale";
      if (request.target != path) continue;
      if (request.method == "GET") return scale(resource, "web");
      if (request.method == "PATCH") {
        if (request.headers.at("content-type") != "application/merge-patch+json") {
          return status(415, "UnsupportedMediaType", "unsupported patch type");
        }
        json patch = json::parse(request.body, nullptr, false);
        if (!patch.is_object() || !patch["spec"]["replicas"].is_number_integer()) {
          return status(422, "Invalid", "spec.replicas: Invalid value");
        }
        replicas_ = patch["spec"]["replicas"].get<int64_t>();
        return scale(resource, "web");
      }
    }
    return status(404, "NotFound", "deployments.apps \"" + request.target + "\" not found");
  }

  std::string token_;
  int64_t replicas_;
  std::mutex mutex_;
  HttpTestServer server_;
};

SystemConfig kubernetesSystem(const std::string& api, const std::string& token_file) {
  SystemConfig system;
  system.name = "web";
  system.min_replicas = 1;
  system.max_replicas = 8;
  system.actuator.kind = "kubernetes";
  system.actuator.api_server = api;
  system.actuator.namespace_ = "shop";
  system.actuator.deployment = "web";
  system.actuator.token_file = token_file;
  system.actuator.timeout = 5s;
  return system;
}

TEST(KubernetesActuator, ScaleArrivesAsAPatchOfSpecReplicasWithTheBearerToken) {
  TempDir dir;
  writeFile(dir.file("token"), "s3cr3t-token\n");
  FakeApiServer api("s3cr3t-token", 2);
  auto actuator = makeActuator(kubernetesSystem(api.url(), dir.file("token")));
  ASSERT_TRUE(actuator.ok()) << actuator.error().message;
  EXPECT_STREQ((*actuator)->kind(), "kubernetes");
  ASSERT_TRUE((*actuator)->start().ok());
  EXPECT_EQ((*actuator)->currentReplicas(), 2);

  ActuationResult result = (*actuator)->apply(scaleDirective(5));
  EXPECT_EQ(result.status, ActuationStatus::kApplied) << result.message;
  EXPECT_EQ(result.replicas, 5);
  EXPECT_EQ((*actuator)->currentReplicas(), 5);
  EXPECT_EQ(api.replicas(), 5);
  EXPECT_NE(result.message.find("deployments shop/web spec.replicas is now 5"), std::string::npos);

  const auto requests = api.requests();
  ASSERT_EQ(requests.size(), 2u);
  const auto& patch = requests[1];
  EXPECT_EQ(patch.method, "PATCH");
  EXPECT_EQ(patch.target, "/apis/apps/v1/namespaces/shop/deployments/web/scale");
  EXPECT_EQ(patch.headers.at("authorization"), "Bearer s3cr3t-token");
  EXPECT_EQ(patch.headers.at("content-type"), "application/merge-patch+json");
  EXPECT_EQ(json::parse(patch.body), (json{{"spec", {{"replicas", 5}}}}));

  // Outside the local bounds: refused, and nothing reaches the API server.
  ActuationResult refused = (*actuator)->apply(scaleDirective(12, "d-2"));
  EXPECT_EQ(refused.status, ActuationStatus::kRefused);
  EXPECT_EQ(refused.message, "system web: 12 replicas is above max_replicas 8");
  EXPECT_EQ(api.requests().size(), 2u);
  EXPECT_EQ((*actuator)->apply(limits(1.0, std::nullopt)).status, ActuationStatus::kRefused);
}

TEST(KubernetesActuator, StatefulSetsAndRotatedTokensWork) {
  TempDir dir;
  writeFile(dir.file("token"), "old-token");
  FakeApiServer api("new-token", 3);
  SystemConfig system = kubernetesSystem(api.url(), dir.file("token"));
  system.actuator.deployment.clear();
  system.actuator.statefulset = "web";
  auto actuator = makeActuator(system);
  ASSERT_TRUE(actuator.ok());
  // A wrong token at start is a configuration error, said at once.
  Status start = (*actuator)->start();
  ASSERT_FALSE(start.ok());
  EXPECT_NE(start.error().message.find("HTTP 401: Unauthorized"), std::string::npos)
      << start.error().message;
  // The token file is read at every request, so a rotated token is used.
  writeFile(dir.file("token"), "new-token");
  ASSERT_TRUE((*actuator)->start().ok());
  ActuationResult result = (*actuator)->apply(scaleDirective(1));
  EXPECT_EQ(result.status, ActuationStatus::kApplied) << result.message;
  EXPECT_EQ(api.requests().back().target, "/apis/apps/v1/namespaces/shop/statefulsets/web/scale");
}

TEST(KubernetesActuator, AnUnreachableApiServerFailsTheDirectiveWithTheReason) {
  TempDir dir;
  writeFile(dir.file("token"), "t");
  std::string url;
  {
    FakeApiServer api("t", 1);
    url = api.url();
  }
  auto actuator = makeActuator(kubernetesSystem(url, dir.file("token")));
  ASSERT_TRUE(actuator.ok());
  EXPECT_TRUE((*actuator)->start().ok());  // the cluster may come up later
  EXPECT_EQ((*actuator)->currentReplicas(), -1);
  ActuationResult result = (*actuator)->apply(scaleDirective(2));
  EXPECT_EQ(result.status, ActuationStatus::kFailed);
  EXPECT_NE(
      result.message.find("PATCH " + url + "/apis/apps/v1/namespaces/shop/deployments/web/scale"),
      std::string::npos)
      << result.message;
}

TEST(KubernetesTarget, DefaultsComeFromTheInClusterServiceAccount) {
  TempDir dir;
  writeFile(dir.file("sa/namespace"), "payments\n");
  writeFile(dir.file("sa/token"), "sa-token\n");
  writeFile(dir.file("sa/ca.crt"), "-----BEGIN CERTIFICATE-----\n");
  ::setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
  ::setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  ActuatorConfig config;
  config.kind = "kubernetes";
  config.deployment = "api";
  auto target = KubernetesTarget::resolve("api", config, dir.file("sa"));
  ::unsetenv("KUBERNETES_SERVICE_HOST");
  ::unsetenv("KUBERNETES_SERVICE_PORT");
  ASSERT_TRUE(target.ok()) << target.error().message;
  EXPECT_EQ(target->api_server, "https://10.96.0.1:443");
  EXPECT_EQ(target->namespace_, "payments");
  EXPECT_EQ(target->resource, "deployments");
  EXPECT_EQ(target->token_file, dir.file("sa/token"));
  EXPECT_EQ(target->ca_file, dir.file("sa/ca.crt"));

  auto outside = KubernetesTarget::resolve("api", config, dir.file("sa"));
  ASSERT_FALSE(outside.ok());
  EXPECT_NE(outside.error().message.find("needs api_server"), std::string::npos);
}

// ---- docker ----------------------------------------------------------------

std::string urlDecode(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// The Docker Engine API v1.41 endpoints the actuator uses, over a unix socket.
class FakeDockerDaemon {
 public:
  struct Container {
    std::string id, name, image, state;
    int64_t created;
    std::map<std::string, std::string> labels;
    std::vector<std::string> cmd;
  };

  explicit FakeDockerDaemon(const std::string& socket)
      : server_(socket, [this](const auto& r) { return handle(r); }) {}

  void add(Container c) {
    std::lock_guard lock(mutex_);
    containers_.push_back(std::move(c));
  }
  std::vector<Container> containers() {
    std::lock_guard lock(mutex_);
    return containers_;
  }
  std::vector<HttpTestServer::Request> requests() const { return server_.requests(); }

 private:
  HttpTestServer::Response handle(const HttpTestServer::Request& request) {
    std::lock_guard lock(mutex_);
    const std::string v = "/v1.41";
    auto error = [](int code, const std::string& message) {
      return HttpTestServer::Response{code, json{{"message", message}}.dump(), "application/json"};
    };
    if (request.target.rfind(v, 0) != 0) return error(400, "client version missing");
    std::string path = request.target.substr(v.size());
    std::string query;
    if (auto q = path.find('?'); q != std::string::npos) {
      query = path.substr(q + 1);
      path = path.substr(0, q);
    }
    if (request.method == "GET" && path == "/containers/json") {
      std::vector<std::string> wanted;
      for (std::size_t at = 0; at < query.size();) {
        std::size_t amp = query.find('&', at);
        std::string pair =
            query.substr(at, amp == std::string::npos ? std::string::npos : amp - at);
        if (pair.rfind("filters=", 0) == 0) {
          wanted = json::parse(urlDecode(pair.substr(8)))["label"].get<std::vector<std::string>>();
        }
        at = amp == std::string::npos ? query.size() : amp + 1;
      }
      json list = json::array();
      for (const Container& c : containers_) {
        bool match = true;
        for (const std::string& label : wanted) {
          const auto eq = label.find('=');
          auto it = c.labels.find(label.substr(0, eq));
          match = match && it != c.labels.end() && it->second == label.substr(eq + 1);
        }
        if (match) {
          list.push_back({{"Id", c.id},
                          {"Names", {"/" + c.name}},
                          {"Image", c.image},
                          {"Created", c.created},
                          {"State", c.state},
                          {"Labels", c.labels}});
        }
      }
      return {200, list.dump(), "application/json"};
    }
    if (request.method == "POST" && path == "/containers/create") {
      json spec = json::parse(request.body);
      Container c;
      c.id = "c" + std::to_string(next_id_++) + std::string(60, 'f');
      c.name = urlDecode(query.substr(query.find("name=") + 5));
      c.image = spec["Image"];
      c.state = "created";
      c.created = 1'700'000'000 + next_id_;
      c.labels = spec["Labels"].get<std::map<std::string, std::string>>();
      if (spec.contains("Cmd")) c.cmd = spec["Cmd"].get<std::vector<std::string>>();
      containers_.push_back(c);
      return {201, json{{"Id", c.id}, {"Warnings", json::array()}}.dump(), "application/json"};
    }
    for (Container& c : containers_) {
      const std::string base = "/containers/" + c.id;
      if (request.method == "POST" && path == base + "/start") {
        if (c.state == "running") return {304, ""};
        c.state = "running";
        return {204, ""};
      }
      if (request.method == "POST" && path == base + "/stop") {
        c.state = "exited";
        return {204, ""};
      }
      if (request.method == "DELETE" && path == base) {
        if (c.state == "running") return error(409, "cannot remove a running container");
        containers_.erase(containers_.begin() + (&c - containers_.data()));
        return {204, ""};
      }
    }
    return error(404, "No such container");
  }

  std::mutex mutex_;
  std::vector<Container> containers_;
  int next_id_ = 1;
  HttpTestServer server_;
};

TEST(DockerActuator, GrowsAndShrinksItsContainersThroughTheEngineApi) {
  TempDir dir;
  const std::string socket = dir.file("docker.sock");
  FakeDockerDaemon daemon(socket);
  const std::map<std::string, std::string> ours{{"pso.system", "web"}, {"team", "shop"}};
  daemon.add({"original", "web-1", "shop/web:1.4", "running", 1'600'000'000, ours, {}});
  daemon.add({"stranger", "db", "postgres:16", "running", 1'600'000'001, {{"team", "shop"}}, {}});

  SystemConfig system;
  system.name = "web";
  system.min_replicas = 1;
  system.max_replicas = 5;
  system.actuator.kind = "docker";
  system.actuator.socket = socket;
  system.actuator.image = "shop/web:1.4";
  system.actuator.labels = {{"team", "shop"}};
  system.actuator.command = {"serve", "--port", "8080"};
  system.actuator.stop_grace = 3s;
  auto actuator = makeActuator(system);
  ASSERT_TRUE(actuator.ok()) << actuator.error().message;
  ASSERT_TRUE((*actuator)->start().ok());
  EXPECT_EQ((*actuator)->currentReplicas(), 1);

  ActuationResult grown = (*actuator)->apply(scaleDirective(3));
  ASSERT_EQ(grown.status, ActuationStatus::kApplied) << grown.message;
  EXPECT_EQ(grown.replicas, 3);
  std::vector<std::string> created;
  for (const auto& c : daemon.containers()) {
    if (c.id == "original" || c.id == "stranger") continue;
    created.push_back(c.id);
    EXPECT_EQ(c.image, "shop/web:1.4");
    EXPECT_EQ(c.state, "running");
    EXPECT_EQ(c.labels, ours);
    EXPECT_EQ(c.cmd, (std::vector<std::string>{"serve", "--port", "8080"}));
    EXPECT_EQ(c.name.rfind("pso-web-", 0), 0u) << c.name;
  }
  ASSERT_EQ(created.size(), 2u);
  int creates = 0;
  int starts = 0;
  for (const auto& r : daemon.requests()) {
    creates += r.method == "POST" && r.target.find("/containers/create") != std::string::npos;
    starts += r.method == "POST" && r.target.find("/start") != std::string::npos;
    if (r.method == "POST" && r.target.find("/containers/create") != std::string::npos) {
      EXPECT_EQ(r.headers.at("content-type"), "application/json");
    }
  }
  EXPECT_EQ(creates, 2);
  EXPECT_EQ(starts, 2);

  // Shrinking stops and removes the newest; the original and the other
  // system's container stay.
  ActuationResult shrunk = (*actuator)->apply(scaleDirective(1, "d-2"));
  ASSERT_EQ(shrunk.status, ActuationStatus::kApplied) << shrunk.message;
  EXPECT_EQ(shrunk.replicas, 1);
  std::vector<std::string> left;
  for (const auto& c : daemon.containers()) left.push_back(c.id);
  EXPECT_EQ(left, (std::vector<std::string>{"original", "stranger"}));
  bool stopped_with_grace = false;
  for (const auto& r : daemon.requests()) {
    stopped_with_grace |=
        r.method == "POST" && r.target == "/v1.41/containers/" + created[1] + "/stop?t=3";
  }
  EXPECT_TRUE(stopped_with_grace);
  EXPECT_EQ((*actuator)->apply(limits(1.0, std::nullopt)).status, ActuationStatus::kRefused);
}

TEST(DockerActuator, RestartsStoppedContainersBeforeCreatingAndReportsDaemonErrors) {
  TempDir dir;
  const std::string socket = dir.file("docker.sock");
  FakeDockerDaemon daemon(socket);
  const std::map<std::string, std::string> ours{{"pso.system", "web"}};
  daemon.add({"sleeping", "web-old", "web:1", "exited", 1'600'000'000, ours, {}});
  SystemConfig system;
  system.name = "web";
  system.min_replicas = 0;
  system.max_replicas = 3;
  system.actuator.kind = "docker";
  system.actuator.socket = socket;
  system.actuator.image = "web:1";
  auto actuator = makeActuator(system);
  ASSERT_TRUE(actuator.ok());
  ASSERT_TRUE((*actuator)->start().ok());
  EXPECT_EQ((*actuator)->currentReplicas(), 0);
  ActuationResult one = (*actuator)->apply(scaleDirective(1));
  ASSERT_EQ(one.status, ActuationStatus::kApplied) << one.message;
  ASSERT_EQ(daemon.containers().size(), 1u);
  EXPECT_EQ(daemon.containers()[0].state, "running");

  // No daemon on the socket: a clear failure, at start and per directive.
  system.actuator.socket = dir.file("absent.sock");
  auto orphan = makeActuator(system);
  ASSERT_TRUE(orphan.ok());
  Status start = (*orphan)->start();
  ASSERT_FALSE(start.ok());
  EXPECT_NE(start.error().message.find("Docker socket " + dir.file("absent.sock")),
            std::string::npos)
      << start.error().message;
}

// ---- cgroup ----------------------------------------------------------------

TEST(CgroupActuator, WritesCpuMaxAndMemoryMaxAndReadsBackWhatHolds) {
  TempDir dir;
  const std::string root = dir.file("sys/fs/cgroup");
  const std::string cg = root + "/app.slice/web.service";
  writeFile(cg + "/cpu.max", "max 100000\n");
  writeFile(cg + "/memory.max", "max\n");
  SystemConfig system;
  system.name = "web";
  system.cgroup = "app.slice/web.service";
  system.actuator.kind = "cgroup";
  system.actuator.max_cpu = 4;
  system.actuator.max_memory = 8LL << 30;
  auto actuator = makeActuator(system, nullptr, root);
  ASSERT_TRUE(actuator.ok()) << actuator.error().message;
  ASSERT_TRUE((*actuator)->start().ok());
  EXPECT_EQ((*actuator)->currentReplicas(), 1);

  ActuationResult result = (*actuator)->apply(limits(0.5, 256LL << 20));
  ASSERT_EQ(result.status, ActuationStatus::kApplied) << result.message;
  EXPECT_EQ(readFile(cg + "/cpu.max"), "50000 100000");
  EXPECT_EQ(readFile(cg + "/memory.max"), "268435456");
  EXPECT_EQ(result.message,
            "system web: now cpu.max '50000 100000' (0.5 cores), memory.max 268435456");

  // Outside the local bounds: refused, files untouched.
  ActuationResult refused = (*actuator)->apply(limits(6.0, std::nullopt));
  EXPECT_EQ(refused.status, ActuationStatus::kRefused);
  EXPECT_EQ(refused.message, "system web: cpu 6 is above max_cpu 4");
  EXPECT_EQ((*actuator)->apply(limits(std::nullopt, 1024)).status, ActuationStatus::kRefused);
  EXPECT_EQ(readFile(cg + "/cpu.max"), "50000 100000");
  EXPECT_EQ((*actuator)->apply(scaleDirective(1)).status, ActuationStatus::kRefused);
}

TEST(CgroupActuator, AFileTheKernelRefusesFailsTheDirectiveNamingIt) {
  TempDir dir;
  std::filesystem::create_directories(dir.file("web/memory.max"));  // cannot be written
  writeFile(dir.file("web/cpu.max"), "max 100000\n");
  CgroupActuator actuator("web", dir.file("web"), 100000);
  Status start = actuator.start();
  ASSERT_FALSE(start.ok());
  EXPECT_NE(start.error().message.find("memory.max"), std::string::npos);
  ActuationResult result = actuator.apply(limits(std::nullopt, 64LL << 20));
  EXPECT_EQ(result.status, ActuationStatus::kFailed);
  EXPECT_NE(result.message.find("cannot open " + dir.file("web/memory.max")), std::string::npos)
      << result.message;
  // cpu below the kernel's minimum quota.
  EXPECT_EQ(actuator.apply(limits(0.001, std::nullopt)).status, ActuationStatus::kFailed);
}

// ---- systemd ---------------------------------------------------------------

// A systemctl stand-in: keeps one file per active unit and logs every call.
std::string writeSystemctl(const TempDir& dir, const std::string& fail_start = "") {
  const std::string state = dir.file("units");
  std::filesystem::create_directories(state);
  const std::string path = dir.file("systemctl");
  writeFile(
      path,
      "#!/bin/sh\n"
      "state='" +
          state +
          "'\n"
          "echo \"$*\" >> '" +
          dir.file("calls.log") +
          "'\n"
          "cmd=$1; shift\n"
          "case \"$cmd\" in\n"
          "  is-active) rc=0; for u in \"$@\"; do\n"
          "      if [ -e \"$state/$u\" ]; then echo active; else echo inactive; rc=3; fi\n"
          "    done; exit $rc;;\n"
          "  start) for u in \"$@\"; do\n"
          "      if [ \"$u\" = '" +
          fail_start +
          "' ]; then\n"
          "        echo \"Job for $u failed because the control process exited.\" >&2; exit 1; fi\n"
          "      touch \"$state/$u\"; done;;\n"
          "  stop) for u in \"$@\"; do rm -f \"$state/$u\"; done;;\n"
          "  *) echo \"Unknown command verb $cmd.\" >&2; exit 1;;\n"
          "esac\n");
  ::chmod(path.c_str(), 0755);
  return path;
}

SystemConfig systemdSystem(const std::string& systemctl) {
  SystemConfig system;
  system.name = "web";
  system.min_replicas = 0;
  system.max_replicas = 4;
  system.actuator.kind = "systemd";
  system.actuator.unit = "web";
  system.actuator.systemctl = systemctl;
  system.actuator.timeout = 5s;
  return system;
}

TEST(SystemdActuator, StartsAndStopsTemplateInstancesWithSystemctl) {
  TempDir dir;
  const std::string systemctl = writeSystemctl(dir);
  writeFile(dir.file("units/web@0.service"), "");
  auto actuator = makeActuator(systemdSystem(systemctl));
  ASSERT_TRUE(actuator.ok()) << actuator.error().message;
  ASSERT_TRUE((*actuator)->start().ok());
  EXPECT_EQ((*actuator)->currentReplicas(), 1);

  ActuationResult up = (*actuator)->apply(scaleDirective(3));
  ASSERT_EQ(up.status, ActuationStatus::kApplied) << up.message;
  EXPECT_EQ(up.replicas, 3);
  EXPECT_TRUE(std::filesystem::exists(dir.file("units/web@2.service")));
  ActuationResult down = (*actuator)->apply(scaleDirective(1, "d-2"));
  ASSERT_EQ(down.status, ActuationStatus::kApplied) << down.message;
  EXPECT_EQ(down.replicas, 1);
  EXPECT_TRUE(std::filesystem::exists(dir.file("units/web@0.service")));
  EXPECT_FALSE(std::filesystem::exists(dir.file("units/web@1.service")));

  const std::string calls = readFile(dir.file("calls.log"));
  EXPECT_NE(calls.find("is-active web@0.service web@1.service web@2.service web@3.service"),
            std::string::npos)
      << calls;
  EXPECT_NE(calls.find("start web@1.service web@2.service\n"), std::string::npos) << calls;
  EXPECT_NE(calls.find("stop web@1.service web@2.service\n"), std::string::npos) << calls;
  EXPECT_EQ((*actuator)->apply(scaleDirective(9, "d-3")).status, ActuationStatus::kRefused);
}

TEST(SystemdActuator, AFailedStartIsReportedWithSystemctlsMessage) {
  TempDir dir;
  const std::string systemctl = writeSystemctl(dir, "web@1.service");
  auto actuator = makeActuator(systemdSystem(systemctl));
  ASSERT_TRUE(actuator.ok());
  ASSERT_TRUE((*actuator)->start().ok());
  ActuationResult result = (*actuator)->apply(scaleDirective(2));
  EXPECT_EQ(result.status, ActuationStatus::kFailed);
  EXPECT_NE(result.message.find("systemctl start exit 1: Job for web@1.service failed"),
            std::string::npos)
      << result.message;
  EXPECT_EQ(result.replicas, 1);  // web@0 started before the failure

  SystemConfig missing = systemdSystem(dir.file("no-systemctl"));
  auto broken = makeActuator(missing);
  ASSERT_TRUE(broken.ok());
  Status start = (*broken)->start();
  ASSERT_FALSE(start.ok());
  EXPECT_NE(start.error().message.find("no-systemctl"), std::string::npos);
}

}  // namespace
}  // namespace pso::agent
