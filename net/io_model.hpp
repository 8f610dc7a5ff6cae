// The seam of net/: how a socket call waits for its descriptor. Standard library and POSIX only.
//
// Every blocking call in net/ is written once, over an I/O model `IO` (the sockets are templates
// over it, as sync/'s primitives are templates over a parker):
//   - os_io (os_io.hpp): the 1:1 model. The calling thread blocks — in the kernel call itself
//     when there is no deadline (stream descriptors stay in blocking mode), else in poll(2).
//   - fiber_io (fiber_io.hpp): the M:N model. A fiber parks on the descriptor's record in its
//     runtime's epoll poller, and its worker runs other fibers; a plain thread blocks in poll(2).
//
// The protocol (io_retry below): take a snapshot of the descriptor's readiness count for the
// direction, try the non-blocking system call, and only on EAGAIN wait — passing the snapshot,
// so that a readiness edge that arrived between the failed call and the wait makes the wait
// return at once instead of being lost (edge-triggered epoll reports each edge once).
//
// One refinement, for reads (retry_hint, IO::read_would_block): a read that came back short but
// not empty emptied the receive queue. Data that arrives later raises a readiness edge, so while
// no edge has been dispatched since the snapshot of that read, the next recv would fail with
// EAGAIN: tcp_stream::read then waits first, saving the system call that an echo-style server
// otherwise pays on every message (~0.25 us of ~6 us per round trip here). Not after a hang-up:
// a short read may have stopped at the peer's FIN (or before a pending error), and then the next
// recv returns 0 (or the error) at once with no edge to come — the model knows whether a hang-up
// was reported. Rejected: waiting first after every short read regardless (it hung on exactly
// that FIN); MSG_PEEK or ioctl(FIONREAD) to check (a system call as well).
#pragma once

#include <poll.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <concepts>
#include <cstdint>
#include <exception>

#include <weft/sync/deadline.hpp>

#include "error.hpp"

namespace weft::net {

// Which readiness a call waits for.
enum class interest : std::uint8_t { read = 0, write = 1 };

// How a wait ended. `closed`: the descriptor was deregistered (closed) by another task while
// this one waited.
enum class io_wait : std::uint8_t { ready, timed_out, closed };

template <class IO>
concept io_model = requires(typename IO::handle& h, int fd, interest in, std::uint32_t snap,
                            sync::steady_time deadline, const std::exception_ptr& e) {
  // Per-descriptor state (the fiber model's registration with its poller), owned by the socket.
  requires std::default_initializable<typename IO::handle>;
  requires std::movable<typename IO::handle>;
  // Whether sockets keep their descriptors in blocking mode (the kernel call blocks when there
  // is no deadline) or non-blocking mode (every wait goes through wait()).
  { IO::blocking_fds } -> std::convertible_to<bool>;
  // Whether a recv on `h` now would certainly fail with EAGAIN, given that the previous one,
  // made under snapshot `snap`, returned fewer bytes than asked and more than 0 (it emptied the
  // receive queue; see the file comment). False when unsure: the caller then simply tries.
  { IO::read_would_block(h, snap) }
  noexcept->std::same_as<bool>;
  // The readiness count for `in`, taken before a non-blocking attempt.
  { IO::snapshot(h, in) }
  noexcept->std::same_as<std::uint32_t>;
  // Blocks the calling task until `fd` may be ready for `in` — or returns at once if readiness
  // arrived since `snap` — or until `deadline` (sync::no_deadline: none). Readiness is a hint:
  // the caller retries its call. Throws the model's cancellation (fibers: weft::fiber::cancelled
  // at runtime shutdown) or std::system_error if the wait itself fails.
  { IO::wait(h, fd, in, snap, deadline) } -> std::same_as<io_wait>;
  // Undoes what wait() set up for `fd`; called before the descriptor is closed. Tasks still
  // waiting on it return io_wait::closed.
  { IO::release(h, fd) }
  noexcept;
  // Whether `e` is the model's cancellation (weft::fiber::cancelled), which generic code must
  // let end the task quietly rather than report as a failure.
  { IO::is_cancellation(e) }
  noexcept->std::same_as<bool>;
};

namespace detail {

// Blocks the calling thread in poll(2) until `fd` is ready for `in` (an error or hang-up counts
// as ready: the next call reports it) or `deadline` passes. Throws std::system_error if poll(2)
// fails (EINVAL, ENOMEM).
inline io_wait poll_fd(int fd, interest in, sync::steady_time deadline) {
  using namespace std::chrono;
  const short events = in == interest::read ? POLLIN : POLLOUT;
  for (;;) {
    int timeout_ms = -1;
    if (deadline != sync::no_deadline) {
      const auto now = steady_clock::now();
      if (now >= deadline) return io_wait::timed_out;
      const auto ms = ceil<milliseconds>(deadline - now).count();  // never early
      timeout_ms = ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
    }
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, timeout_ms);
    if (r > 0) return io_wait::ready;
    if (r < 0) {
      const int err = errno_now();
      if (err != EINTR) throw_errno_fd(err, "poll", fd);
    }
    // a timeout (re-checked against the clock above) or a signal: go round again
  }
}

// What a caller of io_retry may know about its descriptor (tcp_stream::read's short reads).
struct retry_hint {
  // In: the first attempt would fail with EAGAIN unless readiness arrived after `snap`
  // (IO::read_would_block said so): wait before it.
  bool wait_first = false;
  // In: as above. Out: the snapshot under which the successful attempt was made.
  std::uint32_t snap = 0;
};

// Runs `call` — one non-blocking system call, returning its result (>= 0) or minus the errno it
// failed with — until it succeeds or fails with something other than EAGAIN/EWOULDBLOCK/EINTR,
// waiting through IO in between. Returns the call's result, or minus the error number: ETIMEDOUT
// when `deadline` passed, ECANCELED when the descriptor was closed by another task meanwhile.
// Error numbers travel as values, never in errno (see errno_now). Throws what IO::wait throws.
template <io_model IO, class Call>
long io_retry(typename IO::handle& h, int fd, interest in, sync::steady_time deadline, Call&& call,
              retry_hint* hint = nullptr) {
  if (hint != nullptr && hint->wait_first) {
    switch (IO::wait(h, fd, in, hint->snap, deadline)) {
      case io_wait::ready:
        break;
      case io_wait::timed_out:
        return -ETIMEDOUT;
      case io_wait::closed:
        return -ECANCELED;
    }
  }
  for (;;) {
    const std::uint32_t snap = IO::snapshot(h, in);
    const long r = call();
    if (r >= 0) {
      if (hint != nullptr) hint->snap = snap;
      return r;
    }
    if (r == -EINTR) continue;
    if (r != -EAGAIN && r != -EWOULDBLOCK) return r;
    switch (IO::wait(h, fd, in, snap, deadline)) {
      case io_wait::ready:
        continue;
      case io_wait::timed_out:
        return -ETIMEDOUT;
      case io_wait::closed:
        return -ECANCELED;
    }
  }
}

// A system call's result as io_retry's calls return it: r itself, or minus errno if r < 0.
inline long result_of(long r) noexcept {
  return r >= 0 ? r : -errno_now();
}

// poll(2) without blocking, shaped as an io_retry call: 1 if `fd` is ready for `in` (or has an
// error or hang-up to report), else -EAGAIN (or minus poll's own error).
inline long poll_now(int fd, interest in) noexcept {
  pollfd p{fd, static_cast<short>(in == interest::read ? POLLIN : POLLOUT), 0};
  const int r = ::poll(&p, 1, 0);
  if (r > 0) return 1;
  return r == 0 ? -EAGAIN : -errno_now();
}

// Waits until `fd` is ready for `in` (checked with poll(2), so readiness that was signalled
// before the call counts too) or `deadline` passes. Returns 1 when ready, 0 at the deadline, or
// minus the error number (ECANCELED: the descriptor was closed by another task meanwhile).
// Throws what IO::wait throws.
template <io_model IO>
long wait_ready(typename IO::handle& h, int fd, interest in, sync::steady_time deadline) {
  const long r = io_retry<IO>(h, fd, in, deadline, [&] { return poll_now(fd, in); });
  if (r >= 0) return 1;
  return r == -ETIMEDOUT ? 0 : r;
}

}  // namespace detail
}  // namespace weft::net
