#include "controller/service/http_server.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/detect_ssl.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <exception>
#include <fstream>
#include <optional>
#include <system_error>
#include <thread>
#include <type_traits>

#include "common/text.h"
#include "common/threads.h"

namespace pso::controller::service {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t kMaxHeaderBytes = 64 * 1024;
// How long a TLS close_notify exchange, or draining a refused plain-HTTP
// client, may take before the socket is simply closed.
constexpr auto kCloseTimeout = std::chrono::seconds(2);
constexpr auto kFirstAcceptBackoff = std::chrono::milliseconds(100);
constexpr auto kMaxAcceptBackoff = std::chrono::milliseconds(1000);
constexpr auto kAcceptLogInterval = std::chrono::seconds(1);

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

using Response = http::response<http::string_body>;

// The one place a header reaches the wire: names that are not tokens are
// dropped, values lose their control characters.
void setHeader(Response& res, std::string_view name, std::string_view value) {
  if (!isHeaderName(name)) {
    spdlog::error("http: dropped a response header with an invalid name");
    return;
  }
  res.set(beast::string_view(name.data(), name.size()), headerValue(value));
}

std::shared_ptr<Response> buildResponse(const HttpResponse& response, unsigned version,
                                        bool keep_alive) {
  auto res = std::make_shared<Response>();
  res->version(version);
  res->result(static_cast<unsigned>(response.status));
  setHeader(*res, "Server", "pso-controller");
  setHeader(*res, "Content-Type", response.content_type);
  for (const auto& [name, value] : response.headers) setHeader(*res, name, value);
  res->keep_alive(keep_alive);
  res->body() = response.body;
  res->prepare_payload();
  return res;
}

// What every connection of one server shares.
struct ServerContext {
  HttpHandler handler;
  common::MetricsRegistry& metrics;
  HttpServerOptions options;
  std::unique_ptr<ssl::context> tls;  // null: plain HTTP
};

void countHandshakeFailure(ServerContext& server, const char* reason, const beast::error_code& ec) {
  server.metrics.increment("pso_http_tls_handshake_failures_total", {{"reason", reason}});
  spdlog::debug("http: TLS handshake failed ({}): {}", reason, ec.message());
}

// One connection, plain (Stream = tcp_stream) or TLS (ssl_stream over it).
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

 public:
  Session(beast::tcp_stream stream, beast::flat_buffer buffer, ServerContext& server)
      : stream_(makeStream(std::move(stream), server)),
        buffer_(std::move(buffer)),
        server_(server) {}

  void run() {
    if constexpr (kTls) {
      // The detector's deadline still runs: the handshake must finish by it.
      stream_.async_handshake(
          ssl::stream_base::server, buffer_.data(),
          [self = this->shared_from_this()](beast::error_code ec, std::size_t used) {
            if (ec) {
              countHandshakeFailure(self->server_,
                                    ec == beast::error::timeout ? "timeout" : "handshake", ec);
              self->closeNow();
              return;
            }
            self->buffer_.consume(used);
            self->read();
          });
    } else {
      asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->read(); });
    }
  }

 private:
  static Stream makeStream(beast::tcp_stream stream, ServerContext& server) {
    if constexpr (kTls) {
      return Stream(std::move(stream), *server.tls);
    } else {
      (void)server;
      return stream;
    }
  }

  void read() {
    parser_.emplace();
    parser_->body_limit(kMaxRequestBodyBytes);
    parser_->header_limit(kMaxHeaderBytes);
    beast::get_lowest_layer(stream_).expires_after(server_.options.read_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, std::size_t) { self->onRead(ec); });
  }

  void onRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == ssl::error::stream_truncated) {
      close();
      return;
    }
    if (ec == beast::error::timeout || ec == asio::error::operation_aborted ||
        ec == asio::error::connection_reset) {
      closeNow();
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
        closeNow();
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
      response = server_.handler(request);
    } catch (const std::exception& e) {
      spdlog::error("http: {} {} failed: {}", request.method, headerValue(request.target),
                    e.what());
      response = HttpResponse{
          500, "application/json", errorBody(std::string("internal error: ") + e.what()), {}};
    }
    respond(response, message.version(), message.keep_alive());
  }

  void respond(const HttpResponse& response, unsigned version, bool keep_alive) {
    auto res = buildResponse(response, version, keep_alive);
    server_.metrics.increment("pso_http_requests_total",
                              {{"code", std::to_string(response.status)}});
    http::async_write(
        stream_, *res,
        [self = this->shared_from_this(), res, keep_alive](beast::error_code ec, std::size_t) {
          if (ec) {
            self->closeNow();
          } else if (!keep_alive) {
            self->close();
          } else {
            self->read();
          }
        });
  }

  // An orderly end: TLS sends its close_notify (bounded by kCloseTimeout),
  // plain TCP stops sending.
  void close() {
    if constexpr (kTls) {
      beast::get_lowest_layer(stream_).expires_after(kCloseTimeout);
      stream_.async_shutdown(
          [self = this->shared_from_this()](beast::error_code) { self->closeNow(); });
    } else {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
  }

  void closeNow() {
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(stream_).close();
  }

  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  ServerContext& server_;
};

using PlainSession = Session<beast::tcp_stream>;
using TlsSession = Session<beast::ssl_stream<beast::tcp_stream>>;

// The first step of every connection to an HTTPS listener: a TLS ClientHello
// goes on to the handshake; anything else (a plain-HTTP client) gets a 400
// that says to use https:// and is disconnected. Both steps share one
// deadline, so a client that sends nothing, or half a handshake, cannot hold
// the connection.
class TlsDetector : public std::enable_shared_from_this<TlsDetector> {
 public:
  TlsDetector(tcp::socket socket, ServerContext& server)
      : stream_(std::move(socket)), server_(server) {}

  void run() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      self->stream_.expires_after(self->server_.options.tls_handshake_timeout);
      beast::async_detect_ssl(
          self->stream_, self->buffer_,
          [self](beast::error_code ec, bool is_tls) { self->onDetect(ec, is_tls); });
    });
  }

 private:
  void onDetect(beast::error_code ec, bool is_tls) {
    if (ec) {
      countHandshakeFailure(server_, ec == beast::error::timeout ? "timeout" : "handshake", ec);
      closeNow();
      return;
    }
    if (is_tls) {
      std::make_shared<TlsSession>(std::move(stream_), std::move(buffer_), server_)->run();
      return;
    }
    countHandshakeFailure(server_, "not_tls", ec);
    auto res =
        buildResponse(HttpResponse{400,
                                   "application/json",
                                   errorBody("this port serves HTTPS only: use an https:// URL"),
                                   {}},
                      11, false);
    stream_.expires_after(kCloseTimeout);
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code write_ec, std::size_t) {
                        if (write_ec) {
                          self->closeNow();
                          return;
                        }
                        beast::error_code ignored;
                        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                        self->drain();
                      });
  }

  // Reads what the client still sends until it closes (or kCloseTimeout), so
  // closing with unread data does not reset the connection before the client
  // has read the 400.
  void drain() {
    stream_.async_read_some(asio::buffer(scratch_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) {
                                self->closeNow();
                                return;
                              }
                              self->drain();
                            });
  }

  void closeNow() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  ServerContext& server_;
  char scratch_[1024] = {};
};

std::string sslReason() {
  const unsigned long code = ERR_peek_last_error();
  std::string reason;
  if (code != 0) {
    const char* text = ERR_reason_error_string(code);
    reason = text != nullptr ? text : "error " + std::to_string(code);
  } else {
    reason = "unknown OpenSSL error";
  }
  ERR_clear_error();
  return reason;
}

Status readable(const std::string& key, const std::string& path) {
  std::ifstream in(path);
  if (in) return {};
  return makeError("tls", "http_tls." + key + " " + path +
                              ": cannot read: " + std::generic_category().message(errno));
}

// Refuses to prompt for the passphrase of an encrypted key: a service has no
// terminal to ask on.
int noPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*user*/) {
  return 0;
}

Result<std::unique_ptr<ssl::context>> makeTlsContext(const HttpServerOptions& options) {
  if (options.tls_cert_file.empty() || options.tls_key_file.empty()) {
    return makeError("tls", "http_tls: give both cert_file and key_file");
  }
  if (auto ok = readable("cert_file", options.tls_cert_file); !ok) return ok.error();
  if (auto ok = readable("key_file", options.tls_key_file); !ok) return ok.error();
  auto context = std::make_unique<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = context->native_handle();
  ERR_clear_error();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(
      native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_default_passwd_cb(native, &noPassphrase);
  if (SSL_CTX_use_certificate_chain_file(native, options.tls_cert_file.c_str()) != 1) {
    return makeError("tls", "http_tls.cert_file " + options.tls_cert_file +
                                ": not a usable PEM certificate: " + sslReason());
  }
  // Read apart from the context, so "not a key" and "another certificate's
  // key" are told apart.
  std::unique_ptr<BIO, decltype(&BIO_free)> key_file(
      BIO_new_file(options.tls_key_file.c_str(), "r"), &BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      key_file ? PEM_read_bio_PrivateKey(key_file.get(), nullptr, &noPassphrase, nullptr) : nullptr,
      &EVP_PKEY_free);
  if (!key) {
    return makeError("tls", "http_tls.key_file " + options.tls_key_file +
                                ": not a usable PEM private key (an encrypted key is not "
                                "supported): " +
                                sslReason());
  }
  if (SSL_CTX_use_PrivateKey(native, key.get()) != 1 || SSL_CTX_check_private_key(native) != 1) {
    return makeError("tls", "http_tls.key_file " + options.tls_key_file +
                                ": does not belong to the certificate in " + options.tls_cert_file +
                                ": " + sslReason());
  }
  return context;
}

bool outOfDescriptors(const beast::error_code& ec) {
  return ec == asio::error::no_descriptors ||
         ec == beast::error_code(ENFILE, boost::system::system_category());
}

}  // namespace

std::string headerValue(std::string_view value) {
  std::string out(value);
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) c = ' ';
  }
  return out;
}

bool isHeaderName(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80) return false;
    if (std::isalnum(u) != 0) return true;
    return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
  });
}

struct HttpServer::Impl {
  Impl(HttpHandler h, common::MetricsRegistry& m, HttpServerOptions o)
      : server{std::move(h), m, std::move(o), nullptr} {}

  void accept() {
    acceptor.async_accept(asio::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      if (ec) {
        acceptFailed(ec);
        return;
      }
      backoff = std::chrono::milliseconds(0);
      if (server.tls) {
        std::make_shared<TlsDetector>(std::move(socket), server)->run();
      } else {
        std::make_shared<PlainSession>(beast::tcp_stream(std::move(socket)), beast::flat_buffer(),
                                       server)
            ->run();
      }
      accept();
    });
  }

  // A refused accept leaves the connection pending, so accepting again at
  // once would fail again at once: wait first, longer each time in a row.
  void acceptFailed(const beast::error_code& ec) {
    const bool no_fds = outOfDescriptors(ec);
    server.metrics.increment("pso_http_accept_failures_total",
                             {{"reason", ec == asio::error::no_descriptors ? "emfile"
                                         : no_fds                          ? "enfile"
                                                                           : "other"}});
    const bool retry_now = ec == asio::error::connection_aborted;
    if (!retry_now) {
      backoff =
          backoff.count() == 0 ? kFirstAcceptBackoff : std::min(backoff * 2, kMaxAcceptBackoff);
    }
    const auto now = std::chrono::steady_clock::now();
    if (!last_accept_log || now - *last_accept_log >= kAcceptLogInterval) {
      const std::string left_out =
          unlogged == 0 ? "" : " (" + std::to_string(unlogged) + " more since the last report)";
      const std::string retry =
          retry_now ? "" : "; accepting again in " + std::to_string(backoff.count()) + " ms";
      spdlog::warn("http: accept failed: {}{}{}", ec.message(), left_out, retry);
      last_accept_log = now;
      unlogged = 0;
    } else {
      ++unlogged;
      server.metrics.increment("pso_http_accept_failures_unlogged_total");
    }
    if (retry_now) {
      accept();
      return;
    }
    accept_timer.expires_after(backoff);
    accept_timer.async_wait([this](beast::error_code wait_ec) {
      if (wait_ec || !acceptor.is_open()) return;
      accept();
    });
  }

  // Declared before the io_context: sessions still queued in it when it is
  // destroyed refer to this.
  ServerContext server;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  asio::steady_timer accept_timer{io};
  std::chrono::milliseconds backoff{0};
  std::optional<std::chrono::steady_clock::time_point> last_accept_log;
  uint64_t unlogged = 0;
  std::string host;
  uint16_t port = 0;
  std::thread thread;
};

HttpServer::HttpServer(HttpHandler handler, common::MetricsRegistry& metrics,
                       HttpServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(handler), metrics, std::move(options))) {
  metrics.describe("pso_http_requests_total", "counter", "HTTP responses by status code");
  metrics.describe("pso_http_accept_failures_total", "counter",
                   "failed accept() calls on the HTTP listener by reason (emfile, enfile, other)");
  metrics.describe("pso_http_accept_failures_unlogged_total", "counter",
                   "failed accept() calls left out of the log (at most one line a second)");
  if (impl_->server.options.tls()) {
    metrics.describe("pso_http_tls_handshake_failures_total", "counter",
                     "HTTPS connections closed before a request by reason (not_tls, "
                     "handshake, timeout)");
  }
}

HttpServer::~HttpServer() {
  stop();
}

Status HttpServer::start(const std::string& address) {
  Impl& d = *impl_;
  if (d.server.options.tls()) {
    auto context = makeTlsContext(d.server.options);
    if (!context) return context.error();
    d.server.tls = std::move(context.value());
  }
  std::string why;
  const std::optional<common::HostPort> split =
      common::splitHostPort(address, /*allow_zero=*/true, &why);
  if (!split) return makeError("bind", "http address '" + address + "': " + why);
  const auto& [host, port] = *split;
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
    common::nameThisThread("pso-http");
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
  d.accept_timer.cancel();
}

uint16_t HttpServer::port() const {
  return impl_->port;
}

std::string HttpServer::address() const {
  const bool v6 = impl_->host.find(':') != std::string::npos;
  return (v6 ? "[" + impl_->host + "]" : impl_->host) + ":" + std::to_string(impl_->port);
}

bool HttpServer::tls() const {
  return impl_->server.tls != nullptr;
}

}  // namespace pso::controller::service
