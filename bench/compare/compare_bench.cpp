// The 1:1 vs M:N comparison (README's main job): every workload of workloads.hpp on weft::os
// (a std::thread per task) and weft::fiber (fibers on a runtime of 1 or 2 workers), with the
// peers that apply, in one binary so that every ratio in the report comes from one run.
//
// Names: "<workload>/<variant>/<implementation>", e.g. "ping_pong/rendezvous_2w/fiber"; the
// report (scripts/report.py) pairs os with fiber by workload and variant. All figures are real
// time: the loops run inside tasks of the model under test.
#include <pthread.h>
#include <sched.h>

#include <benchmark/benchmark.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "../boost_fiber_peers.hpp"
#include "../raw_switch.hpp"
#include "workloads.hpp"

namespace {

using compare::run_config;
using fiber = weft::fiber::model;
using os = weft::os::model;
using weft::scheduling_policy;

// ------------------------------------------------------------------ peers written by hand

// What people write by hand instead of a channel: a deque under a std::mutex and a
// std::condition_variable, closed by a flag.
template <class T>
class mcv_queue {
 public:
  void push(T v) {
    {
      std::lock_guard lk(mu_);
      q_.push_back(std::move(v));
    }
    cv_.notify_one();
  }
  void close() {
    {
      std::lock_guard lk(mu_);
      closed_ = true;
    }
    cv_.notify_all();
  }
  std::optional<T> pop() {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [this] { return !q_.empty() || closed_; });
    if (q_.empty()) return std::nullopt;
    T v = std::move(q_.front());
    q_.pop_front();
    return v;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<T> q_;
  bool closed_ = false;
};

void mcv_ping_pong(benchmark::State& state) {
  mcv_queue<std::int64_t> to_partner, to_main;
  std::thread partner([&] {
    while (auto v = to_partner.pop()) to_main.push(*v + 1);
  });
  std::int64_t v = 0;
  for (auto _ : state) {
    to_partner.push(v);
    auto r = to_main.pop();
    if (!r || *r != v + 1) {
      state.SkipWithError("ping-pong lost or changed a value");
      break;
    }
    v = *r;
  }
  to_partner.close();
  partner.join();
}

void mcv_fan_in(benchmark::State& state, int producers, std::int64_t per) {
  for (auto _ : state) {
    mcv_queue<std::int64_t> q;
    std::vector<std::thread> ts;
    for (int p = 0; p < producers; ++p)
      ts.emplace_back([&q, per] {
        for (std::int64_t i = 0; i < per; ++i) q.push(i);
      });
    std::int64_t sum = 0, n = 0;
    while (n < producers * per) {
      auto v = q.pop();
      sum += *v;
      ++n;
    }
    for (auto& t : ts) t.join();
    if (sum != producers * (per * (per - 1) / 2)) state.SkipWithError("fan-in lost a message");
  }
  state.SetItemsProcessed(state.iterations() * producers * per);
}

// ------------------------------------------------------------------ the machine

// What one cache line costs to move between cpu 0 and cpu 1, one way: this thread (on cpu 0)
// and a partner (on cpu 1) take turns incrementing one atomic. Every workload on two workers or
// two threads pays it for each line the two share (a channel's lock and slots, a run queue). On a
// VM it changes while the hypervisor moves vCPUs across cores and caches, so the report measures
// it at the start and at the end of its run. Items = one-way transfers.
void line_transfer(benchmark::State& state) {
  auto pin = [](int cpu) {
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(cpu, &s);
    return pthread_setaffinity_np(pthread_self(), sizeof s, &s) == 0;
  };
  cpu_set_t before;
  pthread_getaffinity_np(pthread_self(), sizeof before, &before);
  if (!CPU_ISSET(0, &before) || !CPU_ISSET(1, &before) || !pin(0)) {
    state.SkipWithError("needs cpus 0 and 1");
    return;
  }
  alignas(64) std::atomic<std::int64_t> turn{0};
  std::atomic<bool> partner_pinned{true};
  // Odd values are the partner's turn; -1 stops it. acquire/release: each side's store hands
  // the line (and the turn) to the other, whose load of it must see the turn taken.
  std::thread partner([&] {
    if (!pin(1))
      partner_pinned.store(false, std::memory_order_relaxed);  // relaxed: read after join
    for (;;) {
      std::int64_t v = turn.load(std::memory_order_acquire);
      if (v < 0) return;
      if (v % 2 == 1) turn.store(v + 1, std::memory_order_release);
    }
  });
  std::int64_t v = 0;
  for (auto _ : state) {
    turn.store(v + 1, std::memory_order_release);
    while ((v = turn.load(std::memory_order_acquire)) % 2 == 1) {
    }
  }
  turn.store(-1, std::memory_order_release);
  partner.join();
  pthread_setaffinity_np(pthread_self(), sizeof before, &before);
  if (!partner_pinned.load(std::memory_order_relaxed)) state.SkipWithError("cannot pin to cpu 1");
  state.SetItemsProcessed(state.iterations() * 2);
}

// ------------------------------------------------------------------ registration

template <class F>
void add(const std::string& name, F f) {
  benchmark::RegisterBenchmark(name.c_str(), f)->UseRealTime();
}

constexpr run_config one{.workers = 1};
constexpr run_config two{.workers = 2};
constexpr int batch = 10'000;
constexpr int fan_in_producers = 4;
constexpr std::int64_t fan_in_per = 100'000;
constexpr int mutex_tasks = 16;
constexpr int mutex_per = 100'000;
constexpr int fib_threads_n = 20;  // the largest n whose thread-per-call run stays ~1 s here
constexpr int fib_n = 27;

void register_all() {
  add("machine/line_transfer/start", line_transfer);

  // 1. switch
  add("switch/yield/os", [](benchmark::State& s) { compare::yield_round_trip<os>(s, one); });
  add("switch/yield/fiber", [](benchmark::State& s) { compare::yield_round_trip<fiber>(s, one); });
  add("switch/yield/boost_fiber", weft_bench::BM_boost_fiber_yield_round_trip);
  add("switch/yield/raw_fcontext", weft_bench::BM_raw_fcontext_round_trip);

  // 2. spawn + join
  add("spawn/join_one/os", [](benchmark::State& s) { compare::spawn_join<os>(s, one); });
  add("spawn/join_one/fiber", [](benchmark::State& s) { compare::spawn_join<fiber>(s, one); });
  add("spawn/join_one/boost_fiber", weft_bench::BM_boost_fiber_spawn_join);
  add("spawn/batch_10k/os",
      [](benchmark::State& s) { compare::spawn_batch_then_join<os>(s, one, batch); });
  add("spawn/batch_10k/fiber",
      [](benchmark::State& s) { compare::spawn_batch_then_join<fiber>(s, two, batch); });

  // 3. ping-pong
  for (const auto& [cap, label] : {std::pair<std::size_t, const char*>{0, "rendezvous"},
                                   std::pair<std::size_t, const char*>{1, "cap1"}}) {
    const std::size_t c = cap;
    add(std::string("ping_pong/") + label + "/os",
        [c](benchmark::State& s) { compare::ping_pong<os>(s, one, c); });
    add(std::string("ping_pong/") + label + "_1w/fiber",
        [c](benchmark::State& s) { compare::ping_pong<fiber>(s, one, c); });
    add(std::string("ping_pong/") + label + "_2w/fiber",
        [c](benchmark::State& s) { compare::ping_pong<fiber>(s, two, c); });
  }
  add("ping_pong/rendezvous/boost_fiber", weft_bench::BM_boost_fiber_ping_pong);
  add("ping_pong/rendezvous/mutex_condvar_queue", mcv_ping_pong);

  // 4. producers -> 1 consumer
  for (const auto& [cap, label] : {std::pair<std::size_t, const char*>{0, "unbounded"},
                                   std::pair<std::size_t, const char*>{1024, "bounded1024"}}) {
    const std::size_t c = cap;
    add(std::string("fan_in/") + label + "/os",
        [c](benchmark::State& s) { compare::fan_in<os>(s, one, fan_in_producers, fan_in_per, c); });
    add(std::string("fan_in/") + label + "/fiber", [c](benchmark::State& s) {
      compare::fan_in<fiber>(s, two, fan_in_producers, fan_in_per, c);
    });
  }
  add("fan_in/bounded1024_1w/fiber", [](benchmark::State& s) {
    compare::fan_in<fiber>(s, one, fan_in_producers, fan_in_per, 1024);
  });
  add("fan_in/bounded1024/boost_fiber", [](benchmark::State& s) {
    weft_bench::boost_fiber_fan_in(s, fan_in_producers, fan_in_per, 1024);
  });
  add("fan_in/unbounded/mutex_condvar_queue",
      [](benchmark::State& s) { mcv_fan_in(s, fan_in_producers, fan_in_per); });

  // 5. mutex contention
  add("mutex/16x100k/os",
      [](benchmark::State& s) { compare::mutex_counter<os>(s, one, mutex_tasks, mutex_per); });
  add("mutex/16x100k/fiber",
      [](benchmark::State& s) { compare::mutex_counter<fiber>(s, two, mutex_tasks, mutex_per); });
  add("mutex/16x100k/boost_fiber", [](benchmark::State& s) {
    weft_bench::boost_fiber_mutex_counter(s, mutex_tasks, mutex_per);
  });
  add("mutex/16x100k/std_mutex", [](benchmark::State& s) {
    compare::mutex_counter<os, std::mutex>(s, one, mutex_tasks, mutex_per);
  });

  // 7. fork-join
  add("fork_join/fib20/os",
      [](benchmark::State& s) { compare::fork_join_fib<os>(s, one, fib_threads_n); });
  add("fork_join/fib20/fiber",
      [](benchmark::State& s) { compare::fork_join_fib<fiber>(s, two, fib_threads_n); });
  add("fork_join/fib27/fiber",
      [](benchmark::State& s) { compare::fork_join_fib<fiber>(s, two, fib_n); });

  // 9. scheduling policies (fibers, 2 workers)
  for (const auto p : {scheduling_policy::work_stealing, scheduling_policy::global_fifo,
                       scheduling_policy::pinned}) {
    const run_config cfg{.workers = 2, .policy = p};
    const std::string pol = weft::to_string(p);
    add("policy/spawn_join/" + pol,
        [cfg](benchmark::State& s) { compare::spawn_join<fiber>(s, cfg); });
    add("policy/ping_pong_rendezvous/" + pol,
        [cfg](benchmark::State& s) { compare::ping_pong<fiber>(s, cfg, 0); });
    add("policy/fib27/" + pol,
        [cfg](benchmark::State& s) { compare::fork_join_fib<fiber>(s, cfg, fib_n); });
  }

  add("machine/line_transfer/end", line_transfer);
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
