// The HTTP accept loop out of file descriptors: a real pso-controller whose
// descriptor limit is lowered (prlimit) once it listens, and clients that
// connect until it cannot accept. It must back off instead of spinning, log
// at most once a second, and serve again once descriptors are free.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "tests/controller/service/tls_test_support.h"

namespace pso::controller::service::testing {
namespace {

using pso::testing::TempDir;
using pso::testing::waitFor;

// The child's user plus system CPU seconds, as the kernel accounts them for
// getrusage (utime and stime in /proc/PID/stat).
double cpuSeconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Fields after the command name, which is in parentheses and may hold blanks.
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; fields >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);
    if (i == 15) break;
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::size_t openDescriptors(int pid) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    ++n;
  }
  return n;
}

// The "accept failed" lines of the log.
std::vector<std::string> acceptLines(const std::string& log) {
  std::vector<std::string> lines;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.find("http: accept failed") != std::string::npos) lines.push_back(line);
  }
  return lines;
}

// Milliseconds since midnight of the log line's "YYYY-MM-DDTHH:MM:SS.mmm".
int64_t stampMs(const std::string& line) {
  std::smatch m;
  static const std::regex kStamp(R"(T(\d\d):(\d\d):(\d\d)\.(\d\d\d))");
  if (!std::regex_search(line, m, kStamp)) return -1;
  return ((std::stoll(m[1]) * 60 + std::stoll(m[2])) * 60 + std::stoll(m[3])) * 1000 +
         std::stoll(m[4]);
}

int connectTo(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

double metricValue(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return 0;
}

TEST(HttpAcceptLoop, OutOfDescriptorsBacksOffLogsOnceASecondAndRecovers) {
  TempDir dir;
  ControllerChild controller(dir, "controller:\n  cycle_interval: 1h\n  api_tokens_file: \"\"\n");
  ASSERT_FALSE(controller.address().empty()) << controller.log();
  const int pid = controller.process().pid();
  const uint16_t port = controller.port();
  ASSERT_EQ(plainRequest(port, "GET", "/api/v1/status").status, 200);

  // Room for a few more descriptors than it holds now, then none.
  const std::size_t open = openDescriptors(pid);
  rlimit limit{};
  ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, nullptr, &limit), 0);
  limit.rlim_cur = open + 4;
  ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, &limit, nullptr), 0);

  std::vector<int> clients;
  for (int i = 0; i < 48; ++i) {
    const int fd = connectTo(port);
    ASSERT_GE(fd, 0) << "connect " << i;
    clients.push_back(fd);
  }

  // From the first refused accept to the fourth logged line: at least three
  // seconds of refusals by the server's own rate limit.
  ASSERT_TRUE(
      waitFor([&] { return !acceptLines(controller.log()).empty(); }, std::chrono::seconds(60)))
      << controller.log();
  const double cpu_before = cpuSeconds(pid);
  ASSERT_TRUE(
      waitFor([&] { return acceptLines(controller.log()).size() >= 4; }, std::chrono::seconds(120)))
      << controller.log();
  const double cpu_spent = cpuSeconds(pid) - cpu_before;
  // A loop that retried at once would burn a core for those seconds.
  EXPECT_LT(cpu_spent, 0.5) << "CPU seconds while out of descriptors";

  std::vector<std::string> lines = acceptLines(controller.log());
  EXPECT_NE(lines.front().find("Too many open files"), std::string::npos) << lines.front();
  EXPECT_NE(lines.front().find("accepting again in"), std::string::npos) << lines.front();
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const int64_t gap = (stampMs(lines[i]) - stampMs(lines[i - 1]) + 86400000) % 86400000;
    EXPECT_GE(gap, 990) << lines[i - 1] << "\n" << lines[i];
  }
  EXPECT_TRUE(controller.process().running());

  // Descriptors free again: the server serves.
  for (int fd : clients) ::close(fd);
  RawReply status;
  ASSERT_TRUE(waitFor(
      [&] {
        status = plainRequest(port, "GET", "/api/v1/status");
        return status.status == 200;
      },
      std::chrono::seconds(60)))
      << controller.log();

  // Every failure is logged or counted as left out; the lines say how many
  // they left out.
  const RawReply metrics = plainRequest(port, "GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  const double failures =
      metricValue(metrics.body, "pso_http_accept_failures_total{reason=\"emfile\"}");
  const double unlogged = metricValue(metrics.body, "pso_http_accept_failures_unlogged_total");
  lines = acceptLines(controller.log());
  EXPECT_EQ(failures, static_cast<double>(lines.size()) + unlogged) << metrics.body;
  double reported = 0;
  static const std::regex kMore(R"(\((\d+) more since the last report\))");
  for (const std::string& line : lines) {
    std::smatch m;
    if (std::regex_search(line, m, kMore)) reported += std::stod(m[1]);
  }
  EXPECT_LE(reported, unlogged);
  // Backing off 100 ms, 200, 400, 800, then 1 s: a few refusals a second.
  EXPECT_GE(failures, 4);

  controller.process().signal(SIGTERM);
  EXPECT_EQ(controller.process().wait(std::chrono::seconds(30)), 0) << controller.log();
}

}  // namespace
}  // namespace pso::controller::service::testing
