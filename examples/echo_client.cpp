// A closed-loop load generator for an echo server, built on weft itself: C connections (a task
// each, on either model), each writing a message, reading its echo and writing again, for a fixed
// duration. Reports round trips per second and the latency distribution (p50, p99, p99.9).
// Bounded: at most 20,000 connections and 600 seconds; loopback addresses only.
//
//   echo_client [--model=os|fiber] [--host=127.0.0.1] [--port=8080] [--connections=100]
//               [--duration=2] [--size=64] [--workers=N]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <weft/fiber.hpp>
#include <weft/os.hpp>

#include "echo.hpp"

namespace {

using std::chrono::steady_clock;

struct options {
  std::string host = "127.0.0.1";
  long long port = 8080;
  long long connections = 100;
  long long duration_s = 2;
  long long size = 64;
};

// What one connection measured: round-trip latencies in nanoseconds.
struct connection_result {
  std::vector<std::uint32_t> latencies_ns;
  bool failed = false;
};

template <weft::model M>
void drive(const options& o, const weft::net::address& server, steady_clock::time_point start,
           steady_clock::time_point end, connection_result& out) {
  using namespace std::chrono_literals;
  try {
    auto s = M::tcp_stream::connect(server, 10s);
    s.set_nodelay();
    std::vector<std::byte> msg(static_cast<std::size_t>(o.size), std::byte{'w'});
    std::vector<std::byte> back(msg.size());
    M::sleep_until(start);  // every connection is open before the clock starts
    out.latencies_ns.reserve(1 << 12);
    for (auto t0 = steady_clock::now(); t0 < end; t0 = steady_clock::now()) {
      s.write_all(msg, 5s);
      s.read_exact(back, 5s);
      const auto ns =
          std::chrono::duration_cast<std::chrono::nanoseconds>(steady_clock::now() - t0);
      out.latencies_ns.push_back(
          static_cast<std::uint32_t>(std::min<long long>(ns.count(), UINT32_MAX)));
    }
  } catch (const std::system_error& e) {
    static std::atomic<bool> reported{false};  // one message, not one per connection
    if (!reported.exchange(true)) std::fprintf(stderr, "echo_client: %s\n", e.what());
    out.failed = true;
  }
}

template <weft::model M>
int run(const options& o) {
  const weft::net::address server(o.host, static_cast<std::uint16_t>(o.port));
  if (!server.is_loopback()) {
    std::fprintf(stderr, "echo_client: --host=%s: only loopback addresses (a load generator)\n",
                 o.host.c_str());
    return 2;
  }
  const auto n = static_cast<std::size_t>(o.connections);
  std::vector<connection_result> results(n);
  // Connecting 10k sockets takes a while: the measured window starts after it.
  const auto start = steady_clock::now() + std::chrono::milliseconds(200 + o.connections / 10);
  const auto end = start + std::chrono::seconds(o.duration_s);
  {
    std::vector<typename M::template join_handle<void>> tasks;
    tasks.reserve(n);
    for (std::size_t i = 0; i < n; ++i)
      tasks.push_back(M::spawn([&, i] { drive<M>(o, server, start, end, results[i]); }));
    for (auto& t : tasks) t.join();
  }
  std::vector<std::uint32_t> all;
  std::size_t failed = 0;
  for (auto& r : results) {
    all.insert(all.end(), r.latencies_ns.begin(), r.latencies_ns.end());
    failed += r.failed ? 1 : 0;
  }
  if (all.empty()) {
    std::fprintf(stderr, "echo_client: no round trip completed (%zu connections failed)\n", failed);
    return 1;
  }
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) {
    return all[std::min(all.size() - 1,
                        static_cast<std::size_t>(p * static_cast<double>(all.size())))] /
           1000.0;
  };
  std::printf(
      "echo_client (%s): %lld connections, %lld-byte messages, %lld s: %.0f round trips/s; "
      "latency p50 %.1f us, p99 %.1f us, p99.9 %.1f us; %zu connections failed\n",
      M::name, o.connections, o.size, o.duration_s,
      static_cast<double>(all.size()) / static_cast<double>(o.duration_s), pct(0.5), pct(0.99),
      pct(0.999), failed);
  return failed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  std::string_view model = "os";
  long long workers = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (const char* v = examples::value_of(a, "--model=")) {
      model = v;
    } else if (const char* v = examples::value_of(a, "--host=")) {
      o.host = v;
    } else if (const char* v = examples::value_of(a, "--port=")) {
      o.port = examples::number_flag(v, "--port", 1, 65535);
    } else if (const char* v = examples::value_of(a, "--connections=")) {
      o.connections = examples::number_flag(v, "--connections", 1, 20000);
    } else if (const char* v = examples::value_of(a, "--duration=")) {
      o.duration_s = examples::number_flag(v, "--duration", 1, 600);
    } else if (const char* v = examples::value_of(a, "--size=")) {
      o.size = examples::number_flag(v, "--size", 1, 65536);
    } else if (const char* v = examples::value_of(a, "--workers=")) {
      workers = examples::number_flag(v, "--workers", 1, 1024);
    } else {
      std::fprintf(stderr,
                   "usage: %s [--model=os|fiber] [--host=127.0.0.1] [--port=8080] "
                   "[--connections=100] [--duration=2] [--size=64] [--workers=N]\n",
                   argv[0]);
      return 2;
    }
  }
  // Each connection needs a descriptor: take what the hard limit allows.
  weft::net::raise_fd_limit();
  try {
    if (model == "os") return run<weft::os::model>(o);
    if (model == "fiber") {
      weft::runtime_config cfg{.name = "echo-client"};
      if (workers > 0) cfg.workers = static_cast<std::size_t>(workers);
      weft::runtime rt{cfg};
      return rt.block_on([&o] { return run<weft::fiber::model>(o); });
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "echo_client: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "%s: unknown model '%.*s' (expected os or fiber)\n", argv[0],
               static_cast<int>(model.size()), model.data());
  return 2;
}
