// weft::os::condition_variable and weft::fiber::condition_variable (sync/condition_variable.hpp)
// with the model's own mutex: typed over both models (the fiber one under every policy), then
// threads and fibers on one fiber condition variable, cancellation, and destruction.
#include <weft/fiber.hpp>
#include <weft/os.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <stop_token>
#include <thread>
#include <vector>

#include "support.hpp"
#include "sync_support.hpp"

namespace {

using namespace std::chrono_literals;
using sync_test::run_tasks;
using weft_test::watchdog;

template <class E>
class ConditionVariable : public ::testing::Test {};
TYPED_TEST_SUITE(ConditionVariable, sync_test::envs, sync_test::env_name);

// A bounded queue on one mutex and two condition variables: what people write by hand.
template <class M>
class bounded_queue {
 public:
  explicit bounded_queue(std::size_t cap) : cap_(cap) {}
  void push(long v) {
    std::unique_lock lk(mu_);
    not_full_.wait(lk, [&] { return items_.size() < cap_; });
    items_.push_back(v);
    not_empty_.notify_one();
  }
  long pop() {
    std::unique_lock lk(mu_);
    not_empty_.wait(lk, [&] { return !items_.empty(); });
    const long v = items_.front();
    items_.pop_front();
    not_full_.notify_one();
    return v;
  }

 private:
  typename M::mutex mu_;
  typename M::condition_variable not_full_, not_empty_;
  std::deque<long> items_;
  std::size_t cap_;
};

TYPED_TEST(ConditionVariable, ProducersAndConsumersMoveEveryItemOnce) {
  watchdog dog("producer/consumer", 120s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    bounded_queue<M> q(8);
    const int per_producer = 20'000 / weft_test::scale;
    constexpr int producers = 4, consumers = 4;
    std::atomic<long> sum{0}, count{0};
    std::vector<typename M::template join_handle<void>> hs;
    for (int p = 0; p < producers; ++p)
      hs.push_back(M::spawn([&, p] {
        for (int i = 1; i <= per_producer; ++i) q.push(static_cast<long>(p) * per_producer + i);
      }));
    for (int c = 0; c < consumers; ++c)
      hs.push_back(M::spawn([&] {
        for (int i = 0; i < per_producer; ++i) {
          sum.fetch_add(q.pop());
          count.fetch_add(1);
        }
      }));
    for (auto& h : hs) h.join();
    const long n = static_cast<long>(producers) * per_producer;
    EXPECT_EQ(count.load(), n);
    EXPECT_EQ(sum.load(), n * (n + 1) / 2);
  });
}

TYPED_TEST(ConditionVariable, TimeoutsFireWhenNobodyNotifies) {
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::mutex m;
    typename M::condition_variable cv;
    std::unique_lock lk(m);
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(cv.wait_for(lk, 20ms), std::cv_status::timeout);
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 20ms) << "must not give up early";
    EXPECT_TRUE(lk.owns_lock());
    EXPECT_EQ(cv.wait_until(lk, std::chrono::system_clock::now() + 5ms), std::cv_status::timeout);
    EXPECT_FALSE(cv.wait_for(lk, 5ms, [] { return false; }));
    EXPECT_FALSE(cv.wait_until(lk, std::chrono::steady_clock::now() + 5ms, [] { return false; }));
    EXPECT_FALSE(cv.wait_for(lk, -1ms, [] { return false; }));
    EXPECT_TRUE(cv.wait_for(lk, 0ms, [] { return true; }));
    EXPECT_TRUE(lk.owns_lock());
  });
}

TYPED_TEST(ConditionVariable, TimeoutsDoNotFireWhenNotifiedInTime) {
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::mutex m;
    typename M::condition_variable cv;
    bool ready = false;
    auto notifier = M::spawn([&] {
      M::sleep_for(5ms);
      std::lock_guard g(m);
      ready = true;
      cv.notify_one();
    });
    std::unique_lock lk(m);
    EXPECT_TRUE(cv.wait_for(lk, 60s, [&] { return ready; }));
    lk.unlock();
    notifier.join();

    ready = false;
    auto again = M::spawn([&] {
      M::sleep_for(5ms);
      std::lock_guard g(m);
      ready = true;
      cv.notify_all();
    });
    lk.lock();
    EXPECT_TRUE(cv.wait_until(lk, std::chrono::system_clock::now() + 60s, [&] { return ready; }));
    lk.unlock();
    again.join();
  });
}

// Notifications that do not change the predicate (spurious wake-ups, as far as the waiters can
// tell) must not let a predicate wait return early.
TYPED_TEST(ConditionVariable, PredicateWaitsIgnoreSpuriousWakeUps) {
  watchdog dog("spurious wake-ups", 60s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::mutex m;
    typename M::condition_variable cv;
    bool ready = false;
    std::atomic<int> early{0}, woke{0}, waiting{0};
    std::vector<typename M::template join_handle<void>> hs;
    for (int i = 0; i < 8; ++i)
      hs.push_back(M::spawn([&] {
        std::unique_lock lk(m);
        waiting.fetch_add(1);
        cv.wait(lk, [&] { return ready; });
        if (!ready) early.fetch_add(1);
        woke.fetch_add(1);
      }));
    sync_test::wait_until<M>([&] { return waiting.load() == 8; });
    for (int i = 0; i < 200; ++i) {
      (i % 2 == 0) ? cv.notify_one() : cv.notify_all();
      if (i % 20 == 0) M::yield();
    }
    EXPECT_EQ(woke.load(), 0);
    {
      std::lock_guard g(m);
      ready = true;
    }
    cv.notify_all();
    for (auto& h : hs) h.join();
    EXPECT_EQ(early.load(), 0);
    EXPECT_EQ(woke.load(), 8);
  });
}

TYPED_TEST(ConditionVariable, NotifyAllWakesManyWaiters) {
  watchdog dog("notify_all", 60s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::mutex m;
    typename M::condition_variable cv;
    int generation = 0;
    std::atomic<int> waiting{0}, woke{0};
    constexpr int n = 64;
    constexpr int rounds = 5;
    run_tasks<M>(n + 1, [&](int i) {
      if (i == n) {  // the notifier: each round, once all are waiting, wake them all
        for (int r = 1; r <= rounds; ++r) {
          sync_test::wait_until<M>([&] { return waiting.load() == n * r; });
          std::lock_guard g(m);
          generation = r;
          cv.notify_all();
        }
        return;
      }
      for (int r = 1; r <= rounds; ++r) {
        std::unique_lock lk(m);
        waiting.fetch_add(1);
        cv.wait(lk, [&] { return generation >= r; });
        woke.fetch_add(1);
      }
    });
    EXPECT_EQ(woke.load(), n * rounds);
  });
}

TYPED_TEST(ConditionVariable, NotifyOneHandsEachTokenToOneWaiter) {
  watchdog dog("notify_one tokens", 60s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::mutex m;
    typename M::condition_variable cv;
    int tokens = 0;
    constexpr int n = 16, per = 50;
    std::atomic<int> taken{0};
    std::vector<typename M::template join_handle<void>> hs;
    for (int i = 0; i < n; ++i)
      hs.push_back(M::spawn([&] {
        for (int k = 0; k < per; ++k) {
          std::unique_lock lk(m);
          cv.wait(lk, [&] { return tokens > 0; });
          --tokens;
          taken.fetch_add(1);
        }
      }));
    for (int k = 0; k < n * per; ++k) {
      {
        std::lock_guard g(m);
        ++tokens;
      }
      cv.notify_one();
      if (k % 8 == 0) M::yield();
    }
    for (auto& h : hs) h.join();
    EXPECT_EQ(taken.load(), n * per);
    EXPECT_EQ(tokens, 0);
  });
}

TYPED_TEST(ConditionVariable, StopTokenEndsAWait) {
  watchdog dog("stop_token waits", 60s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::mutex m;
    typename M::condition_variable cv;
    std::stop_source src;
    std::atomic<bool> waiting{false};
    auto h = M::spawn([&] {
      std::unique_lock lk(m);
      waiting = true;
      const bool r = cv.wait(lk, src.get_token(), [] { return false; });
      return std::pair(r, lk.owns_lock());
    });
    sync_test::wait_until<M>([&] { return waiting.load(); });
    M::sleep_for(5ms);
    src.request_stop();  // the callback wakes the waiter; nobody notifies
    const auto [r, owned] = h.join();
    EXPECT_FALSE(r);
    EXPECT_TRUE(owned);

    std::unique_lock lk(m);
    // Already stopped: returns pred() at once.
    EXPECT_FALSE(cv.wait(lk, src.get_token(), [] { return false; }));
    EXPECT_TRUE(cv.wait(lk, src.get_token(), [] { return true; }));
    // A token that is never stopped: the timeout ends it.
    std::stop_source never;
    EXPECT_FALSE(cv.wait_for(lk, never.get_token(), 5ms, [] { return false; }));
    EXPECT_FALSE(cv.wait_until(lk, never.get_token(), std::chrono::system_clock::now() + 5ms,
                               [] { return false; }));
    // A stop that comes before the timeout.
    std::stop_source soon;
    auto stopper = M::spawn([&] {
      M::sleep_for(5ms);
      soon.request_stop();
    });
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_FALSE(cv.wait_for(lk, soon.get_token(), 60s, [] { return false; }));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 30s);
    lk.unlock();
    stopper.join();
  });
}

// Stop requests racing the waiter's own checks: none may be lost (a lost one hangs the waiter).
TYPED_TEST(ConditionVariable, StopRequestsRacingTheWaitAreNeverLost) {
  watchdog dog("stop races", 120s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::mutex m;
    typename M::condition_variable cv;
    const int rounds = 2000 / weft_test::scale;
    for (int i = 0; i < rounds; ++i) {
      std::stop_source src;
      auto h = M::spawn([&] {
        std::unique_lock lk(m);
        return cv.wait(lk, src.get_token(), [] { return false; });
      });
      if (i % 3 == 0) M::yield();
      src.request_stop();
      EXPECT_FALSE(h.join());
    }
  });
}

// The standard allows destroying a condition variable right after notify_all, before the woken
// tasks have returned (they may be anywhere in their wait). ASan checks nobody touches it after.
TYPED_TEST(ConditionVariable, DestroyRightAfterNotifyAll) {
  watchdog dog("destroy after notify_all", 120s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::mutex m;
    typename M::condition_variable entered;  // lives on: tells the notifier all are waiting
    const int rounds = 400 / weft_test::scale;
    constexpr int n = 6;
    for (int r = 0; r < rounds; ++r) {
      auto cv = std::make_unique<typename M::condition_variable>();
      bool go = false;
      int inside = 0;
      std::vector<typename M::template join_handle<void>> hs;
      for (int i = 0; i < n; ++i)
        hs.push_back(M::spawn([&, i, r, c = cv.get()] {
          std::unique_lock lk(m);
          ++inside;  // under m, right before waiting: once inside == n, all are in wait()
          entered.notify_one();
          if (i % 2 == 0) {
            c->wait(lk, [&] { return go; });
          } else {  // short timeouts: some fire just as notify_all pops their waiter
            while (
                !c->wait_for(lk, std::chrono::microseconds(1 + (i + r) % 7), [&] { return go; })) {
            }
          }
        }));
      {
        std::unique_lock lk(m);
        entered.wait(lk, [&] { return inside == n; });
        go = true;
        cv->notify_all();
        cv.reset();  // while the woken ones are still on their way out
      }
      for (auto& h : hs) h.join();
    }
  });
}

// Timed waiters whose timeouts race notifications: every path out of a wait (notified, timed
// out, lost a race either way) must leave the condition variable consistent, so the final
// destruction neither waits forever nor reports a waiter.
TYPED_TEST(ConditionVariable, TimeoutsRacingNotificationsStayConsistent) {
  watchdog dog("timeouts racing notifies", 120s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::mutex m;
    auto cv = std::make_unique<typename M::condition_variable>();
    std::atomic<long> timeouts{0}, wakes{0};
    std::atomic<int> finished{0};
    constexpr int waiters = 5;
    const int per = 2000 / weft_test::scale;
    run_tasks<M>(waiters + 1, [&](int i) {
      if (i == waiters) {  // the notifier, until every waiter is done
        for (long k = 0; finished.load() < waiters; ++k) {
          (k % 2 == 0) ? cv->notify_one() : cv->notify_all();
          M::sleep_for(std::chrono::microseconds(k % 100));
        }
        return;
      }
      for (int k = 0; k < per; ++k) {
        std::unique_lock lk(m);
        if (cv->wait_for(lk, std::chrono::microseconds(50 + 37 * (k % 5))) ==
            std::cv_status::timeout)
          timeouts.fetch_add(1);
        else
          wakes.fetch_add(1);
      }
      finished.fetch_add(1);
    });
    EXPECT_EQ(timeouts.load() + wakes.load(), static_cast<long>(waiters) * per);
    cv.reset();
  });
}

TYPED_TEST(ConditionVariable, WorksWithAnyBasicLockable) {
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::mutex m;
    typename M::condition_variable cv;
    bool ready = false;
    auto h = M::spawn([&] {
      M::sleep_for(2ms);
      m.lock();
      ready = true;
      m.unlock();
      cv.notify_all();
    });
    m.lock();  // the mutex itself, no std::unique_lock
    cv.wait(m, [&] { return ready; });
    m.unlock();
    h.join();
  });
}

template <class E>
class ConditionVariableDeathTest : public ::testing::Test {};
TYPED_TEST_SUITE(ConditionVariableDeathTest, sync_test::envs, sync_test::env_name);

TYPED_TEST(ConditionVariableDeathTest, DestroyedWithAWaiterTerminatesNamingIt) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(TypeParam::run([] {
                 using M = typename TypeParam::M;
                 auto* m = new typename M::mutex;
                 auto* cv = new typename M::condition_variable;
                 M::spawn([m, cv] {
                   std::unique_lock lk(*m);
                   cv->wait(lk);
                 }).detach();
                 M::sleep_for(100ms);
                 delete cv;
               }),
               "weft: condition_variable at 0x[0-9a-f]+ destroyed while 1 task waits on it");
}

// ---------------------------------------------------------------- fibers and threads, one cv

class FiberConditionVariable : public ::testing::TestWithParam<weft::scheduling_policy> {};
INSTANTIATE_TEST_SUITE_P(AllPolicies, FiberConditionVariable,
                         ::testing::ValuesIn(weft_test::all_policies), sync_test::policy_name{});

TEST_P(FiberConditionVariable, ThreadAndFiberPingPong) {
  watchdog dog("thread/fiber ping-pong", 120s);
  weft::runtime rt{{.workers = 2, .policy = GetParam()}};
  weft::fiber::mutex m;
  weft::fiber::condition_variable cv;
  long turn = 0;  // even: the fibers' turn, odd: the threads'
  const int rounds = 20'000 / weft_test::scale;
  auto player = [&](long parity) {
    for (int i = 0; i < rounds; ++i) {
      std::unique_lock lk(m);
      cv.wait(lk, [&] { return turn % 2 == parity; });
      ++turn;
      cv.notify_all();
    }
  };
  auto fiber = rt.spawn([&] { player(0); });
  std::thread thread([&] { player(1); });
  fiber.join();
  thread.join();
  EXPECT_EQ(turn, 2L * rounds);
}

TEST_P(FiberConditionVariable, FibersAndThreadsShareOneQueue) {
  watchdog dog("mixed producer/consumer", 120s);
  weft::runtime rt{{.workers = 2, .policy = GetParam()}};
  bounded_queue<weft::fiber::model> q(4);
  const int per = 10'000 / weft_test::scale;
  std::atomic<long> sum{0};
  std::vector<weft::fiber::join_handle<void>> fibers;
  std::vector<std::thread> threads;
  for (int p = 0; p < 2; ++p) {  // fiber producers, thread consumers; and the reverse
    fibers.push_back(rt.spawn([&] {
      for (int i = 1; i <= per; ++i) q.push(i);
    }));
    threads.emplace_back([&] {
      for (int i = 1; i <= per; ++i) q.push(i);
    });
    fibers.push_back(rt.spawn([&] {
      for (int i = 0; i < per; ++i) sum.fetch_add(q.pop());
    }));
    threads.emplace_back([&] {
      for (int i = 0; i < per; ++i) sum.fetch_add(q.pop());
    });
  }
  for (auto& f : fibers) f.join();
  for (auto& t : threads) t.join();
  EXPECT_EQ(sum.load(), 4L * per * (per + 1) / 2);
}

TEST_P(FiberConditionVariable, WaitCancelledAtShutdownRelocksAndLeaves) {
  weft::fiber::mutex m;
  auto cv = std::make_unique<weft::fiber::condition_variable>();
  std::atomic<bool> waiting{false}, cancelled_with_lock{false};
  {
    weft::runtime rt{{.workers = 2, .policy = GetParam(), .shutdown_grace = 20ms}};
    rt.spawn([&] {
        std::unique_lock lk(m);
        waiting = true;
        try {
          cv->wait(lk);
        } catch (const weft::fiber::cancelled&) {
          cancelled_with_lock = lk.owns_lock();
          throw;
        }
      }).detach();
    while (!waiting.load()) std::this_thread::yield();
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(cancelled_with_lock.load());
  cv.reset();  // the cancelled waiter left: no report, no wait
  EXPECT_TRUE(m.try_lock());
  m.unlock();
}

}  // namespace
