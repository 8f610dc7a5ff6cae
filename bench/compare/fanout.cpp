// Workload 6, fan-out: N tasks parked on one condition. Spawns N tasks that each wait on one
// condition variable, measures the time until all are parked and the resident memory they
// added (RSS delta / N), then wakes them all with one notify_all and joins them.
//
//   fanout --model=os|fiber --n=N [--workers=W]
//
// Prints one JSON object on stdout. A model that cannot run N tasks (a thread limit) says so in
// the object ("status": "not run", with the error) instead of a figure, after cleaning up the
// tasks it did start. Each run is its own process so the RSS delta is not blurred by an earlier
// run's pooled stacks.
#include <weft/fiber.hpp>
#include <weft/os.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "on_model.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

long rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

double ms_since(clock_type::time_point t) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t).count();
}

template <class M>
int run(long n, std::size_t workers) {
  int rc = 0;
  compare::on<M>({.workers = workers}, [&] {
    typename M::mutex mu;
    typename M::condition_variable cv;         // the N tasks wait here
    typename M::condition_variable cv_parked;  // the spawner waits here
    bool go = false;
    long parked = 0;
    std::vector<typename M::template join_handle<void>> hs;
    hs.reserve(static_cast<std::size_t>(n));
    const long rss_before = rss_kib();
    const auto t0 = clock_type::now();
    std::string error;
    try {
      for (long i = 0; i < n; ++i)
        hs.push_back(M::spawn([&] {
          std::unique_lock lk(mu);
          ++parked;
          cv_parked.notify_one();
          cv.wait(lk, [&] { return go; });
        }));
    } catch (const std::exception& e) {
      error = e.what();
    }
    const long spawned = static_cast<long>(hs.size());
    {
      std::unique_lock lk(mu);
      cv_parked.wait(lk, [&] { return parked == spawned; });
    }
    const double spawn_ms = ms_since(t0);
    const long rss_after = rss_kib();
    const auto t1 = clock_type::now();
    {
      std::lock_guard lk(mu);
      go = true;
    }
    cv.notify_all();
    for (auto& h : hs) h.join();
    const double wake_join_ms = ms_since(t1);
    if (!error.empty()) {
      for (char& c : error)
        if (c == '"' || c == '\\') c = '\'';
      std::printf(
          "{\"model\": \"%s\", \"n\": %ld, \"status\": \"not run\", \"started\": %ld, "
          "\"error\": \"%s\"}\n",
          M::name, n, spawned, error.c_str());
      return;
    }
    const double bytes_per_task = (rss_after - rss_before) * 1024.0 / static_cast<double>(n);
    std::printf(
        "{\"model\": \"%s\", \"n\": %ld, \"status\": \"ok\", \"spawn_ms\": %.3f, "
        "\"spawn_ns_per_task\": %.1f, \"rss_bytes_per_task\": %.1f, \"wake_join_ms\": %.3f, "
        "\"wake_join_ns_per_task\": %.1f}\n",
        M::name, n, spawn_ms, spawn_ms * 1e6 / static_cast<double>(n), bytes_per_task, wake_join_ms,
        wake_join_ms * 1e6 / static_cast<double>(n));
    if (parked != n) rc = 1;
  });
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  std::string_view model = "fiber";
  long n = 1000;
  std::size_t workers = 2;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a.starts_with("--model=")) {
      model = a.substr(8);
    } else if (a.starts_with("--n=")) {
      n = std::strtol(argv[i] + 4, nullptr, 10);
    } else if (a.starts_with("--workers=")) {
      workers = static_cast<std::size_t>(std::strtoul(argv[i] + 10, nullptr, 10));
    } else {
      std::fprintf(stderr, "usage: %s --model=os|fiber --n=N [--workers=W]\n", argv[0]);
      return 2;
    }
  }
  if (n <= 0 || workers == 0) {
    std::fprintf(stderr, "%s: --n and --workers must be positive\n", argv[0]);
    return 2;
  }
  if (model == "os") return run<weft::os::model>(n, workers);
  if (model == "fiber") return run<weft::fiber::model>(n, workers);
  std::fprintf(stderr, "%s: unknown model '%.*s' (expected os or fiber)\n", argv[0],
               static_cast<int>(model.size()), model.data());
  return 2;
}
