// weft::net::tcp_server<M> — an accept loop with a task per connection and graceful shutdown,
// written once over the model: thread-per-connection with weft::os::model, fiber-per-connection
// with weft::fiber::model. Standard library and POSIX only.
//
//   net::tcp_server<M> server(M::tcp_listener::bind(addr), [](typename M::tcp_stream& s) {
//     std::byte buf[1024];
//     while (std::size_t n = s.read(buf)) s.write_all(buf, n);   // echo
//   });
//   auto acceptor = M::spawn([&] { server.serve(); });
//   ...
//   server.shutdown(2s);   // stop accepting; in-flight connections get 2 s, then are closed
//   acceptor.join();
//
// Failure isolation: a handler that throws ends only its own connection (reported through
// server_options::on_handler_error); running out of descriptors, buffers or tasks makes the
// accept loop report it (on_accept_error), pause (1 ms, doubling up to max_accept_backoff) and
// retry, so the server keeps serving once resources free up. Any other accept error ends serve()
// with the exception.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <mutex>
#include <new>
#include <stdexcept>
#include <system_error>
#include <utility>

#include <weft/model.hpp>

#include "address.hpp"
#include "deadline.hpp"
#include "error.hpp"
#include "vocabulary.hpp"

namespace weft::net {

struct server_options {
  // Longest pause of the accept loop after resources ran out (the pause starts at 1 ms).
  std::chrono::milliseconds max_accept_backoff{100};
  // Called on the accepting task for every failure the loop survives (descriptors, buffers or
  // tasks ran out). Default: one line on stderr.
  std::function<void(const std::system_error&)> on_accept_error;
  // Called on the connection's task when its handler throws. Default: one line on stderr naming
  // the peer.
  std::function<void(const address& peer, std::exception_ptr)> on_handler_error;
  // Stack size of each connection's task (0: the model's default; weft::os ignores it).
  std::size_t stack_size = 0;
};

struct server_stats {
  std::uint64_t accepted = 0;        // connections handed to a handler
  std::uint64_t active = 0;          // handlers running now
  std::uint64_t accept_errors = 0;   // failures the accept loop survived
  std::uint64_t handler_errors = 0;  // handlers that ended with an exception
  std::uint64_t forced = 0;          // connections shut down by shutdown() after its grace
};

template <weft::model M>
requires socket_vocabulary<M>
class tcp_server {
 public:
  using stream = typename M::tcp_stream;
  using listener = typename M::tcp_listener;
  using handler = std::function<void(stream&)>;

  // Serves connections of `l` with `h`, each on its own task of model M. The handler may read,
  // write and shutdown() its stream; it must not close, move or keep it (the server closes it when
  // the handler returns). Nothing is accepted before serve().
  tcp_server(listener l, handler h, server_options opts = {})
      : listener_(std::move(l)), handler_(std::move(h)), opts_(std::move(opts)) {}
  tcp_server(const tcp_server&) = delete;
  tcp_server& operator=(const tcp_server&) = delete;

  // shutdown() with no grace: open connections are shut down at once and waited for. The
  // connection tasks point at the server, so it cannot leave before they end: a wait the
  // runtime cancels (at its own shutdown, which cancels those tasks too) is simply repeated.
  ~tcp_server() {
    for (;;) {
      try {
        shutdown(std::chrono::seconds(0));
        return;
      } catch (...) {
      }
    }
  }

  // Runs the accept loop on the calling task until shutdown(). Throws std::logic_error if
  // serve() is already running; std::system_error for an accept error that is not a shortage
  // (see the file comment); the model's cancellation.
  void serve() {
    {
      std::lock_guard lk(mu_);
      if (serving_) throw std::logic_error("weft::net::tcp_server::serve: already serving");
      if (stopping_) return;
      serving_ = true;
    }
    try {
      accept_loop();
    } catch (...) {
      served();
      throw;
    }
    served();
  }

  // Stops accepting (a blocked serve() returns), lets in-flight connections finish until
  // `grace` passes (default: no limit), then shuts down the sockets of those still open — their
  // handlers see the end of the stream or a broken pipe — and waits for their tasks and for
  // serve() to return. Returns how many connections it shut down. Idempotent; any task except a
  // connection handler of this server (which would wait for itself).
  std::size_t shutdown(deadline grace = {}) {
    std::unique_lock lk(mu_);
    stopping_ = true;
    lk.unlock();
    listener_.shutdown();
    lk.lock();
    while (active_ > 0) {
      if (grace.is_none()) {
        cv_.wait(lk);
      } else if (cv_.wait_until(lk, grace.when()) == std::cv_status::timeout) {
        break;
      }
    }
    std::size_t forced = 0;
    if (active_ > 0) {
      forcing_ = true;
      for (connection* c = head_; c != nullptr; c = c->next) {
        c->s.shutdown();
        ++forced;
      }
      forced_ += forced;
    }
    while (active_ > 0 || serving_) cv_.wait(lk);
    return forced;
  }

  // The listener's address (with the port the kernel picked for port 0).
  const address& local_address() const noexcept { return listener_.local_address(); }

  server_stats stats() const {
    server_stats s;
    // relaxed: statistics.
    s.accepted = accepted_.load(std::memory_order_relaxed);
    s.accept_errors = accept_errors_.load(std::memory_order_relaxed);
    s.handler_errors = handler_errors_.load(std::memory_order_relaxed);
    std::lock_guard lk(mu_);
    s.active = active_;
    s.forced = forced_;
    return s;
  }

 private:
  // Aligned: the stream's hot fields (descriptor, registration, short-read state) then share one
  // line, which is cold when the connection's fiber wakes with many connections.
  struct alignas(64) connection {
    explicit connection(stream st) noexcept : s(std::move(st)) {}
    stream s;
    connection* prev = nullptr;  // guarded by mu_
    connection* next = nullptr;
  };

  void accept_loop() {
    const std::chrono::milliseconds first_pause(1);
    std::chrono::milliseconds pause = first_pause;
    for (;;) {
      stream s;
      try {
        s = listener_.accept();
      } catch (const std::system_error& e) {
        if (e.code() == std::errc::operation_canceled) return;  // shutdown()
        if (!is_resource_exhaustion(e.code())) throw;
        survive(e, pause);
        continue;
      }
      pause = first_pause;
      try {
        start(std::move(s));
      } catch (const std::system_error& e) {  // no thread for it (weft::os)
        survive(e, pause);
      } catch (const std::bad_alloc&) {  // no stack for it (weft::fiber)
        survive(std::system_error(std::make_error_code(std::errc::not_enough_memory),
                                  "weft::net::tcp_server: spawn a connection task"),
                pause);
      }
    }
  }

  // Reports a shortage, pauses, and doubles the next pause.
  void survive(const std::system_error& e, std::chrono::milliseconds& pause) {
    accept_errors_.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
    if (opts_.on_accept_error) {
      opts_.on_accept_error(e);
    } else {
      std::fprintf(stderr, "weft::net::tcp_server on %s: %s; retrying in %lld ms\n",
                   local_address().to_string().c_str(), e.what(),
                   static_cast<long long>(pause.count()));
    }
    M::sleep_for(pause);
    pause = std::min(pause * 2, std::max(opts_.max_accept_backoff, std::chrono::milliseconds(1)));
  }

  // Hands `s` to a new task. Throws what M::spawn throws (the connection is closed then).
  void start(stream s) {
    auto* c = new connection(std::move(s));
    {
      std::lock_guard lk(mu_);
      c->next = head_;
      if (head_ != nullptr) head_->prev = c;
      head_ = c;
      ++active_;
      if (forcing_) c->s.shutdown();  // accepted just as shutdown() gave up waiting
    }
    try {
      M::spawn(spawn_options{.stack_size = opts_.stack_size}, [this, c] { run(c); }).detach();
    } catch (...) {
      finish(c);
      throw;
    }
    accepted_.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
  }

  void run(connection* c) {
    try {
      handler_(c->s);
    } catch (...) {
      // The runtime's shutdown cancelling a blocked handler is not the handler's failure.
      if (!stream::io_type::is_cancellation(std::current_exception())) {
        handler_errors_.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
        report_handler_error(c->s.peer_address(), std::current_exception());
      }
    }
    finish(c);
  }

  void report_handler_error(const address& peer, std::exception_ptr e) noexcept {
    try {
      if (opts_.on_handler_error) {
        opts_.on_handler_error(peer, e);
        return;
      }
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        std::fprintf(stderr, "weft::net::tcp_server: connection from %s ended with: %s\n",
                     peer.to_string().c_str(), ex.what());
      } catch (...) {
        std::fprintf(stderr, "weft::net::tcp_server: connection from %s ended with an exception\n",
                     peer.to_string().c_str());
      }
    } catch (...) {  // the reporter itself failed: the connection still ends cleanly
    }
  }

  // Unlinks and closes a connection. After the unlock `this` may be gone (shutdown() or the
  // destructor waits for active_ == 0 under mu_), so the notify happens under the lock and the
  // connection is deleted after it, touching nothing of the server.
  void finish(connection* c) noexcept {
    {
      std::lock_guard lk(mu_);
      if (c->prev != nullptr)
        c->prev->next = c->next;
      else
        head_ = c->next;
      if (c->next != nullptr) c->next->prev = c->prev;
      if (--active_ == 0) cv_.notify_all();
    }
    delete c;
  }

  void served() noexcept {
    std::lock_guard lk(mu_);
    serving_ = false;
    cv_.notify_all();
  }

  listener listener_;
  handler handler_;
  server_options opts_;
  mutable typename M::mutex mu_;
  typename M::condition_variable cv_;
  connection* head_ = nullptr;  // guarded by mu_, as the four below
  std::size_t active_ = 0;
  std::uint64_t forced_ = 0;
  bool serving_ = false;
  bool stopping_ = false;
  bool forcing_ = false;
  std::atomic<std::uint64_t> accepted_{0};
  std::atomic<std::uint64_t> accept_errors_{0};
  std::atomic<std::uint64_t> handler_errors_{0};
};

}  // namespace weft::net
