// basic_barrier<P, CompletionFunction>: std::barrier for both models — a reusable meeting point
// for a fixed number of tasks per phase, with a completion function that the last arriving task
// runs before the phase's waiters are released.
//
// Everything is guarded by one spin_lock (arrivals, the phase number, the expected count); the
// last arrival runs the completion function with the lock released (it may take long, or block),
// then advances the phase and wakes every waiter. Only the phase number is read without the lock
// (wait() on an already finished phase returns without touching anything else). Woken waiters
// pass through the lock before returning (list_park.hpp), so the task that completed the phase
// has left the barrier by then.
//
// Rejected design: a lock-free arrival counter (one fetch_sub per arrival, as libstdc++'s tree
// barrier): it saves the lock only for arrivals that do not complete the phase, while the phase
// change still needs the list's lock; barriers are used in rounds of tens of tasks, where one
// short critical section per arrival costs less than the tree's bookkeeping.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "list_park.hpp"
#include "misuse.hpp"
#include "parker.hpp"
#include "spin_lock.hpp"
#include "wait_list.hpp"

namespace weft::sync {

// The default completion function: does nothing.
struct noop_completion {
  void operator()() const noexcept {}
};

template <parker P, class CompletionFunction = noop_completion>
class basic_barrier {
  static_assert(std::is_nothrow_invocable_v<CompletionFunction&>,
                "barrier: the completion function must be invocable without throwing (as std)");

 public:
  // Returned by arrive(), consumed by wait(): which phase the arrival belongs to.
  class arrival_token {
   public:
    arrival_token(arrival_token&&) noexcept = default;
    arrival_token& operator=(arrival_token&&) noexcept = default;

   private:
    friend class basic_barrier;
    explicit arrival_token(std::uint64_t phase) noexcept : phase_(phase) {}
    std::uint64_t phase_;
  };

  static constexpr std::ptrdiff_t max() noexcept { return PTRDIFF_MAX; }

  // Throws std::invalid_argument if expected < 0.
  explicit basic_barrier(std::ptrdiff_t expected, CompletionFunction completion = {})
      : completion_(std::move(completion)), expected_(checked(expected)), remaining_(expected) {}
  basic_barrier(const basic_barrier&) = delete;
  basic_barrier& operator=(const basic_barrier&) = delete;

  // Precondition: no task waits. One still waiting: prints a message and terminates.
  ~basic_barrier() {
    lock_.lock();
    const std::size_t n = list_.size();
    lock_.unlock();
    if (n != 0) destroyed_with_waiters("barrier", this, n);
  }

  // Counts n arrivals in the current phase; the arrival that completes it runs the completion
  // function and releases the phase's waiters. Never blocks (but the completing call runs the
  // completion function). Throws std::invalid_argument if n <= 0 or exceeds the arrivals still
  // expected in this phase (nothing changes then).
  [[nodiscard]] arrival_token arrive(std::ptrdiff_t n = 1) {
    lock_.lock();
    if (n <= 0 || n > remaining_) {
      const std::ptrdiff_t left = remaining_;
      lock_.unlock();
      throw std::invalid_argument(
          "weft: barrier::arrive(" + std::to_string(n) + "): " +
          (n <= 0 ? std::string("n must be positive")
                  : "only " + std::to_string(left) + " arrivals are still expected in this phase"));
    }
    const std::uint64_t phase = phase_.load(std::memory_order_relaxed);  // relaxed: under lock_
    remaining_ -= n;
    if (remaining_ == 0)
      complete_locked();
    else
      lock_.unlock();
    return arrival_token(phase);
  }

  // Blocks until the phase of `token` has completed (at once if it has). A fiber parks, a
  // thread blocks. Throws the model's cancellation exception at runtime shutdown.
  void wait(arrival_token&& token) const {
    // acquire: pairs with complete_locked()'s release; the completion's effects are visible.
    if (phase_.load(std::memory_order_acquire) != token.phase_) return;
    lock_.lock();
    if (phase_.load(std::memory_order_relaxed) != token.phase_) {  // relaxed: under lock_
      lock_.unlock();
      return;
    }
    plain_waiter<P> w(P::current());
    const wake_reason r = park_on_list<P>(lock_, list_, w, no_deadline, [] {});
    if (r == wake_reason::cancelled) P::throw_cancelled();
  }

  // wait(arrive()).
  void arrive_and_wait() { wait(arrive()); }

  // Removes the calling task from the barrier: one fewer arrival is expected in every later
  // phase, and this call counts as its arrival in the current one. Never blocks. Throws
  // std::invalid_argument if no arrival is expected in this phase.
  void arrive_and_drop() {
    lock_.lock();
    if (remaining_ == 0) {
      lock_.unlock();
      throw std::invalid_argument("weft: barrier::arrive_and_drop: no arrival is expected");
    }
    --expected_;
    --remaining_;
    if (remaining_ == 0)
      complete_locked();
    else
      lock_.unlock();
  }

 private:
  static std::ptrdiff_t checked(std::ptrdiff_t expected) {
    if (expected < 0)
      throw std::invalid_argument("weft: barrier: expected count " + std::to_string(expected) +
                                  " is negative");
    return expected;
  }

  // Called with lock_ held by the arrival that completed the phase; releases it.
  void complete_locked() noexcept {
    // Every arrival of this phase is in, and arrivals for the next one must wait for its start
    // (remaining_ is 0 until then, so an early one is reported as too many): the completion
    // function runs without the lock.
    lock_.unlock();
    completion_();
    lock_.lock();
    remaining_ = expected_;
    // release: pairs with wait()'s acquire load.
    phase_.store(phase_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    notify_all_in(list_);
    lock_.unlock();
  }

  CompletionFunction completion_;
  mutable spin_lock lock_;  // guards everything below but the lock-free read of phase_
  mutable wait_list<plain_waiter<P>> list_;
  std::ptrdiff_t expected_;   // arrivals per phase (lowered by arrive_and_drop)
  std::ptrdiff_t remaining_;  // arrivals still expected in this phase
  std::atomic<std::uint64_t> phase_{0};
};

}  // namespace weft::sync
