// FIFOs of tasks linked through task::link: task_fifo, unsynchronised (a worker's private yield
// queue); task_list, one under a mutex (the global injection queue and the per-worker inbox of
// pinned fibers), whose emptiness is readable without the lock (an atomic count) so idle checks
// stay cheap.
#pragma once

#include <atomic>
#include <cstddef>
#include <mutex>

#include "task.hpp"

namespace weft::sched {

// An intrusive FIFO with no synchronisation of its own: its owner serialises every call.
struct task_fifo {
  task* head = nullptr;
  task* tail = nullptr;

  bool empty() const noexcept { return head == nullptr; }
  void push(task* t) noexcept {
    t->link = nullptr;
    (tail != nullptr ? tail->link : head) = t;
    tail = t;
  }
  task* pop() noexcept {
    task* t = head;
    if (t != nullptr && (head = t->link) == nullptr) tail = nullptr;
    return t;
  }
};

class task_list {
 public:
  void push(task* t) {
    std::lock_guard lk(mu_);
    append_locked(t);
  }

  // Appends n tasks (one lock).
  void push_batch(task* const* ts, std::size_t n) {
    std::lock_guard lk(mu_);
    for (std::size_t i = 0; i < n; ++i) append_locked(ts[i]);
  }

  task* pop() {
    if (empty()) return nullptr;
    std::lock_guard lk(mu_);
    return pop_locked();
  }

  // Pops up to `max` tasks into out; returns how many.
  std::size_t pop_batch(task** out, std::size_t max) {
    if (empty()) return 0;
    std::lock_guard lk(mu_);
    std::size_t n = 0;
    while (n < max && !q_.empty()) out[n++] = pop_locked();
    return n;
  }

  // A hint: exact only under the lock, or when nobody pushes concurrently.
  bool empty() const noexcept { return size() == 0; }
  std::size_t size() const noexcept {
    return size_.load(std::memory_order_acquire);  // acquire: pairs with append's release
  }

  // For checks that must be ordered against push() (see worker idle path).
  std::mutex& mutex() noexcept { return mu_; }

 private:
  void append_locked(task* t) noexcept {
    q_.push(t);
    // release: a reader that sees the new size and then takes the lock finds the task.
    size_.store(size_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }
  task* pop_locked() noexcept {
    task* t = q_.pop();
    if (t == nullptr) return nullptr;
    // relaxed: only changed under mu_; readers outside the lock treat it as a hint.
    size_.store(size_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    return t;
  }

  std::mutex mu_;
  task_fifo q_;  // guarded by mu_
  std::atomic<std::size_t> size_{0};
};

}  // namespace weft::sched
