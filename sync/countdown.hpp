// basic_countdown<P>: a counter that tasks wait on until it reaches zero — the engine of latch,
// wait_group and event (each gives it its own names and rules for changing the count).
//
// One 64-bit word: the count shifted left by one, and bit 0 set while tasks are queued. A change
// of the count that does not reach zero, and a wait that finds zero, are one atomic operation
// each. A change that reaches zero with the bit set clears it in the same CAS and then wakes
// every queued task under the list's spin_lock; a waiter sets the bit with a CAS that fails if
// the count reached zero meanwhile, so no zero transition can miss a waiter.
//
// Lifetime: a woken waiter passes through the spin_lock before it returns (list_park.hpp), so the
// task that brought the count to zero has left the object by then, and the waiter may destroy it
// (the usual latch or wait_group on the waiting task's stack). A change that reaches zero with no
// task queued touches nothing after its CAS, so a waiter that saw zero without queuing may
// destroy it too.
#pragma once

#include <atomic>
#include <cstdint>

#include "deadline.hpp"
#include "list_park.hpp"
#include "misuse.hpp"
#include "parker.hpp"
#include "spin_lock.hpp"
#include "wait_list.hpp"

namespace weft::sync {

template <parker P>
class basic_countdown {
 public:
  // The largest count the word holds.
  static constexpr std::int64_t max_count = INT64_MAX >> 1;

  // Precondition: 0 <= initial <= max_count (the wrappers check and throw).
  explicit basic_countdown(std::int64_t initial) noexcept
      : word_(static_cast<std::uint64_t>(initial) << 1) {}
  basic_countdown(const basic_countdown&) = delete;
  basic_countdown& operator=(const basic_countdown&) = delete;

  // `what` names the wrapping primitive in the misuse report. Waiters still queued: terminates.
  void check_no_waiters(const char* what) noexcept {
    lock_.lock();
    const std::size_t n = list_.size();
    lock_.unlock();
    if (n != 0) destroyed_with_waiters(what, this, n);
  }

  std::int64_t value() const noexcept {
    // acquire: pairs with update()'s release; what the changers did before is visible.
    return static_cast<std::int64_t>(word_.load(std::memory_order_acquire) >> 1);
  }

  // Replaces the count c by next(c) atomically (next may be called more than once, and may throw:
  // then nothing changed); wakes every queued task if the count reaches zero. Returns the new
  // count. Never blocks. Precondition: next returns a value in [0, max_count].
  template <class Next>
  std::int64_t update(Next next) {
    std::uint64_t s = word_.load(std::memory_order_relaxed);  // relaxed: the CAS decides
    for (;;) {
      const std::int64_t c = next(static_cast<std::int64_t>(s >> 1));
      const bool wake = c == 0 && (s & queued) != 0;
      const std::uint64_t n = static_cast<std::uint64_t>(c) << 1 | (wake ? 0 : (s & queued));
      // acq_rel: release publishes the changer's writes to waiters (their acquire loads); acquire
      // orders this change after the previous ones (a count is a chain of hand-offs).
      if (word_.compare_exchange_weak(s, n, std::memory_order_acq_rel, std::memory_order_relaxed)) {
        if (wake) {
          lock_.lock();
          notify_all_in(list_);
          lock_.unlock();
        }
        return c;
      }
    }
  }

  // Blocks until the count is zero: returns true; false if `deadline` passed first. A fiber
  // parks, a thread blocks. Throws the model's cancellation exception at runtime shutdown.
  bool wait(steady_time deadline = no_deadline) {
    if (value() == 0) return true;
    lock_.lock();
    std::uint64_t s = word_.load(std::memory_order_acquire);  // acquire: as in value()
    for (;;) {
      if ((s >> 1) == 0) {
        lock_.unlock();
        return true;
      }
      // acquire (both ways): as in value(), when the reload finds the count at zero; the bit
      // itself is ordered by lock_ and by the zero transition's CAS on this word.
      if ((s & queued) != 0 || word_.compare_exchange_weak(s, s | queued, std::memory_order_acquire,
                                                           std::memory_order_acquire))
        break;
    }
    plain_waiter<P> w(P::current());
    const wake_reason r = park_on_list<P>(lock_, list_, w, deadline, [this] {
      // The last waiter left by timeout or cancellation: drop the bit (relaxed: under lock_).
      if (list_.empty()) word_.fetch_and(~queued, std::memory_order_relaxed);
    });
    if (r == wake_reason::cancelled) P::throw_cancelled();
    // A timeout that lost to the zero transition still counts as zero reached.
    return r == wake_reason::notified || value() == 0;
  }

 private:
  static constexpr std::uint64_t queued = 1;

  std::atomic<std::uint64_t> word_;
  spin_lock lock_;  // guards list_ and the setting of `queued`
  wait_list<plain_waiter<P>> list_;
};

}  // namespace weft::sync
