// How a comparison workload runs on each model: `on<M>(cfg, body)` runs `body` as a task of the
// model — on the calling thread for weft::os (a thread per task already), inside a fiber on a
// fresh runtime of `cfg.workers` workers for weft::fiber — so the measured loop itself runs
// where the model's tasks run and no cross-model hand-off is timed.
#pragma once

#include <weft/fiber.hpp>
#include <weft/os.hpp>

#include <pthread.h>
#include <sched.h>

#include <type_traits>
#include <utility>

namespace compare {

template <class M>
inline constexpr bool is_fiber = std::is_same_v<M, weft::fiber::model>;

struct run_config {
  std::size_t workers = 1;  // fibers: the runtime's workers; threads: ignored
  weft::scheduling_policy policy = weft::scheduling_policy::work_stealing;
};

template <class M, class Body>
void on(const run_config& cfg, Body&& body) {
  if constexpr (is_fiber<M>) {
    weft::runtime rt{{.workers = cfg.workers, .policy = cfg.policy, .name = "compare"}};
    rt.block_on(std::forward<Body>(body));
  } else {
    std::forward<Body>(body)();
  }
}

// Pins the calling thread to one CPU (threads only): two threads yielding to each other on one
// CPU is the closest 1:1 analogue of two fibers on one worker. Returns false if refused.
inline bool pin_thread_to_cpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return ::pthread_setaffinity_np(::pthread_self(), sizeof set, &set) == 0;
}

inline void unpin_thread() {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c = 0; c < CPU_SETSIZE; ++c) CPU_SET(c, &set);
  ::pthread_setaffinity_np(::pthread_self(), sizeof set, &set);
}

}  // namespace compare
