// The control block of one fiber on the runtime: a ctx::fiber (context, stack, id, name) plus
// what the scheduler, the parking seam and join need. It lives apart from the fiber's stack, in
// a pooled block (task_memory.hpp says why), so a spawn is a pooled stack, a pooled block and a
// placement-new.
//
// Lifetime: the stack is returned in the hook of the fiber's final switch (after it is completely
// switched out), and the block holds two references, the fiber's own and its join_handle's. The
// fiber drops its reference in that same hook; the handle drops its reference after join() or
// detach(). Whoever drops the last one destroys the block, so a finished fiber's result waits
// in its block, without a stack, until it is joined.
#pragma once

#include <weft/fiber/fiber.hpp>
#include <weft/sync/park_state.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <stop_token>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace weft::sched {

class runtime_core;
class worker;
struct task;

// What a wake-up touches of a parked task: the notifier's claim (park), its run-queue push (link,
// rt, pinned), the switch into it (the context's saved stack pointer), and at its next park the
// stack check (the stack's limit and protection). A base placed before ctx::fiber, so that these
// fields, the vptr, the context (16 bytes, saved stack pointer first; the exception record is on
// the stack, context.hpp) and the fiber's stack bounds share the block's first cache line: with
// 10,000 parked fibers every one is cold when its wake-up comes, and each line more is a miss per
// wake (there were two while these sat after the fiber's 48-byte name).
struct task_wake_line {
  task_wake_line(runtime_core* r, bool p) noexcept : rt(r), pinned(p) {}

  // --- scheduling; touched only by whoever holds the task runnable ---
  task* link = nullptr;  // intrusive link in task_list queues
  runtime_core* const rt;
  // --- the parking seam ---
  sync::park_state park;
  const bool pinned;
  // Started child-first: its spawner waits at the newest end of this worker's queues, so the
  // fiber's exit hands over newest-first (worker::run_child_first).
  bool spawner_waits = false;
};
static_assert(sizeof(task_wake_line) <= 24,
              "with the vptr, the context (16 bytes) and the stack's limit and protection, one "
              "cache line");

struct task : task_wake_line, ctx::fiber {
  static constexpr std::size_t no_timer = ~std::size_t{0};
  static constexpr std::uintptr_t join_running = 0;
  static constexpr std::uintptr_t join_done = 1;

  task(ctx::placement p, std::string_view name, runtime_core* rt, bool pinned) noexcept;
  virtual ~task() = default;

  // Runs the user's callable and stores its result or exception. Never throws.
  virtual void invoke() noexcept = 0;

  // Pinned fibers: the only worker that runs them. Not in the wake line: a pinned fiber's wake-up
  // goes to its home's inbox, a cross-thread push that costs more than this line's miss.
  worker* home = nullptr;

  // A timed park's timer, in the heap of `timer_owner`; guarded by that heap's mutex.
  std::int64_t timer_deadline_ns = 0;
  std::size_t timer_index = no_timer;
  worker* timer_owner = nullptr;

  // --- join ---
  // join_done once finished; before that join_running, or the head of a list of joiners
  // (join_waiter*, pushed with CAS; see fiber::detail::wait_for).
  std::atomic<std::uintptr_t> join_word{join_running};
  std::atomic<std::uint32_t> refs{2};
  std::exception_ptr error;  // written by the fiber before join_word becomes join_done
  std::stop_source stop{std::nostopstate};  // a real source only if the callable takes a token

  // --- the runtime's registry of live fibers (for stop requests and shutdown) ---
  task* reg_prev = nullptr;
  task* reg_next = nullptr;
  std::uint32_t reg_shard = 0;

  // The size the block was allocated with (task_memory::allocate), to release it.
  std::uint32_t block_bytes = 0;
};

// The fiber entry point of every task (park.cpp): invoke, publish the result, exit.
void task_entry(ctx::transfer* first);

// Drops one of the task's two references; the last one destroys it and returns its block (its
// stack went back when the fiber ended). An exception nobody joined is reported on stderr, with
// the fiber's name.
void release_task(task* t) noexcept;

// Holds the result of a task whose callable returns R.
template <class R>
struct task_result : task {
  using task::task;
  std::optional<R> value;
};
template <>
struct task_result<void> : task {
  using task::task;
};

// A task running `Fn(args...)`, or `Fn(stop_token, args...)` if Fn accepts a stop token first.
template <class R, class Fn, class... Args>
struct task_of final : task_result<R> {
  static constexpr bool takes_token = std::is_invocable_v<Fn&, std::stop_token, Args&...>;

  template <class F, class... A>
  task_of(ctx::placement p, std::string_view name, runtime_core* rt, bool pinned, F&& f, A&&... a)
      : task_result<R>(p, name, rt, pinned),
        call_(std::in_place, std::forward<F>(f), std::forward<A>(a)...) {
    if constexpr (takes_token) this->stop = std::stop_source{};
  }

  void invoke() noexcept override {
    try {
      if constexpr (std::is_void_v<R>) {
        run_callable();
      } else {
        this->value.emplace(run_callable());
      }
    } catch (...) {
      this->error = std::current_exception();
    }
    // The callable and its arguments die here, on the fiber, before it ends — as weft::os
    // destroys them on the task's thread: join() waits for their destructors, and whatever they
    // own (a channel's sender, a lock guard, a shared_ptr) is released when the fiber ends, not
    // when someone joins it. A destructor that throws terminates, as it would on a thread.
    call_.reset();
  }

 private:
  decltype(auto) run_callable() {
    return std::apply(
        [this](Fn& fn, Args&... args) -> decltype(auto) {
          if constexpr (takes_token)
            return std::invoke(fn, this->stop.get_token(), std::move(args)...);
          else
            return std::invoke(fn, std::move(args)...);
        },
        *call_);
  }

  std::optional<std::tuple<Fn, Args...>> call_;
};

}  // namespace weft::sched
