// Many concurrent connections, both models: 1,000 connections (fewer under the sanitizers, and
// within the descriptor limit) each exchange 100 messages of varying sizes with an echo server;
// every byte is checked, and the server counts what it echoed. Then a churn of short connections
// that reuses descriptor numbers and poller records while old events may still be in flight.
#include <weft/fiber.hpp>
#include <weft/net/tcp_server.hpp>
#include <weft/os.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "net_support.hpp"
#include "support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::net::address;
using namespace net_test;

template <class E>
class NetStress : public ::testing::Test {};
TYPED_TEST_SUITE(NetStress, main_envs, env_name);

// Message k of connection c: its length and its bytes, so that any mix-up shows.
std::size_t message_size(int c, int k) {
  return 1 + static_cast<std::size_t>((c * 31 + k * 17) % 1500);
}
std::byte message_byte(int c, int k, std::size_t i) {
  return static_cast<std::byte>((c * 7 + k * 13 + static_cast<int>(i)) & 0xff);
}

template <class M>
typename weft::net::tcp_server<M>::handler counting_echo(std::atomic<std::uint64_t>& echoed) {
  return [&echoed](typename M::tcp_stream& s) {
    std::array<std::byte, 1024> buf;
    while (const std::size_t n = s.read(buf, 60s)) {
      s.write_all(buf.data(), n, 60s);
      echoed.fetch_add(n, std::memory_order_relaxed);
    }
  };
}

TYPED_TEST(NetStress, ThousandConnectionsHundredMessagesEach) {
  weft_test::watchdog wd("NetStress.ThousandConnectionsHundredMessagesEach", 170s);
  // Each connection costs two descriptors here (both ends live in this process).
  const std::size_t fd_room = (raise_fd_limit() - 64) / 2;
  const int connections = static_cast<int>(
      std::min<std::size_t>(fd_room, weft_test::under_tsan ? 100 : 1000 / weft_test::scale));
  const int messages = weft_test::under_tsan ? 20 : 100;
  TypeParam::run([=] {
    using M = typename TypeParam::M;
    std::atomic<std::uint64_t> echoed{0};
    weft::net::tcp_server<M> server(
        M::tcp_listener::bind(address::loopback_v4(0), {.backlog = 4096}),
        counting_echo<M>(echoed));
    auto acceptor = M::spawn([&server] { server.serve(); });
    std::atomic<int> ok{0};
    std::atomic<std::uint64_t> sent{0};
    std::vector<typename M::template join_handle<void>> clients;
    clients.reserve(static_cast<std::size_t>(connections));
    for (int c = 0; c < connections; ++c) {
      clients.push_back(M::spawn([&, c] {
        auto s = M::tcp_stream::connect(server.local_address(), 60s);
        std::vector<std::byte> out;
        std::vector<std::byte> in;
        for (int k = 0; k < messages; ++k) {
          out.resize(message_size(c, k));
          for (std::size_t i = 0; i < out.size(); ++i) out[i] = message_byte(c, k, i);
          s.write_all(out, 60s);
          in.assign(out.size(), std::byte{0});
          s.read_exact(in, 60s);
          if (in != out) {
            ADD_FAILURE() << "connection " << c << " message " << k << " came back altered";
            return;
          }
          sent.fetch_add(out.size(), std::memory_order_relaxed);
        }
        ok.fetch_add(1);
      }));
    }
    for (auto& h : clients) h.join();
    EXPECT_EQ(ok.load(), connections);
    EXPECT_EQ(server.shutdown(30s), 0u);  // the clients closed: nothing left to force
    acceptor.join();
    EXPECT_EQ(echoed.load(), sent.load());
    EXPECT_EQ(server.stats().accepted, static_cast<std::uint64_t>(connections));
    EXPECT_EQ(server.stats().handler_errors, 0u);
  });
}

TYPED_TEST(NetStress, ChurnOfShortConnections) {
  weft_test::watchdog wd("NetStress.ChurnOfShortConnections", 170s);
  const int rounds = weft_test::under_tsan ? 100 : 2000 / weft_test::scale;
  TypeParam::run([=] {
    using M = typename TypeParam::M;
    std::atomic<std::uint64_t> echoed{0};
    weft::net::tcp_server<M> server(M::tcp_listener::bind(address::loopback_v4(0)),
                                    counting_echo<M>(echoed));
    auto acceptor = M::spawn([&server] { server.serve(); });
    // Four clients, each opening and closing connections in a loop: descriptors and poller
    // records are reused constantly, while events of the closed ones may still be queued.
    std::atomic<int> done{0};
    std::vector<typename M::template join_handle<void>> clients;
    for (int t = 0; t < 4; ++t) {
      clients.push_back(M::spawn([&, t] {
        for (int r = 0; r < rounds / 4; ++r) {
          auto s = M::tcp_stream::connect(server.local_address(), 60s);
          const std::array<std::byte, 3> msg{std::byte(t), std::byte(r & 0xff), std::byte(7)};
          s.write_all(msg, 60s);
          std::array<std::byte, 3> back{};
          s.read_exact(back, 60s);
          EXPECT_EQ(back, msg);
          if (r % 2 == 0) s.shutdown();  // sometimes a FIN first, sometimes a plain close
          done.fetch_add(1);
        }
      }));
    }
    for (auto& h : clients) h.join();
    EXPECT_EQ(done.load(), rounds / 4 * 4);
    server.shutdown(30s);
    acceptor.join();
    EXPECT_EQ(echoed.load(), static_cast<std::uint64_t>(done.load()) * 3);
  });
}

}  // namespace
