// basic_mutex<P>: the mutex of both models (weft::os::mutex, weft::fiber::mutex), written once
// over a parker P (parker.hpp). Lockable and TimedLockable: std::lock_guard, std::unique_lock,
// std::scoped_lock, try_lock_for/try_lock_until all work.
//
// Design essay
// ------------
// One 32-bit state word carries everything the fast paths need:
//
//   bit 0  locked    held by some task
//   bit 1  woken     the wake-up token: a waiter that unlock() woke is competing for the lock, or
//                    napping (below) and bound to retry, so unlock() need not wake another one
//   bit 2  starving  hand-off mode (below)
//   3..31  waiters   how many tasks are queued in the wait list
//
// Uncontended, lock() is one CAS (0 -> locked) and unlock() one fetch_sub; unlock() touches the
// wait list (and its spin_lock) only when the word says there are waiters, nobody else holds
// the lock, nobody is already woken, or the mutex is starving. A lock() that finds the lock free
// with waiters queued takes it inline too (one more CAS): under saturation the running holder
// re-locks at that price instead of entering the slow path on every acquisition (measured: 16
// fibers on 2 workers, ~45 -> ~35 ns per increment before the nap below).
//
// Normal mode (Go's sync.Mutex): the lock is not handed over; a woken waiter competes with
// newcomers ("barging"). Newcomers are running and hot in cache, so they usually win: that keeps
// throughput high and avoids lock convoys, at the cost of fairness. A waiter that loses goes
// back to the *front* of the queue (it keeps its place and its original start time).
//
// Starvation policy: a waiter that finds, on waking, that it has waited more than
// starvation_threshold (1 ms) in total, and still cannot get the lock, switches the mutex to
// hand-off mode: unlock() then gives ownership directly to the oldest waiter (the word stays
// "unlocked but starving", which no other task may take), newcomers queue at the back without
// spinning or barging, and try_lock() fails. The mutex returns to normal mode when a waiter that
// receives it waited less than the threshold, or was the last one queued. So no waiter waits
// much longer than ~1 ms plus one pass through the queue, while in the common case the lock stays
// in the fast barging mode. The clock is read only on the slow path: when a task first queues
// and each time it is woken.
//
// Spinning: before queuing, a task spins briefly (max_spins rounds of pauses_per_spin PAUSEs,
// ~1 µs here) while the lock is held in normal mode, but only if the holder may be running on
// another CPU (owner.hpp's holder_hint) and nobody is queued yet. Fibers are cooperative, so a
// holder is never preempted: if it runs on the other worker the lock typically comes free within
// a short critical section and the spin saves a park, a switch and a wake-up. A holder that
// acquired on the spinner's own thread is suspended (it yielded or parked while holding the
// lock): spinning could only delay it, so the task queues at once. A holder parked elsewhere
// cannot be told apart from a running one; the spin bound caps that loss. Once tasks are queued
// the lock is saturated: a spinner would only overtake them and pull the lock's cache line away
// from a holder that re-locks at once — measured on 2 workers with 16 fibers, spinning then kept
// both workers trading the lock (a cache-line transfer per few acquisitions) and doubled the time
// per increment. Go's sync.Mutex avoids the same loss by not spinning while its P has other work
// to run; the parking seam offers no such hint, and the queue says the same thing here.
//
// Napping: a woken waiter that finds the lock held again by a holder that may be running
// elsewhere has lost to a barging holder: the lock is hot on another CPU. Re-queuing plainly
// would drop the token, so the holder's very next unlock would wake it (or another) again — with
// fibers, a wake-up into the holder's next slot that the idle worker steals a few microseconds
// later, only to lose again: a wake/steal/park cycle every ~5 µs, each costing the holder the
// cache lines of the word, the list, the waiter and the run queue. Instead it re-queues at the
// front *keeping the token* and parks with a timeout of `nap` (20 µs): unlocks meanwhile see
// `woken` and return at once, and the napper retries when the nap ends (or takes a hand-off).
// The lock is therefore never left with waiters and nobody bound to retry, and a lock released
// for good waits at most one nap for its next owner (newcomers may still take it at once). A
// napper that has starved (waited over the threshold) does not nap: it queues normally and sets
// hand-off mode, so the starvation bound holds, delayed by at most one nap. Measured, 16 fibers
// x 100k increments on 2 workers, means of 24 runs: wake-ups per run ~220 -> ~16, steals ~130 ->
// ~12, slow-path entries ~460 -> ~70 (the original design, spinning with a queue and a fast path
// for a zero word only, entered the slow path on ~70% of all 1.6M acquisitions). The same holds
// for threads, where the wake-up saved is a futex system call on the holder's path. A holder
// that acquired on the waiter's own worker is suspended, not hot: that waiter queues normally and
// is woken at its unlock.
//
// Waking and the wait list: the waiter count in the word changes only under the list's spin_lock,
// together with the list itself, so a task that sees a nonzero count and takes the spin_lock
// finds the waiters listed. A locker adds itself with a CAS that fails if the lock came free
// meanwhile, so an unlock can never miss a waiter that queued concurrently. Waiters follow the
// park protocol (parker.hpp, via list_park.hpp); a woken waiter passes through the spin_lock
// once, so the unlocker has left the mutex before the waiter can lock, unlock and destroy it.
//
// Rejected designs: (1) a FIFO hand-off lock (ticket or MCS style): fair, but every contended
// acquisition becomes a park plus a wake-up — with fibers a context switch per lock — and a
// preempted thread at the head stalls all (convoys). (2) Pure barging without a starvation mode
// (Go before 1.9): a waiter can lose indefinitely to a loop that unlocks and relocks. (3) Waking
// on every unlock with waiters (no `woken` bit): a wake-up per unlock even while woken tasks are
// still on their way, which under contention costs more than the critical section.
// (4) Unconditional adaptive spinning (glibc's PTHREAD_MUTEX_ADAPTIVE_NP): spins even when the
// holder is a suspended fiber on the spinner's own worker. (5) A woken waiter that spins while
// it holds the token (Go's): with a holder re-locking at once on another CPU, every poll pulls
// the word's cache line away from it; napping costs it one transfer per nap. (6) Newcomers
// deferring to a queue (no barging once tasks are queued): every acquisition under saturation
// would become a park and a wake-up, design (1) again.
//
// Debug builds (!NDEBUG) record the owning task: unlock() by a task that does not hold the mutex,
// and lock() by the task that holds it, throw std::system_error naming the problem. Every build:
// destroying a mutex while tasks are queued on it prints a message and terminates (misuse.hpp).
#pragma once

#include <chrono>
#include <cstdint>

#include "cpu_relax.hpp"
#include "deadline.hpp"
#include "list_park.hpp"
#include "misuse.hpp"
#include "owner.hpp"
#include "parker.hpp"
#include "spin_lock.hpp"
#include "wait_list.hpp"

namespace weft::sync {

template <parker P>
class basic_mutex {
 public:
  // A waiter that has waited longer than this in total switches the mutex to hand-off mode.
  static constexpr std::chrono::nanoseconds starvation_threshold = std::chrono::milliseconds(1);
  // Spin budget before queuing: max_spins rounds of pauses_per_spin spin_pause() each.
  static constexpr int max_spins = 16;
  static constexpr int pauses_per_spin = 4;
  // How long a woken waiter that lost to a holder that may be running elsewhere naps, keeping
  // the `woken` token (see "Napping"); 20, 50 and 100 µs measured alike on 2 workers.
  static constexpr std::chrono::nanoseconds nap = std::chrono::microseconds(20);

  basic_mutex() noexcept = default;
  basic_mutex(const basic_mutex&) = delete;
  basic_mutex& operator=(const basic_mutex&) = delete;

  // Precondition: no task holds or waits for the mutex. Tasks still queued are misuse: prints a
  // message naming the mutex and calls std::terminate.
  ~basic_mutex() {
    const std::uint32_t s = state_.load(std::memory_order_relaxed);  // relaxed: last access
    if ((s >> waiter_shift) != 0) destroyed_with_waiters("mutex", this, s >> waiter_shift);
  }

  // Blocks until the calling task holds the mutex: a fiber parks (its worker runs others), a
  // plain thread blocks. Not recursive. Throws the model's cancellation exception
  // (weft::fiber::cancelled) if the runtime cancels the wait at shutdown; debug builds throw
  // std::system_error (resource_deadlock_would_occur) if the caller already holds it.
  void lock() {
    owner_.check_not_held_by_caller("mutex");
    // Free (even with tasks queued, which then lose to us: barging): take it here; one CAS when
    // uncontended. The slow path is for a lock that is held or promised (hand-off mode).
    std::uint32_t s = 0;
    // acquire: pairs with unlock()'s release; the previous holder's writes are visible.
    while (!state_.compare_exchange_weak(s, s | locked, std::memory_order_acquire,
                                         std::memory_order_relaxed)) {
      if ((s & (locked | starving)) != 0) {
        lock_slow(no_deadline);
        break;
      }
    }
    acquired();
  }

  // Takes the mutex if it is free right now. Never blocks or throws. May fail while the mutex is
  // free but in hand-off mode (it is promised to a waiter).
  [[nodiscard]] bool try_lock() noexcept {
    std::uint32_t s = state_.load(std::memory_order_relaxed);  // relaxed: the CAS decides
    while ((s & (locked | starving)) == 0) {
      // acquire: pairs with unlock()'s release.
      if (state_.compare_exchange_weak(s, s | locked, std::memory_order_acquire,
                                       std::memory_order_relaxed)) {
        acquired();
        return true;
      }
    }
    return false;
  }

  // As lock(), but gives up once `d` has elapsed (or `t` has passed on Clock): returns whether
  // the calling task now holds the mutex. Same exceptions as lock().
  template <class Rep, class Period>
  [[nodiscard]] bool try_lock_for(const std::chrono::duration<Rep, Period>& d) {
    return try_lock() || lock_before(deadline_after(d));
  }
  template <class Clock, class Duration>
  [[nodiscard]] bool try_lock_until(const std::chrono::time_point<Clock, Duration>& t) {
    return try_lock() || retry_until(t, [this](steady_time d) { return lock_before(d); });
  }

  // Releases the mutex; wakes one waiter, or hands the mutex to the oldest one in hand-off mode.
  // Precondition: the calling task holds it (debug builds: else throws std::system_error,
  // operation_not_permitted). Never blocks.
  void unlock() {
    owner_.releasing("mutex");
    // release: pairs with the acquire of whoever takes the mutex next (CAS or hand-off).
    const std::uint32_t s = state_.fetch_sub(locked, std::memory_order_release) - locked;
    // A wake-up is due in hand-off mode, or when tasks are queued and nobody (neither a new
    // holder nor a woken waiter) is already on its way to the lock.
    if ((s & starving) != 0 || ((s >> waiter_shift) != 0 && (s & (locked | woken)) == 0))
      unlock_slow(s);
  }

 private:
  static constexpr std::uint32_t locked = 1;
  static constexpr std::uint32_t woken = 2;
  static constexpr std::uint32_t starving = 4;
  static constexpr int waiter_shift = 3;
  static constexpr std::uint32_t one_waiter = 1u << waiter_shift;

  struct waiter : wait_node<waiter> {
    explicit waiter(typename P::waker w) noexcept : who(w) {}
    typename P::waker who;
    steady_time since{};   // when this lock() call first queued (zero: not yet)
    bool handoff = false;  // set by the unlocker: ownership was handed over (hand-off mode)
  };

  void acquired() noexcept {
    holder_.acquired();
    owner_.acquired();
  }

  bool lock_before(steady_time deadline) {
    owner_.check_not_held_by_caller("mutex");
    if (!lock_slow(deadline)) return false;
    acquired();
    return true;
  }

  // Returns true once the caller holds the mutex, false if `deadline` passed first.
  bool lock_slow(steady_time deadline) {
    waiter w(P::current());
    bool awoke = false;    // the caller holds the `woken` token: it must clear it
    bool starved = false;  // the caller has waited longer than starvation_threshold
    int spins = 0;
    std::uint32_t s = state_.load(std::memory_order_relaxed);  // relaxed: CASes decide
    for (;;) {
      // Spin only while held in normal mode with nobody queued, by a holder that may be running.
      if (s == locked && spins < max_spins && holder_.may_be_running_elsewhere()) {
        for (int i = 0; i < pauses_per_spin; ++i) spin_pause();
        ++spins;
        s = state_.load(std::memory_order_relaxed);
        continue;
      }
      if ((s & (locked | starving)) == 0) {
        const std::uint32_t next = awoke ? (s | locked) & ~woken : s | locked;
        // acquire: pairs with unlock()'s release.
        if (state_.compare_exchange_weak(s, next, std::memory_order_acquire,
                                         std::memory_order_relaxed))
          return true;
        continue;
      }
      if (deadline != no_deadline && std::chrono::steady_clock::now() >= deadline) {
        if (awoke) state_.fetch_and(~woken, std::memory_order_relaxed);  // relaxed: a flag
        return false;
      }
      // Queue: under the list's lock, count ourselves in the word unless the mutex came free.
      lock_.lock();
      s = state_.load(std::memory_order_relaxed);  // relaxed: lock_ orders the list; CAS decides
      bool queued = false;
      bool napping = false;
      while ((s & (locked | starving)) != 0) {
        // A woken waiter that lost to a holder that may be running elsewhere naps instead.
        napping = awoke && !starved && (s & (locked | starving)) == locked &&
                  holder_.may_be_running_elsewhere();
        std::uint32_t next = s + one_waiter;
        if (awoke && !napping) next &= ~woken;
        if (starved && (s & locked) != 0) next |= starving;
        // relaxed: the list is ordered by lock_; acquiring the mutex later has its own acquire.
        if (state_.compare_exchange_weak(s, next, std::memory_order_relaxed,
                                         std::memory_order_relaxed)) {
          queued = true;
          break;
        }
      }
      if (!queued) {  // it came free meanwhile: compete for it again
        lock_.unlock();
        continue;
      }
      awoke = napping;
      const bool requeue = w.since != steady_time{};
      const steady_time now = std::chrono::steady_clock::now();
      if (!requeue) w.since = now;
      w.handoff = false;
      const steady_time until =
          napping && (deadline == no_deadline || now + nap < deadline) ? now + nap : deadline;
      const wake_reason r = park_on_list<P>(
          lock_, list_, w, until,
          // relaxed: under lock_, which orders every change of the count.
          [this] { state_.fetch_sub(one_waiter, std::memory_order_relaxed); },
          requeue ? wait_place::front : wait_place::back);
      if (r != wake_reason::notified && (r == wake_reason::cancelled || until == deadline)) {
        if (napping) state_.fetch_and(~woken, std::memory_order_relaxed);  // relaxed: a flag
        if (r == wake_reason::cancelled) P::throw_cancelled();
        return false;
      }
      starved = starved || std::chrono::steady_clock::now() - w.since > starvation_threshold;
      if (w.handoff) {
        take_handoff(starved, napping);
        return true;
      }
      awoke = true;  // unlock() set `woken` for us, or we kept it through the nap
      spins = 0;
      s = state_.load(std::memory_order_relaxed);
    }
  }

  // The unlocker left the mutex unlocked in hand-off mode and dequeued us: nobody else may take
  // it. Lock it; leave hand-off mode if we did not starve or nobody else is queued.
  void take_handoff(bool starved, bool holds_woken) noexcept {
    std::uint32_t s = state_.load(std::memory_order_relaxed);  // relaxed: the CAS decides
    for (;;) {
      std::uint32_t next = s | locked;
      if (holds_woken) next &= ~woken;
      if (!starved || (s >> waiter_shift) == 0) next &= ~starving;
      // acquire: pairs with the unlocker's release fetch_sub.
      if (state_.compare_exchange_weak(s, next, std::memory_order_acquire,
                                       std::memory_order_relaxed))
        return;
    }
  }

  // `s`: the word just after unlock() cleared `locked`.
  void unlock_slow(std::uint32_t s) noexcept {
    if ((s & starving) != 0) {
      wake_one(/*handoff=*/true);
      return;
    }
    for (;;) {
      // Nobody queued; or the lock was taken again (its holder wakes at its unlock); or a woken
      // waiter is already competing for it: no wake-up needed.
      if ((s >> waiter_shift) == 0 || (s & (locked | woken | starving)) != 0) return;
      // relaxed: `woken` is a flag; the wake-up itself is ordered by lock_ and the park state.
      if (state_.compare_exchange_weak(s, s | woken, std::memory_order_relaxed,
                                       std::memory_order_relaxed))
        break;
    }
    wake_one(/*handoff=*/false);
  }

  // Dequeues the oldest waiter whose park is still standing and wakes it; in hand-off mode it
  // then owns the mutex. If none is left, drops the `woken` token (normal mode) or leaves
  // hand-off mode (the queue drained).
  void wake_one(bool handoff) noexcept {
    lock_.lock();
    bool delivered = false;
    while (waiter* w = list_.pop_front()) {
      // relaxed: under lock_, which orders every change of the count.
      state_.fetch_sub(one_waiter, std::memory_order_relaxed);
      w->handoff = handoff;  // published to the waiter by notify()'s release
      const typename P::waker who = w->who;
      if (who.notify()) {
        delivered = true;
        break;
      }
    }
    // relaxed: flags; whoever competes next re-reads the word with CASes.
    if (!delivered) state_.fetch_and(handoff ? ~starving : ~woken, std::memory_order_relaxed);
    lock_.unlock();
  }

  std::atomic<std::uint32_t> state_{0};
  holder_hint holder_;
  [[no_unique_address]] owner_record<P> owner_;
  spin_lock lock_;  // guards list_ and every change of the waiter count
  wait_list<waiter> list_;
};

}  // namespace weft::sync
