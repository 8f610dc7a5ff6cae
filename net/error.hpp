// How weft::net reports failures. Standard library and POSIX only.
//
// A failed system call throws std::system_error carrying its errno in std::system_category(), so
// callers compare portably: `e.code() == std::errc::connection_reset`, `connection_refused`,
// `timed_out` (a deadline passed: ETIMEDOUT), `too_many_files_open` (EMFILE),
// `operation_canceled` (a listener that was shut down). what() names the operation and the
// address: "weft::net: connect to 127.0.0.1:9: Connection refused". The one failure that is not
// an errno — the peer closed the stream before read_exact got all its bytes — is
// net::error::unexpected_eof in net::error_category().
#pragma once

#include <cerrno>
#include <string>
#include <system_error>
#include <type_traits>

#include "address.hpp"

namespace weft::net {

enum class error { unexpected_eof = 1 };

// The category of net::error ("weft.net").
inline const std::error_category& error_category() noexcept {
  struct category final : std::error_category {
    const char* name() const noexcept override { return "weft.net"; }
    std::string message(int v) const override {
      return v == static_cast<int>(error::unexpected_eof) ? "end of stream before all bytes arrived"
                                                          : "unknown weft.net error";
    }
  };
  static const category c;
  return c;
}

inline std::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), error_category()};
}

// True for the errors that mean "out of descriptors or buffers, retry later" (EMFILE, ENFILE,
// ENOBUFS, ENOMEM): a server backs off and keeps serving (tcp_server.hpp).
inline bool is_resource_exhaustion(const std::error_code& ec) noexcept {
  return ec == std::errc::too_many_files_open || ec == std::errc::too_many_files_open_in_system ||
         ec == std::errc::no_buffer_space || ec == std::errc::not_enough_memory;
}

namespace detail {

// The calling thread's errno, read afresh. A fiber may resume on another worker thread after any
// wait, and GCC treats glibc's __errno_location() as a const function, caching errno's address
// across calls in one function: a read of `errno` after a wait could see the old thread's value.
// So net/ reads errno only through this non-inlinable accessor, right after the failed call, and
// carries error numbers as values (never in errno) across waits.
[[gnu::noipa]] inline int errno_now() noexcept {
  return errno;
}

// Throws std::system_error(err) whose what() is "weft::net: <op> <where>: <strerror>".
[[noreturn, gnu::cold]] inline void throw_errno(int err, const char* op, const address& where) {
  throw std::system_error(err, std::system_category(),
                          std::string("weft::net: ") + op + " " + where.to_string());
}

// As throw_errno, for an operation on a descriptor that is not a socket.
[[noreturn, gnu::cold]] inline void throw_errno_fd(int err, const char* op, int fd) {
  throw std::system_error(err, std::system_category(),
                          std::string("weft::net: ") + op + " fd " + std::to_string(fd));
}

}  // namespace detail
}  // namespace weft::net

template <>
struct std::is_error_code_enum<weft::net::error> : std::true_type {};
