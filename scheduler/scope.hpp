// weft::fiber::scope — structured spawning for fibers, with the contract of weft::os::scope
// (Rust's std::thread::scope): every fiber spawned in the scope has ended before scope()
// returns, so fibers may borrow the caller's locals; after all have ended, the first (in spawn
// order) exception that no scoped handle took is rethrown; if fn itself throws, stop is
// requested, all fibers are still waited for, and fn's exception wins.
#pragma once

#include <atomic>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <stop_token>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "spawn.hpp"

namespace weft::fiber {

namespace detail {
// One scoped fiber: the task (the scope holds the join_handle's reference) and whether a
// scoped_join_handle took its outcome.
struct scoped_record {
  sched::task* task = nullptr;
  std::atomic<bool> taken{false};
};
struct scope_access;
}  // namespace detail

// A handle to one scoped fiber: join() early for its value, or leave it to the scope.
template <class R>
class scoped_join_handle {
 public:
  // Waits for the fiber and returns its value or rethrows its exception (which the scope then
  // does not rethrow again). Throws std::logic_error if already joined. Precondition: the scope
  // has not ended.
  R join() {
    if (rec_->taken.exchange(true, std::memory_order_acq_rel))  // acq_rel: one taker only
      throw std::logic_error("weft::fiber::scoped_join_handle::join: already joined");
    detail::wait_for(rec_->task);
    auto* t = static_cast<sched::task_result<R>*>(rec_->task);
    if (std::exception_ptr e = std::exchange(t->error, nullptr)) std::rethrow_exception(e);
    if constexpr (!std::is_void_v<R>) return std::move(*t->value);
  }
  [[nodiscard]] fiber::id id() const noexcept { return fiber::id(rec_->task->id()); }

 private:
  friend class scope_t;
  explicit scoped_join_handle(detail::scoped_record* r) : rec_(r) {}
  detail::scoped_record* rec_;
};

class scope_t {
 public:
  scope_t(const scope_t&) = delete;
  scope_t& operator=(const scope_t&) = delete;

  // Spawns f(args...) (or f(stop_token, args...), receiving the scope's token) as a fiber of
  // this scope, on the current fiber's runtime (or the default one). Thread-safe. Same throws
  // as fiber::spawn.
  template <class F, class... Args>
  requires detail::spawnable<F, Args...> scoped_join_handle<spawn_result_t<F, Args...>> spawn(
      const spawn_options& opts, F&& f, Args&&... args) {
    auto rec = std::make_unique<detail::scoped_record>();
    // The body takes no arguments (so spawn_on does not offer it a token of its own): it
    // hands the scope's token to f if f wants one.
    auto body = [token = stop_.get_token(), fn = std::decay_t<F>(std::forward<F>(f)),
                 call_args = std::tuple<std::decay_t<Args>...>(
                     std::forward<Args>(args)...)]() mutable -> spawn_result_t<F, Args...> {
      return std::apply(
          [&](auto&... a) -> spawn_result_t<F, Args...> {
            if constexpr (std::is_invocable_v<std::decay_t<F>&, std::stop_token,
                                              std::decay_t<Args>&&...>)
              return std::invoke(fn, token, std::move(a)...);
            else
              return std::invoke(fn, std::move(a)...);
          },
          call_args);
    };
    auto h = detail::spawn_on(detail::spawn_target(), opts, std::move(body));
    rec->task = h.release_for_scope();
    std::lock_guard lk(mu_);
    records_.push_back(std::move(rec));
    return scoped_join_handle<spawn_result_t<F, Args...>>(records_.back().get());
  }

  template <class F, class... Args>
  requires(!std::is_same_v<std::remove_cvref_t<F>, spawn_options> && detail::spawnable<F, Args...>)
      scoped_join_handle<spawn_result_t<F, Args...>> spawn(F&& f, Args&&... args) {
    return spawn(spawn_options{}, std::forward<F>(f), std::forward<Args>(args)...);
  }

  bool request_stop() noexcept { return stop_.request_stop(); }
  [[nodiscard]] std::stop_token get_stop_token() const noexcept { return stop_.get_token(); }

 private:
  friend struct detail::scope_access;
  scope_t() = default;
  ~scope_t() = default;

  // Waits for every scoped fiber, including those spawned meanwhile by scoped fibers; then
  // returns the first untaken exception (spawn order) and releases the tasks.
  std::exception_ptr join_all() noexcept {
    for (std::size_t i = 0;; ++i) {
      sched::task* t;
      {
        std::lock_guard lk(mu_);
        if (i == records_.size()) break;
        t = records_[i]->task;
      }
      detail::wait_for(t);
    }
    std::exception_ptr first;
    for (auto& r : records_) {
      // acquire: pairs with scoped_join_handle::join's exchange of `taken`.
      if (!r->taken.load(std::memory_order_acquire) && r->task->error && !first)
        first = std::exchange(r->task->error, nullptr);
      r->task->error = nullptr;  // taken or reported here: not "unjoined"
      sched::release_task(r->task);
    }
    records_.clear();  // a second join_all (the rethrow path) finds nothing
    return first;
  }

  std::mutex mu_;  // guards records_ (spawns may come from several fibers)
  std::vector<std::unique_ptr<detail::scoped_record>> records_;
  std::stop_source stop_;
};

namespace detail {
struct scope_access {
  template <class Fn>
  static std::invoke_result_t<Fn, scope_t&> run(Fn&& fn) {
    scope_t s;
    using R = std::invoke_result_t<Fn, scope_t&>;
    try {
      if constexpr (std::is_void_v<R>) {
        std::invoke(std::forward<Fn>(fn), s);
        if (auto e = s.join_all()) std::rethrow_exception(e);
      } else {
        R r = std::invoke(std::forward<Fn>(fn), s);
        if (auto e = s.join_all()) std::rethrow_exception(e);
        return r;
      }
    } catch (...) {
      // Either fn threw (stop the scope, wait for all, fn's exception wins), or join_all's
      // rethrow above (records_ already released: join_all on an emptied scope is a no-op).
      s.request_stop();
      (void)s.join_all();
      throw;
    }
  }
};
}  // namespace detail

// Runs fn(scope) and waits for every fiber it spawned in the scope; returns fn's value.
// From a fiber this parks the fiber; from a plain thread it blocks the thread.
template <class Fn>
requires std::is_invocable_v<Fn, scope_t&> std::invoke_result_t<Fn, scope_t&> scope(Fn&& fn) {
  return detail::scope_access::run(std::forward<Fn>(fn));
}

}  // namespace weft::fiber
