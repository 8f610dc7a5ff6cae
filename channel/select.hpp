// select: wait on several channel operations at once, and do exactly one of them (Go's select).
//
//   std::size_t fired = weft::chan::select(
//       weft::chan::on_recv(rx_a, [](weft::chan::recv_result<int> r) { ... }),
//       weft::chan::on_send(tx_b, std::string("hi")),
//       weft::chan::on_timeout(100ms, [] { std::puts("nothing for 100 ms"); }));
//
// Design essay
// ------------
// The algorithm is Go's selectgo (runtime/select.go) on weft's parking seam:
//   1. Lock every channel involved, in address order (duplicates once), so two selects over
//      the same channels cannot deadlock and no channel changes while we decide.
//   2. Try the cases in a random order (Go's pollorder shuffle): the first one that can proceed
//      without waiting is done, under the locks, exactly like a plain send/receive would do it.
//      A receive is ready when a value is buffered or a sender waits, or when the channel is
//      disconnected (it then fires with status disconnected); a send when a receiver waits or
//      there is room, or when the channel is disconnected (it fires with the value handed
//      back). Random order is what keeps a busy channel from starving the others.
//   3. Nothing ready: a default case fires at once; a deadline that has passed fires the
//      timeout case. Otherwise one waiter per case goes into its channel's wait list, all
//      sharing one select_token and the selecting task's one park, and the task parks with a
//      hook that unlocks every channel.
//   4. Woken, it relocks every channel, unlinks the waiters still listed, unlocks, and runs the
//      handler of the case that fired (or of the timeout).
//
// Who may finish a parked select, and why it is exactly one case. Two arbiters are involved:
// the select_token (which case) and the task's park_state (whether the park ended by a
// notifier, the timer, or cancellation). A notifier on channel C, holding C's lock, pops the
// select's waiter for case k and then:
//   (a) claims the token for k by CAS — if it loses, another case already won: it skips the
//       waiter and serves the next one in C's list;
//   (b) only after winning (a), hands over (moves its value into the waiter, or takes the
//       waiter's value) and sets the outcome;
//   (c) calls notify(). If notify() loses to the timer or to cancellation, it undoes (b) —
//       gives the value back — before releasing C's lock. The token stays claimed, so no
//       other notifier touches the select's other waiters; that is right, because the select
//       is ending with its timeout anyway.
// Invariant: at most one notifier ever passes (a), so at most one hand-over is ever in flight;
// and when the selecting task, after its park, holds every channel's lock again, that
// hand-over is either complete (park ended notified: the token names the case, the waiter
// holds the result) or undone (park ended timed_out or cancelled: no case happened, every
// value is where it started). The task reads the token and the waiters only under those locks
// or after end_park's acquire, and leaves only after it relocked every channel, so no notifier
// is still touching a waiter on its stack (parker.hpp's lifetime rule, once per channel).
//
// Why claim the token *before* notify(), not after: notify() is the wake-up itself — a fiber
// woken early would run before the value is in its waiter, and two notifiers of different
// channels could both hand over (each under its own lock) with no way for the second to know
// it must not. Why not let park_state alone arbitrate (notify() is a CAS too): the hand-over
// must precede notify() (a successful notify() lets the task leave at once), so every losing
// notifier would hand over and undo; with the token, losers never touch the value. Rejected:
// one lock for all channels a select touches (serialises unrelated channels), and Boost.Fiber's
// approach of no select at all.
//
// All channels of one select must use the same parker (one model). Cases hold references to
// the handles passed: they must outlive the select call (they do, as arguments).
#pragma once

#include <algorithm>
#include <array>
#include <cassert>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include <weft/sync/deadline.hpp>
#include <weft/sync/parker.hpp>
#include <weft/sync/spin_lock.hpp>

#include "core.hpp"
#include "endpoints.hpp"
#include "result.hpp"
#include "waiter.hpp"

namespace weft::chan {

namespace detail {

struct ignore_result {
  template <class R>
  void operator()(R&&) const noexcept {}
};
struct do_nothing {
  void operator()() const noexcept {}
};

// A small per-thread generator for the poll order. Not inline: a fiber may migrate between two
// selects, and a compiler may cache a thread_local's address across a call (DESIGN.md).
[[gnu::noinline]] inline std::uint32_t select_random(std::uint32_t bound) noexcept {
  thread_local std::uint64_t state = 0;
  if (state == 0)  // seeded from the thread's own storage address: distinct per thread
    state = reinterpret_cast<std::uintptr_t>(&state) * 0x9E3779B97F4A7C15ull | 1;
  state ^= state >> 12;  // xorshift64*
  state ^= state << 25;
  state ^= state >> 27;
  const std::uint64_t r = (state * 0x2545F4914F6CDD1Dull) >> 32;
  return static_cast<std::uint32_t>((r * bound) >> 32);  // Lemire's range reduction
}

// Case kinds, for select's compile-time bookkeeping.
enum class case_kind : unsigned char { channel, timeout, fallback };

// What a receive and a send case share: the channel, the waiter it parks in a select, and how
// the case ended.
template <class T, class P>
class channel_case {
 public:
  static constexpr case_kind kind = case_kind::channel;
  using parker = P;

  sync::spin_lock* lock() const noexcept { return &core_->lock(); }
  void take_wake() noexcept { status_ = waiter_->outcome; }  // this case fired while parked

 protected:
  explicit channel_case(core<T, P>& c) noexcept : core_(&c) {}
  // The case's waiter for a parked select: one of `tok`'s, for case `index`.
  waiter<T, P>& make_waiter(select_token& tok, int index, typename P::waker who) noexcept {
    waiter_.emplace(who);
    waiter_->sel = &tok;
    waiter_->case_index = index;
    return *waiter_;
  }

  core<T, P>* core_;
  status status_ = status::ok;
  std::optional<waiter<T, P>> waiter_;
};

}  // namespace detail

// A receive case: `f(recv_result<T>)` runs if it fires, with ok and the value, or disconnected.
template <class T, class P, class F>
class recv_case : public detail::channel_case<T, P> {
 public:
  recv_case(const basic_receiver<T, P>& rx, F f)
      : detail::channel_case<T, P>(detail::access<T, P>::of(rx, "on_recv")), f_(std::move(f)) {}

  // --- used by select ---
  bool try_locked() noexcept {
    if (this->core_->take_locked(got_)) {
      this->status_ = status::ok;
      return true;
    }
    if (this->core_->recv_disconnected_locked()) {
      this->status_ = status::disconnected;
      return true;
    }
    return false;
  }
  void enqueue_locked(detail::select_token& tok, int index, typename P::waker who) noexcept {
    this->core_->enqueue_receiver_locked(this->make_waiter(tok, index, who));
  }
  void dequeue_locked() noexcept { this->core_->remove_receiver_locked(*this->waiter_); }
  void take_wake() noexcept {
    detail::channel_case<T, P>::take_wake();
    if (this->status_ == status::ok) got_ = std::move(this->waiter_->value);
  }
  void fire() {
    if (this->status_ == status::ok)
      std::invoke(f_, recv_result<T>(std::move(*got_)));
    else
      std::invoke(f_, recv_result<T>(this->status_));
  }

 private:
  F f_;
  std::optional<T> got_;
};

// A send case: `f(send_result<T>)` runs if it fires, with ok, or disconnected and the value
// handed back. If another case fires, the value stays in the case: unsent() has it.
template <class T, class P, class F>
class send_case : public detail::channel_case<T, P> {
 public:
  send_case(const basic_sender<T, P>& tx, T&& v, F f)
      : detail::channel_case<T, P>(detail::access<T, P>::of(tx, "on_send")),
        f_(std::move(f)),
        item_(std::move(v)) {}

  // The value, if this case did not send it (another case fired, or the timeout).
  std::optional<T>& unsent() noexcept { return item_; }

  // --- used by select ---
  bool try_locked() {
    if (this->core_->send_disconnected_locked()) {
      this->status_ = status::disconnected;
      return true;
    }
    T* src = &*item_;
    std::optional<T> spare;
    if (this->core_->offer_locked(src, spare)) {
      item_.reset();
      this->status_ = status::ok;
      return true;
    }
    if (spare) item_.emplace(std::move(*spare));  // a failed hand-over left it there
    return false;
  }
  void enqueue_locked(detail::select_token& tok, int index, typename P::waker who) noexcept {
    detail::waiter<T, P>& w = this->make_waiter(tok, index, who);
    w.value.emplace(std::move(*item_));
    item_.reset();
    this->core_->enqueue_sender_locked(w);
  }
  void dequeue_locked() noexcept {
    this->core_->remove_sender_locked(*this->waiter_);
    auto& left = this->waiter_->value;
    if (left) item_.emplace(std::move(*left));  // not taken: ours again
  }
  void fire() {
    if (this->status_ == status::ok)
      std::invoke(f_, send_result<T>());
    else
      std::invoke(f_,
                  send_result<T>(this->status_, std::move(*std::exchange(item_, std::nullopt))));
  }

 private:
  F f_;
  std::optional<T> item_;
};

// Fires if no other case could proceed before `deadline`.
template <class F>
class timeout_case {
 public:
  static constexpr detail::case_kind kind = detail::case_kind::timeout;
  timeout_case(std::chrono::steady_clock::time_point deadline, F f)
      : deadline_(deadline), f_(std::move(f)) {}
  std::chrono::steady_clock::time_point deadline() const noexcept { return deadline_; }
  void fire() { std::invoke(f_); }

 private:
  std::chrono::steady_clock::time_point deadline_;
  F f_;
};

// Go's `default:`: fires at once if no other case can proceed, so the select never blocks.
template <class F>
class default_case {
 public:
  static constexpr detail::case_kind kind = detail::case_kind::fallback;
  explicit default_case(F f) : f_(std::move(f)) {}
  void fire() { std::invoke(f_); }

 private:
  F f_;
};

// --- case builders ---------------------------------------------------------------------------
// Each throws std::logic_error for an empty handle. Handlers are optional.

template <class T, class P, class F = detail::ignore_result>
recv_case<T, P, F> on_recv(const basic_receiver<T, P>& rx, F f = {}) {
  return recv_case<T, P, F>(rx, std::move(f));
}

template <class T, class P, class F = detail::ignore_result>
send_case<T, P, F> on_send(const basic_sender<T, P>& tx, std::type_identity_t<T> v, F f = {}) {
  return send_case<T, P, F>(tx, std::move(v), std::move(f));
}

template <class Rep, class Period, class F = detail::do_nothing>
timeout_case<F> on_timeout(const std::chrono::duration<Rep, Period>& d, F f = {}) {
  return timeout_case<F>(sync::deadline_after(d), std::move(f));
}

template <class Clock, class Duration, class F = detail::do_nothing>
timeout_case<F> on_deadline(const std::chrono::time_point<Clock, Duration>& t, F f = {}) {
  return timeout_case<F>(sync::steady_deadline(t), std::move(f));
}

template <class F = detail::do_nothing>
default_case<F> on_default(F f = {}) {
  return default_case<F>(std::move(f));
}

namespace detail {

template <class C>
constexpr case_kind kind_of = std::remove_cvref_t<C>::kind;

template <class... C>
constexpr std::size_t count_kind(case_kind k) {
  return ((kind_of<C> == k ? 1u : 0u) + ... + 0u);
}

// The index (in argument order) of the first case of kind k; sizeof...(C) if none.
template <class... C>
constexpr std::size_t first_of(case_kind k) {
  constexpr case_kind kinds[] = {kind_of<C>...};
  for (std::size_t i = 0; i < sizeof...(C); ++i)
    if (kinds[i] == k) return i;
  return sizeof...(C);
}

template <class C, class = void>
struct parker_of {
  using type = void;
};
template <class C>
struct parker_of<C, std::void_t<typename std::remove_cvref_t<C>::parker>> {
  using type = typename std::remove_cvref_t<C>::parker;
};

// The parker shared by the channel cases (the first one's; select checks they agree).
template <class... C>
struct common_parker;
template <class C, class... Rest>
struct common_parker<C, Rest...> {
  using type =
      std::conditional_t<std::is_void_v<typename parker_of<C>::type>,
                         typename common_parker<Rest...>::type, typename parker_of<C>::type>;
};
template <>
struct common_parker<> {
  using type = void;
};

// The channel locks of one select, sorted by address and deduplicated.
template <std::size_t N>
class lock_set {
 public:
  explicit lock_set(const std::array<sync::spin_lock*, N>& locks) noexcept : locks_(locks) {
    std::sort(locks_.begin(), locks_.end(), std::less<>());
    n_ = static_cast<std::size_t>(std::unique(locks_.begin(), locks_.end()) - locks_.begin());
  }
  void lock() noexcept {
    for (std::size_t i = 0; i < n_; ++i) locks_[i]->lock();
  }
  void unlock() noexcept {
    for (std::size_t i = n_; i-- > 0;) locks_[i]->unlock();
  }

 private:
  std::array<sync::spin_lock*, N> locks_;
  std::size_t n_ = 0;
};

template <class P, class... C>
std::size_t run_select(C&... cases) {
  constexpr std::size_t n = sizeof...(C);
  constexpr std::size_t timeout_at = first_of<C...>(case_kind::timeout);
  constexpr std::size_t default_at = first_of<C...>(case_kind::fallback);

  // Runtime index -> case, for the channel cases (the others are handled by index above).
  auto each = [&](auto&& f) {
    std::size_t i = 0;
    (
        [&](auto& c) {
          if constexpr (kind_of<decltype(c)> == case_kind::channel) f(i, c);
          ++i;
        }(cases),
        ...);
  };
  auto at = [&](std::size_t k, auto&& f) {
    each([&](std::size_t i, auto& c) {
      if (i == k) f(c);
    });
  };
  auto fire = [&](std::size_t k) {
    std::size_t i = 0;
    ((i++ == k ? (cases.fire(), 0) : 0), ...);
    return k;
  };

  // Channel cases in a random poll order; their locks in address order.
  constexpr std::size_t nchan = count_kind<C...>(case_kind::channel);
  std::array<std::size_t, nchan> order{};
  std::array<sync::spin_lock*, nchan> lock_ptrs{};
  {
    std::size_t j = 0;
    each([&](std::size_t i, auto& c) {
      order[j] = i;
      lock_ptrs[j] = c.lock();
      ++j;
    });
  }
  for (std::size_t j = nchan; j > 1; --j)  // Fisher-Yates
    std::swap(order[j - 1], order[select_random(static_cast<std::uint32_t>(j))]);
  lock_set<nchan> locks(lock_ptrs);

  std::chrono::steady_clock::time_point deadline = sync::no_deadline;
  bool expired = false;
  if constexpr (timeout_at < n) {
    deadline = std::get<timeout_at>(std::tie(cases...)).deadline();
    expired = deadline != sync::no_deadline && std::chrono::steady_clock::now() >= deadline;
  }

  // Pass 1: the first ready case in poll order, under all the locks.
  {
    std::unique_lock held(locks);  // unlocks if a case throws (an unbounded buffer's bad_alloc)
    for (std::size_t k : order) {
      bool done = false;
      at(k, [&](auto& c) { done = c.try_locked(); });
      if (done) {
        held.unlock();
        return fire(k);
      }
    }
    if constexpr (default_at < n) {
      held.unlock();
      return fire(default_at);
    }
    if (expired) {
      held.unlock();
      return fire(timeout_at);
    }
    held.release();  // the park hook unlocks
  }

  // Pass 2: a waiter per case, one park.
  select_token token;
  const typename P::waker who = P::current();
  each([&](std::size_t i, auto& c) { c.enqueue_locked(token, static_cast<int>(i), who); });
  auto unlock_all = [&locks] {
    locks.unlock();
    return true;
  };
  sync::wake_reason r;
  if (deadline != sync::no_deadline)
    r = P::park_until(deadline, unlock_all);
  else
    r = P::park(unlock_all);

  locks.lock();
  each([&](std::size_t, auto& c) { c.dequeue_locked(); });
  const int won = token.fired();
  assert(r != sync::wake_reason::notified || won >= 0);  // only the token's winner notifies
  if (r == sync::wake_reason::notified)
    at(static_cast<std::size_t>(won), [](auto& c) { c.take_wake(); });
  locks.unlock();
  if (r == sync::wake_reason::cancelled) P::throw_cancelled();
  if constexpr (timeout_at < n) {
    if (r == sync::wake_reason::timed_out) return fire(timeout_at);
  }
  return fire(static_cast<std::size_t>(won));
}

}  // namespace detail

// Waits until one of the cases can proceed, does exactly that one, runs its handler (after
// every channel lock is released) and returns its index in the argument list. Cases: on_recv,
// on_send (any channel types, mixed, all of one model), and at most one of on_timeout /
// on_deadline (fires if nothing was ready in time) or on_default (fires at once if nothing is
// ready). Among several ready cases the choice is uniformly random. Blocks (parks the task)
// unless a default case is given. Throws what a handler throws (the operation has happened),
// std::bad_alloc if a send into an unbounded buffer cannot allocate, the model's cancellation
// exception if the runtime cancels the wait (then no case happened). Precondition: the handles
// outlive the call.
template <class... Cases>
std::size_t select(Cases&&... cases) {
  using detail::case_kind;
  static_assert(detail::count_kind<Cases...>(case_kind::channel) >= 1,
                "weft::chan::select needs at least one on_recv or on_send case");
  static_assert(detail::count_kind<Cases...>(case_kind::timeout) +
                        detail::count_kind<Cases...>(case_kind::fallback) <=
                    1,
                "weft::chan::select takes at most one on_timeout/on_deadline/on_default case");
  using P = typename detail::common_parker<Cases...>::type;
  static_assert(((std::is_void_v<typename detail::parker_of<Cases>::type> ||
                  std::is_same_v<typename detail::parker_of<Cases>::type, P>)&&...),
                "weft::chan::select: all channels of one select must belong to one model");
  return detail::run_select<P>(cases...);
}

}  // namespace weft::chan
