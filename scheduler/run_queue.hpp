// A worker's local run queue: a bounded Chase-Lev work-stealing deque.
//
// The owner pushes at the bottom and may pop from either end: the newest task (bottom, LIFO)
// when a fiber parks to join a child — fork-join then runs depth-first and live fibers stay
// bounded by the recursion depth — or the oldest (top, FIFO) for yields, ordinary parks and the
// fairness tick, so message passing and servers keep Go's first-come order. Thieves take from
// the top, half of the deque per visit, one Chase-Lev steal at a time.
//
// Why not Go's/Tokio's ring (owner and thieves both consume at the head, a thief takes half
// with one CAS)? It only offers FIFO to the owner, and FIFO turns fork-join breadth-first: a
// parent waiting on its newest child runs the oldest queued subtree instead, and fib(27) kept
// 16k fibers alive. Stealing half with one CAS is incompatible with owner pops at the bottom (a
// thief's range can cover the slot the owner just took), so half is taken element by element:
// a few more CASes on the rare steal path, none on the owner's.
//
// Invariants:
//   * only the owner writes bottom_ and the slots; anyone may CAS top_;
//   * indices are 64-bit and never wrap in practice; size = bottom_ - top_, 0 <= size <= capacity;
//   * slots in [top_, bottom_) hold queued tasks.
// The owner's bottom-pop stores bottom_ and then loads top_; that store->load order is what
// makes it and a thief agree on the last element, so both are seq_cst (C++ gives store->load
// ordering only to seq_cst operations; a fence would do, but TSan does not model fences).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace weft::sched {

struct task;

class run_queue {
 public:
  static constexpr std::int64_t capacity = 256;

  // Owner only. False if full (the caller moves half to the global queue).
  bool push(task* t) noexcept {
    const std::int64_t b = bottom_.load(std::memory_order_relaxed);  // relaxed: ours
    const std::int64_t tp = top_.load(std::memory_order_acquire);    // acquire: pairs with a
                                                                     // steal's CAS (slot free)
    if (b - tp >= capacity) return false;
    slots_[index(b)].store(t, std::memory_order_relaxed);  // relaxed: published below
    bottom_.store(b + 1, std::memory_order_release);       // release: pairs with a steal's load
    return true;
  }

  // Owner only: the newest task, or nullptr.
  task* pop_newest() noexcept {
    const std::int64_t b = bottom_.load(std::memory_order_relaxed) - 1;  // relaxed: ours
    bottom_.store(b, std::memory_order_seq_cst);  // seq_cst: ordered before the top_ load
    std::int64_t tp = top_.load(std::memory_order_seq_cst);
    if (tp > b) {                                       // empty
      bottom_.store(b + 1, std::memory_order_relaxed);  // relaxed: no thief reads past top
      return nullptr;
    }
    task* t = slots_[index(b)].load(std::memory_order_relaxed);  // relaxed: we wrote it
    if (tp == b) {
      // The last task: a thief may be taking it too; the CAS on top_ decides.
      if (!top_.compare_exchange_strong(tp, tp + 1, std::memory_order_seq_cst,
                                        std::memory_order_relaxed))
        t = nullptr;
      bottom_.store(b + 1, std::memory_order_relaxed);  // relaxed: top_ already moved past
    }
    return t;
  }

  // Owner or thief: the oldest task, or nullptr (empty, or lost a race: the caller may retry).
  task* pop_oldest() noexcept {
    // seq_cst: the top_ load is ordered before the bottom_ load (the thief's half of the
    // store->load agreement with pop_newest).
    std::int64_t tp = top_.load(std::memory_order_seq_cst);
    const std::int64_t b = bottom_.load(std::memory_order_seq_cst);
    if (tp >= b) return nullptr;
    // Read before the CAS: once top_ moves past this slot the owner may reuse it. If the CAS
    // fails the value is discarded (the slot is atomic so the racy read is well-defined).
    task* t = slots_[index(tp)].load(std::memory_order_relaxed);
    // seq_cst: in one total order with the owner's bottom-pop, which decides the last task.
    if (!top_.compare_exchange_strong(tp, tp + 1, std::memory_order_seq_cst,
                                      std::memory_order_relaxed))
      return nullptr;
    return t;
  }

  // Thief: moves about half of this deque (rounded up) into `dst`, the thief's own deque.
  // Returns one stolen task to run now, or nullptr.
  task* steal_into(run_queue& dst) noexcept {
    task* first = pop_oldest();
    if (first == nullptr) return nullptr;
    // Stop before dst could be full: a stolen task must always have a place.
    for (std::int64_t n = size() / 2; n > 0 && dst.size() < capacity; --n) {
      task* t = pop_oldest();
      if (t == nullptr) break;
      dst.push(t);
    }
    return first;
  }

  // Owner: takes the older half (for overflow into the global queue). Returns how many were
  // written to out (at most capacity / 2).
  std::int64_t pop_half(task** out) noexcept {
    std::int64_t n = 0;
    for (std::int64_t want = size() / 2; n < want; ++n) {
      task* t = pop_oldest();
      if (t == nullptr) break;
      out[n] = t;
    }
    return n;
  }

  // Approximate length; exact for the owner when no thief is active.
  std::int64_t size() const noexcept {
    const std::int64_t tp = top_.load(std::memory_order_acquire);  // acquire: a snapshot
    const std::int64_t b = bottom_.load(std::memory_order_acquire);
    return b > tp ? b - tp : 0;
  }
  bool empty() const noexcept { return size() == 0; }

 private:
  static std::size_t index(std::int64_t i) noexcept {
    return static_cast<std::size_t>(i) % static_cast<std::size_t>(capacity);
  }

  alignas(64) std::atomic<std::int64_t> top_{0};
  alignas(64) std::atomic<std::int64_t> bottom_{0};
  std::array<std::atomic<task*>, capacity> slots_{};
};

}  // namespace weft::sched
