// An intrusive FIFO of waiters: the wait list of every blocking primitive.
//
// A waiter is a record on the blocked task's own stack (see parker.hpp), so the list allocates
// nothing. It is doubly linked because a waiter whose park ends by timeout or cancellation must
// unlink itself from the middle in O(1). Not thread-safe: the owning primitive guards it with its
// own lock, and `linked()` — read under that lock — tells a woken waiter whether a notifier
// already removed it.
#pragma once

#include <cassert>
#include <cstddef>

namespace weft::sync {

// Base of a waiter type W (CRTP): `struct my_waiter : wait_node<my_waiter> { ... };`.
template <class W>
class wait_node {
 public:
  wait_node() = default;
  wait_node(const wait_node&) = delete;
  wait_node& operator=(const wait_node&) = delete;

  bool linked() const noexcept { return linked_; }

 private:
  template <class>
  friend class wait_list;
  W* prev_ = nullptr;
  W* next_ = nullptr;
  bool linked_ = false;
};

template <class W>
class wait_list {
 public:
  wait_list() = default;
  wait_list(const wait_list&) = delete;
  wait_list& operator=(const wait_list&) = delete;

  bool empty() const noexcept { return head_ == nullptr; }
  std::size_t size() const noexcept { return size_; }
  W* front() const noexcept { return head_; }

  void push_back(W& w) noexcept {
    assert(!w.linked_);
    node(w).prev_ = tail_;
    node(w).next_ = nullptr;
    if (tail_ != nullptr)
      node(*tail_).next_ = &w;
    else
      head_ = &w;
    tail_ = &w;
    node(w).linked_ = true;
    ++size_;
  }

  // For a waiter that keeps its place after a futile wake (e.g. a mutex waiter that lost a
  // race to a barging locker goes back to the head, as Go's sync.Mutex does).
  void push_front(W& w) noexcept {
    assert(!w.linked_);
    node(w).prev_ = nullptr;
    node(w).next_ = head_;
    if (head_ != nullptr)
      node(*head_).prev_ = &w;
    else
      tail_ = &w;
    head_ = &w;
    node(w).linked_ = true;
    ++size_;
  }

  // The oldest waiter, unlinked; nullptr if empty.
  W* pop_front() noexcept {
    W* w = head_;
    if (w != nullptr) remove(*w);
    return w;
  }

  // Unlinks w. Precondition: w is in this list.
  void remove(W& w) noexcept {
    assert(w.linked_);
    wait_node<W>& n = node(w);
    if (n.prev_ != nullptr)
      node(*n.prev_).next_ = n.next_;
    else
      head_ = n.next_;
    if (n.next_ != nullptr)
      node(*n.next_).prev_ = n.prev_;
    else
      tail_ = n.prev_;
    n.prev_ = n.next_ = nullptr;
    n.linked_ = false;
    --size_;
  }

  // Unlinks w if it is still listed (a woken waiter's clean-up). Returns whether it was.
  bool remove_if_linked(W& w) noexcept {
    if (!w.linked_) return false;
    remove(w);
    return true;
  }

  // Calls f(w) for each waiter, oldest first. f must not unlink any waiter but the one given.
  template <class F>
  void for_each(F&& f) {
    for (W* w = head_; w != nullptr;) {
      W* next = node(*w).next_;
      f(*w);
      w = next;
    }
  }

 private:
  static wait_node<W>& node(W& w) noexcept { return static_cast<wait_node<W>&>(w); }

  W* head_ = nullptr;
  W* tail_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace weft::sync
