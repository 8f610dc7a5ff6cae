// weft::net::basic_tcp_stream<IO> — a connected TCP socket, written once for both models
// (weft::os::tcp_stream blocks its thread, weft::fiber::tcp_stream parks its fiber; see
// io_model.hpp). Standard library and POSIX only.
//
//   auto s = M::tcp_stream::connect(net::address::loopback_v4(port), 1s);
//   s.write_all(request);
//   std::size_t n = s.read(buf, 100ms);  // 0 at end of stream
//
// Errors: std::system_error with the errno (error.hpp): connection_refused, connection_reset,
// broken_pipe, timed_out (a deadline passed) ... naming the operation and the peer. Every blocking
// call takes a net::deadline (deadline.hpp). Writes never raise SIGPIPE (MSG_NOSIGNAL).
//
// Concurrency: one task may read while another writes (full duplex), and shutdown() may be called
// from any task while others block in read or write (they wake: a read sees the end of the
// stream, a write fails with broken_pipe). Moving, closing or destroying a stream must not race
// with any other call on it.
#pragma once

#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

#include "address.hpp"
#include "deadline.hpp"
#include "error.hpp"
#include "io_model.hpp"
#include "socket.hpp"

namespace weft::net {

template <io_model IO>
class basic_tcp_listener;

enum class shutdown_how { read = SHUT_RD, write = SHUT_WR, both = SHUT_RDWR };

template <io_model IO>
class basic_tcp_stream {
 public:
  using io_type = IO;

  // Not connected (is_open() is false).
  basic_tcp_stream() noexcept = default;

  // Connects to `to`, blocking until connected or `d` passes. Throws std::system_error:
  // connection_refused, timed_out, network_unreachable, too_many_files_open ...
  static basic_tcp_stream connect(const address& to, deadline d = {}) {
    basic_tcp_stream s(detail::open_tcp_socket(to.family(), true, "connect to", to), to);
    const int fd = s.fd_.get();
    std::uint32_t snap = IO::snapshot(s.io_, interest::write);
    if (::connect(fd, to.native(), to.native_size()) < 0) {
      // EINTR: the connection attempt goes on asynchronously, as with EINPROGRESS.
      const int err = detail::errno_now();
      if (err != EINPROGRESS && err != EINTR) detail::throw_errno(err, "connect to", to);
      for (;;) {
        switch (IO::wait(s.io_, fd, interest::write, snap, d.when())) {
          case io_wait::ready:
            break;
          case io_wait::timed_out:
            detail::throw_errno(ETIMEDOUT, "connect to", to);
          case io_wait::closed:
            detail::throw_errno(ECANCELED, "connect to", to);
        }
        snap = IO::snapshot(s.io_, interest::write);  // before the check: no edge slips by
        if (const int err = detail::pending_error(fd); err != 0)
          detail::throw_errno(err, "connect to", to);
        if (detail::is_connected(fd)) break;
      }
    }
    if constexpr (IO::blocking_fds) detail::set_nonblocking(fd, false, "connect to", to);
    return s;
  }

  basic_tcp_stream(basic_tcp_stream&& o) noexcept
      : fd_(std::move(o.fd_)),
        io_(std::move(o.io_)),
        drained_(std::exchange(o.drained_, false)),
        drained_snap_(o.drained_snap_),
        peer_(o.peer_) {}
  basic_tcp_stream& operator=(basic_tcp_stream&& o) noexcept {
    if (this != &o) {
      close();
      fd_ = std::move(o.fd_);
      io_ = std::move(o.io_);
      peer_ = o.peer_;
      drained_ = std::exchange(o.drained_, false);
      drained_snap_ = o.drained_snap_;
    }
    return *this;
  }
  ~basic_tcp_stream() { close(); }

  // Reads at most `size` bytes into `data`, blocking until at least one byte is available, the
  // peer ends the stream (returns 0) or `d` passes. Returns 0 at once if size == 0. Throws
  // std::system_error (connection_reset, timed_out ...); std::logic_error if not open. One
  // reading task at a time (the stream remembers whether its last read emptied the queue).
  std::size_t read(void* data, std::size_t size, deadline d = {}) {
    check_open("read");
    if (size == 0) return 0;
    const int fd = fd_.get();
    const int flags = call_flags(d);
    // The previous read came back short: the receive queue was empty then, and unless the model
    // knows better (a hang-up, or an edge since), a recv now would fail with EAGAIN: wait first.
    detail::retry_hint hint;
    hint.wait_first = drained_ && IO::read_would_block(io_, drained_snap_);
    hint.snap = drained_snap_;
    drained_ = false;
    const long n = detail::io_retry<IO>(
        io_, fd, interest::read, d.when(),
        [&] { return detail::result_of(detail::recv_call(fd, data, size, flags)); }, &hint);
    if (n < 0) detail::throw_errno(static_cast<int>(-n), "read from", peer_);
    // Not after 0 (the end of the stream stays, with no edge to announce it again).
    drained_ = n > 0 && static_cast<std::size_t>(n) < size;
    drained_snap_ = hint.snap;
    return static_cast<std::size_t>(n);
  }
  std::size_t read(std::span<std::byte> buf, deadline d = {}) {
    return read(buf.data(), buf.size(), d);
  }

  // Reads exactly `size` bytes, all before `d`. Throws std::system_error: net::error::
  // unexpected_eof if the stream ends first (the bytes read so far are in `data`), or as read().
  void read_exact(void* data, std::size_t size, deadline d = {}) {
    auto* p = static_cast<std::byte*>(data);
    while (size > 0) {
      const std::size_t n = read(p, size, d);
      if (n == 0)
        throw std::system_error(make_error_code(error::unexpected_eof),
                                "weft::net: read_exact from " + peer_.to_string());
      p += n;
      size -= n;
    }
  }
  void read_exact(std::span<std::byte> buf, deadline d = {}) {
    read_exact(buf.data(), buf.size(), d);
  }

  // Writes at most `size` bytes of `data`, blocking until at least one byte is accepted or `d`
  // passes; returns how many were. Throws std::system_error (broken_pipe, connection_reset,
  // timed_out ...); std::logic_error if not open.
  std::size_t write(const void* data, std::size_t size, deadline d = {}) {
    check_open("write");
    if (size == 0) return 0;
    const int fd = fd_.get();
    const int flags = call_flags(d) | MSG_NOSIGNAL;
    const long n = detail::io_retry<IO>(io_, fd, interest::write, d.when(), [&] {
      return detail::result_of(detail::send_call(fd, data, size, flags));
    });
    if (n < 0) detail::throw_errno(static_cast<int>(-n), "write to", peer_);
    return static_cast<std::size_t>(n);
  }
  std::size_t write(std::span<const std::byte> buf, deadline d = {}) {
    return write(buf.data(), buf.size(), d);
  }

  // Writes all `size` bytes before `d`. Throws as write(); after a throw an unknown prefix was
  // sent.
  void write_all(const void* data, std::size_t size, deadline d = {}) {
    const auto* p = static_cast<const std::byte*>(data);
    while (size > 0) {
      const std::size_t n = write(p, size, d);
      p += n;
      size -= n;
    }
  }
  void write_all(std::span<const std::byte> buf, deadline d = {}) {
    write_all(buf.data(), buf.size(), d);
  }

  // Blocks until the stream is readable (data, end of stream, or an error to report) or `d`
  // passes; returns false on the deadline. Throws std::system_error; std::logic_error if not
  // open.
  bool wait_readable(deadline d = {}) { return wait_ready(interest::read, d); }
  // As wait_readable, for room to write.
  bool wait_writable(deadline d = {}) { return wait_ready(interest::write, d); }

  // Shuts down one or both directions (shutdown(2)). Tasks blocked on this stream wake: a read
  // returns 0, a write fails with broken_pipe. May be called from any task concurrently with
  // reads and writes. Never throws (a socket that is no longer connected has nothing left to
  // shut down); does nothing if not open.
  void shutdown(shutdown_how how = shutdown_how::both) noexcept {
    if (fd_) ::shutdown(fd_.get(), static_cast<int>(how));
  }

  // Closes the socket (is_open() becomes false); idempotent. Never throws.
  void close() noexcept {
    if (!fd_) return;
    IO::release(io_, fd_.get());
    fd_.reset();
    drained_ = false;
  }

  // TCP_NODELAY: send small writes at once instead of coalescing them (Nagle). Throws
  // std::system_error; std::logic_error if not open.
  void set_nodelay(bool on = true) {
    check_open("set_nodelay");
    detail::set_int_option(fd_.get(), IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0, "set_nodelay on",
                           peer_);
  }

  bool is_open() const noexcept { return static_cast<bool>(fd_); }
  // The peer's address (as connected or accepted; kept after the peer goes away).
  const address& peer_address() const noexcept { return peer_; }
  // This end's address (getsockname); AF_UNSPEC if not open.
  address local_address() const noexcept { return detail::local_address_of(fd_.get()); }
  // The descriptor, for options weft does not wrap; -1 if not open. The stream still owns it.
  int native_handle() const noexcept { return fd_.get(); }

 private:
  friend class basic_tcp_listener<IO>;

  basic_tcp_stream(detail::unique_fd fd, const address& peer) noexcept
      : fd_(std::move(fd)), peer_(peer) {}

  // Blocking descriptors block in the kernel when there is no deadline; with one, or with a
  // non-blocking descriptor, each call is non-blocking and waits go through IO.
  static int call_flags(const deadline& d) noexcept {
    return IO::blocking_fds && d.is_none() ? 0 : MSG_DONTWAIT;
  }

  void check_open(const char* op) const {
    if (!fd_)
      throw std::logic_error(std::string("weft::net::tcp_stream::") + op +
                             ": the stream is not open");
  }

  bool wait_ready(interest in, deadline d) {
    const char* op = in == interest::read ? "wait_readable" : "wait_writable";
    check_open(op);
    const long r = detail::wait_ready<IO>(io_, fd_.get(), in, d.when());
    if (r < 0) detail::throw_errno(static_cast<int>(-r), op, peer_);
    return r > 0;
  }

  // What every read and write touches comes first, in one cache line; the peer's address, needed
  // only for error messages, after it (a server with 10,000 connections misses on each).
  detail::unique_fd fd_;
  typename IO::handle io_;
  // The last read was short (it emptied the receive queue), under readiness snapshot
  // drained_snap_. Touched only by the reading task.
  bool drained_ = false;
  std::uint32_t drained_snap_ = 0;
  address peer_;
};

}  // namespace weft::net
