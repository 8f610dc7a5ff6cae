// The poller's integration with the scheduler (scheduler/worker.cpp, "The poller"): an idle
// runtime with registered descriptors sleeps; work from outside interrupts a worker blocked in
// epoll_wait; timers fire while it waits; busy fibers do not starve I/O; fiber sockets on plain
// threads; a socket of one runtime used from another; shutdown cancelling a fiber blocked in a
// read; a socket outliving its runtime.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <weft/fiber.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "net_support.hpp"
#include "support.hpp"

namespace {

using namespace std::chrono_literals;
using net_test::bytes_of;
using weft::runtime;
using weft::net::address;
namespace fiber = weft::fiber;

// A fiber parked in accept() with no deadline: its listener is registered with the poller, and
// nothing but a connection or the listener's shutdown wakes it.
struct parked_acceptor {
  explicit parked_acceptor(runtime& rt)
      : listener(fiber::tcp_listener::bind(address::loopback_v4(0))), handle(rt.spawn([this] {
          try {
            listener.accept();
          } catch (const std::system_error& e) {
            EXPECT_EQ(e.code(), std::errc::operation_canceled);
          }
        })) {}
  ~parked_acceptor() {
    listener.shutdown();
    handle.join();
  }
  fiber::tcp_listener listener;
  fiber::join_handle<void> handle;
};

TEST(NetPoller, IdleRuntimeWithRegisteredDescriptorsUsesNearlyNoCpu) {
  runtime rt{{.workers = 2}};
  parked_acceptor a(rt);
  std::this_thread::sleep_for(50ms);  // let the workers settle: one in epoll_wait, one on its futex
  rusage before{}, after{};
  ::getrusage(RUSAGE_SELF, &before);
  std::this_thread::sleep_for(1s);
  ::getrusage(RUSAGE_SELF, &after);
  auto us = [](const rusage& r) {
    return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1'000'000L + r.ru_utime.tv_usec +
           r.ru_stime.tv_usec;
  };
  EXPECT_LT(us(after) - us(before), 50'000) << "idle workers must sleep, not poll";
}

class NetPollerWorkers : public ::testing::TestWithParam<std::size_t> {};
INSTANTIATE_TEST_SUITE_P(Workers, NetPollerWorkers, ::testing::Values(1, 2, 4));

TEST_P(NetPollerWorkers, WorkFromOutsideInterruptsTheBlockedPoller) {
  weft_test::watchdog wd("NetPollerWorkers.WorkFromOutsideInterruptsTheBlockedPoller", 60s);
  runtime rt{{.workers = GetParam()}};
  parked_acceptor a(rt);
  // Each spawn from this plain thread goes to the global queue and must wake a worker, even when
  // the only sleeper is the one blocked in epoll_wait (then only the eventfd can wake it).
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(rt.spawn([i] { return i; }).join(), i);
    if (i % 50 == 0) std::this_thread::sleep_for(5ms);  // all asleep again
  }
}

TEST_P(NetPollerWorkers, TimersFireWhileThePollerWaits) {
  weft_test::watchdog wd("NetPollerWorkers.TimersFireWhileThePollerWaits", 60s);
  runtime rt{{.workers = GetParam()}};
  parked_acceptor a(rt);
  const auto start = std::chrono::steady_clock::now();
  rt.block_on([] {
    for (int i = 0; i < 10; ++i) fiber::sleep_for(5ms);
  });
  EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
}

TEST_P(NetPollerWorkers, ReadinessWakesAFiberWhileOthersKeepEveryWorkerBusy) {
  weft_test::watchdog wd("NetPollerWorkers.ReadinessWakesAFiberWhileOthersKeepEveryWorkerBusy",
                         60s);
  runtime rt{{.workers = GetParam()}};
  int p[2];
  ASSERT_EQ(::pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
  std::atomic<bool> woke{false};
  std::atomic<bool> waiting{false};
  auto reader = rt.spawn([&] {
    waiting = true;
    woke = fiber::wait_readable(p[0], 30s);
  });
  while (!waiting) std::this_thread::yield();
  // One busy fiber per worker, yielding but never idle: nobody reaches the idle poll, so the
  // readiness must come through the fairness tick's starvation check.
  std::vector<fiber::join_handle<bool>> busy;
  for (std::size_t i = 0; i < GetParam(); ++i) {
    busy.push_back(rt.spawn([&] {
      const auto until = std::chrono::steady_clock::now() + 20s;
      while (!woke && std::chrono::steady_clock::now() < until) fiber::yield();
      return woke.load();
    }));
  }
  std::this_thread::sleep_for(30ms);
  ASSERT_EQ(::write(p[1], "x", 1), 1);
  reader.join();
  for (auto& b : busy) EXPECT_TRUE(b.join()) << "the busy fibers outlasted the wait";
  ::close(p[0]);
  ::close(p[1]);
}

TEST(NetPoller, FiberSocketsWorkOnPlainThreads) {
  weft_test::watchdog wd("NetPoller.FiberSocketsWorkOnPlainThreads", 60s);
  runtime rt{{.workers = 2}};
  auto l = fiber::tcp_listener::bind(address::loopback_v4(0));
  // The server is a fiber (registered with the poller); the client is this plain thread, whose
  // waits block it in poll(2).
  auto server = rt.spawn([&l] {
    auto s = l.accept(10s);
    std::array<std::byte, 64> buf;
    while (const std::size_t n = s.read(buf, 10s)) s.write_all(buf.data(), n);
  });
  auto c = fiber::tcp_stream::connect(l.local_address(), 10s);
  std::byte b[5];
  EXPECT_THROW(c.read(b, 20ms), std::system_error);  // a plain thread's deadline, through poll(2)
  c.write_all(bytes_of("hello"));
  c.read_exact(b, 10s);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(b), 5), "hello");
  c.close();
  server.join();
  // A socket registered by a fiber keeps working on a plain thread.
  auto [c2, s2] = rt.block_on([&l] {
    auto c = fiber::tcp_stream::connect(l.local_address(), 10s);
    auto s = l.accept(10s);
    std::byte x[1];
    EXPECT_THROW(s.read(x, 1ms), std::system_error);  // registers s with the poller
    return std::pair{std::move(c), std::move(s)};
  });
  c2.write_all(bytes_of("z"));
  std::byte x[1];
  EXPECT_EQ(s2.read(x, 10s), 1u);
}

TEST(NetPoller, ASocketOfOneRuntimeIsRejectedByAnother) {
  weft_test::watchdog wd("NetPoller.ASocketOfOneRuntimeIsRejectedByAnother", 60s);
  runtime a{{.workers = 1, .name = "first"}};
  runtime b{{.workers = 1, .name = "second"}};
  auto [c, s] = net_test::connected_pair<fiber::model>();
  a.block_on([&c] {
    std::byte x[1];
    EXPECT_THROW(c.read(x, 1ms), std::system_error);  // registered with "first"
  });
  b.block_on([&c] {
    std::byte x[1];
    try {
      c.read(x, 1s);
      ADD_FAILURE() << "a fiber of another runtime waited on the socket";
    } catch (const std::logic_error& e) {
      EXPECT_THAT(e.what(), ::testing::HasSubstr("registered with runtime 'first'"));
    }
  });
}

TEST(NetPoller, RuntimeShutdownCancelsAFiberBlockedInRead) {
  weft_test::watchdog wd("NetPoller.RuntimeShutdownCancelsAFiberBlockedInRead", 60s);
  auto l = fiber::tcp_listener::bind(address::loopback_v4(0));
  auto peer = fiber::tcp_stream::connect(l.local_address(), 10s);  // this thread's end
  std::atomic<int> unwound{0};
  std::atomic<bool> cancelled{false};
  {
    runtime rt{{.workers = 2, .shutdown_grace = 20ms}};
    rt.spawn([&] {
        struct guard {
          std::atomic<int>* n;
          ~guard() { n->fetch_add(1); }
        } g{&unwound};
        auto s = l.accept(10s);
        std::array<std::byte, 8> buf;
        try {
          s.read(buf);  // blocks until the runtime shuts down
        } catch (const fiber::cancelled&) {
          cancelled = true;
          throw;
        }
      }).detach();
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(unwound.load(), 1);
  EXPECT_TRUE(cancelled.load());
  std::array<std::byte, 8> buf;
  EXPECT_EQ(peer.read(buf, 10s), 0u);  // the cancelled fiber's stream was closed as it unwound
}

TEST(NetPoller, ASocketMayOutliveItsRuntime) {
  weft_test::watchdog wd("NetPoller.ASocketMayOutliveItsRuntime", 60s);
  std::optional<fiber::tcp_stream> kept;
  fiber::tcp_stream other;
  {
    runtime rt{{.workers = 1}};
    rt.block_on([&] {
      auto [c, s] = net_test::connected_pair<fiber::model>();
      std::byte x[1];
      EXPECT_THROW(c.read(x, 1ms), std::system_error);  // registered with rt's poller
      kept.emplace(std::move(c));
      other = std::move(s);
    });
  }
  other.write_all(bytes_of("late"));  // the poller lives on while a socket needs it
  std::array<std::byte, 4> buf;
  kept->read_exact(buf, 10s);
  kept.reset();  // deregisters from the orphaned poller
}

}  // namespace
