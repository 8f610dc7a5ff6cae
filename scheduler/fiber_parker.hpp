// The fiber model's parker (sync/parker.hpp's concept): sync/ and channel/ algorithms
// instantiated with it give weft::fiber::mutex, weft::fiber::channel and the rest.
//
// Hybrid: called on a fiber it parks the fiber (its worker runs others); called on a plain
// thread it blocks the thread. A waiter records which, so a fiber and a thread can wait on and
// wake each other through one primitive.
#pragma once

#include <weft/sync/parker.hpp>

#include <chrono>

#include "cancelled.hpp"
#include "park.hpp"

namespace weft::sched {

struct fiber_parker {
  using waker = sched::waker;

  static waker current() noexcept { return waker::current(); }

  // A fiber's park is cancellable: runtime shutdown may end it with wake_reason::cancelled.
  template <class Hook>
  static sync::wake_reason park(Hook&& hook) {
    return sched::park(park_hook::of(hook));
  }

  template <class Hook>
  static sync::wake_reason park_until(std::chrono::steady_clock::time_point deadline, Hook&& hook) {
    return sched::park_until(deadline, park_hook::of(hook));
  }

  [[noreturn]] static void throw_cancelled() { throw fiber::cancelled(); }
};

static_assert(sync::parker<fiber_parker>);

}  // namespace weft::sched
