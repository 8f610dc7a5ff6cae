// The standard-library-only parker: how a plain OS thread blocks on the parking seam.
//
// One per thread (thread_local). It blocks on a mutex + condition variable rather than a bare
// futex for one reason: lifetime. wake() sets the flag and notifies while holding the mutex, and
// the parked thread must take the same mutex before park() returns, so the thread cannot leave
// (and its parker cannot die) while a waker is still inside wake().
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "park_state.hpp"

namespace weft::sync {

class thread_parker {
 public:
  // The calling thread's parker.
  static thread_parker& current() noexcept {
    thread_local thread_parker p;
    return p;
  }

  park_state& state() noexcept { return state_; }

  // Blocks the calling thread until a notifier claims and wakes it. `hook()` runs once the
  // thread is committed to parking; it publishes the waiter and returns true, or returns false
  // to abandon the park (then park() returns notified at once). Precondition: called by the
  // thread that owns this parker. Never throws unless the hook does.
  template <class Hook>
  wake_reason park(Hook&& hook) {
    state_.begin_park();
    if (!hook()) return state_.end_park();
    if (!state_.finish_park()) return state_.end_park();  // claimed during the hook
    std::unique_lock lk(mu_);
    cv_.wait(lk, [this] { return signaled_; });
    signaled_ = false;
    return state_.end_park();
  }

  // As park(), but gives up at `deadline`: returns timed_out if the deadline won the race with
  // every notifier (no wake will come), notified if a notifier won (even after the deadline).
  template <class Clock, class Duration, class Hook>
  wake_reason park_until(const std::chrono::time_point<Clock, Duration>& deadline, Hook&& hook) {
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

  // Wakes the parked thread. Precondition: the caller won state().notify() with claim::wake.
  void wake() {
    std::lock_guard lk(mu_);
    signaled_ = true;
    cv_.notify_one();
  }

 private:
  park_state state_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool signaled_ = false;
};

}  // namespace weft::sync
