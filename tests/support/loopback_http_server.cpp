#include "tests/support/loopback_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <sstream>
#include <stdexcept>

namespace pso::testing {
namespace {

std::string percentDecode(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() &&
               std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::map<std::string, std::string> parseQuery(const std::string& query) {
  std::map<std::string, std::string> out;
  std::size_t start = 0;
  while (start < query.size()) {
    std::size_t end = query.find('&', start);
    if (end == std::string::npos) end = query.size();
    const std::string pair = query.substr(start, end - start);
    const auto eq = pair.find('=');
    out[percentDecode(pair.substr(0, eq))] =
        eq == std::string::npos ? "" : percentDecode(pair.substr(eq + 1));
    start = end + 1;
  }
  return out;
}

const char* reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    default:
      return "Status";
  }
}

}  // namespace

std::string LoopbackHttpServer::Request::header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return "";
}

LoopbackHttpServer::LoopbackHttpServer(Handler handler, std::string name)
    : handler_(std::move(handler)) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd_, 16) != 0) {
    if (fd_ >= 0) ::close(fd_);
    throw std::runtime_error("loopback " + name + ": cannot listen");
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { serve(); });
}

LoopbackHttpServer::~LoopbackHttpServer() {
  stop_ = true;
  thread_.join();
  for (auto& t : clients_) t.join();
  ::close(fd_);
}

std::string LoopbackHttpServer::base() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

std::vector<LoopbackHttpServer::Request> LoopbackHttpServer::requests() {
  std::lock_guard lock(mutex_);
  return requests_;
}

void LoopbackHttpServer::serve() {
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const int client = ::accept(fd_, nullptr, nullptr);
    if (client < 0) continue;
    clients_.emplace_back([this, client] {
      handle(client);
      ::close(client);
    });
  }
}

void LoopbackHttpServer::handle(int client) {
  std::string data;
  char buffer[65536];
  std::size_t header_end = std::string::npos;
  std::size_t content_length = 0;
  Request request;
  while (true) {
    pollfd p{client, POLLIN, 0};
    if (stop_ || ::poll(&p, 1, 200) < 0) return;
    if ((p.revents & (POLLIN | POLLHUP)) == 0) continue;
    const ssize_t n = ::recv(client, buffer, sizeof buffer, 0);
    if (n <= 0) return;
    data.append(buffer, static_cast<std::size_t>(n));
    if (header_end == std::string::npos) {
      header_end = data.find("\r\n\r\n");
      if (header_end == std::string::npos) continue;
      std::istringstream head(data.substr(0, header_end));
      std::string line;
      std::getline(head, line);
      std::istringstream first(line);
      first >> request.method >> request.path;
      const auto question = request.path.find('?');
      request.route = request.path.substr(0, question);
      if (question != std::string::npos)
        request.query = parseQuery(request.path.substr(question + 1));
      while (std::getline(head, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string name = line.substr(0, colon);
        for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        if (name == "content-length") content_length = std::stoul(value);
        request.headers.emplace_back(name, value);
      }
    }
    if (data.size() >= header_end + 4 + content_length) break;
  }
  request.body = data.substr(header_end + 4, content_length);
  const Answer answer = handler_(request);
  {
    std::lock_guard lock(mutex_);
    requests_.push_back(request);
  }
  std::string reply = "HTTP/1.1 " + std::to_string(answer.status) + " " + reason(answer.status) +
                      "\r\nContent-Type: " + answer.content_type;
  for (const auto& [name, value] : answer.headers) reply += "\r\n" + name + ": " + value;
  reply += "\r\nContent-Length: " + std::to_string(answer.body.size()) +
           "\r\nConnection: close\r\n\r\n" + answer.body;
  ::send(client, reply.data(), reply.size(), MSG_NOSIGNAL);
}

}  // namespace pso::testing
