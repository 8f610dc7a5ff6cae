// weft::net::deadline — when a blocking socket call gives up. Every blocking call in net/ takes
// one as its last parameter, defaulting to "never":
//
//   s.read(buf);                      // no deadline
//   s.read(buf, 100ms);               // a timeout, measured from the call
//   s.read_exact(buf, start + 1s);    // an absolute time point (any clock)
//
// A timeout covers the whole call: read_exact(buf, 1s) finishes within a second or throws
// std::system_error(std::errc::timed_out). Standard library only.
#pragma once

#include <chrono>

#include <weft/sync/deadline.hpp>

namespace weft::net {

class deadline {
 public:
  // No deadline: the call blocks until it can complete.
  constexpr deadline() noexcept = default;

  // Now + d (saturating: a huge d means no deadline; zero or negative: already passed).
  template <class Rep, class Period>
  deadline(const std::chrono::duration<Rep, Period>& d) noexcept  // NOLINT: implicit on purpose
      : t_(sync::deadline_after(d)) {}

  // The time point t, converted to the steady clock once (a wall-clock deadline does not follow
  // later clock adjustments).
  template <class Clock, class Duration>
  deadline(const std::chrono::time_point<Clock, Duration>& t) noexcept  // NOLINT: implicit
      : t_(sync::steady_deadline(t)) {}

  // The steady-clock instant, or sync::no_deadline.
  constexpr sync::steady_time when() const noexcept { return t_; }
  constexpr bool is_none() const noexcept { return t_ == sync::no_deadline; }

 private:
  sync::steady_time t_ = sync::no_deadline;
};

}  // namespace weft::net
