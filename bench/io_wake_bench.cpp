// The I/O poller's wake path, without a network or a second process: N fibers each wait on their
// own eventfd; per round, one fiber makes all N readable (N writes), and waits until every reader
// has woken, read its eventfd and checked in. Reported per wake: the write, the readiness edge
// and its dispatch, the switch into the reader, its read, and its park again (fd_waiter's
// wait_readable polls once before it parks and once after it wakes: two poll(2) calls).
//
//   io_wake_bench [google-benchmark flags]
//
// One worker on one core, so the figure is the runtime's and the kernel's cost alone (echo_bench's
// servers share the machine with their load generator). N = 100 keeps every reader's stack,
// control block and descriptor record in cache; with N = 10,000 each is cold when its edge comes
// (the fan-out of a server with 10,000 connections): the difference is what cache misses cost
// on the wake path.
#include <sys/eventfd.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <weft/fiber.hpp>

namespace {

void need_fds(std::size_t need) {
  if (weft::net::raise_fd_limit() < need + 64) {
    std::fprintf(stderr, "io_wake_bench: needs %zu descriptors; RLIMIT_NOFILE is lower\n", need);
    std::exit(1);
  }
}

void BM_io_wake(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  need_fds(n);
  std::vector<int> fds(n);
  for (int& fd : fds) {
    fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) {
      std::perror("io_wake_bench: eventfd");
      std::exit(1);
    }
  }
  weft::runtime rt{{.workers = 1, .name = "io-wake"}};
  rt.block_on([&] {
    weft::fiber::wait_group round;
    std::atomic<bool> stop{false};
    std::vector<weft::fiber::join_handle<void>> readers;
    readers.reserve(n);
    round.add(static_cast<std::ptrdiff_t>(n));
    for (const int fd : fds) {
      readers.push_back(weft::fiber::spawn([&, fd] {
        weft::fiber::fd_waiter w(fd);
        // About to wait (the first wait registers): a write before it still counts, since
        // wait_readable polls before it parks.
        round.done();
        for (;;) {
          w.wait_readable();
          std::uint64_t v = 0;
          if (::read(fd, &v, sizeof v) != sizeof v) continue;  // a spurious edge: wait again
          if (stop.load(std::memory_order_relaxed)) return;    // relaxed: the round orders it
          round.done();
        }
      }));
    }
    round.wait();
    const std::uint64_t one = 1;
    for (auto _ : state) {
      round.add(static_cast<std::ptrdiff_t>(n));
      for (const int fd : fds)
        if (::write(fd, &one, sizeof one) != sizeof one) std::abort();
      round.wait();
    }
    stop.store(true, std::memory_order_relaxed);  // relaxed: the last round's writes order it
    for (const int fd : fds)
      if (::write(fd, &one, sizeof one) != sizeof one) std::abort();
    for (auto& r : readers) r.join();
  });
  for (const int fd : fds) ::close(fd);
  const double wakes = static_cast<double>(state.iterations()) * static_cast<double>(n);
  state.counters["wakes"] = benchmark::Counter(wakes);
  // Seconds per wake, shown with an SI prefix (e.g. 1.5u = 1.5 us).
  state.counters["per_wake"] =
      benchmark::Counter(wakes, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_io_wake)
    ->Arg(100)
    ->Arg(1'000)
    ->Arg(10'000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
