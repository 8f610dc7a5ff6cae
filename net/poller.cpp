// The epoll poller (design essay in poller.hpp; the workers' side in scheduler/worker.cpp).
#include "poller.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <stdexcept>
#include <string>
#include <system_error>

#include <weft/scheduler/fiber_parker.hpp>
#include <weft/scheduler/runtime_core.hpp>
#include <weft/scheduler/timer_heap.hpp>
#include <weft/scheduler/worker.hpp>
#include <weft/sync/list_park.hpp>

namespace weft::net::detail {
namespace {

constexpr std::uint32_t read_events = EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR;
constexpr std::uint32_t write_events = EPOLLOUT | EPOLLHUP | EPOLLERR;
constexpr std::uint32_t hangup_events = EPOLLRDHUP | EPOLLHUP | EPOLLERR;

std::uint64_t event_tag(std::uint32_t gen, std::uint32_t index) noexcept {
  return (std::uint64_t{gen} << 32) | index;
}

[[noreturn]] void throw_system(int err, const std::string& what) {
  throw std::system_error(err, std::system_category(), "weft::net: " + what);
}

// epoll_pwait2 (Linux 5.11) takes a nanosecond timeout: timers then fire on time instead of up to
// a millisecond late. Older kernels answer ENOSYS once; from then on epoll_wait, rounding up.
std::atomic<bool> have_pwait2{true};

int epoll_wait_until(int epfd, epoll_event* ev, int n, std::int64_t deadline_ns) noexcept {
  if (deadline_ns == sched::timer_heap::never) return ::epoll_wait(epfd, ev, n, -1);
  std::int64_t rel = deadline_ns - sched::steady_now_ns();
  if (rel < 0) rel = 0;
  if (have_pwait2.load(std::memory_order_relaxed)) {  // relaxed: a capability flag
    timespec ts{static_cast<time_t>(rel / 1'000'000'000), static_cast<long>(rel % 1'000'000'000)};
    const int r = ::epoll_pwait2(epfd, ev, n, &ts, nullptr);
    if (r >= 0 || errno != ENOSYS) return r;
    have_pwait2.store(false, std::memory_order_relaxed);  // relaxed: as above
  }
  const std::int64_t ms = (rel + 999'999) / 1'000'000;
  return ::epoll_wait(epfd, ev, n, ms > INT_MAX ? INT_MAX : static_cast<int>(ms));
}

}  // namespace

std::shared_ptr<epoll_poller> epoll_poller::of_current_runtime() {
  sched::runtime_core& rt = sched::current_worker()->runtime();
  if (sched::io_driver* d = rt.io()) return static_cast<epoll_poller*>(d)->shared_from_this();
  // Only net/ installs drivers, and only this type.
  return std::static_pointer_cast<epoll_poller>(
      rt.io_or_install([](sched::runtime_core& r) -> std::shared_ptr<sched::io_driver> {
        return std::make_shared<epoll_poller>(r);
      }));
}

epoll_poller::epoll_poller(sched::runtime_core& rt)
    : rt_(rt),
      batches_(std::make_unique<batch[]>(rt.worker_count())),
      chunks_(std::make_unique<std::atomic<fd_record*>[]>(max_chunks)) {
  epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) throw_system(errno, "epoll_create1 for runtime '" + rt.config().name + "'");
  eventfd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (eventfd_ < 0) {
    const int err = errno;
    ::close(epfd_);
    throw_system(err, "eventfd for runtime '" + rt.config().name + "'");
  }
  // Level-triggered: it stays reported until the poller reads it, so an interrupt seen by a
  // worker's non-blocking poll is still there for the poller (worker.cpp, "The poller").
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = event_tag(0, interrupt_index);
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, eventfd_, &ev) < 0) {
    const int err = errno;
    ::close(eventfd_);
    ::close(epfd_);
    throw_system(err, "epoll_ctl(ADD) of the interrupt eventfd");
  }
}

epoll_poller::~epoll_poller() {
  ::close(eventfd_);
  ::close(epfd_);
  for (std::uint32_t c = 0; c < max_chunks; ++c)
    delete[] chunks_[c].load(std::memory_order_relaxed);  // relaxed: nobody else is left
}

std::uint32_t epoll_poller::allocate_index() {
  std::lock_guard lk(table_mu_);
  if (!free_.empty()) {
    const std::uint32_t i = free_.back();
    free_.pop_back();
    return i;
  }
  const std::uint32_t i = next_index_;
  if (i / chunk_size >= max_chunks)
    throw_system(ENOMEM, "poller: more than " + std::to_string(max_chunks * chunk_size) +
                             " descriptors registered");
  free_.reserve(i + 1);  // room for every index ever handed out: free_index never allocates
  if (i % chunk_size == 0) {
    auto* chunk = new fd_record[chunk_size];
    for (std::uint32_t k = 0; k < chunk_size; ++k) chunk[k].index = i + k;
    // release: the records are constructed before record_at's acquire load finds the chunk.
    chunks_[i / chunk_size].store(chunk, std::memory_order_release);
  }
  ++next_index_;
  return i;
}

void epoll_poller::free_index(std::uint32_t index) noexcept {
  std::lock_guard lk(table_mu_);
  free_.push_back(index);  // cannot throw: allocate_index reserved room for every index
}

fd_record* epoll_poller::add(int fd, std::uint32_t (&snap)[2]) {
  const std::uint32_t index = allocate_index();
  fd_record& r = record_at(index);
  std::uint32_t gen = 0;
  r.lock.lock();
  r.live = true;
  r.fd = fd;
  gen = r.gen;
  r.hangup.store(false, std::memory_order_relaxed);  // relaxed: published with the record
  // relaxed: no event carries this generation before the epoll_ctl below, so nothing changes
  // seq meanwhile; the lock orders these loads after the previous registration's updates.
  snap[0] = r.seq[0].load(std::memory_order_relaxed);
  snap[1] = r.seq[1].load(std::memory_order_relaxed);
  r.lock.unlock();
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.u64 = event_tag(gen, index);
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) < 0) {
    const int err = errno;
    r.lock.lock();
    r.live = false;
    ++r.gen;
    r.lock.unlock();
    free_index(index);
    if (err == EPERM) return nullptr;
    if (err == EEXIST)
      throw std::logic_error("weft::net: fd " + std::to_string(fd) +
                             " is already watched by another weft object (wait through that one)");
    throw_system(err, "epoll_ctl(ADD) of fd " + std::to_string(fd));
  }
  registered_.fetch_add(1, std::memory_order_relaxed);  // relaxed: a hint (has_registrations)
  return &r;
}

void epoll_poller::remove(fd_record& r) noexcept {
  r.lock.lock();
  const int fd = r.fd;
  r.lock.unlock();
  // Before close(2): afterwards the number may already name another file.
  ::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
  r.lock.lock();
  r.live = false;
  ++r.gen;  // events collected before the DEL are dropped from now on
  while (io_waiter* w = r.waiters.pop_front()) {
    w->closed = true;
    const sched::waker who = w->who;  // the waiter may be gone once notified
    who.notify();
  }
  r.lock.unlock();
  registered_.fetch_sub(1, std::memory_order_relaxed);  // relaxed: a hint
  free_index(r.index);
}

io_wait epoll_poller::park(fd_record& r, interest in, std::uint32_t snap,
                           sync::steady_time deadline, const void* touch) {
  const int dir = static_cast<int>(in);
  r.lock.lock();
  if (!r.live) {
    r.lock.unlock();
    return io_wait::closed;
  }
  // relaxed: under the lock, which orders it after every dispatched increment.
  if (r.seq[dir].load(std::memory_order_relaxed) != snap) {
    r.lock.unlock();
    return io_wait::ready;  // an edge came after the snapshot: retry the call
  }
  io_waiter w(sched::waker::current(), in, touch);
  // leave: the record outlives every waiter (it is pooled), and a woken fiber has no reason to
  // take its lock again.
  const sync::wake_reason why = sync::park_on_list<sched::fiber_parker>(
      r.lock, r.waiters, w, deadline, [] {}, sync::wait_place::back, sync::after_notify::leave);
  switch (why) {
    case sync::wake_reason::notified:
      return w.closed ? io_wait::closed : io_wait::ready;
    case sync::wake_reason::timed_out:
      return io_wait::timed_out;
    case sync::wake_reason::cancelled:
      break;
  }
  sched::fiber_parker::throw_cancelled();
}

bool epoll_poller::collect(batch& b, int n, bool consume) noexcept {
  int kept = 0;
  for (int i = 0; i < n; ++i) {
    if (static_cast<std::uint32_t>(b.events[i].data.u64) == interrupt_index) {
      if (consume) {
        std::uint64_t v = 0;
        [[maybe_unused]] const auto r = ::read(eventfd_, &v, sizeof v);  // EAGAIN: drained
        // acq_rel: after the read, so an interrupt() that finds the flag still set (and skips
        // its write) is ordered before this and its reason is visible to the poller's re-check.
        interrupt_pending_.exchange(false, std::memory_order_acq_rel);
      }
      continue;
    }
    b.events[kept++] = b.events[i];
  }
  b.count = kept;
  return kept > 0;
}

bool epoll_poller::poll_now(std::uint32_t w) noexcept {
  batch& b = batches_[w];
  const int n = ::epoll_wait(epfd_, b.events, max_events, 0);
  // Not the interrupt's consumer: it may be meant for the worker about to wait (worker.cpp).
  return collect(b, n > 0 ? n : 0, false);
}

bool epoll_poller::wait(std::uint32_t w, std::int64_t deadline_ns) noexcept {
  batch& b = batches_[w];
  const int n = epoll_wait_until(epfd_, b.events, max_events, deadline_ns);  // EINTR: nothing
  return collect(b, n > 0 ? n : 0, true);
}

std::size_t epoll_poller::fire(fd_record& r, bool readable, bool writable) noexcept {
  // release: pairs with the acquire of a snapshot (fiber_io::snapshot): a fiber that sees the new
  // count also sees everything before it. The lock orders it for park()'s check.
  if (readable)
    r.seq[0].store(r.seq[0].load(std::memory_order_relaxed) + 1, std::memory_order_release);
  if (writable)
    r.seq[1].store(r.seq[1].load(std::memory_order_relaxed) + 1, std::memory_order_release);
  std::size_t woken = 0;
  r.waiters.for_each([&](io_waiter& w) {
    if (!(w.in == interest::read ? readable : writable)) return;
    r.waiters.remove(w);
    const sched::waker who = w.who;  // a copy: once notified, the waiter may be gone
    who.prefetch_resume();           // under the lock, before notify (park.hpp)
    if (w.touch != nullptr) __builtin_prefetch(w.touch, 1, 3);
    if (who.notify()) ++woken;
  });
  return woken;
}

std::size_t epoll_poller::dispatch(std::uint32_t w) noexcept {
  batch& b = batches_[w];
  // With many connections every record of the batch, every waiter on a parked fiber's stack and
  // every parked fiber's control block and stack is cold, and each is found only through the one
  // before. Taken event by event those misses come one after another; in passes, each pass asks
  // for one level of the whole batch, so the misses of a level overlap: the records, then (under
  // each record's lock, the only way to read its list) the first waiter, then, in fire, the
  // fiber's stack (sched::waker::prefetch_resume) and its socket's state (io_waiter::touch). The
  // extra pass costs a lock and unlock of a record that is in cache by then. A pass for the control
  // blocks as well measured no better (io_wake_bench at 10,000: within noise of this), so fire
  // takes that miss.
  for (int i = 0; i < b.count; ++i) __builtin_prefetch(&record_of(b.events[i]), 1, 3);
  for (int i = 0; i < b.count; ++i) {
    fd_record& r = record_of(b.events[i]);
    r.lock.lock();
    if (const io_waiter* first = r.waiters.front()) __builtin_prefetch(first, 1, 3);
    r.lock.unlock();
  }
  std::size_t woken = 0;
  for (int i = 0; i < b.count; ++i) {
    const std::uint64_t tag = b.events[i].data.u64;
    const std::uint32_t events = b.events[i].events;
    fd_record& r = record_of(b.events[i]);
    r.lock.lock();
    if (r.live && r.gen == static_cast<std::uint32_t>(tag >> 32)) {
      // relaxed: fire's release increment below publishes it (fiber_io::read_would_block).
      if ((events & hangup_events) != 0) r.hangup.store(true, std::memory_order_relaxed);
      woken += fire(r, (events & read_events) != 0, (events & write_events) != 0);
    }
    r.lock.unlock();
  }
  b.count = 0;
  return woken;
}

void epoll_poller::interrupt() noexcept {
  // acq_rel: pairs with collect()'s exchange (see there).
  if (interrupt_pending_.exchange(true, std::memory_order_acq_rel)) return;
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto r = ::write(eventfd_, &one, sizeof one);  // cannot overflow: reset
}

}  // namespace weft::net::detail
