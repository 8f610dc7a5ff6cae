// The standard-library-only parker: how a plain OS thread blocks on the parking seam.
//
// Design notes
// ------------
// * A thread sleeps on a futex word with three states: empty, sleeping (the parker is in or
//   about to enter futex_wait) and signalled. wake() exchanges in `signalled` and makes the wake
//   system call only if the parker announced that it sleeps, so a wake that lands before the
//   parker sleeps costs no system call. A timed park passes its deadline to the futex wait.
// * Lifetime. A waker may still be inside wake() — past the exchange the woken thread waits
//   for, before or inside the futex wake — when that thread has returned from park() and even
//   exited. So parkers are never freed: a thread takes one from a process-wide pool on first use
//   and gives it back at exit, and a late futex wake at worst wakes the parker's next owner
//   spuriously, which park() tolerates (it sleeps again until its own wake's exchange).
// * Rejected: a mutex + condition variable per thread (the previous design, which got lifetime
//   from the mutex: the woken thread must retake it). A waker that notifies under the mutex
//   wakes a thread that at once blocks on that mutex again ("hurry up and wait"): two futex
//   round trips per hand-off, and weft::os channels' ping-pong ran 1.5-2.5x slower than a
//   hand-written mutex + condition variable queue. Also rejected: C++20 std::atomic::wait, which
//   has no deadline and in libstdc++ 12 spins with sched_yield before it sleeps.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <vector>

#include "futex.hpp"
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
    state_.begin_park();
    if (!hook()) return state_.end_park();
    if (!state_.finish_park()) return state_.end_park();  // claimed during the hook
    sleep_until_signalled(-1);
    return state_.end_park();
  }

  // As park(), but gives up at `deadline`: returns timed_out if the deadline won the race with
  // every notifier (no wake will come), notified if a notifier won (even after the deadline).
  template <class Hook>
  wake_reason park_until(std::chrono::steady_clock::time_point deadline, Hook&& hook) {
    const std::int64_t deadline_ns = ns_since_epoch(deadline);
    state_.begin_park();
    if (!hook()) return state_.end_park();
    if (!state_.finish_park()) return state_.end_park();
    if (!sleep_until_signalled(deadline_ns)) {
      if (state_.claim_timeout()) {
        // No wake will come: take back the `sleeping` announcement before the next park.
        signal_.store(empty, std::memory_order_relaxed);  // relaxed: nobody else writes it now
        return state_.end_park();
      }
      sleep_until_signalled(-1);  // a notifier won; its wake is on the way
    }
    return state_.end_park();
  }

  // Wakes the parked thread. Precondition: the caller won state().notify() with claim::wake.
  void wake() noexcept {
    // release: pairs with sleep_until_signalled's acquire loads; what the notifier handed over
    // is visible to the woken thread.
    if (signal_.exchange(signalled, std::memory_order_release) == sleeping) futex_wake_one(signal_);
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

  static constexpr std::uint32_t empty = 0, sleeping = 1, signalled = 2;

  static std::int64_t ns_since_epoch(std::chrono::steady_clock::time_point t) noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  }

  // Sleeps until wake() signals (true; the signal is consumed) or, for deadline_ns >= 0, until
  // that steady-clock time (false; `sleeping` stays announced). A futex return without
  // `signalled` is spurious, or a late wake meant for this parker's previous owner: sleep again.
  bool sleep_until_signalled(std::int64_t deadline_ns) noexcept {
    std::uint32_t s = signal_.load(std::memory_order_acquire);  // acquire: pairs with wake()
    while (s != signalled) {
      // Announcing `sleeping` first is what lets wake() skip the system call when it comes
      // before we sleep. acquire on failure: we read wake()'s exchange.
      if (s == empty && !signal_.compare_exchange_strong(s, sleeping, std::memory_order_acquire))
        continue;
      const std::int64_t now =
          deadline_ns >= 0 ? ns_since_epoch(std::chrono::steady_clock::now()) : 0;
      if (deadline_ns >= 0 && now >= deadline_ns) return false;
      futex_wait_until(signal_, sleeping, deadline_ns, now);
      s = signal_.load(std::memory_order_acquire);  // acquire: pairs with wake()
    }
    signal_.store(empty, std::memory_order_relaxed);  // relaxed: only the next wake() changes it
    return true;
  }

  park_state state_;
  std::atomic<std::uint32_t> signal_{empty};  // a futex word
};

}  // namespace weft::sync
