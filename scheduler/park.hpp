// The parking seam, fiber flavour (hybrid): park the calling fiber — or, on a plain OS thread,
// block the thread — until a notifier wakes it. The state machine that makes "exactly one
// wake per park" hold is sync/park_state.hpp; this is its scheduler side.
//
// Protocol for a blocking primitive (mutex, channel, join ...):
//   1. Under the primitive's protection, decide to wait; build a waiter holding waker::current().
//   2. park(hook): the hook runs once the caller is committed to parking — for a fiber, after it
//      is switched out, on the scheduler's side. The hook publishes the waiter (pushes it on the
//      wait list and releases the lock) and returns true, or returns false to not park at all.
//   3. A notifier pops the waiter and calls notify(); false means a timeout or cancellation won
//      that park: it takes the next waiter instead.
//   4. On timed_out / cancelled, the woken side removes its waiter under the primitive's
//      protection before it returns (the notifier may hold it until then).
#pragma once

#include <weft/sync/park_state.hpp>
#include <weft/sync/std_parker.hpp>

#include <chrono>
#include <cstdint>
#include <exception>
#include <utility>

namespace weft::sched {

struct task;

// Who to wake: the fiber that parked, or the plain thread that blocked.
class waker {
 public:
  // The calling fiber, or the calling thread's parker.
  static waker current() noexcept;

  // Claims the park and makes the parked party runnable. Returns false if a timeout or a
  // cancellation already ended that park (no wake-up is delivered). Never blocks.
  bool notify() const noexcept;

  bool is_fiber() const noexcept { return fiber_ != nullptr; }

  // Asks the CPU to fetch the stack lines a parked fiber touches when it resumes (its saved
  // registers and the frames of its park path, upwards from the saved stack pointer), so that a
  // notifier waking many fibers at once (the poller's dispatch of one epoll_wait) overlaps their
  // cache misses instead of each fiber taking them one after another when it runs. A hint: no
  // effect on a thread's waker. Precondition: the fiber is parked and this waker is still listed
  // with the primitive whose lock the caller holds (the lock orders the park's save of the stack
  // pointer before this read; after notify() the fiber may be running or gone).
  void prefetch_resume() const noexcept;

 private:
  task* fiber_ = nullptr;
  sync::thread_parker* thread_ = nullptr;
};

// One joiner of a task, on the joiner's stack, linked from task::join_word.
struct join_waiter {
  waker who;
  std::uintptr_t next;  // the previous head of the list (join_running terminates it)
};

// A non-owning callable reference for park hooks: no allocation, no std::function.
struct park_hook {
  bool (*fn)(void*);
  void* ctx;
  bool operator()() const { return fn(ctx); }
  template <class F>
  static park_hook of(F& f) noexcept {
    return park_hook{[](void* c) { return (*static_cast<F*>(c))(); }, &f};
  }
};

// Parks the caller until notified. `cancellable`: runtime shutdown may end the park with
// wake_reason::cancelled (then the primitive cleans up and throws fiber::cancelled).
// `for_join`: the caller waits for a fiber it spawned; the worker then runs its newest local
// task next rather than its oldest, so fork-join proceeds depth-first.
sync::wake_reason park(park_hook hook, bool cancellable = true, bool for_join = false);

// As park(), ending with timed_out at `deadline` (steady clock) if no notifier won first.
sync::wake_reason park_until(std::chrono::steady_clock::time_point deadline, park_hook hook,
                             bool cancellable = true);

}  // namespace weft::sched
