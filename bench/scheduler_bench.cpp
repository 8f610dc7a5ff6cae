// The M:N runtime against its peers, in one binary so ratios come from one run:
//   yield round trip        weft (1 worker)  vs Boost.Fiber round_robin (1 thread) vs raw fcontext
//   spawn+join, empty task  weft (1, 2 workers) vs Boost.Fiber vs os::spawn (std::thread)
//   spawn 10k then join     weft vs Boost.Fiber (pooled stacks), per task
//   fib(27), spawn per call weft (2 workers) vs Boost.Fiber work_stealing (2 threads) vs TBB
//                           task_group (2 threads, stackless)
// Every weft and Boost.Fiber loop runs inside a fiber, so Google Benchmark's state loop runs on
// a worker thread: all benchmarks here use real time. Checks (counts, fib values) fail the run.
//
// Targets (issue 3), as ratios: weft yield <= 2x raw round trip and >= 3x faster than Boost.Fiber;
// spawn+join >= 3x faster than Boost.Fiber and >= 300x faster than os::spawn; 10k batch >= 3x
// faster than Boost.Fiber; fib(27) >= 20x faster than Boost.Fiber work_stealing and within 2.5x
// of TBB.
#include <weft/fiber.hpp>
#include <weft/os.hpp>

#include <benchmark/benchmark.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_group.h>
#include <boost/fiber/all.hpp>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "boost_fiber_peers.hpp"
#include "raw_switch.hpp"

namespace {

namespace bf = boost::fibers;

constexpr int fib_n = 27;
constexpr int fib_27 = 196418;
constexpr int batch = 10000;

// ---------------------------------------------------------------- yield round trip

BENCHMARK(weft_bench::BM_raw_fcontext_round_trip)
    ->Name("BM_raw_fcontext_round_trip")
    ->UseRealTime();

// One iteration: this fiber yields, the partner runs and yields back (two switches).
void BM_weft_yield_round_trip(benchmark::State& state) {
  weft::runtime rt{{.workers = 1, .name = "bench-yield"}};
  rt.block_on([&] {
    bool stop = false;
    auto partner = weft::fiber::spawn([&stop] {
      while (!stop) weft::fiber::yield();
    });
    for (auto _ : state) weft::fiber::yield();
    stop = true;
    partner.join();
  });
}
BENCHMARK(BM_weft_yield_round_trip)->UseRealTime();

BENCHMARK(weft_bench::BM_boost_fiber_yield_round_trip)
    ->Name("BM_boost_fiber_yield_round_trip")
    ->UseRealTime();

// ---------------------------------------------------------------- spawn + join

void BM_weft_spawn_join(benchmark::State& state) {
  weft::runtime rt{{.workers = static_cast<std::size_t>(state.range(0)), .name = "bench-spawn"}};
  rt.block_on([&] {
    std::int64_t ran = 0;
    for (auto _ : state) weft::fiber::spawn([&ran] { ++ran; }).join();
    if (ran != state.iterations()) state.SkipWithError("a fiber did not run exactly once");
  });
}
BENCHMARK(BM_weft_spawn_join)->Arg(1)->Arg(2)->ArgName("workers")->UseRealTime();

BENCHMARK(weft_bench::BM_boost_fiber_spawn_join)->Name("BM_boost_fiber_spawn_join")->UseRealTime();

void BM_os_spawn_join(benchmark::State& state) {
  std::int64_t ran = 0;
  for (auto _ : state) weft::os::spawn([&ran] { ++ran; }).join();
  if (ran != state.iterations()) state.SkipWithError("a task did not run exactly once");
}
BENCHMARK(BM_os_spawn_join)->UseRealTime();

// ---------------------------------------------------------------- 10k batch

void BM_weft_spawn_10k_then_join(benchmark::State& state) {
  weft::runtime rt{{.workers = 2, .name = "bench-batch"}};
  rt.block_on([&] {
    std::atomic<int> ran{0};
    std::vector<weft::fiber::join_handle<void>> hs;
    hs.reserve(batch);
    for (auto _ : state) {
      for (int i = 0; i < batch; ++i)
        hs.push_back(weft::fiber::spawn([&ran] { ran.fetch_add(1, std::memory_order_relaxed); }));
      for (auto& h : hs) h.join();
      hs.clear();
    }
    if (ran.load() != batch * state.iterations()) state.SkipWithError("lost a fiber");
  });
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_weft_spawn_10k_then_join)->UseRealTime();

void BM_boost_fiber_spawn_10k_then_join(benchmark::State& state) {
  bf::pooled_fixedsize_stack stacks(64 * 1024);
  int ran = 0;
  std::vector<bf::fiber> fs;
  fs.reserve(batch);
  for (auto _ : state) {
    for (int i = 0; i < batch; ++i) fs.emplace_back(std::allocator_arg, stacks, [&ran] { ++ran; });
    for (auto& f : fs) f.join();
    fs.clear();
  }
  if (ran != batch * state.iterations()) state.SkipWithError("lost a fiber");
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_boost_fiber_spawn_10k_then_join)->UseRealTime();

// ---------------------------------------------------------------- fib(27), a spawn per call

int weft_fib(int n) {
  if (n < 2) return n;
  auto left = weft::fiber::spawn(weft_fib, n - 1);
  const int right = weft_fib(n - 2);
  return left.join() + right;
}

void BM_weft_fib27(benchmark::State& state) {
  weft::runtime rt{{.workers = 2, .name = "bench-fib"}};
  for (auto _ : state) {
    const int v = rt.block_on([] { return weft_fib(fib_n); });
    if (v != fib_27) state.SkipWithError("wrong fib value");
  }
}
BENCHMARK(BM_weft_fib27)->UseRealTime()->Unit(benchmark::kMillisecond);

int tbb_fib(int n) {
  if (n < 2) return n;
  int left = 0;
  tbb::task_group g;
  g.run([&left, n] { left = tbb_fib(n - 1); });
  const int right = tbb_fib(n - 2);
  g.wait();
  return left + right;
}

void BM_tbb_task_group_fib27(benchmark::State& state) {
  tbb::global_control two(tbb::global_control::max_allowed_parallelism, 2);
  for (auto _ : state)
    if (tbb_fib(fib_n) != fib_27) state.SkipWithError("wrong fib value");
}
BENCHMARK(BM_tbb_task_group_fib27)->UseRealTime()->Unit(benchmark::kMillisecond);

// Boost.Fiber's work_stealing needs every participating thread to install it once, and its
// thread registry is process-wide: so two threads are started once and kept for all iterations.
// Thread 0 runs each job inside a fiber; thread 1 only hosts a scheduler that steals.
class boost_ws_pool {
 public:
  // Leaked on purpose: its threads are detached and wait on its members until the process ends.
  static boost_ws_pool& get() {
    static boost_ws_pool* p = new boost_ws_pool();
    return *p;
  }
  int run(std::function<int()> job) {
    std::unique_lock lk(mu_);
    job_ = std::move(job);
    has_job_ = true;
    cv_.notify_all();
    cv_.wait(lk, [this] { return !has_job_; });
    return result_;
  }

 private:
  boost_ws_pool() {
    main_ = std::thread([this] {
      bf::use_scheduling_algorithm<bf::algo::work_stealing>(2);
      std::unique_lock lk(mu_);
      for (;;) {
        cv_.wait(lk, [this] { return has_job_; });
        int r = 0;
        bf::fiber f([&r, this] { r = job_(); });
        f.join();
        result_ = r;
        has_job_ = false;
        cv_.notify_all();
      }
    });
    helper_ = std::thread([] {
      bf::use_scheduling_algorithm<bf::algo::work_stealing>(2);
      bf::mutex m;
      bf::condition_variable never;
      std::unique_lock lk(m);
      never.wait(lk);  // keeps this thread's scheduler stealing for the process's lifetime
    });
    main_.detach();
    helper_.detach();
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::function<int()> job_;
  bool has_job_ = false;
  int result_ = 0;
  std::thread main_, helper_;
};

// fixedsize_stack (malloc'd), not pooled: Boost's pooled stack allocator is not thread-safe, and
// with work stealing a fiber may end on the other thread.
int boost_fib(int n) {
  if (n < 2) return n;
  int left = 0;
  bf::fiber f(std::allocator_arg, bf::fixedsize_stack(64 * 1024),
              [&left, n] { left = boost_fib(n - 1); });
  const int right = boost_fib(n - 2);
  f.join();
  return left + right;
}

void BM_boost_fiber_work_stealing_fib27(benchmark::State& state) {
  auto& pool = boost_ws_pool::get();
  for (auto _ : state)
    if (pool.run([] { return boost_fib(fib_n); }) != fib_27) state.SkipWithError("wrong fib value");
}
BENCHMARK(BM_boost_fiber_work_stealing_fib27)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2);

}  // namespace

BENCHMARK_MAIN();
