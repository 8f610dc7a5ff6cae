// basic_counting_semaphore<P, Max>: std::counting_semaphore for both models.
//
// One 64-bit word: the count shifted left by one, and bit 0 set while tasks are queued. acquire()
// with a permit available and release() with nobody queued are one CAS each. A release that finds
// the bit set takes the list's spin_lock and hands its permits directly to the oldest waiters
// (each woken waiter returns owning one; it does not compete for it again), then adds what is
// left to the count. A waiter sets the bit with a CAS that fails if a permit appeared meanwhile,
// so no release can miss a waiter. Woken waiters pass through the spin_lock before returning
// (list_park.hpp), so the releaser has left the semaphore by the time a waiter could destroy it.
//
// Rejected design: waking a waiter that then competes for the permit (Go's sema without
// hand-off): under contention newcomers take the permits and woken waiters park again, which
// costs a wake-up for nothing and lets waiters starve; with the hand-off a permit given to a
// queued waiter is the waiter's.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "deadline.hpp"
#include "list_park.hpp"
#include "misuse.hpp"
#include "parker.hpp"
#include "spin_lock.hpp"
#include "wait_list.hpp"

namespace weft::sync {

// The default Max of counting_semaphore: the largest count the word holds.
inline constexpr std::ptrdiff_t semaphore_max = INT64_MAX >> 1;

template <parker P, std::ptrdiff_t Max = semaphore_max>
class basic_counting_semaphore {
  static_assert(Max >= 0 && Max <= semaphore_max, "counting_semaphore: Max out of range");

 public:
  static constexpr std::ptrdiff_t max() noexcept { return Max; }

  // Throws std::invalid_argument unless 0 <= desired <= max().
  explicit basic_counting_semaphore(std::ptrdiff_t desired) : word_(encode(checked(desired))) {}
  basic_counting_semaphore(const basic_counting_semaphore&) = delete;
  basic_counting_semaphore& operator=(const basic_counting_semaphore&) = delete;

  // Precondition: no task waits. One still waiting: prints a message and terminates.
  ~basic_counting_semaphore() {
    lock_.lock();
    const std::size_t n = list_.size();
    lock_.unlock();
    if (n != 0) destroyed_with_waiters("counting_semaphore", this, n);
  }

  // Adds `update` permits, handing them to queued waiters first. Never blocks. Throws
  // std::invalid_argument if update < 0 or the count would exceed max() (nothing changes then).
  void release(std::ptrdiff_t update = 1) {
    if (update < 0) throw std::invalid_argument("weft: counting_semaphore::release: negative");
    if (update == 0) return;
    std::uint64_t s = word_.load(std::memory_order_relaxed);  // relaxed: the CAS decides
    while ((s & queued) == 0) {
      check_room(s, update);
      // release: pairs with acquire()'s acquire CAS: the releaser's writes are visible.
      if (word_.compare_exchange_weak(s, s + encode(update), std::memory_order_release,
                                      std::memory_order_relaxed))
        return;
    }
    release_slow(update);
  }

  // Takes a permit, blocking until one is available. A fiber parks, a thread blocks. Throws the
  // model's cancellation exception at runtime shutdown.
  void acquire() {
    if (!try_acquire()) (void)acquire_slow(no_deadline);
  }

  // Takes a permit if one is available now. Never blocks or throws.
  [[nodiscard]] bool try_acquire() noexcept {
    std::uint64_t s = word_.load(std::memory_order_relaxed);  // relaxed: the CAS decides
    while ((s >> 1) != 0) {
      // acquire: pairs with release()'s release.
      if (word_.compare_exchange_weak(s, s - encode(1), std::memory_order_acquire,
                                      std::memory_order_relaxed))
        return true;
    }
    return false;
  }

  // As acquire(), giving up after `d` / at `t`: returns whether a permit was taken.
  template <class Rep, class Period>
  [[nodiscard]] bool try_acquire_for(const std::chrono::duration<Rep, Period>& d) {
    return try_acquire() || acquire_slow(deadline_after(d));
  }
  template <class Clock, class Duration>
  [[nodiscard]] bool try_acquire_until(const std::chrono::time_point<Clock, Duration>& t) {
    return try_acquire() || retry_until(t, [this](steady_time d) { return acquire_slow(d); });
  }

 private:
  static constexpr std::uint64_t queued = 1;
  static constexpr std::uint64_t encode(std::ptrdiff_t n) noexcept {
    return static_cast<std::uint64_t>(n) << 1;
  }
  static std::ptrdiff_t checked(std::ptrdiff_t desired) {
    if (desired < 0 || desired > Max)
      throw std::invalid_argument("weft: counting_semaphore: initial count " +
                                  std::to_string(desired) + " is outside [0, max()]");
    return desired;
  }
  static void check_room(std::uint64_t s, std::ptrdiff_t update) {
    const auto count = static_cast<std::ptrdiff_t>(s >> 1);
    if (update > Max - count)
      throw std::invalid_argument("weft: counting_semaphore::release(" + std::to_string(update) +
                                  ") would raise the count (" + std::to_string(count) +
                                  ") above max() (" + std::to_string(Max) + ")");
  }

  void release_slow(std::ptrdiff_t update) {
    lock_.lock();
    std::uint64_t s = word_.load(std::memory_order_relaxed);  // relaxed: under lock_; CAS below
    try {
      check_room(s, update);
    } catch (...) {
      lock_.unlock();
      throw;
    }
    while (update > 0 && !list_.empty()) {
      plain_waiter<P>* w = list_.pop_front();
      const typename P::waker who = w->who;  // a copy: once notified, the record may be gone
      if (who.notify()) --update;            // that waiter owns the permit now
    }
    for (;;) {
      std::uint64_t next = s + encode(update);
      if (list_.empty()) next &= ~queued;
      // release: pairs with acquire()'s acquire CAS, for the permits left in the count.
      if (word_.compare_exchange_weak(s, next, std::memory_order_release,
                                      std::memory_order_relaxed))
        break;
    }
    lock_.unlock();
  }

  // Returns true once a permit is the caller's, false if `deadline` passed first.
  bool acquire_slow(steady_time deadline) {
    lock_.lock();
    std::uint64_t s = word_.load(std::memory_order_relaxed);  // relaxed: the CASes decide
    for (;;) {
      if ((s >> 1) != 0) {
        // acquire: pairs with release()'s release.
        if (word_.compare_exchange_weak(s, s - encode(1), std::memory_order_acquire,
                                        std::memory_order_relaxed)) {
          lock_.unlock();
          return true;
        }
        continue;
      }
      // relaxed: under lock_; a release that must see the bit CASes this word.
      if ((s & queued) != 0 || word_.compare_exchange_weak(s, s | queued, std::memory_order_relaxed,
                                                           std::memory_order_relaxed))
        break;
    }
    plain_waiter<P> w(P::current());
    const wake_reason r = park_on_list<P>(lock_, list_, w, deadline, [this] {
      // relaxed: under lock_, which orders every change of the bit.
      if (list_.empty()) word_.fetch_and(~queued, std::memory_order_relaxed);
    });
    if (r == wake_reason::cancelled) P::throw_cancelled();
    return r == wake_reason::notified;  // notified: the releaser handed us a permit
  }

  std::atomic<std::uint64_t> word_;
  spin_lock lock_;  // guards list_ and the setting and clearing of `queued`
  wait_list<plain_waiter<P>> list_;
};

}  // namespace weft::sync
