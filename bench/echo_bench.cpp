// The echo workload of the comparison report: thread-per-connection (weft::os) against
// fiber-per-connection (weft::fiber) — one server source, examples/echo.hpp's echo session under
// net::tcp_server<M> — with a hand-written single-threaded epoll echo loop as the floor.
//
// Each cell forks a server process pinned to one core (--server-cpu) and drives it from this
// process, pinned to another (--client-cpu), with a hand-written epoll load generator: C
// connections, each a closed loop of --size bytes written and the echo read back. Every
// connection first completes one round trip (so the thread server has all its threads), then
// round trips are counted for --duration seconds. Reported: round trips/s, latency p50/p99/p99.9,
// and the server's resident memory per connection with all C connections open and idle
// ((VmRSS idle - VmRSS before any connection) / C), and the server's CPU time per round trip
// while measured (/proc/PID/stat: user + system, so the loopback delivery the server's sends do
// in its system calls counts too). On two cores the load generator is often the bottleneck; the
// server's CPU per round trip then shows what round trips/s cannot. Loopback only; bounded in
// connections (--connections, at most 20,000) and time.
//
//   echo_bench [--connections=100,1000,10000] [--servers=epoll,os,fiber[,epoll_again]]
//              [--duration=2] [--repetitions=1] [--size=64] [--server-cpu=0] [--client-cpu=1]
//              [--json=FILE]
//
// --repetitions=N runs every cell N times, interleaved (C, then repetition, then server), and
// reports medians: on a shared machine the servers of one C see the same noise. The server
// epoll_again is the epoll loop once more, a control: its ratio to epoll (an A/A comparison of
// two identical servers) shows how far this run's noise alone moves a ratio. On this kind of
// shared 2-vCPU host, 5 repetitions of 2 s gave A/A ratios from 0.80x to 1.12x at C = 1,000,
// and 15 of 1 s 0.98x and 1.01x: many short repetitions resolve a ratio better than few long
// ones for the same time. --json writes every repetition and the medians (scripts/report.py
// reads it). The fiber server runs on one worker: it has one core, as the others do. The thread
// server's 10,000 threads keep glibc's default 8 MiB stacks: reserved, not resident (only touched
// pages count), so they fit with the kernel's default overcommit; what limits it is
// vm.max_map_count (two mappings per thread) and kernel.threads-max / pid_max, all far above 10,000
// here. Descriptors: the server and the load generator are separate processes, each needing C plus
// a few; both raise RLIMIT_NOFILE to its hard limit, and a C the limit cannot hold is refused up
// front.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <weft/fiber.hpp>
#include <weft/net/tcp_server.hpp>
#include <weft/os.hpp>

#include "echo.hpp"

namespace {

using std::chrono::steady_clock;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             steady_clock::now().time_since_epoch())
      .count();
}

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "echo_bench: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

// Pins the calling process to `cpu`; on a machine without that cpu it says so and runs unpinned.
void pin_to(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (::sched_setaffinity(0, sizeof set, &set) != 0)
    std::fprintf(stderr, "echo_bench: cannot pin to cpu %d (%s); running unpinned\n", cpu,
                 std::strerror(errno));
}

long rss_kib(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(f, line);)
    if (line.starts_with("VmRSS:")) return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

// The CPU time (user + system, all threads) the process has used, in microseconds; -1 if unknown.
// Ticks of 10 ms: over a cell's seconds at most ~1 % off.
double cpu_us(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  const std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const std::size_t paren = stat.rfind(')');  // the command name may hold spaces
  if (paren == std::string::npos) return -1;
  // After ")": state (field 3), then ppid ... cmajflt (4-13), utime (14), stime (15).
  unsigned long long utime = 0, stime = 0;
  if (std::sscanf(stat.c_str() + paren + 1,
                  " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
    return -1;
  return static_cast<double>(utime + stime) * 1e6 / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// ---------------------------------------------------------------------------------------------
// The servers (each runs in a forked child until it is killed).

// The floor: one thread, level-triggered epoll, one read and one write per message, one shared
// buffer. Short writes (none happen with small messages) keep their rest per connection.
[[noreturn]] void epoll_server(int lfd) {
  const int ep = ::epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = lfd;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  std::vector<std::string> pending;  // by descriptor
  static char buf[65536];
  epoll_event events[256];
  for (;;) {
    const int n = ::epoll_wait(ep, events, 256, -1);
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == lfd) {
        for (int c; (c = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK)) >= 0;) {
          const int one = 1;
          ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.fd = c;
          ::epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        }
        continue;
      }
      if (static_cast<std::size_t>(fd) < pending.size() && !pending[fd].empty()) {
        const ssize_t w = ::send(fd, pending[fd].data(), pending[fd].size(), MSG_NOSIGNAL);
        if (w > 0) pending[fd].erase(0, static_cast<std::size_t>(w));
        if (pending[fd].empty()) {
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.fd = fd;
          ::epoll_ctl(ep, EPOLL_CTL_MOD, fd, &cev);
        }
        continue;
      }
      const ssize_t r = ::recv(fd, buf, sizeof buf, 0);
      if (r <= 0) {
        if (r == 0 || (errno != EAGAIN && errno != EINTR)) ::close(fd);
        continue;
      }
      const ssize_t w = ::send(fd, buf, static_cast<std::size_t>(r), MSG_NOSIGNAL);
      if (w < r) {
        if (static_cast<std::size_t>(fd) >= pending.size()) pending.resize(fd + 1);
        pending[fd].assign(buf + std::max<ssize_t>(w, 0), buf + r);
        epoll_event cev{};
        cev.events = EPOLLOUT;
        cev.data.fd = fd;
        ::epoll_ctl(ep, EPOLL_CTL_MOD, fd, &cev);
      }
    }
  }
}

template <weft::model M>
[[noreturn]] void weft_server(typename M::tcp_listener l) {
  weft::net::server_options opts;
  opts.on_handler_error = [](const weft::net::address&, std::exception_ptr) {};  // resets
  weft::net::tcp_server<M> server(std::move(l), examples::echo_session<M>, std::move(opts));
  server.serve();
  std::_Exit(1);  // serve() returns only if shut down, which nobody does
}

// Binds a loopback listener on an ephemeral port and writes the port to `port_fd`, which
// start_server's parent side waits on.
template <class Listener>
Listener bind_reporting(int port_fd) {
  auto l = Listener::bind(weft::net::address::loopback_v4(0), {.backlog = 4096});
  const std::uint16_t port = l.local_address().port();
  if (::write(port_fd, &port, sizeof port) != sizeof port) std::_Exit(1);
  ::close(port_fd);
  return l;
}

[[noreturn]] void serve_epoll(int port_fd) {
  auto l = bind_reporting<weft::os::tcp_listener>(port_fd);  // only for the bind; the loop is raw
  epoll_server(::dup(l.native_handle()));
}

[[noreturn]] void serve_os(int port_fd) {
  weft_server<weft::os::model>(bind_reporting<weft::os::tcp_listener>(port_fd));
}

[[noreturn]] void serve_fiber(int port_fd) {
  weft::runtime rt{{.workers = 1, .name = "echo"}};
  rt.block_on(
      [&] { weft_server<weft::fiber::model>(bind_reporting<weft::fiber::tcp_listener>(port_fd)); });
  std::_Exit(1);
}

// Every server --servers can name. epoll_again is the epoll loop once more: the A/A control.
struct server_kind {
  std::string_view name;
  void (*serve)(int port_fd);  // binds, reports the port, serves until killed; never returns
};
constexpr server_kind server_kinds[] = {
    {"epoll", serve_epoll}, {"os", serve_os}, {"fiber", serve_fiber}, {"epoll_again", serve_epoll}};

const server_kind* find_kind(std::string_view name) {
  for (const server_kind& k : server_kinds)
    if (k.name == name) return &k;
  return nullptr;
}

std::string kind_names(const char* sep) {
  std::string s;
  for (const server_kind& k : server_kinds) s += (s.empty() ? "" : sep) + std::string(k.name);
  return s;
}

// Starts the server process; returns its pid and port.
std::pair<pid_t, std::uint16_t> start_server(const server_kind& kind, int cpu) {
  int p[2];
  if (::pipe(p) != 0) die("pipe");
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    ::close(p[0]);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlives a load generator that died
    if (::getppid() != parent) std::_Exit(1);
    pin_to(cpu);
    try {
      kind.serve(p[1]);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "echo_bench server: %s\n", e.what());
    }
    std::_Exit(1);
  }
  ::close(p[1]);
  std::uint16_t port = 0;
  pollfd pf{p[0], POLLIN, 0};
  if (::poll(&pf, 1, 10'000) != 1 || ::read(p[0], &port, sizeof port) != sizeof port) {
    std::fprintf(stderr, "echo_bench: the %.*s server did not start\n",
                 static_cast<int>(kind.name.size()), kind.name.data());
    std::exit(1);
  }
  ::close(p[0]);
  return {pid, port};
}

// ---------------------------------------------------------------------------------------------
// The load generator: one thread, epoll, C closed loops.

struct conn {
  int fd = -1;
  std::size_t got = 0;       // bytes of the current echo received
  std::int64_t sent_ns = 0;  // when the current message was written
  bool busy = false;         // a message is out
};

struct cell_result {
  double round_trips_per_s = 0;
  double p50_us = 0, p99_us = 0, p999_us = 0;
  double rss_kib_per_conn = 0;
  // Server CPU time per round trip while measured: what the server spends, whoever is the
  // bottleneck (on 2 cores the load generator often is, and then round trips/s hide it).
  double cpu_us_per_rt = 0;
  long rss_idle_kib = 0;
  bool ok = false;
};

class load_generator {
 public:
  load_generator(std::uint16_t port, std::size_t connections, std::size_t size)
      : size_(size), msg_(size, 'w'), conns_(connections) {
    ep_ = ::epoll_create1(0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // Connect in batches of 256, so the server's accept queue never overflows (a dropped SYN
    // costs a second).
    for (std::size_t first = 0; first < conns_.size(); first += 256) {
      const std::size_t last = std::min(conns_.size(), first + 256);
      for (std::size_t i = first; i < last; ++i) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (fd < 0) die("socket");
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno != EINPROGRESS)
          die("connect");
        conns_[i].fd = fd;
        epoll_event ev{};
        ev.events = EPOLLOUT;
        ev.data.u64 = i;
        ::epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
      }
      for (std::size_t done = first; done < last;) {
        epoll_event evs[256];
        const int n = ::epoll_wait(ep_, evs, 256, 10'000);
        if (n <= 0) die("connect timeout");
        for (int k = 0; k < n; ++k) {
          conn& c = conns_[evs[k].data.u64];
          int err = 0;
          socklen_t len = sizeof err;
          ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
          if (err != 0) {
            errno = err;
            die("connect");
          }
          epoll_event ev{};
          ev.events = EPOLLIN;
          ev.data.u64 = evs[k].data.u64;
          ::epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
          ++done;
        }
      }
    }
  }
  ~load_generator() {
    for (conn& c : conns_) ::close(c.fd);
    ::close(ep_);
  }

  // One round trip on every connection (the server is fully up afterwards). False on timeout.
  bool prime(std::int64_t limit_ns) {
    for (conn& c : conns_) send(c);
    return run_until(now_ns() + limit_ns, /*keep_going=*/false) == 0;
  }

  // Closed loops until `end`; latencies of completed round trips are recorded.
  void measure(std::int64_t duration_ns, std::vector<std::uint32_t>& samples) {
    samples_ = &samples;
    for (conn& c : conns_) send(c);
    const std::int64_t end = now_ns() + duration_ns;
    run_until(end, true);
    samples_ = nullptr;
  }
  // After measure(): waits for the replies still out, leaving every connection idle.
  void drain() { run_until(now_ns() + 2'000'000'000, false); }

 private:
  void send(conn& c) {
    c.busy = true;
    c.got = 0;
    c.sent_ns = now_ns();
    if (::send(c.fd, msg_.data(), size_, MSG_NOSIGNAL) != static_cast<ssize_t>(size_))
      die("send (short or failed)");
  }

  // Serves replies until `deadline` (keep_going: re-send on each reply) or, without keep_going,
  // until nothing is out. Returns how many messages are still out.
  std::size_t run_until(std::int64_t deadline, bool keep_going) {
    std::size_t out = 0;
    for (const conn& c : conns_) out += c.busy ? 1 : 0;
    epoll_event evs[512];
    char buf[65536];
    while ((keep_going || out > 0)) {
      const std::int64_t now = now_ns();
      if (now >= deadline) break;
      const int n = ::epoll_wait(ep_, evs, 512, static_cast<int>((deadline - now) / 1'000'000) + 1);
      for (int k = 0; k < n; ++k) {
        conn& c = conns_[evs[k].data.u64];
        const ssize_t r = ::recv(c.fd, buf, sizeof buf, 0);
        if (r <= 0) {
          if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
          die("recv (the server closed a connection)");
        }
        c.got += static_cast<std::size_t>(r);
        if (c.got < size_) continue;
        const std::int64_t t = now_ns();
        if (samples_ != nullptr)
          samples_->push_back(
              static_cast<std::uint32_t>(std::min<std::int64_t>(t - c.sent_ns, UINT32_MAX)));
        c.busy = false;
        --out;
        if (keep_going && t < deadline) {
          send(c);
          ++out;
        }
      }
    }
    return out;
  }

  std::size_t size_;
  std::string msg_;
  std::vector<conn> conns_;
  int ep_ = -1;
  std::vector<std::uint32_t>* samples_ = nullptr;
};

cell_result run_cell(const server_kind& kind, std::size_t connections, std::size_t size,
                     std::int64_t duration_ns, int server_cpu, int client_cpu) {
  cell_result res;
  const auto [pid, port] = start_server(kind, server_cpu);
  pin_to(client_cpu);
  ::usleep(100'000);
  const long rss_base = rss_kib(pid);
  {
    load_generator gen(port, connections, size);
    if (gen.prime(60'000'000'000)) {
      std::vector<std::uint32_t> samples;
      samples.reserve(1 << 22);
      const double cpu_before = cpu_us(pid);
      gen.measure(duration_ns, samples);
      const double cpu_after = cpu_us(pid);
      gen.drain();
      if (!samples.empty()) {
        res.cpu_us_per_rt = cpu_before < 0 || cpu_after < 0
                                ? 0
                                : (cpu_after - cpu_before) / static_cast<double>(samples.size());
        std::sort(samples.begin(), samples.end());
        auto pct = [&](double p) {
          return samples[std::min(
                     samples.size() - 1,
                     static_cast<std::size_t>(p * static_cast<double>(samples.size())))] /
                 1000.0;
        };
        res.round_trips_per_s =
            static_cast<double>(samples.size()) * 1e9 / static_cast<double>(duration_ns);
        res.p50_us = pct(0.5);
        res.p99_us = pct(0.99);
        res.p999_us = pct(0.999);
        ::usleep(200'000);  // all connections open and idle
        res.rss_idle_kib = rss_kib(pid);
        res.rss_kib_per_conn =
            static_cast<double>(res.rss_idle_kib - rss_base) / static_cast<double>(connections);
        res.ok = true;
      }
    } else {
      std::fprintf(stderr, "echo_bench: %.*s at C=%zu: not every connection got a reply\n",
                   static_cast<int>(kind.name.size()), kind.name.data(), connections);
    }
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return res;
}

std::vector<std::string> split(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    const auto comma = s.find(',');
    out.emplace_back(s.substr(0, comma));
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// The repetitions of one (C, server) cell and their medians (of the successful ones).
struct cell {
  std::size_t connections = 0;
  const server_kind* server = nullptr;
  std::vector<cell_result> reps;
  cell_result median;  // ok if any repetition was

  void summarise() {
    std::vector<double> rt, p50, p99, p999, rss, cpu;
    for (const cell_result& r : reps) {
      if (!r.ok) continue;
      rt.push_back(r.round_trips_per_s);
      p50.push_back(r.p50_us);
      p99.push_back(r.p99_us);
      p999.push_back(r.p999_us);
      rss.push_back(r.rss_kib_per_conn);
      cpu.push_back(r.cpu_us_per_rt);
    }
    if (rt.empty()) return;
    median = {median_of(rt),
              median_of(p50),
              median_of(p99),
              median_of(p999),
              median_of(rss),
              median_of(cpu),
              0,
              true};
  }
  double min_rt() const {
    double m = 0;
    for (const cell_result& r : reps)
      if (r.ok && (m == 0 || r.round_trips_per_s < m)) m = r.round_trips_per_s;
    return m;
  }
  double max_rt() const {
    double m = 0;
    for (const cell_result& r : reps)
      if (r.ok) m = std::max(m, r.round_trips_per_s);
    return m;
  }
};

// The median over repetitions of a's round trips/s over b's in the same repetition (both cells
// of one C). Repetition k of every server runs back to back, so a drift of the host's speed that
// outlasts a repetition cancels in each ratio; the ratio of the two medians keeps it. 0 if no
// repetition succeeded for both.
double paired_ratio(const cell& a, const cell& b) {
  std::vector<double> r;
  for (std::size_t k = 0; k < a.reps.size() && k < b.reps.size(); ++k)
    if (a.reps[k].ok && b.reps[k].ok && b.reps[k].round_trips_per_s > 0)
      r.push_back(a.reps[k].round_trips_per_s / b.reps[k].round_trips_per_s);
  return r.empty() ? 0 : median_of(std::move(r));
}

// The comparisons printed under each C's rows: a's round trips/s over b's (as a ratio of the
// medians and paired), with the p99 and RSS columns where the issue sets a target on them.
struct comparison {
  std::string_view a, b, label;
  bool p99, rss;
};
constexpr comparison comparisons[] = {
    {"fiber", "epoll", "fiber / epoll", false, false},
    {"fiber", "os", "fiber / os", true, true},
    // The A/A control: the same epoll loop twice in every repetition. Its ratio is what this
    // run's noise alone makes of two identical servers, the resolution of the ratios above.
    {"epoll_again", "epoll", "epoll_again / epoll (A/A)", true, false},
};

void print_comparison(const comparison& k, const cell& a, const cell& b) {
  const cell_result& x = a.median;
  const cell_result& y = b.median;
  auto column = [](bool shown, double num, double den) {
    char text[32] = "";
    if (shown && den > 0) std::snprintf(text, sizeof text, "%.2fx", num / den);
    return std::string(text);
  };
  std::printf("|   | %.*s | %.2fx (paired %.2fx) | | %s | | %s | %s |\n",
              static_cast<int>(k.label.size()), k.label.data(),
              x.round_trips_per_s / y.round_trips_per_s, paired_ratio(a, b),
              column(k.p99, x.p99_us, y.p99_us).c_str(),
              column(k.rss, x.rss_kib_per_conn, y.rss_kib_per_conn).c_str(),
              column(true, x.cpu_us_per_rt, y.cpu_us_per_rt).c_str());
}

// Every repetition and the medians of each cell, and per cell its paired ratio to every other
// server of the same C ("paired_vs": scripts/report.py reads these rather than recomputing).
void write_json(const char* path, const std::vector<cell>& cells, long long size, double duration,
                long long reps, long long server_cpu, long long client_cpu) {
  std::FILE* f = std::fopen(path, "w");
  if (f == nullptr) die(path);
  std::fprintf(f,
               "{\"size\": %lld, \"duration_s\": %.3f, \"repetitions\": %lld, \"server_cpu\": "
               "%lld, \"client_cpu\": %lld, \"cells\": [",
               size, duration, reps, server_cpu, client_cpu);
  auto result = [&](const cell_result& r) {
    if (!r.ok) return std::fprintf(f, "{\"ok\": false}");
    return std::fprintf(f,
                        "{\"ok\": true, \"round_trips_per_s\": %.1f, \"p50_us\": %.2f, \"p99_us\": "
                        "%.2f, \"p999_us\": %.2f, \"rss_kib_per_conn\": %.3f, "
                        "\"server_cpu_us_per_rt\": %.3f}",
                        r.round_trips_per_s, r.p50_us, r.p99_us, r.p999_us, r.rss_kib_per_conn,
                        r.cpu_us_per_rt);
  };
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const cell& c = cells[i];
    std::fprintf(f, "%s\n  {\"connections\": %zu, \"server\": \"%.*s\", \"median\": ", i ? "," : "",
                 c.connections, static_cast<int>(c.server->name.size()), c.server->name.data());
    result(c.median);
    std::fprintf(f, ", \"paired_vs\": {");
    const char* sep = "";
    for (const cell& o : cells) {
      if (&o == &c || o.connections != c.connections) continue;
      std::fprintf(f, "%s\"%.*s\": %.4f", sep, static_cast<int>(o.server->name.size()),
                   o.server->name.data(), paired_ratio(c, o));
      sep = ", ";
    }
    std::fprintf(f, "}, \"repetitions\": [");
    for (std::size_t k = 0; k < c.reps.size(); ++k) {
      if (k) std::fprintf(f, ", ");
      result(c.reps[k]);
    }
    std::fprintf(f, "]}");
  }
  std::fprintf(f, "\n]}\n");
  if (std::fclose(f) != 0) die(path);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> conn_list = {"100", "1000", "10000"};
  std::vector<std::string> server_names = {"epoll", "os", "fiber"};
  long long duration_s = 2, reps = 1, size = 64, server_cpu = 0, client_cpu = 1;
  const char* json = nullptr;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (const char* v = examples::value_of(a, "--connections=")) {
      conn_list = split(v);
    } else if (const char* v = examples::value_of(a, "--servers=")) {
      server_names = split(v);
    } else if (const char* v = examples::value_of(a, "--duration=")) {
      duration_s = examples::number_flag(v, "--duration", 1, 600);
    } else if (const char* v = examples::value_of(a, "--repetitions=")) {
      reps = examples::number_flag(v, "--repetitions", 1, 100);
    } else if (const char* v = examples::value_of(a, "--size=")) {
      size = examples::number_flag(v, "--size", 1, 4096);
    } else if (const char* v = examples::value_of(a, "--server-cpu=")) {
      server_cpu = examples::number_flag(v, "--server-cpu", 0, 4095);
    } else if (const char* v = examples::value_of(a, "--client-cpu=")) {
      client_cpu = examples::number_flag(v, "--client-cpu", 0, 4095);
    } else if (const char* v = examples::value_of(a, "--json=")) {
      json = v;
    } else {
      std::fprintf(stderr,
                   "usage: %s [--connections=100,1000,10000] [--servers=epoll,os,fiber (of %s)] "
                   "[--duration=2] [--repetitions=1] [--size=64] [--server-cpu=0] "
                   "[--client-cpu=1] [--json=FILE]\n",
                   argv[0], kind_names(",").c_str());
      return 2;
    }
  }
  std::vector<const server_kind*> servers;
  for (const auto& s : server_names) {
    servers.push_back(find_kind(s));
    if (servers.back() == nullptr) {
      std::fprintf(stderr, "echo_bench: unknown server '%s' (one of %s)\n", s.c_str(),
                   kind_names(", ").c_str());
      return 2;
    }
  }
  const std::size_t fd_limit = weft::net::raise_fd_limit();
  std::vector<std::size_t> cs;
  for (const auto& c : conn_list) {
    const auto n =
        static_cast<std::size_t>(examples::number_flag(c.c_str(), "--connections", 1, 20000));
    if (n + 64 > fd_limit) {
      std::fprintf(stderr,
                   "echo_bench: --connections=%zu needs %zu descriptors per process; "
                   "RLIMIT_NOFILE allows %zu (raise the hard limit: ulimit -Hn)\n",
                   n, n + 64, fd_limit);
      return 2;
    }
    cs.push_back(n);
  }
  ::signal(SIGPIPE, SIG_IGN);
  std::printf(
      "echo: %lld-byte closed loops over loopback; server on cpu %lld (fiber: 1 worker), "
      "load generator on cpu %lld; %lld s per cell; median of %lld repetition%s\n\n",
      size, server_cpu, client_cpu, duration_s, reps, reps > 1 ? "s" : "");
  std::printf(
      "| C | server | round trips/s (min-max) | p50 us | p99 us | p99.9 us | server RSS "
      "KiB/conn | server CPU us/rt |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  std::fflush(stdout);
  std::vector<cell> cells;
  for (const std::size_t c : cs) {
    const std::size_t first = cells.size();
    for (const server_kind* s : servers) cells.push_back({c, s, {}, {}});
    for (long long rep = 0; rep < reps; ++rep)
      for (std::size_t k = first; k < cells.size(); ++k)
        cells[k].reps.push_back(run_cell(*cells[k].server, c, static_cast<std::size_t>(size),
                                         duration_s * 1'000'000'000, static_cast<int>(server_cpu),
                                         static_cast<int>(client_cpu)));
    for (std::size_t k = first; k < cells.size(); ++k) {
      cell& x = cells[k];
      x.summarise();
      const cell_result& r = x.median;
      if (r.ok)
        std::printf("| %zu | %.*s | %.0f (%.0f-%.0f) | %.1f | %.1f | %.1f | %.2f | %.2f |\n", c,
                    static_cast<int>(x.server->name.size()), x.server->name.data(),
                    r.round_trips_per_s, x.min_rt(), x.max_rt(), r.p50_us, r.p99_us, r.p999_us,
                    r.rss_kib_per_conn, r.cpu_us_per_rt);
      else
        std::printf("| %zu | %.*s | failed | | | | | |\n", c,
                    static_cast<int>(x.server->name.size()), x.server->name.data());
    }
    auto find = [&](std::string_view k) -> const cell* {
      for (std::size_t i = first; i < cells.size(); ++i)
        if (cells[i].server->name == k && cells[i].median.ok) return &cells[i];
      return nullptr;
    };
    // The ratio of the medians, then (in parentheses) the median of the per-repetition ratios.
    for (const comparison& k : comparisons)
      if (const cell* a = find(k.a), *b = find(k.b); a != nullptr && b != nullptr)
        print_comparison(k, *a, *b);
    std::fflush(stdout);
  }
  if (json != nullptr)
    write_json(json, cells, size, static_cast<double>(duration_s), reps, server_cpu, client_cpu);
  bool all_ok = true;
  for (const cell& x : cells) all_ok = all_ok && x.median.ok;
  return all_ok ? 0 : 1;
}
