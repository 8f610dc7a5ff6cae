// tcp_server on both models: graceful shutdown completes in-flight requests and refuses new
// connections; connections still open past the grace are shut down; a failing handler ends only
// its own connection; running out of descriptors (a child process with a lowered RLIMIT_NOFILE)
// is reported by accept and serving resumes once descriptors are free again; raise_fd_limit.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <weft/fiber.hpp>
#include <weft/net/tcp_server.hpp>
#include <weft/os.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "net_support.hpp"
#include "support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::net::address;
using namespace net_test;

template <class E>
class NetServer : public ::testing::Test {};
TYPED_TEST_SUITE(NetServer, main_envs, env_name);

// A request is 4 bytes; the response is the request reversed, sent once `gate` is set (if
// given). `received` and `responded` count requests as they arrive and as they are answered.
template <class M>
typename weft::net::tcp_server<M>::handler reverser(std::atomic<int>& received,
                                                    std::atomic<int>* responded = nullptr,
                                                    const std::atomic<bool>* gate = nullptr) {
  return [&received, responded, gate](typename M::tcp_stream& s) {
    std::array<std::byte, 4> req;
    s.read_exact(req, 30s);
    received.fetch_add(1);
    if (gate != nullptr) {  // the request's "work": until the gate opens
      while (!gate->load()) M::sleep_for(1ms);
    }
    const std::array<std::byte, 4> resp{req[3], req[2], req[1], req[0]};
    s.write_all(resp, 30s);
    if (responded != nullptr) responded->fetch_add(1);
  };
}

TYPED_TEST(NetServer, GracefulShutdownCompletesInFlightRequests) {
  weft_test::watchdog wd("NetServer.GracefulShutdownCompletesInFlightRequests", 120s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    constexpr int clients = 20;
    std::atomic<int> received{0};
    std::atomic<int> responded{0};
    std::atomic<bool> work_done{false};
    weft::net::tcp_server<M> server(M::tcp_listener::bind(address::loopback_v4(0)),
                                    reverser<M>(received, &responded, &work_done));
    const address where = server.local_address();
    auto acceptor = M::spawn([&server] { server.serve(); });
    std::atomic<int> answered{0};
    std::vector<typename M::template join_handle<void>> hs;
    for (int i = 0; i < clients; ++i) {
      hs.push_back(M::spawn([&, i] {
        auto s = M::tcp_stream::connect(where, 30s);
        const std::array<std::byte, 4> req{std::byte(i), std::byte(1), std::byte(2), std::byte(3)};
        s.write_all(req, 30s);
        std::array<std::byte, 4> resp;
        s.read_exact(resp, 30s);
        EXPECT_EQ(resp[3], std::byte(i));
        answered.fetch_add(1);
      }));
    }
    while (received.load() < clients) M::sleep_for(1ms);  // every request is in flight
    EXPECT_EQ(responded.load(), 0);                       // and none answered yet
    auto worker = M::spawn([&work_done] {
      M::sleep_for(20ms);  // shutdown() is waiting by now (if not, it has nothing to wait for)
      work_done = true;
    });
    EXPECT_EQ(server.shutdown(30s), 0u);   // none had to be forced
    EXPECT_EQ(responded.load(), clients);  // every handler finished first
    acceptor.join();
    worker.join();
    for (auto& h : hs) h.join();
    EXPECT_EQ(answered.load(), clients);  // and every client got its whole response
    EXPECT_EQ(server.stats().active, 0u);
    // Nothing listens any more.
    try {
      M::tcp_stream::connect(where, 5s);
      ADD_FAILURE() << "connected to a server that was shut down";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code(), std::errc::connection_refused);
    }
  });
}

TYPED_TEST(NetServer, ShutdownClosesConnectionsStillOpenAfterTheGrace) {
  weft_test::watchdog wd("NetServer.ShutdownClosesConnectionsStillOpenAfterTheGrace", 120s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    constexpr int idle = 5;
    std::atomic<int> ended{0};
    weft::net::tcp_server<M> server(M::tcp_listener::bind(address::loopback_v4(0)),
                                    [&ended](typename M::tcp_stream& s) {
                                      std::array<std::byte, 16> buf;
                                      while (s.read(buf) != 0) {
                                      }  // an idle client: only the server's shutdown ends this
                                      ended.fetch_add(1);
                                    });
    auto acceptor = M::spawn([&server] { server.serve(); });
    std::vector<typename M::tcp_stream> conns;
    for (int i = 0; i < idle; ++i) conns.push_back(M::tcp_stream::connect(server.local_address()));
    while (server.stats().active < idle) M::sleep_for(1ms);
    EXPECT_EQ(server.shutdown(50ms), static_cast<std::size_t>(idle));
    EXPECT_EQ(ended.load(), idle);  // each handler saw the end of its stream and returned
    EXPECT_EQ(server.stats().forced, static_cast<std::uint64_t>(idle));
    acceptor.join();
    std::array<std::byte, 4> buf;
    for (auto& c : conns) EXPECT_EQ(c.read(buf, 10s), 0u);  // the clients see the close
  });
}

TYPED_TEST(NetServer, AFailingHandlerEndsOnlyItsConnection) {
  weft_test::watchdog wd("NetServer.AFailingHandlerEndsOnlyItsConnection", 120s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    std::atomic<int> reported{0};
    std::string what;
    weft::net::server_options opts;
    opts.on_handler_error = [&](const address& peer, std::exception_ptr e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::runtime_error& ex) {
        what = std::string(ex.what()) + " from " + peer.to_string();
      }
      reported.fetch_add(1);
    };
    weft::net::tcp_server<M> server(
        M::tcp_listener::bind(address::loopback_v4(0)),
        [](typename M::tcp_stream& s) {
          std::array<std::byte, 1> cmd;
          while (s.read(cmd) == 1) {
            if (cmd[0] == std::byte('!')) throw std::runtime_error("bad command");
            s.write_all(cmd);
          }
        },
        std::move(opts));
    auto acceptor = M::spawn([&server] { server.serve(); });
    auto good = M::tcp_stream::connect(server.local_address(), 10s);
    auto bad = M::tcp_stream::connect(server.local_address(), 10s);
    const std::byte x{'x'};
    const std::byte bang{'!'};
    good.write_all(&x, 1);
    std::byte b{};
    good.read_exact(&b, 1, 10s);
    bad.write_all(&bang, 1);
    EXPECT_EQ(bad.read(&b, 1, 10s), 0u);  // its connection was closed
    for (int i = 0; i < 10; ++i) {        // the other one is unaffected
      good.write_all(&x, 1);
      good.read_exact(&b, 1, 10s);
      EXPECT_EQ(b, x);
    }
    EXPECT_EQ(reported.load(), 1);
    EXPECT_THAT(what, ::testing::HasSubstr("bad command from 127.0.0.1:"));
    EXPECT_EQ(server.stats().handler_errors, 1u);
    good.close();
    server.shutdown(10s);
    acceptor.join();
  });
}

// The EMFILE scenario, run in a child process (its descriptor limit is lowered): K clients
// connect while the server is not accepting yet, every free descriptor is then taken, and serve()
// starts: accept fails with EMFILE, which the server reports and survives. Once the descriptors
// are released it accepts the queued connections and serves every client. Exits 0 on success.
template <class E>
[[noreturn]] void emfile_child() {
  using M = typename E::M;
  bool ok = false;
  std::string why;
  try {
    E::run([&] {
      constexpr int clients = 8;
      std::atomic<int> accept_errors{0};
      std::atomic<int> emfile_seen{0};
      std::atomic<int> received{0};
      weft::net::server_options opts;
      opts.max_accept_backoff = 10ms;
      opts.on_accept_error = [&](const std::system_error& e) {
        if (e.code() == std::errc::too_many_files_open) emfile_seen.fetch_add(1);
        accept_errors.fetch_add(1);
      };
      int p[2];
      if (::pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
      // Fiber model: the poller's epoll and eventfd descriptors exist before the shortage.
      M::wait_readable(p[0], 1ms);
      weft::net::tcp_server<M> server(M::tcp_listener::bind(address::loopback_v4(0)),
                                      reverser<M>(received), std::move(opts));
      std::vector<typename M::tcp_stream> conns;
      for (int i = 0; i < clients; ++i)
        conns.push_back(M::tcp_stream::connect(server.local_address(), 10s));
      // Lower the limit to just above what is open now, then take every descriptor left.
      rlimit lim{};
      ::getrlimit(RLIMIT_NOFILE, &lim);
      int highest = ::dup(p[0]);
      ::close(highest);
      lim.rlim_cur = static_cast<rlim_t>(highest + 16);
      if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) throw std::runtime_error("setrlimit");
      std::vector<int> ballast;
      for (int fd; (fd = ::dup(p[0])) >= 0;) ballast.push_back(fd);
      auto acceptor = M::spawn([&server] { server.serve(); });
      while (emfile_seen.load() < 3) M::sleep_for(1ms);  // reported, and retried
      for (int fd : ballast) ::close(fd);
      std::vector<typename M::template join_handle<bool>> hs;
      for (int i = 0; i < clients; ++i) {
        hs.push_back(M::spawn([&conns, i] {
          const std::array<std::byte, 4> req{std::byte(i), std::byte(0), std::byte(0),
                                             std::byte(9)};
          conns[static_cast<std::size_t>(i)].write_all(req, 30s);
          std::array<std::byte, 4> resp;
          conns[static_cast<std::size_t>(i)].read_exact(resp, 30s);
          return resp[0] == std::byte(9) && resp[3] == std::byte(i);
        }));
      }
      int answered = 0;
      for (auto& h : hs) answered += h.join() ? 1 : 0;
      server.shutdown(10s);
      acceptor.join();
      ::close(p[0]);
      ::close(p[1]);
      ok = answered == clients && received.load() == clients &&
           server.stats().accept_errors == static_cast<std::uint64_t>(accept_errors.load());
      if (!ok)
        why = "answered " + std::to_string(answered) + " of " + std::to_string(clients) +
              ", received " + std::to_string(received.load());
    });
  } catch (const std::exception& e) {
    why = e.what();
  }
  if (!ok) std::fprintf(stderr, "emfile child failed: %s\n", why.c_str());
  std::fflush(stderr);
  std::_Exit(ok ? 0 : 1);
}

TYPED_TEST(NetServer, AcceptReportsEmfileAndServingResumes) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // a fresh child: no runtime, no threads
  weft_test::watchdog wd("NetServer.AcceptReportsEmfileAndServingResumes", 120s);
  EXPECT_EXIT(emfile_child<TypeParam>(), ::testing::ExitedWithCode(0), "");
}

// raise_fd_limit, in a child whose soft limit is lowered first: it comes back at the hard limit,
// and the function reports what is now in force.
[[noreturn]] void raise_fd_limit_child() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_max < 64) std::_Exit(2);
  const rlim_t hard = lim.rlim_max;
  lim.rlim_cur = 64;
  if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) std::_Exit(3);
  const std::size_t now = weft::net::raise_fd_limit();
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur != hard) std::_Exit(4);
  const std::size_t expected =
      hard == RLIM_INFINITY ? std::size_t{1} << 20 : static_cast<std::size_t>(hard);
  if (now != expected) std::_Exit(5);
  std::_Exit(weft::net::raise_fd_limit() == expected ? 0 : 6);  // already raised: unchanged
}

TEST(NetFdLimit, RaisesTheSoftLimitToTheHardOne) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(raise_fd_limit_child(), ::testing::ExitedWithCode(0), "");
}

}  // namespace
