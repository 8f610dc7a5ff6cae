// Runtime construction, placement of runnable fibers, the wake rule, the registry of live
// fibers, statistics, and shutdown. The scheduling loop itself is in worker.cpp.
#include "runtime_core.hpp"

#include <weft/sync/futex.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

namespace weft::sched {

runtime_core::runtime_core(runtime_config cfg) : cfg_(std::move(cfg)) {
  if (cfg_.workers == 0)
    throw std::invalid_argument("weft::runtime_config::workers must be at least 1 (got 0)");
  if (cfg_.stack_size != 0 && cfg_.stack_size < ctx::min_stack_size)
    throw std::invalid_argument("weft::runtime_config::stack_size " +
                                std::to_string(cfg_.stack_size) + " is below the minimum of " +
                                std::to_string(ctx::min_stack_size) + " bytes");
  if (cfg_.stack_size == 0) cfg_.stack_size = ctx::default_stack_size;
  cfg_.stack_size = ctx::stack_pool::round_stack_size(cfg_.stack_size);  // the pool's fast path
  shards_ = std::make_unique<registry_shard[]>(cfg_.workers + 1);
  workers_.reserve(cfg_.workers);
  for (std::size_t i = 0; i < cfg_.workers; ++i)
    workers_.push_back(std::make_unique<worker>(*this, static_cast<std::uint32_t>(i)));
  for (auto& w : workers_) w->start();
}

runtime_core::~runtime_core() = default;

namespace {
[[noreturn, gnu::cold, gnu::noinline]] void throw_stack_below_minimum(std::size_t size) {
  throw std::invalid_argument("weft::spawn_options::stack_size " + std::to_string(size) +
                              " is below the minimum of " + std::to_string(ctx::min_stack_size) +
                              " bytes");
}
}  // namespace

ctx::stack runtime_core::allocate_stack(std::size_t size) {
  if (size != 0 && size < ctx::min_stack_size) throw_stack_below_minimum(size);
  return ctx::stack_pool::global().allocate(size != 0 ? size : cfg_.stack_size);
}

void runtime_core::submit_spawned(task* t, const spawn_options& opts) {
  worker* cur = current_worker();
  if (cur != nullptr && &cur->runtime() != this) cur = nullptr;  // another runtime's worker
  if (cur != nullptr) {
    cur->count.spawns.add();
  } else {
    // relaxed: a statistic.
    external_spawns_.fetch_add(1, std::memory_order_relaxed);
  }
  if (t->pinned) {
    t->home = (opts.pinned && cur != nullptr)
                  ? cur
                  // relaxed: only spreads fibers; any interleaving is fine.
                  : workers_[round_robin_.fetch_add(1, std::memory_order_relaxed) % workers_.size()]
                        .get();
  }
  register_task(t, cur);
  if (cur != nullptr && cfg_.policy == scheduling_policy::work_stealing) {
    task* self = cur->current();
    // Child-first (worker.cpp, "Placement"). A pinned spawner keeps the help-first path: its
    // continuation must not wait where thieves look.
    if (self != nullptr && !self->pinned) {
      cur->run_child_first(self, t);  // returns once `self` is resumed, maybe elsewhere
      return;
    }
  }
  make_runnable_from(cur, t, /*as_next=*/true);
}

void runtime_core::make_runnable(task* t, bool as_next) noexcept {
  worker* cur = current_worker();
  make_runnable_from(cur != nullptr && &cur->runtime() == this ? cur : nullptr, t, as_next);
}

void runtime_core::make_runnable_from(worker* cur, task* t, bool as_next) noexcept {
  if (t->pinned) {
    worker* home = t->home;
    if (cur == home && cfg_.policy == scheduling_policy::pinned) {
      cur->push_local(t, false);  // no stealing under this policy: the deque is private
      return;
    }
    home->inbox().push(t);
    if (cur != home) wake_worker(*home);
    return;
  }
  if (cur == nullptr || cfg_.policy == scheduling_policy::global_fifo) {
    global_.push(t);
    // The producer's side of the idle hand-overs (worker.cpp (a), (b)). Read-modify-writes, not
    // a fence: an RMW reads the newest value of its counter, so either we see the worker that
    // stopped searching / went to sleep, or that worker's own RMW reads ours, synchronises with
    // it and then sees the push. (TSan models RMWs; it does not model fences.)
    const std::uint32_t spinning = nspinning.fetch_add(0, std::memory_order_seq_cst);
    const std::uint32_t sleeping = npidle.fetch_add(0, std::memory_order_seq_cst);
    if (spinning == 0 && sleeping > 0) wake_idle_worker_if_needed();
    return;
  }
  cur->push_local(t, as_next);
  // Best effort, no fence: the task is on a running worker's own queue, so it cannot be lost;
  // waking a sleeper here only buys parallelism.
  wake_idle_worker_if_needed();
}

void runtime_core::wake_idle_worker_if_needed() noexcept {
  // relaxed: ordering, where liveness needs it, comes from the caller's RMWs (see above).
  if (nspinning.load(std::memory_order_relaxed) != 0 || npidle.load(std::memory_order_relaxed) == 0)
    return;
  std::uint32_t none = 0;
  // seq_cst: claims "one searcher is coming" before a sleeper is picked (idle protocol (a)).
  if (!nspinning.compare_exchange_strong(none, 1, std::memory_order_seq_cst)) return;
  worker* w = nullptr;
  bool in_poller = false;
  {
    std::lock_guard lk(idle_mu);
    w = pop_idle_locked();
    if (w != nullptr) {
      w->sleep_word.store(worker::woken_to_spin, std::memory_order_relaxed);  // under idle_mu
      in_poller = w->in_poller;
    }
  }
  if (w == nullptr) {
    nspinning.fetch_sub(1, std::memory_order_seq_cst);  // seq_cst: undo the claim above
    return;
  }
  wake_popped(*w, in_poller);
}

void runtime_core::wake_worker(worker& w) noexcept {
  bool in_poller = false;
  {
    std::lock_guard lk(idle_mu);
    if (!w.in_idle_list) return;  // awake: it checks its inbox before it sleeps again
    std::erase(idle_workers, &w);
    w.in_idle_list = false;
    npidle.fetch_sub(1, std::memory_order_seq_cst);  // seq_cst: as in worker::idle_sleep
    w.sleep_word.store(worker::woken_for_inbox, std::memory_order_relaxed);  // under idle_mu
    in_poller = w.in_poller;
  }
  wake_popped(w, in_poller);
}

void runtime_core::wake_popped(worker& w, bool in_poller) noexcept {
  // A worker waiting in the I/O driver sleeps in epoll_wait, not on its futex word: break that
  // wait instead (worker.cpp, "The poller"). The driver is installed before any worker can wait
  // in it, and stays until the runtime is destroyed.
  if (in_poller)
    io()->interrupt();
  else
    sync::futex_wake_one(w.sleep_word);
}

worker* runtime_core::pop_idle_locked() noexcept {
  if (idle_workers.empty()) return nullptr;
  // At most one worker waits in the I/O driver. It keeps watching the file descriptors while it
  // sleeps, so a futex sleeper is woken first; the poller is interrupted only when it is the
  // only sleeper left (otherwise nobody could run the new work).
  auto it = idle_workers.end() - 1;
  if ((*it)->in_poller && idle_workers.size() > 1) --it;
  worker* w = *it;
  idle_workers.erase(it);
  w->in_idle_list = false;
  npidle.fetch_sub(1, std::memory_order_seq_cst);  // seq_cst: as in worker::idle_sleep
  return w;
}

std::shared_ptr<io_driver> runtime_core::io_or_install(io_factory make) {
  std::lock_guard lk(io_mu_);
  if (io_holder_ == nullptr) {
    std::shared_ptr<io_driver> d = make(*this);
    io_holder_ = std::move(d);
    // release: the driver is fully constructed before a worker's acquire load in io() sees it.
    io_.store(io_holder_.get(), std::memory_order_release);
  }
  return io_holder_;
}

void runtime_core::register_task(task* t, worker* cur) noexcept {
  const std::uint32_t shard =
      cur != nullptr ? cur->index() : static_cast<std::uint32_t>(workers_.size());
  t->reg_shard = shard;
  {
    std::lock_guard lk(shards_[shard].mu);
    t->reg_prev = nullptr;
    t->reg_next = shards_[shard].head;
    if (t->reg_next != nullptr) t->reg_next->reg_prev = t;
    shards_[shard].head = t;
  }
}

void runtime_core::unregister_task(task* t) noexcept {
  registry_shard& s = shards_[t->reg_shard];
  std::lock_guard lk(s.mu);
  if (t->reg_prev != nullptr)
    t->reg_prev->reg_next = t->reg_next;
  else
    s.head = t->reg_next;
  if (t->reg_next != nullptr) t->reg_next->reg_prev = t->reg_prev;
}

void runtime_core::task_finished(task* t, worker& w) noexcept {
  unregister_task(t);
  w.count.finished.add();
}

bool runtime_core::registry_empty() {
  for (std::size_t i = 0; i <= workers_.size(); ++i) {
    std::lock_guard lk(shards_[i].mu);
    if (shards_[i].head != nullptr) return false;
  }
  return true;
}

template <class F>
void runtime_core::for_each_live(F&& f) {
  for (std::size_t i = 0; i <= workers_.size(); ++i) {
    std::lock_guard lk(shards_[i].mu);
    for (task* t = shards_[i].head; t != nullptr; t = t->reg_next) f(t);
  }
}

// Shutdown, run by ~runtime on a thread that is not one of this runtime's workers:
//   1. request stop on every live fiber that takes a stop_token;
//   2. wait up to shutdown_grace for all fibers to finish;
//   3. cancel every fiber still parked in a cancellable wait: its blocking call throws
//      weft::fiber::cancelled, so its stack unwinds and its destructors run; repeat each grace
//      period (a fiber may catch the exception and block again);
//   4. a fiber that neither finishes nor parks (it never yields) cannot be cancelled: after
//      20 grace periods the runtime names it on stderr and aborts, rather than hang silently;
//   5. stop the workers and join their threads.
// Holding a registry shard's lock while claiming keeps a task from finishing (it unregisters
// under the same lock) while we touch it.
void runtime_core::shutdown() {
  for_each_live([](task* t) { t->stop.request_stop(); });
  const auto grace = std::max(cfg_.shutdown_grace, std::chrono::milliseconds(1));
  // The registry, not a counter, decides "all done": a fiber leaves it under its shard's lock
  // when it finishes, so an empty registry is exact. Polled: shutdown is not a hot path.
  auto wait_all_done = [&] {
    const auto until = std::chrono::steady_clock::now() + grace;
    for (auto pause = std::chrono::microseconds(50);;
         pause = std::min(pause * 2, grace / 10 + std::chrono::microseconds(1))) {
      if (registry_empty()) return true;
      if (std::chrono::steady_clock::now() >= until) return false;
      std::this_thread::sleep_for(pause);
    }
  };
  int rounds = 0;
  for (;;) {
    if (wait_all_done()) break;
    if (++rounds == 20) {
      std::fprintf(stderr,
                   "weft: runtime '%s' cannot shut down: these fibers neither finish nor block "
                   "(a fiber that never yields cannot be cancelled):\n",
                   cfg_.name.c_str());
      for_each_live([](task* t) {
        std::fprintf(stderr, "  fiber '%.*s' (#%llu)\n", static_cast<int>(t->name().size()),
                     t->name().data(), static_cast<unsigned long long>(t->id()));
      });
      std::abort();
    }
    for_each_live([this](task* t) {
      if (t->park.claim_cancel()) make_runnable(t, false);
    });
  }
  terminating.store(true, std::memory_order_seq_cst);  // seq_cst: read in idle_sleep's re-check
  for (auto& w : workers_) wake_worker(*w);
  for (auto& w : workers_) w->join_thread();
}

runtime_stats runtime_core::stats() const {
  runtime_stats s;
  for (const auto& w : workers_) s.workers.push_back(w->stats());
  s.external_spawns = external_spawns_.load(std::memory_order_relaxed);  // relaxed: statistic
  std::uint64_t started = s.external_spawns, ended = 0;
  for (const auto& w : workers_) {
    started += w->count.spawns.get();
    ended += w->count.finished.get();
  }
  s.live_fibers = started > ended ? started - ended : 0;  // exact once quiescent
  const auto pool = ctx::stack_pool::global().snapshot();
  s.stacks_mapped = pool.stacks_mapped;
  s.stacks_guarded = pool.guarded;
  s.stacks_canary = pool.canary_only;
  return s;
}

}  // namespace weft::sched

namespace weft {

const char* to_string(scheduling_policy p) noexcept {
  switch (p) {
    case scheduling_policy::work_stealing:
      return "work_stealing";
    case scheduling_policy::global_fifo:
      return "global_fifo";
    case scheduling_policy::pinned:
      return "pinned";
  }
  return "?";
}

worker_stats runtime_stats::total() const noexcept {
  worker_stats t;
  for (const auto& w : workers) {
    t.spawns += w.spawns;
    t.switches += w.switches;
    t.steals += w.steals;
    t.steal_attempts += w.steal_attempts;
    t.parks += w.parks;
    t.unparks += w.unparks;
    t.timers_fired += w.timers_fired;
    t.idle_parks += w.idle_parks;
  }
  return t;
}

}  // namespace weft
