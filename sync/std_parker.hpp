// The standard-library-only parker (sync/parker.hpp's concept) of the 1:1 model: every task is
// an OS thread, which blocks on its own thread_parker. No runtime, so nothing ever cancels a
// park.
#pragma once

#include <chrono>
#include <exception>

#include "park_state.hpp"
#include "parker.hpp"
#include "thread_parker.hpp"

namespace weft::sync {

// Who to wake: one plain thread's parker.
class thread_waker {
 public:
  explicit thread_waker(thread_parker& p) noexcept : p_(&p) {}

  // Claims the thread's current park and wakes it; false if its timeout won first.
  bool notify() const noexcept {
    const park_state::claim c = p_->state().notify();
    if (c == park_state::claim::wake) p_->wake();
    return c != park_state::claim::lost;
  }

 private:
  thread_parker* p_;
};

struct std_parker {
  using waker = thread_waker;

  static waker current() noexcept { return waker(thread_parker::current()); }

  template <class Hook>
  static wake_reason park(Hook&& hook) {
    return thread_parker::current().park(hook);
  }

  template <class Hook>
  static wake_reason park_until(std::chrono::steady_clock::time_point deadline, Hook&& hook) {
    return thread_parker::current().park_until(deadline, hook);
  }

  // Unreachable: a thread's park is never cancelled.
  [[noreturn]] static void throw_cancelled() { std::terminate(); }
};

static_assert(parker<std_parker>);

}  // namespace weft::sync
