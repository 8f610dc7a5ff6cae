// The fiber side of the parking seam (park, park_until, waker), and the fiber operations built
// directly on it: a task's entry and exit, join, yield and sleep.
#include "park.hpp"

#include <atomic>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>

#include "runtime.hpp"
#include "spawn.hpp"
#include "task.hpp"
#include "task_memory.hpp"
#include "worker.hpp"

namespace weft::sched {
namespace {

// What a parking fiber hands to the hook of its switch (lives on the fiber's stack).
struct park_request {
  park_hook hook;
  std::int64_t deadline_ns;  // timer_heap::never: untimed
  bool cancellable;
  worker* w;  // where the fiber parks; the hook runs on this worker's thread
};

// Runs on the successor's stack once the parking fiber is saved. After finish_park() succeeds
// the fiber belongs to whoever claims it: neither it nor `req` (on its stack) is touched again.
void after_park(ctx::transfer& tr) {
  auto* t = static_cast<task*>(tr.from);
  t->check_stack_after_switch_out();
  const auto* req = static_cast<const park_request*>(tr.arg);
  const std::int64_t deadline = req->deadline_ns;
  const bool cancellable = req->cancellable;
  worker* w = req->w;
  t->park.begin_park();
  if (!req->hook()) {  // the primitive changed its mind: resume the fiber at once
    t->rt->make_runnable_from(w, t, /*as_next=*/true);
    return;
  }
  // The timer is armed here, on this worker: only this worker fires it, and it is busy in this
  // hook, so the timer cannot fire before the park is complete.
  if (deadline != timer_heap::never) {
    t->timer_owner = w;
    w->timers().arm(t, deadline);
  }
  if (!t->park.finish_park(cancellable)) {  // a notifier claimed it during the hook
    if (deadline != timer_heap::never) w->timers().cancel(t);
    t->rt->make_runnable_from(w, t, /*as_next=*/true);
  }
}

sync::wake_reason park_fiber(task* self, park_hook hook, std::int64_t deadline_ns, bool cancellable,
                             worker::pick order = worker::pick::oldest) {
  worker* w = current_worker();
  park_request req{hook, deadline_ns, cancellable, w};
  w->count.parks.add();
  w->switch_away(self, &after_park, &req, order);
  // Resumed, possibly on another worker.
  const sync::wake_reason r = self->park.end_park();
  if (deadline_ns != timer_heap::never && r != sync::wake_reason::timed_out)
    self->timer_owner->timers().cancel(self);
  return r;
}

std::int64_t to_ns(std::chrono::steady_clock::time_point t) noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

waker waker::current() noexcept {
  waker w;
  if (task* t = current_task())
    w.fiber_ = t;
  else
    w.thread_ = &sync::thread_parker::current();
  return w;
}

bool waker::notify() const noexcept {
  using claim = sync::park_state::claim;
  if (fiber_ != nullptr) {
    switch (fiber_->park.notify()) {
      case claim::wake: {
        worker* w = current_worker();
        if (w != nullptr && &w->runtime() != fiber_->rt) w = nullptr;  // another runtime's
        if (w != nullptr) w->count.unparks.add();
        fiber_->rt->make_runnable_from(w, fiber_, /*as_next=*/true);
        return true;
      }
      case claim::early:
        return true;
      case claim::lost:
        return false;
    }
  }
  return sync::thread_waker(*thread_).notify();
}

void waker::prefetch_resume() const noexcept {
  if (fiber_ == nullptr) return;
  // The span a resume touches: jump_fcontext's 64-byte save area, then the frames of the park
  // path up to the primitive's caller — about 550 bytes for a socket read (switch_away,
  // sched::park, the poller's park, fiber_io::wait) — and a line of the caller's own frame.
  // Measured with callgrind at 10,000 connections (README, "Fibers and their memory"). Lines
  // past the top of a shallow stack are prefetched for nothing; a prefetch never faults.
  constexpr std::size_t resume_lines = 10;
  const char* sp = static_cast<const char*>(fiber_->saved_sp());
  for (std::size_t i = 0; i < resume_lines; ++i) __builtin_prefetch(sp + 64 * i, 1, 3);
}

sync::wake_reason park(park_hook hook, bool cancellable, bool for_join) {
  if (task* self = current_task())
    return park_fiber(self, hook, timer_heap::never, cancellable,
                      for_join ? worker::pick::newest : worker::pick::oldest);
  return sync::thread_parker::current().park(hook);
}

sync::wake_reason park_until(std::chrono::steady_clock::time_point deadline, park_hook hook,
                             bool cancellable) {
  if (task* self = current_task()) return park_fiber(self, hook, to_ns(deadline), cancellable);
  return sync::thread_parker::current().park_until(deadline, hook);
}

void task_entry(ctx::transfer* first) {
  auto* t = static_cast<task*>(first->to);
  t->invoke();
  worker* here = current_worker();  // from here to the final switch this fiber cannot migrate
  t->rt->task_finished(t, *here);
  // acq_rel: release publishes the result/error to the joiners; acquire reads their records.
  std::uintptr_t w = t->join_word.exchange(task::join_done, std::memory_order_acq_rel);
  const bool had_joiner = w > task::join_done;
  while (w > task::join_done) {
    auto* j = reinterpret_cast<const join_waiter*>(w);
    w = j->next;  // read before notify(): the joiner may leave (and its record die) right after
    j->who.notify();
  }
  // A joined child hands over depth-first, like its joiner did (see park(for_join)), and so does
  // a child started child-first: its spawner is the newest local task.
  here->exit_fiber(t, had_joiner || t->spawner_waits ? worker::pick::newest : worker::pick::oldest);
}

void release_task(task* t) noexcept {
  // acq_rel: the last owner must see every write of the other (result taken, fiber finished).
  if (t->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  if (t->error) {
    std::string what = "(not a std::exception)";
    try {
      std::rethrow_exception(t->error);
    } catch (const fiber::cancelled&) {
      what.clear();  // the runtime's own shutdown ended it: nothing to report
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    if (!what.empty())
      std::fprintf(stderr, "weft: detached fiber '%s' ended with an exception: %s\n",
                   fiber::detail::label(t->name(), t->id()).c_str(), what.c_str());
  }
  const std::size_t bytes = t->block_bytes;
  t->~task();
  task_memory::release(t, bytes);
}

}  // namespace weft::sched

namespace weft::fiber {
namespace detail {

std::string label(std::string_view name, std::uint64_t id) {
  if (!name.empty()) return std::string(name);
  std::string s(1, '#');  // not "#" + to_string(): GCC 12 -O3 raises a bogus -Wrestrict there
  s += std::to_string(id);
  return s;
}

void terminate_joinable(const sched::task* t) noexcept {
  std::fprintf(stderr,
               "weft: join_handle of fiber '%s' destroyed while joinable (join() or detach() "
               "it)\n",
               label(t->name(), t->id()).c_str());
  std::terminate();
}

void wait_for(sched::task* t) {
  using sched::task;
  // acquire: pairs with task_entry's exchange; the result is visible.
  if (t->join_word.load(std::memory_order_acquire) == task::join_done) return;
  if (t == sched::current_task())
    throw std::logic_error("weft::fiber::join_handle::join: fiber '" + label(t->name(), t->id()) +
                           "' cannot join itself (it would deadlock)");
  sched::join_waiter me{sched::waker::current(), task::join_running};
  auto publish = [&] {
    // acquire: if the task is done, its result must be visible when we return.
    std::uintptr_t head = t->join_word.load(std::memory_order_acquire);
    for (;;) {
      if (head == task::join_done) return false;  // finished meanwhile: do not park
      me.next = head;
      // release: publishes `me` to task_entry's acquire exchange.
      if (t->join_word.compare_exchange_weak(head, reinterpret_cast<std::uintptr_t>(&me),
                                             std::memory_order_release, std::memory_order_acquire))
        return true;
    }
  };
  // Not cancellable: the joined fiber is itself cancelled at shutdown, and its end wakes us.
  sched::park(sched::park_hook::of(publish), /*cancellable=*/false, /*for_join=*/true);
}

sched::runtime_core& spawn_target() {
  if (sched::worker* w = sched::current_worker()) return w->runtime();
  return runtime::default_runtime().core();
}

}  // namespace detail

void yield() noexcept {
  sched::worker* w = sched::current_worker();
  sched::task* self = w != nullptr ? w->current() : nullptr;
  if (self == nullptr) {
    std::this_thread::yield();
    return;
  }
  w->yield_fiber(self);
}

void sleep_until(std::chrono::steady_clock::time_point deadline) {
  if (sched::current_task() == nullptr) {
    std::this_thread::sleep_until(deadline);
    return;
  }
  auto nobody_else_wakes = [] { return true; };
  for (;;) {
    if (std::chrono::steady_clock::now() >= deadline) return;
    switch (sched::park_until(deadline, sched::park_hook::of(nobody_else_wakes))) {
      case sync::wake_reason::timed_out:
        return;
      case sync::wake_reason::cancelled:
        throw cancelled();
      case sync::wake_reason::notified:
        break;  // cannot happen (nobody holds our waker); re-check the clock
    }
  }
}

id current_id() noexcept {
  if (sched::task* t = sched::current_task()) return id(t->id());
  // A plain thread: its own id, from a separate space (high bit set).
  static std::atomic<std::uint64_t> next_thread{1};
  // relaxed: only uniqueness matters.
  thread_local const std::uint64_t mine =
      (std::uint64_t{1} << 63) | next_thread.fetch_add(1, std::memory_order_relaxed);
  return id(mine);
}

std::string_view current_name() noexcept {
  if (sched::task* t = sched::current_task()) return t->name();
  return {};
}

}  // namespace weft::fiber
