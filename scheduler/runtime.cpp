// weft::runtime: construction, destruction, the default runtime, WEFT_WORKERS.
#include "runtime.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

namespace weft {

namespace sched {
task::task(ctx::placement p, std::string_view name, runtime_core* rt, bool pinned) noexcept
    : task_wake_line(rt, pinned), ctx::fiber(p, name, &task_entry) {}
}  // namespace sched

std::size_t default_worker_count() {
  if (const char* env = std::getenv("WEFT_WORKERS")) {
    char* end = nullptr;
    errno = 0;
    const unsigned long long n = std::strtoull(env, &end, 10);
    if (end == env || *end != '\0' || errno != 0 || n == 0 || n > 4096)
      throw std::invalid_argument(std::string("WEFT_WORKERS='") + env +
                                  "' is not a worker count (an integer from 1 to 4096)");
    return static_cast<std::size_t>(n);
  }
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : hw;
}

runtime::runtime(runtime_config cfg)
    : core_(std::make_unique<sched::runtime_core>(std::move(cfg))) {}

runtime::~runtime() {
  if (sched::worker* w = sched::current_worker(); w != nullptr && &w->runtime() == core_.get()) {
    std::fprintf(stderr,
                 "weft: runtime '%s' destroyed from one of its own fibers (it would wait for "
                 "itself)\n",
                 core_->config().name.c_str());
    std::terminate();
  }
  core_->shutdown();
}

runtime& runtime::default_runtime() {
  static runtime rt{runtime_config{.name = "weft-default"}};
  return rt;
}

}  // namespace weft
