// Shared helpers for the tests: the environments a typed test runs in (one per model, and per
// runtime shape), a watchdog that fails instead of hanging, scale factors for sanitizer builds,
// and a one-slot mailbox built directly on the parking seam.
#pragma once

#include <weft/fiber.hpp>
#include <weft/os.hpp>
#include <weft/sync/spin_lock.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>

namespace weft_test {

// The body of a typed test runs as a task of the environment's model: the calling thread for
// weft::os; a fiber of a fresh runtime of `Workers` workers under `Policy` for weft::fiber, so
// that M::spawn inside the body spawns onto that runtime and its policy.
struct os_env {
  using M = weft::os::model;
  static constexpr bool fibers = false;
  static std::string name() { return "os"; }
  template <class F>
  static void run(F&& body) {
    std::forward<F>(body)();
  }
};

template <std::size_t Workers, weft::scheduling_policy Policy>
struct fiber_env {
  using M = weft::fiber::model;
  static constexpr bool fibers = true;
  static std::string name() {
    return "fiber" + std::to_string(Workers) + "_" + weft::to_string(Policy);
  }
  template <class F>
  static void run(F&& body) {
    weft::runtime rt{{.workers = Workers, .policy = Policy, .name = "test"}};
    rt.block_on(std::forward<F>(body));
  }
};

// Names a typed suite's instances by environment (TYPED_TEST_SUITE's third argument).
struct env_name {
  template <class E>
  static std::string GetName(int) {
    return E::name();
  }
};

#if defined(__SANITIZE_THREAD__)
// TSan tracks each fiber like a thread (at most ~8k alive) and runs 10-50x slower here.
inline constexpr bool under_tsan = true;
inline constexpr int live_limit = 2000;
inline constexpr int scale = 50;
#elif defined(__SANITIZE_ADDRESS__)
inline constexpr bool under_tsan = false;
inline constexpr int live_limit = 10000;
inline constexpr int scale = 2;
#else
inline constexpr bool under_tsan = false;
inline constexpr int live_limit = 10000;
inline constexpr int scale = 1;
#endif

// Aborts the process with a message if not disarmed within `limit`: a hang fails the test run
// (with the test's name) instead of stalling CI until its global timeout.
class watchdog {
 public:
  watchdog(const char* what, std::chrono::seconds limit) : what_(what) {
    thread_ = std::thread([this, limit] {
      std::unique_lock lk(mu_);
      if (!cv_.wait_for(lk, limit, [this] { return done_; })) {
        std::fprintf(stderr, "watchdog: '%s' did not finish within %lld s (lost wake-up?)\n", what_,
                     static_cast<long long>(limit.count()));
        std::abort();
      }
    });
  }
  ~watchdog() {
    {
      std::lock_guard lk(mu_);
      done_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }

 private:
  const char* what_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

// One-slot mailbox on the parking seam: post() hands a token to wait(). At most one waiter.
// A direct user of park/notify, so stress on it is stress on the seam itself.
class mailbox {
 public:
  void post() {
    lock_.lock();
    // notify() under the lock: a cancelled waiter takes the lock before it leaves, so it cannot
    // be gone while we claim it (the seam's lifetime rule, sync/park_state.hpp).
    if (waiter_) {
      const weft::sched::waker w = *waiter_;
      waiter_.reset();
      if (w.notify()) {
        lock_.unlock();
        return;
      }
      // lost: the waiter was cancelled; keep the token
    }
    ++tokens_;
    lock_.unlock();
  }

  // Throws weft::fiber::cancelled if the runtime cancels the wait at shutdown.
  void wait() {
    lock_.lock();
    if (tokens_ > 0) {
      --tokens_;
      lock_.unlock();
      return;
    }
    waiter_ = weft::sched::waker::current();
    auto publish = [this] {
      lock_.unlock();
      return true;
    };
    if (weft::sched::park(weft::sched::park_hook::of(publish)) ==
        weft::sync::wake_reason::cancelled) {
      lock_.lock();
      waiter_.reset();  // still ours: only notify() removes it, and notify() woke nobody
      lock_.unlock();
      throw weft::fiber::cancelled();
    }
  }

 private:
  weft::sync::spin_lock lock_;  // ownerless: the park hook releases it
  std::optional<weft::sched::waker> waiter_;
  int tokens_ = 0;
};

inline const weft::scheduling_policy all_policies[] = {weft::scheduling_policy::work_stealing,
                                                       weft::scheduling_policy::global_fifo,
                                                       weft::scheduling_policy::pinned};

}  // namespace weft_test
