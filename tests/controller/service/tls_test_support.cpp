#include "tests/controller/service/tls_test_support.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <functional>
#include <regex>
#include <stdexcept>

#include "tests/controller/service/service_test_support.h"

namespace pso::controller::service::testing {

namespace {

template <typename T, void (*Free)(T*)>
struct Freer {
  void operator()(T* p) const { Free(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Freer<EVP_PKEY, EVP_PKEY_free>>;
using CertPtr = std::unique_ptr<X509, Freer<X509, X509_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Freer<X509_EXTENSION, X509_EXTENSION_free>>;

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("making a test certificate: ") + what);
}

void writePem(const std::string& path, const std::function<int(FILE*)>& write) {
  FILE* file = std::fopen(path.c_str(), "w");
  check(file != nullptr, "cannot open the output file");
  const int written = write(file);
  std::fclose(file);
  check(written == 1, "cannot write PEM");
}

}  // namespace

void writeSelfSignedCertificate(const std::string& cert_path, const std::string& key_path) {
  KeyPtr key(EVP_EC_gen("P-256"));
  check(key != nullptr, "EC key generation");
  CertPtr cert(X509_new());
  check(cert != nullptr, "X509_new");
  check(X509_set_version(cert.get(), 2) == 1, "version");
  unsigned char serial[8];
  check(RAND_bytes(serial, sizeof serial) == 1, "serial");
  serial[0] &= 0x7f;
  uint64_t serial_value = 0;
  for (unsigned char byte : serial) serial_value = (serial_value << 8) | byte;
  check(ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert.get()), serial_value) == 1, "serial");
  // Relative to the clock the test runs under (faketime included).
  check(X509_gmtime_adj(X509_getm_notBefore(cert.get()), -24L * 3600) != nullptr, "notBefore");
  check(X509_gmtime_adj(X509_getm_notAfter(cert.get()), 30L * 24 * 3600) != nullptr, "notAfter");
  check(X509_set_pubkey(cert.get(), key.get()) == 1, "public key");
  X509_NAME* name = X509_get_subject_name(cert.get());
  check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>("pso-controller test"),
                                   -1, -1, 0) == 1,
        "subject");
  check(X509_set_issuer_name(cert.get(), name) == 1, "issuer");
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, cert.get(), cert.get(), nullptr, nullptr, 0);
  const std::pair<int, const char*> extensions[] = {
      {NID_basic_constraints, "critical,CA:TRUE"},
      {NID_subject_key_identifier, "hash"},
      {NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost"},
  };
  for (const auto& [nid, value] : extensions) {
    ExtPtr extension(X509V3_EXT_conf_nid(nullptr, &context, nid, value));
    check(extension != nullptr, "extension");
    check(X509_add_ext(cert.get(), extension.get(), -1) == 1, "extension");
  }
  check(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0, "sign");
  writePem(key_path, [&](FILE* f) {
    return PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
  writePem(cert_path, [&](FILE* f) { return PEM_write_X509(f, cert.get()); });
}

RawReply parseRawReply(const std::string& raw) {
  RawReply reply;
  const auto end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || end == std::string::npos) return reply;
  reply.head = raw.substr(0, end);
  reply.body = raw.substr(end + 4);
  reply.status = std::atoi(raw.c_str() + raw.find(' ') + 1);
  std::size_t start = reply.head.find("\r\n");
  while (start != std::string::npos) {
    start += 2;
    const auto next = reply.head.find("\r\n", start);
    const std::string line = reply.head.substr(start, next - start);
    const auto colon = line.find(':');
    std::string header_name = line.substr(0, colon);
    std::transform(header_name.begin(), header_name.end(), header_name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    reply.names.push_back(header_name);
    if (colon != std::string::npos) {
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      reply.headers[header_name] = value;
    }
    start = next;
  }
  return reply;
}

RawReply plainRequest(uint16_t port, const std::string& method, const std::string& target,
                      const std::string& token, const std::string& body) {
  std::string request = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (!token.empty()) request += "Authorization: Bearer " + token + "\r\n";
  if (!body.empty()) {
    request +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  request += "Connection: close\r\n\r\n" + body;
  return parseRawReply(rawHttp(port, request));
}

bool serverClosesAfter(uint16_t port, const std::string& bytes, std::chrono::milliseconds timeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool closed = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size())) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd poll_fd{fd, POLLIN, 0};
      if (::poll(&poll_fd, 1, static_cast<int>(left.count())) <= 0) continue;
      char chunk[4096];
      const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) {  // EOF or a reset: the server let go
        closed = true;
        break;
      }
    }
  }
  ::close(fd);
  return closed;
}

ControllerChild::ControllerChild(const pso::testing::TempDir& dir, const std::string& yaml)
    : dir_(dir) {
  std::ofstream(dir.file("controller.yaml")) << yaml;
  process_ = std::make_unique<pso::testing::ChildProcess>(
      std::vector<std::string>{PSO_CONTROLLER_BIN, "--config", dir.file("controller.yaml"), "--db",
                               dir.file("controller.db"), "--bind", "tcp://127.0.0.1:0", "--http",
                               "127.0.0.1:0"},
      dir.file("controller.out"), dir.file("controller.log"));
  const std::regex line(R"(pso-controller listening zmq=\S+ http=(\S+))");
  std::smatch m;
  std::string out;
  const bool listening = pso::testing::waitFor(
      [&] {
        out = pso::testing::readFile(dir.file("controller.out"));
        return std::regex_search(out, m, line) || !process_->running();
      },
      std::chrono::seconds(20));
  if (listening && std::regex_search(out, m, line)) address_ = m[1];
}

uint16_t ControllerChild::port() const {
  const auto colon = address_.rfind(':');
  return colon == std::string::npos ? 0
                                    : static_cast<uint16_t>(std::stoi(address_.substr(colon + 1)));
}

std::string ControllerChild::log() const {
  return pso::testing::readFile(dir_.file("controller.log"));
}

}  // namespace pso::controller::service::testing
