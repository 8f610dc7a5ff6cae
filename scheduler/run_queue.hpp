// A worker's local run queue: a bounded single-producer / multi-consumer ring (Go's runq,
// Tokio's local queue). The owner pushes and pops at the ends it owns without contention;
// thieves take half of it at once with one CAS on `head_`.
//
// Invariants:
//   * only the owner stores `tail_`; anyone may CAS `head_`;
//   * 0 <= tail_ - head_ <= capacity (unsigned arithmetic, indices wrap);
//   * slots in [head_, tail_) hold queued tasks; the owner writes a slot only outside that range.
// A thief reads slots before its CAS on `head_`; if the CAS fails the reads are discarded, so the
// slots are atomics (relaxed) only to make those discarded racy reads well-defined.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace weft::sched {

struct task;

class run_queue {
 public:
  static constexpr std::uint32_t capacity = 256;

  // Owner only. False if full (the caller moves half to the global queue: overflow()).
  bool push(task* t) noexcept {
    const std::uint32_t h = head_.load(std::memory_order_acquire);  // acquire: pairs with
                                                                    // a thief's release CAS
    const std::uint32_t t_ = tail_.load(std::memory_order_relaxed);  // relaxed: owner's own
    if (t_ - h >= capacity) return false;
    slots_[t_ % capacity].store(t, std::memory_order_relaxed);  // relaxed: published below
    tail_.store(t_ + 1, std::memory_order_release);  // release: pairs with pop/steal acquire
    return true;
  }

  // Owner only. The oldest task, or nullptr.
  task* pop() noexcept {
    std::uint32_t h = head_.load(std::memory_order_acquire);  // acquire: pairs with thieves
    for (;;) {
      const std::uint32_t t_ = tail_.load(std::memory_order_relaxed);  // relaxed: owner's own
      if (h == t_) return nullptr;
      task* t = slots_[h % capacity].load(std::memory_order_relaxed);  // relaxed: owner wrote it
      // release: a thief that later reads head_ must not see this slot as still queued.
      if (head_.compare_exchange_weak(h, h + 1, std::memory_order_release,
                                      std::memory_order_acquire))
        return t;
    }
  }

  // Owner only: takes half of the queue (for overflow into the global queue). Writes up to
  // capacity / 2 tasks to out; returns how many.
  std::uint32_t pop_half(task** out) noexcept {
    std::uint32_t h = head_.load(std::memory_order_acquire);  // acquire: pairs with thieves
    for (;;) {
      const std::uint32_t t_ = tail_.load(std::memory_order_relaxed);
      const std::uint32_t n = (t_ - h) / 2;
      if (n == 0) return 0;
      for (std::uint32_t i = 0; i < n; ++i)
        out[i] = slots_[(h + i) % capacity].load(std::memory_order_relaxed);
      // release: as in pop().
      if (head_.compare_exchange_weak(h, h + n, std::memory_order_release,
                                      std::memory_order_acquire))
        return n;
    }
  }

  // Thief: moves half of this queue (rounded up) into `dst`, which must be the thief's own
  // queue and empty. Returns one of the stolen tasks to run now (the rest are queued in dst),
  // or nullptr if there was nothing to steal.
  task* steal_into(run_queue& dst) noexcept {
    const std::uint32_t dst_tail = dst.tail_.load(std::memory_order_relaxed);  // dst is ours
    for (;;) {
      std::uint32_t h = head_.load(std::memory_order_acquire);  // acquire: pairs with owner's
      const std::uint32_t t_ = tail_.load(std::memory_order_acquire);  // release of tail_
      std::uint32_t n = t_ - h;
      n -= n / 2;
      if (n == 0) return nullptr;
      if (n > capacity / 2) continue;  // h and t_ read inconsistently; retry
      for (std::uint32_t i = 0; i < n; ++i) {
        task* t = slots_[(h + i) % capacity].load(std::memory_order_relaxed);
        dst.slots_[(dst_tail + i) % capacity].store(t, std::memory_order_relaxed);
      }
      // acq_rel: release tells the owner these slots are free; acquire orders our slot reads.
      if (head_.compare_exchange_strong(h, h + n, std::memory_order_acq_rel,
                                        std::memory_order_relaxed)) {
        --n;
        task* run_now = dst.slots_[(dst_tail + n) % capacity].load(std::memory_order_relaxed);
        // release: publishes the copied slots to dst's own pops and to thieves of dst.
        if (n > 0) dst.tail_.store(dst_tail + n, std::memory_order_release);
        return run_now;
      }
    }
  }

  // Approximate length; exact when called by the owner with no concurrent thief.
  std::uint32_t size() const noexcept {
    const std::uint32_t h = head_.load(std::memory_order_acquire);  // acquire: a snapshot
    const std::uint32_t t_ = tail_.load(std::memory_order_acquire);
    return t_ - h;
  }
  bool empty() const noexcept { return size() == 0; }

 private:
  alignas(64) std::atomic<std::uint32_t> head_{0};
  alignas(64) std::atomic<std::uint32_t> tail_{0};
  std::array<std::atomic<task*>, capacity> slots_{};
};

}  // namespace weft::sched
