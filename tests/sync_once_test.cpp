// weft::os/fiber::once_flag and call_once (sync/once.hpp), typed over both models (the fiber one
// under every policy): exactly once under contention, waiters see the effect, an exceptional
// call lets another try, arguments; threads and fibers racing on one flag.
#include <weft/fiber.hpp>
#include <weft/os.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"
#include "sync_support.hpp"

namespace {

using namespace std::chrono_literals;
using sync_test::run_tasks;
using weft_test::watchdog;

template <class E>
class Once : public ::testing::Test {};
TYPED_TEST_SUITE(Once, sync_test::envs, sync_test::env_name);

TYPED_TEST(Once, RunsExactlyOnceAndEveryCallerSeesIt) {
  watchdog dog("call_once contention", 60s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::once_flag flag;
    std::atomic<int> runs{0}, missing{0};
    int value = 0;  // written once inside call_once, read by every caller after it returns
    run_tasks<M>(32, [&](int) {
      M::call_once(flag, [&] {
        runs.fetch_add(1);
        M::sleep_for(5ms);  // the others queue meanwhile (a fiber parks inside the callable)
        value = 42;
      });
      if (value != 42) missing.fetch_add(1);
    });
    EXPECT_EQ(runs.load(), 1);
    EXPECT_EQ(missing.load(), 0);
    EXPECT_TRUE(flag.done());
  });
}

TYPED_TEST(Once, AnExceptionalCallLetsAnotherTry) {
  watchdog dog("call_once exceptions", 60s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::once_flag flag;
    std::atomic<int> attempts{0}, threw{0}, runs{0};
    run_tasks<M>(16, [&](int) {
      try {
        M::call_once(flag, [&] {
          const int a = attempts.fetch_add(1);
          M::sleep_for(1ms);
          if (a < 3) throw std::runtime_error("attempt " + std::to_string(a));
          runs.fetch_add(1);
        });
      } catch (const std::runtime_error&) {
        threw.fetch_add(1);
      }
    });
    EXPECT_EQ(attempts.load(), 4) << "three failures, then one success, then nobody";
    EXPECT_EQ(threw.load(), 3) << "each exception reached only its own caller";
    EXPECT_EQ(runs.load(), 1);
    EXPECT_TRUE(flag.done());
  });
}

TYPED_TEST(Once, ForwardsArgumentsAndRunsNothingOnceDone) {
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::once_flag flag;
    EXPECT_FALSE(flag.done());
    std::string got;
    M::call_once(
        flag, [&got](const std::string& a, int b) { got = a + std::to_string(b); }, "x", 7);
    EXPECT_EQ(got, "x7");
    M::call_once(flag, [&got] { got = "again"; });
    EXPECT_EQ(got, "x7");
    weft::sync::call_once(flag, [&got] { got = "again"; });  // the free function, by ADL's home
    EXPECT_EQ(got, "x7");
  });
}

template <class E>
class OnceDeathTest : public ::testing::Test {};
TYPED_TEST_SUITE(OnceDeathTest, sync_test::envs, sync_test::env_name);

TYPED_TEST(OnceDeathTest, DestroyedWithAWaiterTerminatesNamingIt) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  using M = typename TypeParam::M;
  using F = typename M::once_flag;
  EXPECT_DEATH(sync_test::destroy_while_a_task_waits<TypeParam>(
                   [] {
                     auto* flag = new F;
                     M::spawn([flag] { M::call_once(*flag, [] { M::sleep_for(10s); }); }).detach();
                     M::sleep_for(20ms);  // the runner is inside
                     return flag;
                   },
                   [](F& flag) { M::call_once(flag, [] {}); }),
               "weft: once_flag at 0x[0-9a-f]+ destroyed while 1 task waits on it");
}

class FiberOnce : public ::testing::TestWithParam<weft::scheduling_policy> {};
INSTANTIATE_TEST_SUITE_P(AllPolicies, FiberOnce, ::testing::ValuesIn(weft_test::all_policies),
                         sync_test::policy_name{});

TEST_P(FiberOnce, ThreadsAndFibersRaceOnOneFlag) {
  watchdog dog("mixed call_once", 60s);
  weft::runtime rt{{.workers = 2, .policy = GetParam()}};
  const int rounds = 200 / weft_test::scale + 2;
  for (int r = 0; r < rounds; ++r) {
    weft::fiber::once_flag flag;
    std::atomic<int> runs{0};
    auto call = [&] {
      weft::fiber::call_once(flag, [&] {
        runs.fetch_add(1);
        weft::fiber::yield();
      });
    };
    std::vector<weft::fiber::join_handle<void>> fibers;
    for (int i = 0; i < 6; ++i) fibers.push_back(rt.spawn(call));
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; ++i) threads.emplace_back(call);
    for (auto& f : fibers) f.join();
    for (auto& t : threads) t.join();
    EXPECT_EQ(runs.load(), 1);
  }
}

}  // namespace
