// weft::runtime — one M:N runtime: N worker threads running fibers.
//
//   weft::runtime rt{{.workers = 4, .name = "server"}};
//   int v = rt.block_on([] { return weft::fiber::spawn([] { return 21; }).join() * 2; });
//
// A default runtime starts on the first weft::fiber::spawn from a plain thread, so fibers work
// from a plain main(). It is destroyed at static destruction (after main returns), with the
// same shutdown as any runtime: stop is requested on every fiber, and fibers still parked after
// the grace period are cancelled (their blocking call throws weft::fiber::cancelled), so none
// is left hanging and no stack leaks.
#pragma once

#include <cstdlib>
#include <memory>
#include <type_traits>
#include <utility>

#include "config.hpp"
#include "runtime_core.hpp"
#include "spawn.hpp"

namespace weft {

class runtime {
 public:
  // Starts the workers. Throws std::invalid_argument naming the field for a bad config
  // (workers == 0, stack_size below weft::ctx::min_stack_size) or a malformed WEFT_WORKERS.
  explicit runtime(runtime_config cfg = runtime_config{});

  // Shuts down (see the class comment) and joins the workers. Precondition: not called from
  // one of this runtime's own fibers (that would wait for itself: std::terminate with a message).
  ~runtime();

  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  // Spawns onto this runtime from anywhere (a plain thread, a fiber of any runtime). Same
  // contract as weft::fiber::spawn.
  template <class F, class... Args>
  requires(!std::is_same_v<std::remove_cvref_t<F>, spawn_options> &&
           fiber::detail::spawnable<F, Args...>)
      [[nodiscard]] fiber::join_handle<fiber::spawn_result_t<F, Args...>> spawn(F&& f,
                                                                                Args&&... args) {
    return fiber::detail::spawn_on(*core_, spawn_options{}, std::forward<F>(f),
                                   std::forward<Args>(args)...);
  }
  template <class F, class... Args>
  requires fiber::detail::spawnable<F, Args...>
  [[nodiscard]] fiber::join_handle<fiber::spawn_result_t<F, Args...>> spawn(
      const spawn_options& opts, F&& f, Args&&... args) {
    return fiber::detail::spawn_on(*core_, opts, std::forward<F>(f), std::forward<Args>(args)...);
  }

  // Runs f as a fiber on this runtime and blocks the calling thread (or parks the calling
  // fiber) until it returns; returns its value or rethrows its exception.
  template <class F>
  fiber::spawn_result_t<F> block_on(F&& f) {
    return spawn(std::forward<F>(f)).join();
  }

  // A snapshot of the per-worker counters. Cheap; safe from any thread.
  runtime_stats stats() const { return core_->stats(); }
  const runtime_config& config() const noexcept { return core_->config(); }
  std::size_t workers() const noexcept { return core_->worker_count(); }

  // The default runtime (started on first use, with runtime_config{}).
  static runtime& default_runtime();

  sched::runtime_core& core() noexcept { return *core_; }

 private:
  std::unique_ptr<sched::runtime_core> core_;
};

// WEFT_WORKERS if set (must be a positive integer, else std::invalid_argument naming it), else
// the hardware's thread count (at least 1). runtime_config's default for `workers`.
std::size_t default_worker_count();

}  // namespace weft
