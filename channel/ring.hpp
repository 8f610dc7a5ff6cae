// A growable circular FIFO of T: a channel's buffer.
//
// Power-of-two capacity (the index wraps with a mask), doubled when full, allocated on the first
// push. T need only be nothrow move-constructible: slots are raw storage, values are
// move-constructed in and destroyed on the way out, so no default constructor or assignment
// is needed. Not thread-safe: the channel's lock guards it. Rejected: std::deque (a chunk
// allocation every 512 bytes of values and a slower index), a fixed array for bounded channels
// (sync_channel(1'000'000) would allocate a million slots for a channel that stays nearly empty).
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace weft::chan::detail {

template <class T>
class ring {
  static_assert(std::is_nothrow_move_constructible_v<T>);

 public:
  ring() noexcept = default;
  ring(const ring&) = delete;
  ring& operator=(const ring&) = delete;
  ~ring() {
    clear();
    if (slots_ != nullptr) alloc().deallocate(slots_, cap_);
  }

  bool empty() const noexcept { return size_ == 0; }
  std::size_t size() const noexcept { return size_; }

  // Appends v. Throws std::bad_alloc if the ring must grow and cannot; v is then untouched.
  void push_back(T&& v) {
    if (size_ == cap_) grow();
    std::construct_at(slots_ + ((head_ + size_) & (cap_ - 1)), std::move(v));
    ++size_;
  }

  // Precondition: !empty().
  T& front() noexcept { return slots_[head_]; }
  void pop_front() noexcept {
    std::destroy_at(slots_ + head_);
    head_ = (head_ + 1) & (cap_ - 1);
    --size_;
  }

  // Exchanges contents with `other` (the channel moves its buffer out to destroy the values
  // outside its lock).
  void swap(ring& other) noexcept {
    std::swap(slots_, other.slots_);
    std::swap(cap_, other.cap_);
    std::swap(head_, other.head_);
    std::swap(size_, other.size_);
  }

  void clear() noexcept {
    while (!empty()) pop_front();
  }

 private:
  static std::allocator<T> alloc() noexcept { return {}; }

  void grow() {
    const std::size_t cap = cap_ == 0 ? 16 : cap_ * 2;
    T* slots = alloc().allocate(cap);
    for (std::size_t i = 0; i < size_; ++i) {
      T* from = slots_ + ((head_ + i) & (cap_ - 1));
      std::construct_at(slots + i, std::move(*from));
      std::destroy_at(from);
    }
    if (slots_ != nullptr) alloc().deallocate(slots_, cap_);
    slots_ = slots;
    cap_ = cap;
    head_ = 0;
  }

  T* slots_ = nullptr;
  std::size_t cap_ = 0;  // 0 or a power of two
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace weft::chan::detail
