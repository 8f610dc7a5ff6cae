// The fiber model's waits: registration on first use, then park on the poller's record.
#include "fiber_io.hpp"

#include <cstddef>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>

#include <weft/scheduler/cancelled.hpp>
#include <weft/scheduler/runtime_core.hpp>
#include <weft/scheduler/worker.hpp>

namespace weft::net {
namespace {

// Registration is once per descriptor, but a socket's reader and writer fibers may both find it
// unregistered: the first to take the handle's stripe registers, the other then sees the record.
// Held across one epoll_ctl, never across a park.
std::mutex& registration_stripe(const void* h) noexcept {
  static std::mutex stripes[64];
  return stripes[std::hash<const void*>{}(h) % 64];
}

}  // namespace

// The first wait on a descriptor: registers it (or finds that a racing fiber did). Out of line so
// that wait()'s frame, which every parked fiber keeps on its stack, stays small: a parked fiber's
// stack lines are cold when its edge comes (with 10,000 connections), and each one touched costs
// a cache miss per wake.
[[gnu::noinline, gnu::cold]] detail::fd_record* fiber_io::register_fd(handle& h, int fd,
                                                                      interest in,
                                                                      std::uint32_t& snap) {
  std::lock_guard lk(registration_stripe(&h));
  detail::fd_record* r = h.rec_.load(std::memory_order_relaxed);  // relaxed: the stripe orders it
  if (r != nullptr) return r;
  std::shared_ptr<detail::epoll_poller> p = detail::epoll_poller::of_current_runtime();
  std::uint32_t before[2];
  r = p->add(fd, before);
  if (r == nullptr) return nullptr;  // epoll cannot watch it: always ready (a file)
  h.poller_ = std::move(p);
  h.rec_.store(r, std::memory_order_release);  // release: poller_ and the record first
  // The caller failed before the registration: compare with the counts it had then. Any
  // readiness since is reported by the registration itself, as an edge after `before`.
  snap = before[static_cast<int>(in)];
  return r;
}

[[noreturn, gnu::noinline, gnu::cold]] void fiber_io::throw_other_runtime(const handle& h, int fd) {
  throw std::logic_error("weft::net: fd " + std::to_string(fd) + " is registered with runtime '" +
                         h.poller_->runtime().config().name +
                         "'; wait on it from that runtime's fibers or from a plain thread");
}

// A plain thread's wait: poll(2). Out of line for the same reason as register_fd.
[[gnu::noinline]] io_wait fiber_io::block_thread(int fd, interest in, sync::steady_time deadline) {
  return detail::poll_fd(fd, in, deadline);
}

io_wait fiber_io::wait(handle& h, int fd, interest in, std::uint32_t snap,
                       sync::steady_time deadline) {
  sched::worker* w = sched::current_worker();
  if (w == nullptr || w->current() == nullptr) return block_thread(fd, in, deadline);
  // acquire: pairs with register_fd's release (another fiber may have registered it).
  detail::fd_record* r = h.rec_.load(std::memory_order_acquire);
  if (r == nullptr && (r = register_fd(h, fd, in, snap)) == nullptr) return io_wait::ready;
  detail::epoll_poller& p = *h.poller_;
  if (&p.runtime() != &w->runtime()) [[unlikely]]
    throw_other_runtime(h, fd);
  // The handle sits among its socket's hot fields (tcp_stream.hpp), which the fiber reads first
  // once it resumes.
  return p.park(*r, in, snap, deadline, &h);
}

bool fiber_io::is_cancellation(const std::exception_ptr& e) noexcept {
  if (!e) return false;
  try {
    std::rethrow_exception(e);
  } catch (const fiber::cancelled&) {
    return true;
  } catch (...) {
  }
  return false;
}

void fiber_io::release(handle& h, int) noexcept {
  // acq_rel: acquire pairs with the registration's release; release hands the record back.
  detail::fd_record* r = h.rec_.exchange(nullptr, std::memory_order_acq_rel);
  if (r == nullptr) return;
  h.poller_->remove(*r);
  h.poller_.reset();
}

}  // namespace weft::net
