// The shared state of one runtime: its workers, the global injection queue, the idle-worker
// bookkeeping and the registry of live fibers. weft::runtime (runtime.hpp) is the public face.
#pragma once

#include <weft/fiber/stack.hpp>
#include <weft/model.hpp>
#include <weft/sync/spin_lock.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "config.hpp"
#include "io_driver.hpp"
#include "task_list.hpp"
#include "worker.hpp"

namespace weft::sched {

class runtime_core {
 public:
  explicit runtime_core(runtime_config cfg);
  ~runtime_core();
  runtime_core(const runtime_core&) = delete;
  runtime_core& operator=(const runtime_core&) = delete;

  const runtime_config& config() const noexcept { return cfg_; }
  std::size_t worker_count() const noexcept { return workers_.size(); }
  worker& worker_at(std::size_t i) noexcept { return *workers_[i]; }
  scheduling_policy policy() const noexcept { return cfg_.policy; }
  task_list& global() noexcept { return global_; }

  // A stack for a new fiber: `size` bytes, or the runtime's default if 0.
  ctx::stack allocate_stack(std::size_t size);

  // Places a freshly constructed task (the spawn path). Never blocks.
  void submit_spawned(task* t, const spawn_options& opts);

  // Makes a woken or yielding task runnable. as_next: prefer the next slot of the current
  // worker (message-passing latency); otherwise the tail of its queue. Any thread may call it.
  void make_runnable(task* t, bool as_next) noexcept;
  // As make_runnable, for a caller that already knows its worker: `cur` is the calling thread's
  // worker if it belongs to this runtime, else nullptr.
  void make_runnable_from(worker* cur, task* t, bool as_next) noexcept;

  // Go's wakep(): if nobody is searching for work and a worker sleeps, wake one to search.
  void wake_idle_worker_if_needed() noexcept;
  // Wakes `w` if it sleeps (its inbox got a pinned fiber).
  void wake_worker(worker& w) noexcept;

  // The I/O driver (io_driver.hpp), or nullptr until one is installed. Lock-free.
  io_driver* io() const noexcept {
    return io_.load(std::memory_order_acquire);  // acquire: pairs with io_or_install's release
  }
  // The installed I/O driver, first installing make(*this) if there is none (only the first of
  // concurrent callers creates one). Any thread; throws what `make` throws (then nothing is
  // installed). The runtime keeps the driver until it is destroyed; callers that may outlive
  // the runtime keep the returned pointer.
  using io_factory = std::shared_ptr<io_driver> (*)(runtime_core&);
  std::shared_ptr<io_driver> io_or_install(io_factory make);

  // Called by a finished fiber (on its own stack, on worker w) before its final switch.
  void task_finished(task* t, worker& w) noexcept;

  // The stop/cancel/termination sequence run by ~runtime. See runtime.cpp.
  void shutdown();

  runtime_stats stats() const;

  // --- idle protocol (worker.cpp) ---
  std::mutex idle_mu;
  std::vector<worker*> idle_workers;                    // guarded by idle_mu
  alignas(64) std::atomic<std::uint32_t> npidle{0};     // sleeping workers
  alignas(64) std::atomic<std::uint32_t> nspinning{0};  // workers searching for work
  std::atomic<bool> terminating{false};                 // workers exit their loops
  // A worker waits in io()->poll() instead of its futex (worker::in_poller). Written under
  // idle_mu; read without it as a hint by workers deciding whether to poll themselves.
  std::atomic<bool> poller_blocked{false};
  // Steady ns of the latest poll by any worker (a hint for the busy workers' starvation check).
  std::atomic<std::int64_t> last_io_poll_ns{0};

 private:
  struct registry_shard {
    sync::spin_lock mu;
    task* head = nullptr;
  };
  void register_task(task* t, worker* cur) noexcept;  // cur: as in make_runnable_from
  void unregister_task(task* t) noexcept;
  template <class F>
  void for_each_live(F&& f);
  bool registry_empty();
  // Takes a sleeper out of idle_workers: a futex sleeper if there is one, the worker waiting in
  // the I/O driver only if it is the last. Precondition: idle_mu held.
  worker* pop_idle_locked() noexcept;
  // Wakes a worker just taken out of idle_workers; `in_poller` as read under idle_mu.
  void wake_popped(worker& w, bool in_poller) noexcept;

  runtime_config cfg_;
  std::vector<std::unique_ptr<worker>> workers_;
  task_list global_;
  std::unique_ptr<registry_shard[]> shards_;  // one per worker, plus one for outside threads

  std::atomic<std::uint64_t> external_spawns_{0};
  std::atomic<std::uint32_t> round_robin_{0};
  std::mutex io_mu_;                      // serialises io_or_install
  std::shared_ptr<io_driver> io_holder_;  // guarded by io_mu_; released with the runtime
  std::atomic<io_driver*> io_{nullptr};
  friend class worker;
};

}  // namespace weft::sched
