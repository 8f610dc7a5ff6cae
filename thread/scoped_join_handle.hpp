// weft::os::scoped_join_handle<R> — a task spawned inside weft::os::scope().
//
// Unlike join_handle it may simply be dropped: the scope joins every task it started before
// scope() returns. join() lets the caller take the value (or the exception) early.
#pragma once

#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include <weft/thread/task_body.hpp>
#include <weft/thread/task_id.hpp>
#include <weft/thread/this_task.hpp>

namespace weft::os {
namespace detail {

// One scoped task, as the scope sees it (type-erased result). Shared by the scope's list, the
// scoped_join_handle and nothing else: the task thread uses a plain pointer, valid because the
// scope's list keeps the record until after the thread was joined.
struct scoped_task_core : task_core {
  using task_core::task_core;

  // Joins the thread once, whoever asks first (the scope at exit, or the handle's join(), possibly
  // from another scoped task); later callers return after it was joined. Never throws:
  // std::thread::join on a joinable thread that is not the caller's own cannot fail.
  void join_thread() noexcept {
    std::lock_guard lock(join_mutex);
    if (!joined) {
      thread.join();
      joined = true;
    }
  }

  // Guards thread and joined. spawn() holds it while it starts the thread, so a concurrent
  // join_thread() never sees a half-assigned std::thread.
  std::mutex join_mutex;
  std::thread thread;
  bool joined = false;
  // Set by scoped_join_handle::join(): the outcome was handed over, so the scope must not rethrow
  // the task's exception again. Written by the handle's owner (fn or a scoped task), read by the
  // scope only after fn returned and every scoped thread was joined, which orders the two.
  bool observed = false;
};

template <class R>
struct scoped_task : scoped_task_core {
  using scoped_task_core::scoped_task_core;
  value_slot<R> value;  // written by the task thread, read after join_thread()
};

}  // namespace detail

class scope_t;

template <class R>
class scoped_join_handle {
 public:
  // An empty handle: not joinable.
  scoped_join_handle() noexcept = default;
  scoped_join_handle(scoped_join_handle&&) noexcept = default;
  scoped_join_handle& operator=(scoped_join_handle&&) noexcept = default;
  scoped_join_handle(const scoped_join_handle&) = delete;
  scoped_join_handle& operator=(const scoped_join_handle&) = delete;
  // Dropping a handle is fine: the scope still joins the task (and rethrows its exception).
  ~scoped_join_handle() = default;

  // True until join() was called; false for an empty handle. Never blocks.
  [[nodiscard]] bool joinable() const noexcept { return task_ && !task_->observed; }

  // Blocks until the task ended, then returns its value or rethrows its exception; that exception
  // is then no longer rethrown by scope(). Also valid after scope() returned (the task is already
  // joined then and this returns at once). Throws std::logic_error (naming the task) if the
  // handle is empty or already joined, or if the task calls it on itself.
  // Not thread-safe for one handle: one owner calls join(), like any move-only object.
  R join() {
    if (!task_) {
      throw std::logic_error(
          "weft::os::scoped_join_handle::join: empty handle (default-constructed or moved from)");
    }
    if (task_->observed) {
      throw std::logic_error(detail::str_cat(
          {"weft::os::scoped_join_handle::join: task '", label(), "' was already joined"}));
    }
    if (task_->id == detail::tl_task_id) {
      throw std::logic_error(detail::str_cat({"weft::os::scoped_join_handle::join: task '", label(),
                                              "' cannot join itself (it would deadlock)"}));
    }
    task_->join_thread();
    task_->observed = true;
    if (task_->error) std::rethrow_exception(task_->error);
    return task_->value.take();
  }

  // The task's id (what current_id() returns inside it); task_id{} when empty.
  [[nodiscard]] task_id id() const noexcept { return task_ ? task_id(task_->id) : task_id(); }

  // The task's name (spawn_options::name); "" when unnamed or empty.
  [[nodiscard]] std::string_view name() const noexcept {
    return task_ ? std::string_view(task_->name) : std::string_view();
  }

 private:
  friend class scope_t;  // the only creator of non-empty handles

  explicit scoped_join_handle(std::shared_ptr<detail::scoped_task<R>> task) noexcept
      : task_(std::move(task)) {}

  std::string label() const { return detail::task_label(task_->name, task_->id); }

  std::shared_ptr<detail::scoped_task<R>> task_;
};

}  // namespace weft::os
