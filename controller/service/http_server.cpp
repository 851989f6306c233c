#include "controller/service/http_server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <exception>
#include <optional>
#include <thread>

#include "common/text.h"

namespace pso::controller::service {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kReadTimeout = std::chrono::seconds(30);
constexpr std::size_t kMaxHeaderBytes = 64 * 1024;

std::string errorBody(const std::string& message) {
  // Hand-built so the transport does not depend on the API's JSON library use.
  std::string escaped;
  for (char c : message) {
    if (c == '"' || c == '\\') {
      escaped.push_back('\\');
      escaped.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      escaped.push_back(' ');
    } else {
      escaped.push_back(c);
    }
  }
  return "{\"error\":\"" + escaped + "\"}";
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const HttpHandler& handler, common::MetricsRegistry& metrics)
      : stream_(std::move(socket)), handler_(handler), metrics_(metrics) {}

  void start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read(); });
  }

 private:
  void read() {
    parser_.emplace();
    parser_->body_limit(kMaxRequestBodyBytes);
    parser_->header_limit(kMaxHeaderBytes);
    stream_.expires_after(kReadTimeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->onRead(ec); });
  }

  void onRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::eof) {
      close();
      return;
    }
    if (ec == http::error::body_limit) {
      respond(HttpResponse{413,
                           "application/json",
                           errorBody("request body exceeds " +
                                     std::to_string(kMaxRequestBodyBytes) + " bytes"),
                           {}},
              11, false);
      return;
    }
    if (ec) {
      if (ec.category() == http::make_error_code(http::error::bad_target).category()) {
        respond(
            HttpResponse{
                400, "application/json", errorBody("malformed HTTP request: " + ec.message()), {}},
            11, false);
      } else {
        close();
      }
      return;
    }

    const auto& message = parser_->get();
    HttpRequest request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    request.authorization = std::string(message[http::field::authorization]);
    request.body = message.body();
    HttpResponse response;
    try {
      response = handler_(request);
    } catch (const std::exception& e) {
      spdlog::error("http: {} {} failed: {}", request.method, request.target, e.what());
      response = HttpResponse{
          500, "application/json", errorBody(std::string("internal error: ") + e.what()), {}};
    }
    respond(response, message.version(), message.keep_alive());
  }

  void respond(const HttpResponse& response, unsigned version, bool keep_alive) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(version);
    res->result(static_cast<unsigned>(response.status));
    res->set(http::field::server, "pso-controller");
    res->set(http::field::content_type, response.content_type);
    for (const auto& [name, value] : response.headers) res->set(name, value);
    res->keep_alive(keep_alive);
    res->body() = response.body;
    res->prepare_payload();
    metrics_.increment("pso_http_requests_total", {{"code", std::to_string(response.status)}});
    http::async_write(
        stream_, *res,
        [self = shared_from_this(), res, keep_alive](beast::error_code ec, std::size_t) {
          if (ec || !keep_alive) {
            self->close();
            return;
          }
          self->read();
        });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  const HttpHandler& handler_;
  common::MetricsRegistry& metrics_;
};

}  // namespace

struct HttpServer::Impl {
  Impl(HttpHandler h, common::MetricsRegistry& m) : handler(std::move(h)), metrics(m) {}

  void accept() {
    acceptor.async_accept(asio::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      if (ec) {
        spdlog::warn("http: accept failed: {}", ec.message());
      } else {
        std::make_shared<Session>(std::move(socket), handler, metrics)->start();
      }
      accept();
    });
  }

  HttpHandler handler;
  common::MetricsRegistry& metrics;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::string host;
  uint16_t port = 0;
  std::thread thread;
};

HttpServer::HttpServer(HttpHandler handler, common::MetricsRegistry& metrics)
    : impl_(std::make_unique<Impl>(std::move(handler), metrics)) {
  metrics.describe("pso_http_requests_total", "counter", "HTTP responses by status code");
}

HttpServer::~HttpServer() {
  stop();
}

Status HttpServer::start(const std::string& address) {
  std::string why;
  const std::optional<common::HostPort> split =
      common::splitHostPort(address, /*allow_zero=*/true, &why);
  if (!split) return makeError("bind", "http address '" + address + "': " + why);
  const auto& [host, port] = *split;
  Impl& d = *impl_;
  beast::error_code ec;
  tcp::endpoint endpoint;
  const auto ip = asio::ip::make_address(host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(ip, port);
  } else {
    tcp::resolver resolver(d.io);
    auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec || results.empty()) {
      return makeError("bind", "http address '" + address + "': cannot resolve host '" + host +
                                   "': " + ec.message());
    }
    endpoint = results.begin()->endpoint();
  }
  auto fail = [&](const char* step) {
    return makeError("bind", "http address '" + address + "': " + step + ": " + ec.message());
  };
  if (d.acceptor.open(endpoint.protocol(), ec); ec) return fail("open");
  if (d.acceptor.set_option(asio::socket_base::reuse_address(true), ec); ec) return fail("option");
  if (d.acceptor.bind(endpoint, ec); ec) return fail("bind");
  if (d.acceptor.listen(asio::socket_base::max_listen_connections, ec); ec) return fail("listen");
  d.port = d.acceptor.local_endpoint(ec).port();
  d.host = host;
  d.accept();
  d.thread = std::thread([&d] {
    // A handler escaping with an exception would end the server thread; keep serving.
    for (;;) {
      try {
        d.io.run();
        return;
      } catch (const std::exception& e) {
        spdlog::error("http: io loop: {}", e.what());
      }
    }
  });
  return {};
}

void HttpServer::stop() {
  Impl& d = *impl_;
  if (!d.thread.joinable()) return;
  // Stopping the io_context abandons pending reads and writes; their sessions
  // are destroyed with it, which closes every connection.
  d.io.stop();
  d.thread.join();
  beast::error_code ignored;
  d.acceptor.close(ignored);
}

uint16_t HttpServer::port() const {
  return impl_->port;
}

std::string HttpServer::address() const {
  const bool v6 = impl_->host.find(':') != std::string::npos;
  return (v6 ? "[" + impl_->host + "]" : impl_->host) + ":" + std::to_string(impl_->port);
}

}  // namespace pso::controller::service
