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
  worker* pop_idle_locked() noexcept;

  runtime_config cfg_;
  std::vector<std::unique_ptr<worker>> workers_;
  task_list global_;
  std::unique_ptr<registry_shard[]> shards_;  // one per worker, plus one for outside threads

  std::atomic<std::uint64_t> external_spawns_{0};
  std::atomic<std::uint32_t> round_robin_{0};
  friend class worker;
};

}  // namespace weft::sched
