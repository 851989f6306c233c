#pragma once

// A real HTTP/1.1 server for the agent tests, on a loopback TCP port or a unix
// socket, run by a thread of the test process. It stands in for what cannot
// run here (the Docker daemon, the Kubernetes API server, a service's health
// endpoint, a Prometheus exporter): requests arrive over a real socket, are
// recorded, and are answered by the test's handler. One request per
// connection ("Connection: close").

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <cctype>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace pso::agent::testing {

class HttpTestServer {
 public:
  struct Request {
    std::string method;
    std::string target;                          ///< path and query, as sent
    std::map<std::string, std::string> headers;  ///< names in lower case
    std::string body;
  };
  struct Response {
    int status = 200;
    std::string body;
    std::string content_type = "text/plain";
  };
  using Handler = std::function<Response(const Request&)>;

  /// Listens on 127.0.0.1 at an ephemeral port.
  explicit HttpTestServer(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      throw std::runtime_error(std::string("bind: ") + std::strerror(errno));
    }
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    begin();
  }

  /// Listens on a unix socket at `path`.
  HttpTestServer(const std::string& path, Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) throw std::runtime_error("socket path too long");
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    ::unlink(path.c_str());
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      throw std::runtime_error(std::string("bind: ") + std::strerror(errno));
    }
    begin();
  }

  ~HttpTestServer() { close(); }

  int port() const { return port_; }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::vector<Request> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

  /// Stops serving and closes the listening socket (the port then refuses).
  void close() {
    if (stop_[1] >= 0) {
      char byte = 1;
      ssize_t ignored = ::write(stop_[1], &byte, 1);
      (void)ignored;
    }
    if (thread_.joinable()) thread_.join();
    for (int* fd : {&listen_fd_, &stop_[0], &stop_[1]}) {
      if (*fd >= 0) ::close(*fd);
      *fd = -1;
    }
  }

 private:
  void begin() {
    if (::listen(listen_fd_, 16) != 0 || ::pipe2(stop_, O_CLOEXEC) != 0) {
      throw std::runtime_error(std::string("listen: ") + std::strerror(errno));
    }
    thread_ = std::thread([this] { serve(); });
  }

  void serve() {
    for (;;) {
      pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_[0], POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) continue;
      if ((fds[1].revents & POLLIN) != 0) return;
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      handle(fd);
      ::close(fd);
    }
  }

  static std::string lower(std::string text) {
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
  }

  void handle(int fd) {
    std::string data;
    char buffer[4096];
    std::size_t header_end = std::string::npos;
    // Reads with a 5 s bound per wait so a stuck client cannot hang a test.
    auto more = [&]() {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 5000) <= 0) return false;
      ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) return false;
      data.append(buffer, static_cast<std::size_t>(n));
      return true;
    };
    while ((header_end = data.find("\r\n\r\n")) == std::string::npos) {
      if (!more()) return;
    }
    Request request;
    std::size_t line_end = data.find("\r\n");
    std::string request_line = data.substr(0, line_end);
    std::size_t sp1 = request_line.find(' ');
    std::size_t sp2 = request_line.find(' ', sp1 + 1);
    request.method = request_line.substr(0, sp1);
    request.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
    std::size_t pos = line_end + 2;
    while (pos < header_end) {
      std::size_t end = data.find("\r\n", pos);
      std::string line = data.substr(pos, end - pos);
      std::size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        request.headers[lower(line.substr(0, colon))] = value;
      }
      pos = end + 2;
    }
    std::size_t length = 0;
    if (auto it = request.headers.find("content-length"); it != request.headers.end()) {
      length = std::stoul(it->second);
    }
    while (data.size() < header_end + 4 + length) {
      if (!more()) return;
    }
    request.body = data.substr(header_end + 4, length);
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(request);
    }
    Response response = handler_(request);
    std::string text = "HTTP/1.1 " + std::to_string(response.status) + " Status\r\n" +
                       "Content-Type: " + response.content_type + "\r\n" +
                       "Content-Length: " + std::to_string(response.body.size()) + "\r\n" +
                       "Connection: close\r\n\r\n" + response.body;
    std::size_t sent = 0;
    while (sent < text.size()) {
      ssize_t n = ::send(fd, text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<std::size_t>(n);
    }
  }

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  int stop_[2] = {-1, -1};
  mutable std::mutex mutex_;
  std::vector<Request> requests_;
  std::thread thread_;
};

}  // namespace pso::agent::testing
