// Shared by the channel tests: the environments every typed test runs in (weft::os, and
// weft::fiber on a 2-worker runtime under each scheduling policy), and a value type that counts
// its live instances (leaks and double destruction show up as a wrong count).
#pragma once

#include <weft/fiber.hpp>
#include <weft/os.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <utility>

#include "support.hpp"

namespace channel_test {

// The names every channel test uses.
using weft::chan::on_default;
using weft::chan::on_recv;
using weft::chan::on_send;
using weft::chan::on_timeout;
using weft::chan::recv_result;
using weft::chan::send_result;
using weft::chan::status;

// The fixture of the typed channel tests: a lost wake-up fails the run instead of hanging it.
template <class E>
class watched : public ::testing::Test {
  weft_test::watchdog dog_{"a channel test", std::chrono::seconds(300)};
};

// Every typed channel test runs on weft::os and on 2-worker fiber runtimes under each policy.
using all_envs = ::testing::Types<weft_test::os_env,
                                  weft_test::fiber_env<2, weft::scheduling_policy::work_stealing>,
                                  weft_test::fiber_env<2, weft::scheduling_policy::global_fifo>,
                                  weft_test::fiber_env<2, weft::scheduling_policy::pinned>>;
using weft_test::env_name;

// Counts live instances; moved-from instances count too (they are objects until destroyed).
class counted {
 public:
  static std::atomic<long>& live() {
    static std::atomic<long> n{0};
    return n;
  }
  explicit counted(int v) noexcept : v_(v) { live().fetch_add(1); }
  counted(counted&& o) noexcept : v_(std::exchange(o.v_, -1)) { live().fetch_add(1); }
  counted(const counted&) = delete;
  ~counted() { live().fetch_sub(1); }
  int value() const noexcept { return v_; }

 private:
  int v_;
};

}  // namespace channel_test
