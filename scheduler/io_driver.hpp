// The scheduler's hook for an I/O poller: what an idle worker calls to learn which fibers blocked
// on file descriptors may run again. The scheduler owns the hook; net/ implements it (an epoll
// poller, net/poller.hpp) and installs one per runtime on first use
// (runtime_core::io_or_install). scheduler/ never includes net/: it sees only this interface.
//
// How the workers use it (the essay at the top of worker.cpp argues the details):
//   - a worker that finds nothing local polls without blocking (poll_now), unless another worker
//     is already blocked in the driver; a busy worker does the same every fairness tick if
//     nobody has polled for a while, so I/O is not starved by busy fibers;
//   - when a worker goes to sleep and no other worker waits in the driver, it waits there
//     (wait) rather than on its futex, with its nearest timer as the deadline; waking it is
//     interrupt();
//   - polling only collects readiness; dispatch() makes the waiting fibers runnable, on the
//     calling worker. The blocking poller dispatches after it has left the idle list, so the
//     fibers it wakes are counted as new work by the wake rule like any other.
#pragma once

#include <cstddef>
#include <cstdint>

namespace weft::sched {

class io_driver {
 public:
  virtual ~io_driver() = default;

  // Collects the readiness events pending now, without blocking, into worker `w`'s batch (one
  // batch per worker, so workers may poll concurrently). Returns true if it collected events
  // that dispatch() will act on. Called only on worker `w`'s thread; never throws.
  virtual bool poll_now(std::uint32_t w) noexcept = 0;

  // As poll_now, but blocks until an event arrives, `deadline_ns` (steady clock, ns;
  // timer_heap::never: none) passes, or interrupt() is called, and consumes the interrupt.
  // Precondition: the caller is the one worker marked in_poller (worker.hpp).
  virtual bool wait(std::uint32_t w, std::int64_t deadline_ns) noexcept = 0;

  // Makes runnable every fiber waiting for a readiness that worker `w`'s last poll_now() or
  // wait() collected (they go to the calling worker's queues, as any wake-up does), and empties
  // the batch. Returns how many it woke. Called on worker `w`'s thread; never blocks or throws.
  virtual std::size_t dispatch(std::uint32_t w) noexcept = 0;

  // Makes a wait() that is blocked, or the next one, return promptly. Any thread; never blocks,
  // never throws. Calls made before that wait() returns may be coalesced into one.
  virtual void interrupt() noexcept = 0;

  // Whether any file descriptor is registered: without one, nobody needs to poll without
  // blocking. A hint (relaxed); never blocks.
  virtual bool has_registrations() const noexcept = 0;
};

}  // namespace weft::sched
