#include "timer_heap.hpp"

#include <chrono>
#include <utility>

#include "task.hpp"

namespace weft::sched {

std::int64_t steady_now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void timer_heap::arm(task* t, std::int64_t deadline_ns) {
  std::lock_guard lk(mu_);
  t->timer_deadline_ns = deadline_ns;
  t->timer_index = heap_.size();
  heap_.push_back(t);
  sift_up(t->timer_index);
  publish_next();
}

bool timer_heap::cancel(task* t) noexcept {
  std::lock_guard lk(mu_);
  if (t->timer_index == task::no_timer) return false;
  remove_at(t->timer_index);
  publish_next();
  return true;
}

std::size_t timer_heap::size() const noexcept {
  std::lock_guard lk(mu_);
  return heap_.size();
}

void timer_heap::remove_at(std::size_t i) noexcept {
  task* gone = heap_[i];
  gone->timer_index = task::no_timer;
  task* last = heap_.back();
  heap_.pop_back();
  if (i == heap_.size()) return;
  heap_[i] = last;
  last->timer_index = i;
  sift_down(i);
  sift_up(last->timer_index);
}

void timer_heap::sift_up(std::size_t i) noexcept {
  while (i > 0) {
    const std::size_t parent = (i - 1) / 2;
    if (heap_[parent]->timer_deadline_ns <= heap_[i]->timer_deadline_ns) break;
    std::swap(heap_[parent], heap_[i]);
    heap_[parent]->timer_index = parent;
    heap_[i]->timer_index = i;
    i = parent;
  }
}

void timer_heap::sift_down(std::size_t i) noexcept {
  const std::size_t n = heap_.size();
  for (;;) {
    std::size_t smallest = i;
    const std::size_t l = 2 * i + 1, r = l + 1;
    if (l < n && heap_[l]->timer_deadline_ns < heap_[smallest]->timer_deadline_ns) smallest = l;
    if (r < n && heap_[r]->timer_deadline_ns < heap_[smallest]->timer_deadline_ns) smallest = r;
    if (smallest == i) return;
    std::swap(heap_[smallest], heap_[i]);
    heap_[smallest]->timer_index = smallest;
    heap_[i]->timer_index = i;
    i = smallest;
  }
}

void timer_heap::publish_next() noexcept {
  // release: pairs with next_deadline()'s acquire; only a hint, the lock orders the heap.
  next_.store(heap_.empty() ? never : heap_.front()->timer_deadline_ns, std::memory_order_release);
}

}  // namespace weft::sched
