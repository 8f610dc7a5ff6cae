// The two futex calls weft sleeps with (Linux): a scheduler worker on its own word when idle, a
// plain thread on its parker (thread_parker.hpp). Standard library and system headers only.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

namespace weft::sync {

// Sleeps while `word` == expected, at most until `deadline_ns` (steady clock; `now_ns` is the
// current time, or pass deadline_ns < 0 for no deadline). Spurious returns are fine: callers
// re-check.
inline void futex_wait_until(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                             std::int64_t deadline_ns, std::int64_t now_ns) noexcept {
  timespec ts{};
  timespec* tsp = nullptr;
  if (deadline_ns >= 0) {
    const std::int64_t rel = deadline_ns - now_ns;
    if (rel <= 0) return;
    ts.tv_sec = static_cast<time_t>(rel / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(rel % 1'000'000'000);
    tsp = &ts;
  }
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected, tsp,
            nullptr, 0);
}

inline void futex_wake_one(std::atomic<std::uint32_t>& word) noexcept {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE, 1, nullptr,
            nullptr, 0);
}

}  // namespace weft::sync
