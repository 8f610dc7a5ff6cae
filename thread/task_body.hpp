// Internal: how a 1:1 task runs and where its outcome goes. Shared by spawn() (join_handle) and
// scope() (scoped_join_handle); nothing here is public API.
//
// A task is a decay-copied callable plus decay-copied arguments (std::thread's rules). It is
// invoked once, as an rvalue, with the arguments as rvalues; a callable that accepts a
// std::stop_token in front of the arguments gets one (std::jthread's rule). Its result or the
// exception it threw is stored in the task's shared state and handed over by join().
#pragma once

#include <concepts>
#include <cstddef>
#include <exception>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include <weft/thread/task_id.hpp>
#include <weft/thread/this_task.hpp>

namespace weft::os::detail {

// True when the decayed callable wants the stop token as its first argument.
template <class F, class... Args>
inline constexpr bool takes_stop_token_v =
    std::is_invocable_v<std::decay_t<F>, std::stop_token, std::decay_t<Args>...>;

// What spawn(f, args...) accepts: decay-copies of f and args can be made, and the copy of f is
// invocable with the copies of args as rvalues, with or without a leading std::stop_token.
template <class F, class... Args>
concept spawnable = std::constructible_from<std::decay_t<F>, F> &&
    std::conjunction_v<std::is_constructible<std::decay_t<Args>, Args>...> &&
    (std::is_invocable_v<std::decay_t<F>, std::decay_t<Args>...> || takes_stop_token_v<F, Args...>);

// std::invoke_result (not _t) is complete even when the call is ill-formed, so conditional_t
// may name both branches; only the chosen one's ::type is formed.
template <class F, class... Args>
struct task_result {
  using type = typename std::conditional_t<
      takes_stop_token_v<F, Args...>,
      std::invoke_result<std::decay_t<F>, std::stop_token, std::decay_t<Args>...>,
      std::invoke_result<std::decay_t<F>, std::decay_t<Args>...>>::type;
};

// R in join_handle<R>: what invoking the task returns.
template <class F, class... Args>
using task_result_t = typename task_result<F, Args...>::type;

// join() hands the result over by value (or as the reference the task returned).
template <class R>
inline constexpr bool returnable_result_v =
    std::is_void_v<R> || std::is_reference_v<R> || std::is_move_constructible_v<R>;

// Holds a task's value until join() takes it. Written once by the task thread, read once by the
// joiner after the thread was joined (std::thread::join is the synchronisation).
template <class R>
class value_slot {
 public:
  template <class V>
  void set(V&& v) {
    value_.emplace(std::forward<V>(v));
  }
  R take() { return std::move(*value_); }

 private:
  std::optional<R> value_;
};

// A task that returns a reference hands back that reference (R is T& or T&&).
template <class R>
class reference_slot {
 public:
  void set(R r) noexcept { ptr_ = std::addressof(r); }
  R take() noexcept { return static_cast<R>(*ptr_); }

 private:
  std::remove_reference_t<R>* ptr_ = nullptr;
};

template <class T>
class value_slot<T&> : public reference_slot<T&> {};
template <class T>
class value_slot<T&&> : public reference_slot<T&&> {};

template <>
class value_slot<void> {
 public:
  void take() noexcept {}
};

// The part of a task's state that does not depend on its result type.
struct task_core {
  task_core(std::uint64_t task_id_value, std::string task_name)
      : id(task_id_value), name(std::move(task_name)) {}

  const std::uint64_t id;    // immutable: read by any thread without synchronisation
  const std::string name;    // immutable; current_name() points at it while the task runs
  std::exception_ptr error;  // set by the task thread if it threw; read only after joining it
};

// Concatenates parts into one string (one allocation). Used for every diagnostic instead of
// `"literal" + std::string`, which trips GCC 12's -Wrestrict false positive at -O3 (GCC PR105329).
inline std::string str_cat(std::initializer_list<std::string_view> parts) {
  std::size_t size = 0;
  for (std::string_view part : parts) size += part.size();
  std::string out;
  out.reserve(size);
  for (std::string_view part : parts) out.append(part);
  return out;
}

// "name" if the task has one, else "#id": how diagnostics refer to a task.
inline std::string task_label(std::string_view name, std::uint64_t id) {
  if (!name.empty()) return std::string(name);
  return str_cat({"#", std::to_string(id)});
}

// Runs one task on the calling (new) thread: installs its identity, invokes it, stores the value
// in `slot` or the exception in core.error. Never throws; fn and args are destroyed here, on the
// task's thread, before the thread ends (so join() also waits for their destructors).
template <class R, class Fn, class... Args>
void run_task(task_core& core, value_slot<R>& slot, std::stop_token token, Fn fn,
              std::tuple<Args...> args) noexcept {
  current_task_guard guard(core.id, &core.name);
  try {
    auto call = [&](Args&... a) -> R {
      if constexpr (takes_stop_token_v<Fn, Args...>) {
        return std::invoke(std::move(fn), std::move(token), std::move(a)...);
      } else {
        return std::invoke(std::move(fn), std::move(a)...);
      }
    };
    if constexpr (std::is_void_v<R>) {
      std::apply(call, args);
    } else {
      slot.set(std::apply(call, args));
    }
  } catch (...) {
    core.error = std::current_exception();
  }
}

// The message of an exception_ptr's exception, for diagnostics.
inline std::string describe_exception(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "an exception not derived from std::exception";
  }
}

}  // namespace weft::os::detail
