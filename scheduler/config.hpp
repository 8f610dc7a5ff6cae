// Runtime configuration and statistics types.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace weft {

// How runnable fibers are placed and found. The same runtime runs all three; only placement
// and the search for work change, so benchmarks compare policies and nothing else.
enum class scheduling_policy {
  work_stealing,  // per-worker queues + next slot, random-victim steal-half (default)
  global_fifo,    // one shared FIFO queue; no per-worker queues, no stealing
  pinned,         // each fiber belongs to one worker (round robin at spawn); never migrates
};

const char* to_string(scheduling_policy p) noexcept;

std::size_t default_worker_count();

struct runtime_config {
  // Worker threads, at least 1. Default: the WEFT_WORKERS environment variable if set (like
  // GOMAXPROCS), else the hardware's thread count.
  std::size_t workers = default_worker_count();
  // Usable stack bytes per fiber. 0: weft::ctx::default_stack_size. At least
  // weft::ctx::min_stack_size.
  std::size_t stack_size = 0;
  scheduling_policy policy = scheduling_policy::work_stealing;
  // Names the runtime's threads ("<name>-<i>") and its diagnostics.
  std::string name = "weft";
  // On destruction: how long fibers get, after stop was requested, before those still parked
  // are cancelled (their blocking call throws weft::fiber::cancelled).
  std::chrono::milliseconds shutdown_grace{200};
};

// Counters of one worker. Each is written by its worker alone (relaxed stores), so keeping
// them on costs no shared cache line.
struct worker_stats {
  std::uint64_t spawns = 0;          // fibers created by fibers running on this worker
  std::uint64_t switches = 0;        // fiber resumptions
  std::uint64_t steals = 0;          // fibers taken from other workers
  std::uint64_t steal_attempts = 0;  // victims probed
  std::uint64_t parks = 0;           // fibers that parked (blocked) on this worker
  std::uint64_t unparks = 0;         // fibers made runnable by a wake-up on this worker
  std::uint64_t timers_fired = 0;    // deadlines that woke a fiber
  std::uint64_t idle_parks = 0;      // times this worker's thread slept for lack of work
};

struct runtime_stats {
  std::vector<worker_stats> workers;
  std::uint64_t live_fibers = 0;      // spawned and not yet finished
  std::uint64_t external_spawns = 0;  // spawns from threads that are not this runtime's workers
  std::size_t stacks_mapped = 0;      // the process's stack pool high-water mark
  std::size_t stacks_guarded = 0;     // of those: protected by a guard page
  std::size_t stacks_canary = 0;      // of those: protected by a canary only

  worker_stats total() const noexcept;
};

}  // namespace weft
