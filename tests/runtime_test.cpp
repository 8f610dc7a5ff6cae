// weft::runtime: configuration errors, block_on, the default runtime, statistics, idle CPU,
// shutdown with parked and stoppable fibers, exception reporting.
#include <weft/fiber.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::runtime;
using weft::runtime_config;

template <class F>
std::string invalid_argument_message(F&& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no std::invalid_argument thrown)";
}

TEST(RuntimeConfig, ZeroWorkersIsRejectedByName) {
  EXPECT_THAT(invalid_argument_message([] { runtime rt{{.workers = 0}}; }),
              ::testing::HasSubstr("runtime_config::workers"));
}

TEST(RuntimeConfig, StackBelowMinimumIsRejectedByName) {
  EXPECT_THAT(invalid_argument_message([] { runtime rt{{.workers = 1, .stack_size = 4096}}; }),
              ::testing::HasSubstr("runtime_config::stack_size"));
}

TEST(RuntimeConfig, SpawnStackBelowMinimumIsRejectedByName) {
  runtime rt{{.workers = 1}};
  EXPECT_THAT(invalid_argument_message([&] {
                auto h = rt.spawn(weft::spawn_options{.stack_size = 100}, [] {});
                h.join();
              }),
              ::testing::HasSubstr("spawn_options::stack_size"));
}

TEST(RuntimeConfig, WeftWorkersEnvironment) {
  ::setenv("WEFT_WORKERS", "3", 1);
  EXPECT_EQ(runtime_config{}.workers, 3u);
  ::setenv("WEFT_WORKERS", "three", 1);
  EXPECT_THAT(invalid_argument_message([] { runtime_config c; }),
              ::testing::HasSubstr("WEFT_WORKERS='three'"));
  ::setenv("WEFT_WORKERS", "0", 1);
  EXPECT_THAT(invalid_argument_message([] { runtime_config c; }),
              ::testing::HasSubstr("WEFT_WORKERS"));
  ::unsetenv("WEFT_WORKERS");
  EXPECT_GE(runtime_config{}.workers, 1u);
}

TEST(Runtime, BlockOnReturnsValueAndRethrows) {
  runtime rt{{.workers = 2}};
  EXPECT_EQ(rt.block_on([] { return std::string("from a fiber"); }), "from a fiber");
  EXPECT_THROW(rt.block_on([]() -> int { throw std::runtime_error("bad"); }), std::runtime_error);
  EXPECT_EQ(rt.workers(), 2u);
}

TEST(Runtime, FiberSpawnInsideAFiberStaysOnItsRuntime) {
  runtime rt{{.workers = 2, .name = "inner"}};
  const auto before = rt.stats().external_spawns;
  const int v = rt.block_on([] {
    auto a = weft::fiber::spawn([] { return 20; });
    auto b = weft::fiber::spawn([] { return 22; });
    return a.join() + b.join();
  });
  EXPECT_EQ(v, 42);
  const auto s = rt.stats();
  EXPECT_EQ(s.external_spawns, before + 1);  // only block_on's fiber came from outside
  EXPECT_EQ(s.total().spawns, 2u);
}

TEST(Runtime, DefaultRuntimeStartsOnFirstSpawn) {
  auto h = weft::fiber::spawn([] { return weft::fiber::current_id(); });
  const weft::fiber::id inside = h.join();
  EXPECT_NE(inside, weft::fiber::current_id());
  EXPECT_GE(runtime::default_runtime().workers(), 1u);
}

TEST(Runtime, IdleRuntimeUsesNearlyNoCpu) {
  runtime rt{{.workers = 2}};
  rt.block_on([] {
    for (int i = 0; i < 100; ++i) weft::fiber::spawn([] {}).join();
  });
  std::this_thread::sleep_for(50ms);  // let the workers settle into sleep
  rusage before{}, after{};
  ::getrusage(RUSAGE_SELF, &before);
  std::this_thread::sleep_for(1s);
  ::getrusage(RUSAGE_SELF, &after);
  auto us = [](const rusage& r) {
    return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1'000'000L + r.ru_utime.tv_usec +
           r.ru_stime.tv_usec;
  };
  // Two workers spinning would burn ~2,000,000 us here.
  EXPECT_LT(us(after) - us(before), 50'000) << "idle workers must sleep, not spin";
}

TEST(Runtime, ShutdownStopsAndCancelsParkedFibers) {
  std::atomic<int> unwound{0};
  std::atomic<int> stopped{0};
  weft_test::mailbox never_posted;
  {
    runtime rt{{.workers = 2, .shutdown_grace = 50ms}};
    struct guard {
      std::atomic<int>* n;
      ~guard() { n->fetch_add(1); }
    };
    rt.spawn([&] {
        guard g{&unwound};
        weft::fiber::sleep_for(1h);
      }).detach();
    rt.spawn([&] {
        guard g{&unwound};
        never_posted.wait();
      }).detach();
    rt.spawn([&](std::stop_token tok) {
        while (!tok.stop_requested()) weft::fiber::sleep_for(1ms);
        stopped.fetch_add(1);
      }).detach();
    std::this_thread::sleep_for(20ms);
    EXPECT_EQ(rt.stats().live_fibers, 3u);
  }  // must return: stop requested, then the two parked fibers cancelled
  EXPECT_EQ(stopped.load(), 1);
  EXPECT_EQ(unwound.load(), 2) << "cancelled fibers unwind their stacks";
}

TEST(Runtime, DetachedFiberExceptionIsReportedWithItsName) {
  runtime rt{{.workers = 1}};
  ::testing::internal::CaptureStderr();
  weft::spawn_options opts{.name = "failing-job"};
  rt.spawn(opts, [] { throw std::runtime_error("disk on fire"); }).detach();
  rt.block_on([] { weft::fiber::sleep_for(20ms); });
  for (int i = 0; i < 200 && rt.stats().live_fibers != 0; ++i) std::this_thread::sleep_for(5ms);
  std::this_thread::sleep_for(10ms);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(err, ::testing::HasSubstr(
                       "weft: detached fiber 'failing-job' ended with an exception: disk on fire"));
}

TEST(RuntimeDeathTest, DroppingAJoinableHandleTerminatesNamingTheFiber) {
  EXPECT_DEATH(
      {
        runtime rt{{.workers = 1}};
        auto h = rt.spawn(weft::spawn_options{.name = "orphan"}, [] {});
        { auto moved = std::move(h); }
      },
      "weft: join_handle of fiber 'orphan' destroyed while joinable");
}

TEST(Runtime, JoiningItselfIsALogicError) {
  runtime rt{{.workers = 1}};
  std::atomic<weft::fiber::join_handle<void>*> self{nullptr};
  weft::fiber::join_handle<void> h;
  weft_test::mailbox ready;
  h = rt.spawn([&] {
    ready.wait();
    EXPECT_THROW(self.load()->join(), std::logic_error);
  });
  self = &h;
  ready.post();
  // the fiber's join attempt failed; now join it properly
  h.join();
}

// Spawn is child-first under work_stealing (the child runs until it blocks or ends, then the
// spawner resumes); a pinned spawner and the other policies keep help-first.
TEST(Runtime, SpawnRunsTheChildFirstUnlessTheSpawnerIsPinned) {
  auto order_of = [](weft::scheduling_policy policy, bool pinned_spawner) {
    weft::runtime rt{{.workers = 1, .policy = policy}};
    std::string order;
    auto body = [&order] {
      auto child = weft::fiber::spawn([&order] { order += 'c'; });
      order += 'p';
      child.join();
    };
    if (pinned_spawner)
      rt.block_on([&] { weft::fiber::spawn(weft::spawn_options{.pinned = true}, body).join(); });
    else
      rt.block_on(body);
    return order;
  };
  EXPECT_EQ(order_of(weft::scheduling_policy::work_stealing, false), "cp");
  EXPECT_EQ(order_of(weft::scheduling_policy::work_stealing, true), "pc");
  EXPECT_EQ(order_of(weft::scheduling_policy::global_fifo, false), "pc");
  EXPECT_EQ(order_of(weft::scheduling_policy::pinned, false), "pc");
}

// A finished fiber keeps its result for join() but not its stack (task_memory.hpp): the stack
// is the next spawn's at once, so finished, unjoined fibers cost no stacks.
TEST(Runtime, AFinishedUnjoinedFiberHoldsNoStack) {
  for (auto policy : {weft::scheduling_policy::work_stealing, weft::scheduling_policy::global_fifo,
                      weft::scheduling_policy::pinned}) {
    SCOPED_TRACE(weft::to_string(policy));
    weft::runtime rt{{.workers = 2, .policy = policy}};
    auto& pool = weft::ctx::stack_pool::global();
    const auto before = pool.snapshot().stacks_in_use;
    constexpr int n = 2000;
    std::vector<weft::fiber::join_handle<std::string>> hs;
    std::atomic<int> ended{0};
    rt.block_on([&] {
      for (int i = 0; i < n; ++i)
        hs.push_back(weft::fiber::spawn([i, &ended] {
          ended.fetch_add(1, std::memory_order_release);  // release: pairs with the wait below
          return std::string(100, static_cast<char>('a' + i % 26));  // heap-owning result
        }));
      // acquire: pairs with each fiber's release.
      while (ended.load(std::memory_order_acquire) != n) weft::fiber::yield();
    });
    // Every fiber has returned; a few may still be switching out (their stack goes back in the
    // hook of that switch), hence the bound rather than equality.
    EXPECT_LE(pool.snapshot().stacks_in_use, before + 4) << "finished fibers still hold stacks";
    for (int i = 0; i < n; ++i)
      EXPECT_EQ(hs[i].join(), std::string(100, static_cast<char>('a' + i % 26)));
  }
}

TEST(Runtime, StatsCountSpawnsSwitchesParksAndTimers) {
  runtime rt{{.workers = 2}};
  rt.block_on([] {
    for (int i = 0; i < 10; ++i) weft::fiber::spawn([] { weft::fiber::sleep_for(1ms); }).join();
  });
  const auto t = rt.stats().total();
  EXPECT_EQ(t.spawns, 10u);
  EXPECT_GE(t.switches, 21u);
  EXPECT_GE(t.parks, 10u);  // each sleep parks; each join may park
  EXPECT_EQ(t.timers_fired, 10u);
}

}  // namespace
