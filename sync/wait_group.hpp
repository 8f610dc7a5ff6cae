// basic_wait_group<P>: Go's sync.WaitGroup for both models — add(n) before starting n tasks,
// done() as each finishes, wait() until all have. Unlike a latch it is reusable: once the
// counter is back at zero, add() starts a new round. Built on basic_countdown (countdown.hpp: a
// waiter may destroy the wait_group as soon as its wait returns).
//
// As in Go, an add() with a positive delta that starts a round must happen before the wait()
// meant to cover it (typically: add before spawning, done inside the task).
#pragma once

#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>

#include "countdown.hpp"
#include "deadline.hpp"
#include "parker.hpp"

namespace weft::sync {

template <parker P>
class basic_wait_group {
 public:
  basic_wait_group() noexcept : count_(0) {}
  basic_wait_group(const basic_wait_group&) = delete;
  basic_wait_group& operator=(const basic_wait_group&) = delete;

  // Precondition: no task waits. One still waiting: prints a message and terminates.
  ~basic_wait_group() { count_.check_no_waiters("wait_group"); }

  // Adds delta (which may be negative) to the counter; at zero every waiter is released. Never
  // blocks. Throws std::logic_error if the counter would become negative (Go panics with
  // "negative WaitGroup counter"), std::overflow_error if it would exceed its range; the counter
  // is unchanged then.
  void add(std::ptrdiff_t delta) {
    count_.update([delta](std::int64_t c) {
      if (delta < 0 && -delta > c)
        throw std::logic_error("weft: wait_group: negative counter (add(" + std::to_string(delta) +
                               ") with the counter at " + std::to_string(c) + ")");
      if (delta > 0 && delta > basic_countdown<P>::max_count - c)
        throw std::overflow_error("weft: wait_group: add(" + std::to_string(delta) +
                                  ") overflows the counter");
      return c + delta;
    });
  }

  // add(-1). Throws std::logic_error if the counter is already zero.
  void done() { add(-1); }

  // Blocks until the counter is zero (at once if it is). Throws the model's cancellation
  // exception at runtime shutdown.
  void wait() { (void)count_.wait(); }

  // As wait(), giving up after `d`: returns whether the counter reached zero.
  template <class Rep, class Period>
  [[nodiscard]] bool wait_for(const std::chrono::duration<Rep, Period>& d) {
    return count_.wait(deadline_after(d));
  }

 private:
  basic_countdown<P> count_;
};

}  // namespace weft::sync
