// The fiber model's I/O poller: one epoll instance per runtime, the scheduler's io_driver
// (scheduler/io_driver.hpp; how workers poll it is argued in scheduler/worker.cpp, "The
// poller"). This header is the descriptor side: registration and parking.
//
// Design essay
// ------------
// Registration. Each descriptor is registered once, on the first wait of a fiber on it, for
// everything at once — EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET — and deregistered just before
// it is closed. Edge-triggered, so a ready descriptor nobody waits for costs nothing after its one
// event, and no epoll_ctl is ever needed to re-arm (one-shot registration would cost a system
// call per wait). The price of edges: each is reported once, so it must not be lost between a
// failed read (EAGAIN) and the park.
//
// The record. A registered descriptor has an fd_record in the poller's table: a spin lock, a
// readiness count per direction (`seq`), and one wait list whose waiters say which direction
// they wait for (usually one reader and at most one writer, so a walk is short, and the record
// fits one cache line: with 10,000 connections every record is cold when its edge comes). The
// protocol (io_retry in io_model.hpp): a fiber reads seq[dir] (the snapshot), tries the call, and
// on EAGAIN parks with the snapshot; park() compares it with seq[dir] under the lock and returns at
// once if they differ. The dispatcher increments seq[dir] and wakes the waiters under the same
// lock. So an edge either comes before the snapshot — then the call that follows sees its readiness
// — or after it — then the park sees seq changed, or, if the fiber parked first, the dispatcher
// finds it in the list. Every waiter of a direction is woken by an edge: they all retry, and the
// losers park again. Waking only one would strand the others when the one consumes less than there
// is. A hang-up or error (EPOLLHUP, EPOLLERR) counts for both directions, EPOLLRDHUP for reading.
//
// Lifetime. Records are never freed while the poller lives: a deregistered record goes to a free
// list and is reused. An event already collected by a worker may refer to a record that was
// deregistered and reused meanwhile; the event carries the record's index and a generation
// number (epoll_event.data), the generation is bumped under the lock on deregistration, and the
// dispatcher drops events whose generation does not match. The poller itself is shared: each
// registered socket holds a reference, so a socket that outlives its runtime deregisters safely.
// Waiters follow the parking seam's lifetime rule (sync/parker.hpp): notified under the lock.
//
// Rejected: one-shot registration (EPOLLONESHOT, re-armed per wait: a system call per wait);
// level-triggered registration (a readable descriptor nobody reads wakes every epoll_wait); a
// pointer to the record in epoll_event.data (a stale event could then wake the waiters of the
// descriptor that reused the record: harmless but spurious, and it hides real bugs); a record
// inside the socket object (sockets move, and a stale event would touch freed memory).
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include <weft/scheduler/io_driver.hpp>
#include <weft/scheduler/park.hpp>
#include <weft/sync/deadline.hpp>
#include <weft/sync/spin_lock.hpp>
#include <weft/sync/wait_list.hpp>

#include "io_model.hpp"

namespace weft::sched {
class runtime_core;
}

namespace weft::net::detail {

// A fiber parked on a descriptor (on the fiber's stack). One cache line, not two: the dispatcher
// reads it cold (with many connections), one miss per line.
struct alignas(64) io_waiter : sync::wait_node<io_waiter> {
  io_waiter(sched::waker w, interest i, const void* t) noexcept : who(w), touch(t), in(i) {}
  sched::waker who;
  // What the fiber reads first when it resumes besides its stack (its socket's hot fields): the
  // dispatcher prefetches it with the stack (poller.cpp, dispatch). May be null.
  const void* touch;
  interest in;          // the readiness it waits for
  bool closed = false;  // set under the record's lock before notify: deregistered meanwhile
};

// One registered descriptor (see the essay). Lives as long as its poller; reused. One cache
// line: dispatch and park touch all of it.
struct alignas(64) fd_record {
  sync::spin_lock lock;
  bool live = false;  // guarded by lock
  // A hang-up or error (EPOLLRDHUP, EPOLLHUP, EPOLLERR) has been dispatched since registration:
  // reads may end without a further edge (fiber_io::read_would_block). Written under lock before
  // the increment of seq that reports it; read without it.
  std::atomic<bool> hangup{false};
  std::uint32_t gen = 0;  // guarded by lock; bumped when deregistered
  int fd = -1;            // guarded by lock
  std::uint32_t index = 0;
  // Readiness edges dispatched per direction (interest::read, interest::write). Written under
  // lock; read without it for snapshots.
  std::atomic<std::uint32_t> seq[2] = {};
  sync::wait_list<io_waiter> waiters;  // both directions; guarded by lock
};
static_assert(sizeof(fd_record) == 64, "a record is one cache line");

class epoll_poller final : public sched::io_driver,
                           public std::enable_shared_from_this<epoll_poller> {
 public:
  // The poller of the runtime whose fiber is calling, installed on first use. Precondition: the
  // caller is a fiber. Throws std::system_error if epoll_create1 or eventfd fails.
  static std::shared_ptr<epoll_poller> of_current_runtime();

  // Throws std::system_error if epoll_create1 or eventfd fails.
  explicit epoll_poller(sched::runtime_core& rt);
  ~epoll_poller() override;
  epoll_poller(const epoll_poller&) = delete;
  epoll_poller& operator=(const epoll_poller&) = delete;

  const sched::runtime_core& runtime() const noexcept { return rt_; }

  // Registers `fd` (see the essay) and returns its record, with the record's readiness counts as
  // they were before the registration in `snap` (what a waiter that failed before registering
  // compares against). Returns nullptr if epoll does not support `fd` (EPERM: a regular file or
  // directory, which is always ready). Throws std::system_error (ENOMEM, ENOSPC: the user's
  // epoll watch limit) naming the descriptor, std::logic_error if another weft object has it
  // registered already (EEXIST).
  fd_record* add(int fd, std::uint32_t (&snap)[2]);

  // Deregisters: epoll_ctl(DEL) — the descriptor must still be open — then wakes every fiber
  // parked on the record with io_wait::closed and frees the record for reuse. Never throws.
  void remove(fd_record& r) noexcept;

  // Parks the calling fiber on `r` for `in` until an edge arrives after `snap` (at once if one
  // did already), `deadline` passes, or `r` is removed. `touch`: a line the fiber reads as soon
  // as it resumes (its socket's state), prefetched with its stack when it is woken; may be null.
  // Throws weft::fiber::cancelled if the runtime cancels the park at shutdown. Precondition: on
  // a fiber of this poller's runtime.
  io_wait park(fd_record& r, interest in, std::uint32_t snap, sync::steady_time deadline,
               const void* touch = nullptr);

  // sched::io_driver
  bool poll_now(std::uint32_t w) noexcept override;
  bool wait(std::uint32_t w, std::int64_t deadline_ns) noexcept override;
  std::size_t dispatch(std::uint32_t w) noexcept override;
  void interrupt() noexcept override;
  bool has_registrations() const noexcept override {
    return registered_.load(std::memory_order_relaxed) != 0;  // relaxed: a hint (io_driver.hpp)
  }

 private:
  static constexpr std::size_t max_events = 128;  // per epoll_wait (Go uses 128 too)
  static constexpr std::uint32_t chunk_size = 1024;
  static constexpr std::uint32_t max_chunks = 4096;  // 4M descriptors
  static constexpr std::uint32_t interrupt_index = ~std::uint32_t{0};

  struct alignas(64) batch {
    epoll_event events[max_events];
    int count = 0;
  };

  fd_record& record_at(std::uint32_t index) const noexcept {
    // acquire: pairs with the release store that published the chunk (add).
    return chunks_[index / chunk_size].load(std::memory_order_acquire)[index % chunk_size];
  }
  // The record an event names (its tag's low half); the generation is checked under its lock.
  fd_record& record_of(const epoll_event& e) const noexcept {
    return record_at(static_cast<std::uint32_t>(e.data.u64));
  }
  std::uint32_t allocate_index();  // throws std::system_error(ENOMEM) past max_chunks
  void free_index(std::uint32_t index) noexcept;
  // Keeps the events of one epoll_wait; drops the interrupt's (consuming it if `consume`).
  bool collect(batch& b, int n, bool consume) noexcept;
  // Reports an edge for each direction asked and wakes its waiters. Under r.lock.
  std::size_t fire(fd_record& r, bool readable, bool writable) noexcept;

  sched::runtime_core& rt_;
  int epfd_ = -1;
  int eventfd_ = -1;  // level-triggered in the epoll set: interrupt()
  // An interrupt is written and not yet consumed by the poller (coalesces interrupt() calls;
  // the protocol is in scheduler/worker.cpp, "The poller").
  std::atomic<bool> interrupt_pending_{false};
  std::atomic<std::size_t> registered_{0};
  std::unique_ptr<batch[]> batches_;  // one per worker

  std::mutex table_mu_;  // guards free_, next_index_ and chunk creation
  std::vector<std::uint32_t> free_;
  std::uint32_t next_index_ = 0;
  std::unique_ptr<std::atomic<fd_record*>[]> chunks_;
};

}  // namespace weft::net::detail
