// A worker's timers: a binary min-heap of tasks ordered by deadline, one per worker.
//
// Only the owning worker arms and fires timers (a timed park arms its timer in the hook of the
// switch, on the worker it parked on). A woken task cancels its own timer from whichever worker
// it now runs on, so the heap has a mutex; it is uncontended except for those cancellations.
// The nearest deadline is mirrored in an atomic so the scheduler can ask "anything due?" without
// the lock, and an idle worker sleeps until exactly that deadline.
//
// Rejected: lazy deletion (marking cancelled timers and dropping them when they surface): cheap
// to cancel, but a server doing a million recv_for(30s) a second would hold thirty million dead
// entries; a hierarchical timing wheel: O(1), but coarse, and nothing here needs it yet.
#pragma once

#include <atomic>
#include <cstdint>
#include <limits>
#include <mutex>
#include <vector>

namespace weft::sched {

struct task;

class timer_heap {
 public:
  static constexpr std::int64_t never = std::numeric_limits<std::int64_t>::max();

  // Adds t with its deadline (steady clock, ns). Precondition: t has no armed timer.
  void arm(task* t, std::int64_t deadline_ns);

  // Removes t's timer if it is still armed. Returns true if removed (it had not fired).
  bool cancel(task* t) noexcept;

  // Pops every timer due at `now_ns` and calls fire(task*) for each, under the heap's lock (so a
  // task cannot cancel and leave while its timer is being fired). Returns how many fired.
  template <class Fire>
  std::size_t fire_due(std::int64_t now_ns, Fire&& fire);

  // The nearest deadline, or `never`. Lock-free; a hint that may be stale by one operation.
  std::int64_t next_deadline() const noexcept {
    return next_.load(std::memory_order_acquire);  // acquire: pairs with publish_next()
  }
  std::size_t size() const noexcept;

 private:
  void sift_up(std::size_t i) noexcept;
  void sift_down(std::size_t i) noexcept;
  void remove_at(std::size_t i) noexcept;
  void publish_next() noexcept;

  mutable std::mutex mu_;
  std::vector<task*> heap_;
  std::atomic<std::int64_t> next_{never};
};

// Now on the steady clock in nanoseconds (the timers' time base).
std::int64_t steady_now_ns() noexcept;

}  // namespace weft::sched

#include "task.hpp"

namespace weft::sched {

template <class Fire>
std::size_t timer_heap::fire_due(std::int64_t now_ns, Fire&& fire) {
  std::lock_guard lk(mu_);
  std::size_t n = 0;
  while (!heap_.empty() && heap_.front()->timer_deadline_ns <= now_ns) {
    task* t = heap_.front();
    remove_at(0);
    fire(t);
    ++n;
  }
  if (n > 0) publish_next();
  return n;
}

}  // namespace weft::sched
