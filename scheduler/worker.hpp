// One worker: an OS thread that runs fibers, with its run queue, next slot, inbox of pinned
// fibers, timer heap and statistics; an idle worker also polls the runtime's I/O driver. The
// scheduling loop and the idle protocol are in worker.cpp (design essay there).
#pragma once

#include <weft/fiber/context.hpp>

#include <atomic>
#include <cstdint>
#include <thread>

#include "config.hpp"
#include "io_driver.hpp"
#include "run_queue.hpp"
#include "task_list.hpp"
#include "timer_heap.hpp"

namespace weft::sched {

class runtime_core;

// A counter written by one thread and read by any: a relaxed load+store, no locked instruction.
class owned_counter {
 public:
  void add(std::uint64_t n = 1) noexcept {
    // relaxed: statistics; only the owning worker writes, readers want a recent value.
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::uint64_t get() const noexcept {
    return v_.load(std::memory_order_relaxed);  // relaxed: a statistic, read by anyone
  }

 private:
  std::atomic<std::uint64_t> v_{0};
};

class worker {
 public:
  worker(runtime_core& rt, std::uint32_t index);
  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;

  void start();
  void join_thread();

  // --- called on this worker's thread only ---

  // Which end of the local deque a switch prefers: newest for a fiber that parks to join (fork-
  // join runs depth-first), oldest otherwise (first come, first served).
  enum class pick : std::uint8_t { oldest, newest };

  // The next task to run without blocking or stealing: inbox, next slot, local deque, global
  // queue, then the yield queue; every 61st tick due timers and the global queue come first and
  // the yield queue is published to the deque (fairness), and I/O events may be collected for
  // the caller to dispatch (io_pending_; worker.cpp, "The poller"). nullptr if none.
  task* find_local(pick order = pick::oldest) noexcept;

  // Owner: queue t here; as_next puts it in the next slot (newest first) and moves the slot's
  // previous occupant to the queue's tail.
  void push_local(task* t, bool as_next) noexcept;

  // Switches from the running fiber `self` to the next runnable task on this worker, or to the
  // scheduler loop if there is none. `after(arg)` runs once `self` is saved (see ctx::transfer).
  // Returns when `self` is resumed — possibly on another worker: re-read current_worker().
  void switch_away(task* self, void (*after)(ctx::transfer&), void* arg,
                   pick order = pick::oldest) noexcept;

  // Yield: switches to the next local task, re-queueing `self` at the tail of the yield queue;
  // returns at once if nothing else is runnable here.
  void yield_fiber(task* self) noexcept;

  // Spawn, child-first: switches from the running fiber `self` straight to the new fiber
  // `child`; `self` waits in the next slot (stealable, and the newest local task, so the child's
  // exit resumes it). Returns when `self` is resumed — possibly on another worker.
  void run_child_first(task* self, task* child) noexcept;

  // As switch_away, for a finished fiber: never returns; `self` is released by the hook.
  [[noreturn]] void exit_fiber(task* self, pick order) noexcept;

  task* current() const noexcept { return current_; }
  runtime_core& runtime() const noexcept { return rt_; }
  std::uint32_t index() const noexcept { return index_; }
  timer_heap& timers() noexcept { return timers_; }
  task_list& inbox() noexcept { return inbox_; }
  worker_stats stats() const noexcept;

  // Statistics, written by this worker only.
  struct counters {
    owned_counter spawns, switches, steals, steal_attempts, parks, unparks, timers_fired,
        idle_parks, finished;
  } count;

  // --- idle protocol; guarded by runtime_core::idle_mu_ unless atomic ---
  static constexpr std::uint32_t asleep = 0, woken_to_spin = 1, woken_for_inbox = 2;
  std::atomic<std::uint32_t> sleep_word{asleep};  // futex word
  bool in_idle_list = false;
  // Sleeping in the I/O driver (io_driver.hpp) rather than on sleep_word: waking it is the
  // driver's interrupt(). At most one worker at a time (runtime_core::poller_blocked).
  bool in_poller = false;

  bool has_visible_work() const noexcept;  // any queue of this worker non-empty (a hint)
  task* steal_next_slot() noexcept;        // a thief's last resort

 private:
  void run_thread();
  task* find_runnable();  // blocking; nullptr when the runtime terminates
  task* steal_from_others(bool take_next_slots) noexcept;
  // A spinner's search (bounded by spin_period_ns); nullptr if it should look locally or sleep.
  task* spin_for_work() noexcept;
  task* take_global_batch() noexcept;
  task* take_next_slot() noexcept;  // owner
  task* pop_local(pick order) noexcept;
  // The next local task (it becomes current), or the scheduler context if there is none.
  ctx::context* successor(pick order) noexcept;
  bool fire_timers() noexcept;
  // A poll of the I/O driver that does not block, unless a worker waits in it already (that one
  // collects every event); wakes the fibers it finds ready. Returns true if it woke any.
  bool poll_io(io_driver& io, std::int64_t now_ns) noexcept;
  // The collecting half of poll_io (no lock taken); true if there is something to dispatch.
  bool collect_io(io_driver& io, std::int64_t now_ns) noexcept;
  // Wakes the fibers of the events collect_io left (io_pending_). Precondition: the running
  // fiber holds no primitive's lock (dispatch takes descriptor records' locks).
  void dispatch_io() noexcept;
  // A switch hook that runs the parking fiber's own hook (hooked_after_) and then dispatch_io.
  static void after_hook_then_dispatch(ctx::transfer& tr);
  void overflow(task* t) noexcept;
  // find_local() for a yielding fiber, with a fast path for "only yielders are runnable here".
  task* find_yield_successor() noexcept;
  // find_local, kept out of line where a caller's fast path must stay small.
  [[gnu::noinline]] task* find_local_out_of_line() noexcept { return find_local(); }
  [[gnu::cold]] task* fairness_pick() noexcept;  // the 61st tick: timers, yielders, global
  [[gnu::cold]] task* find_local_unstealable(pick order) noexcept;  // pinned, global_fifo
  // Moves the yield queue's unpinned tasks to the deque, where thieves see them.
  void publish_yielded() noexcept;
  void start_spinning() noexcept;
  void stop_spinning() noexcept;
  bool idle_sleep();
  void resume(task* t) noexcept;

  runtime_core& rt_;
  const std::uint32_t index_;
  const scheduling_policy policy_;
  // Whether thieves may take the next slot (work_stealing with more than one worker). If not,
  // the owner reads and writes it without locked instructions.
  const bool slot_stealable_;
  std::thread thread_;
  ctx::context* sched_ctx_ = nullptr;  // this thread's own stack while a fiber runs
  task* current_ = nullptr;

  run_queue local_;
  alignas(64) std::atomic<task*> next_slot_{nullptr};
  task_list inbox_;
  timer_heap timers_;
  // Yielded fibers, linked through task::link: private to this worker, so a yield costs no
  // atomic operation. The last local source (a yielder lets everything else run first);
  // published to the deque every fairness tick, so thieves get a share and nothing waits
  // behind a busy deque for longer than one tick.
  task_fifo yielded_;

  std::uint32_t fairness_countdown_ = 61;  // global queue and timers first when it hits 0
  std::uint32_t next_streak_ = 0;          // consecutive picks from the next slot
  std::uint64_t rng_;
  bool spinning_ = false;
  // The fairness tick collected I/O events that are not dispatched yet: find_local may run on a
  // parking fiber's stack, under its primitive's lock, so its callers dispatch (worker.cpp).
  bool io_pending_ = false;
  void (*hooked_after_)(ctx::transfer&) = nullptr;  // switch_away's deferred hook and its arg
  void* hooked_arg_ = nullptr;
};

// The worker running on this thread, or nullptr on a plain thread. Deliberately not inline:
// a fiber may migrate between two calls, and a compiler may cache a thread_local's address.
worker* current_worker() noexcept;

// The fiber running on this thread, or nullptr on a plain thread.
task* current_task() noexcept;

}  // namespace weft::sched
