// Shared by the sync/ tests: the environments every typed test runs in — weft::os (threads), and
// weft::fiber on an explicit 2-worker runtime under each scheduling policy — plus small helpers
// for spawning a batch of tasks and waiting without blocking a worker.
#pragma once

#include <weft/fiber.hpp>
#include <weft/os.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "support.hpp"

namespace sync_test {

// Every typed sync test runs on weft::os and on 2-worker fiber runtimes under each policy.
using envs = ::testing::Types<weft_test::os_env,
                              weft_test::fiber_env<2, weft::scheduling_policy::work_stealing>,
                              weft_test::fiber_env<2, weft::scheduling_policy::global_fifo>,
                              weft_test::fiber_env<2, weft::scheduling_policy::pinned>>;
using weft_test::env_name;

// Names the instances of the per-policy suites (INSTANTIATE_TEST_SUITE_P's last argument).
struct policy_name {
  std::string operator()(const ::testing::TestParamInfo<weft::scheduling_policy>& info) const {
    return weft::to_string(info.param);
  }
};

// Spawns n tasks of model M running f(i) and joins them all.
template <class M, class F>
void run_tasks(int n, F f) {
  std::vector<typename M::template join_handle<void>> hs;
  hs.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) hs.push_back(M::spawn([&f, i] { f(i); }));
  for (auto& h : hs) h.join();
}

// Waits until `cond()` holds, yielding: a fiber must not spin without yielding (its worker would
// run nothing else). Uses no primitive under test.
template <class M, class Cond>
void wait_until(Cond cond) {
  while (!cond()) M::yield();
}

// The wake-all cases: starts n tasks that each block in wait(), checks (after giving them time
// to block) that none got through before release(), and that all did after it.
template <class M, class Wait, class Release>
void expect_released_together(int n, Wait wait, Release release) {
  using namespace std::chrono_literals;
  std::atomic<int> started{0}, through{0};
  std::vector<typename M::template join_handle<void>> hs;
  for (int i = 0; i < n; ++i)
    hs.push_back(M::spawn([&] {
      started.fetch_add(1);
      wait();
      through.fetch_add(1);
    }));
  wait_until<M>([&] { return started.load() == n; });
  M::sleep_for(5ms);
  EXPECT_EQ(through.load(), 0) << "a task got through before the release";
  release();
  for (auto& h : hs) h.join();
  EXPECT_EQ(through.load(), n);
}

// Body of the destruction-with-waiters death tests: in environment E, makes a primitive with
// make(), lets a task block in wait(primitive) (detached; it never returns), gives it time to be
// queued, then deletes the primitive — which must terminate the process with its message.
template <class E, class Make, class Wait>
void destroy_while_a_task_waits(Make make, Wait wait) {
  using namespace std::chrono_literals;
  E::run([&] {
    using M = typename E::M;
    auto* p = make();
    M::spawn([p, wait] { wait(*p); }).detach();
    M::sleep_for(100ms);  // long enough to be queued (spin phases last microseconds)
    delete p;
  });
}

}  // namespace sync_test
