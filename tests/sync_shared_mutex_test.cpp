// weft::os::shared_mutex and weft::fiber::shared_mutex (sync/shared_mutex.hpp): typed over both
// models (the fiber one under every policy): exclusion, readers in parallel, writer preference,
// batch admission of blocked readers, misuse; then thread+fiber mixing and cancellation.
#include <weft/fiber.hpp>
#include <weft/os.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <shared_mutex>
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
class SharedMutex : public ::testing::Test {};
TYPED_TEST_SUITE(SharedMutex, sync_test::envs, sync_test::env_name);

TYPED_TEST(SharedMutex, WorksWithTheStandardLocks) {
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::shared_mutex sm;
    auto elsewhere = [&sm](bool shared) {
      return M::spawn([&sm, shared] {
               const bool got = shared ? sm.try_lock_shared() : sm.try_lock();
               if (got) shared ? sm.unlock_shared() : sm.unlock();
               return got;
             })
          .join();
    };
    {
      std::shared_lock r(sm);
      EXPECT_TRUE(elsewhere(true)) << "readers share";
      EXPECT_FALSE(elsewhere(false)) << "a writer is kept out by a reader";
    }
    {
      std::unique_lock w(sm);
      EXPECT_FALSE(elsewhere(true));
      EXPECT_FALSE(elsewhere(false));
    }
    {
      std::lock_guard w(sm);
      EXPECT_FALSE(elsewhere(true));
    }
    EXPECT_TRUE(elsewhere(false));
    EXPECT_TRUE(elsewhere(true));
  });
}

TYPED_TEST(SharedMutex, SixteenWritersIncrementExactly) {
  watchdog dog("16 writers x 100k", 120s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::shared_mutex sm;
    long counter = 0;
    const int per_task = 100'000 / weft_test::scale;
    run_tasks<M>(16, [&](int) {
      for (int i = 0; i < per_task; ++i) {
        std::lock_guard g(sm);
        ++counter;
      }
    });
    EXPECT_EQ(counter, 16L * per_task);
  });
}

// Every reader holds the lock until all of them are inside at once: only possible if they
// really share it. Meanwhile a writer cannot get in.
TYPED_TEST(SharedMutex, ReadersHoldItTogether) {
  watchdog dog("readers in parallel", 60s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::shared_mutex sm;
    constexpr int n = 4;
    std::atomic<int> inside{0};
    std::atomic<bool> writer_got_in{false};
    run_tasks<M>(n, [&](int) {
      std::shared_lock r(sm);
      inside.fetch_add(1);
      sync_test::wait_until<M>([&] { return inside.load() == n; });
      if (M::spawn([&] {
            const bool got = sm.try_lock();
            if (got) sm.unlock();
            return got;
          }).join())
        writer_got_in = true;
    });
    EXPECT_EQ(inside.load(), n);
    EXPECT_FALSE(writer_got_in.load());
  });
}

TYPED_TEST(SharedMutex, WritersExcludeReadersAndEachOther) {
  watchdog dog("writers exclusive", 120s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::shared_mutex sm;
    long a = 0, b = 0;  // writers keep a == b; a reader seeing them differ saw a write half-done
    std::atomic<long> torn{0}, reads{0};
    const int per_task = 20'000 / weft_test::scale;
    run_tasks<M>(8, [&](int t) {
      for (int i = 0; i < per_task; ++i) {
        if (t % 2 == 0) {
          std::unique_lock w(sm);
          ++a;
          if (i % 100 == 0) M::yield();  // hold it across a switch now and then
          ++b;
        } else {
          std::shared_lock r(sm);
          if (a != b) torn.fetch_add(1);
          reads.fetch_add(1);
        }
      }
    });
    EXPECT_EQ(torn.load(), 0);
    EXPECT_EQ(a, 4L * per_task);
    EXPECT_EQ(b, a);
    EXPECT_EQ(reads.load(), 4L * per_task);
  });
}

// Readers overlap so that one of them nearly always holds the lock; with writer preference the
// writer still gets all its turns long before the readers run out of iterations. The readers
// start counting only once the writer has started: otherwise a spawner preempted between the
// readers and the writer (two test binaries share two vCPUs in CI, and idle workers spin) left
// two readers on the other worker to use up their iterations before any writer existed — a
// failure of the test's timing, not of the lock (27 ms for 200,000 yields, seen once under the
// pinned policy). The limit is generous for the same reason: a passing run stops at
// writer_done, so only a starved writer ever pays for it.
TYPED_TEST(SharedMutex, OverlappingReadersDoNotStarveAWriter) {
  watchdog dog("writer starvation", 120s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::shared_mutex sm;
    constexpr int writer_rounds = 50;
    constexpr int reader_limit = 2'000'000;
    std::atomic<bool> writer_started{false}, writer_done{false};
    std::atomic<int> readers_exhausted{0};
    run_tasks<M>(5, [&](int t) {
      if (t == 4) {
        writer_started = true;
        for (int i = 0; i < writer_rounds; ++i) {
          std::unique_lock w(sm);
        }
        writer_done = true;
        return;
      }
      sync_test::wait_until<M>([&] { return writer_started.load(); });
      int i = 0;
      for (; i < reader_limit && !writer_done.load(); ++i) {
        std::shared_lock r(sm);
        M::yield();  // hold it while the other readers come and go
      }
      if (i == reader_limit) readers_exhausted.fetch_add(1);
    });
    EXPECT_TRUE(writer_done.load());
    EXPECT_EQ(readers_exhausted.load(), 0) << "the writer waited for the readers to give up";
  });
}

// Readers that block on a writer are admitted together when it unlocks: all of them are inside
// at once before any leaves.
TYPED_TEST(SharedMutex, ReadersBlockedByAWriterAreAdmittedTogether) {
  watchdog dog("batch admission", 60s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::shared_mutex sm;
    constexpr int n = 6;
    std::atomic<int> started{0}, inside{0};
    sm.lock();
    std::vector<typename M::template join_handle<void>> hs;
    for (int i = 0; i < n; ++i)
      hs.push_back(M::spawn([&] {
        started.fetch_add(1);
        std::shared_lock r(sm);
        inside.fetch_add(1);
        sync_test::wait_until<M>([&] { return inside.load() == n; });
      }));
    sync_test::wait_until<M>([&] { return started.load() == n; });
    M::sleep_for(10ms);
    EXPECT_EQ(inside.load(), 0) << "a reader got in past the writer";
    sm.unlock();
    for (auto& h : hs) h.join();
    EXPECT_EQ(inside.load(), n);
  });
}

TYPED_TEST(SharedMutex, MisuseThrowsInDebugBuilds) {
#ifdef NDEBUG
  GTEST_SKIP() << "owner checks exist in debug builds only";
#else
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::shared_mutex sm;
    EXPECT_THROW(sm.unlock_shared(), std::system_error);
    EXPECT_THROW(sm.unlock(), std::system_error);
    sm.lock();
    EXPECT_THROW(sm.lock_shared(), std::system_error) << "it would deadlock";
    EXPECT_THROW(sm.lock(), std::system_error);
    sm.unlock();
    sm.lock_shared();
    sm.unlock_shared();
    EXPECT_TRUE(sm.try_lock());
    sm.unlock();
  });
#endif
}

template <class E>
class SharedMutexDeathTest : public ::testing::Test {};
TYPED_TEST_SUITE(SharedMutexDeathTest, sync_test::envs, sync_test::env_name);

TYPED_TEST(SharedMutexDeathTest, DestroyedWithAWaiterTerminatesNamingIt) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  using SM = typename TypeParam::M::shared_mutex;
  EXPECT_DEATH(sync_test::destroy_while_a_task_waits<TypeParam>(
                   [] {
                     auto* sm = new SM;
                     sm->lock();
                     return sm;
                   },
                   [](SM& sm) { sm.lock_shared(); }),
               "weft: shared_mutex at 0x[0-9a-f]+ destroyed while 1 task waits on it");
}

// ---------------------------------------------------------------- fibers and threads

class FiberSharedMutex : public ::testing::TestWithParam<weft::scheduling_policy> {};
INSTANTIATE_TEST_SUITE_P(AllPolicies, FiberSharedMutex,
                         ::testing::ValuesIn(weft_test::all_policies), sync_test::policy_name{});

TEST_P(FiberSharedMutex, FiberWritersThreadReaders) {
  watchdog dog("mixed readers/writers", 120s);
  weft::runtime rt{{.workers = 2, .policy = GetParam()}};
  weft::fiber::shared_mutex sm;
  long a = 0, b = 0;
  std::atomic<long> torn{0};
  const int per = 10'000 / weft_test::scale;
  std::vector<weft::fiber::join_handle<void>> fibers;
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    fibers.push_back(rt.spawn([&] {
      for (int k = 0; k < per; ++k) {
        std::unique_lock w(sm);
        ++a;
        ++b;
      }
    }));
    threads.emplace_back([&] {
      for (int k = 0; k < per; ++k) {
        std::shared_lock r(sm);
        if (a != b) torn.fetch_add(1);
      }
    });
  }
  threads.emplace_back([&] {  // and a thread writer among fiber writers
    for (int k = 0; k < per; ++k) {
      std::unique_lock w(sm);
      ++a;
      ++b;
    }
  });
  for (auto& f : fibers) f.join();
  for (auto& t : threads) t.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(a, 5L * per);
  EXPECT_EQ(b, a);
}

// A fiber reader blocked by a thread's write lock is cancelled at shutdown. Its admission must
// not leak: afterwards the lock still excludes readers while written.
TEST_P(FiberSharedMutex, ReaderCancelledAtShutdownLeavesTheLockSound) {
  weft::fiber::shared_mutex sm;
  std::atomic<bool> locked{false}, started{false}, cancelled{false};
  std::thread writer([&] {  // holds the write lock well past the runtime's first cancellation
    sm.lock();
    locked = true;
    std::this_thread::sleep_for(100ms);
    sm.unlock();
  });
  while (!locked.load()) std::this_thread::yield();
  {
    weft::runtime rt{{.workers = 2, .policy = GetParam(), .shutdown_grace = 20ms}};
    rt.spawn([&] {
        started = true;
        try {
          std::shared_lock r(sm);
        } catch (const weft::fiber::cancelled&) {
          cancelled = true;  // after waiting for the writer and undoing its admission
          throw;
        }
      }).detach();
    while (!started.load()) std::this_thread::yield();
  }
  writer.join();
  EXPECT_TRUE(cancelled.load());
  EXPECT_TRUE(sm.try_lock()) << "the cancelled reader left no hold behind";
  EXPECT_FALSE(sm.try_lock_shared());
  sm.unlock();
  EXPECT_TRUE(sm.try_lock_shared());
  sm.unlock_shared();
}

}  // namespace
