// Descriptor ownership and the socket system calls the sockets share. Standard library and POSIX
// only.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <utility>

#include "address.hpp"
#include "error.hpp"

namespace weft::net::detail {

// Owns one descriptor: closes it on destruction. Move-only.
class unique_fd {
 public:
  unique_fd() noexcept = default;
  explicit unique_fd(int fd) noexcept : fd_(fd) {}
  unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  ~unique_fd() { reset(); }

  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }

  // Closes the owned descriptor (if any) and owns `fd` instead. close(2) errors are ignored: the
  // descriptor is released either way (POSIX leaves retrying after EINTR unspecified; Linux
  // has already freed it).
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// A new TCP socket for `family`, close-on-exec, non-blocking if asked. Throws std::system_error
// (EMFILE, ENFILE, EAFNOSUPPORT ...) naming `op` and `where`.
inline unique_fd open_tcp_socket(int family, bool nonblocking, const char* op,
                                 const address& where) {
  const int fd =
      ::socket(family, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
  if (fd < 0) throw_errno(errno_now(), op, where);
  return unique_fd(fd);
}

// Switches O_NONBLOCK on or off. Throws std::system_error.
inline void set_nonblocking(int fd, bool on, const char* op, const address& where) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK) < 0)
    throw_errno(errno_now(), op, where);
}

// setsockopt with an int value. Throws std::system_error naming `op` and `where`.
inline void set_int_option(int fd, int level, int name, int value, const char* op,
                           const address& where) {
  if (::setsockopt(fd, level, name, &value, sizeof value) < 0) throw_errno(errno_now(), op, where);
}

// The pending error of a socket (SO_ERROR), e.g. a non-blocking connect's outcome; 0 if none.
inline int pending_error(int fd) noexcept {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return errno_now();
  return err;
}

// getsockname(2) as an address; AF_UNSPEC on failure.
inline address local_address_of(int fd) noexcept {
  sockaddr_in6 ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) return address();
  return address::from_native(reinterpret_cast<const sockaddr*>(&ss), len);
}

// Whether a socket has a peer (a non-blocking connect has completed).
inline bool is_connected(int fd) noexcept {
  sockaddr_in6 ss{};
  socklen_t len = sizeof ss;
  return ::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0;
}

// recv(2) and send(2) as the sockets make them. glibc makes recv and send cancellation points: in
// a multi-threaded process each call brackets the system call with two locked RMWs on the
// thread's cancellation word, ~120 ns per echo round trip here (a recv and a send). A call with
// MSG_DONTWAIT never blocks, so has nothing to cancel: it goes to the kernel through syscall(2).
// A call that may block keeps glibc's wrapper and its cancellation point; so does every call in
// sanitized builds, whose interceptors check the buffer (ASan) and model descriptor ordering
// (TSan).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool bypass_cancellation = false;
#else
inline constexpr bool bypass_cancellation = true;
#endif

inline long recv_call(int fd, void* data, std::size_t size, int flags) noexcept {
  if (bypass_cancellation && (flags & MSG_DONTWAIT) != 0)
    return ::syscall(SYS_recvfrom, fd, data, size, flags, nullptr, nullptr);
  return ::recv(fd, data, size, flags);
}
inline long send_call(int fd, const void* data, std::size_t size, int flags) noexcept {
  if (bypass_cancellation && (flags & MSG_DONTWAIT) != 0)
    return ::syscall(SYS_sendto, fd, data, size, flags, nullptr, 0);
  return ::send(fd, data, size, flags);
}

}  // namespace weft::net::detail
