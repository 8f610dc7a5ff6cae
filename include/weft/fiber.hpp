// <weft/fiber.hpp> — the M:N model: stackful fibers multiplexed over N worker threads by a
// work-stealing scheduler (scheduler/), on Boost.Context switching (fiber/).
//
// Namespace weft::fiber has the same names as weft::os; weft::fiber::model is the tag generic
// code instantiates:
//
//   template <weft::model M> int answer() { return M::spawn([] { return 42; }).join(); }
//   int x = answer<weft::fiber::model>();  // runs on the default runtime
#pragma once

#include <chrono>
#include <cstddef>
#include <string_view>
#include <type_traits>
#include <utility>

#include <weft/channel/channel.hpp>
#include <weft/model.hpp>
#include <weft/net/fiber_io.hpp>
#include <weft/net/sockets.hpp>
#include <weft/scheduler/config.hpp>
#include <weft/scheduler/fiber_parker.hpp>
#include <weft/scheduler/park.hpp>
#include <weft/scheduler/runtime.hpp>
#include <weft/scheduler/scope.hpp>
#include <weft/scheduler/spawn.hpp>
#include <weft/sync/primitives.hpp>

namespace weft::fiber {

// Blocking primitives (sync/; contracts there), hybrid: a fiber parks (its worker runs others), a
// plain thread blocks; fibers and threads may share one primitive.
using mutex = sync::basic_mutex<sched::fiber_parker>;
using shared_mutex = sync::basic_shared_mutex<sched::fiber_parker>;
using condition_variable = sync::basic_condition_variable<sched::fiber_parker>;
template <class T, class Mutex = mutex>
using synchronized = sync::synchronized<T, Mutex>;
template <std::ptrdiff_t Max = sync::semaphore_max>
using counting_semaphore = sync::basic_counting_semaphore<sched::fiber_parker, Max>;
using binary_semaphore = counting_semaphore<1>;
using latch = sync::basic_latch<sched::fiber_parker>;
template <class CompletionFunction = sync::noop_completion>
using barrier = sync::basic_barrier<sched::fiber_parker, CompletionFunction>;
using wait_group = sync::basic_wait_group<sched::fiber_parker>;
using once_flag = sync::basic_once_flag<sched::fiber_parker>;
using event = sync::basic_event<sched::fiber_parker>;
using sync::call_once;

// Channels (channel/; contracts in weft::chan), hybrid: fibers and plain threads may be the two
// ends of one channel.
template <class T>
using sender = chan::basic_sender<T, sched::fiber_parker>;
template <class T>
using receiver = chan::basic_receiver<T, sched::fiber_parker>;
// An unbounded channel. Throws std::bad_alloc.
template <class T>
std::pair<sender<T>, receiver<T>> channel() {
  return chan::make_unbounded<T, sched::fiber_parker>();
}
// A channel buffering at most n values; n == 0 is a rendezvous. Throws std::bad_alloc.
template <class T>
std::pair<sender<T>, receiver<T>> sync_channel(std::size_t n) {
  return chan::make_channel<T, sched::fiber_parker>(n);
}
using chan::select;  // its cases: weft::chan::on_recv, on_send, on_timeout, on_default ...

// Sockets (net/; contracts there), hybrid: a fiber parks on the runtime's epoll poller (its
// worker runs other fibers), a plain thread blocks in poll(2).
using tcp_stream = net::basic_tcp_stream<net::fiber_io>;
using tcp_listener = net::basic_tcp_listener<net::fiber_io>;
using fd_waiter = net::basic_fd_waiter<net::fiber_io>;
inline bool wait_readable(int fd, net::deadline d = {}) {
  return net::wait_readable<net::fiber_io>(fd, d);
}
inline bool wait_writable(int fd, net::deadline d = {}) {
  return net::wait_writable<net::fiber_io>(fd, d);
}

// The M:N model as one type; every static member forwards to weft::fiber's namespace function
// of the same name (see those for contracts).
// The blocking primitives are members inherited from sync::primitives (the namespace names).
struct model : sync::primitives<sched::fiber_parker>,
               chan::channels<sched::fiber_parker>,
               net::sockets<net::fiber_io> {
  static constexpr const char* name = "fiber";

  template <class R>
  using join_handle = fiber::join_handle<R>;
  template <class R>
  using scoped_join_handle = fiber::scoped_join_handle<R>;
  using id = fiber::id;
  using scope_t = fiber::scope_t;

  template <class F, class... Args>
  requires(!std::is_same_v<std::remove_cvref_t<F>, spawn_options> && detail::spawnable<F, Args...>)
      [[nodiscard]] static join_handle<spawn_result_t<F, Args...>> spawn(F&& f, Args&&... args) {
    return fiber::spawn(std::forward<F>(f), std::forward<Args>(args)...);
  }

  template <class F, class... Args>
  requires detail::spawnable<F, Args...>
  [[nodiscard]] static join_handle<spawn_result_t<F, Args...>> spawn(const spawn_options& options,
                                                                     F&& f, Args&&... args) {
    return fiber::spawn(options, std::forward<F>(f), std::forward<Args>(args)...);
  }

  template <class Fn>
  requires std::is_invocable_v<Fn, scope_t&>
  static std::invoke_result_t<Fn, scope_t&> scope(Fn&& fn) {
    return fiber::scope(std::forward<Fn>(fn));
  }

  static void yield() noexcept { fiber::yield(); }

  template <class Rep, class Period>
  static void sleep_for(const std::chrono::duration<Rep, Period>& d) {
    fiber::sleep_for(d);
  }

  template <class Clock, class Duration>
  static void sleep_until(const std::chrono::time_point<Clock, Duration>& t) {
    fiber::sleep_until(t);
  }

  static id current_id() noexcept { return fiber::current_id(); }
  static std::string_view current_name() noexcept { return fiber::current_name(); }
};

}  // namespace weft::fiber

static_assert(weft::model<weft::fiber::model>);
