#include "controller/service/zap_handler.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <utility>

#include "common/clock.h"
#include "common/curve_keys.h"
#include "common/threads.h"
#include "protocol/names.h"

namespace pso::controller::service {
namespace {

constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";
constexpr int64_t kZapRefusalLogIntervalMs = 60'000;
constexpr int kPollMs = 100;

int64_t mtimeNs(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

}  // namespace

AuthorizedKeys::AuthorizedKeys(std::string dir) : dir_(std::move(dir)) {}

void AuthorizedKeys::refresh(int64_t now_ms, int64_t rescan_ms) {
  {
    std::lock_guard lock(mutex_);
    if (scanned_ && mtimeNs(dir_) == dir_mtime_ns_ && now_ms - scanned_ms_ < rescan_ms) return;
    scanned_ms_ = now_ms;
    scanned_ = true;
  }
  scan();
}

void AuthorizedKeys::scan() {
  const int64_t mtime = mtimeNs(dir_);
  std::map<std::string, std::string> found;
  std::vector<std::string> problems;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir_, ec);
  if (ec) problems.push_back("authorized_keys_dir " + dir_ + ": " + ec.message());
  for (; !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    const std::filesystem::path& path = it->path();
    if (path.extension() != ".pub") continue;
    const std::string id = path.stem().string();
    if (!protocol::isValidName(id, protocol::NameKind::kAgentId)) {
      problems.push_back(path.string() + ": file name is not a valid agent id (" +
                         protocol::nameProblem(id, protocol::NameKind::kAgentId) + ")");
      continue;
    }
    auto key = common::readCurvePublicKeyFile(path.string());
    if (!key) {
      problems.push_back(key.error().message);
      continue;
    }
    const std::string raw = *common::decodeCurveKey(*key);
    if (auto [at, inserted] = found.emplace(raw, id); !inserted) {
      // One key under two ids would let its holder pick either: trust neither.
      problems.push_back(path.string() + ": the same key as " + at->second +
                         ".pub; neither id is authorized");
      at->second.clear();
    }
  }
  std::erase_if(found, [](const auto& entry) { return entry.second.empty(); });
  std::lock_guard lock(mutex_);
  agents_by_key_ = std::move(found);
  problems_ = std::move(problems);
  dir_mtime_ns_ = mtime;
}

std::optional<std::string> AuthorizedKeys::agentFor(std::string_view raw_key) const {
  std::lock_guard lock(mutex_);
  auto it = agents_by_key_.find(std::string(raw_key));
  if (it == agents_by_key_.end()) return std::nullopt;
  return it->second;
}

std::size_t AuthorizedKeys::size() const {
  std::lock_guard lock(mutex_);
  return agents_by_key_.size();
}

std::vector<std::string> AuthorizedKeys::problems() const {
  std::lock_guard lock(mutex_);
  return problems_;
}

Result<std::unique_ptr<ZapHandler>> ZapHandler::start(zmq::context_t& context, std::string keys_dir,
                                                      common::MetricsRegistry& metrics) {
  try {
    zmq::socket_t socket(context, zmq::socket_type::rep);
    socket.set(zmq::sockopt::linger, 0);
    socket.bind(kZapEndpoint);
    return std::unique_ptr<ZapHandler>(
        new ZapHandler(std::move(socket), std::move(keys_dir), metrics));
  } catch (const zmq::error_t& e) {
    return makeError("zmq", std::string("cannot start the ZAP handler: ") + e.what());
  }
}

ZapHandler::ZapHandler(zmq::socket_t socket, std::string keys_dir, common::MetricsRegistry& metrics)
    : socket_(std::move(socket)), keys_(std::move(keys_dir)), metrics_(metrics) {
  metrics_.describe("pso_zap_requests_total", "counter",
                    "CurveZMQ handshakes judged by the ZAP handler, by result");
  keys_.refresh(common::steadyMs(), 0);
  for (const std::string& problem : keys_.problems()) spdlog::warn("curve: {}", problem);
  spdlog::info("curve: {} authorized agent key(s)", keys_.size());
  thread_ = std::thread([this] {
    common::nameThisThread("pso-zap");
    run();
  });
}

ZapHandler::~ZapHandler() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void ZapHandler::run() {
  while (!stop_) {
    zmq::pollitem_t item{static_cast<void*>(socket_), 0, ZMQ_POLLIN, 0};
    try {
      if (zmq::poll(&item, 1, std::chrono::milliseconds(kPollMs)) <= 0) continue;
      std::vector<std::string> request;
      zmq::message_t frame;
      do {
        if (!socket_.recv(frame, zmq::recv_flags::none)) break;
        request.emplace_back(frame.to_string());
      } while (frame.more());
      const std::vector<std::string> reply = answer(request, common::steadyMs());
      for (std::size_t i = 0; i < reply.size(); ++i) {
        socket_.send(zmq::buffer(reply[i]),
                     i + 1 < reply.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
      }
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) return;
      spdlog::error("curve: ZAP handler: {}", e.what());
    }
  }
}

std::vector<std::string> ZapHandler::answer(const std::vector<std::string>& request,
                                            int64_t now_ms) {
  // RFC 27: version, request id, domain, address, routing id, mechanism,
  // then the mechanism's credentials (CURVE: the client's 32-byte key).
  const std::string version = request.empty() ? "" : request[0];
  const std::string request_id = request.size() > 1 ? request[1] : "";
  auto reply = [&](const char* code, const std::string& text, const std::string& user) {
    return std::vector<std::string>{"1.0", request_id, code, text, user, ""};
  };
  if (version != "1.0" || request.size() < 6) {
    metrics_.increment("pso_zap_requests_total", {{"result", "malformed"}});
    return reply("500", "malformed ZAP request", "");
  }
  const std::string& address = request[3];
  const std::string& mechanism = request[5];
  if (mechanism != "CURVE" || request.size() < 7 || request[6].size() != common::kCurveKeyBytes) {
    metrics_.increment("pso_zap_requests_total", {{"result", "mechanism"}});
    spdlog::warn("curve: refused a {} handshake from {}: only CURVE is accepted", mechanism,
                 address);
    return reply("400", "only CURVE is accepted", "");
  }
  keys_.refresh(now_ms);
  const std::string& raw_key = request[6];
  if (std::optional<std::string> agent = keys_.agentFor(raw_key)) {
    metrics_.increment("pso_zap_requests_total", {{"result", "accepted"}});
    return reply("200", "OK", *agent);
  }
  metrics_.increment("pso_zap_requests_total", {{"result", "unknown_key"}});
  int64_t& last = last_logged_ms_[raw_key];
  if (last == 0 || now_ms - last >= kZapRefusalLogIntervalMs) {
    last = now_ms;
    spdlog::warn("curve: refused key {} from {}: not in the authorized keys directory",
                 common::encodeCurveKey(raw_key).value(), address);
  }
  if (last_logged_ms_.size() > 10'000) last_logged_ms_.clear();  // bounded under a key storm
  return reply("400", "key not authorized", "");
}

}  // namespace pso::controller::service
