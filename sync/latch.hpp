// basic_latch<P>: std::latch for both models — a single-use countdown that tasks wait on.
// count_down() never blocks; wait() parks a fiber or blocks a thread until the count is zero.
// Built on basic_countdown (countdown.hpp: the word, the waking, the lifetime rule: a waiter
// may destroy the latch as soon as its wait returns).
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

#include "countdown.hpp"
#include "parker.hpp"

namespace weft::sync {

template <parker P>
class basic_latch {
 public:
  static constexpr std::ptrdiff_t max() noexcept { return basic_countdown<P>::max_count; }

  // Throws std::invalid_argument unless 0 <= expected <= max().
  explicit basic_latch(std::ptrdiff_t expected) : count_(checked(expected)) {}
  basic_latch(const basic_latch&) = delete;
  basic_latch& operator=(const basic_latch&) = delete;

  // Precondition: no task waits. One still waiting: prints a message naming the latch and
  // terminates.
  ~basic_latch() { count_.check_no_waiters("latch"); }

  // Decrements the count by n; at zero every waiter is released. Never blocks. Throws
  // std::invalid_argument if n < 0 or n exceeds the current count (nothing changes then).
  void count_down(std::ptrdiff_t n = 1) {
    if (n < 0) throw std::invalid_argument("weft: latch::count_down: n is negative");
    count_.update([n](std::int64_t c) {
      if (n > c)
        throw std::invalid_argument("weft: latch::count_down: n (" + std::to_string(n) +
                                    ") exceeds the remaining count (" + std::to_string(c) + ")");
      return c - n;
    });
  }

  // True if the count has reached zero. Never blocks.
  [[nodiscard]] bool try_wait() const noexcept { return count_.value() == 0; }

  // Blocks until the count is zero. Throws the model's cancellation exception at shutdown.
  void wait() const { (void)count_.wait(); }

  // count_down(n), then wait(). Same exceptions as both.
  void arrive_and_wait(std::ptrdiff_t n = 1) {
    count_down(n);
    wait();
  }

 private:
  static std::int64_t checked(std::ptrdiff_t expected) {
    if (expected < 0 || expected > max())
      throw std::invalid_argument("weft: latch: expected count " + std::to_string(expected) +
                                  " is outside [0, max()]");
    return expected;
  }

  mutable basic_countdown<P> count_;
};

}  // namespace weft::sync
