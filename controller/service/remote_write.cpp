#include "controller/service/remote_write.h"

#include <snappy.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <tuple>

#include "common/http_transfer.h"
#include "common/threads.h"

namespace pso::controller::service {
namespace {

// Protobuf wire format: a field's key is (number << 3) | wire type.
constexpr uint8_t kVarint = 0;
constexpr uint8_t kFixed64 = 1;
constexpr uint8_t kLengthDelimited = 2;

void putVarint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void putKey(std::string& out, uint32_t field, uint8_t wire_type) {
  putVarint(out, (static_cast<uint64_t>(field) << 3) | wire_type);
}

void putBytes(std::string& out, uint32_t field, const std::string& bytes) {
  putKey(out, field, kLengthDelimited);
  putVarint(out, bytes.size());
  out += bytes;
}

// prometheus.Label {string name = 1; string value = 2;}
std::string encodeLabel(const std::string& name, const std::string& value) {
  std::string out;
  putBytes(out, 1, name);
  putBytes(out, 2, value);
  return out;
}

// prometheus.Sample {double value = 1; int64 timestamp = 2;}
std::string encodeSample(const store::Sample& sample) {
  std::string out;
  putKey(out, 1, kFixed64);
  uint64_t bits = 0;
  std::memcpy(&bits, &sample.value, sizeof bits);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
  putKey(out, 2, kVarint);
  // int64 is encoded as its two's complement, so a negative time takes 10 bytes.
  putVarint(out, static_cast<uint64_t>(sample.ts_ms));
  return out;
}

// prometheus.TimeSeries {repeated Label labels = 1; repeated Sample samples = 2;}
std::string encodeSeries(const RemoteSeries& series) {
  std::string out;
  for (const auto& [name, value] : series.labels) putBytes(out, 1, encodeLabel(name, value));
  for (const auto& sample : series.samples) putBytes(out, 2, encodeSample(sample));
  return out;
}

std::string metricName(const std::string& metric) {
  std::string name = "pso_";
  for (char c : metric) {
    const bool kept = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == ':';
    name.push_back(kept ? c : '_');
  }
  return name;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> remoteLabels(const store::StoredSeries& series) {
  std::vector<std::pair<std::string, std::string>> labels = {
      {"__name__", metricName(series.key.metric)},
      {"agent", series.agent_id},
      {"job", "pso"},
  };
  // An agent's host series are stored under a name no system can take.
  if (series.key.system != store::hostSeriesSystem(series.agent_id)) {
    labels.emplace_back("system", series.key.system);
  }
  std::sort(labels.begin(), labels.end());
  return labels;
}

std::string encodeWriteRequest(const std::vector<RemoteSeries>& series) {
  std::string out;
  for (const auto& one : series) putBytes(out, 1, encodeSeries(one));
  return out;
}

RemoteWriter::RemoteWriter(RemoteWriteSettings settings, common::MetricsRegistry& metrics)
    : settings_(std::move(settings)), metrics_(metrics) {
  metrics_.describe("pso_remote_write_samples_total", "counter",
                    "Samples forwarded to the remote_write receiver, by outcome (sent, refused "
                    "by the receiver, dropped from a full queue)");
  metrics_.describe("pso_remote_write_requests_total", "counter",
                    "remote_write requests, by outcome (sent, retried, refused)");
  metrics_.describe("pso_remote_write_queued_samples", "gauge",
                    "Stored samples waiting to be forwarded with remote_write");
}

RemoteWriter::~RemoteWriter() {
  stop();
}

void RemoteWriter::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] {
    common::nameThisThread("pso-remotewrite");
    run();
  });
}

void RemoteWriter::stop() {
  {
    std::lock_guard lock(mutex_);
    if (!thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void RemoteWriter::enqueue(std::vector<store::StoredSeries> series) {
  std::size_t dropped = 0;
  std::size_t queued = 0;
  {
    std::lock_guard lock(mutex_);
    for (auto& one : series) {
      queued_samples_ += one.samples.size();
      queue_.push_back(std::move(one));
    }
    while (queued_samples_ > settings_.max_queued_samples && !queue_.empty()) {
      dropped += queue_.front().samples.size();
      queued_samples_ -= queue_.front().samples.size();
      queue_.pop_front();
    }
    queued = queued_samples_;
  }
  wake_.notify_one();
  metrics_.set("pso_remote_write_queued_samples", {}, static_cast<double>(queued));
  if (dropped > 0) {
    metrics_.increment("pso_remote_write_samples_total", {{"outcome", "dropped"}},
                       static_cast<double>(dropped));
  }
}

std::vector<RemoteSeries> RemoteWriter::takeRequestLocked(std::size_t& samples) {
  samples = 0;
  using Key = std::tuple<std::string, std::string, std::string>;
  std::map<Key, std::vector<store::Sample>> merged;
  std::map<Key, std::vector<std::pair<std::string, std::string>>> labels;
  const std::size_t budget = std::max<std::size_t>(settings_.max_samples_per_send, 1);
  while (!queue_.empty() && samples < budget) {
    store::StoredSeries& front = queue_.front();
    const Key key{front.agent_id, front.key.system, front.key.metric};
    if (!labels.contains(key)) labels.emplace(key, remoteLabels(front));
    auto& into = merged[key];
    // A series longer than what is left of the budget is sent in parts.
    const std::size_t take = std::min(front.samples.size(), budget - samples);
    into.insert(into.end(), front.samples.begin(),
                front.samples.begin() + static_cast<std::ptrdiff_t>(take));
    samples += take;
    queued_samples_ -= take;
    if (take == front.samples.size()) {
      queue_.pop_front();
    } else {
      front.samples.erase(front.samples.begin(),
                          front.samples.begin() + static_cast<std::ptrdiff_t>(take));
    }
  }
  std::vector<RemoteSeries> request;
  request.reserve(merged.size());
  for (auto& [key, list] : merged) {
    // A receiver takes a series' samples in time order, one per timestamp;
    // a re-stored timestamp keeps the value stored last, as the store does.
    std::stable_sort(list.begin(), list.end(), [](const store::Sample& a, const store::Sample& b) {
      return a.ts_ms < b.ts_ms;
    });
    std::vector<store::Sample> unique;
    unique.reserve(list.size());
    for (const auto& sample : list) {
      if (!unique.empty() && unique.back().ts_ms == sample.ts_ms) {
        unique.back() = sample;
      } else {
        unique.push_back(sample);
      }
    }
    request.push_back({labels[key], std::move(unique)});
  }
  return request;
}

const char* RemoteWriter::post(const std::string& body, std::string& detail) {
  common::HttpTransfer transfer;
  transfer.method = "POST";
  transfer.url = settings_.url;
  transfer.headers = {"Content-Encoding: snappy", "Content-Type: application/x-protobuf",
                      "User-Agent: pso-controller", "X-Prometheus-Remote-Write-Version: 0.1.0"};
  if (!settings_.bearer_token.empty()) {
    transfer.headers.push_back("Authorization: Bearer " + settings_.bearer_token);
  }
  transfer.body = body;
  transfer.timeout_ms = settings_.timeout_ms;
  transfer.max_reply_bytes = 64 * 1024;
  auto reply = common::performTransfer(transfer);
  if (!reply) {
    detail = reply.error().message;
    return "retry";
  }
  const long status = reply->status;
  if (status >= 200 && status < 300) return "sent";
  detail = "HTTP " + std::to_string(status) + ": " + reply->body.substr(0, 200);
  while (!detail.empty() && (detail.back() == '\n' || detail.back() == '\r')) detail.pop_back();
  return common::isRetryableHttpStatus(status) ? "retry" : "refused";
}

void RemoteWriter::run() {
  std::unique_lock lock(mutex_);
  std::string body;  // the request being delivered; empty: none
  std::size_t samples = 0;
  int64_t backoff_ms = settings_.first_backoff_ms;
  bool failing = false;
  while (!stopping_) {
    if (body.empty()) {
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) break;
      auto request = takeRequestLocked(samples);
      const std::size_t queued = queued_samples_;
      lock.unlock();
      metrics_.set("pso_remote_write_queued_samples", {}, static_cast<double>(queued));
      const std::string raw = encodeWriteRequest(request);
      snappy::Compress(raw.data(), raw.size(), &body);
      lock.lock();
      continue;
    }
    lock.unlock();
    std::string detail;
    const std::string outcome = post(body, detail);
    lock.lock();
    if (outcome == "retry") {
      metrics_.increment("pso_remote_write_requests_total", {{"outcome", "retried"}});
      if (!failing) {
        spdlog::warn("remote_write: {} unreachable, retrying with backoff: {}", settings_.url,
                     detail);
      }
      failing = true;
      wake_.wait_for(lock, std::chrono::milliseconds(backoff_ms), [&] { return stopping_; });
      backoff_ms = std::min(backoff_ms * 2, settings_.max_backoff_ms);
      continue;
    }
    if (failing) spdlog::info("remote_write: {} takes samples again", settings_.url);
    failing = false;
    backoff_ms = settings_.first_backoff_ms;
    if (outcome == "refused") {
      spdlog::warn("remote_write: {} refused {} sample(s): {}", settings_.url, samples, detail);
    }
    metrics_.increment("pso_remote_write_requests_total", {{"outcome", outcome}});
    metrics_.increment("pso_remote_write_samples_total", {{"outcome", outcome}},
                       static_cast<double>(samples));
    body.clear();
  }
}

}  // namespace pso::controller::service
