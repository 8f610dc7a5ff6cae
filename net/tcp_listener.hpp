// weft::net::basic_tcp_listener<IO> — a listening TCP socket, written once for both models (see
// io_model.hpp). Standard library and POSIX only.
//
//   auto l = M::tcp_listener::bind(net::address::loopback_v4(0));   // port 0: any free port
//   for (;;) { auto s = l.accept(); ... }
//
// accept() throws std::system_error: too_many_files_open (EMFILE) or
// too_many_files_open_in_system when descriptors run out — the pending connection stays queued,
// and a later accept() takes it once descriptors are free (tcp_server.hpp backs off and retries);
// timed_out at its deadline; operation_canceled once the listener was shut down. Transient
// network errors of a connection that died in the queue (ECONNABORTED, EPROTO ...) are skipped,
// as accept(2) recommends.
//
// Concurrency: several tasks may accept on one listener; shutdown() may be called from any task
// and wakes them all. Moving, closing or destroying must not race with any other call.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <utility>

#include "address.hpp"
#include "deadline.hpp"
#include "error.hpp"
#include "io_model.hpp"
#include "socket.hpp"
#include "tcp_stream.hpp"

namespace weft::net {

struct listen_options {
  int backlog = SOMAXCONN;  // the kernel caps it at net.core.somaxconn
  bool reuse_port = false;  // SO_REUSEPORT: several listeners on one port share its connections
};

template <io_model IO>
class basic_tcp_listener {
 public:
  using stream = basic_tcp_stream<IO>;

  // Not listening (is_open() is false).
  basic_tcp_listener() noexcept = default;

  // Binds to `at` (SO_REUSEADDR always; SO_REUSEPORT if asked; an IPv6 address accepts IPv6
  // only) and listens. Port 0 picks a free port: local_address() tells which. Throws
  // std::system_error: address_in_use, permission_denied, too_many_files_open ...
  static basic_tcp_listener bind(const address& at, listen_options opts = {}) {
    detail::unique_fd fd = detail::open_tcp_socket(at.family(), true, "bind to", at);
    detail::set_int_option(fd.get(), SOL_SOCKET, SO_REUSEADDR, 1, "bind to", at);
    if (opts.reuse_port)
      detail::set_int_option(fd.get(), SOL_SOCKET, SO_REUSEPORT, 1, "bind to", at);
    if (at.is_v6()) detail::set_int_option(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, 1, "bind to", at);
    if (::bind(fd.get(), at.native(), at.native_size()) < 0)
      detail::throw_errno(detail::errno_now(), "bind to", at);
    if (::listen(fd.get(), opts.backlog) < 0)
      detail::throw_errno(detail::errno_now(), "listen on", at);
    basic_tcp_listener l;
    l.local_ = detail::local_address_of(fd.get());
    l.fd_ = std::move(fd);
    return l;
  }

  basic_tcp_listener(basic_tcp_listener&& o) noexcept
      : fd_(std::move(o.fd_)),
        io_(std::move(o.io_)),
        local_(o.local_),
        // relaxed: moving must not race with other calls (see the class comment)
        shut_(o.shut_.load(std::memory_order_relaxed)) {}
  basic_tcp_listener& operator=(basic_tcp_listener&& o) noexcept {
    if (this != &o) {
      close();
      fd_ = std::move(o.fd_);
      io_ = std::move(o.io_);
      local_ = o.local_;
      shut_.store(o.shut_.load(std::memory_order_relaxed),  // relaxed: as in the move
                  std::memory_order_relaxed);
    }
    return *this;
  }
  ~basic_tcp_listener() { close(); }

  // Takes the next pending connection, blocking until there is one or `d` passes. Throws
  // std::system_error (see the file comment); std::logic_error if not listening.
  stream accept(deadline d = {}) {
    if (!fd_) throw std::logic_error("weft::net::tcp_listener::accept: the listener is not open");
    const int fd = fd_.get();
    const int flags = SOCK_CLOEXEC | (IO::blocking_fds ? 0 : SOCK_NONBLOCK);
    for (;;) {
      const std::uint32_t snap = IO::snapshot(io_, interest::read);
      sockaddr_in6 peer{};
      socklen_t len = sizeof peer;
      const int c = ::accept4(fd, reinterpret_cast<sockaddr*>(&peer), &len, flags);
      if (c >= 0)
        return stream(detail::unique_fd(c),
                      address::from_native(reinterpret_cast<const sockaddr*>(&peer), len));
      const int err = detail::errno_now();
      // acquire: pairs with shutdown()'s release; after it, accept fails with EINVAL.
      if (shut_.load(std::memory_order_acquire))
        detail::throw_errno(ECANCELED, "accept on", local_);
      if (err == EINTR || is_transient(err)) continue;
      if (err != EAGAIN && err != EWOULDBLOCK) detail::throw_errno(err, "accept on", local_);
      switch (IO::wait(io_, fd, interest::read, snap, d.when())) {
        case io_wait::ready:
          break;
        case io_wait::timed_out:
          detail::throw_errno(ETIMEDOUT, "accept on", local_);
        case io_wait::closed:
          detail::throw_errno(ECANCELED, "accept on", local_);
      }
    }
  }

  // Stops listening: every task blocked in accept() wakes, and accept() throws
  // std::system_error(operation_canceled) from now on. Connections not yet accepted are reset.
  // Any task, any time; idempotent; never throws.
  void shutdown() noexcept {
    if (!fd_) return;
    shut_.store(true, std::memory_order_release);  // release: pairs with accept()'s acquire
    // On Linux, shutdown(2) of a listening socket stops it and wakes poll and epoll waiters
    // with a hang-up (inet_shutdown's TCP_LISTEN case), which is what makes this race-free where
    // close(2) from another thread is not.
    ::shutdown(fd_.get(), SHUT_RDWR);
  }

  // Closes the socket; idempotent. Never throws.
  void close() noexcept {
    if (!fd_) return;
    IO::release(io_, fd_.get());
    fd_.reset();
  }

  bool is_open() const noexcept { return static_cast<bool>(fd_); }
  // The bound address, with the port the kernel picked for port 0.
  const address& local_address() const noexcept { return local_; }
  // The descriptor, for options weft does not wrap; -1 if not open. The listener still owns it.
  int native_handle() const noexcept { return fd_.get(); }

 private:
  // Errors that belong to one queued connection, not to the listener (accept(2), Linux).
  static bool is_transient(int err) noexcept {
    switch (err) {
      case ECONNABORTED:
      case EPROTO:
      case ENETDOWN:
      case ENOPROTOOPT:
      case EHOSTDOWN:
      case ENONET:
      case EHOSTUNREACH:
      case EOPNOTSUPP:
      case ENETUNREACH:
        return true;
      default:
        return false;
    }
  }

  detail::unique_fd fd_;
  typename IO::handle io_;
  address local_;
  std::atomic<bool> shut_{false};
};

}  // namespace weft::net
