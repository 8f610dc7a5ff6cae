// The standard-library-only parker: how a plain OS thread blocks on the parking seam.
//
// Design notes
// ------------
// * Untimed parks wait on an atomic word (C++20 std::atomic::wait, a futex in libstdc++, with a
//   short spin first); wake() stores the word and calls notify_one, which makes no system call
//   when nobody sleeps on it. Timed parks need a deadline, which std::atomic::wait lacks, so they
//   wait on a mutex + condition variable instead; the parker says which (timed_) before its park
//   completes, and the waker reads it after winning the park (park_state orders the two).
// * Lifetime. A waker may still be inside wake() — past the store the woken thread waits for,
//   before or inside notify_one — when that thread has returned from park() and even exited.
//   So parkers are never freed: a thread takes one from a process-wide pool on first use and
//   gives it back at exit, and a late notify_one at worst wakes the parker's next owner
//   spuriously, which park() tolerates (it sleeps again until its own wake's store).
// * Rejected: the mutex + condition variable for every park (the previous design, which got
//   lifetime from the mutex: the woken thread must retake it). A waker that notifies under the
//   mutex wakes a thread that at once blocks on that mutex again ("hurry up and wait"): two
//   futex round trips per hand-off, and weft::os channels' ping-pong ran 1.5-2.5x slower than a
//   hand-written mutex + condition variable queue.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

#include "park_state.hpp"

namespace weft::sync {

class thread_parker {
 public:
  // The calling thread's parker (from the pool; back to it when the thread exits). Terminates
  // if the thread's first call cannot allocate one.
  static thread_parker& current() noexcept {
    thread_local lease l;
    return *l.parker;
  }

  park_state& state() noexcept { return state_; }

  // Blocks the calling thread until a notifier claims and wakes it. `hook()` runs once the
  // thread is committed to parking; it publishes the waiter and returns true, or returns false
  // to abandon the park (then park() returns notified at once). Precondition: called by the
  // thread that owns this parker. Never throws unless the hook does.
  template <class Hook>
  wake_reason park(Hook&& hook) {
    timed_ = false;
    state_.begin_park();
    if (!hook()) return state_.end_park();
    if (!state_.finish_park()) return state_.end_park();  // claimed during the hook
    // acquire: pairs with wake()'s release store. A wake-up without the store is a late
    // notify_one meant for this parker's previous owner: sleep again.
    while (signal_.load(std::memory_order_acquire) == 0) signal_.wait(0, std::memory_order_acquire);
    signal_.store(0, std::memory_order_relaxed);  // relaxed: only the next wake() sets it again
    return state_.end_park();
  }

  // As park(), but gives up at `deadline`: returns timed_out if the deadline won the race with
  // every notifier (no wake will come), notified if a notifier won (even after the deadline).
  template <class Clock, class Duration, class Hook>
  wake_reason park_until(const std::chrono::time_point<Clock, Duration>& deadline, Hook&& hook) {
    timed_ = true;
    state_.begin_park();
    if (!hook()) return state_.end_park();
    if (!state_.finish_park()) return state_.end_park();
    std::unique_lock lk(mu_);
    if (!cv_.wait_until(lk, deadline, [this] { return signaled_; })) {
      if (state_.claim_timeout()) return state_.end_park();
      cv_.wait(lk, [this] { return signaled_; });  // a notifier won; its wake is on the way
    }
    signaled_ = false;
    return state_.end_park();
  }

  // Wakes the parked thread. Precondition: the caller won state().notify() with claim::wake
  // (which orders this read of timed_ after the parker's write).
  void wake() {
    if (timed_) {
      std::lock_guard lk(mu_);
      signaled_ = true;
      cv_.notify_one();
      return;
    }
    signal_.store(1, std::memory_order_release);  // release: pairs with park()'s acquire load
    signal_.notify_one();
  }

 private:
  // The pool of parkers: never freed (see the design notes), reused by later threads.
  struct pool {
    std::mutex mu;
    std::vector<thread_parker*> free;  // guarded by mu
    std::vector<thread_parker*> all;   // guarded by mu; keeps every parker reachable (LSan)

    static pool& instance() noexcept {
      static pool* const p = new pool;  // leaked on purpose: threads exit during static teardown
      return *p;
    }
  };
  // A thread's hold on one parker.
  struct lease {
    thread_parker* parker;
    lease() {
      pool& p = pool::instance();
      std::lock_guard lk(p.mu);
      if (p.free.empty()) {
        // Room first, so nothing below throws once the parker exists; `free` can then take back
        // every parker without allocating (in ~lease).
        p.all.reserve(p.all.size() + 1);
        p.free.reserve(p.all.size() + 1);
        p.all.push_back(new thread_parker);
        p.free.push_back(p.all.back());
      }
      parker = p.free.back();
      p.free.pop_back();
    }
    ~lease() {
      pool& p = pool::instance();
      std::lock_guard lk(p.mu);
      p.free.push_back(parker);
    }
    lease(const lease&) = delete;
    lease& operator=(const lease&) = delete;
  };

  park_state state_;
  std::atomic<std::uint32_t> signal_{0};  // untimed parks: set by wake()
  bool timed_ = false;                    // written by the owner before its park completes
  std::mutex mu_;                         // timed parks only
  std::condition_variable cv_;
  bool signaled_ = false;  // guarded by mu_
};

}  // namespace weft::sync
