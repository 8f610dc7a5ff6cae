// weft::os/fiber::event (sync/event.hpp, on sync/countdown.hpp), typed over both models (the
// fiber one under every policy): set releases every waiter and lets later waits pass, reset
// blocks again, timed waits, lifetime; a thread setting an event that fibers wait on.
#include <weft/fiber.hpp>
#include <weft/os.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "support.hpp"
#include "sync_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft_test::watchdog;

template <class E>
class Event : public ::testing::Test {};
TYPED_TEST_SUITE(Event, sync_test::envs, sync_test::env_name);

TYPED_TEST(Event, SetReleasesEveryWaiterAndResetBlocksAgain) {
  watchdog dog("event wake-all", 60s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::event ev;
    EXPECT_FALSE(ev.is_set());
    sync_test::expect_released_together<M>(
        48, [&] { ev.wait(); },
        [&] {
          ev.set();
          ev.set();  // idempotent
        });
    EXPECT_TRUE(ev.is_set());
    ev.wait();  // set: passes at once
    EXPECT_TRUE(ev.wait_for(0ms));
    ev.reset();
    EXPECT_FALSE(ev.is_set());
    EXPECT_FALSE(ev.wait_for(2ms));
  });
}

TYPED_TEST(Event, TimedWaitsFireOrNot) {
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::event ev;
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_FALSE(ev.wait_for(20ms));
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 20ms) << "must not give up early";
    EXPECT_FALSE(ev.wait_until(std::chrono::system_clock::now() + 5ms));
    auto setter = M::spawn([&] {
      M::sleep_for(5ms);
      ev.set();
    });
    EXPECT_TRUE(ev.wait_until(std::chrono::steady_clock::now() + 60s));
    setter.join();
    typename M::event already(true);
    EXPECT_TRUE(already.is_set());
    EXPECT_TRUE(already.wait_for(0ms));
  });
}

// Set and reset racing timed waiters: every wait ends (no lost wake-up, no stuck waiter), and the
// final destruction finds nobody queued.
TYPED_TEST(Event, SetResetRacingTimedWaitersStayConsistent) {
  watchdog dog("event races", 120s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    auto ev = std::make_unique<typename M::event>();
    const int per = 1000 / weft_test::scale;
    std::atomic<int> finished{0};
    std::atomic<long> set_seen{0};
    sync_test::run_tasks<M>(5, [&](int t) {
      if (t == 0) {
        for (long k = 0; finished.load() < 4; ++k) {
          (k % 2 == 0) ? ev->set() : ev->reset();
          M::sleep_for(std::chrono::microseconds(k % 40));
        }
        return;
      }
      for (int k = 0; k < per; ++k)
        if (ev->wait_for(std::chrono::microseconds(10 + 7 * (k % 9)))) set_seen.fetch_add(1);
      finished.fetch_add(1);
    });
    EXPECT_GE(set_seen.load(), 0);
    ev.reset();
  });
}

template <class E>
class EventDeathTest : public ::testing::Test {};
TYPED_TEST_SUITE(EventDeathTest, sync_test::envs, sync_test::env_name);

TYPED_TEST(EventDeathTest, DestroyedWithAWaiterTerminatesNamingIt) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  using Ev = typename TypeParam::M::event;
  EXPECT_DEATH(sync_test::destroy_while_a_task_waits<TypeParam>([] { return new Ev; },
                                                                [](Ev& ev) { ev.wait(); }),
               "weft: event at 0x[0-9a-f]+ destroyed while 1 task waits on it");
}

class FiberEvent : public ::testing::TestWithParam<weft::scheduling_policy> {};
INSTANTIATE_TEST_SUITE_P(AllPolicies, FiberEvent, ::testing::ValuesIn(weft_test::all_policies),
                         sync_test::policy_name{});

TEST_P(FiberEvent, AThreadSetsWhatFibersAwait) {
  watchdog dog("mixed event", 60s);
  weft::runtime rt{{.workers = 2, .policy = GetParam()}};
  const int rounds = 200 / weft_test::scale + 2;
  for (int r = 0; r < rounds; ++r) {
    weft::fiber::event go, done;
    std::atomic<int> through{0};
    std::vector<weft::fiber::join_handle<void>> fibers;
    for (int i = 0; i < 6; ++i)
      fibers.push_back(rt.spawn([&] {
        go.wait();
        if (through.fetch_add(1) + 1 == 6) done.set();
      }));
    std::thread setter([&] { go.set(); });
    done.wait();  // a plain thread waits for the fibers
    setter.join();
    for (auto& f : fibers) f.join();
    EXPECT_EQ(through.load(), 6);
  }
}

}  // namespace
