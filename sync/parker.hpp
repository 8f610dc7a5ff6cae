// The parking seam as a C++ concept: what every blocking algorithm in sync/ and channel/ is
// written against, once, for both models.
//
// A blocking primitive (mutex, condition variable, semaphore, channel, select ...) follows one
// protocol (the state machine behind it is park_state.hpp):
//   1. Under the primitive's own lock, decide to wait; put a waiter — a record on the blocked
//      task's stack holding `P::current()` — in the primitive's wait list.
//   2. `P::park(hook)` / `P::park_until(deadline, hook)`. The hook runs once the caller is
//      committed to parking (for a fiber: after it is switched out, on the scheduler's side). It
//      releases the primitive's lock and returns true, or returns false to not park at all.
//   3. Whoever changes the state pops a waiter under the lock and calls `waker.notify()`. false
//      means a timeout or a cancellation already ended that park: take the next waiter instead.
//      notify() never blocks, so it may be called under the primitive's lock — and it must be:
//      the lifetime rule below depends on it.
//   4. A park that ends with timed_out or cancelled re-takes the lock and removes its waiter if
//      it is still listed, before it returns (a notifier may be holding it until then). On
//      cancelled, the primitive then calls `P::throw_cancelled()`, which unwinds the task.
//
// Lifetime rule: a waiter is touched only under the primitive's lock, and a task whose park
// ended leaves only after it took that lock; so a notifier never touches a waiter whose task is
// gone.
//
// Models: `sync::std_parker` (std_parker.hpp, standard library only: the 1:1 side) blocks the
// calling thread; `sched::fiber_parker` (scheduler/fiber_parker.hpp) parks the calling fiber, or
// blocks the calling thread if it is not running a fiber, so threads and fibers can meet on one
// primitive.
#pragma once

#include <chrono>
#include <concepts>

#include "park_state.hpp"

namespace weft::sync {

namespace parker_detail {
struct hook {
  bool operator()() const { return true; }
};
}  // namespace parker_detail

template <class P>
concept parker = requires(const typename P::waker w, parker_detail::hook h,
                          std::chrono::steady_clock::time_point deadline) {
  // A copyable handle on the calling task; notify() claims its current park and wakes it
  // (false if a timeout or cancellation won that park). Never blocks, never throws.
  requires std::copyable<typename P::waker>;
  { P::current() }
  noexcept->std::same_as<typename P::waker>;
  { w.notify() }
  noexcept->std::same_as<bool>;
  // Parks the calling task until notified (or, for park_until, until `deadline`: timed_out).
  // May return cancelled (a runtime shutting down); never returns early without a reason.
  { P::park(h) } -> std::same_as<wake_reason>;
  { P::park_until(deadline, h) } -> std::same_as<wake_reason>;
  // Throws the model's cancellation exception (fibers: weft::fiber::cancelled). [[noreturn]].
  P::throw_cancelled();
};

}  // namespace weft::sync
