// weft::os/fiber::wait_group (sync/wait_group.hpp, on sync/countdown.hpp), typed over both
// models (the fiber one under every policy): Go's add/done/wait, reuse across rounds, the
// negative-counter error, timed waits, many waiters, lifetime; threads and fibers mixed.
#include <weft/fiber.hpp>
#include <weft/os.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "support.hpp"
#include "sync_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft_test::watchdog;

template <class E>
class WaitGroup : public ::testing::Test {};
TYPED_TEST_SUITE(WaitGroup, sync_test::envs, sync_test::env_name);

TYPED_TEST(WaitGroup, WaitReturnsOnceEveryTaskIsDone) {
  watchdog dog("wait_group rounds", 60s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::wait_group wg;
    wg.wait();                                 // zero: returns at once
    for (int round = 0; round < 5; ++round) {  // reusable: a new round once back at zero
      constexpr int n = 20;
      std::atomic<int> finished{0};
      wg.add(n);
      for (int i = 0; i < n; ++i)
        M::spawn([&, i] {
          M::sleep_for(std::chrono::microseconds(100 * (i % 5)));
          finished.fetch_add(1);
          wg.done();
        }).detach();
      wg.wait();
      EXPECT_EQ(finished.load(), n) << "round " << round;
    }
  });
}

TYPED_TEST(WaitGroup, NegativeCounterThrowsAndChangesNothing) {
  TypeParam::run([] {
    using M = typename TypeParam::M;
    using ::testing::HasSubstr;
    typename M::wait_group wg;
    try {
      wg.done();
      ADD_FAILURE() << "done() at zero must throw";
    } catch (const std::logic_error& e) {
      EXPECT_THAT(e.what(), HasSubstr("negative counter"));
    }
    wg.add(3);
    EXPECT_THROW(wg.add(-4), std::logic_error);
    wg.add(-2);
    EXPECT_FALSE(wg.wait_for(1ms)) << "one still outstanding";
    wg.done();
    EXPECT_TRUE(wg.wait_for(0ms));
  });
}

TYPED_TEST(WaitGroup, TimedWaitFiresOrNot) {
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::wait_group wg;
    wg.add(1);
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_FALSE(wg.wait_for(20ms));
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 20ms) << "must not give up early";
    auto h = M::spawn([&] {
      M::sleep_for(5ms);
      wg.done();
    });
    EXPECT_TRUE(wg.wait_for(60s));
    h.join();
  });
}

TYPED_TEST(WaitGroup, ManyWaitersAreAllReleased) {
  watchdog dog("wait_group wake-all", 60s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::wait_group wg;
    wg.add(2);
    wg.done();
    sync_test::expect_released_together<M>(
        48, [&] { wg.wait(); }, [&] { wg.done(); });
  });
}

// The wait_group lives with the waiter, which destroys it as soon as wait() returns.
TYPED_TEST(WaitGroup, WaiterMayDestroyItRightAfterWaiting) {
  watchdog dog("wait_group lifetime", 120s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    const int rounds = 500 / weft_test::scale;
    for (int r = 0; r < rounds; ++r) {
      auto wg = std::make_unique<typename M::wait_group>();
      wg->add(3);
      std::vector<typename M::template join_handle<void>> hs;
      for (int i = 0; i < 3; ++i) hs.push_back(M::spawn([p = wg.get()] { p->done(); }));
      wg->wait();
      wg.reset();
      for (auto& h : hs) h.join();
    }
  });
}

template <class E>
class WaitGroupDeathTest : public ::testing::Test {};
TYPED_TEST_SUITE(WaitGroupDeathTest, sync_test::envs, sync_test::env_name);

TYPED_TEST(WaitGroupDeathTest, DestroyedWithAWaiterTerminatesNamingIt) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  using W = typename TypeParam::M::wait_group;
  EXPECT_DEATH(sync_test::destroy_while_a_task_waits<TypeParam>(
                   [] {
                     auto* wg = new W;
                     wg->add(1);
                     return wg;
                   },
                   [](W& wg) { wg.wait(); }),
               "weft: wait_group at 0x[0-9a-f]+ destroyed while 1 task waits on it");
}

class FiberWaitGroup : public ::testing::TestWithParam<weft::scheduling_policy> {};
INSTANTIATE_TEST_SUITE_P(AllPolicies, FiberWaitGroup, ::testing::ValuesIn(weft_test::all_policies),
                         sync_test::policy_name{});

TEST_P(FiberWaitGroup, AThreadWaitsForFibersAndFibersForThreads) {
  watchdog dog("mixed wait_group", 60s);
  weft::runtime rt{{.workers = 2, .policy = GetParam()}};
  weft::fiber::wait_group fibers_done, threads_done;
  std::atomic<int> work{0};
  fibers_done.add(16);
  threads_done.add(4);
  for (int i = 0; i < 16; ++i)
    rt.spawn([&] {
        work.fetch_add(1);
        fibers_done.done();
      }).detach();
  fibers_done.wait();  // a plain thread waits for fibers
  EXPECT_EQ(work.load(), 16);
  auto waiter = rt.spawn([&] {
    threads_done.wait();  // a fiber waits for threads
    return work.load();
  });
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&] {
      work.fetch_add(1);
      threads_done.done();
    });
  EXPECT_EQ(waiter.join(), 20);
  for (auto& t : threads) t.join();
}

}  // namespace
