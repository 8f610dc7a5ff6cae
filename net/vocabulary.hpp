// The socket part of the weft::model concept (include/weft/model.hpp): what a model tag must
// name for TCP and descriptor waits. Standard library and POSIX only.
#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>
#include <span>

#include "address.hpp"
#include "deadline.hpp"
#include "tcp_listener.hpp"
#include "tcp_stream.hpp"

namespace weft::net {

template <class M>
concept socket_vocabulary = requires(typename M::tcp_stream& s, typename M::tcp_listener& l,
                                     const address& a, std::span<std::byte> in,
                                     std::span<const std::byte> out, std::chrono::nanoseconds d,
                                     int fd) {
  { M::tcp_listener::bind(a) } -> std::same_as<typename M::tcp_listener>;
  { l.accept() } -> std::same_as<typename M::tcp_stream>;
  { l.accept(d) } -> std::same_as<typename M::tcp_stream>;
  { l.local_address() } -> std::convertible_to<address>;
  l.shutdown();
  { M::tcp_stream::connect(a, d) } -> std::same_as<typename M::tcp_stream>;
  { s.read(in, d) } -> std::same_as<std::size_t>;
  s.read_exact(in, d);
  { s.write(out, d) } -> std::same_as<std::size_t>;
  s.write_all(out, d);
  { s.wait_readable(d) } -> std::same_as<bool>;
  s.shutdown();
  s.close();
  s.set_nodelay(true);
  { M::wait_readable(fd, d) } -> std::same_as<bool>;
  { M::wait_writable(fd, d) } -> std::same_as<bool>;
  requires std::movable<typename M::tcp_stream>;
  requires !std::copyable<typename M::tcp_stream>;
};

}  // namespace weft::net
