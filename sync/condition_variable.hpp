// basic_condition_variable<P>: the condition variable of both models, written once over a
// parker P. It works with any BasicLockable — in particular std::unique_lock<basic_mutex<P>>,
// the model's own mutex — like std::condition_variable_any, with the std::stop_token overloads.
//
// Design essay
// ------------
// A waiter must not be findable by a notifier before it is parking (park_state.hpp: a notify on a
// running task is lost), yet it must release the caller's mutex before it parks, or the task that
// would change the predicate could never lock it. Between the two lies the window in which
// condition variables lose wake-ups. An epoch closes it (the futex-based designs do the same):
//
//   waiter, holding the mutex:  seen = epoch;  in_ += 1;  unlock mutex;  park(hook)
//   hook (committed to park):   under lock_: if epoch != seen, do not park (a notify came in
//                               the window: return as woken); else join the wait list
//   notify:                     if in_ == 0 return;  under lock_: ++epoch, pop and notify
//
// A notifier that changed the predicate under the mutex after the waiter released it sees the
// waiter counted in in_ (the mutex orders the two), so it bumps the epoch; either the waiter's
// hook sees the bump and stays awake, or the waiter is already listed and gets popped. A notify
// with nobody waiting is one relaxed load. notify_one can wake more than one task when several
// are in the window at once: those returns count as spurious wake-ups, which the standard allows.
//
// Lifetime: the standard lets the owner destroy a condition variable once every waiter has been
// notified, before the woken tasks return. So a task woken by notify() never touches *this again
// (list_park's after_notify::leave). in_ counts the tasks that still may: a waiter leaves it at its
// last touch — in its hook if it did not park, or in its clean-up after a timeout, a cancellation
// or a notify that lost to those — and a notifier takes a waiter out of it when its notify()
// succeeds. The destructor waits, through the parking seam (a fiber must not block its worker:
// the task it waits for may be queued on it), until in_ is zero. A task still *listed* at
// destruction has not been notified: that is misuse, reported and terminated (misuse.hpp).
//
// The other direction is the caller's to keep: a condition variable must outlive every
// notify_one()/notify_all() call on it. If a woken waiter owns the condition variable (it
// destroys it after its wait returns), call notify while holding the mutex: the waiter cannot
// return before it re-locks the mutex, so notify has returned by then.
//
// std::stop_token waits register a std::stop_callback that, under lock_, bumps the epoch and
// pops and notifies this task's waiter if it is listed. Its captures (this task's waiter record
// and *this) outlive it: ~stop_callback waits for a callback running on another thread.
//
// Rejected designs: (1) unlocking the mutex inside the park hook: it runs on the scheduler's side
// (another stack, for a fiber), where the mutex's debug owner check and any notify it makes
// would run as the wrong task; (2) a wake-up permit per task: a stale permit ends a later,
// unrelated wait early (park_state.hpp rejects it for the same reason); (3) woken waiters
// re-taking lock_ before returning (so notifiers have left): that breaks destroy-after-notify_all.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <optional>
#include <stop_token>

#include "deadline.hpp"
#include "list_park.hpp"
#include "misuse.hpp"
#include "parker.hpp"
#include "spin_lock.hpp"
#include "wait_list.hpp"

namespace weft::sync {

template <parker P>
class basic_condition_variable {
 public:
  basic_condition_variable() noexcept = default;
  basic_condition_variable(const basic_condition_variable&) = delete;
  basic_condition_variable& operator=(const basic_condition_variable&) = delete;

  // Precondition: no task waits (every waiter has been notified; woken tasks need not have
  // returned yet — the destructor waits for those still touching it). A task still waiting
  // un-notified is misuse: prints a message naming the condition variable and terminates.
  ~basic_condition_variable() {
    lock_.lock();
    if (!list_.empty()) destroyed_with_waiters("condition_variable", this, list_.size());
    while (in_.load(std::memory_order_relaxed) != 0) {  // relaxed: under lock_, like every change
      plain_waiter<P> me(P::current());
      destroyer_ = &me;
      auto publish = [this] {
        lock_.unlock();
        return true;
      };
      // Not cancellable in effect: a cancelled park just re-checks (the leaving task is coming).
      (void)P::park(publish);
      lock_.lock();
      destroyer_ = nullptr;
    }
    lock_.unlock();
  }

  // Wakes one waiting task (or, rarely, more: see the essay). Never blocks or throws. May be
  // called with or without the mutex held.
  void notify_one() noexcept { notify(false); }
  // Wakes every waiting task. Never blocks or throws.
  void notify_all() noexcept { notify(true); }

  // Releases `lk`, waits until notified (or a spurious wake-up), re-acquires `lk`. A fiber parks,
  // a thread blocks. Precondition: `lk` is held by the caller. Throws the model's cancellation
  // exception if the runtime cancels the wait at shutdown (after re-acquiring `lk`; if that
  // re-acquisition is itself cancelled, its exception propagates and `lk` is not held).
  template <class Lock>
  void wait(Lock& lk) {
    waiter w(P::current());
    block(lk, w, epoch_.load(std::memory_order_acquire), no_deadline);  // acquire: see notify()
  }
  // Waits until pred() holds (checked under `lk`). Same exceptions as wait(lk), and pred's.
  template <class Lock, class Pred>
  void wait(Lock& lk, Pred pred) {
    (void)wait_pred(lk, nullptr, forever{}, pred);
  }

  // As wait(lk), giving up at `t` / after `d`: returns cv_status::timeout if the time passed.
  template <class Lock, class Clock, class Duration>
  std::cv_status wait_until(Lock& lk, const std::chrono::time_point<Clock, Duration>& t) {
    waiter w(P::current());
    const wake_reason r =
        block(lk, w, epoch_.load(std::memory_order_acquire), steady_deadline(t));  // see wait()
    return r == wake_reason::timed_out && Clock::now() >= t ? std::cv_status::timeout
                                                            : std::cv_status::no_timeout;
  }
  template <class Lock, class Rep, class Period>
  std::cv_status wait_for(Lock& lk, const std::chrono::duration<Rep, Period>& d) {
    waiter w(P::current());
    const wake_reason r =
        block(lk, w, epoch_.load(std::memory_order_acquire), deadline_after(d));  // see wait()
    return r == wake_reason::timed_out ? std::cv_status::timeout : std::cv_status::no_timeout;
  }
  // Waits until pred() holds or the time passes; returns pred() (false: timed out).
  template <class Lock, class Clock, class Duration, class Pred>
  bool wait_until(Lock& lk, const std::chrono::time_point<Clock, Duration>& t, Pred pred) {
    return wait_pred(lk, nullptr, until<Clock, Duration>{t}, pred);
  }
  template <class Lock, class Rep, class Period, class Pred>
  bool wait_for(Lock& lk, const std::chrono::duration<Rep, Period>& d, Pred pred) {
    return wait_pred(lk, nullptr, until_steady(deadline_after(d)), pred);
  }

  // As the predicate waits, but also ends when stop is requested on `st`; returns pred()
  // (checked under `lk` after the stop request).
  template <class Lock, class Pred>
  bool wait(Lock& lk, std::stop_token st, Pred pred) {
    return wait_pred(lk, &st, forever{}, pred);
  }
  template <class Lock, class Clock, class Duration, class Pred>
  bool wait_until(Lock& lk, std::stop_token st, const std::chrono::time_point<Clock, Duration>& t,
                  Pred pred) {
    return wait_pred(lk, &st, until<Clock, Duration>{t}, pred);
  }
  template <class Lock, class Rep, class Period, class Pred>
  bool wait_for(Lock& lk, std::stop_token st, const std::chrono::duration<Rep, Period>& d,
                Pred pred) {
    return wait_pred(lk, &st, until_steady(deadline_after(d)), pred);
  }

 private:
  struct waiter : wait_node<waiter> {
    explicit waiter(typename P::waker w) noexcept : who(w) {}
    typename P::waker who;
  };

  // Deadlines of the predicate loops: none, or a time point on some clock (re-checked on that
  // clock, which may have been adjusted while we waited).
  struct forever {
    static constexpr bool timed = false;
    steady_time steady() const noexcept { return no_deadline; }
    bool passed() const noexcept { return false; }
  };
  template <class Clock, class Duration>
  struct until {
    static constexpr bool timed = true;
    std::chrono::time_point<Clock, Duration> t;
    steady_time steady() const noexcept { return steady_deadline(t); }
    bool passed() const { return Clock::now() >= t; }
  };
  using until_steady = until<std::chrono::steady_clock, std::chrono::steady_clock::duration>;

  template <class Lock, class Until, class Pred>
  bool wait_pred(Lock& lk, const std::stop_token* st, const Until& limit, Pred& pred) {
    waiter w(P::current());
    auto on_stop = [this, &w]() noexcept { wake_for_stop(w); };
    std::optional<std::stop_callback<decltype(on_stop)>> callback;
    if (st != nullptr && st->stop_possible()) callback.emplace(*st, on_stop);
    for (;;) {
      if (st != nullptr && st->stop_requested()) return pred();
      if (pred()) return true;
      if constexpr (Until::timed) {
        if (limit.passed()) return false;
      }
      // Read only now: a task woken by notify_all must not touch *this (which may be gone)
      // before its predicate says it has to wait again. `lk` is held since pred() ran, so no
      // notify owed to us can have come in between. acquire: pairs with the epoch bump of
      // wake_for_stop(); a stop request that came before that bump is visible to the re-check.
      const std::uint64_t seen = epoch_.load(std::memory_order_acquire);
      if (st != nullptr && st->stop_requested()) return pred();
      if (block(lk, w, seen, limit.steady()) == wake_reason::timed_out && limit.passed())
        return pred();
    }
  }

  // One wait: registers, releases `lk`, parks, re-acquires `lk`. `seen`: the epoch read while
  // `lk` was held.
  template <class Lock>
  wake_reason block(Lock& lk, waiter& w, std::uint64_t seen, steady_time deadline) {
    // relaxed: a notifier that must see this acquires `lk` after the unlock below (or after
    // whoever next changes the predicate under it), which orders the two.
    in_.fetch_add(1, std::memory_order_relaxed);
    try {
      lk.unlock();
    } catch (...) {  // e.g. std::unique_lock that did not own its mutex: we never waited
      in_.fetch_sub(1, std::memory_order_relaxed);  // relaxed: as above
      throw;
    }
    auto publish = [&] {
      lock_.lock();
      // relaxed: under lock_, which orders every bump.
      if (epoch_.load(std::memory_order_relaxed) != seen) {
        // A notify came in the window: do not park. Declined by claiming our own park during
        // PREPARING (park_state's NOTIFIED_EARLY path, as any notifier in the window would),
        // not by returning false, which the fiber parker mishandles for timed parks.
        leave_locked();
        const typename P::waker self = w.who;
        self.notify();
        return true;
      }
      list_.push_back(w);
      lock_.unlock();
      return true;
    };
    const wake_reason r =
        deadline == no_deadline ? P::park(publish) : P::park_until(deadline, publish);
    if (r != wake_reason::notified) {  // timeout, or cancellation: clean up (the lifetime rule)
      lock_.lock();
      list_.remove_if_linked(w);  // may already be out: a notify that lost the race popped it
      leave_locked();
    }
    lk.lock();
    if (r == wake_reason::cancelled) P::throw_cancelled();
    return r;
  }

  // Under lock_, by a waiter at its last touch of *this: leaves in_, wakes a waiting destructor
  // if it was the last, and releases lock_.
  void leave_locked() noexcept {
    // relaxed: every change of in_ that matters to the destructor is made under lock_.
    if (in_.fetch_sub(1, std::memory_order_relaxed) == 1 && destroyer_ != nullptr) {
      const typename P::waker who = destroyer_->who;
      who.notify();
    }
    lock_.unlock();
  }

  void notify(bool all) noexcept {
    // relaxed: see block(); a waiter this notify is owed to is already counted.
    if (in_.load(std::memory_order_relaxed) == 0) return;
    lock_.lock();
    bump_epoch();
    while (waiter* w = list_.pop_front()) {
      const typename P::waker who = w->who;  // a copy: once notified, the record may be gone
      if (who.notify()) {
        in_.fetch_sub(1, std::memory_order_relaxed);  // relaxed: under lock_; it won't touch us
        if (!all) break;
      }
      // else its park already ended (timeout, cancellation): it leaves in_ in its clean-up
    }
    lock_.unlock();
  }

  // The stop callback of a stop-token wait (runs in the thread that requested stop).
  void wake_for_stop(waiter& w) noexcept {
    lock_.lock();
    bump_epoch();  // a waiter between its stop check and its hook will not park
    if (list_.remove_if_linked(w)) {
      const typename P::waker who = w.who;
      if (who.notify()) in_.fetch_sub(1, std::memory_order_relaxed);  // relaxed: under lock_
    }
    lock_.unlock();
  }

  void bump_epoch() noexcept {
    // release: pairs with the acquire load of `seen` (stop requests must be visible with it).
    epoch_.store(epoch_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }

  spin_lock lock_;  // guards list_, destroyer_, epoch_ bumps and every in_ change but the first
  wait_list<waiter> list_;
  std::atomic<std::uint64_t> epoch_{0};
  std::atomic<std::uint32_t> in_{0};  // tasks inside a wait that may still touch *this
  plain_waiter<P>* destroyer_ = nullptr;
};

}  // namespace weft::sync
