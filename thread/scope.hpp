// weft::os::scope — structured spawning (Rust's std::thread::scope).
//
//   std::array<int, 8> slots{};
//   weft::os::scope([&](weft::os::scope_t& s) {
//     for (int i = 0; i < 8; ++i) s.spawn([&slots, i] { slots[i] = i * i; });
//   });  // every task has ended here, so borrowing `slots` by reference was safe
#pragma once

#include <concepts>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <weft/model.hpp>
#include <weft/thread/scoped_join_handle.hpp>
#include <weft/thread/task_body.hpp>
#include <weft/thread/task_id.hpp>

namespace weft::os {

namespace detail {
struct scope_access;
}  // namespace detail

// The spawning side of one scope() call. Only scope() creates one; fn receives it by reference.
// Not copyable or movable: tasks may hold a reference to it and spawn onto it.
class scope_t {
 public:
  scope_t(const scope_t&) = delete;
  scope_t& operator=(const scope_t&) = delete;

  // Starts f(args...) on a new OS thread that belongs to this scope; same argument rules as
  // os::spawn (decay-copied; a leading std::stop_token parameter receives the scope's token).
  // The task may borrow anything that outlives the scope() call: scope() joins it before
  // returning. Thread-safe: fn and the scope's own tasks may spawn concurrently.
  // Precondition: called before scope() returned, from fn, from a task of this scope, or from a
  // thread those join before finishing. Never blocks on the task. Throws std::system_error if
  // the OS cannot start a thread, or what copying f/args throws; nothing is started then.
  // options.stack_size and options.pinned are ignored (std::thread offers neither).
  template <class F, class... Args>
  requires(detail::spawnable<F, Args...>)
      scoped_join_handle<detail::task_result_t<F, Args...>> spawn(const spawn_options& options,
                                                                  F&& f, Args&&... args) {
    using R = detail::task_result_t<F, Args...>;
    static_assert(detail::returnable_result_v<R>,
                  "weft::os::scope_t::spawn: the task's result type must be move-constructible "
                  "(join() returns it by value)");
    auto task = std::make_shared<detail::scoped_task<R>>(detail::next_task_id(), options.name);
    // Register first, start second, with the record's join_mutex held across both: the scope's
    // list never misses a running thread (no std::terminate on a failed push_back), and a
    // concurrent join_thread() waits until `thread` is assigned.
    std::unique_lock record_lock(task->join_mutex);
    {
      std::lock_guard lock(mutex_);
      tasks_.push_back(task);
    }
    try {
      // The raw pointer is safe: tasks_ owns the record until the thread has been joined.
      task->thread = std::thread(
          [t = task.get(), token = stop_.get_token(), fn = std::decay_t<F>(std::forward<F>(f)),
           tuple = std::tuple<std::decay_t<Args>...>(std::forward<Args>(args)...)]() mutable {
            detail::run_task(*t, t->value, std::move(token), std::move(fn), std::move(tuple));
          });
    } catch (...) {
      // Nothing to join; the record stays listed but carries no error.
      task->joined = true;
      throw;
    }
    return scoped_join_handle<R>(std::move(task));
  }

  // spawn(f, args...) with default options (an unnamed task). Same contract as above.
  template <class F, class... Args>
  requires(!std::is_same_v<std::remove_cvref_t<F>, spawn_options> && detail::spawnable<F, Args...>)
      scoped_join_handle<detail::task_result_t<F, Args...>> spawn(F&& f, Args&&... args) {
    return spawn(spawn_options{}, std::forward<F>(f), std::forward<Args>(args)...);
  }

  // Sets the scope's stop token, which every task taking a std::stop_token receives. Cooperative.
  // scope() also calls it when fn throws. Returns true if this call made the request.
  // Thread-safe, never blocks, never throws.
  bool request_stop() noexcept { return stop_.request_stop(); }

  // The token handed to the scope's tasks. Never throws.
  [[nodiscard]] std::stop_token get_stop_token() const noexcept { return stop_.get_token(); }

 private:
  friend struct detail::scope_access;

  scope_t() = default;
  ~scope_t() = default;  // scope_access::run joined every task before this runs

  // Joins every task, including tasks spawned while this runs. Terminates only if the loop is
  // correct and std::thread::join fails, which it cannot for a joinable non-self thread.
  // Why the loop ends: after fn returned, only running scoped tasks can add records, and each
  // adds them before it ends, i.e. before its join returns; so once every listed record has been
  // joined, no spawner is left.
  void join_all() noexcept {
    for (std::size_t i = 0;; ++i) {
      std::shared_ptr<detail::scoped_task_core> task;
      {
        std::lock_guard lock(mutex_);
        if (i == tasks_.size()) return;
        task = tasks_[i];
      }
      task->join_thread();
    }
  }

  // After join_all(): rethrows the exception of the earliest-spawned task whose outcome was not
  // taken through its handle. Spawn order (the order of registration in tasks_) rather than
  // completion order makes the reported failure the same from run to run when several fail.
  void rethrow_first_error() const {
    for (const auto& task : tasks_) {
      if (task->error && !task->observed) std::rethrow_exception(task->error);
    }
  }

  std::mutex mutex_;                                              // guards tasks_
  std::vector<std::shared_ptr<detail::scoped_task_core>> tasks_;  // in spawn order
  std::stop_source stop_;
};

namespace detail {

struct scope_access {
  // The body of scope(); see there. A friend of scope_t, so s can live on this stack frame.
  template <class Fn, class R = std::invoke_result_t<Fn, scope_t&>>
  static R run(Fn&& fn) {
    scope_t s;
    value_slot<R> result;
    try {
      if constexpr (std::is_void_v<R>) {
        std::invoke(std::forward<Fn>(fn), s);
      } else {
        result.set(std::invoke(std::forward<Fn>(fn), s));
      }
    } catch (...) {
      // fn's exception wins; stop the tasks that watch the token so the join below is short.
      s.request_stop();
      s.join_all();
      throw;
    }
    s.join_all();
    s.rethrow_first_error();
    return result.take();
  }
};

}  // namespace detail

// Runs fn(s) with a fresh scope_t s, then joins every task spawned on s (also those spawned by
// those tasks, and those spawned while joining) before returning. So tasks may borrow fn's
// captures and the caller's locals by reference.
//
// Returns fn's return value (void allowed). Exceptions, after all tasks have been joined:
//   - if fn threw, the scope first requests stop (s.request_stop()), joins everything, and
//     rethrows fn's exception; exceptions of tasks are then discarded;
//   - otherwise, if a task threw and its outcome was not taken through scoped_join_handle::join,
//     the exception of the earliest-spawned such task is rethrown (the others are discarded);
//     fn's return value is discarded then.
// Blocks until every task of the scope has ended. Throws nothing of its own.
template <std::invocable<scope_t&> Fn>
std::invoke_result_t<Fn, scope_t&> scope(Fn&& fn) {
  static_assert(detail::returnable_result_v<std::invoke_result_t<Fn, scope_t&>>,
                "weft::os::scope: fn's result type must be move-constructible");
  return detail::scope_access::run(std::forward<Fn>(fn));
}

}  // namespace weft::os
