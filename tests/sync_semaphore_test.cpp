// weft::os/fiber::counting_semaphore and binary_semaphore (sync/semaphore.hpp), typed over both
// models (the fiber one under every policy): counts, bounds, timeouts, hand-off to waiters,
// many-waiter release, errors; then threads releasing to fibers.
#include <weft/fiber.hpp>
#include <weft/os.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
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
class Semaphore : public ::testing::Test {};
TYPED_TEST_SUITE(Semaphore, sync_test::envs, sync_test::env_name);

TYPED_TEST(Semaphore, CountsPermitsAndRejectsBadCounts) {
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::template counting_semaphore<5> sem(3);
    static_assert(decltype(sem)::max() == 5);
    EXPECT_TRUE(sem.try_acquire());
    EXPECT_TRUE(sem.try_acquire());
    EXPECT_TRUE(sem.try_acquire());
    EXPECT_FALSE(sem.try_acquire());
    sem.release(2);
    EXPECT_TRUE(sem.try_acquire());
    EXPECT_TRUE(sem.try_acquire());
    EXPECT_FALSE(sem.try_acquire());
    sem.release(5);
    EXPECT_THROW(sem.release(), std::invalid_argument) << "above max()";
    EXPECT_THROW(sem.release(-1), std::invalid_argument);
    for (int i = 0; i < 5; ++i)
      EXPECT_TRUE(sem.try_acquire()) << "the failed releases changed nothing";
    EXPECT_FALSE(sem.try_acquire());
    using S = typename M::template counting_semaphore<5>;
    EXPECT_THROW(S(6), std::invalid_argument);
    EXPECT_THROW(S(-1), std::invalid_argument);

    typename M::binary_semaphore bin(1);
    EXPECT_THROW(bin.release(), std::invalid_argument);
    bin.acquire();
    EXPECT_FALSE(bin.try_acquire());
    bin.release();
    EXPECT_TRUE(bin.try_acquire());
  });
}

TYPED_TEST(Semaphore, BoundsHowManyTasksAreInside) {
  watchdog dog("semaphore bound", 120s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::template counting_semaphore<> sem(3);
    std::atomic<int> inside{0}, peak{0}, passes{0};
    const int per_task = 2000 / weft_test::scale;
    run_tasks<M>(16, [&](int) {
      for (int i = 0; i < per_task; ++i) {
        sem.acquire();
        const int now = inside.fetch_add(1) + 1;
        int p = peak.load();
        while (now > p && !peak.compare_exchange_weak(p, now)) {
        }
        if (i % 4 == 0) M::yield();
        inside.fetch_sub(1);
        passes.fetch_add(1);
        sem.release();
      }
    });
    EXPECT_LE(peak.load(), 3);
    EXPECT_EQ(passes.load(), 16 * per_task);
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(sem.try_acquire()) << "every permit came back";
    EXPECT_FALSE(sem.try_acquire());
  });
}

TYPED_TEST(Semaphore, TimedAcquireFiresOrNot) {
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::binary_semaphore sem(0);
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_FALSE(sem.try_acquire_for(20ms));
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 20ms) << "must not give up early";
    EXPECT_FALSE(sem.try_acquire_until(std::chrono::system_clock::now() + 5ms));
    EXPECT_FALSE(sem.try_acquire_for(-1ms));
    auto releaser = M::spawn([&] {
      M::sleep_for(5ms);
      sem.release();
    });
    EXPECT_TRUE(sem.try_acquire_for(60s));
    releaser.join();
    EXPECT_FALSE(sem.try_acquire()) << "the one permit was taken once";
  });
}

TYPED_TEST(Semaphore, ReleaseOfManyWakesEveryWaiter) {
  watchdog dog("semaphore wake-all", 60s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::template counting_semaphore<> sem(0);
    sync_test::expect_released_together<M>(
        48, [&] { sem.acquire(); },
        [&] {
          sem.release(40);
          sem.release(8);
        });
    EXPECT_FALSE(sem.try_acquire()) << "each permit went to exactly one waiter";
  });
}

TYPED_TEST(Semaphore, BinarySemaphorePingPong) {
  watchdog dog("binary semaphore ping-pong", 60s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::binary_semaphore ping(0), pong(0);
    const int rounds = 20'000 / weft_test::scale;
    long seen = 0;
    auto other = M::spawn([&] {
      for (int i = 0; i < rounds; ++i) {
        ping.acquire();
        ++seen;
        pong.release();
      }
    });
    for (int i = 0; i < rounds; ++i) {
      ping.release();
      pong.acquire();
    }
    other.join();
    EXPECT_EQ(seen, rounds);
  });
}

// Timed waiters that give up between permanent ones: permits must reach the permanent ones, and
// none may be lost to a waiter that had already left.
TYPED_TEST(Semaphore, TimeoutsRacingReleasesLoseNoPermit) {
  watchdog dog("semaphore timeouts racing", 120s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::template counting_semaphore<> sem(0);
    const int per = 1000 / weft_test::scale;
    std::atomic<long> got{0};
    run_tasks<M>(5, [&](int t) {
      if (t == 0) {
        for (int i = 0; i < 4 * per; ++i) {
          sem.release();
          if (i % 3 == 0) M::sleep_for(std::chrono::microseconds(i % 50));
        }
        return;
      }
      for (int k = 0; k < per;) {
        if (sem.try_acquire_for(std::chrono::microseconds(20 + 13 * (k % 7)))) {
          got.fetch_add(1);
          ++k;
        }
      }
    });
    EXPECT_EQ(got.load(), 4L * per);
    EXPECT_FALSE(sem.try_acquire());
  });
}

template <class E>
class SemaphoreDeathTest : public ::testing::Test {};
TYPED_TEST_SUITE(SemaphoreDeathTest, sync_test::envs, sync_test::env_name);

TYPED_TEST(SemaphoreDeathTest, DestroyedWithAWaiterTerminatesNamingIt) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  using S = typename TypeParam::M::binary_semaphore;
  EXPECT_DEATH(sync_test::destroy_while_a_task_waits<TypeParam>([] { return new S(0); },
                                                                [](S& s) { s.acquire(); }),
               "weft: counting_semaphore at 0x[0-9a-f]+ destroyed while 1 task waits on it");
}

class FiberSemaphore : public ::testing::TestWithParam<weft::scheduling_policy> {};
INSTANTIATE_TEST_SUITE_P(AllPolicies, FiberSemaphore, ::testing::ValuesIn(weft_test::all_policies),
                         sync_test::policy_name{});

TEST_P(FiberSemaphore, ThreadsReleaseFibersAcquire) {
  watchdog dog("threads release, fibers acquire", 120s);
  weft::runtime rt{{.workers = 2, .policy = GetParam()}};
  weft::fiber::counting_semaphore<> items(0), slots(4);
  const int per = 10'000 / weft_test::scale;
  std::atomic<long> consumed{0};
  std::vector<weft::fiber::join_handle<void>> fibers;
  for (int i = 0; i < 3; ++i)
    fibers.push_back(rt.spawn([&] {
      for (int k = 0; k < per; ++k) {
        items.acquire();
        consumed.fetch_add(1);
        slots.release();
      }
    }));
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i)
    threads.emplace_back([&] {
      for (int k = 0; k < per; ++k) {
        slots.acquire();  // a plain thread blocks on the fiber semaphore
        items.release();
      }
    });
  for (auto& f : fibers) f.join();
  for (auto& t : threads) t.join();
  EXPECT_EQ(consumed.load(), 3L * per);
}

}  // namespace
