#include "tests/controller/service/service_test_support.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fstream>
#include <iterator>
#include <zmq_addon.hpp>

#include "common/clock.h"
#include "common/zmq_socket.h"
#include "protocol/codec.h"

namespace pso::controller::service::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

nlohmann::json HttpReply::json() const {
  return nlohmann::json::parse(body, nullptr, false);
}

HttpReply httpRequest(uint16_t port, const std::string& method, const std::string& target,
                      const std::string& body, const std::string& token) {
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  http::request<http::string_body> request;
  request.method_string(method);
  request.target(target);
  request.version(11);
  request.set(http::field::host, "127.0.0.1");
  if (!token.empty()) request.set(http::field::authorization, "Bearer " + token);
  if (!body.empty()) request.set(http::field::content_type, "application/json");
  request.body() = body;
  request.keep_alive(false);
  request.prepare_payload();
  http::write(socket, request);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  http::read(socket, buffer, parser);
  const auto& response = parser.get();
  HttpReply reply;
  reply.status = static_cast<int>(response.result_int());
  reply.content_type = std::string(response[http::field::content_type]);
  reply.body = response.body();
  beast::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  return reply;
}

std::string rawHttp(uint16_t port, const std::string& bytes) {
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  asio::write(socket, asio::buffer(bytes));
  std::string answer;
  beast::error_code ec;
  char chunk[4096];
  for (;;) {
    const std::size_t n = socket.read_some(asio::buffer(chunk), ec);
    answer.append(chunk, n);
    if (ec) break;
  }
  return answer;
}

TestAgent::TestAgent(const std::string& endpoint, const std::string& id,
                     const common::DealerOptions& options)
    : id_(id), context_(1) {
  auto dealer = common::makeDealer(context_, endpoint, options);
  if (!dealer) throw std::runtime_error("makeDealer: " + dealer.error().message);
  socket_ = std::move(dealer.value());
  socket_.set(zmq::sockopt::linger, 0);
}

void TestAgent::send(const protocol::Message& message) {
  const std::string payload = protocol::encode(message);
  socket_.send(zmq::buffer(payload), zmq::send_flags::none);
}

bool TestAgent::trySend(const protocol::Message& message) {
  const std::string payload = protocol::encode(message);
  return socket_.send(zmq::buffer(payload), zmq::send_flags::dontwait).has_value();
}

void TestAgent::sendFrames(const std::vector<std::string>& frames) {
  for (std::size_t i = 0; i < frames.size(); ++i) {
    socket_.send(zmq::buffer(frames[i]),
                 i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
  }
}

std::vector<std::string> TestAgent::receiveFrames(std::chrono::milliseconds timeout) {
  zmq::pollitem_t items[] = {{socket_.handle(), 0, ZMQ_POLLIN, 0}};
  zmq::poll(items, 1, timeout);
  std::vector<std::string> frames;
  if (!(items[0].revents & ZMQ_POLLIN)) return frames;
  std::vector<zmq::message_t> parts;
  if (!zmq::recv_multipart(socket_, std::back_inserter(parts), zmq::recv_flags::dontwait)) {
    return frames;
  }
  for (const auto& part : parts) frames.push_back(part.to_string());
  return frames;
}

std::optional<protocol::Message> TestAgent::receive(std::chrono::milliseconds timeout) {
  zmq::pollitem_t items[] = {{socket_.handle(), 0, ZMQ_POLLIN, 0}};
  zmq::poll(items, 1, timeout);
  if (!(items[0].revents & ZMQ_POLLIN)) return std::nullopt;
  zmq::message_t frame;
  if (!socket_.recv(frame, zmq::recv_flags::dontwait)) return std::nullopt;
  auto decoded = protocol::decode(frame.to_string_view());
  if (!decoded) {
    ADD_FAILURE() << "the controller sent an undecodable frame: " << decoded.error().message;
    return std::nullopt;
  }
  return std::move(decoded.value());
}

std::optional<protocol::Welcome> TestAgent::sayHello(
    const std::vector<protocol::SystemInfo>& systems) {
  protocol::Hello hello;
  hello.agent_id = id_;
  hello.version = "test-agent 1.0";
  hello.host_facts = {{"hostname", "test-host"}, {"cpus", "2"}};
  hello.systems = systems;
  send(hello);
  return receiveA<protocol::Welcome>();
}

protocol::SystemInfo webSystem(int64_t replicas) {
  protocol::SystemInfo info;
  info.name = "web";
  info.actuator = "process-pool";
  info.min_replicas = 1;
  info.max_replicas = 20;
  info.replicas = replicas;
  info.capacity_per_replica = 10.0;
  info.target_utilization = 0.7;
  info.warmup_ms = 0;
  info.priority = 5;
  info.depends_on = {"db"};
  return info;
}

protocol::TelemetryBatch telemetry(const std::string& agent_id, uint64_t seq,
                                   const std::vector<double>& demand, int64_t replicas,
                                   int64_t end_ms, const std::string& system) {
  protocol::TelemetryBatch batch;
  batch.agent_id = agent_id;
  batch.seq = seq;
  batch.oldest_seq = seq;
  batch.series = {{system, "demand"}, {system, "replicas"}};
  const auto n = static_cast<int64_t>(demand.size());
  for (int64_t i = 0; i < n; ++i) batch.timestamps_ms.push_back(end_ms - (n - 1 - i) * 1000);
  batch.values = {demand, std::vector<double>(demand.size(), static_cast<double>(replicas))};
  return batch;
}

protocol::TelemetryBatch demandHistory(const std::string& agent_id, uint64_t seq, int64_t start_ms,
                                       int64_t step_ms, const std::vector<double>& values,
                                       const std::string& system) {
  protocol::TelemetryBatch batch;
  batch.agent_id = agent_id;
  batch.seq = seq;
  batch.oldest_seq = seq;
  batch.series = {{system, "demand"}};
  for (std::size_t i = 0; i < values.size(); ++i) {
    batch.timestamps_ms.push_back(start_ms + static_cast<int64_t>(i) * step_ms);
  }
  batch.values = {values};
  return batch;
}

WallClock fixedClock(int64_t epoch_ms) {
  return [epoch_ms] { return epoch_ms; };
}

void ServiceTest::startController(const HarnessOptions& options) {
  controller_.reset();
  clock_ = options.clock;
  ControllerConfig config;
  config.id = "test-controller";
  config.bind = "tcp://127.0.0.1:0";
  config.http = "127.0.0.1:0";
  config.db = dir_.file("controller.db");
  config.cycle_interval = std::chrono::hours(1);
  config.mode = options.mode;
  config.agent_timeout = options.agent_timeout;
  config.heartbeat_interval = std::chrono::seconds(1);
  config.directive_deadline = options.directive_deadline;
  config.curve = options.curve;
  config.alerts = options.alerts;
  config.webhooks = options.webhooks;
  config.remote_write = options.remote_write;
  if (options.tokens_file) {
    config.api_tokens_file = dir_.file("api-tokens");
    std::ofstream(config.api_tokens_file)
        << "# operators of the test\n\n  " << kToken << "  \nsecond-token\n";
  }
  controller_ = std::make_unique<Controller>(config, clock_);
  auto status = controller_->start();
  ASSERT_TRUE(status.ok()) << status.error().message;
  ASSERT_NE(controller_->httpPort(), 0);
  ASSERT_NE(controller_->zmqEndpoint().find("tcp://127.0.0.1:"), std::string::npos);
}

std::unique_ptr<TestAgent> ServiceTest::connectWebAgent(const std::string& id,
                                                        const std::vector<double>& demand,
                                                        int64_t replicas) {
  auto agent = std::make_unique<TestAgent>(endpoint(), id);
  auto welcome = agent->sayHello({webSystem(replicas)});
  EXPECT_TRUE(welcome.has_value()) << "no welcome";
  if (!welcome) return nullptr;
  agent->send(telemetry(id, welcome->last_seq + 1, demand, replicas, now()));
  auto ack = agent->receiveA<protocol::Ack>();
  EXPECT_TRUE(ack.has_value()) << "no ack";
  if (!ack) return nullptr;
  EXPECT_EQ(ack->seq, welcome->last_seq + 1);
  return agent;
}

}  // namespace pso::controller::service::testing
