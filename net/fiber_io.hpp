// The fiber model's I/O (io_model.hpp), hybrid like the fiber parker: on a fiber, a wait parks
// the fiber on the descriptor's record in its runtime's epoll poller (poller.hpp) and the worker
// runs other fibers; on a plain thread it blocks the thread in poll(2). Descriptors are
// non-blocking, so every call tries first and waits only on EAGAIN.
//
// A descriptor is registered with the poller of the runtime whose fiber first waits on it, and
// deregistered by release() (the socket's close). Waiting on it later from a fiber of another
// runtime is a misuse (std::logic_error); from a plain thread it is fine.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <utility>

#include <weft/sync/deadline.hpp>

#include "io_model.hpp"
#include "poller.hpp"

namespace weft::net {

struct fiber_io {
  // A descriptor's registration: none until a fiber first waits on it.
  class handle {
   public:
    handle() noexcept = default;
    handle(handle&& o) noexcept
        : rec_(o.rec_.exchange(nullptr, std::memory_order_relaxed)),  // relaxed: see below
          poller_(std::move(o.poller_)) {}
    // Precondition: this handle was released (sockets close before they are assigned to). Moves
    // must not race with other calls on the socket, so relaxed order suffices.
    handle& operator=(handle&& o) noexcept {
      rec_.store(o.rec_.exchange(nullptr, std::memory_order_relaxed), std::memory_order_relaxed);
      poller_ = std::move(o.poller_);
      return *this;
    }
    ~handle() = default;

   private:
    friend struct fiber_io;
    // Published with release once registered (poller_ is set first); a reader and a writer
    // fiber of one socket may race to register it (fiber_io.cpp).
    std::atomic<detail::fd_record*> rec_{nullptr};
    std::shared_ptr<detail::epoll_poller> poller_;
  };

  static constexpr bool blocking_fds = false;

  static std::uint32_t snapshot(const handle& h, interest in) noexcept {
    // acquire: pairs with the registration's release (the record is initialised).
    const detail::fd_record* r = h.rec_.load(std::memory_order_acquire);
    // acquire: pairs with the dispatcher's release increment (poller.cpp, fire).
    return r != nullptr ? r->seq[static_cast<int>(in)].load(std::memory_order_acquire) : 0;
  }

  // True if the descriptor is registered, no hang-up or error has been reported for it, and no
  // read edge has been dispatched since `snap` (io_model.hpp: the edge of any data that arrived
  // after the short read is still to come). On a plain thread the wait that follows is poll(2),
  // which reports the current state: sound as well.
  static bool read_would_block(const handle& h, std::uint32_t snap) noexcept {
    // acquire: pairs with the registration's release (the record is initialised).
    const detail::fd_record* r = h.rec_.load(std::memory_order_acquire);
    if (r == nullptr) return false;
    // relaxed: a hang-up dispatched before the short read's snapshot was set before the increment
    // that snapshot acquired (poller.cpp, dispatch), so it is visible here; one dispatched after
    // it increments seq too, which this load or the wait that follows (under the lock) sees.
    const bool hung_up = r->hangup.load(std::memory_order_relaxed);
    // acquire: pairs with the dispatcher's release increment (poller.cpp, fire).
    return !hung_up && r->seq[0].load(std::memory_order_acquire) == snap;
  }

  // On a fiber: registers the descriptor on first use and parks (see the file comment). On a
  // plain thread: poll(2). Throws weft::fiber::cancelled (runtime shutdown), std::system_error
  // (registration or poll(2) failed), std::logic_error (registered with another runtime).
  static io_wait wait(handle& h, int fd, interest in, std::uint32_t snap,
                      sync::steady_time deadline);

  // Deregisters the descriptor if it was registered. Precondition: fd is still open.
  static void release(handle& h, int fd) noexcept;

  // Whether `e` holds weft::fiber::cancelled.
  static bool is_cancellation(const std::exception_ptr& e) noexcept;

 private:
  // wait()'s paths other than a fiber's park (fiber_io.cpp): a plain thread's poll(2), the first
  // registration, and the misuse error.
  static io_wait block_thread(int fd, interest in, sync::steady_time deadline);
  static detail::fd_record* register_fd(handle& h, int fd, interest in, std::uint32_t& snap);
  [[noreturn]] static void throw_other_runtime(const handle& h, int fd);
};

static_assert(io_model<fiber_io>);

}  // namespace weft::net
