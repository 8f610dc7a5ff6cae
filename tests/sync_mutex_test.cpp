// weft::os::mutex and weft::fiber::mutex (sync/mutex.hpp): one set of typed cases over both
// models, the fiber one under every scheduling policy; then thread+fiber contention on one fiber
// mutex, cancellation at shutdown, misuse checks and destruction with waiters.
#include <weft/fiber.hpp>
#include <weft/os.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include "support.hpp"
#include "sync_support.hpp"

namespace {

using namespace std::chrono_literals;
using sync_test::run_tasks;
using weft_test::watchdog;

template <class E>
class Mutex : public ::testing::Test {};
TYPED_TEST_SUITE(Mutex, sync_test::envs, sync_test::env_name);

TYPED_TEST(Mutex, WorksWithTheStandardGuards) {
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::mutex a, b;
    auto try_elsewhere = [](typename M::mutex& m) {
      return M::spawn([&m] {
               const bool got = m.try_lock();
               if (got) m.unlock();
               return got;
             })
          .join();
    };
    {
      std::lock_guard g(a);
      EXPECT_FALSE(try_elsewhere(a));
    }
    EXPECT_TRUE(try_elsewhere(a));
    {
      std::unique_lock lk(a);
      EXPECT_TRUE(lk.owns_lock());
      lk.unlock();
      EXPECT_TRUE(try_elsewhere(a));
      EXPECT_TRUE(lk.try_lock_for(1ms));
      EXPECT_FALSE(try_elsewhere(a));
    }
    {
      std::scoped_lock both(a, b);
      EXPECT_FALSE(try_elsewhere(a));
      EXPECT_FALSE(try_elsewhere(b));
    }
    EXPECT_TRUE(try_elsewhere(a));
    EXPECT_TRUE(try_elsewhere(b));
  });
}

TYPED_TEST(Mutex, SixteenTasksIncrementExactly) {
  watchdog dog("16 tasks x 100k increments", 120s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::mutex m;
    long counter = 0;
    const int per_task = 100'000 / weft_test::scale;
    run_tasks<M>(16, [&](int) {
      for (int i = 0; i < per_task; ++i) {
        std::lock_guard g(m);
        ++counter;
      }
    });
    EXPECT_EQ(counter, 16L * per_task);
  });
}

TYPED_TEST(Mutex, EveryWayOfLockingCountsExactly) {
  watchdog dog("mixed lock kinds", 120s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::mutex m;
    long counter = 0;
    const int per_task = 20'000 / weft_test::scale;
    run_tasks<M>(8, [&](int t) {
      for (int i = 0; i < per_task; ++i) {
        switch ((t + i) % 4) {
          case 0:
            m.lock();
            break;
          case 1:
            while (!m.try_lock()) M::yield();
            break;
          case 2:
            while (!m.try_lock_for(50us)) {
            }
            break;
          default:
            while (!m.try_lock_until(std::chrono::system_clock::now() + 1ms)) {
            }
            break;
        }
        ++counter;
        if (i % 1000 == 0) M::yield();  // now and then, hold it across a switch
        m.unlock();
      }
    });
    EXPECT_EQ(counter, 8L * per_task);
  });
}

TYPED_TEST(Mutex, TimedLockTimesOutWhileHeld) {
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::mutex m;
    m.lock();
    auto h = M::spawn([&m] {
      const auto t0 = std::chrono::steady_clock::now();
      const bool got = m.try_lock_for(20ms);
      const auto waited = std::chrono::steady_clock::now() - t0;
      const bool got_until = m.try_lock_until(std::chrono::system_clock::now() + 5ms);
      const bool got_zero = m.try_lock_for(0ms) || m.try_lock_for(-1s);
      return std::tuple(got, waited, got_until, got_zero);
    });
    const auto [got, waited, got_until, got_zero] = h.join();
    EXPECT_FALSE(got);
    EXPECT_GE(waited, 20ms) << "a timed lock must not give up early";
    EXPECT_FALSE(got_until);
    EXPECT_FALSE(got_zero);
    m.unlock();
    EXPECT_TRUE(m.try_lock_for(0ms)) << "free: succeeds even with no time left";
    m.unlock();
  });
}

TYPED_TEST(Mutex, TimedLockSucceedsWhenReleasedInTime) {
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::mutex m;
    std::atomic<bool> waiting{false};
    m.lock();
    auto h = M::spawn([&] {
      waiting = true;
      const bool got = m.try_lock_for(60s);
      if (got) m.unlock();
      return got;
    });
    sync_test::wait_until<M>([&] { return waiting.load(); });
    M::sleep_for(10ms);
    m.unlock();
    EXPECT_TRUE(h.join());
  });
}

// Timed waiters leave the queue (by timeout) between plain waiters; the plain ones must all
// still be woken, and the mutex must end empty (its destructor would terminate otherwise).
TYPED_TEST(Mutex, TimedOutWaitersLeaveTheQueueIntact) {
  watchdog dog("timed waiters in the queue", 60s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::mutex m;
    std::atomic<int> plain{0}, timed_out{0};
    m.lock();
    std::vector<typename M::template join_handle<void>> hs;
    for (int i = 0; i < 8; ++i) {
      hs.push_back(M::spawn([&, i] {
        if (i % 2 == 0) {
          m.lock();
          plain.fetch_add(1);
          m.unlock();
        } else if (m.try_lock_for(std::chrono::milliseconds(1 + i))) {
          m.unlock();
        } else {
          timed_out.fetch_add(1);
        }
      }));
    }
    // Held until every timed waiter has given up: they leave the queue from between the others.
    sync_test::wait_until<M>([&] { return timed_out.load() == 4; });
    m.unlock();
    for (auto& h : hs) h.join();
    EXPECT_EQ(plain.load(), 4);
    EXPECT_EQ(timed_out.load(), 4);
    EXPECT_TRUE(m.try_lock());
    m.unlock();
  });
}

// Starvation mode: a loop that unlocks and immediately relocks (holding the lock across a short
// sleep, so the waiter is always woken while it is held) wins every race in normal mode; after
// the waiter has waited ~1 ms the mutex hands the lock to it. Each barging acquisition takes at
// least 20 µs, so the hand-off comes within ~50 of them; without it the waiter would wait for
// the whole loop.
TYPED_TEST(Mutex, ParkedWaiterGetsTheLockWithinBoundedBarging) {
  watchdog dog("hand-off to a starving waiter", 120s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::mutex m;
    constexpr int limit = 5000;
    std::atomic<int> barges{0};
    std::atomic<bool> waiter_got{false};
    auto barger = M::spawn([&] {
      for (int i = 0; i < limit && !waiter_got.load(); ++i) {
        m.lock();
        barges.fetch_add(1);
        M::sleep_for(20us);
        m.unlock();
      }
    });
    sync_test::wait_until<M>([&] { return barges.load() >= 10; });  // the loop is running
    auto waiter = M::spawn([&] {
      const int from = barges.load();
      m.lock();
      waiter_got = true;
      const int after = barges.load() - from;
      m.unlock();
      return after;
    });
    const int after = waiter.join();
    barger.join();
    EXPECT_LT(after, 500) << "the waiter got the lock only after " << after
                          << " barging acquisitions";
  });
}

// After `m` has been through anything: a task parked on it is woken by a plain unlock. A wake-up
// token (`woken`) left set by mistake would make every unlock skip the wake-up: the task would
// never get the lock, and the watchdog would fire.
template <class M, class Mutex>
void expect_unlock_wakes_a_parked_task(Mutex& m) {
  using namespace std::chrono_literals;
  m.lock();
  std::atomic<bool> got{false};
  auto t = M::spawn([&] {
    m.lock();
    got = true;
    m.unlock();
  });
  M::sleep_for(5ms);  // long enough to be queued (spin phases last microseconds)
  EXPECT_FALSE(got.load());
  m.unlock();
  t.join();
  EXPECT_TRUE(got.load());
}

// Napping: a woken waiter that loses to a holder re-locking at once elsewhere naps, keeping the
// wake-up token. Here two tasks take the lock in tight loops (one of them barges in whenever the
// other lets go, so woken waiters keep losing) while others lock it, plainly or with deadlines
// under the starvation threshold (which end many naps themselves): every call gets through or
// times out as asked, and afterwards the token is back — whichever way each nap ended.
TYPED_TEST(Mutex, WaitersThatLoseToHotHoldersGetThroughAndReturnTheToken) {
  watchdog dog("waiters against hot holders", 120s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::mutex m;
    std::atomic<int> running{0};
    std::atomic<bool> stop{false};
    long holds = 0;
    auto hot_loop = [&] {
      running.fetch_add(1);
      while (!stop.load()) {
        for (int i = 0; i < 16; ++i) {
          std::lock_guard g(m);
          ++holds;
          // Held for longer than a waiter spins before queuing.
          const auto until = std::chrono::steady_clock::now() + 3us;
          while (std::chrono::steady_clock::now() < until) {
          }
        }
        M::yield();  // lets tasks placed on this worker run (fibers are cooperative)
      }
    };
    auto hot1 = M::spawn(hot_loop);
    auto hot2 = M::spawn(hot_loop);
    sync_test::wait_until<M>([&] { return running.load() == 2; });
    constexpr int tasks = 6, plain = 2, rounds = 40;
    std::atomic<int> acquired{0}, timed_out{0};
    run_tasks<M>(tasks, [&](int t) {
      for (int k = 0; k < rounds; ++k) {
        M::sleep_for(20us);
        if (t < plain) {
          m.lock();
        } else if (!m.try_lock_for(
                       std::chrono::microseconds(t == plain ? 15 : 300 * (t - plain)))) {
          timed_out.fetch_add(1);  // deadlines within one nap, and spanning several
          continue;
        }
        acquired.fetch_add(1);
        m.unlock();
      }
    });
    stop = true;
    hot1.join();
    hot2.join();
    EXPECT_EQ(acquired.load() + timed_out.load(), tasks * rounds);
    EXPECT_GE(acquired.load(), plain * rounds);  // the plain lock() calls all got through
    EXPECT_GT(holds, 0);
    expect_unlock_wakes_a_parked_task<M>(m);
  });
}

TYPED_TEST(Mutex, MisuseThrowsInDebugBuilds) {
#ifdef NDEBUG
  GTEST_SKIP() << "owner checks exist in debug builds only";
#else
  TypeParam::run([] {
    using M = typename TypeParam::M;
    using ::testing::HasSubstr;
    typename M::mutex m;
    try {
      m.unlock();
      ADD_FAILURE() << "unlock of a free mutex must throw";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code(), std::errc::operation_not_permitted);
      EXPECT_THAT(e.what(), HasSubstr("mutex: unlock by a task that does not hold it"));
      EXPECT_THAT(e.what(), HasSubstr("not locked"));
    }
    m.lock();
    try {
      m.lock();
      ADD_FAILURE() << "relocking must throw";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code(), std::errc::resource_deadlock_would_occur);
      EXPECT_THAT(e.what(), HasSubstr("already holds it"));
    }
    const std::string other = M::spawn([&m] {
                                try {
                                  m.unlock();
                                  return std::string("no exception");
                                } catch (const std::system_error& e) {
                                  return std::string(e.what());
                                }
                              }).join();
    EXPECT_THAT(other, HasSubstr("another task holds it"));
    m.unlock();  // still held by us: the failed unlock changed nothing
    EXPECT_TRUE(m.try_lock());
    m.unlock();
  });
#endif
}

template <class E>
class MutexDeathTest : public ::testing::Test {};
TYPED_TEST_SUITE(MutexDeathTest, sync_test::envs, sync_test::env_name);

TYPED_TEST(MutexDeathTest, DestroyedWithAWaiterTerminatesNamingIt) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(TypeParam::run([] {
                 using M = typename TypeParam::M;
                 auto* m = new typename M::mutex;
                 m->lock();
                 M::spawn([m] { m->lock(); }).detach();
                 M::sleep_for(100ms);  // long enough to be queued (the spin phase is ~1 µs)
                 delete m;
               }),
               "weft: mutex at 0x[0-9a-f]+ destroyed while 1 task waits on it");
}

// ---------------------------------------------------------------- fiber mutex, mixed parties

class FiberMutex : public ::testing::TestWithParam<weft::scheduling_policy> {};
INSTANTIATE_TEST_SUITE_P(AllPolicies, FiberMutex, ::testing::ValuesIn(weft_test::all_policies),
                         sync_test::policy_name{});

TEST_P(FiberMutex, ThreadsAndFibersContendExactly) {
  watchdog dog("thread+fiber contention", 180s);
  weft::runtime rt{{.workers = 2, .policy = GetParam()}};
  weft::fiber::mutex m;
  long counter = 0;
  const int per_task = 40'000 / weft_test::scale;
  auto loop = [&](int who) {
    for (int i = 0; i < per_task; ++i) {
      if ((who + i) % 3 == 0) {
        while (!m.try_lock_for(100us)) {
        }
      } else {
        m.lock();
      }
      ++counter;
      m.unlock();
    }
  };
  std::vector<weft::fiber::join_handle<void>> fibers;
  for (int i = 0; i < 8; ++i) fibers.push_back(rt.spawn([&loop, i] { loop(i); }));
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back([&loop, i] { loop(100 + i); });
  for (auto& f : fibers) f.join();
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter, 12L * per_task);
}

TEST_P(FiberMutex, ThreadWaitsForAFiberHolderAndTimesOut) {
  watchdog dog("thread waits on fiber holder", 60s);
  weft::runtime rt{{.workers = 2, .policy = GetParam()}};
  weft::fiber::mutex m;
  std::atomic<bool> held{false}, release{false};
  auto holder = rt.spawn([&] {
    m.lock();
    held = true;
    while (!release.load()) weft::fiber::sleep_for(1ms);  // parks while holding the lock
    m.unlock();
  });
  while (!held.load()) std::this_thread::yield();
  EXPECT_FALSE(m.try_lock_for(10ms));
  std::thread releaser([&] {
    std::this_thread::sleep_for(10ms);
    release = true;
  });
  m.lock();  // a plain thread blocks until the fiber lets go
  EXPECT_TRUE(release.load());
  m.unlock();
  releaser.join();
  holder.join();
}

// Napping, step by step: a plain thread holds the lock; a fiber queues with a deadline; the
// thread unlocks (waking the fiber) and re-locks at once, so the woken fiber finds the lock
// held by a holder running on another CPU and naps, keeping the wake-up token, until its
// deadline ends a nap. Then the token must be back: a fiber that queues next is woken by the
// thread's plain unlock (with the token stuck it would never be, and the watchdog fires).
TEST_P(FiberMutex, ANapEndedByItsDeadlineReturnsTheWakeUpToken) {
  watchdog dog("nap ended by a deadline", 120s);
  weft::runtime rt{{.workers = 2, .policy = GetParam()}};
  weft::fiber::mutex m;
  int timed_out = 0;
  for (int round = 0; round < 20; ++round) {
    m.lock();
    std::atomic<bool> started{false};
    auto timed = rt.spawn([&] {
      started = true;
      // Under the starvation threshold: it naps and never forces a hand-off.
      if (!m.try_lock_for(900us)) return false;
      m.unlock();
      return true;
    });
    while (!started.load()) std::this_thread::yield();
    std::this_thread::sleep_for(200us);  // let it queue
    m.unlock();
    m.lock();                        // barge back in before the woken fiber runs
    if (!timed.join()) ++timed_out;  // else it ran before the re-lock (a preempted thread)
    std::atomic<bool> next_got{false};
    auto next = rt.spawn([&] {
      m.lock();
      next_got = true;
      m.unlock();
    });
    std::this_thread::sleep_for(2ms);  // let it queue
    m.unlock();
    next.join();
    EXPECT_TRUE(next_got.load());
  }
  EXPECT_GT(timed_out, 0) << "every timed fiber got the lock while the thread held it";
  EXPECT_TRUE(m.try_lock());
  m.unlock();
}

TEST_P(FiberMutex, FiberWaitingAtShutdownIsCancelledAndTheMutexStaysUsable) {
  weft::fiber::mutex m;
  std::atomic<bool> queued{false}, cancelled{false};
  m.lock();
  {
    weft::runtime rt{{.workers = 2, .policy = GetParam(), .shutdown_grace = 20ms}};
    rt.spawn([&] {
        queued = true;
        try {
          m.lock();
          m.unlock();
        } catch (const weft::fiber::cancelled&) {
          cancelled = true;
          throw;
        }
      }).detach();
    while (!queued.load()) std::this_thread::yield();
    std::this_thread::sleep_for(20ms);
  }  // the runtime cancels the parked fiber
  EXPECT_TRUE(cancelled.load());
  m.unlock();
  EXPECT_TRUE(m.try_lock()) << "the cancelled waiter left the queue";
  m.unlock();
}

}  // namespace
