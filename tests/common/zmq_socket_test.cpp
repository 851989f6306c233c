#include "common/zmq_socket.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "common/curve_keys.h"

namespace pso::common {
namespace {

// Receives one multipart message, waiting at most `timeout_ms`.
std::vector<std::string> receive(zmq::socket_t& socket, int timeout_ms = 5000) {
  socket.set(zmq::sockopt::rcvtimeo, timeout_ms);
  std::vector<std::string> parts;
  do {
    zmq::message_t msg;
    if (!socket.recv(msg)) return {};
    parts.push_back(msg.to_string());
  } while (socket.get(zmq::sockopt::rcvmore));
  return parts;
}

TEST(ZmqSocket, RouterAndDealerExchangeFramesBothWays) {
  zmq::context_t ctx;
  std::string endpoint;
  auto router = makeRouter(ctx, "tcp://127.0.0.1:0", RouterOptions{}, &endpoint);
  ASSERT_TRUE(router.ok()) << router.error().message;
  EXPECT_EQ(endpoint.rfind("tcp://127.0.0.1:", 0), 0u) << endpoint;
  EXPECT_NE(endpoint, "tcp://127.0.0.1:0");

  auto dealer = makeDealer(ctx, endpoint, DealerOptions{});
  ASSERT_TRUE(dealer.ok()) << dealer.error().message;
  // IMMEDIATE=1 means a send before the connection exists would block, so the
  // send waits (with a deadline) for the connection instead of being lost.
  dealer->set(zmq::sockopt::sndtimeo, 5000);
  ASSERT_TRUE(dealer->send(zmq::buffer(std::string("hello")), zmq::send_flags::none));

  const auto in = receive(*router);
  ASSERT_EQ(in.size(), 2u);
  EXPECT_FALSE(in[0].empty());  // the routing id the ROUTER assigned
  EXPECT_EQ(in[1], "hello");

  ASSERT_TRUE(router->send(zmq::buffer(in[0]), zmq::send_flags::sndmore));
  ASSERT_TRUE(router->send(zmq::buffer(std::string("welcome")), zmq::send_flags::none));
  const auto out = receive(*dealer);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], "welcome");
}

// The controller's ROUTER queues only a few messages per connection (its
// rcvhwm, controller/service/ingest.cpp): what an agent sends beyond them
// while the controller is not reading waits in the socket, and arrives
// whole and in order once it reads again.
TEST(ZmqSocket, AShortReceiveQueueHoldsBackAPeersBurstWithoutLosingAny) {
  zmq::context_t ctx;
  RouterOptions ro;
  ro.rcvhwm = 4;
  std::string endpoint;
  auto router = makeRouter(ctx, "tcp://127.0.0.1:0", ro, &endpoint);
  ASSERT_TRUE(router.ok()) << router.error().message;
  EXPECT_EQ(router->get(zmq::sockopt::rcvhwm), 4);
  auto dealer = makeDealer(ctx, endpoint, DealerOptions{});
  ASSERT_TRUE(dealer.ok()) << dealer.error().message;
  dealer->set(zmq::sockopt::sndtimeo, 5000);
  constexpr int kBurst = 300;
  for (int i = 0; i < kBurst; ++i) {
    const std::string body = std::to_string(i) + std::string(1000, 'x');
    ASSERT_TRUE(dealer->send(zmq::buffer(body), zmq::send_flags::none)) << "message " << i;
  }
  for (int i = 0; i < kBurst; ++i) {
    const auto in = receive(*router);
    ASSERT_EQ(in.size(), 2u) << "message " << i << " did not arrive";
    EXPECT_EQ(in[1], std::to_string(i) + std::string(1000, 'x'));
  }
}

TEST(ZmqSocket, AnEndpointListIsSplitAtCommasAndTrimmed) {
  EXPECT_EQ(splitEndpoints("tcp://a:1"), std::vector<std::string>{"tcp://a:1"});
  EXPECT_EQ(splitEndpoints(" tcp://a:1 ,\ttcp://b:2"),
            (std::vector<std::string>{"tcp://a:1", "tcp://b:2"}));
  // Empty entries stay, for the config check to refuse.
  EXPECT_EQ(splitEndpoints("tcp://a:1,,"), (std::vector<std::string>{"tcp://a:1", "", ""}));
  EXPECT_EQ(splitEndpoints(""), std::vector<std::string>{""});
}

TEST(ZmqSocket, ADealerGivenAPairSendsToTheOneThatIsBound) {
  zmq::context_t ctx;
  // The standby of the pair: a port held bound but not listening, so every
  // connect to it is refused for the whole test. (A ZeroMQ listener bound and
  // closed again is closed by the I/O thread later, and the dealer could
  // connect to it in between and lose a message there.)
  const int held = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(held, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(held, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t addr_len = sizeof addr;
  ASSERT_EQ(::getsockname(held, reinterpret_cast<sockaddr*>(&addr), &addr_len), 0);
  const std::string spare = "tcp://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{held};
  std::string endpoint;
  auto router = makeRouter(ctx, "tcp://127.0.0.1:0", RouterOptions{}, &endpoint);
  ASSERT_TRUE(router.ok()) << router.error().message;
  auto dealer = makeDealer(ctx, spare + "," + endpoint, DealerOptions{});
  ASSERT_TRUE(dealer.ok()) << dealer.error().message;
  dealer->set(zmq::sockopt::sndtimeo, 5000);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(dealer->send(zmq::buffer("m" + std::to_string(i)), zmq::send_flags::none));
  }
  // Every message arrives at the bound one, none waits for the other.
  for (int i = 0; i < 3; ++i) {
    const auto in = receive(*router);
    ASSERT_EQ(in.size(), 2u);
    EXPECT_EQ(in[1], "m" + std::to_string(i));
  }
  // A bad entry in the list is refused, naming it.
  auto bad = makeDealer(ctx, endpoint + ",nonsense", DealerOptions{});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "connect");
  EXPECT_NE(bad.error().message.find("nonsense"), std::string::npos) << bad.error().message;
}

TEST(ZmqSocket, RouterRefusesToSendToAnUnknownId) {
  zmq::context_t ctx;
  auto router = makeRouter(ctx, "tcp://127.0.0.1:0", RouterOptions{});
  ASSERT_TRUE(router.ok()) << router.error().message;
  try {
    (void)router->send(zmq::buffer(std::string("nobody")), zmq::send_flags::sndmore);
    (void)router->send(zmq::buffer(std::string("payload")), zmq::send_flags::none);
    FAIL() << "sending to an unknown routing id did not fail";
  } catch (const zmq::error_t& e) {
    EXPECT_EQ(e.num(), EHOSTUNREACH);
  }
}

TEST(ZmqSocket, SocketOptionsAreApplied) {
  zmq::context_t ctx;
  RouterOptions ro;
  ro.max_msg_size = 12345;
  ro.sndhwm = 77;
  std::string endpoint;
  auto router = makeRouter(ctx, "tcp://127.0.0.1:0", ro, &endpoint);
  ASSERT_TRUE(router.ok());
  EXPECT_EQ(router->get(zmq::sockopt::maxmsgsize), 12345);
  EXPECT_EQ(router->get(zmq::sockopt::sndhwm), 77);
  EXPECT_EQ(router->get(zmq::sockopt::backlog), ro.backlog);
  EXPECT_EQ(router->get(zmq::sockopt::linger), ro.linger_ms);
  EXPECT_GE(router->get(zmq::sockopt::backlog), 10000);  // a fleet reconnecting at once
  // No ZMTP heartbeat timers on the ROUTER (their cost grows with the square
  // of the connections); the kernel's keepalive finds vanished peers.
  EXPECT_EQ(router->get(zmq::sockopt::heartbeat_ivl), 0);
  EXPECT_EQ(router->get(zmq::sockopt::tcp_keepalive), 1);
  EXPECT_EQ(router->get(zmq::sockopt::tcp_keepalive_idle), ro.keepalive_idle_s);
  EXPECT_EQ(router->get(zmq::sockopt::tcp_keepalive_cnt), ro.keepalive_count);

  DealerOptions d;
  d.reconnect_ivl_ms = 1000;
  auto dealer = makeDealer(ctx, endpoint, d);
  ASSERT_TRUE(dealer.ok());
  const int ivl = dealer->get(zmq::sockopt::reconnect_ivl);
  EXPECT_GE(ivl, 1000);
  EXPECT_LE(ivl, 1500);
  EXPECT_EQ(dealer->get(zmq::sockopt::reconnect_ivl_max), d.reconnect_ivl_max_ms);
  EXPECT_EQ(dealer->get(zmq::sockopt::immediate), 1);
  EXPECT_EQ(dealer->get(zmq::sockopt::linger), d.linger_ms);
  EXPECT_EQ(dealer->get(zmq::sockopt::heartbeat_ivl), d.heartbeat_ivl_ms);
  EXPECT_EQ(dealer->get(zmq::sockopt::heartbeat_ttl), 0);
  EXPECT_EQ(dealer->get(zmq::sockopt::routing_id), "");  // the ROUTER assigns one
}

// Two DEALERs are two connections with two ids, and a peer that sets the id
// of a live connection itself does not take that connection over: before,
// with ROUTER_HANDOVER, it did, and libzmq asserted when one of the two later
// disconnected. Repeated, with both sides closing in turn.
TEST(ZmqSocket, APeerCannotTakeOverAnotherConnectionsRoutingId) {
  zmq::context_t ctx;
  std::string endpoint;
  auto router = makeRouter(ctx, "tcp://127.0.0.1:0", RouterOptions{}, &endpoint);
  ASSERT_TRUE(router.ok()) << router.error().message;
  for (int round = 0; round < 5; ++round) {
    auto first = makeDealer(ctx, endpoint, DealerOptions{});
    ASSERT_TRUE(first.ok());
    first->set(zmq::sockopt::sndtimeo, 5000);
    ASSERT_TRUE(first->send(zmq::str_buffer("one"), zmq::send_flags::none));
    const auto from_first = receive(*router);
    ASSERT_EQ(from_first.size(), 2u);

    zmq::socket_t impostor(ctx, zmq::socket_type::dealer);
    impostor.set(zmq::sockopt::linger, 0);
    impostor.set(zmq::sockopt::routing_id, from_first[0]);
    impostor.connect(endpoint);
    (void)impostor.send(zmq::str_buffer("stolen"), zmq::send_flags::dontwait);

    auto second = makeDealer(ctx, endpoint, DealerOptions{});
    ASSERT_TRUE(second.ok());
    second->set(zmq::sockopt::sndtimeo, 5000);
    ASSERT_TRUE(second->send(zmq::str_buffer("two"), zmq::send_flags::none));
    const auto from_second = receive(*router);
    ASSERT_EQ(from_second.size(), 2u);
    EXPECT_EQ(from_second[1], "two");
    EXPECT_NE(from_second[0], from_first[0]);

    // The first connection still owns its id: a reply reaches it, not the impostor.
    ASSERT_TRUE(router->send(zmq::buffer(from_first[0]), zmq::send_flags::sndmore));
    ASSERT_TRUE(router->send(zmq::str_buffer("reply"), zmq::send_flags::none));
    const auto reply = receive(*first);
    ASSERT_EQ(reply.size(), 1u);
    EXPECT_EQ(reply[0], "reply");
    if (round % 2 == 0) {
      impostor.close();
      first->close();
    } else {
      first->close();
      impostor.close();
    }
    second->close();
  }
  // The router is still serving after every disconnect.
  auto last = makeDealer(ctx, endpoint, DealerOptions{});
  ASSERT_TRUE(last.ok());
  last->set(zmq::sockopt::sndtimeo, 5000);
  ASSERT_TRUE(last->send(zmq::str_buffer("still here"), zmq::send_flags::none));
  const auto got = receive(*router);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1], "still here");
}

TEST(ZmqSocket, BindAndConnectFailuresAreErrors) {
  zmq::context_t ctx;
  std::string endpoint;
  auto first = makeRouter(ctx, "tcp://127.0.0.1:0", RouterOptions{}, &endpoint);
  ASSERT_TRUE(first.ok());
  auto second = makeRouter(ctx, endpoint, RouterOptions{});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, "bind");
  EXPECT_NE(second.error().message.find(endpoint), std::string::npos);

  auto bad = makeDealer(ctx, "not-an-endpoint", DealerOptions{});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "connect");
}

TEST(ZmqSocket, CurveLinkCarriesFramesOnlyToTheServerKeyTheAgentPinned) {
  zmq::context_t ctx;
  const CurveKeyPair server = *generateCurveKeyPair();
  const CurveKeyPair agent = *generateCurveKeyPair();
  RouterOptions router_options;
  router_options.curve_secret_key = server.secret_key;
  std::string endpoint;
  auto router = makeRouter(ctx, "tcp://127.0.0.1:0", router_options, &endpoint);
  ASSERT_TRUE(router.ok()) << router.error().message;

  // An agent pinned to another server key never completes the handshake.
  DealerOptions wrong;
  wrong.curve_server_key = generateCurveKeyPair()->public_key;
  wrong.curve_public_key = agent.public_key;
  wrong.curve_secret_key = agent.secret_key;
  auto misled = makeDealer(ctx, endpoint, wrong);
  ASSERT_TRUE(misled.ok());
  // IMMEDIATE: with no completed handshake there is no pipe, so nothing queues.
  (void)misled->send(zmq::str_buffer("to the wrong server"), zmq::send_flags::dontwait);

  DealerOptions pinned = wrong;
  pinned.curve_server_key = server.public_key;
  auto dealer = makeDealer(ctx, endpoint, pinned);
  ASSERT_TRUE(dealer.ok()) << dealer.error().message;
  ASSERT_TRUE(dealer->send(zmq::str_buffer("hello"), zmq::send_flags::none));
  auto got = receive(*router);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1], "hello");
  // Nothing from the misled agent ever reached the router.
  EXPECT_TRUE(receive(*router, 300).empty());
}

TEST(ZmqSocket, CurveKeysThatAreNotZ85AreRefused) {
  zmq::context_t ctx;
  RouterOptions router_options;
  router_options.curve_secret_key = "short";
  auto router = makeRouter(ctx, "tcp://127.0.0.1:0", router_options);
  ASSERT_FALSE(router.ok());
  EXPECT_EQ(router.error().code, "invalid");
  DealerOptions dealer_options;
  dealer_options.curve_server_key = generateCurveKeyPair()->public_key;
  auto dealer = makeDealer(ctx, "tcp://127.0.0.1:1", dealer_options);
  ASSERT_FALSE(dealer.ok());
  EXPECT_EQ(dealer.error().code, "invalid");
}

}  // namespace
}  // namespace pso::common
