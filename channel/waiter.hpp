// The record a blocked channel operation leaves in a channel's wait list, and the token that
// ties together the waiters of one parked select (see select.hpp).
#pragma once

#include <atomic>
#include <optional>

#include <weft/sync/wait_list.hpp>

#include "result.hpp"

namespace weft::chan::detail {

// Which case of a parked select fired: none until a notifier claims it, then that case's index
// for good. Claiming comes before handing anything over, so at most one case ever receives or
// gives a value (select.hpp's essay has the whole argument).
class select_token {
 public:
  static constexpr int none = -1;

  // True if the caller is the first to claim this select, for case `k`. Called under the lock of
  // the channel whose wait list held the waiter.
  bool claim(int k) noexcept {
    int expected = none;
    // relaxed: the word only arbitrates between notifiers (atomicity alone makes the winner
    // unique); what the winner hands over is published by its notify() (release) and read
    // after the select's park ends (acquire), or, after a timeout, under the channel locks.
    return fired_.compare_exchange_strong(expected, k, std::memory_order_relaxed,
                                          std::memory_order_relaxed);
  }

  // The claimed case, or none. Read by the selecting task after its park ended.
  int fired() const noexcept {
    return fired_.load(std::memory_order_relaxed);  // relaxed: ordered by end_park's acquire
  }

 private:
  std::atomic<int> fired_{none};
};

// One blocked send or receive, on the blocked task's stack. Touched only under the channel's
// lock (parker.hpp's lifetime rule). A notifier writes `value` (to a receiver) or takes it (from
// a sender) and sets `outcome` *before* notify(); a notify() that returns false is undone
// (the value is put back where it came from) before the lock is released.
template <class T, class P>
struct waiter : sync::wait_node<waiter<T, P>> {
  explicit waiter(typename P::waker w) noexcept : who(w) {}

  typename P::waker who;
  select_token* sel = nullptr;  // the parked select this is one case of; nullptr: a plain wait
  int case_index = 0;           // which case of `sel`
  status outcome = status::ok;  // ok: the hand-over happened; disconnected: woken by closing
  std::optional<T> value;       // receiver: filled by the sender; sender: the value offered
};

}  // namespace weft::chan::detail
