// What a channel operation reports: one status enum for every operation, and two result types
// that carry the value — the one received, or the one a failed send hands back (Rust's
// SendError(T)).
//
//   recv()              -> recv_result<T>: ok | disconnected
//   try_recv()          -> recv_result<T>: ok | empty   | disconnected
//   recv_for/_until()   -> recv_result<T>: ok | timeout | disconnected
//   send(v)             -> send_result<T>: ok | disconnected
//   try_send(v)         -> send_result<T>: ok | full    | disconnected
//   send_for/_until(v)  -> send_result<T>: ok | timeout | disconnected
//
// Both convert to true exactly when the status is ok, so `while (auto v = rx.recv()) use(*v);`
// and `if (!tx.send(std::move(x))) ...` read naturally. A send that did not happen always hands
// the value back: `r.unsent()`. Rejected: std::optional<T> for recv (it cannot tell empty or
// timeout from disconnected) and bool for send (the value would be lost on failure).
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace weft::chan {

enum class status : std::uint8_t {
  ok,            // the value was received / sent
  empty,         // try_recv: nothing buffered and no sender waiting
  full,          // try_send: no room and no receiver waiting
  timeout,       // *_for / *_until: the deadline passed first
  disconnected,  // recv: every sender is gone (or close() was called) and the buffer is drained;
                 // send: every receiver is gone, or close() was called
};

// "ok", "empty", "full", "timeout" or "disconnected".
constexpr const char* to_string(status s) noexcept {
  switch (s) {
    case status::ok:
      return "ok";
    case status::empty:
      return "empty";
    case status::full:
      return "full";
    case status::timeout:
      return "timeout";
    case status::disconnected:
      return "disconnected";
  }
  return "?";
}

// Thrown by recv_result::value() without a value and by send_result::unsent() after a send that
// succeeded: a caller that skipped checking the status.
class bad_result_access : public std::logic_error {
 public:
  bad_result_access(const char* what, status s)
      : std::logic_error(std::string("weft::chan::") + what + ": the result's status is " +
                         to_string(s)) {}
};

// The outcome of a receive: a value (status ok) or the reason there is none.
template <class T>
class recv_result {
 public:
  // A received value (status ok).
  explicit recv_result(T&& v) noexcept(std::is_nothrow_move_constructible_v<T>)
      : value_(std::in_place, std::move(v)) {}
  // No value; precondition: s != status::ok.
  explicit recv_result(chan::status s) noexcept : status_(s) {}

  [[nodiscard]] chan::status status() const noexcept { return status_; }
  [[nodiscard]] bool has_value() const noexcept { return status_ == chan::status::ok; }
  explicit operator bool() const noexcept { return has_value(); }

  // The value. Precondition for * and ->: has_value(). value() throws bad_result_access
  // (naming the status) instead.
  T& operator*() & noexcept { return *value_; }
  const T& operator*() const& noexcept { return *value_; }
  T&& operator*() && noexcept { return std::move(*value_); }
  T* operator->() noexcept { return &*value_; }
  const T* operator->() const noexcept { return &*value_; }
  T& value() & { return (check(), *value_); }
  const T& value() const& { return (check(), *value_); }
  T&& value() && { return (check(), std::move(*value_)); }

  // The value, or `fallback` if there is none.
  template <class U>
  T value_or(U&& fallback) && {
    return has_value() ? std::move(*value_) : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  void check() const {
    if (!has_value()) throw bad_result_access("recv_result::value", status_);
  }

  chan::status status_ = chan::status::ok;
  std::optional<T> value_;
};

// The outcome of a send: ok, or the reason it failed together with the value, handed back.
template <class T>
class send_result {
 public:
  // Sent (status ok).
  send_result() noexcept = default;
  // Not sent: `v` is handed back. Precondition: s != status::ok.
  send_result(chan::status s, T&& v) noexcept(std::is_nothrow_move_constructible_v<T>)
      : status_(s), unsent_(std::in_place, std::move(v)) {}

  [[nodiscard]] chan::status status() const noexcept { return status_; }
  explicit operator bool() const noexcept { return status_ == chan::status::ok; }

  // The value that was not sent. Throws bad_result_access if the send succeeded (the value
  // went into the channel).
  T& unsent() & { return (check(), *unsent_); }
  const T& unsent() const& { return (check(), *unsent_); }
  T&& unsent() && { return (check(), std::move(*unsent_)); }

 private:
  void check() const {
    if (!unsent_) throw bad_result_access("send_result::unsent", status_);
  }

  chan::status status_ = chan::status::ok;
  std::optional<T> unsent_;
};

}  // namespace weft::chan
