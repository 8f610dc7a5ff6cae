// The floor every switch in weft is measured against: a bare Boost.Context fcontext round trip
// (two jumps, nothing else). Registered in each benchmark binary that quotes a ratio to it, so
// the ratio comes from one run.
#pragma once

#include <weft/fiber/stack.hpp>

#include <benchmark/benchmark.h>
#include <boost/context/detail/fcontext.hpp>

namespace weft_bench {

namespace bcd = boost::context::detail;

// The peer switches straight back, forever; one iteration is one round trip (two switches).
inline void raw_peer(bcd::transfer_t t) {
  for (;;) t = bcd::jump_fcontext(t.fctx, t.data);
}

inline void BM_raw_fcontext_round_trip(benchmark::State& state) {
  auto& pool = weft::ctx::stack_pool::global();
  weft::ctx::stack s = pool.allocate();
  bcd::fcontext_t peer = bcd::make_fcontext(s.top(), s.size, &raw_peer);
  for (auto _ : state) peer = bcd::jump_fcontext(peer, nullptr).fctx;
  pool.release(s);  // the peer stays parked in its loop; its stack is simply reused
}

}  // namespace weft_bench
