// weft::os::spawn — start a task on a new OS thread (the 1:1 model's spawn).
#pragma once

#include <memory>
#include <stop_token>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>

#include <weft/model.hpp>
#include <weft/thread/join_handle.hpp>
#include <weft/thread/task_body.hpp>
#include <weft/thread/task_id.hpp>

namespace weft::os {
namespace detail {

struct handle_access {
  template <class R>
  static join_handle<R> make(std::thread thread, std::shared_ptr<task_state<R>> state) noexcept {
    return join_handle<R>(std::move(thread), std::move(state));
  }
};

}  // namespace detail

// The value type join() returns for spawn(f, args...).
template <class F, class... Args>
using spawn_result_t = detail::task_result_t<F, Args...>;

// Starts `f(args...)` on a new OS thread and returns the handle that owns it.
//
// f and args are decay-copied (moved from rvalues) on the calling thread, like std::thread; pass
// std::ref(x) to share x instead. The copies are invoked once, as rvalues, on the new thread. If
// f is invocable as f(std::stop_token, args...), it gets the handle's stop token first (like
// std::jthread): the handle's request_stop() sets it. R = the result of that invocation (void
// allowed; a reference is returned as that reference).
//
// options.name names the task (current_name(), join_handle::name(), diagnostics).
// options.stack_size and options.pinned are ignored: std::thread offers neither.
//
// Never blocks on the task. Throws std::system_error if the OS cannot start a thread, and
// whatever copying f or args throws; nothing is started then. The returned handle must be joined
// or detached before it is destroyed (otherwise: std::terminate, see join_handle).
template <class F, class... Args>
requires(detail::spawnable<F, Args...>)
    [[nodiscard]] join_handle<spawn_result_t<F, Args...>> spawn(const spawn_options& options, F&& f,
                                                                Args&&... args) {
  using R = spawn_result_t<F, Args...>;
  static_assert(detail::returnable_result_v<R>,
                "weft::os::spawn: the task's result type must be move-constructible (join() "
                "returns it by value)");
  auto state = std::make_shared<detail::task_state<R>>(detail::next_task_id(), options.name);
  std::thread thread(
      [state, fn = std::decay_t<F>(std::forward<F>(f)),
       tuple = std::tuple<std::decay_t<Args>...>(std::forward<Args>(args)...)]() mutable {
        detail::run_task(*state, state->value, state->stop.get_token(), std::move(fn),
                         std::move(tuple));
        state->finish();
      });
  return detail::handle_access::make<R>(std::move(thread), std::move(state));
}

// spawn(f, args...) with default options (an unnamed task). Same contract as above.
template <class F, class... Args>
requires(!std::is_same_v<std::remove_cvref_t<F>, spawn_options> && detail::spawnable<F, Args...>)
    [[nodiscard]] join_handle<spawn_result_t<F, Args...>> spawn(F&& f, Args&&... args) {
  return os::spawn(spawn_options{}, std::forward<F>(f), std::forward<Args>(args)...);
}

}  // namespace weft::os
