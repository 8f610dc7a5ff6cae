// The seed's Tokio echo server in weft (examples/echo.hpp), on either model: a thread per
// connection (--model=os) or a fiber per connection (--model=fiber, on a runtime of --workers
// workers). Loopback addresses only (the default 127.0.0.1); stops on SIGINT or SIGTERM, or after
// --duration seconds: it stops accepting, gives open connections a second, then closes them.
//
//   echo_server [--model=os|fiber] [--port=8080] [--host=127.0.0.1] [--workers=N] [--duration=S]
//
// The wait for the signal is itself a socket-layer wait: the signal handler writes to a pipe,
// and the main task waits for it with M::wait_readable (with the duration as its deadline).
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>

#include <weft/fiber.hpp>
#include <weft/net/tcp_server.hpp>
#include <weft/os.hpp>

#include "echo.hpp"

namespace {

int signal_pipe[2] = {-1, -1};

extern "C" void on_signal(int) {
  const char x = 's';
  [[maybe_unused]] const auto r = ::write(signal_pipe[1], &x, 1);
}

struct options {
  std::string host = "127.0.0.1";
  long long port = 8080;
  long long duration_s = 0;  // 0: until a signal
};

template <weft::model M>
int serve(const options& o) {
  using namespace std::chrono_literals;
  const weft::net::address where(o.host, static_cast<std::uint16_t>(o.port));
  if (!where.is_loopback()) {
    std::fprintf(stderr, "echo_server: --host=%s: only loopback addresses (an example)\n",
                 o.host.c_str());
    return 2;
  }
  weft::net::tcp_server<M> server(M::tcp_listener::bind(where), examples::echo_session<M>);
  std::printf("echo_server (%s): listening on %s\n", M::name,
              server.local_address().to_string().c_str());
  std::fflush(stdout);
  auto acceptor = M::spawn([&server] { server.serve(); });
  if (o.duration_s > 0)
    M::wait_readable(signal_pipe[0], std::chrono::seconds(o.duration_s));
  else
    M::wait_readable(signal_pipe[0]);
  const std::size_t forced = server.shutdown(1s);
  acceptor.join();
  const auto st = server.stats();
  std::printf("echo_server (%s): served %llu connections; closed %zu still open at shutdown\n",
              M::name, static_cast<unsigned long long>(st.accepted), forced);
  return 0;
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
      o.port = examples::number_flag(v, "--port", 0, 65535);
    } else if (const char* v = examples::value_of(a, "--workers=")) {
      workers = examples::number_flag(v, "--workers", 1, 1024);
    } else if (const char* v = examples::value_of(a, "--duration=")) {
      o.duration_s = examples::number_flag(v, "--duration", 1, 86400);
    } else {
      std::fprintf(stderr,
                   "usage: %s [--model=os|fiber] [--port=8080] [--host=127.0.0.1] [--workers=N] "
                   "[--duration=S]\n",
                   argv[0]);
      return 2;
    }
  }
  weft::net::raise_fd_limit();  // a descriptor per connection
  if (::pipe2(signal_pipe, O_NONBLOCK | O_CLOEXEC) != 0) return 1;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  try {
    if (model == "os") return serve<weft::os::model>(o);
    if (model == "fiber") {
      weft::runtime_config cfg{.name = "echo"};
      if (workers > 0) cfg.workers = static_cast<std::size_t>(workers);
      weft::runtime rt{cfg};
      return rt.block_on([&o] { return serve<weft::fiber::model>(o); });
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "echo_server: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "%s: unknown model '%.*s' (expected os or fiber)\n", argv[0],
               static_cast<int>(model.size()), model.data());
  return 2;
}
