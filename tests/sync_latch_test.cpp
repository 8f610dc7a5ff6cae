// weft::os/fiber::latch (sync/latch.hpp, on sync/countdown.hpp), typed over both models (the
// fiber one under every policy): release of many waiters at zero and not before, try_wait,
// arrive_and_wait, errors, a waiter destroying the latch at once; threads counting down fibers.
#include <weft/fiber.hpp>
#include <weft/os.hpp>

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
using sync_test::run_tasks;
using weft_test::watchdog;

template <class E>
class Latch : public ::testing::Test {};
TYPED_TEST_SUITE(Latch, sync_test::envs, sync_test::env_name);

TYPED_TEST(Latch, ReleasesEveryWaiterAtZeroAndNotBefore) {
  watchdog dog("latch wake-all", 60s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::latch l(5);
    l.count_down(2);
    l.count_down();
    l.count_down();  // one left
    sync_test::expect_released_together<M>(
        64, [&] { l.wait(); },
        [&] {
          EXPECT_FALSE(l.try_wait());
          l.count_down();
        });
    EXPECT_TRUE(l.try_wait());
    l.wait();  // at zero: returns at once
  });
}

TYPED_TEST(Latch, ArriveAndWaitMeetsEveryTask) {
  watchdog dog("arrive_and_wait", 60s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    constexpr int n = 12;
    typename M::latch l(n);
    std::atomic<int> arrived{0}, saw_all{0};
    run_tasks<M>(n, [&](int) {
      arrived.fetch_add(1);
      l.arrive_and_wait();
      if (arrived.load() == n) saw_all.fetch_add(1);
    });
    EXPECT_EQ(saw_all.load(), n);
  });
}

TYPED_TEST(Latch, RejectsBadCounts) {
  TypeParam::run([] {
    using M = typename TypeParam::M;
    using L = typename M::latch;
    EXPECT_THROW(L(-1), std::invalid_argument);
    L zero(0);
    EXPECT_TRUE(zero.try_wait());
    zero.wait();
    EXPECT_THROW(zero.count_down(), std::invalid_argument);
    L l(2);
    EXPECT_THROW(l.count_down(3), std::invalid_argument);
    EXPECT_THROW(l.count_down(-1), std::invalid_argument);
    l.count_down(2);  // the failed calls changed nothing
    EXPECT_TRUE(l.try_wait());
  });
}

// The usual shape: the latch lives with the waiter, which destroys it as soon as wait()
// returns, while the last count_down may still be finishing. ASan checks nothing is touched late.
TYPED_TEST(Latch, WaiterMayDestroyItRightAfterWaiting) {
  watchdog dog("latch lifetime", 120s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    const int rounds = 500 / weft_test::scale;
    for (int r = 0; r < rounds; ++r) {
      auto l = std::make_unique<typename M::latch>(3);
      std::vector<typename M::template join_handle<void>> hs;
      for (int i = 0; i < 3; ++i) hs.push_back(M::spawn([p = l.get()] { p->count_down(); }));
      l->wait();
      l.reset();
      for (auto& h : hs) h.join();
    }
  });
}

template <class E>
class LatchDeathTest : public ::testing::Test {};
TYPED_TEST_SUITE(LatchDeathTest, sync_test::envs, sync_test::env_name);

TYPED_TEST(LatchDeathTest, DestroyedWithAWaiterTerminatesNamingIt) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  using L = typename TypeParam::M::latch;
  EXPECT_DEATH(sync_test::destroy_while_a_task_waits<TypeParam>([] { return new L(1); },
                                                                [](L& l) { l.wait(); }),
               "weft: latch at 0x[0-9a-f]+ destroyed while 1 task waits on it");
}

class FiberLatch : public ::testing::TestWithParam<weft::scheduling_policy> {};
INSTANTIATE_TEST_SUITE_P(AllPolicies, FiberLatch, ::testing::ValuesIn(weft_test::all_policies),
                         sync_test::policy_name{});

TEST_P(FiberLatch, ThreadsCountDownWhileFibersAndAThreadWait) {
  watchdog dog("mixed latch", 60s);
  weft::runtime rt{{.workers = 2, .policy = GetParam()}};
  const int rounds = 200 / weft_test::scale;
  for (int r = 0; r < rounds; ++r) {
    weft::fiber::latch l(4);
    std::atomic<int> through{0};
    std::vector<weft::fiber::join_handle<void>> fibers;
    for (int i = 0; i < 8; ++i)
      fibers.push_back(rt.spawn([&] {
        l.wait();
        through.fetch_add(1);
      }));
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) threads.emplace_back([&] { l.count_down(); });
    l.wait();  // the test's own thread waits too
    for (auto& t : threads) t.join();
    for (auto& f : fibers) f.join();
    EXPECT_EQ(through.load(), 8);
  }
}

}  // namespace
