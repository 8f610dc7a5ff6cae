// A small test-and-test-and-set lock for short critical sections that are almost never
// contended (the registry of live fibers): one exchange to lock, one store to unlock, where a
// pthread mutex costs two read-modify-writes and a function call each way.
#pragma once

#include <atomic>
#include <thread>

namespace weft::sched {

class spin_lock {
 public:
  void lock() noexcept {
    for (int spins = 0;; ++spins) {
      // acquire: pairs with unlock()'s release; the previous holder's writes are visible.
      if (!locked_.exchange(true, std::memory_order_acquire)) return;
      // relaxed: just waiting for a chance; the exchange above decides.
      while (locked_.load(std::memory_order_relaxed))
        if (spins > 64) std::this_thread::yield();
    }
  }
  void unlock() noexcept {
    locked_.store(false, std::memory_order_release);  // release: pairs with lock()'s acquire
  }

 private:
  std::atomic<bool> locked_{false};
};

}  // namespace weft::sched
