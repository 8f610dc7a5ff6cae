// weft::os::join_handle<R> — owns one spawned 1:1 task (one std::thread) and its outcome.
//
// Rust's JoinHandle with std::thread's drop rule: a handle must be joined or detached before it
// is destroyed (or assigned over); otherwise the program prints which task was dropped and calls
// std::terminate. Move-only; a moved-from or default-constructed handle is empty.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include <weft/thread/task_body.hpp>
#include <weft/thread/task_id.hpp>
#include <weft/thread/this_task.hpp>

namespace weft::os {
namespace detail {

// Shared between a join_handle and its running thread (the thread keeps it alive after detach).
template <class R>
struct task_state : task_core {
  using task_core::task_core;

  // finished/detached bits. Whichever of "task finished" and "handle detached" happens second
  // sees the other's bit and, if the task threw, reports the exception that nobody will join.
  static constexpr unsigned finished_bit = 1;
  static constexpr unsigned detached_bit = 2;

  // Called by the task thread after run_task stored the value or the error.
  void finish() noexcept {
    // release: publishes `error` to a detach() that reads it after seeing finished_bit (pairs
    // with the acquire in mark_detached).
    const unsigned prev = flags.fetch_or(finished_bit, std::memory_order_release);
    if ((prev & detached_bit) != 0 && error) report_lost_error();
  }

  // Called by join_handle::detach() after std::thread::detach().
  void mark_detached() noexcept {
    // acquire: pairs with the release in finish(), so `error` is visible if the task finished.
    const unsigned prev = flags.fetch_or(detached_bit, std::memory_order_acquire);
    if ((prev & finished_bit) != 0 && error) report_lost_error();
  }

  // A detached task's exception would otherwise vanish: say so on stderr (Rust prints a panic
  // message for a detached thread too). Never throws: this runs on noexcept paths.
  void report_lost_error() const noexcept {
    try {
      const std::string text =
          str_cat({"weft: detached task '", task_label(name, id),
                   "' ended with an exception: ", describe_exception(error), "\n"});
      std::fputs(text.c_str(), stderr);
    } catch (...) {
      std::fputs("weft: a detached task ended with an exception\n", stderr);
    }
  }

  std::stop_source stop;  // thread-safe by itself; the task reads a token, the handle requests
  std::atomic<unsigned> flags{0};
  value_slot<R> value;  // written by the task thread, read after join
};

// Lets spawn() build handles without making the constructor public.
struct handle_access;

}  // namespace detail

template <class R>
class join_handle {
 public:
  // An empty handle: not joinable, id() == task_id{}, name() == "".
  join_handle() noexcept = default;

  join_handle(join_handle&& other) noexcept = default;

  // Precondition-checked like std::thread: assigning over a joinable handle prints which task was
  // dropped and calls std::terminate.
  join_handle& operator=(join_handle&& other) noexcept {
    if (this != &other) {
      terminate_if_joinable();
      thread_ = std::move(other.thread_);
      state_ = std::move(other.state_);
    }
    return *this;
  }

  join_handle(const join_handle&) = delete;
  join_handle& operator=(const join_handle&) = delete;

  // A joinable handle must not be destroyed: prints
  //   weft: join_handle of task '<name or #id>' destroyed while joinable (join() or detach() it)
  // to stderr and calls std::terminate.
  ~join_handle() { terminate_if_joinable(); }

  // True until join() or detach() succeeded; false for an empty handle. Never blocks.
  [[nodiscard]] bool joinable() const noexcept { return thread_.joinable(); }

  // Blocks until the task's thread has ended, then returns the task's value (void: nothing) or
  // rethrows the exception the task threw (the same exception object). Afterwards the handle is
  // not joinable; id(), name() and get_stop_token() keep working.
  // Throws std::logic_error (the message names the task) if the handle is empty, already joined
  // or detached, or if called by the task itself (it would wait for itself forever).
  R join() {
    if (!thread_.joinable()) throw std::logic_error(not_joinable_message("join"));
    if (state_->id == detail::tl_task_id) {
      throw std::logic_error(detail::str_cat({"weft::os::join_handle::join: task '", label(),
                                              "' cannot join itself (it would deadlock)"}));
    }
    thread_.join();
    if (state_->error) std::rethrow_exception(state_->error);
    return state_->value.take();
  }

  // Lets the task run on without an owner; its value is discarded when it ends, and an exception
  // it throws is reported on stderr ("weft: detached task '<name or #id>' ended with an
  // exception: <what>"). Never blocks. Afterwards the handle is not joinable.
  // Throws std::logic_error (naming the task) if the handle is empty, joined or detached.
  void detach() {
    if (!thread_.joinable()) throw std::logic_error(not_joinable_message("detach"));
    thread_.detach();
    state_->mark_detached();
  }

  // Asks the task to stop: its std::stop_token (if its callable takes one) reports
  // stop_requested(). Cooperative: nothing interrupts the task. Returns true if this call made
  // the request, false if stop was already requested or the handle is empty. Works before and
  // after join/detach. Never blocks, never throws.
  bool request_stop() noexcept { return state_ ? state_->stop.request_stop() : false; }

  // The task's stop token (a default, never-stopping token for an empty handle). Never throws.
  [[nodiscard]] std::stop_token get_stop_token() const noexcept {
    return state_ ? state_->stop.get_token() : std::stop_token();
  }

  // The task's id: equal to what current_id() returns inside the task. task_id{} when empty.
  [[nodiscard]] task_id id() const noexcept { return state_ ? task_id(state_->id) : task_id(); }

  // The task's name (spawn_options::name), "" when unnamed or empty. Valid while the handle
  // holds the task (until it is moved from or destroyed).
  [[nodiscard]] std::string_view name() const noexcept {
    return state_ ? std::string_view(state_->name) : std::string_view();
  }

 private:
  friend struct detail::handle_access;

  join_handle(std::thread thread, std::shared_ptr<detail::task_state<R>> state) noexcept
      : thread_(std::move(thread)), state_(std::move(state)) {}

  std::string label() const { return detail::task_label(state_->name, state_->id); }

  std::string not_joinable_message(const char* operation) const {
    if (!state_) {
      return detail::str_cat({"weft::os::join_handle::", operation,
                              ": empty handle (default-constructed or moved from)"});
    }
    return detail::str_cat({"weft::os::join_handle::", operation, ": task '", label(),
                            "' is not joinable (already joined or detached)"});
  }

  void terminate_if_joinable() noexcept {
    if (!thread_.joinable()) return;
    std::fprintf(stderr,
                 "weft: join_handle of task '%s' destroyed while joinable (join() or detach() "
                 "it)\n",
                 detail::task_label(state_->name, state_->id).c_str());
    std::terminate();
  }

  // Invariant: thread_.joinable() implies state_ != nullptr. state_ stays after join/detach so
  // that id(), name() and the stop token remain available.
  std::thread thread_;
  std::shared_ptr<detail::task_state<R>> state_;
};

}  // namespace weft::os
