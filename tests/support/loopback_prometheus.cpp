#include "tests/support/loopback_prometheus.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <stdexcept>

namespace pso::testing {
namespace {

std::string percentDecode(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size()) {
      out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

LoopbackPrometheus::Request parseTarget(const std::string& target) {
  LoopbackPrometheus::Request request;
  const auto question = target.find('?');
  request.path = target.substr(0, question);
  if (question == std::string::npos) return request;
  std::size_t at = question + 1;
  while (at <= target.size()) {
    auto amp = target.find('&', at);
    if (amp == std::string::npos) amp = target.size();
    const std::string pair = target.substr(at, amp - at);
    const auto eq = pair.find('=');
    if (!pair.empty()) {
      request.params[percentDecode(pair.substr(0, eq))] =
          eq == std::string::npos ? "" : percentDecode(pair.substr(eq + 1));
    }
    at = amp + 1;
  }
  return request;
}

}  // namespace

LoopbackPrometheus::LoopbackPrometheus(Handler handler) : handler_(std::move(handler)) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd_, 16) != 0) {
    if (fd_ >= 0) ::close(fd_);
    throw std::runtime_error("loopback Prometheus: cannot listen");
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { serve(); });
}

LoopbackPrometheus::~LoopbackPrometheus() {
  stop_ = true;
  thread_.join();
  ::close(fd_);
}

std::string LoopbackPrometheus::url() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

std::vector<LoopbackPrometheus::Request> LoopbackPrometheus::requests() {
  std::lock_guard lock(mutex_);
  return requests_;
}

void LoopbackPrometheus::serve() {
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const int client = ::accept(fd_, nullptr, nullptr);
    if (client < 0) continue;
    handle(client);
    ::close(client);
  }
}

void LoopbackPrometheus::handle(int client) {
  // A GET has no body: the request ends with its headers.
  std::string data;
  char buffer[16384];
  while (data.find("\r\n\r\n") == std::string::npos) {
    pollfd p{client, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) return;
    const ssize_t n = ::recv(client, buffer, sizeof buffer, 0);
    if (n <= 0) return;
    data.append(buffer, static_cast<std::size_t>(n));
  }
  const auto first_space = data.find(' ');
  const auto second_space = data.find(' ', first_space + 1);
  if (first_space == std::string::npos || second_space == std::string::npos) return;
  const Request request = parseTarget(data.substr(first_space + 1, second_space - first_space - 1));
  {
    std::lock_guard lock(mutex_);
    requests_.push_back(request);
  }
  const Answer answer = handler_(request);
  const std::string reply =
      "HTTP/1.1 " + std::to_string(answer.status) + (answer.status == 200 ? " OK" : " Error") +
      "\r\nContent-Type: application/json\r\nContent-Length: " +
      std::to_string(answer.body.size()) + "\r\nConnection: close\r\n\r\n" + answer.body;
  std::size_t sent = 0;
  while (sent < reply.size()) {
    const ssize_t n = ::send(client, reply.data() + sent, reply.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<std::size_t>(n);
  }
}

std::string prometheusMatrix(
    const std::vector<std::pair<std::string, std::vector<std::pair<double, std::string>>>>&
        series) {
  std::string out = R"({"status":"success","data":{"resultType":"matrix","result":[)";
  for (std::size_t i = 0; i < series.size(); ++i) {
    if (i > 0) out += ",";
    out += R"({"metric":)" + series[i].first + R"(,"values":[)";
    for (std::size_t j = 0; j < series[i].second.size(); ++j) {
      char time[64];
      std::snprintf(time, sizeof time, "%.3f", series[i].second[j].first);
      out += (j > 0 ? ",[" : "[") + std::string(time) + ",\"" + series[i].second[j].second + "\"]";
    }
    out += "]}";
  }
  return out + "]}}";
}

}  // namespace pso::testing
