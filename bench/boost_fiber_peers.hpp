// Boost.Fiber, the M:N peer, on one thread (round_robin): the workloads that more than one
// benchmark binary quotes, registered by each binary that reports a ratio to them so the ratio
// comes from one run.
#pragma once

#include <benchmark/benchmark.h>
#include <boost/fiber/all.hpp>

#include <cstdint>
#include <memory>

namespace weft_bench {

namespace bf = boost::fibers;

// One iteration: this fiber yields, the partner runs and yields back (two switches).
inline void BM_boost_fiber_yield_round_trip(benchmark::State& state) {
  bool stop = false;
  bf::fiber partner([&stop] {
    while (!stop) boost::this_fiber::yield();
  });
  for (auto _ : state) boost::this_fiber::yield();
  stop = true;
  partner.join();
}

// Pooled stacks, as weft's are.
inline void BM_boost_fiber_spawn_join(benchmark::State& state) {
  bf::pooled_fixedsize_stack stacks(64 * 1024);
  std::int64_t ran = 0;
  for (auto _ : state) bf::fiber(std::allocator_arg, stacks, [&ran] { ++ran; }).join();
  if (ran != state.iterations()) state.SkipWithError("a fiber did not run exactly once");
}

// One iteration: a value to the partner and back over two unbuffered (rendezvous) channels.
inline void BM_boost_fiber_ping_pong(benchmark::State& state) {
  bf::unbuffered_channel<std::int64_t> to_partner, to_main;
  bf::fiber partner([&] {
    std::int64_t v;
    while (to_partner.pop(v) == bf::channel_op_status::success) to_main.push(v + 1);
  });
  std::int64_t v = 0;
  for (auto _ : state) {
    to_partner.push(v);
    std::int64_t r = 0;
    if (to_main.pop(r) != bf::channel_op_status::success || r != v + 1) {
      state.SkipWithError("ping-pong lost or changed a value");
      break;
    }
    v = r;
  }
  to_partner.close();
  partner.join();
}

}  // namespace weft_bench
