// A small test-and-test-and-set lock for short critical sections (the registry of live fibers,
// the wait lists of the blocking primitives): one exchange to lock, one store to unlock, where a
// pthread mutex costs two read-modify-writes and a function call each way. It has no owner, so a
// park hook may release it on another fiber's stack (and the sanitizers do not object); a holder
// never blocks or parks, so a waiter spins briefly and then yields its thread.
#pragma once

#include <atomic>
#include <thread>

#include "cpu_relax.hpp"

namespace weft::sync {

class spin_lock {
 public:
  void lock() noexcept {
    for (int spins = 0;;) {
      // acquire: pairs with unlock()'s release; the previous holder's writes are visible.
      if (!locked_.exchange(true, std::memory_order_acquire)) return;
      // relaxed: just waiting for a chance; the exchange above decides. After a short spin the
      // holder has probably been preempted: give it the CPU instead of burning our slice.
      while (locked_.load(std::memory_order_relaxed)) {
        if (++spins > 64) std::this_thread::yield();
        spin_pause();
      }
    }
  }
  bool try_lock() noexcept {
    // relaxed pre-check: skip the locked instruction when it would fail anyway; the exchange's
    // acquire pairs with unlock()'s release.
    return !locked_.load(std::memory_order_relaxed) &&
           !locked_.exchange(true, std::memory_order_acquire);
  }
  void unlock() noexcept {
    locked_.store(false, std::memory_order_release);  // release: pairs with lock()'s acquire
  }

 private:
  std::atomic<bool> locked_{false};
};

}  // namespace weft::sync
