// Shared by the sync/ tests: the environments every typed test runs in — weft::os (threads), and
// weft::fiber on an explicit 2-worker runtime under each scheduling policy — plus small helpers
// for spawning a batch of tasks and waiting without blocking a worker.
#pragma once

#include <weft/fiber.hpp>
#include <weft/os.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <utility>
#include <vector>

#include "support.hpp"

namespace sync_test {

// The body of a typed test runs as a task of the environment's model: the calling thread for
// weft::os; a fiber of a fresh runtime for weft::fiber, so that M::spawn inside the body spawns
// onto that runtime and its policy.
struct os_env {
  using M = weft::os::model;
  static constexpr bool fibers = false;
  static std::string name() { return "os"; }
  template <class F>
  static void run(F&& body) {
    std::forward<F>(body)();
  }
};

template <weft::scheduling_policy Policy>
struct fiber_env {
  using M = weft::fiber::model;
  static constexpr bool fibers = true;
  static std::string name() { return std::string("fiber_") + weft::to_string(Policy); }
  template <class F>
  static void run(F&& body) {
    weft::runtime rt{{.workers = 2, .policy = Policy, .name = "sync-test"}};
    rt.block_on(std::forward<F>(body));
  }
};

using envs = ::testing::Types<os_env, fiber_env<weft::scheduling_policy::work_stealing>,
                              fiber_env<weft::scheduling_policy::global_fifo>,
                              fiber_env<weft::scheduling_policy::pinned>>;

struct env_name {
  template <class E>
  static std::string GetName(int) {
    return E::name();
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

}  // namespace sync_test
