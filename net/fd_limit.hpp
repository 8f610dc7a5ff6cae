// The descriptor limit a server with many connections needs raised: each connection is a
// descriptor, and the default soft RLIMIT_NOFILE (1,024) is far below the hard limit. Go's
// runtime raises it at startup (since Go 1.19); weft leaves that to the program, which calls this.
#pragma once
#include <sys/resource.h>

#include <cstddef>

namespace weft::net {

// Raises the soft RLIMIT_NOFILE to the hard limit and returns the soft limit now in force (what
// the process may hold: accept reports too_many_files_open beyond it). Never throws; if the
// limit cannot be read, returns 1,024 (the usual default). RLIM_INFINITY is reported as 2^20.
inline std::size_t raise_fd_limit() noexcept {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0) return 1024;
  if (r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &r) != 0 || ::getrlimit(RLIMIT_NOFILE, &r) != 0) return 1024;
  }
  return r.rlim_cur == RLIM_INFINITY ? std::size_t{1} << 20 : static_cast<std::size_t>(r.rlim_cur);
}

}  // namespace weft::net
