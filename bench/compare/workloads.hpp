// The 1:1 vs M:N workloads, each written once as a template over the model (weft::model) and
// instantiated for weft::os and weft::fiber by compare_bench.cpp. Every workload checks its own
// result (counts, sums, values) and reports a failure to Google Benchmark instead of a figure.
#pragma once

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "on_model.hpp"

namespace compare {

// 1. switch: one iteration = this task yields and its partner yields back.
template <class M>
void yield_round_trip(benchmark::State& state, const run_config& cfg) {
  on<M>(cfg, [&] {
    const bool pinned = !is_fiber<M> && pin_thread_to_cpu(0);
    std::atomic<bool> stop{false};
    auto partner = M::spawn([&stop, pinned] {
      if (pinned) pin_thread_to_cpu(0);
      while (!stop.load(std::memory_order_relaxed)) M::yield();  // relaxed: a flag only
    });
    for (auto _ : state) M::yield();
    stop.store(true);
    partner.join();
    if (pinned) unpin_thread();
  });
}

// 2a. spawn + join of an empty task, one at a time.
template <class M>
void spawn_join(benchmark::State& state, const run_config& cfg) {
  on<M>(cfg, [&] {
    std::int64_t ran = 0;
    for (auto _ : state) M::spawn([&ran] { ++ran; }).join();
    if (ran != state.iterations()) state.SkipWithError("a task did not run exactly once");
  });
}

// 2b. spawn `batch` tasks, then join them all; items = tasks.
template <class M>
void spawn_batch_then_join(benchmark::State& state, const run_config& cfg, int batch) {
  on<M>(cfg, [&] {
    std::atomic<std::int64_t> ran{0};
    std::vector<typename M::template join_handle<void>> hs;
    hs.reserve(static_cast<std::size_t>(batch));
    for (auto _ : state) {
      for (int i = 0; i < batch; ++i)
        hs.push_back(M::spawn([&ran] { ran.fetch_add(1, std::memory_order_relaxed); }));
      for (auto& h : hs) h.join();
      hs.clear();
    }
    if (ran.load() != batch * state.iterations()) state.SkipWithError("lost a task");
  });
  state.SetItemsProcessed(state.iterations() * batch);
}

// 3. ping-pong: one iteration = a value to the partner and back, over two channels of
// capacity `cap` (0: rendezvous).
template <class M>
void ping_pong(benchmark::State& state, const run_config& cfg, std::size_t cap) {
  on<M>(cfg, [&] {
    auto [to_partner, partner_rx] = M::template sync_channel<std::int64_t>(cap);
    auto [to_main, main_rx] = M::template sync_channel<std::int64_t>(cap);
    auto partner = M::spawn([rx = partner_rx, tx = to_main] {
      for (auto v : rx) tx.send(v + 1);
    });
    std::int64_t v = 0;
    for (auto _ : state) {
      to_partner.send(v);
      auto r = main_rx.recv();
      if (!r || *r != v + 1) {
        state.SkipWithError("ping-pong lost or changed a value");
        break;
      }
      v = *r;
    }
    to_partner = {};  // disconnects: the partner's loop ends
    partner.join();
  });
}

// 4. producers -> 1 consumer throughput: `producers` tasks each send `per` values; the consumer
// checks the sum. cap: 0 unbounded (SIZE_MAX), else the bound. Items = messages.
template <class M>
void fan_in(benchmark::State& state, const run_config& cfg, int producers, std::int64_t per,
            std::size_t cap) {
  on<M>(cfg, [&] {
    for (auto _ : state) {
      auto [tx, rx] = cap == 0 ? M::template channel<std::int64_t>()
                               : M::template sync_channel<std::int64_t>(cap);
      std::vector<typename M::template join_handle<void>> hs;
      for (int p = 0; p < producers; ++p)
        hs.push_back(M::spawn([tx1 = tx, per] {
          for (std::int64_t i = 0; i < per; ++i) tx1.send(i);
        }));
      tx = {};
      std::int64_t sum = 0, n = 0;
      for (auto v : rx) {
        sum += v;
        ++n;
      }
      for (auto& h : hs) h.join();
      if (n != producers * per || sum != producers * (per * (per - 1) / 2)) {
        state.SkipWithError("fan-in lost or duplicated a message");
        break;
      }
    }
  });
  state.SetItemsProcessed(state.iterations() * producers * per);
}

// 5. mutex contention: `tasks` tasks each do `per` locked increments (the Rust book's counter,
// scaled). Items = lock+unlock pairs.
template <class M, class Mutex = typename M::mutex>
void mutex_counter(benchmark::State& state, const run_config& cfg, int tasks, int per) {
  on<M>(cfg, [&] {
    for (auto _ : state) {
      Mutex mu;
      std::int64_t counter = 0;
      std::vector<typename M::template join_handle<void>> hs;
      for (int t = 0; t < tasks; ++t)
        hs.push_back(M::spawn([&mu, &counter, per] {
          for (int i = 0; i < per; ++i) {
            std::lock_guard lk(mu);
            ++counter;
          }
        }));
      for (auto& h : hs) h.join();
      if (counter != std::int64_t{tasks} * per) {
        state.SkipWithError("the counter lost an increment");
        break;
      }
    }
  });
  state.SetItemsProcessed(state.iterations() * tasks * per);
}

// 7. fork-join: fib(n) with a spawn per call.
template <class M>
int fib(int n) {
  if (n < 2) return n;
  auto left = M::spawn(fib<M>, n - 1);
  const int right = fib<M>(n - 2);
  return left.join() + right;
}

constexpr int fib_value(int n) {
  return n < 2 ? n : fib_value(n - 1) + fib_value(n - 2);
}

template <class M>
void fork_join_fib(benchmark::State& state, const run_config& cfg, int n) {
  on<M>(cfg, [&] {
    for (auto _ : state)
      if (fib<M>(n) != fib_value(n)) state.SkipWithError("wrong fib value");
  });
}

}  // namespace compare
