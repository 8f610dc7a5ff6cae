// The fiber primitive against its floor: a bare Boost.Context fcontext switch, Boost's own
// fiber class, weft's coroutine (same switch plus weft's bookkeeping), and the cost of a whole
// fiber's life on a pooled stack against an OS thread's.
//
// Targets (issue 2), as ratios within one run of this binary:
//   weft round trip            <= 1.5x  raw fcontext round trip
//   weft create+run+destroy    >= 100x cheaper than os::spawn + join
#include <weft/fiber/fiber.hpp>
#include <weft/os.hpp>

#include <benchmark/benchmark.h>
#include <boost/context/fiber.hpp>
#include <boost/context/protected_fixedsize_stack.hpp>

#include <cstdint>

#include "raw_switch.hpp"

namespace {

BENCHMARK(weft_bench::BM_raw_fcontext_round_trip)->Name("BM_raw_fcontext_round_trip");

void BM_boost_context_fiber_round_trip(benchmark::State& state) {
  namespace ctx = boost::context;
  bool stop = false;
  ctx::fiber peer{std::allocator_arg, ctx::protected_fixedsize_stack(64 * 1024),
                  [&stop](ctx::fiber&& main) {
                    while (!stop) main = std::move(main).resume();
                    return std::move(main);
                  }};
  for (auto _ : state) {
    peer = std::move(peer).resume();
  }
  stop = true;
  peer = std::move(peer).resume();
}
BENCHMARK(BM_boost_context_fiber_round_trip);

// weft's switch itself (ctx::context::switch_to: the transfer record, the arrival bookkeeping,
// the after-hook check) with no coroutine API on top: what the scheduler pays per hand-over.
struct ping_context : weft::ctx::context {
  explicit ping_context(const weft::ctx::stack& s) : context(s.top(), s.limit, &entry) {}
  [[noreturn]] static void entry(weft::ctx::transfer* first) {
    auto* self = static_cast<ping_context*>(first->to);
    weft::ctx::context* back = first->from;
    for (;;) {
      weft::ctx::transfer t{self, back, nullptr, nullptr};
      back = weft::ctx::context::switch_to(t).from;
    }
  }
};

void BM_weft_context_round_trip(benchmark::State& state) {
  auto& pool = weft::ctx::stack_pool::global();
  const weft::ctx::stack s = pool.allocate();
  weft::ctx::context native;
  ping_context peer(s);
  for (auto _ : state) {
    weft::ctx::transfer t{&native, &peer, nullptr, nullptr};
    weft::ctx::context::switch_to(t);
  }
  pool.release(s);  // the peer stays parked in its loop; its stack is simply reused
}
BENCHMARK(BM_weft_context_round_trip);

void BM_weft_coroutine_round_trip(benchmark::State& state) {
  bool stop = false;
  weft::ctx::coroutine peer([&stop](weft::ctx::coroutine::self& self) {
    while (!stop) self.suspend();
  });
  for (auto _ : state) {
    peer.resume();
  }
  stop = true;
  peer.resume();
}
BENCHMARK(BM_weft_coroutine_round_trip);

void BM_weft_fiber_create_run_destroy(benchmark::State& state) {
  std::int64_t ran = 0;
  for (auto _ : state) {
    weft::ctx::coroutine c([&ran](weft::ctx::coroutine::self&) { ++ran; });
    c.resume();
  }
  if (ran != state.iterations()) state.SkipWithError("a fiber did not run exactly once");
}
BENCHMARK(BM_weft_fiber_create_run_destroy);

void BM_os_spawn_join(benchmark::State& state) {
  std::int64_t ran = 0;
  for (auto _ : state) {
    weft::os::spawn([&ran] { ++ran; }).join();
  }
  if (ran != state.iterations()) state.SkipWithError("a task did not run exactly once");
}
BENCHMARK(BM_os_spawn_join)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
