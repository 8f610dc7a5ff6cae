// Steps 2 and 4 of the park protocol (parker.hpp) for a waiter kept in a wait_list under a
// spin_lock: every primitive in sync/ blocks through this one function.
//
//   lock_.lock();
//   ... decide to wait, record it in the primitive's state ...
//   waiter w{P::current()};
//   const wake_reason r = park_on_list<P>(lock_, list_, w, deadline, [&] { undo the record });
//
// The hook publishes the waiter (push, then release the lock) once the task is committed to
// parking, so a notifier never finds a waiter that is not parking yet. A park that ends by
// timeout or cancellation re-takes the lock and unlinks the waiter if it is still listed —
// `on_removed` then undoes, under the lock, what the primitive recorded for it — and only then
// returns: a notifier holding the lock may still be handling the record (the lifetime rule).
//
// After a notified park, `after_notify::pass_lock` makes the woken task take and release the lock
// once before it returns. The notifier notifies under that lock, so when the woken task gets it
// the notifier has left the primitive: the woken task may destroy the primitive at once (a latch
// or wait_group on the waiter's stack, a mutex freed by its last user) without the notifier
// touching freed memory afterwards. A condition variable passes `after_notify::leave`: the
// standard lets its owner destroy it right after notify_all, before the woken tasks return, so a
// woken waiter must not touch it again.
#pragma once

#include <cstddef>

#include "deadline.hpp"
#include "parker.hpp"
#include "spin_lock.hpp"
#include "wait_list.hpp"

namespace weft::sync {

enum class wait_place : unsigned char { back, front };
enum class after_notify : unsigned char { pass_lock, leave };

// Parks the calling task as `w` on `list` until a notifier pops it, `deadline` passes (pass
// no_deadline for none) or the runtime cancels the park. Precondition: `lock` is held by the
// caller, `w` is not linked and holds P::current(). Postcondition: `lock` is not held by the
// caller, `w` is not linked. Returns why the park ended; never throws itself (the caller handles
// wake_reason::cancelled, usually with P::throw_cancelled() once its own state is sound).
template <parker P, class W, class OnRemoved>
wake_reason park_on_list(spin_lock& lock, wait_list<W>& list, W& w, steady_time deadline,
                         OnRemoved&& on_removed, wait_place where = wait_place::back,
                         after_notify after = after_notify::pass_lock) {
  auto publish = [&] {
    if (where == wait_place::back)
      list.push_back(w);
    else
      list.push_front(w);
    lock.unlock();
    return true;
  };
  const wake_reason r =
      deadline == no_deadline ? P::park(publish) : P::park_until(deadline, publish);
  if (r == wake_reason::notified) {
    if (after == after_notify::pass_lock) {
      lock.lock();
      lock.unlock();
    }
    return r;
  }
  lock.lock();
  if (list.remove_if_linked(w)) on_removed();
  lock.unlock();
  return r;
}

// A waiter record that carries nothing but who to wake.
template <parker P>
struct plain_waiter : wait_node<plain_waiter<P>> {
  explicit plain_waiter(typename P::waker w) noexcept : who(w) {}
  typename P::waker who;
};

// Pops every waiter of `list` and notifies it (under the caller's lock). Returns how many were
// woken (a waiter whose park already ended by timeout or cancellation is dropped, not counted).
template <class W>
std::size_t notify_all_in(wait_list<W>& list) noexcept {
  std::size_t woken = 0;
  while (W* w = list.pop_front()) {
    const auto who = w->who;  // a copy: once notified, the waiter (and its record) may be gone
    if (who.notify()) ++woken;
  }
  return woken;
}

}  // namespace weft::sync
