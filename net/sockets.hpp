// The socket vocabulary for one I/O model IO, as member names: the model tags inherit it
// (weft::os::model from sockets<os_io>, weft::fiber::model from sockets<fiber_io>), so generic
// code writes `typename M::tcp_stream`, `M::tcp_listener::bind(...)`, `M::wait_readable(fd)`.
// Contracts: tcp_stream.hpp, tcp_listener.hpp, fd_waiter.hpp. Standard library and POSIX only.
#pragma once

#include "deadline.hpp"
#include "fd_limit.hpp"
#include "fd_waiter.hpp"
#include "io_model.hpp"
#include "tcp_listener.hpp"
#include "tcp_stream.hpp"

namespace weft::net {

template <io_model IO>
struct sockets {
  using tcp_stream = basic_tcp_stream<IO>;
  using tcp_listener = basic_tcp_listener<IO>;
  using fd_waiter = basic_fd_waiter<IO>;

  // net::wait_readable / wait_writable (fd_waiter.hpp) on this model.
  static bool wait_readable(int fd, deadline d = {}) { return net::wait_readable<IO>(fd, d); }
  static bool wait_writable(int fd, deadline d = {}) { return net::wait_writable<IO>(fd, d); }
};

}  // namespace weft::net
