// The fleet at scale: N simulated agents from this one process speaking the
// real protocol (hello, telemetry with sequence numbers that honour acks,
// heartbeats) to a real pso-controller on loopback, and what the controller
// makes of it.
//
// Each simulated agent declares one system and sends 10 series (8 of its
// system, 2 of its host) every interval: one batch per interval with `points`
// timestamps per series. A batch is generated on schedule whether or not the
// controller keeps up; it is sent while fewer than `window` batches of the
// agent wait for their ack (as pso-agent's spool holds them), and sent again
// after a reconnect from the position the controller's welcome names. The ack
// lag of a batch runs from its generation to the ack that covers it, so a
// controller that falls behind shows as lag, not as a lower offered rate.
// The measured window starts once every agent is welcomed; the lag counts
// the batches generated in it, and the backlog the fleet built up while it
// was being welcomed is reported apart (when its last batch was acked).
//
// Printed: offered and acked samples/s, the samples the controller persisted
// per second (its pso_telemetry_samples_total), ack lag p50/p99/max, the
// controller's CPU (share of one core) and RSS, decision cycle time, and the
// database's growth per system per day. With --restart, the controller is
// killed (SIGKILL) and started again on the same database and endpoint: the
// reconnect storm is timed until every agent is welcomed and every batch
// generated before the kill is acked. With --pg-dsn the controller's store
// is that PostgreSQL database (empty at the start; tests/tools/pg-cluster.sh
// makes a throw-away one) and the growth is the database's
// pg_database_size, read with psql. With --stall-store AT:SECONDS another
// connection holds the SQLite database's write lock for SECONDS from AT
// seconds into the window (a slow disk, a `psoctl import` on the same file):
// what the controller holds meanwhile, and keeps after it, shows in its RSS.
//
// Usage: fleet_bench [--agents N] [--interval-ms MS] [--points K]
//                    [--seconds S] [--window W] [--threads T] [--processes P]
//                    [--restart] [--cycle-interval D] [--controller PATH]
//                    [--log FILE] [--pg-dsn DSN] [--stall-store AT:SECONDS]
//
// The agents are simulated by P generator processes (this program started
// again with --generate-slice FIRST:COUNT), each with its share of the T
// generator threads, driven by this one over a pipe: a simulated agent takes
// two file descriptors (a TCP socket and a ZeroMQ mailbox), so one process
// under a hard limit of 20,000 descriptors holds at most about 9,800 of
// them. By default P is what that limit and at most 5,000 agents a process
// ask for (two processes at 10,000 agents). The generators share the machine
// with the controller: on a 2-core machine they take part of the CPU they
// measure against.

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <queue>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>
#include <zmq.hpp>

#include "common/http_transfer.h"
#include "common/sqlite.h"
#include "common/zmq_socket.h"
#include "protocol/codec.h"
#include "protocol/messages.h"
#include "tests/bench/process_usage.h"
#include "tests/support/process.h"

#ifndef PSO_CONTROLLER_BINARY
#define PSO_CONTROLLER_BINARY "pso-controller"
#endif

namespace fs = std::filesystem;
namespace common = pso::common;
namespace protocol = pso::protocol;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  int agents = 1000;
  int interval_ms = 1000;
  int points = 1;
  int seconds = 60;
  int window = 64;
  int threads = 2;
  bool restart = false;
  std::string keep_log;  ///< --log FILE: the controller's log is copied there at the end
  std::string cycle_interval = "15s";
  std::string controller = PSO_CONTROLLER_BINARY;
  /// --pg-dsn DSN: the controller's store is the PostgreSQL database DSN
  /// names (an empty one: the controller writes its tables there) instead of
  /// an SQLite file.
  std::string pg_dsn;
  /// --stall-store AT:SECONDS: AT seconds into the measured window another
  /// connection takes the SQLite database's write lock and holds it for
  /// SECONDS, as a slow disk or a `psoctl import` on the same file would
  /// stall the writer; the RSS around it is printed.
  int stall_at_s = -1;
  int stall_s = 0;
  /// --processes P: generator processes; 0 picks as the header says.
  int processes = 0;
  /// --generate-slice FIRST:COUNT and --endpoint E: this process is one
  /// generator process, simulating agents FIRST .. FIRST+COUNT-1 against the
  /// controller at E, driven by the commands on its standard input.
  int slice_first = -1;
  int slice_count = 0;
  std::string endpoint;
};

// Agents one generator process simulates at most by default.
constexpr int kAgentsPerProcess = 5000;

constexpr int kSystemSeries = 8;
constexpr int kHostSeries = 2;
constexpr int kSeries = kSystemSeries + kHostSeries;
constexpr int64_t kHelloRetryMs = 5000;
constexpr int64_t kHeartbeatMs = 5000;

int64_t steadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
      .count();
}

int64_t wallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A vector of counts as text, its non-zero entries only (" USED i v i v
// ..."): how a generator process hands its histograms to the driving one.
template <typename T>
void encodeSparse(std::ostream& out, const std::vector<T>& values) {
  std::size_t used = 0;
  for (T v : values) used += v != 0 ? 1 : 0;
  out << ' ' << used;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (values[i] != 0) out << ' ' << i << ' ' << values[i];
  }
}

// Reads what encodeSparse() wrote into `values` (zeros elsewhere); false
// when it is not that or names an index outside `values`.
template <typename T>
bool decodeSparse(std::istream& in, std::vector<T>& values) {
  std::size_t used = 0;
  if (!(in >> used)) return false;
  for (std::size_t k = 0; k < used; ++k) {
    std::size_t i = 0;
    T v = 0;
    if (!(in >> i >> v) || i >= values.size()) return false;
    values[i] = v;
  }
  return true;
}

// Lags in milliseconds, bucketed by the millisecond up to a minute and by the
// second beyond, so percentiles stay exact enough at millions of batches.
class LagHistogram {
 public:
  void add(int64_t lag_ms) {
    lag_ms = std::max<int64_t>(lag_ms, 0);
    if (lag_ms < kFine) {
      ++fine_[static_cast<std::size_t>(lag_ms)];
    } else {
      ++coarse_[static_cast<std::size_t>(std::min<int64_t>((lag_ms - kFine) / 1000, kCoarse - 1))];
    }
    max_ = std::max(max_, lag_ms);
    ++count_;
  }
  void merge(const LagHistogram& o) {
    for (std::size_t i = 0; i < fine_.size(); ++i) fine_[i] += o.fine_[i];
    for (std::size_t i = 0; i < coarse_.size(); ++i) coarse_[i] += o.coarse_[i];
    max_ = std::max(max_, o.max_);
    count_ += o.count_;
  }
  int64_t percentile(double q) const {
    if (count_ == 0) return -1;
    const auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
    uint64_t seen = 0;
    for (std::size_t i = 0; i < fine_.size(); ++i) {
      seen += fine_[i];
      if (seen >= rank) return static_cast<int64_t>(i);
    }
    for (std::size_t i = 0; i < coarse_.size(); ++i) {
      seen += coarse_[i];
      if (seen >= rank) return kFine + static_cast<int64_t>(i + 1) * 1000;
    }
    return max_;
  }
  int64_t max() const { return max_; }
  uint64_t count() const { return count_; }

  /// Its buckets as text, the non-empty ones only, for a generator process
  /// to hand its counts to the driving one.
  void encode(std::ostream& out) const {
    out << count_ << ' ' << max_;
    encodeSparse(out, fine_);
    encodeSparse(out, coarse_);
  }
  /// Reads what encode() wrote; false when it is not that.
  bool decode(std::istream& in) {
    *this = LagHistogram();
    return static_cast<bool>(in >> count_ >> max_) && decodeSparse(in, fine_) &&
           decodeSparse(in, coarse_);
  }

 private:
  static constexpr int64_t kFine = 60000;
  static constexpr int64_t kCoarse = 3600;
  std::vector<uint64_t> fine_ = std::vector<uint64_t>(kFine, 0);
  std::vector<uint64_t> coarse_ = std::vector<uint64_t>(kCoarse, 0);
  int64_t max_ = 0;
  uint64_t count_ = 0;
};

struct SimAgent {
  std::string id;
  std::string system;
  zmq::socket_t socket;
  bool welcomed = false;
  int64_t hello_sent_ms = -1;
  int64_t first_batch_ms = 0;  // steady time batch 1 was generated
  int64_t wall_origin_ms = 0;  // wall time of batch 1's first point
  uint64_t generated = 0;      // batches generated so far: seqs 1..generated
  uint64_t sent = 0;           // highest seq sent on this connection
  uint64_t acked = 0;
  int64_t next_heartbeat_ms = 0;
  int64_t wake_ms = -1;  // when the generator visits it next; -1: not scheduled
};

// The lag is also printed without the batches of the window's first seconds,
// which wait behind what the fleet sent while it was being welcomed.
constexpr int64_t kSettleSeconds = 30;

struct Totals {
  uint64_t batches_sent = 0;
  uint64_t batches_acked = 0;
  uint64_t samples_acked = 0;
  uint64_t welcomes = 0;
  uint64_t refusals = 0;
  /// Batches generated in the window only: the steady state. What agents
  /// generated while the fleet was being welcomed is acked in the window too
  /// and counted above, and its catch-up shows as backlog_acked_ms.
  LagHistogram lag;
  /// The same, of the batches generated after the window's first
  /// kSettleSeconds: the steady state once the storm's backlog had time to
  /// drain, printed beside the whole window's.
  LagHistogram settled_lag;
  int64_t backlog_acked_ms = 0;  ///< last ack of a batch generated before the window
  /// The largest lag of the batches generated in each second of the window:
  /// where the slow acks bunch, to set beside the cycles' times.
  std::vector<int64_t> worst_by_second = std::vector<int64_t>(4 * 3600, 0);
  int64_t pass_max_ms = 0;  // longest loop of a generator thread over the agents it visited
  int64_t pass_sum_ms = 0;
  uint64_t passes = 0;

  void merge(const Totals& t) {
    batches_sent += t.batches_sent;
    batches_acked += t.batches_acked;
    samples_acked += t.samples_acked;
    welcomes += t.welcomes;
    refusals += t.refusals;
    lag.merge(t.lag);
    settled_lag.merge(t.settled_lag);
    backlog_acked_ms = std::max(backlog_acked_ms, t.backlog_acked_ms);
    for (std::size_t k = 0; k < worst_by_second.size(); ++k) {
      worst_by_second[k] = std::max(worst_by_second[k], t.worst_by_second[k]);
    }
    pass_max_ms = std::max(pass_max_ms, t.pass_max_ms);
    pass_sum_ms += t.pass_sum_ms;
    passes += t.passes;
  }

  /// One line of text, from a generator process to the driving one.
  std::string encode() const {
    std::ostringstream out;
    out << batches_sent << ' ' << batches_acked << ' ' << samples_acked << ' ' << welcomes << ' '
        << refusals << ' ' << backlog_acked_ms << ' ' << pass_max_ms << ' ' << pass_sum_ms << ' '
        << passes << ' ';
    lag.encode(out);
    out << ' ';
    settled_lag.encode(out);
    encodeSparse(out, worst_by_second);
    return out.str();
  }
  /// Reads what encode() wrote; false when the line is not that.
  bool decode(const std::string& line) {
    *this = Totals();
    std::istringstream in(line);
    return static_cast<bool>(in >> batches_sent >> batches_acked >> samples_acked >> welcomes >>
                             refusals >> backlog_acked_ms >> pass_max_ms >> pass_sum_ms >>
                             passes) &&
           lag.decode(in) && settled_lag.decode(in) && decodeSparse(in, worst_by_second);
  }
};

// One generator thread: a slice of the agents, their sockets and their counts.
class Generator {
 public:
  Generator(zmq::context_t& context, const std::string& endpoint, const Options& options, int first,
            int count)
      : options_(options), endpoint_(endpoint) {
    common::DealerOptions dealer;
    dealer.sndhwm = options.window + 8;
    dealer.rcvhwm = options.window + 8;
    dealer.linger_ms = 0;
    // No ZMTP pings from the simulated agents: in one process their 10,000
    // connections share one libzmq I/O thread, which walks all of its timers
    // to cancel a connection's heartbeat timeout on every message it
    // receives (common/zmq_socket.h): 75% of a core at 9,800 agents, taken
    // from the controller under test. Real agents have a process each; the
    // simulated ones still send the protocol's heartbeat messages.
    dealer.heartbeat_ivl_ms = 0;
    dealer.heartbeat_timeout_ms = 0;
    for (int i = first; i < first + count; ++i) {
      auto socket = common::makeDealer(context, endpoint, dealer);
      if (!socket) {
        std::fprintf(stderr, "fleet_bench: agent %d: %s\n", i, socket.error().message.c_str());
        std::exit(1);
      }
      SimAgent agent;
      char id[32];
      std::snprintf(id, sizeof id, "load-%05d", i);
      agent.id = id;
      std::snprintf(id, sizeof id, "sys-%05d", i);
      agent.system = id;
      agent.socket = std::move(socket).value();
      // Agents start their schedules spread over one interval, as a fleet does.
      agent.first_batch_ms =
          steadyMs() + (options.interval_ms * static_cast<int64_t>(i - first)) / std::max(count, 1);
      agent.wall_origin_ms = wallMs() + (agent.first_batch_ms - steadyMs());
      agents_.push_back(std::move(agent));
    }
  }

  // Visits an agent only when its socket has something to read (epoll on
  // the sockets' ZMQ_FD) or when it has something due (a heap of wake-up
  // times): a generator that polled every socket in turn spent a poll(2) per
  // socket per pass and took the cores from the controller it measures.
  void run(const std::atomic<bool>& stop) {
    const int epoll = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll < 0) {
      std::perror("fleet_bench: epoll_create1");
      std::exit(1);
    }
    for (std::size_t i = 0; i < agents_.size(); ++i) {
      epoll_event event{};
      event.events = EPOLLIN;
      event.data.u64 = i;
      const int fd = agents_[i].socket.get(zmq::sockopt::fd);
      if (::epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) != 0) {
        std::perror("fleet_bench: epoll_ctl");
        std::exit(1);
      }
    }
    using Wake = std::pair<int64_t, std::size_t>;
    std::priority_queue<Wake, std::vector<Wake>, std::greater<>> due;
    auto visit = [&](std::size_t i, int64_t now) {
      const int64_t wake = step(agents_[i], now);
      if (wake != agents_[i].wake_ms) {
        agents_[i].wake_ms = wake;
        due.push({wake, i});
      }
    };
    for (std::size_t i = 0; i < agents_.size(); ++i) visit(i, steadyMs());
    std::vector<epoll_event> ready(1024);
    while (!stop) {
      if (rescan_.exchange(false)) {
        for (std::size_t i = 0; i < agents_.size(); ++i) visit(i, steadyMs());
      }
      int64_t now = steadyMs();
      const int timeout =
          due.empty() ? 20 : static_cast<int>(std::clamp<int64_t>(due.top().first - now, 0, 20));
      const int n = ::epoll_wait(epoll, ready.data(), static_cast<int>(ready.size()), timeout);
      const int64_t start = steadyMs();
      now = start;
      for (int k = 0; k < n; ++k) visit(static_cast<std::size_t>(ready[k].data.u64), now);
      while (!due.empty() && due.top().first <= now) {
        const auto [wake, i] = due.top();
        due.pop();
        // A stale entry: the agent's wake-up moved since it was pushed.
        if (wake == agents_[i].wake_ms) {
          agents_[i].wake_ms = -1;
          visit(i, now);
        }
      }
      // A loop's length delays every ack it reads: the generator's own share
      // of the lag it reports.
      const int64_t loop_ms = steadyMs() - start;
      std::lock_guard lock(mutex_);
      totals_.pass_max_ms = std::max(totals_.pass_max_ms, loop_ms);
      totals_.pass_sum_ms += loop_ms;
      ++totals_.passes;
    }
    ::close(epoll);
  }

  // Reconnects every agent's socket (after the controller was restarted, the
  // DEALERs reconnect by themselves; only the session has to start over).
  void forgetSessions() {
    std::lock_guard lock(mutex_);
    for (auto& agent : agents_) {
      agent.welcomed = false;
      agent.hello_sent_ms = -1;
    }
    rescan_ = true;
  }

  Totals totals() {
    std::lock_guard lock(mutex_);
    return totals_;
  }
  /// Starts the measured window now.
  void resetTotals() {
    std::lock_guard lock(mutex_);
    totals_ = Totals();
    window_start_ms_ = steadyMs();
  }
  // Agents welcomed, and of them those whose every batch up to `seq_before`
  // (the batch count generated by then) is acked.
  std::pair<int, int> caughtUp(const std::vector<uint64_t>& generated_before) {
    std::lock_guard lock(mutex_);
    int welcomed = 0;
    int caught = 0;
    for (std::size_t i = 0; i < agents_.size(); ++i) {
      welcomed += agents_[i].welcomed ? 1 : 0;
      caught += agents_[i].welcomed && agents_[i].acked >= generated_before[i] ? 1 : 0;
    }
    return {welcomed, caught};
  }
  int welcomed() {
    std::lock_guard lock(mutex_);
    int n = 0;
    for (const auto& agent : agents_) n += agent.welcomed ? 1 : 0;
    return n;
  }
  std::vector<uint64_t> generatedCounts() {
    std::lock_guard lock(mutex_);
    std::vector<uint64_t> out;
    for (const auto& agent : agents_) out.push_back(agent.generated);
    return out;
  }
  std::size_t size() const { return agents_.size(); }

 private:
  bool send(SimAgent& agent, const protocol::Message& message) {
    const std::string payload = protocol::encode(message);
    try {
      return agent.socket.send(zmq::buffer(payload), zmq::send_flags::dontwait).has_value();
    } catch (const zmq::error_t&) {
      return false;
    }
  }

  protocol::Hello hello(const SimAgent& agent) const {
    protocol::Hello h;
    h.agent_id = agent.id;
    h.version = "fleet-bench";
    h.host_facts = {{"hostname", agent.id}};
    protocol::SystemInfo system;
    system.name = agent.system;
    system.actuator = "exec";
    system.min_replicas = 1;
    system.max_replicas = 20;
    system.replicas = 2;
    system.capacity_per_replica = 100;
    h.systems.push_back(system);
    h.next_seq = agent.generated + 1;
    h.oldest_seq = agent.acked + 1;
    return h;
  }

  // The batch of one seq, the same whenever it is (re)generated.
  protocol::TelemetryBatch batch(const SimAgent& agent, uint64_t seq) const {
    protocol::TelemetryBatch b;
    b.agent_id = agent.id;
    b.seq = seq;
    b.oldest_seq = agent.acked + 1;
    static const char* kSystemMetrics[kSystemSeries] = {
        "demand",        "replicas",       "cpu.usage",  "memory.current",
        "io.read_bytes", "io.write_bytes", "latency_ms", "errors"};
    static const char* kHostMetrics[kHostSeries] = {"host.cpu", "host.memory"};
    for (const char* m : kSystemMetrics) b.series.push_back({agent.system, m});
    for (const char* m : kHostMetrics) b.series.push_back({"", m});
    const int64_t step = options_.interval_ms / options_.points;
    const int64_t start =
        agent.wall_origin_ms + static_cast<int64_t>(seq - 1) * options_.interval_ms;
    for (int p = 0; p < options_.points; ++p) b.timestamps_ms.push_back(start + p * step);
    b.values.resize(kSeries);
    for (int s = 0; s < kSeries; ++s) {
      for (int p = 0; p < options_.points; ++p) {
        const double t = static_cast<double>((seq - 1) * options_.points + p);
        double v = 0;
        if (s == 1) {
          v = 2;  // replicas
        } else {
          // A daily-ish wave plus a little deterministic noise, at two decimals.
          const double noise = std::sin(t * 12.9898 + s * 78.233) * 43758.5453;
          v = 100 + 40 * std::sin(t / 600.0 + s) + 5 * (noise - std::floor(noise));
          v = std::round(v * 100) / 100;
        }
        b.values[s].push_back(v);
      }
    }
    return b;
  }

  // One visit to an agent: read what arrived, say hello, generate and send.
  // Returns when it next has something due (steady ms).
  int64_t step(SimAgent& agent, int64_t now) {
    zmq::message_t message;
    std::lock_guard lock(mutex_);
    for (;;) {
      try {
        if (!agent.socket.recv(message, zmq::recv_flags::dontwait)) break;
      } catch (const zmq::error_t&) {
        break;
      }
      auto decoded = protocol::decode(message.to_string_view());
      if (!decoded) continue;
      if (auto* welcome = std::get_if<protocol::Welcome>(&decoded.value())) {
        agent.welcomed = true;
        agent.acked = std::max(agent.acked, welcome->last_seq);
        agent.sent = agent.acked;  // resend what is not stored
        ++totals_.welcomes;
      } else if (auto* ack = std::get_if<protocol::Ack>(&decoded.value())) {
        const uint64_t upto = std::min(ack->seq, agent.generated);
        for (uint64_t s = agent.acked + 1; s <= upto; ++s) {
          const int64_t generated_at =
              agent.first_batch_ms + static_cast<int64_t>(s - 1) * options_.interval_ms;
          if (generated_at >= window_start_ms_) {
            totals_.lag.add(now - generated_at);
            if (generated_at >= window_start_ms_ + kSettleSeconds * 1000) {
              totals_.settled_lag.add(now - generated_at);
            }
            const auto second = static_cast<std::size_t>((generated_at - window_start_ms_) / 1000);
            if (second < totals_.worst_by_second.size()) {
              auto& worst = totals_.worst_by_second[second];
              worst = std::max(worst, now - generated_at);
            }
          } else {
            totals_.backlog_acked_ms = std::max(totals_.backlog_acked_ms, now - window_start_ms_);
          }

          ++totals_.batches_acked;
          totals_.samples_acked += static_cast<uint64_t>(kSeries * options_.points);
        }
        agent.acked = std::max(agent.acked, upto);
      } else if (std::holds_alternative<protocol::Refused>(decoded.value())) {
        ++totals_.refusals;
        agent.welcomed = false;
        agent.hello_sent_ms = -1;
      }
    }
    // Batches are due on schedule, welcomed or not: a spool fills meanwhile.
    while (agent.first_batch_ms + static_cast<int64_t>(agent.generated) * options_.interval_ms <=
           now) {
      ++agent.generated;
    }
    const int64_t next_batch_ms =
        agent.first_batch_ms + static_cast<int64_t>(agent.generated) * options_.interval_ms;
    // A send that could not be queued (no connection yet, or the HWM) is
    // tried again soon.
    constexpr int64_t kRetryMs = 5;
    if (!agent.welcomed) {
      if (agent.hello_sent_ms < 0 || now - agent.hello_sent_ms >= kHelloRetryMs) {
        if (send(agent, hello(agent))) agent.hello_sent_ms = now;
      }
      const int64_t retry =
          agent.hello_sent_ms < 0 ? now + kRetryMs : agent.hello_sent_ms + kHelloRetryMs;
      return std::min(next_batch_ms, retry);
    }
    bool blocked = false;
    while (agent.sent < agent.generated &&
           agent.sent - agent.acked < static_cast<uint64_t>(options_.window)) {
      if (!send(agent, batch(agent, agent.sent + 1))) {
        blocked = true;
        break;
      }
      ++agent.sent;
      ++totals_.batches_sent;
    }
    if (now >= agent.next_heartbeat_ms) {
      protocol::Heartbeat heartbeat{agent.id, wallMs(), agent.generated - agent.acked, 0};
      if (send(agent, heartbeat)) {
        agent.next_heartbeat_ms = now + kHeartbeatMs;
      } else {
        blocked = true;
      }
    }
    // A send may have taken the socket's "readable" signal with the commands
    // it processed: whatever arrived meanwhile is read on the next visit.
    if ((agent.socket.get(zmq::sockopt::events) & ZMQ_POLLIN) != 0) return now;
    int64_t wake = std::min(next_batch_ms, agent.next_heartbeat_ms);
    if (blocked) wake = std::min(wake, now + kRetryMs);
    return wake;
  }

  const Options& options_;
  std::string endpoint_;
  std::vector<SimAgent> agents_;
  std::mutex mutex_;
  std::atomic<bool> rescan_{false};
  /// Batches generated before this steady time are the backlog of the
  /// hello storm: their acks count, their lag does not (see Totals).
  int64_t window_start_ms_ = 0;  ///< every agent is due: sessions were forgotten
  Totals totals_;
};

// The value of one unlabelled series in Prometheus text ("" when absent).
double metricValue(const std::string& text, const std::string& name) {
  const std::regex line("(^|\n)" + name + " ([-0-9.e+]+)");
  std::smatch m;
  if (!std::regex_search(text, m, line)) return NAN;
  return std::stod(m[2]);
}

// The cumulative count of a histogram's bucket `le` in Prometheus text (0
// when absent).
double bucketCount(const std::string& text, const std::string& family, const std::string& le) {
  std::string bound;
  for (char c : le) bound += c == '+' || c == '.' ? std::string("\\") + c : std::string(1, c);
  const std::regex line("(^|\n)" + family + "_bucket\\{le=\"" + bound + "\"\\} ([0-9.e+]+)");
  std::smatch m;
  if (!std::regex_search(text, m, line)) return 0;
  return std::stod(m[2]);
}

// The phases of the last cycle, (phase, ms) in the order exposed.
std::vector<std::pair<std::string, double>> cyclePhases(const std::string& text) {
  static const std::regex line(
      R"re(pso_cycle_phase_duration_ms\{phase="([a-z_]+)"\} ([-0-9.e+]+))re");
  std::vector<std::pair<std::string, double>> phases;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), line); it != std::sregex_iterator();
       ++it) {
    phases.emplace_back((*it)[1].str(), std::stod((*it)[2].str()));
  }
  return phases;
}

// "phase ms, ..." of phases whose times were summed over `cycles` cycles.
std::string phaseList(const std::vector<std::pair<std::string, double>>& phases, int cycles) {
  std::string out;
  for (const auto& [name, ms] : phases) {
    if (!out.empty()) out += ", ";
    out += name + " " + std::to_string(std::lround(ms / std::max(cycles, 1)));
  }
  return out;
}

// The controller's /metrics; with `names` ("a,b,c") those families alone.
std::string scrape(const std::string& api, const std::string& names = "") {
  common::HttpTransfer transfer;
  transfer.url = api + "/metrics" + (names.empty() ? "" : "?name=" + names);
  transfer.timeout_ms = 5000;
  // A busy controller can miss one request's timeout; the figures that
  // compare a first and a last scrape need both.
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto reply = common::performTransfer(transfer);
    if (reply && reply->status == 200) return reply->body;
  }
  return std::string();
}

// The size of the PostgreSQL database `dsn` names (pg_database_size, through
// psql); 0 when psql cannot tell.
uintmax_t postgresqlBytes(const std::string& dsn) {
  const std::string command =
      "psql '" + dsn + "' -Atc 'SELECT pg_database_size(current_database())' 2>/dev/null";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  if (!pipe) return 0;
  char line[64] = {};
  if (std::fgets(line, sizeof line, pipe.get()) == nullptr) return 0;
  return std::strtoull(line, nullptr, 10);
}

uintmax_t databaseBytes(const std::string& db) {
  uintmax_t total = 0;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::error_code ec;
    const auto size = fs::file_size(db + suffix, ec);
    if (!ec) total += size;
  }
  return total;
}

class Controller {
 public:
  Controller(const pso::testing::TempDir& dir, const Options& options)
      : dir_(dir), options_(options) {
    port_ = pso::testing::unusedLoopbackPort();
    std::ofstream(dir.file("controller.yaml"))
        << "controller:\n"
        << "  id: fleet-bench\n"
        << "  cycle_interval: " << options.cycle_interval << "\n"
        << "  mode: forecast-only\n"
        << "  agent_timeout: 60s\n"
        << (options.pg_dsn.empty()
                ? std::string()
                : "  store: {backend: postgresql, dsn: \"" + options.pg_dsn + "\"}\n");
  }
  bool start() {
    std::remove(dir_.file("controller.out").c_str());
    process_ = std::make_unique<pso::testing::ChildProcess>(
        std::vector<std::string>{options_.controller, "--config", dir_.file("controller.yaml"),
                                 "--db", dir_.file("controller.db"), "--bind", endpoint(), "--http",
                                 "127.0.0.1:0"},
        dir_.file("controller.out"), dir_.file("controller.log"));
    const std::regex line(R"(pso-controller listening zmq=(\S+) http=(\S+))");
    std::smatch m;
    std::string out;
    const bool listening = pso::testing::waitFor(
        [&] {
          out = pso::testing::readFile(dir_.file("controller.out"));
          return std::regex_search(out, m, line);
        },
        std::chrono::seconds(60));
    if (listening) api_ = "http://" + m[2].str();
    return listening;
  }
  void kill() {
    process_->signal(SIGKILL);
    process_->wait(std::chrono::seconds(30));
  }
  void stop() {
    process_->signal(SIGTERM);
    process_->wait(std::chrono::seconds(60));
  }
  std::string endpoint() const { return "tcp://127.0.0.1:" + std::to_string(port_); }
  const std::string& api() const { return api_; }
  int pid() { return process_->pid(); }
  std::string db() const { return dir_.file("controller.db"); }
  std::string log() const { return pso::testing::readFile(dir_.file("controller.log")); }

 private:
  const pso::testing::TempDir& dir_;
  const Options& options_;
  int port_ = 0;
  std::string api_;
  std::unique_ptr<pso::testing::ChildProcess> process_;
};

// Holds the write lock of the SQLite database at `path` for `seconds`, from
// another connection (the controller's writer waits for it); false when the
// lock could not be taken within about 20 s.
bool holdWriteLock(const std::string& path, int seconds) {
  auto db = pso::common::Database::open(path);
  if (!db) return false;
  bool locked = false;
  for (int attempt = 0; attempt < 4 && !locked; ++attempt) {
    locked = db.value()->exec("BEGIN IMMEDIATE").ok();  // waits up to the busy timeout
  }
  if (!locked) return false;
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  return db.value()->exec("COMMIT").ok();
}

// Raises this process's descriptor limit to `wanted` (what `who` needs), as
// far as the hard limit allows; exits when that is not enough.
void raiseFileLimit(rlim_t wanted, const std::string& who) {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_max < wanted) {
    // Root may raise the hard limit too.
    rlimit raised{wanted, wanted};
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) return;
  }
  limit.rlim_cur = std::min(limit.rlim_max, std::max(limit.rlim_cur, wanted));
  ::setrlimit(RLIMIT_NOFILE, &limit);
  ::getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < wanted) {
    std::fprintf(stderr, "fleet_bench: %s need about %llu file descriptors; the limit is %llu\n",
                 who.c_str(), static_cast<unsigned long long>(wanted),
                 static_cast<unsigned long long>(limit.rlim_cur));
    std::exit(1);
  }
}

// Descriptors a generator process of `agents` simulated agents needs.
rlim_t generatorDescriptors(int agents) {
  return static_cast<rlim_t>(agents) * 2 + 256;
}

// The generator processes `options` asks for: --processes, or as many as
// the hard descriptor limit and kAgentsPerProcess ask for.
int generatorProcesses(const Options& options) {
  if (options.processes > 0) return std::min(options.processes, options.agents);
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  const auto hard = static_cast<long long>(std::min<rlim_t>(limit.rlim_max, 1 << 30));
  const long long by_limit = std::max<long long>((hard - 256) / 2, 1);
  const long long per_process = std::min<long long>(by_limit, kAgentsPerProcess);
  return static_cast<int>((options.agents + per_process - 1) / per_process);
}

// One generator process (this program with --generate-slice): its agents
// run on their own threads; it answers the commands on its standard input,
// a line each, on its standard output:
//   welcomed  -> the number of its agents welcomed
//   mark      -> ok; remembers how many batches each agent has generated
//   caught    -> "W C": agents welcomed, and of them those whose batches up
//                to the mark are all acked
//   reset     -> ok; the measured window starts now
//   forget    -> ok; every agent starts its session over (after a restart)
//   totals    -> Totals::encode() of the window so far
//   stop      -> ok, and exits (as it does at the end of its input)
int runSlice(const Options& o) {
  // The pipe carries the answers alone: whatever else is printed (a
  // library's log on standard output) goes to standard error.
  FILE* answers = ::fdopen(::dup(STDOUT_FILENO), "w");
  if (answers == nullptr || ::dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
    std::perror("fleet_bench: generator process output");
    return 1;
  }
  raiseFileLimit(generatorDescriptors(o.slice_count),
                 std::to_string(o.slice_count) + " simulated agents");
  zmq::context_t context(1);
  context.set(zmq::ctxopt::max_sockets, o.slice_count + 64);
  std::vector<std::unique_ptr<Generator>> generators;
  const int threads = std::min(o.threads, o.slice_count);
  for (int t = 0, first = o.slice_first; t < threads; ++t) {
    const int count = o.slice_count / threads + (t < o.slice_count % threads ? 1 : 0);
    generators.push_back(std::make_unique<Generator>(context, o.endpoint, o, first, count));
    first += count;
  }
  std::atomic<bool> stop{false};
  std::vector<std::thread> workers;
  for (auto& g : generators) workers.emplace_back([&g, &stop] { g->run(stop); });

  std::vector<std::vector<uint64_t>> marked;
  auto mark = [&] {
    marked.clear();
    for (auto& g : generators) marked.push_back(g->generatedCounts());
  };
  mark();
  std::string command;
  while (std::getline(std::cin, command)) {
    std::string answer = "ok";
    if (command == "welcomed") {
      int n = 0;
      for (auto& g : generators) n += g->welcomed();
      answer = std::to_string(n);
    } else if (command == "mark") {
      mark();
    } else if (command == "caught") {
      int welcomed = 0;
      int caught = 0;
      for (std::size_t i = 0; i < generators.size(); ++i) {
        const auto [w, c] = generators[i]->caughtUp(marked[i]);
        welcomed += w;
        caught += c;
      }
      answer = std::to_string(welcomed) + " " + std::to_string(caught);
    } else if (command == "reset") {
      for (auto& g : generators) g->resetTotals();
    } else if (command == "forget") {
      for (auto& g : generators) g->forgetSessions();
    } else if (command == "totals") {
      Totals all;
      for (auto& g : generators) all.merge(g->totals());
      answer = all.encode();
    } else if (command != "stop") {
      answer = "error: unknown command " + command;
    }
    std::fprintf(answers, "%s\n", answer.c_str());
    std::fflush(answers);
    if (command == "stop") break;
  }
  stop = true;
  for (auto& w : workers) w.join();
  generators.clear();
  return 0;
}

// The driving side of one generator process: started with its slice of the
// agents, asked the commands runSlice() answers.
class SliceProcess {
 public:
  SliceProcess(const Options& options, int first, int count, int threads,
               const std::string& endpoint) {
    std::vector<std::string> argv = {selfPath(),
                                     "--generate-slice",
                                     std::to_string(first) + ":" + std::to_string(count),
                                     "--endpoint",
                                     endpoint,
                                     "--interval-ms",
                                     std::to_string(options.interval_ms),
                                     "--points",
                                     std::to_string(options.points),
                                     "--window",
                                     std::to_string(options.window),
                                     "--threads",
                                     std::to_string(threads)};
    int to_child[2];
    int from_child[2];
    if (::pipe2(to_child, O_CLOEXEC) != 0 || ::pipe2(from_child, O_CLOEXEC) != 0) {
      std::perror("fleet_bench: pipe2");
      std::exit(1);
    }
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ < 0) {
      std::perror("fleet_bench: fork");
      std::exit(1);
    }
    if (pid_ == 0) {
      // dup2 leaves the copies open across exec, the originals close.
      ::dup2(to_child[0], STDIN_FILENO);
      ::dup2(from_child[1], STDOUT_FILENO);
      ::execv(args[0], args.data());
      _exit(127);
    }
    ::close(to_child[0]);
    ::close(from_child[1]);
    to_ = to_child[1];
    from_ = from_child[0];
  }
  ~SliceProcess() {
    // The end of its input stops it; a process that does not go is killed.
    ::close(to_);
    ::close(from_);
    const bool exited = pso::testing::waitFor(
        [&] { return ::waitpid(pid_, nullptr, WNOHANG) == pid_; }, std::chrono::seconds(20));
    if (!exited) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  SliceProcess(const SliceProcess&) = delete;
  SliceProcess& operator=(const SliceProcess&) = delete;

  /// Sends one command and returns its answer line; a generator process that
  /// has gone ends the benchmark.
  std::string ask(const std::string& command) {
    const std::string line = command + "\n";
    for (std::size_t done = 0; done < line.size();) {
      const ssize_t n = ::write(to_, line.data() + done, line.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) die(command);
      done += static_cast<std::size_t>(n);
    }
    for (;;) {
      if (const auto eol = buffer_.find('\n'); eol != std::string::npos) {
        std::string answer = buffer_.substr(0, eol);
        buffer_.erase(0, eol + 1);
        if (answer.rfind("error", 0) == 0) {
          std::fprintf(stderr, "fleet_bench: generator process %d: %s\n", pid_, answer.c_str());
          std::exit(1);
        }
        return answer;
      }
      char chunk[65536];
      const ssize_t n = ::read(from_, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) die(command);
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

 private:
  static std::string selfPath() {
    std::error_code error;
    const auto path = fs::read_symlink("/proc/self/exe", error);
    if (error) {
      std::fprintf(stderr, "fleet_bench: /proc/self/exe: %s\n", error.message().c_str());
      std::exit(1);
    }
    return path.string();
  }
  [[noreturn]] void die(const std::string& command) const {
    std::fprintf(stderr, "fleet_bench: generator process %d stopped answering (at \"%s\")\n", pid_,
                 command.c_str());
    std::exit(1);
  }

  pid_t pid_ = -1;
  int to_ = -1;
  int from_ = -1;
  std::string buffer_;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "fleet_bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    // A value of two integers "A:B"; `shape` names them for the error.
    auto pairOf = [&](const char* shape) -> std::pair<int, int> {
      const std::string v = next();
      const auto colon = v.find(':');
      if (colon == std::string::npos) {
        std::fprintf(stderr, "fleet_bench: %s wants %s, not %s\n", a.c_str(), shape, v.c_str());
        std::exit(2);
      }
      return {std::stoi(v.substr(0, colon)), std::stoi(v.substr(colon + 1))};
    };
    if (a == "--agents")
      o.agents = std::stoi(next());
    else if (a == "--interval-ms")
      o.interval_ms = std::stoi(next());
    else if (a == "--points")
      o.points = std::stoi(next());
    else if (a == "--seconds")
      o.seconds = std::stoi(next());
    else if (a == "--window")
      o.window = std::stoi(next());
    else if (a == "--threads")
      o.threads = std::stoi(next());
    else if (a == "--processes")
      o.processes = std::stoi(next());
    else if (a == "--endpoint")
      o.endpoint = next();
    else if (a == "--generate-slice")
      std::tie(o.slice_first, o.slice_count) = pairOf("FIRST:COUNT");
    else if (a == "--restart")
      o.restart = true;
    else if (a == "--log")
      o.keep_log = next();
    else if (a == "--cycle-interval")
      o.cycle_interval = next();
    else if (a == "--controller")
      o.controller = next();
    else if (a == "--pg-dsn")
      o.pg_dsn = next();
    else if (a == "--stall-store")
      std::tie(o.stall_at_s, o.stall_s) = pairOf("AT:SECONDS");
    else {
      std::fprintf(stderr, "fleet_bench: unknown option %s\n", a.c_str());
      std::exit(2);
    }
  }
  if (o.agents < 1 || o.interval_ms < 1 || o.points < 1 || o.seconds < 1 || o.window < 1 ||
      o.threads < 1 || o.processes < 0) {
    std::fprintf(stderr, "fleet_bench: every count must be at least 1\n");
    std::exit(2);
  }
  if (o.slice_first >= 0 && (o.slice_count < 1 || o.endpoint.empty())) {
    std::fprintf(stderr, "fleet_bench: --generate-slice needs a COUNT >= 1 and --endpoint\n");
    std::exit(2);
  }
  if (o.stall_at_s >= 0 && (o.stall_s < 1 || !o.pg_dsn.empty())) {
    std::fprintf(stderr, "fleet_bench: --stall-store needs SECONDS >= 1 and the SQLite store\n");
    std::exit(2);
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse(argc, argv);
  if (options.slice_first >= 0) return runSlice(options);
  // A generator process that has gone shows as a failed write, not a signal.
  std::signal(SIGPIPE, SIG_IGN);
  // The controller inherits this limit: a socket an agent and its own few.
  raiseFileLimit(static_cast<rlim_t>(options.agents) + 256,
                 "a controller of " + std::to_string(options.agents) + " agents");
  pso::testing::TempDir dir;
  Controller controller(dir, options);
  if (!controller.start()) {
    std::fprintf(stderr, "fleet_bench: controller did not start:\n%s\n", controller.log().c_str());
    return 1;
  }

  const int processes = generatorProcesses(options);
  const int threads = std::max(options.threads, processes);
  std::vector<std::unique_ptr<SliceProcess>> slices;
  for (int p = 0, first = 0; p < processes; ++p) {
    const int count = options.agents / processes + (p < options.agents % processes ? 1 : 0);
    const int own_threads = threads / processes + (p < threads % processes ? 1 : 0);
    slices.push_back(
        std::make_unique<SliceProcess>(options, first, count, own_threads, controller.endpoint()));
    first += count;
  }

  auto askAll = [&](const std::string& command) {
    std::vector<std::string> answers;
    for (auto& slice : slices) answers.push_back(slice->ask(command));
    return answers;
  };
  auto sum = [&] {
    Totals all;
    for (const auto& answer : askAll("totals")) {
      Totals t;
      if (!t.decode(answer)) {
        std::fprintf(stderr, "fleet_bench: a generator process's totals did not read\n");
        std::exit(1);
      }
      all.merge(t);
    }
    return all;
  };
  auto welcomedCount = [&] {
    int n = 0;
    for (const auto& answer : askAll("welcomed")) n += std::stoi(answer);
    return n;
  };
  // Agents welcomed, and of them those whose batches up to the last "mark"
  // are all acked.
  auto caughtUp = [&] {
    std::pair<int, int> all{0, 0};
    for (const auto& answer : askAll("caught")) {
      std::istringstream in(answer);
      int w = 0;
      int c = 0;
      in >> w >> c;
      all.first += w;
      all.second += c;
    }
    return all;
  };

  std::printf(
      "fleet_bench: %d agents x %d series, one batch of %d point(s) every %d ms, "
      "window %d, %d generator thread(s) in %d process(es), cycle interval %s, store %s\n",
      options.agents, kSeries, options.points, options.interval_ms, options.window, threads,
      processes, options.cycle_interval.c_str(), options.pg_dsn.empty() ? "SQLite" : "PostgreSQL");
  // Warm-up: every agent welcomed (the hello storm of a fleet starting).
  const auto hello_start = Clock::now();
  const bool all_welcomed = pso::testing::waitFor([&] { return welcomedCount() == options.agents; },
                                                  std::chrono::seconds(120));
  const double hello_s = std::chrono::duration<double>(Clock::now() - hello_start).count();
  std::printf("hello storm: %d of %d agents welcomed in %.1f s\n", welcomedCount(), options.agents,
              hello_s);
  if (!all_welcomed) std::printf("  (not every agent was welcomed within 120 s)\n");

  // Measured window.
  askAll("reset");
  auto usage_start = pso::bench::readUsage(controller.pid());
  const std::string metrics_start = scrape(controller.api());
  auto storeBytes = [&] {
    return options.pg_dsn.empty() ? databaseBytes(controller.db())
                                  : postgresqlBytes(options.pg_dsn);
  };
  const uintmax_t bytes_start = storeBytes();
  const auto t0 = Clock::now();
  double cycle_max_ms = 0;
  double cycle_sum_ms = 0;
  int cycle_samples = 0;
  std::vector<std::pair<std::string, double>> slowest_phases;
  // Per phase, the sum over the cycles after the window's first: the first
  // may still carry the hello storm's warm start.
  std::vector<std::pair<std::string, double>> phase_sums;
  int phase_cycles = 0;
  double last_cycles = metricValue(metrics_start, "pso_cycles_total");
  // The writer's queue, once a second: near its bound (200,000 samples) the
  // store is what the acks wait for; near zero, they wait elsewhere.
  double queued_max = 0;
  double queued_sum = 0;
  int queued_samples = 0;
  // The controller's RSS, once a second: the largest of each minute, and
  // around the store stall (--stall-store).
  std::vector<long> rss_by_minute_kb;
  std::thread stall;
  std::atomic<bool> stall_held{false};
  long rss_before_stall_kb = -1;
  long rss_during_stall_kb = -1;  // the largest until 5 s after it
  long rss_after_stall_kb = -1;   // 70 s after it
  while (Clock::now() - t0 < std::chrono::seconds(options.seconds)) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    const auto elapsed_s = static_cast<int>(
        std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - t0).count());
    if (const auto usage = pso::bench::readUsage(controller.pid())) {
      const auto minute = static_cast<std::size_t>(elapsed_s / 60);
      if (rss_by_minute_kb.size() <= minute) rss_by_minute_kb.resize(minute + 1, 0);
      rss_by_minute_kb[minute] = std::max(rss_by_minute_kb[minute], usage->rss_kb);
      if (options.stall_at_s >= 0) {
        const int end_s = options.stall_at_s + options.stall_s;
        if (elapsed_s >= options.stall_at_s && !stall.joinable()) {
          rss_before_stall_kb = usage->rss_kb;
          stall =
              std::thread([&] { stall_held = holdWriteLock(controller.db(), options.stall_s); });
        }
        if (elapsed_s >= options.stall_at_s && elapsed_s <= end_s + 5) {
          rss_during_stall_kb = std::max(rss_during_stall_kb, usage->rss_kb);
        }
        if (elapsed_s >= end_s + 70 && rss_after_stall_kb < 0) rss_after_stall_kb = usage->rss_kb;
      }
    }
    // Only the figures read every second: the whole text is 4.2 MB at
    // 10,000 systems, and rendering, sending and searching it once a second
    // took about a tenth of a core from the machine being measured.
    const std::string text = scrape(controller.api(),
                                    "pso_telemetry_queued_samples,pso_cycles_total,"
                                    "pso_cycle_duration_ms,pso_cycle_phase_duration_ms");
    if (const double queued = metricValue(text, "pso_telemetry_queued_samples");
        !std::isnan(queued)) {
      queued_max = std::max(queued_max, queued);
      queued_sum += queued;
      ++queued_samples;
    }
    const double cycles = metricValue(text, "pso_cycles_total");
    if (!std::isnan(cycles) && cycles != last_cycles) {
      const double ms = metricValue(text, "pso_cycle_duration_ms");
      if (!std::isnan(ms)) {
        const auto phases = cyclePhases(text);
        if (ms >= cycle_max_ms) slowest_phases = phases;
        if (cycle_samples > 0) {
          for (const auto& [name, phase_ms] : phases) {
            auto it = std::find_if(phase_sums.begin(), phase_sums.end(),
                                   [&](const auto& p) { return p.first == name; });
            if (it == phase_sums.end()) {
              phase_sums.emplace_back(name, phase_ms);
            } else {
              it->second += phase_ms;
            }
          }
          ++phase_cycles;
        }
        cycle_max_ms = std::max(cycle_max_ms, ms);
        cycle_sum_ms += ms;
        ++cycle_samples;
      }
      last_cycles = cycles;
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if (stall.joinable()) stall.join();
  auto usage_end = pso::bench::readUsage(controller.pid());
  const std::string metrics_end = scrape(controller.api());
  const uintmax_t bytes_end = storeBytes();
  const Totals totals = sum();

  const double offered =
      static_cast<double>(options.agents) * kSeries * options.points * 1000.0 / options.interval_ms;
  const double persisted = (metricValue(metrics_end, "pso_telemetry_samples_total") -
                            metricValue(metrics_start, "pso_telemetry_samples_total")) /
                           seconds;
  std::printf("\nover %.0f s:\n", seconds);
  std::printf("  offered          %12.0f samples/s\n", offered);
  std::printf("  acked            %12.0f samples/s  (%llu batches acked, %llu sent)\n",
              static_cast<double>(totals.samples_acked) / seconds,
              static_cast<unsigned long long>(totals.batches_acked),
              static_cast<unsigned long long>(totals.batches_sent));
  std::printf("  persisted        %12.0f samples/s  (pso_telemetry_samples_total)\n", persisted);
  std::printf("  ack lag          p50 %lld ms, p99 %lld ms, max %lld ms\n",
              static_cast<long long>(totals.lag.percentile(0.5)),
              static_cast<long long>(totals.lag.percentile(0.99)),
              static_cast<long long>(totals.lag.max()));
  if (totals.settled_lag.count() > 0) {
    std::printf("  ack lag after %llds p50 %lld ms, p99 %lld ms, max %lld ms\n",
                static_cast<long long>(kSettleSeconds),
                static_cast<long long>(totals.settled_lag.percentile(0.5)),
                static_cast<long long>(totals.settled_lag.percentile(0.99)),
                static_cast<long long>(totals.settled_lag.max()));
  }
  if (queued_samples > 0) {
    std::printf("  writer queue     mean %.0f, max %.0f samples (sampled once a second)\n",
                queued_sum / queued_samples, queued_max);
  }
  {
    // The writer's store calls in the window, and how many took longer than
    // a second (their batches' acks waited as long).
    const std::string family = "pso_telemetry_transaction_duration_seconds";
    auto inWindow = [&](const std::string& le) {
      return bucketCount(metrics_end, family, le) - bucketCount(metrics_start, family, le);
    };
    const double all = inWindow("+Inf");
    std::printf("  transactions     %.0f; over 1 s: %.0f, over 2.5 s: %.0f, over 5 s: %.0f\n", all,
                all - inWindow("1"), all - inWindow("2.5"), all - inWindow("5"));
  }
  {
    std::vector<std::pair<int64_t, std::size_t>> worst;
    for (std::size_t k = 0; k < totals.worst_by_second.size(); ++k) {
      if (totals.worst_by_second[k] > 0) worst.emplace_back(totals.worst_by_second[k], k);
    }
    std::sort(worst.rbegin(), worst.rend());
    std::string list;
    for (std::size_t k = 0; k < std::min<std::size_t>(worst.size(), 5); ++k) {
      list += (k == 0 ? " " : ", ") + std::string("+") + std::to_string(worst[k].second) +
              " s: " + std::to_string(worst[k].first) + " ms";
    }
    std::printf("  slowest seconds %s (batches generated then, their largest lag)\n", list.c_str());
    // Whether the slow acks come from a few stalls or from all along: the
    // seconds whose batches waited over a second, as runs of consecutive
    // seconds ("+100-103 s").
    std::string runs;
    std::size_t slow = 0;
    std::size_t shown = 0;
    for (std::size_t k = 0; k < totals.worst_by_second.size(); ++k) {
      if (totals.worst_by_second[k] <= 1000) continue;
      ++slow;
      std::size_t end = k;
      while (end + 1 < totals.worst_by_second.size() && totals.worst_by_second[end + 1] > 1000) {
        ++end;
      }
      slow += end - k;
      if (shown++ < 12) {
        runs += (runs.empty() ? " +" : ", +") + std::to_string(k) +
                (end > k ? "-" + std::to_string(end) : std::string()) + " s";
      }
      k = end;
    }
    std::printf("  seconds over 1 s %zu%s%s\n", slow, runs.empty() ? "" : ":", runs.c_str());
  }
  std::printf(
      "  storm backlog    the last batch generated before the window acked %.1f s into it\n",
      static_cast<double>(totals.backlog_acked_ms) / 1000.0);
  if (totals.passes > 0) {
    std::printf("  generator loop   mean %.2f ms, max %lld ms (the agents it visited)\n",
                static_cast<double>(totals.pass_sum_ms) / static_cast<double>(totals.passes),
                static_cast<long long>(totals.pass_max_ms));
  }
  if (usage_start && usage_end) {
    std::printf("  controller CPU   %12.1f %% of one core\n",
                100.0 * (usage_end->cpu_s - usage_start->cpu_s) / seconds);
    std::printf("  controller RSS   %12.1f MB now, %.1f MB peak (%.1f KB per agent)\n",
                usage_end->rss_kb / 1024.0, usage_end->peak_rss_kb / 1024.0,
                static_cast<double>(usage_end->peak_rss_kb) / options.agents);
  }
  if (!rss_by_minute_kb.empty()) {
    std::string list;
    for (long kb : rss_by_minute_kb) {
      list += (list.empty() ? " " : ", ") + std::to_string(kb / 1024);
    }
    std::printf("  RSS by minute    %s MB (the largest of each minute)\n", list.c_str());
  }
  if (options.stall_at_s >= 0) {
    auto mb = [](long kb) { return kb < 0 ? std::string("-") : std::to_string(kb / 1024); };
    std::printf(
        "  store stall      write lock %s at +%d s for %d s: RSS %s MB before, %s MB at most "
        "until 5 s after, %s MB 70 s after\n",
        stall_held ? "held" : "NOT taken", options.stall_at_s, options.stall_s,
        mb(rss_before_stall_kb).c_str(), mb(rss_during_stall_kb).c_str(),
        mb(rss_after_stall_kb).c_str());
  }
  if (cycle_samples > 0) {
    std::printf("  cycle time       mean %.0f ms, max %.0f ms over %d cycles of %d systems\n",
                cycle_sum_ms / cycle_samples, cycle_max_ms, cycle_samples, options.agents);
    std::printf("  slowest cycle    %s (ms)\n", phaseList(slowest_phases, 1).c_str());
    if (phase_cycles > 0) {
      std::printf("  mean cycle       %s (ms, over the %d cycles after the first)\n",
                  phaseList(phase_sums, phase_cycles).c_str(), phase_cycles);
    }
  } else {
    std::printf("  cycle time       no cycle completed in the window\n");
  }
  const double growth = static_cast<double>(bytes_end) - static_cast<double>(bytes_start);
  std::printf("  database         %+.1f MB: %.0f bytes per system per day\n", growth / 1e6,
              growth / options.agents * 86400.0 / seconds);

  if (options.restart) {
    askAll("mark");
    controller.kill();
    askAll("forget");
    const auto restart_start = Clock::now();
    if (!controller.start()) {
      std::fprintf(stderr, "fleet_bench: controller did not restart:\n%s\n",
                   controller.log().c_str());
      return 1;
    }
    const bool caught = pso::testing::waitFor([&] { return caughtUp().second == options.agents; },
                                              std::chrono::seconds(300));
    const double restart_s = std::chrono::duration<double>(Clock::now() - restart_start).count();
    const auto [welcomed, caught_up] = caughtUp();
    std::printf(
        "\nrestart (SIGKILL, same database and endpoint): %d welcomed, %d of %d caught "
        "up in %.1f s%s\n",
        welcomed, caught_up, options.agents, restart_s, caught ? "" : " (gave up after 300 s)");
  }

  askAll("stop");
  slices.clear();
  controller.stop();
  if (!options.keep_log.empty()) std::ofstream(options.keep_log) << controller.log();
  return 0;
}
