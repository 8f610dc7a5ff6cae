// Waiting on any descriptor weft does not own — a pipe, an eventfd, a third-party library's
// socket — for both models (io_model.hpp). Standard library and POSIX only.
//
//   M::wait_readable(pipe_fd, 100ms);   // one wait (the fiber model registers and deregisters)
//   typename M::fd_waiter w(lib_fd);    // many waits on one descriptor: registered once
//   while (w.wait_readable()) lib_process(lib_fd);
//
// The descriptor should be non-blocking (the caller's reads then never block a worker). A
// regular file is always ready, as poll(2) says.
#pragma once

#include <cerrno>
#include <utility>

#include "deadline.hpp"
#include "error.hpp"
#include "io_model.hpp"

namespace weft::net {

template <io_model IO>
class basic_fd_waiter {
 public:
  // Watches `fd`, which it does not own. Precondition: fd stays open until this object is
  // destroyed, and no other weft object watches it.
  explicit basic_fd_waiter(int fd) noexcept : fd_(fd) {}
  basic_fd_waiter(const basic_fd_waiter&) = delete;
  basic_fd_waiter& operator=(const basic_fd_waiter&) = delete;
  ~basic_fd_waiter() { IO::release(io_, fd_); }

  // Blocks the calling task until the descriptor is readable (or has an error or hang-up to
  // report) or `d` passes; returns false at the deadline. Throws std::system_error naming the
  // descriptor (e.g. operation_canceled if another task released it meanwhile), and the model's
  // cancellation.
  bool wait_readable(deadline d = {}) { return wait(interest::read, d); }
  // As wait_readable, for writability.
  bool wait_writable(deadline d = {}) { return wait(interest::write, d); }

  int fd() const noexcept { return fd_; }

 private:
  bool wait(interest in, deadline d) {
    const long r = detail::wait_ready<IO>(io_, fd_, in, d.when());
    if (r < 0)
      detail::throw_errno_fd(static_cast<int>(-r),
                             in == interest::read ? "wait_readable on" : "wait_writable on", fd_);
    return r > 0;
  }

  int fd_;
  typename IO::handle io_;
};

// One wait on `fd` (see basic_fd_waiter::wait_readable).
template <io_model IO>
bool wait_readable(int fd, deadline d = {}) {
  return basic_fd_waiter<IO>(fd).wait_readable(d);
}
template <io_model IO>
bool wait_writable(int fd, deadline d = {}) {
  return basic_fd_waiter<IO>(fd).wait_writable(d);
}

}  // namespace weft::net
