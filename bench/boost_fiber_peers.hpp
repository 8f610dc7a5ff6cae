// Boost.Fiber, the M:N peer, on one thread (round_robin): the workloads that more than one
// benchmark binary quotes, registered by each binary that reports a ratio to them so the ratio
// comes from one run.
#pragma once

#include <benchmark/benchmark.h>
#include <boost/fiber/all.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

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

// `tasks` fibers each doing `per` locked increments of one counter, all on this thread.
inline void boost_fiber_mutex_counter(benchmark::State& state, int tasks, int per) {
  for (auto _ : state) {
    bf::mutex mu;
    std::int64_t counter = 0;
    std::vector<bf::fiber> fs;
    for (int t = 0; t < tasks; ++t)
      fs.emplace_back([&mu, &counter, per] {
        for (int i = 0; i < per; ++i) {
          std::lock_guard lk(mu);
          ++counter;
        }
      });
    for (auto& f : fs) f.join();
    if (counter != std::int64_t{tasks} * per) state.SkipWithError("lost an increment");
  }
  state.SetItemsProcessed(state.iterations() * tasks * per);
}

// `producers` fibers each push `per` values into one buffered_channel(cap); this fiber
// consumes and checks the sum. All on this thread.
inline void boost_fiber_fan_in(benchmark::State& state, int producers, std::int64_t per,
                               std::size_t cap) {
  for (auto _ : state) {
    bf::buffered_channel<std::int64_t> ch(cap);
    std::vector<bf::fiber> fs;
    for (int p = 0; p < producers; ++p)
      fs.emplace_back([&ch, per] {
        for (std::int64_t i = 0; i < per; ++i) ch.push(i);
      });
    std::int64_t sum = 0;
    for (std::int64_t n = 0; n < producers * per; ++n) {
      std::int64_t v = 0;
      ch.pop(v);
      sum += v;
    }
    for (auto& f : fs) f.join();
    if (sum != producers * (per * (per - 1) / 2)) state.SkipWithError("fan-in lost a message");
  }
  state.SetItemsProcessed(state.iterations() * producers * per);
}

}  // namespace weft_bench
