// Shared by the net/ tests: the environments a typed test runs in (weft::os threads; weft::fiber
// on explicit runtimes of one and two workers and under each scheduling policy), loopback
// helpers, and the descriptor limit.
#pragma once

#include <weft/fiber.hpp>
#include <weft/os.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "support.hpp"

namespace net_test {

using weft_test::env_name;
using weft_test::os_env;
using ws1 = weft_test::fiber_env<1, weft::scheduling_policy::work_stealing>;
using ws2 = weft_test::fiber_env<2, weft::scheduling_policy::work_stealing>;
using fifo2 = weft_test::fiber_env<2, weft::scheduling_policy::global_fifo>;
using pinned2 = weft_test::fiber_env<2, weft::scheduling_policy::pinned>;

// Every model and policy: for the behaviour tests.
using all_envs = ::testing::Types<os_env, ws1, ws2, fifo2, pinned2>;
// Both models, the fiber model on one and two workers: for the heavy tests.
using main_envs = ::testing::Types<os_env, ws1, ws2>;

using weft::net::raise_fd_limit;

// Whether ::1 can be bound here (some CI containers have no IPv6 loopback).
inline bool ipv6_loopback_available() {
  try {
    auto l = weft::os::tcp_listener::bind(weft::net::address::loopback_v6(0));
    return true;
  } catch (const std::system_error&) {
    return false;
  }
}

// A connected pair on loopback: {the connecting end, the accepted end}. The kernel completes a
// loopback handshake without accept(), so one task can do both.
template <class M>
std::pair<typename M::tcp_stream, typename M::tcp_stream> connected_pair(
    const weft::net::address& where = weft::net::address::loopback_v4(0)) {
  auto l = M::tcp_listener::bind(where);
  auto client = M::tcp_stream::connect(l.local_address(), std::chrono::seconds(10));
  auto server = l.accept(std::chrono::seconds(10));
  return {std::move(client), std::move(server)};
}

inline std::span<const std::byte> bytes_of(std::string_view s) {
  return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

}  // namespace net_test
