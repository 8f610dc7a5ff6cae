// The 1:1 model's I/O (io_model.hpp): the calling thread blocks. Standard library and POSIX only.
//
// Stream descriptors stay in blocking mode, so a read or write without a deadline is one system
// call that blocks in the kernel — what a thread-per-connection server has always done, and the
// fair baseline for the fiber model. A call with a deadline passes MSG_DONTWAIT and waits in
// poll(2) with the remaining time. Listening sockets are non-blocking: accept waits in poll(2),
// so a deadline and a shutdown() from another thread (which makes poll report a hang-up) both
// work.
#pragma once

#include <cstdint>
#include <exception>

#include <weft/sync/deadline.hpp>

#include "io_model.hpp"

namespace weft::net {

struct os_io {
  struct handle {};  // a thread needs no per-descriptor state

  static constexpr bool blocking_fds = true;

  static std::uint32_t snapshot(const handle&, interest) noexcept { return 0; }

  // Unknown without a system call (and a blocking recv waits in the kernel anyway).
  static bool read_would_block(const handle&, std::uint32_t) noexcept { return false; }

  // poll(2) until ready or `deadline`. Throws std::system_error if poll(2) fails.
  static io_wait wait(handle&, int fd, interest in, std::uint32_t, sync::steady_time deadline) {
    return detail::poll_fd(fd, in, deadline);
  }

  static void release(handle&, int) noexcept {}

  static bool is_cancellation(const std::exception_ptr&) noexcept { return false; }  // none
};

static_assert(io_model<os_io>);

}  // namespace weft::net
