// The shared state of one channel and its algorithms, written once over a parker P
// (sync/parker.hpp): weft::os channels use sync::std_parker, weft::fiber channels the hybrid
// fiber parker.
//
// Design essay
// ------------
// State, all of it guarded by one sync::spin_lock: a FIFO buffer (ring.hpp) of at most
// `capacity` values (unbounded: no limit; 0: a rendezvous, nothing is ever buffered), a wait
// list of parked receivers and one of parked senders, the number of sender and receiver handles,
// and a `closed` flag. The lock is ownerless because a fiber's park hook releases it on the
// scheduler's stack; nobody ever blocks or parks while holding it.
//
// Hand-off, as in Go's runtime (chan.go): a sender that finds a parked receiver moves its value
// straight into the receiver's waiter record, sets the record's outcome and notify()s it — the
// buffer is not touched, so the woken receiver needs no lock to pick the value up. A receiver
// that finds a parked sender on a rendezvous channel takes the value straight out of the
// sender's record; on a full bounded channel it takes the buffer's head and moves the parked
// sender's value into the freed slot (so per-sender FIFO order holds). Either way every wake is
// final: a woken party never retries, it reads `outcome` (ok, or disconnected when woken by a
// close) and returns. Invariants that follow: a live receiver waits only while the buffer is
// empty; a live sender waits only while the buffer is full (for n == 0: always).
//
// notify() is called under the lock (the seam's lifetime rule). It returns false when the
// waiter's park already ended by timeout or cancellation; the notifier then undoes what it
// handed over — takes the value back out of the receiver's record, or puts it back into the
// sender's — and tries the next waiter, all before unlocking. The woken-by-timeout party takes
// the lock before it leaves, unlinks its record if a notifier has not, and finds its own value
// (if it was sending) back in its record. So a value is always in exactly one place: the
// buffer, one waiter record, or the result returned to a caller.
//
// Waiters of a parked select (select.hpp) sit in these same lists with a select_token: a
// notifier that pops one first claims the token (claim_front below); a waiter whose select was
// already claimed by another case is dropped from the list and skipped.
//
// Disconnection: the last sender handle gone, or close(), marks the channel so that sends fail
// at once and receivers drain the buffer, then see disconnected; every parked party is woken
// with outcome disconnected (a parked sender gets its value back). The last receiver gone
// wakes parked senders the same way and destroys the buffered values, which nobody can receive
// any more — outside the lock, because a value's destructor may itself use a channel.
//
// Rejected designs: (1) a lock-free ring for the buffered case (Vyukov's bounded MPMC queue):
// fast while values flow, but blocking still needs the wait lists and a lock to close the race
// between "buffer empty" and "enqueue waiter", and select needs every channel's state stable
// while it decides, which a lock gives for free; (2) waking a parked party and letting it retry
// (Boost.Fiber's channels): one more lock round trip per wake, a thundering herd on close, and
// no rendezvous guarantee ("send returns once a receiver took the value") without a second
// hand-shake.
#pragma once

#include <chrono>
#include <cstddef>
#include <limits>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>

#include <weft/sync/deadline.hpp>
#include <weft/sync/parker.hpp>
#include <weft/sync/spin_lock.hpp>
#include <weft/sync/wait_list.hpp>

#include "result.hpp"
#include "ring.hpp"
#include "waiter.hpp"

namespace weft::chan::detail {

// How long an operation may block.
enum class wait_kind : unsigned char { forever, none, until };

template <class T, class P>
class core {
  static_assert(sync::parker<P>);
  static_assert(std::is_nothrow_move_constructible_v<T> && std::is_nothrow_destructible_v<T>,
                "weft channels need a value type that is nothrow move-constructible and "
                "destructible: values are moved under the channel's lock and during wake-ups, "
                "which cannot be undone half-way");

 public:
  using waiter_t = waiter<T, P>;
  using clock = std::chrono::steady_clock;
  static constexpr std::size_t unbounded = std::numeric_limits<std::size_t>::max();

  // A channel with one sender and one receiver handle.
  explicit core(std::size_t capacity) noexcept : cap_(capacity) {}
  core(const core&) = delete;
  core& operator=(const core&) = delete;

  sync::spin_lock& lock() noexcept { return lock_; }
  std::size_t capacity() const noexcept { return cap_; }

  // --- handles ---------------------------------------------------------------------------

  void add_sender() noexcept {
    std::lock_guard lk(lock_);
    ++senders_;
  }
  void add_receiver() noexcept {
    std::lock_guard lk(lock_);
    ++receivers_;
  }

  // One sender handle gone; the last one disconnects the channel for its receivers. Returns
  // true if no handle of either kind is left: the caller deletes the core.
  bool drop_sender() noexcept {
    std::lock_guard lk(lock_);
    if (--senders_ == 0) wake_all_locked(recvq_);
    return senders_ == 0 && receivers_ == 0;
  }

  // One receiver handle gone; the last one fails every parked and future send and destroys
  // what is buffered. Returns true if the caller must delete the core.
  bool drop_receiver() noexcept {
    ring<T> doomed;  // destroyed after the lock is released (declared first)
    std::lock_guard lk(lock_);
    if (--receivers_ == 0) {
      wake_all_locked(sendq_);
      buf_.swap(doomed);
    }
    return senders_ == 0 && receivers_ == 0;
  }

  // Disconnects the channel: sends fail from now on, receivers drain the buffer and then see
  // disconnected, parked senders get their values back. Idempotent.
  void close() noexcept {
    std::lock_guard lk(lock_);
    if (closed_) return;
    closed_ = true;
    wake_all_locked(recvq_);
    wake_all_locked(sendq_);
  }

  // --- blocking operations ---------------------------------------------------------------

  // Sends v: hands it to a parked receiver, else buffers it if there is room, else waits as
  // `kind` allows (until `deadline` for wait_kind::until). Throws std::bad_alloc if an
  // unbounded buffer cannot grow (the value is then lost), P's cancellation exception if the
  // park is cancelled.
  send_result<T> send(T&& v, wait_kind kind, clock::time_point deadline = {}) {
    status fail = status::full;
    adjust(kind, deadline, fail);
    std::unique_lock lk(lock_);
    if (send_disconnected_locked()) return {status::disconnected, std::move(v)};
    T* src = &v;
    std::optional<T> spare;
    if (offer_locked(src, spare)) return {};
    if (kind == wait_kind::none) return {fail, std::move(*src)};

    waiter_t me(P::current());
    me.value.emplace(std::move(*src));
    sendq_.push_back(me);
    lk.release();  // the park hook unlocks
    const sync::wake_reason r = park(kind, deadline);
    if (r == sync::wake_reason::notified) {
      if (me.outcome == status::ok) return {};
      return {status::disconnected, std::move(*me.value)};
    }
    {
      std::lock_guard relock(lock_);  // a notifier may still hold our record
      sendq_.remove_if_linked(me);
    }
    if (r == sync::wake_reason::cancelled) P::throw_cancelled();
    return {status::timeout, std::move(*me.value)};  // a failed notifier gave it back
  }

  // Receives a value: the buffer's head, else a parked sender's value, else waits as `kind`
  // allows. Throws P's cancellation exception if the park is cancelled.
  recv_result<T> recv(wait_kind kind, clock::time_point deadline = {}) {
    status fail = status::empty;
    adjust(kind, deadline, fail);
    std::unique_lock lk(lock_);
    std::optional<T> out;
    if (take_locked(out)) return recv_result<T>(std::move(*out));
    if (recv_disconnected_locked()) return recv_result<T>(status::disconnected);
    if (kind == wait_kind::none) return recv_result<T>(fail);

    waiter_t me(P::current());
    recvq_.push_back(me);
    lk.release();
    const sync::wake_reason r = park(kind, deadline);
    if (r == sync::wake_reason::notified) {
      if (me.outcome == status::ok) return recv_result<T>(std::move(*me.value));
      return recv_result<T>(status::disconnected);
    }
    {
      std::lock_guard relock(lock_);
      recvq_.remove_if_linked(me);
    }
    if (r == sync::wake_reason::cancelled) P::throw_cancelled();
    return recv_result<T>(status::timeout);
  }

  // --- steps under the lock, shared with select ------------------------------------------

  // A send can never succeed: closed, or no receiver handle left.
  bool send_disconnected_locked() const noexcept { return closed_ || receivers_ == 0; }
  // Once the buffer is drained, a receive can never succeed: closed, or no sender handle left.
  bool recv_disconnected_locked() const noexcept { return closed_ || senders_ == 0; }

  // Hands *src to a parked receiver, or buffers it if there is room. True if done. A hand-over
  // whose notify() lost moves the value into `spare` and repoints src there, so on false the
  // value is at *src. Throws std::bad_alloc if the buffer cannot grow.
  bool offer_locked(T*& src, std::optional<T>& spare) {
    while (waiter_t* w = claim_front(recvq_)) {
      w->value.emplace(std::move(*src));
      w->outcome = status::ok;
      if (w->who.notify()) return true;
      spare.emplace(std::move(*w->value));  // its park ended by timeout/cancel: take it back
      w->value.reset();
      src = &*spare;
    }
    if (buf_.size() < cap_) {
      buf_.push_back(std::move(*src));
      return true;
    }
    return false;
  }

  // Takes the next value into `out`: the buffer's head (refilling the freed slot from a parked
  // sender), else straight from a parked sender. True if there was one.
  bool take_locked(std::optional<T>& out) noexcept {
    if (!buf_.empty()) {
      out.emplace(std::move(buf_.front()));
      buf_.pop_front();
      while (waiter_t* w = claim_front(sendq_)) {
        T moved(std::move(*w->value));
        w->value.reset();
        w->outcome = status::ok;
        if (w->who.notify()) {
          buf_.push_back(std::move(moved));  // cannot allocate: a slot was just freed
          break;
        }
        w->value.emplace(std::move(moved));  // its park ended: the value stays the sender's
      }
      return true;
    }
    while (waiter_t* w = claim_front(sendq_)) {
      out.emplace(std::move(*w->value));
      w->value.reset();
      w->outcome = status::ok;
      if (w->who.notify()) return true;
      w->value.emplace(std::move(*out));
      out.reset();
    }
    return false;
  }

  void enqueue_sender_locked(waiter_t& w) noexcept { sendq_.push_back(w); }
  void enqueue_receiver_locked(waiter_t& w) noexcept { recvq_.push_back(w); }
  void remove_sender_locked(waiter_t& w) noexcept { sendq_.remove_if_linked(w); }
  void remove_receiver_locked(waiter_t& w) noexcept { recvq_.remove_if_linked(w); }

 private:
  // The oldest waiter that may still be handed something, unlinked; nullptr if none. A waiter
  // of a select that another case already won is unlinked and skipped (its select removes the
  // rest of its waiters itself).
  static waiter_t* claim_front(sync::wait_list<waiter_t>& q) noexcept {
    while (waiter_t* w = q.pop_front())
      if (w->sel == nullptr || w->sel->claim(w->case_index)) return w;
    return nullptr;
  }

  // Wakes every waiter of q with outcome disconnected (nothing to undo if a notify() loses).
  static void wake_all_locked(sync::wait_list<waiter_t>& q) noexcept {
    while (waiter_t* w = claim_front(q)) {
      w->outcome = status::disconnected;
      w->who.notify();
    }
  }

  // A deadline that has passed leaves one attempt and then `timeout`; sync::no_deadline (a
  // timeout too long to represent) waits forever.
  static void adjust(wait_kind& kind, clock::time_point deadline, status& fail) noexcept {
    if (kind != wait_kind::until) return;
    if (deadline == sync::no_deadline) {
      kind = wait_kind::forever;
    } else if (clock::now() >= deadline) {
      kind = wait_kind::none;
      fail = status::timeout;
    }
  }

  sync::wake_reason park(wait_kind kind, clock::time_point deadline) {
    auto unlock = [this] {
      lock_.unlock();
      return true;
    };
    return kind == wait_kind::until ? P::park_until(deadline, unlock) : P::park(unlock);
  }

  sync::spin_lock lock_;
  const std::size_t cap_;
  ring<T> buf_;
  sync::wait_list<waiter_t> recvq_;
  sync::wait_list<waiter_t> sendq_;
  std::size_t senders_ = 1;
  std::size_t receivers_ = 1;
  bool closed_ = false;
};

}  // namespace weft::chan::detail
