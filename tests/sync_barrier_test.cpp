// weft::os/fiber::barrier (sync/barrier.hpp), typed over both models (the fiber one under every
// policy): phases, the completion function (runs once per phase, after every arrival, before
// any waiter is released), split arrive/wait, arrive_and_drop, errors; threads and fibers mixed.
#include <weft/fiber.hpp>
#include <weft/os.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
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
class Barrier : public ::testing::Test {};
TYPED_TEST_SUITE(Barrier, sync_test::envs, sync_test::env_name);

// Each task writes its slot for phase p, then arrives. The completion checks that every slot
// holds p and advances the phase; every task then sees the completion's effect.
struct phase_check {
  std::vector<int>* slots;
  int* completed;
  int* wrong;
  void operator()() noexcept {
    for (int s : *slots)
      if (s != *completed) ++*wrong;
    ++*completed;
  }
};

TYPED_TEST(Barrier, PhasesCompleteInOrderWithTheCompletionFirst) {
  watchdog dog("barrier phases", 60s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    constexpr int n = 8;
    const int phases = 200 / weft_test::scale + 2;
    std::vector<int> slots(n, 0);
    int completed = 0, wrong = 0;
    typename M::template barrier<phase_check> b(n, phase_check{&slots, &completed, &wrong});
    std::atomic<int> stale{0};
    run_tasks<M>(n, [&](int i) {
      for (int p = 0; p < phases; ++p) {
        slots[i] = p;
        b.arrive_and_wait();
        if (completed != p + 1) stale.fetch_add(1);  // the completion ran before we woke
      }
    });
    EXPECT_EQ(completed, phases);
    EXPECT_EQ(wrong, 0) << "the completion ran before every task had arrived";
    EXPECT_EQ(stale.load(), 0);
  });
}

TYPED_TEST(Barrier, ArriveThenWaitLater) {
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::template barrier<> b(2);
    auto token = b.arrive();
    auto other = M::spawn([&] { b.arrive_and_wait(); });
    b.wait(std::move(token));  // returns once the other arrived
    other.join();
    auto late = b.arrive();  // next phase
    auto other2 = M::spawn([&] { b.arrive_and_wait(); });
    other2.join();
    b.wait(std::move(late));  // that phase is over: returns at once
  });
}

TYPED_TEST(Barrier, ArriveAndDropShrinksLaterPhases) {
  watchdog dog("arrive_and_drop", 60s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    int completed = 0;
    auto count = [&completed]() noexcept { ++completed; };
    typename M::template barrier<decltype(count)> b(3, count);
    auto quitter = M::spawn([&] { b.arrive_and_drop(); });  // phase 0 arrival, then gone
    run_tasks<M>(2, [&](int) {
      for (int p = 0; p < 5; ++p) b.arrive_and_wait();  // 2 per phase from phase 1 on
    });
    quitter.join();
    EXPECT_EQ(completed, 5);
  });
}

TYPED_TEST(Barrier, RejectsBadArrivals) {
  TypeParam::run([] {
    using M = typename TypeParam::M;
    using B = typename M::template barrier<>;
    EXPECT_THROW(B(-1), std::invalid_argument);
    B b(2);
    EXPECT_THROW((void)b.arrive(0), std::invalid_argument);
    EXPECT_THROW((void)b.arrive(3), std::invalid_argument);
    auto t = b.arrive(2);  // completes the phase
    b.wait(std::move(t));
  });
}

template <class E>
class BarrierDeathTest : public ::testing::Test {};
TYPED_TEST_SUITE(BarrierDeathTest, sync_test::envs, sync_test::env_name);

TYPED_TEST(BarrierDeathTest, DestroyedWithAWaiterTerminatesNamingIt) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  using B = typename TypeParam::M::template barrier<>;
  EXPECT_DEATH(sync_test::destroy_while_a_task_waits<TypeParam>([] { return new B(2); },
                                                                [](B& b) { b.arrive_and_wait(); }),
               "weft: barrier at 0x[0-9a-f]+ destroyed while 1 task waits on it");
}

class FiberBarrier : public ::testing::TestWithParam<weft::scheduling_policy> {};
INSTANTIATE_TEST_SUITE_P(AllPolicies, FiberBarrier, ::testing::ValuesIn(weft_test::all_policies),
                         sync_test::policy_name{});

TEST_P(FiberBarrier, ThreadsAndFibersMeetEachPhase) {
  watchdog dog("mixed barrier", 120s);
  weft::runtime rt{{.workers = 2, .policy = GetParam()}};
  const int phases = 300 / weft_test::scale + 2;
  std::atomic<int> arrivals{0}, behind{0};
  weft::fiber::barrier<> b(6);
  auto party = [&] {
    for (int p = 0; p < phases; ++p) {
      arrivals.fetch_add(1);
      b.arrive_and_wait();
      if (arrivals.load() < 6 * (p + 1)) behind.fetch_add(1);  // someone had not arrived yet
    }
  };
  std::vector<weft::fiber::join_handle<void>> fibers;
  for (int i = 0; i < 4; ++i) fibers.push_back(rt.spawn(party));
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) threads.emplace_back(party);
  for (auto& f : fibers) f.join();
  for (auto& t : threads) t.join();
  EXPECT_EQ(arrivals.load(), 6 * phases);
  EXPECT_EQ(behind.load(), 0);
}

}  // namespace
