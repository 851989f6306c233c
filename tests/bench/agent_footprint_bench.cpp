// Footprint of pso-agent against prometheus-node-exporter (docs/architecture.md
// section 3, "Budget"): the agent samples the host plus ten cgroup systems
// every second for a minute while a ROUTER on loopback plays the controller
// (welcome, acks); node_exporter, when installed, runs alongside and is
// scraped once a second. Two agent configurations are measured, one after
// the other:
//   base: host + ten cgroup systems;
//   http: the same plus an HTTP health check (every second) against a
//         loopback server and an eleventh system whose demand is scraped
//         from a loopback Prometheus endpoint every second.
// Both processes' peak RSS (VmHWM) and CPU time (utime + stime) are printed,
// with the budget checks for each configuration:
//   agent peak RSS <= 10 MB and <= half of node_exporter's;
//   agent CPU time <= half of node_exporter's over the same minute.
// Usage: agent_footprint_bench [--seconds N] [--agent PATH]
//                              [--node-exporter PATH] [--only base|http]
// Exit status 1 when a budget check fails, 2 when the bench cannot run.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "common/zmq_socket.h"
#include "protocol/codec.h"
#include "protocol/messages.h"
#include "tests/bench/process_usage.h"
#include "tests/agent/http_test_server.h"

namespace fs = std::filesystem;

namespace {

constexpr int kSystems = 10;
constexpr double kAgentRssBudgetKb = 10 * 1024;

using Usage = pso::bench::ProcessUsage;
using pso::bench::readUsage;

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::trunc) << text;
}

// One cgroup v2 directory in the kernel's file formats; `tick` advances the
// counters so the agent computes real rates.
void writeCgroup(const fs::path& dir, long tick, int index) {
  const long usage = 5'000'000L * tick + 1000L * index;
  write(dir / "cpu.stat",
        "usage_usec " + std::to_string(usage) + "\nuser_usec " + std::to_string(usage * 3 / 4) +
            "\nsystem_usec " + std::to_string(usage / 4) + "\nnr_periods " +
            std::to_string(10 * tick) + "\nnr_throttled " + std::to_string(tick) +
            "\nthrottled_usec " + std::to_string(1000 * tick) + "\nnr_bursts 0\nburst_usec 0\n");
  write(dir / "io.stat", "8:0 rbytes=" + std::to_string(4096 * tick) + " wbytes=" +
                             std::to_string(8192 * tick) + " rios=10 wios=20 dbytes=0 dios=0\n");
  if (tick > 0) return;
  write(dir / "cpu.max", "50000 100000\n");
  write(dir / "memory.current", std::to_string(100'000'000 + index) + "\n");
  write(dir / "memory.max", "536870912\n");
  write(dir / "memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n");
  for (const char* file : {"cpu.pressure", "memory.pressure", "io.pressure"}) {
    write(dir / file,
          "some avg10=1.50 avg60=0.80 avg300=0.20 total=123456\n"
          "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
  }
}

int freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// GET /metrics over a plain socket; returns the bytes received (0 on failure).
std::size_t scrape(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::size_t total = 0;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string request =
        "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size())) {
      char buffer[65536];
      ssize_t n;
      while ((n = ::recv(fd, buffer, sizeof buffer, 0)) > 0) total += static_cast<std::size_t>(n);
    }
  }
  ::close(fd);
  return total;
}

pid_t spawn(const std::vector<std::string>& argv, const fs::path& log) {
  // The child's freopen would otherwise flush a copy of our pending output.
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    std::FILE* out = std::freopen(log.c_str(), "w", stdout);
    (void)out;
    ::dup2(STDOUT_FILENO, STDERR_FILENO);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    std::perror("execv");
    ::_exit(127);
  }
  return pid;
}

void stopProcess(pid_t pid) {
  if (pid <= 0) return;
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

void printRow(const char* who, const Usage& start, const Usage& end, double seconds, long cycles) {
  const double cpu = end.cpu_s - start.cpu_s;
  std::printf("%-26s %10.1f MB %12.3f s %14.3f ms %10.2f %%\n", who, end.peak_rss_kb / 1024.0, cpu,
              cycles > 0 ? 1000.0 * cpu / static_cast<double>(cycles) : 0.0, 100.0 * cpu / seconds);
}

struct RunResult {
  bool ok = false;        ///< every budget check passed
  bool measured = false;  ///< the agent ran through the window
};

// One measured run of the agent with `extra_systems` appended to the base
// configuration and `extra_health` under sys-0.
RunResult measure(const std::string& label, const std::string& agent,
                  const std::string& node_exporter, int seconds, const fs::path& dir,
                  const std::string& extra_systems, const std::string& extra_health) {
  RunResult run;
  fs::remove_all(dir);
  const fs::path cgroup_root = dir / "sys" / "fs" / "cgroup";
  for (int i = 0; i < kSystems; ++i) {
    writeCgroup(cgroup_root / "bench.slice" / ("sys-" + std::to_string(i)), 0, i);
  }

  zmq::context_t context(1);
  std::string endpoint;
  auto router = pso::common::makeRouter(context, "tcp://127.0.0.1:0", {}, &endpoint);
  if (!router) {
    std::cerr << "agent_footprint_bench: " << router.error().message << "\n";
    return run;
  }

  std::ostringstream config;
  config << "agent:\n  id: bench-agent\n  controller: " << endpoint
         << "\n  spool: " << (dir / "spool.db").string()
         << "\n  sample_interval: 1s\n  sys_root: " << (dir / "sys").string()
         << "\n  log_level: warn\nsystems:\n";
  for (int i = 0; i < kSystems; ++i) {
    config << "  - name: sys-" << i << "\n    cgroup: bench.slice/sys-" << i
           << "\n    initial_replicas: 1\n    demand: {source: cgroup, metric: cpu.usage}\n"
           << "    actuator: {kind: exec, command: [\"true\"]}\n";
    if (i == 0) config << extra_health;
  }
  config << extra_systems;
  write(dir / "agent.yaml", config.str());

  const bool have_exporter = fs::exists(node_exporter);
  const int exporter_port = freePort();
  pid_t exporter_pid = -1;
  if (have_exporter) {
    exporter_pid =
        spawn({node_exporter, "--web.listen-address=127.0.0.1:" + std::to_string(exporter_port)},
              dir / "node_exporter.log");
  }
  const pid_t agent_pid =
      spawn({agent, "--config", (dir / "agent.yaml").string()}, dir / "agent.log");

  // The controller's part: welcome each hello, ack each batch.
  uint64_t batches = 0;
  auto serve = [&](int timeout_ms) {
    zmq::pollitem_t item{router->handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(timeout_ms));
    for (;;) {
      zmq::message_t identity;
      zmq::message_t payload;
      if (!router->recv(identity, zmq::recv_flags::dontwait)) return;
      if (!router->recv(payload, zmq::recv_flags::dontwait)) return;
      auto message = pso::protocol::decode(payload.to_string_view());
      if (!message) continue;
      std::optional<pso::protocol::Message> answer;
      if (std::get_if<pso::protocol::Hello>(&*message) != nullptr) {
        pso::protocol::Welcome welcome;
        welcome.controller_id = "bench";
        welcome.last_seq = batches;
        answer = welcome;
      } else if (auto* batch = std::get_if<pso::protocol::TelemetryBatch>(&*message)) {
        batches = std::max<uint64_t>(batches, batch->seq);
        answer = pso::protocol::Ack{batch->seq};
      }
      if (answer) {
        const std::string frame = pso::protocol::encode(*answer);
        router->send(identity, zmq::send_flags::sndmore);
        router->send(zmq::buffer(frame), zmq::send_flags::none);
      }
    }
  };

  // Two seconds to start and say hello; the measured window follows.
  const auto warm_until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (std::chrono::steady_clock::now() < warm_until) serve(100);
  std::optional<Usage> agent_start = readUsage(agent_pid);
  std::optional<Usage> exporter_start =
      have_exporter ? readUsage(exporter_pid) : std::optional<Usage>();
  if (!agent_start) {
    std::cerr << "agent_footprint_bench: pso-agent is not running; its log:\n"
              << std::ifstream(dir / "agent.log").rdbuf() << "\n";
    stopProcess(exporter_pid);
    return run;
  }
  const uint64_t batches_at_start = batches;
  std::size_t scraped_bytes = 0;
  long scrapes = 0;
  const auto begin = std::chrono::steady_clock::now();
  for (long tick = 1; tick <= seconds; ++tick) {
    const auto next = begin + std::chrono::seconds(tick);
    for (int i = 0; i < kSystems; ++i) {
      writeCgroup(cgroup_root / "bench.slice" / ("sys-" + std::to_string(i)), tick, i);
    }
    if (have_exporter) {
      scraped_bytes += scrape(exporter_port);
      ++scrapes;
    }
    while (std::chrono::steady_clock::now() < next) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          next - std::chrono::steady_clock::now());
      serve(static_cast<int>(std::max<long>(1, left.count())));
    }
  }
  std::optional<Usage> agent_end = readUsage(agent_pid);
  std::optional<Usage> exporter_end =
      have_exporter ? readUsage(exporter_pid) : std::optional<Usage>();
  const long cycles = static_cast<long>(batches - batches_at_start);
  stopProcess(agent_pid);
  stopProcess(exporter_pid);

  std::printf("\n[%s] agent footprint: host + %d cgroup systems%s sampled every 1 s for %d s\n",
              label.c_str(), kSystems, extra_systems.empty() ? "" : " + HTTP features", seconds);
  std::printf("%-26s %13s %14s %17s %12s\n", "process", "peak RSS", "CPU time", "CPU per cycle",
              "CPU share");
  if (!agent_end) {
    std::cerr << "agent_footprint_bench: pso-agent exited during the run; its log:\n"
              << std::ifstream(dir / "agent.log").rdbuf() << "\n";
    return run;
  }
  run.measured = true;
  printRow("pso-agent", *agent_start, *agent_end, seconds, cycles);
  std::printf("  telemetry batches acked in the window: %ld\n", cycles);
  bool ok = agent_end->peak_rss_kb <= kAgentRssBudgetKb;
  std::printf("check: agent peak RSS %.1f MB <= 10 MB: %s\n", agent_end->peak_rss_kb / 1024.0,
              ok ? "PASS" : "FAIL");
  if (!have_exporter || !exporter_start || !exporter_end) {
    std::printf("node_exporter: %s; comparison skipped\n",
                have_exporter ? "did not stay up (see its log)"
                              : (node_exporter + " not installed").c_str());
  } else {
    printRow("prometheus-node-exporter", *exporter_start, *exporter_end, seconds, scrapes);
    std::printf("  scrapes: %ld, %.0f KB each on average\n", scrapes,
                scrapes > 0
                    ? static_cast<double>(scraped_bytes) / 1024.0 / static_cast<double>(scrapes)
                    : 0.0);
    const bool rss_half = agent_end->peak_rss_kb * 2 <= exporter_end->peak_rss_kb;
    const double agent_cpu = agent_end->cpu_s - agent_start->cpu_s;
    const double exporter_cpu = exporter_end->cpu_s - exporter_start->cpu_s;
    const bool cpu_half = agent_cpu * 2 <= exporter_cpu;
    std::printf("check: agent peak RSS <= half of node_exporter's (%.1f MB): %s\n",
                exporter_end->peak_rss_kb / 2048.0, rss_half ? "PASS" : "FAIL");
    std::printf("check: agent CPU %.3f s <= half of node_exporter's (%.3f s): %s\n", agent_cpu,
                exporter_cpu / 2.0, cpu_half ? "PASS" : "FAIL");
    ok = ok && rss_half && cpu_half;
  }
  run.ok = ok;
  fs::remove_all(dir);
  return run;
}

}  // namespace

int main(int argc, char** argv) {
  int seconds = 60;
  std::string agent = PSO_AGENT_BINARY;
  std::string node_exporter = "/usr/bin/prometheus-node-exporter";
  std::string only;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--seconds") seconds = std::stoi(argv[i + 1]);
    if (flag == "--agent") agent = argv[i + 1];
    if (flag == "--node-exporter") node_exporter = argv[i + 1];
    if (flag == "--only") only = argv[i + 1];
  }
  if (!fs::exists(agent)) {
    std::cerr << "agent_footprint_bench: no pso-agent at " << agent << "\n";
    return 2;
  }
  const fs::path dir = fs::temp_directory_path() / ("pso-footprint-" + std::to_string(::getpid()));
  bool ok = true;
  bool measured = true;
  if (only.empty() || only == "base") {
    RunResult base = measure("base", agent, node_exporter, seconds, dir, "", "");
    ok = ok && base.ok;
    measured = measured && base.measured;
  }
  if (only.empty() || only == "http") {
    // A service's health endpoint and a Prometheus exporter whose counter
    // grows, both real HTTP servers on loopback in this process.
    using pso::agent::testing::HttpTestServer;
    std::atomic<long> requests{0};
    HttpTestServer service([&](const HttpTestServer::Request&) {
      return HttpTestServer::Response{200, "ok\n"};
    });
    HttpTestServer exporter([&](const HttpTestServer::Request&) {
      const long n = requests.fetch_add(1) + 1;
      return HttpTestServer::Response{200,
                                      "# TYPE http_requests_total counter\nhttp_requests_total " +
                                          std::to_string(100 * n) + "\n",
                                      "text/plain; version=0.0.4"};
    });
    const std::string health = "    health:\n      - http: " + service.url("/healthz") +
                               "\n        interval: 1s\n        timeout: 500ms\n";
    const std::string web =
        "  - name: web\n    initial_replicas: 1\n"
        "    demand: {source: prometheus, url: " +
        exporter.url("/metrics") +
        ", metric: http_requests_total, timeout: 500ms}\n"
        "    actuator: {kind: exec, command: [\"true\"]}\n";
    RunResult http = measure("http", agent, node_exporter, seconds, dir, web, health);
    std::printf("  health probes served: %zu, scrapes served: %zu\n", service.requests().size(),
                exporter.requests().size());
    ok = ok && http.ok;
    measured = measured && http.measured;
  }
  if (!measured) return 2;
  return ok ? 0 : 1;
}
