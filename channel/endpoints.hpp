// The two ends of a channel: basic_sender<T, P> and basic_receiver<T, P>, and the functions that
// make a channel. weft::os::sender<T> etc. are these with sync::std_parker, weft::fiber::sender<T>
// with the fiber parker.
//
//   auto [tx, rx] = weft::os::channel<std::string>();       // unbounded
//   auto [btx, brx] = weft::fiber::sync_channel<int>(16);   // bounded; 0: rendezvous
//   tx.send("hi");
//   for (std::string s : rx) ...                            // ends at disconnection
//
// Both ends are copyable (MPMC): every copy counts, and the channel disconnects when the last
// sender (or the last receiver) is destroyed. A handle is like std::shared_ptr: one handle
// object may be used by several tasks at once (its operations are const), but copying,
// assigning or destroying it must not race with its use. A moved-from or default-constructed
// handle is empty: its operations throw std::logic_error.
#pragma once

#include <chrono>
#include <cstddef>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include <weft/sync/deadline.hpp>

#include "core.hpp"
#include "result.hpp"

namespace weft::chan {

template <class T, class P>
class basic_sender;
template <class T, class P>
class basic_receiver;

namespace detail {

[[noreturn]] inline void throw_empty_handle(const char* which) {
  throw std::logic_error(std::string("weft::chan::") + which +
                         ": empty handle (moved-from or default-constructed)");
}

template <class T, class P>
struct access;  // select.hpp's window on a handle's core

enum class end : unsigned char { sending, receiving };

// What both ends share: a counted reference to the channel's core (one count per kind of end),
// with std::shared_ptr's copy, move and destruction rules.
template <class T, class P, end E>
class handle {
 public:
  handle(const handle& o) noexcept : core_(o.core_) {
    if (core_ == nullptr) return;
    if constexpr (E == end::sending)
      core_->add_sender();
    else
      core_->add_receiver();
  }
  handle(handle&& o) noexcept : core_(std::exchange(o.core_, nullptr)) {}
  handle& operator=(handle o) noexcept {
    std::swap(core_, o.core_);
    return *this;
  }
  ~handle() {
    if (core_ == nullptr) return;
    const bool last = E == end::sending ? core_->drop_sender() : core_->drop_receiver();
    if (last) delete core_;
  }

  // 0 for a rendezvous channel, SIZE_MAX for an unbounded one. Throws std::logic_error on an
  // empty handle.
  std::size_t capacity() const {
    return get(E == end::sending ? "sender::capacity" : "receiver::capacity").capacity();
  }

  // False for an empty handle.
  explicit operator bool() const noexcept { return core_ != nullptr; }

  // Handles of the same channel compare equal.
  friend bool operator==(const handle&, const handle&) noexcept = default;

 protected:
  using core_t = core<T, P>;
  handle() noexcept = default;
  explicit handle(core_t* c) noexcept : core_(c) {}
  core_t& get(const char* what) const {
    if (core_ == nullptr) throw_empty_handle(what);
    return *core_;
  }

 private:
  core_t* core_ = nullptr;
};

}  // namespace detail

template <class T, class P>
std::pair<basic_sender<T, P>, basic_receiver<T, P>> make_channel(std::size_t capacity);

// The sending end.
template <class T, class P>
class basic_sender : public detail::handle<T, P, detail::end::sending> {
 public:
  using value_type = T;

  // An empty handle (every operation throws std::logic_error). Copies count as senders; the
  // last one destroyed disconnects the channel: receivers drain it, then see disconnected.
  basic_sender() noexcept = default;

  // Sends v, blocking while a bounded channel is full; on a rendezvous channel (capacity 0),
  // returns only once a receiver took the value. Result: ok, or disconnected (no receiver left,
  // or closed) with the value handed back. Throws std::bad_alloc if an unbounded channel's
  // buffer cannot grow, the model's cancellation exception if the runtime cancels the wait,
  // std::logic_error on an empty handle.
  send_result<T> send(T&& v) const {
    return this->get("sender::send").send(std::move(v), kind::forever);
  }
  send_result<T> send(const T& v) const requires std::is_copy_constructible_v<T> {
    return send(T(v));
  }

  // Sends v only if that needs no waiting. Result: ok, full (value handed back), disconnected.
  send_result<T> try_send(T&& v) const {
    return this->get("sender::try_send").send(std::move(v), kind::none);
  }
  send_result<T> try_send(const T& v) const requires std::is_copy_constructible_v<T> {
    return try_send(T(v));
  }

  // As send(), waiting at most `d` / until `t`. Result: ok, timeout or disconnected (value
  // handed back on both failures).
  template <class Rep, class Period>
  send_result<T> send_for(T&& v, const std::chrono::duration<Rep, Period>& d) const {
    return this->get("sender::send_for").send(std::move(v), kind::until, sync::deadline_after(d));
  }
  template <class Clock, class Duration>
  send_result<T> send_until(T&& v, const std::chrono::time_point<Clock, Duration>& t) const {
    return this->get("sender::send_until")
        .send(std::move(v), kind::until, sync::steady_deadline(t));
  }
  template <class Rep, class Period>
  send_result<T> send_for(const T& v, const std::chrono::duration<Rep, Period>& d)
      const requires std::is_copy_constructible_v<T> {
    return send_for(T(v), d);
  }
  template <class Clock, class Duration>
  send_result<T> send_until(const T& v, const std::chrono::time_point<Clock, Duration>& t)
      const requires std::is_copy_constructible_v<T> {
    return send_until(T(v), t);
  }

  // Disconnects the channel for everyone, as if every sender were gone: sends fail (parked
  // senders get their values back), receivers drain the buffer and then see disconnected.
  // Idempotent. Throws std::logic_error on an empty handle.
  void close() const { this->get("sender::close").close(); }

 private:
  using kind = detail::wait_kind;
  friend std::pair<basic_sender, basic_receiver<T, P>> make_channel<T, P>(std::size_t);
  friend struct detail::access<T, P>;

  explicit basic_sender(detail::core<T, P>* c) noexcept
      : detail::handle<T, P, detail::end::sending>(c) {}
};

// The receiving end; also an input range of the values received until disconnection.
template <class T, class P>
class basic_receiver : public detail::handle<T, P, detail::end::receiving> {
 public:
  using value_type = T;

  // An empty handle. Copies count as receivers; the last one destroyed fails every parked and
  // future send (values handed back) and destroys what is still buffered.
  basic_receiver() noexcept = default;

  // Receives the next value, blocking while the channel is empty. Result: ok with the value,
  // or disconnected (every sender gone or closed, and nothing left buffered). Throws the
  // model's cancellation exception if the runtime cancels the wait, std::logic_error on an
  // empty handle.
  recv_result<T> recv() const { return this->get("receiver::recv").recv(kind::forever); }

  // Receives only if that needs no waiting. Result: ok, empty or disconnected.
  recv_result<T> try_recv() const { return this->get("receiver::try_recv").recv(kind::none); }

  // As recv(), waiting at most `d` / until `t`. Result: ok, timeout or disconnected.
  template <class Rep, class Period>
  recv_result<T> recv_for(const std::chrono::duration<Rep, Period>& d) const {
    return this->get("receiver::recv_for").recv(kind::until, sync::deadline_after(d));
  }
  template <class Clock, class Duration>
  recv_result<T> recv_until(const std::chrono::time_point<Clock, Duration>& t) const {
    return this->get("receiver::recv_until").recv(kind::until, sync::steady_deadline(t));
  }

  // Range-for over the received values: `for (T v : rx)` blocks for each value and ends when
  // recv() reports disconnected. A move-only input iterator; *it hands out the value (T&&).
  class iterator {
   public:
    using value_type = T;
    using reference = T&&;
    using difference_type = std::ptrdiff_t;
    using iterator_concept = std::input_iterator_tag;

    iterator(iterator&&) noexcept = default;
    iterator& operator=(iterator&&) noexcept = default;

    T&& operator*() const noexcept { return std::move(*cur_); }
    iterator& operator++() {
      next();
      return *this;
    }
    void operator++(int) { next(); }
    friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept {
      return !it.cur_.has_value();
    }

   private:
    friend class basic_receiver;
    explicit iterator(const basic_receiver& rx) : rx_(&rx) { next(); }
    void next() {
      recv_result<T> r = rx_->recv();
      if (r)
        cur_.emplace(std::move(*r));
      else
        cur_.reset();
    }

    const basic_receiver* rx_;
    mutable std::optional<T> cur_;  // mutable: *it moves the value out of a const iterator
  };

  // Blocks for the first value (see recv()). Throws as recv() does.
  iterator begin() const {
    this->get("receiver::begin");
    return iterator(*this);
  }
  std::default_sentinel_t end() const noexcept { return {}; }

 private:
  using kind = detail::wait_kind;
  friend std::pair<basic_sender<T, P>, basic_receiver> make_channel<T, P>(std::size_t);
  friend struct detail::access<T, P>;

  explicit basic_receiver(detail::core<T, P>* c) noexcept
      : detail::handle<T, P, detail::end::receiving>(c) {}
};

// A channel buffering at most `capacity` values (detail::core<T, P>::unbounded: no limit;
// 0: rendezvous). Throws std::bad_alloc.
template <class T, class P>
std::pair<basic_sender<T, P>, basic_receiver<T, P>> make_channel(std::size_t capacity) {
  auto* c = new detail::core<T, P>(capacity);  // owned by the two handles from here on
  return {basic_sender<T, P>(c), basic_receiver<T, P>(c)};
}

// An unbounded channel: send never blocks (until memory runs out).
template <class T, class P>
std::pair<basic_sender<T, P>, basic_receiver<T, P>> make_unbounded() {
  return make_channel<T, P>(detail::core<T, P>::unbounded);
}

namespace detail {
template <class T, class P>
struct access {
  static core<T, P>& of(const basic_sender<T, P>& s, const char* what) { return s.get(what); }
  static core<T, P>& of(const basic_receiver<T, P>& r, const char* what) { return r.get(what); }
};
}  // namespace detail

}  // namespace weft::chan
