// weft::fiber — spawn, join_handle and the current fiber's operations, with the same names and
// contracts as weft::os (thread/), so generic code runs on either model.
#pragma once

#include <weft/model.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <iosfwd>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "cancelled.hpp"
#include "runtime_core.hpp"
#include "task.hpp"
#include "task_memory.hpp"

namespace weft::fiber {

// The identity of a fiber — or of a plain thread, which gets an id of its own on its first
// current_id() call (the high bit distinguishes the two spaces). 0 is "no fiber".
struct id_tag {};
using id = weft::basic_id<id_tag>;

namespace detail {

template <class F, class... Args>
using result_t = std::conditional_t<
    std::is_invocable_v<std::decay_t<F>&, std::stop_token, std::decay_t<Args>&&...>,
    std::invoke_result<std::decay_t<F>&, std::stop_token, std::decay_t<Args>&&...>,
    std::invoke_result<std::decay_t<F>&, std::decay_t<Args>&&...>>::type;

template <class F, class... Args>
concept spawnable = std::is_invocable_v < std::decay_t<F>
&, std::stop_token,
    std::decay_t<Args>&&... > || std::is_invocable_v<std::decay_t<F>&, std::decay_t<Args>&&...>;

// Blocks the calling fiber (or thread) until t has finished. Throws std::logic_error if t is
// the calling fiber.
void wait_for(sched::task* t);

[[noreturn]] void terminate_joinable(const sched::task* t) noexcept;
std::string label(std::string_view name, std::uint64_t id);

// The runtime a spawn from here goes to: the calling fiber's, else the default runtime.
sched::runtime_core& spawn_target();

}  // namespace detail

// Owns one spawned fiber and its outcome. Same contract as weft::os::join_handle: move-only;
// join() returns the value or rethrows; detach(); destroying a joinable handle terminates with
// a message naming the fiber.
template <class R>
class join_handle {
 public:
  join_handle() noexcept = default;
  join_handle(join_handle&& o) noexcept
      : t_(std::exchange(o.t_, nullptr)),
        id_(o.id_),
        name_(std::move(o.name_)),
        stop_(std::move(o.stop_)) {}
  join_handle& operator=(join_handle&& o) noexcept {
    if (this != &o) {
      if (t_ != nullptr) detail::terminate_joinable(t_);
      t_ = std::exchange(o.t_, nullptr);
      id_ = o.id_;
      name_ = std::move(o.name_);
      stop_ = std::move(o.stop_);
    }
    return *this;
  }
  join_handle(const join_handle&) = delete;
  join_handle& operator=(const join_handle&) = delete;

  // Prints "weft: join_handle of fiber '<name or #id>' destroyed while joinable (join() or
  // detach() it)" and calls std::terminate if still joinable.
  ~join_handle() {
    if (t_ != nullptr) detail::terminate_joinable(t_);
  }

  [[nodiscard]] bool joinable() const noexcept { return t_ != nullptr; }

  // Waits for the fiber to end and returns its value, or rethrows its exception. From a fiber
  // this parks the fiber (its worker runs others); from a plain thread it blocks the thread.
  // Throws std::logic_error (naming the fiber) if not joinable or if a fiber joins itself.
  R join() {
    if (t_ == nullptr) throw std::logic_error(not_joinable("join"));
    detail::wait_for(t_);
    auto* t = std::exchange(t_, nullptr);
    std::exception_ptr error = std::exchange(t->error, nullptr);
    if constexpr (std::is_void_v<R>) {
      sched::release_task(t);
      if (error) std::rethrow_exception(error);
    } else {
      if (error) {
        sched::release_task(t);
        std::rethrow_exception(error);
      }
      R value = std::move(*t->value);
      sched::release_task(t);
      return value;
    }
  }

  // Lets the fiber run on unowned; an exception it ends with is reported on stderr with its
  // name. Throws std::logic_error if not joinable. Never blocks.
  void detach() {
    if (t_ == nullptr) throw std::logic_error(not_joinable("detach"));
    sched::release_task(std::exchange(t_, nullptr));
  }

  // Requests stop on the fiber's std::stop_token (if its callable takes one). Cooperative.
  bool request_stop() noexcept { return stop_.request_stop(); }
  [[nodiscard]] std::stop_token get_stop_token() const noexcept { return stop_.get_token(); }
  [[nodiscard]] fiber::id id() const noexcept { return fiber::id(id_); }
  [[nodiscard]] std::string_view name() const noexcept { return name_; }

  // For fiber::scope: hands the handle's reference to the scope, leaving this handle empty.
  sched::task* release_for_scope() noexcept { return std::exchange(t_, nullptr); }

  // For the runtime: adopts a freshly spawned task.
  explicit join_handle(sched::task_result<R>* t)
      : t_(t), id_(t->id()), name_(t->name()), stop_(t->stop) {}

 private:
  std::string not_joinable(const char* op) const {
    return std::string("weft::fiber::join_handle::") + op + ": fiber '" +
           detail::label(name_, id_) + "' is not joinable (already joined or detached, or empty)";
  }

  sched::task_result<R>* t_ = nullptr;
  std::uint64_t id_ = 0;
  std::string name_;
  std::stop_source stop_{std::nostopstate};
};

template <class F, class... Args>
using spawn_result_t = detail::result_t<F, Args...>;

namespace detail {

// Constructs the task in a pooled block, to run on a pooled stack, and hands it to the
// scheduler.
template <class F, class... Args>
join_handle<result_t<F, Args...>> spawn_on(sched::runtime_core& rt, const spawn_options& opts,
                                           F&& f, Args&&... args) {
  using R = result_t<F, Args...>;
  using T = sched::task_of<R, std::decay_t<F>, std::decay_t<Args>...>;
  static_assert(alignof(T) <= sched::task_memory::block_alignment);
  ctx::stack s = rt.allocate_stack(opts.stack_size);
  const bool pinned = opts.pinned || rt.policy() == scheduling_policy::pinned;
  T* t;
  void* block = nullptr;
  try {
    block = sched::task_memory::allocate(sizeof(T));
    t = ctx::fiber::emplace_apart<T>(block, s, opts.name, &rt, pinned, std::forward<F>(f),
                                     std::forward<Args>(args)...);
  } catch (...) {
    if (block != nullptr) sched::task_memory::release(block, sizeof(T));
    ctx::stack_pool::global().release(s);
    throw;
  }
  t->block_bytes = static_cast<std::uint32_t>(sizeof(T));
  join_handle<R> h(t);  // before submit: the task may run and finish at once
  rt.submit_spawned(t, opts);
  return h;
}

}  // namespace detail

// Starts f(args...) (or f(stop_token, args...)) as a fiber: on the calling fiber's runtime, or
// from a plain thread on the default runtime (started on first use). Arguments are decay-copied
// into the fiber. Never blocks. From an unpinned fiber under work_stealing the child runs first
// (child-first): the caller resumes when the child blocks or ends, possibly on another worker.
// Throws std::invalid_argument for a stack_size below the minimum,
// std::bad_alloc if no stack can be mapped, or what copying f/args throws.
template <class F, class... Args>
requires(!std::is_same_v<std::remove_cvref_t<F>, spawn_options> && detail::spawnable<F, Args...>)
    [[nodiscard]] join_handle<spawn_result_t<F, Args...>> spawn(F&& f, Args&&... args) {
  return detail::spawn_on(detail::spawn_target(), spawn_options{}, std::forward<F>(f),
                          std::forward<Args>(args)...);
}

// As above with options: name (diagnostics), stack_size (0: the runtime's), pinned (the fiber
// never migrates: it runs on the worker that spawned it, or a round-robin one from outside).
template <class F, class... Args>
requires detail::spawnable<F, Args...>
[[nodiscard]] join_handle<spawn_result_t<F, Args...>> spawn(const spawn_options& opts, F&& f,
                                                            Args&&... args) {
  return detail::spawn_on(detail::spawn_target(), opts, std::forward<F>(f),
                          std::forward<Args>(args)...);
}

// Lets other runnable fibers of this worker run first; returns at once if there are none. On a
// plain thread: std::this_thread::yield(). Never throws.
void yield() noexcept;

// Parks the calling fiber until `deadline` (a plain thread sleeps). Throws fiber::cancelled if
// the runtime shuts down meanwhile.
void sleep_until(std::chrono::steady_clock::time_point deadline);

template <class Clock, class Duration>
void sleep_until(const std::chrono::time_point<Clock, Duration>& t) {
  if constexpr (std::is_same_v<Clock, std::chrono::steady_clock>) {
    sleep_until(std::chrono::time_point_cast<std::chrono::steady_clock::duration>(t));
  } else {
    sleep_until(std::chrono::steady_clock::now() +
                std::chrono::duration_cast<std::chrono::steady_clock::duration>(t - Clock::now()));
  }
}

template <class Rep, class Period>
void sleep_for(const std::chrono::duration<Rep, Period>& d) {
  if (d <= d.zero()) return;
  sleep_until(std::chrono::steady_clock::now() +
              std::chrono::ceil<std::chrono::steady_clock::duration>(d));
}

// The calling fiber's id; on a plain thread, that thread's own id. Never throws.
id current_id() noexcept;

// The calling fiber's name ("" if unnamed, or on a plain thread). Valid until the fiber ends.
std::string_view current_name() noexcept;

}  // namespace weft::fiber
