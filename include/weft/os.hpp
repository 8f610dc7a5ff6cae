// <weft/os.hpp> — the 1:1 model: one OS thread (std::thread) per task, standard library only.
//
// Namespace weft::os holds the functions and types; weft::os::model is the tag that generic code
// (tests, benchmarks, examples written over `weft::model M`) instantiates:
//
//   template <weft::model M> int answer() { return M::spawn([] { return 42; }).join(); }
//   int x = answer<weft::os::model>();
//
// Nothing reachable from this header includes fiber/, scheduler/ or Boost
// (tests/os_isolation_check.sh checks the include closure).
#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>
#include <string_view>
#include <type_traits>
#include <utility>

#include <weft/channel/channel.hpp>
#include <weft/model.hpp>
#include <weft/net/os_io.hpp>
#include <weft/net/sockets.hpp>
#include <weft/sync/primitives.hpp>
#include <weft/sync/std_parker.hpp>
#include <weft/thread/join_handle.hpp>
#include <weft/thread/scope.hpp>
#include <weft/thread/scoped_join_handle.hpp>
#include <weft/thread/spawn.hpp>
#include <weft/thread/task_id.hpp>
#include <weft/thread/this_task.hpp>
#include <weft/thread/thread_pool.hpp>

namespace weft::os {

// Blocking primitives (sync/; contracts there), on the std-only parker: a waiting task blocks
// its thread.
using mutex = sync::basic_mutex<sync::std_parker>;
using shared_mutex = sync::basic_shared_mutex<sync::std_parker>;
using condition_variable = sync::basic_condition_variable<sync::std_parker>;
template <class T, class Mutex = mutex>
using synchronized = sync::synchronized<T, Mutex>;
template <std::ptrdiff_t Max = sync::semaphore_max>
using counting_semaphore = sync::basic_counting_semaphore<sync::std_parker, Max>;
using binary_semaphore = counting_semaphore<1>;
using latch = sync::basic_latch<sync::std_parker>;
template <class CompletionFunction = sync::noop_completion>
using barrier = sync::basic_barrier<sync::std_parker, CompletionFunction>;
using wait_group = sync::basic_wait_group<sync::std_parker>;
using once_flag = sync::basic_once_flag<sync::std_parker>;
using event = sync::basic_event<sync::std_parker>;
using sync::call_once;

// Channels (channel/; contracts in weft::chan): Rust's mpsc generalised to MPMC, and select.
template <class T>
using sender = chan::basic_sender<T, sync::std_parker>;
template <class T>
using receiver = chan::basic_receiver<T, sync::std_parker>;
// An unbounded channel. Throws std::bad_alloc.
template <class T>
std::pair<sender<T>, receiver<T>> channel() {
  return chan::make_unbounded<T, sync::std_parker>();
}
// A channel buffering at most n values; n == 0 is a rendezvous. Throws std::bad_alloc.
template <class T>
std::pair<sender<T>, receiver<T>> sync_channel(std::size_t n) {
  return chan::make_channel<T, sync::std_parker>(n);
}
using chan::select;  // its cases: weft::chan::on_recv, on_send, on_timeout, on_default ...

// Sockets (net/; contracts there): a blocking call blocks the calling thread.
using tcp_stream = net::basic_tcp_stream<net::os_io>;
using tcp_listener = net::basic_tcp_listener<net::os_io>;
using fd_waiter = net::basic_fd_waiter<net::os_io>;
inline bool wait_readable(int fd, net::deadline d = {}) {
  return net::wait_readable<net::os_io>(fd, d);
}
inline bool wait_writable(int fd, net::deadline d = {}) {
  return net::wait_writable<net::os_io>(fd, d);
}

// The 1:1 model as one type. Every static member forwards to the namespace function of the same
// name; see those for contracts.
// The blocking primitives (mutex, condition_variable ...) are members inherited from
// sync::primitives: the same types as the namespace names above.
struct model : sync::primitives<sync::std_parker>,
               chan::channels<sync::std_parker>,
               net::sockets<net::os_io> {
  static constexpr const char* name = "os";

  template <class R>
  using join_handle = os::join_handle<R>;
  template <class R>
  using scoped_join_handle = os::scoped_join_handle<R>;
  using id = os::task_id;
  using scope_t = os::scope_t;

  template <class F, class... Args>
  requires(!std::is_same_v<std::remove_cvref_t<F>, spawn_options> && detail::spawnable<F, Args...>)
      [[nodiscard]] static join_handle<spawn_result_t<F, Args...>> spawn(F&& f, Args&&... args) {
    return os::spawn(std::forward<F>(f), std::forward<Args>(args)...);
  }

  template <class F, class... Args>
  requires(detail::spawnable<F, Args...>)
      [[nodiscard]] static join_handle<spawn_result_t<F, Args...>> spawn(
          const spawn_options& options, F&& f, Args&&... args) {
    return os::spawn(options, std::forward<F>(f), std::forward<Args>(args)...);
  }

  template <std::invocable<scope_t&> Fn>
  static std::invoke_result_t<Fn, scope_t&> scope(Fn&& fn) {
    return os::scope(std::forward<Fn>(fn));
  }

  static void yield() noexcept { os::yield(); }

  template <class Rep, class Period>
  static void sleep_for(const std::chrono::duration<Rep, Period>& d) {
    os::sleep_for(d);
  }

  template <class Clock, class Duration>
  static void sleep_until(const std::chrono::time_point<Clock, Duration>& t) {
    os::sleep_until(t);
  }

  static id current_id() noexcept { return os::current_id(); }

  static std::string_view current_name() noexcept { return os::current_name(); }
};

}  // namespace weft::os

static_assert(weft::model<weft::os::model>);
