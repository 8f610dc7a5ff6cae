// basic_event<P>: a manual-reset event for both models — set() releases every waiter and lets
// later waits pass until reset(). Built on basic_countdown (countdown.hpp) with the count 1 for
// "not set" and 0 for "set": a waiter may destroy the event as soon as its wait returns.
#pragma once

#include <chrono>
#include <cstdint>

#include "countdown.hpp"
#include "deadline.hpp"
#include "parker.hpp"

namespace weft::sync {

template <parker P>
class basic_event {
 public:
  explicit basic_event(bool initially_set = false) noexcept : count_(initially_set ? 0 : 1) {}
  basic_event(const basic_event&) = delete;
  basic_event& operator=(const basic_event&) = delete;

  // Precondition: no task waits. One still waiting: prints a message and terminates.
  ~basic_event() { count_.check_no_waiters("event"); }

  // Sets the event and wakes every waiter. Idempotent. Never blocks or throws.
  void set() noexcept {
    count_.update([](std::int64_t) noexcept { return std::int64_t{0}; });
  }
  // Clears the event: later waits block until the next set(). Never blocks or throws.
  void reset() noexcept {
    count_.update([](std::int64_t) noexcept { return std::int64_t{1}; });
  }
  [[nodiscard]] bool is_set() const noexcept { return count_.value() == 0; }

  // Blocks until the event is set (at once if it is). Throws the model's cancellation exception
  // at runtime shutdown.
  void wait() const { (void)count_.wait(); }
  // As wait(), giving up after `d` / at `t`: returns whether the event was set.
  template <class Rep, class Period>
  [[nodiscard]] bool wait_for(const std::chrono::duration<Rep, Period>& d) const {
    return count_.wait(deadline_after(d));
  }
  template <class Clock, class Duration>
  [[nodiscard]] bool wait_until(const std::chrono::time_point<Clock, Duration>& t) const {
    return retry_until(t, [this](steady_time d) { return count_.wait(d); });
  }

 private:
  mutable basic_countdown<P> count_;
};

}  // namespace weft::sync
