// basic_once_flag<P> and call_once: std::call_once for both models — the callable runs exactly
// once successfully; concurrent callers wait for it (a fiber parks, a thread blocks); if it
// throws, the exception reaches its caller and the next waiting (or later) caller tries again.
//
// One 32-bit word: idle, running or done, plus a bit set while tasks are queued. After the
// first successful call, call_once is one acquire load. A caller that finds the flag running
// sets the bit with a CAS that fails if the run ended meanwhile, then queues; the runner swaps the
// word to its end state and, if the bit was set, wakes every queued task, which re-examine the
// flag (after an exception one of them becomes the next runner). Woken waiters pass through the
// list's spin_lock before returning (list_park.hpp).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <utility>

#include "list_park.hpp"
#include "misuse.hpp"
#include "parker.hpp"
#include "spin_lock.hpp"
#include "wait_list.hpp"

namespace weft::sync {

template <parker P>
class basic_once_flag {
 public:
  constexpr basic_once_flag() noexcept = default;
  basic_once_flag(const basic_once_flag&) = delete;
  basic_once_flag& operator=(const basic_once_flag&) = delete;

  // Precondition: no task waits in call_once. One still waiting: prints a message, terminates.
  ~basic_once_flag() {
    lock_.lock();
    const std::size_t n = list_.size();
    lock_.unlock();
    if (n != 0) destroyed_with_waiters("once_flag", this, n);
  }

  // True once a call_once on this flag has returned normally.
  [[nodiscard]] bool done() const noexcept {
    return (word_.load(std::memory_order_acquire) & phase) == finished;  // acquire: see run()
  }

  // Runs fn() unless a previous run succeeded; see call_once.
  template <class Fn>
  void run(Fn& fn) {
    std::uint32_t s = word_.load(std::memory_order_acquire);  // acquire: pairs with finish()
    for (;;) {
      if ((s & phase) == finished) return;
      if ((s & phase) == idle) {
        // acquire: pairs with finish(idle)'s release after a failed run, so state the failed
        // callable left behind is visible to the next one.
        if (!word_.compare_exchange_weak(s, (s & queued) | running, std::memory_order_acquire,
                                         std::memory_order_acquire))
          continue;
        try {
          fn();
        } catch (...) {
          finish(idle);
          throw;
        }
        finish(finished);
        return;
      }
      wait_while_running();
      s = word_.load(std::memory_order_acquire);  // acquire: pairs with finish()
    }
  }

 private:
  static constexpr std::uint32_t idle = 0, running = 1, finished = 2, phase = 3;
  static constexpr std::uint32_t queued = 4;

  void finish(std::uint32_t to) noexcept {
    // release: publishes the callable's effects to every later acquire load of the word.
    if ((word_.exchange(to, std::memory_order_acq_rel) & queued) != 0) {
      lock_.lock();
      notify_all_in(list_);
      lock_.unlock();
    }
  }

  void wait_while_running() {
    lock_.lock();
    std::uint32_t s = word_.load(std::memory_order_relaxed);  // relaxed: the CAS decides
    for (;;) {
      if ((s & phase) != running) {  // the run ended meanwhile: look again
        lock_.unlock();
        return;
      }
      // relaxed: under lock_; finish() swaps the whole word and so sees the bit.
      if ((s & queued) != 0 || word_.compare_exchange_weak(s, s | queued, std::memory_order_relaxed,
                                                           std::memory_order_relaxed))
        break;
    }
    plain_waiter<P> w(P::current());
    const wake_reason r = park_on_list<P>(lock_, list_, w, no_deadline, [] {});
    if (r == wake_reason::cancelled) P::throw_cancelled();
  }

  std::atomic<std::uint32_t> word_{idle};
  spin_lock lock_;  // guards list_ and the setting of `queued`
  wait_list<plain_waiter<P>> list_;
};

// Invokes f(args...) exactly once per flag among all callers that return normally: the first
// caller runs it; concurrent callers block (a fiber parks) until it ends. If f throws, the
// exception propagates to its caller, the flag stays unset, and another caller runs f. Throws
// what f throws, and the model's cancellation exception if a wait is cancelled at shutdown.
// Calling call_once on the same flag from inside f deadlocks (as std).
template <parker P, class F, class... Args>
void call_once(basic_once_flag<P>& flag, F&& f, Args&&... args) {
  if (flag.done()) return;
  auto fn = [&] { std::invoke(std::forward<F>(f), std::forward<Args>(args)...); };
  flag.run(fn);
}

}  // namespace weft::sync
