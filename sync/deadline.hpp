// Timeouts of the blocking primitives, converted to what the parking seam takes: an absolute
// steady_clock deadline (P::park_until). Saturating: a duration too long to add (e.g.
// duration::max(), "wait forever") becomes steady_clock::time_point::max(), which the primitives
// treat as "no deadline" and park untimed.
#pragma once

#include <chrono>
#include <type_traits>

namespace weft::sync {

using steady_time = std::chrono::steady_clock::time_point;

inline constexpr steady_time no_deadline = steady_time::max();

// now + d, rounded up to the clock's tick, saturating at no_deadline. A negative or zero d gives
// now (the deadline has passed). Never throws.
template <class Rep, class Period>
steady_time deadline_after(const std::chrono::duration<Rep, Period>& d) noexcept {
  using std::chrono::steady_clock;
  const steady_time now = steady_clock::now();
  if (d <= d.zero()) return now;
  // Compared in floating point, so no integer duration conversion can overflow.
  const std::chrono::duration<long double> room = no_deadline - now;
  if (std::chrono::duration<long double>(d) >= room) return no_deadline;
  return now + std::chrono::ceil<steady_clock::duration>(d);
}

// The steady deadline matching `t` on Clock, measured against Clock::now() once. For a clock
// other than steady_clock the caller re-checks Clock::now() after a timeout (the clock may have
// been adjusted meanwhile). Never throws.
template <class Clock, class Duration>
steady_time steady_deadline(const std::chrono::time_point<Clock, Duration>& t) noexcept {
  if constexpr (std::is_same_v<Clock, std::chrono::steady_clock>) {
    return std::chrono::ceil<std::chrono::steady_clock::duration>(t);
  } else {
    return deadline_after(t - Clock::now());
  }
}

// Calls attempt(steady deadline for t) until it returns true (then true), or until `t` has
// passed on Clock (then false). For steady_clock that is one attempt; another clock is re-read
// after each timed-out attempt, since it may have been adjusted meanwhile. Throws what attempt
// throws.
template <class Clock, class Duration, class Attempt>
bool retry_until(const std::chrono::time_point<Clock, Duration>& t, Attempt&& attempt) {
  for (;;) {
    if (attempt(steady_deadline(t))) return true;
    if (Clock::now() >= t) return false;
  }
}

}  // namespace weft::sync
