// The scheduler under load, under every policy: a million spawns, fork-join, stealing, lost
// wake-up stress on the parking seam (fiber<->fiber across workers, thread<->fiber), and 100k
// concurrent sleepers. Each test has a watchdog: a lost wake-up fails the run, it does not hang.
#include <weft/fiber.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::runtime;
using weft::scheduling_policy;
using weft_test::watchdog;

class Policy : public ::testing::TestWithParam<scheduling_policy> {
 protected:
  runtime rt_{{.workers = 2, .policy = GetParam()}};
};

INSTANTIATE_TEST_SUITE_P(AllPolicies, Policy, ::testing::ValuesIn(weft_test::all_policies),
                         [](const auto& info) { return std::string(weft::to_string(info.param)); });

TEST_P(Policy, MillionFibersSpawnedAndJoinedCountExactly) {
  watchdog dog("million fibers", 300s);
  const int total = 1'000'000 / weft_test::scale;
  const int batch = weft_test::live_limit;
  std::atomic<int> count{0};
  std::vector<weft::fiber::join_handle<void>> hs;
  hs.reserve(batch);
  for (int done = 0; done < total; done += batch) {
    for (int i = 0; i < batch; ++i)
      hs.push_back(rt_.spawn([&count] { count.fetch_add(1, std::memory_order_relaxed); }));
    for (auto& h : hs) h.join();
    hs.clear();
  }
  EXPECT_EQ(count.load(), total);
  EXPECT_EQ(rt_.stats().live_fibers, 0u);
}

int fib(int n) {
  if (n < 2) return n;
  auto left = weft::fiber::spawn(fib, n - 1);
  const int right = fib(n - 2);
  return left.join() + right;
}

TEST_P(Policy, RecursiveForkJoinFib20) {
  watchdog dog("fib(20)", 120s);
  EXPECT_EQ(rt_.block_on([] { return fib(20); }), 6765);
  EXPECT_EQ(rt_.stats().total().spawns, 10945u);  // fib(20) makes 10,945 spawn calls
}

TEST_P(Policy, FiberToFiberParkUnparkAcrossWorkers) {
  watchdog dog("fiber ping-pong", 240s);
  const int rounds = 200'000 / weft_test::scale;
  constexpr int pairs = 4;
  std::atomic<long> pings{0}, pongs{0};
  std::vector<weft::fiber::join_handle<void>> hs;
  std::vector<weft_test::mailbox> to_b(pairs), to_a(pairs);
  for (int p = 0; p < pairs; ++p) {
    hs.push_back(rt_.spawn([&, p] {
      for (int i = 0; i < rounds; ++i) {
        to_b[p].post();
        to_a[p].wait();
        pings.fetch_add(1, std::memory_order_relaxed);
      }
    }));
    hs.push_back(rt_.spawn([&, p] {
      for (int i = 0; i < rounds; ++i) {
        to_b[p].wait();
        pongs.fetch_add(1, std::memory_order_relaxed);
        to_a[p].post();
      }
    }));
  }
  for (auto& h : hs) h.join();
  EXPECT_EQ(pings.load(), static_cast<long>(rounds) * pairs);
  EXPECT_EQ(pongs.load(), static_cast<long>(rounds) * pairs);
}

TEST_P(Policy, ThreadToFiberParkUnpark) {
  watchdog dog("thread-fiber ping-pong", 240s);
  const int rounds = 100'000 / weft_test::scale;
  weft_test::mailbox to_fiber, to_thread;
  long seen = 0;
  auto h = rt_.spawn([&] {
    for (int i = 0; i < rounds; ++i) {
      to_fiber.wait();
      ++seen;
      to_thread.post();
    }
  });
  for (int i = 0; i < rounds; ++i) {
    to_fiber.post();
    to_thread.wait();  // a plain thread parks on its own thread_parker
  }
  h.join();
  EXPECT_EQ(seen, rounds);
}

TEST_P(Policy, HundredThousandSleepersAllWakeNoneEarly) {
  watchdog dog("100k sleepers", 240s);
  const int n = weft_test::under_tsan ? weft_test::live_limit : 100'000;
  std::atomic<int> woke{0}, early{0}, asleep{0}, peak{0};
  // Spawned from a fiber; the first spawns pay for fresh stacks (page faults), so the deadlines
  // leave a second for all of them to be asleep at once.
  rt_.block_on([&] {
    std::vector<weft::fiber::join_handle<void>> hs;
    hs.reserve(n);
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
      const auto deadline = start + 1s + std::chrono::milliseconds(i % 50);
      hs.push_back(weft::fiber::spawn(weft::spawn_options{.stack_size = 16 * 1024}, [&, deadline] {
        const int now_asleep = asleep.fetch_add(1) + 1;
        int p = peak.load();
        while (now_asleep > p && !peak.compare_exchange_weak(p, now_asleep)) {
        }
        weft::fiber::sleep_until(deadline);
        asleep.fetch_sub(1);
        if (std::chrono::steady_clock::now() < deadline) early.fetch_add(1);
        woke.fetch_add(1);
      }));
    }
    for (auto& h : hs) h.join();
  });
  EXPECT_EQ(woke.load(), n);
  EXPECT_EQ(early.load(), 0);
  EXPECT_GE(peak.load(), n / 10) << "the sleepers were meant to sleep concurrently";
  EXPECT_GT(rt_.stats().total().timers_fired, 0u);
  EXPECT_LE(rt_.stats().total().timers_fired, static_cast<std::uint64_t>(n));
}

TEST_P(Policy, ExceptionsCrossJoin) {
  auto h = rt_.spawn([]() -> int { throw std::out_of_range("index 7"); });
  try {
    h.join();
    FAIL() << "expected the fiber's exception";
  } catch (const std::out_of_range& e) {
    EXPECT_STREQ(e.what(), "index 7");
  }
}

TEST(WorkStealing, ImbalancedLoadIsStolen) {
  watchdog dog("stealing", 120s);
  runtime rt{{.workers = 2}};
  std::atomic<int> on_worker[2] = {0, 0};
  std::atomic<bool> go{false};
  rt.block_on([&] {
    // Every child starts on this worker's queues; only stealing spreads them. The gate keeps
    // them all alive until all exist, so the outcome does not depend on how fast spawning is.
    std::vector<weft::fiber::join_handle<void>> hs;
    for (int i = 0; i < 200; ++i)
      hs.push_back(weft::fiber::spawn([&] {
        while (!go.load()) weft::fiber::yield();
        const auto until = std::chrono::steady_clock::now() + 200us;
        while (std::chrono::steady_clock::now() < until) {
        }
        on_worker[weft::sched::current_worker()->index()].fetch_add(1);
      }));
    go.store(true);
    for (auto& h : hs) h.join();
  });
  const auto s = rt.stats();
  EXPECT_GT(s.total().steals, 0u);
  EXPECT_GT(on_worker[0].load(), 0);
  EXPECT_GT(on_worker[1].load(), 0);
  EXPECT_GT(s.workers[0].switches, 0u);
  EXPECT_GT(s.workers[1].switches, 0u);
}

// A yield lets every other runnable fiber of the worker run first, and yielders take turns.
class OneWorker : public ::testing::TestWithParam<scheduling_policy> {
 protected:
  runtime rt_{{.workers = 1, .policy = GetParam()}};
};
INSTANTIATE_TEST_SUITE_P(AllPolicies, OneWorker, ::testing::ValuesIn(weft_test::all_policies),
                         [](const auto& info) { return std::string(weft::to_string(info.param)); });

TEST_P(OneWorker, YieldRunsEveryOtherRunnableFiberFirst) {
  std::string order;
  rt_.block_on([&] {
    order += 'y';
    auto a = weft::fiber::spawn([&] { order += 'a'; });
    auto b = weft::fiber::spawn([&] { order += 'b'; });
    weft::fiber::yield();
    order += 'Y';
    a.join();
    b.join();
  });
  // Which of a and b goes first is placement policy (the newest spawn sits in the next slot);
  // that both run before the yielder resumes is the contract.
  ASSERT_EQ(order.size(), 4u);
  EXPECT_EQ(order.front(), 'y');
  EXPECT_EQ(order.back(), 'Y');
  EXPECT_TRUE(order.substr(1, 2) == "ab" || order.substr(1, 2) == "ba") << order;
}

TEST_P(OneWorker, YieldersTakeTurns) {
  std::string order;
  rt_.block_on([&] {
    auto yielder = [&order](char c) {
      for (int i = 0; i < 200; ++i) {  // several fairness ticks' worth
        order += c;
        weft::fiber::yield();
      }
    };
    auto a = weft::fiber::spawn(yielder, 'a');
    auto b = weft::fiber::spawn(yielder, 'b');
    auto c = weft::fiber::spawn(yielder, 'c');
    a.join();
    b.join();
    c.join();
  });
  // Round robin: the first turn's order (placement policy) repeats for every turn after it.
  ASSERT_EQ(order.size(), 600u);
  std::string first = order.substr(0, 3);
  std::sort(first.begin(), first.end());
  EXPECT_EQ(first, "abc");
  for (std::size_t i = 3; i < order.size(); ++i)
    ASSERT_EQ(order[i], order[i % 3]) << "turn " << i / 3 << " broke the rotation: " << order;
}

// Yielded fibers wait in a queue private to their worker; every fairness tick publishes them
// where thieves look, so an idle worker still takes a share of a yield-heavy load.
TEST(WorkStealing, YieldingFibersSpreadToAnIdleWorker) {
  watchdog dog("yielders spread", 120s);
  runtime rt{{.workers = 2}};
  std::atomic<bool> seen[2] = {false, false};
  rt.block_on([&] {
    std::vector<weft::fiber::join_handle<void>> hs;
    for (int i = 0; i < 8; ++i)
      hs.push_back(weft::fiber::spawn([&] {
        const auto until = std::chrono::steady_clock::now() + 20s;
        while (!(seen[0].load() && seen[1].load()) && std::chrono::steady_clock::now() < until) {
          seen[weft::sched::current_worker()->index()].store(true);
          weft::fiber::yield();
        }
      }));
    for (auto& h : hs) h.join();
  });
  EXPECT_TRUE(seen[0].load());
  EXPECT_TRUE(seen[1].load());
}

// Depth-first fork-join: fibers that exist at once (spawned, not yet finished; each holds a
// stack) stay bounded by the recursion depth, not the fan-out. Breadth-first scheduling keeps
// thousands of fib(24)'s 75k fibers alive at once (a FIFO deque: ~16k at fib(27); FIFO with a
// depth-first next slot: 263); depth-first keeps about 2 per level and worker.
std::atomic<int> fib_live{0}, fib_peak{0};
int counted_fib(int n) {
  if (n < 2) return n;
  const int now = fib_live.fetch_add(1) + 1;
  int p = fib_peak.load();
  while (now > p && !fib_peak.compare_exchange_weak(p, now)) {
  }
  auto left = weft::fiber::spawn([n] {
    const int v = counted_fib(n - 1);
    fib_live.fetch_sub(1);
    return v;
  });
  const int right = counted_fib(n - 2);
  return left.join() + right;
}

TEST(WorkStealing, ForkJoinLiveFibersBoundedByDepth) {
  watchdog dog("depth-first fork-join", 120s);
  runtime rt{{.workers = 2}};
  // TSan maps and unmaps its own state for every fiber (~0.6 ms per spawn here): a smaller tree.
  const int n = weft_test::under_tsan ? 20 : 24;
  EXPECT_EQ(rt.block_on([n] { return counted_fib(n); }), weft_test::under_tsan ? 6765 : 46368);
  EXPECT_EQ(fib_live.load(), 0);
  EXPECT_LT(fib_peak.load(), 120) << "fork-join went breadth-first";
}

// Fibers that park inside a catch handler, and may resume on another worker after other fibers
// threw there, still handle their own exception (the runtime's per-thread exception record
// travels with the fiber).
TEST_P(Policy, CaughtExceptionSurvivesParkAndMigration) {
  watchdog dog("exceptions across parks", 120s);
  std::atomic<int> own{0};
  rt_.block_on([&] {
    std::vector<weft::fiber::join_handle<void>> hs;
    for (int i = 0; i < 200; ++i)
      hs.push_back(weft::fiber::spawn([&own, i] {
        const std::string mine = "fiber " + std::to_string(i);
        try {
          throw std::runtime_error(mine);
        } catch (const std::exception& e) {
          weft::fiber::sleep_for(std::chrono::microseconds(50 + i % 7));
          try {
            throw std::logic_error("nested");
          } catch (...) {
          }
          try {
            throw;
          } catch (const std::runtime_error& again) {
            if (again.what() == mine && e.what() == mine) own.fetch_add(1);
          }
        }
      }));
    for (auto& h : hs) h.join();
  });
  EXPECT_EQ(own.load(), 200);
}

TEST(Pinned, PinnedFiberNeverMigrates) {
  runtime rt{{.workers = 2}};
  rt.block_on([] {
    std::vector<weft::fiber::join_handle<bool>> hs;
    for (int i = 0; i < 50; ++i)
      hs.push_back(weft::fiber::spawn(weft::spawn_options{.pinned = true}, [] {
        const auto* home = weft::sched::current_worker();
        bool stayed = true;
        for (int k = 0; k < 200; ++k) {
          weft::fiber::yield();
          if (k % 50 == 0) weft::fiber::sleep_for(100us);
          stayed = stayed && weft::sched::current_worker() == home;
        }
        return stayed;
      }));
    for (auto& h : hs) EXPECT_TRUE(h.join());
  });
}

}  // namespace
