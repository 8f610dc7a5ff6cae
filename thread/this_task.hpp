// weft::os "this task" functions: who am I (current_id, current_name) and how do I give up the
// CPU (yield, sleep_for, sleep_until). In the 1:1 model the current task is the current OS
// thread, so each of these acts on the calling thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <thread>

#include <weft/thread/task_id.hpp>

namespace weft::os {
namespace detail {

// The calling thread's task identity. A task started by weft::os sets both for its whole run
// (current_task_guard); other threads start with 0 / nullptr and get an id lazily.
// Plain pointers and integers: constant-initialised, so reading them costs no TLS init guard.
inline thread_local std::uint64_t tl_task_id = 0;
inline thread_local const std::string* tl_task_name = nullptr;

// Installs a task's identity on the calling thread for the guard's lifetime. `name` must outlive
// the guard (it points into the task's shared state, which the running task keeps alive).
class current_task_guard {
 public:
  current_task_guard(std::uint64_t id, const std::string* name) noexcept
      : prev_id_(tl_task_id), prev_name_(tl_task_name) {
    tl_task_id = id;
    tl_task_name = name;
  }
  ~current_task_guard() {
    tl_task_id = prev_id_;
    tl_task_name = prev_name_;
  }
  current_task_guard(const current_task_guard&) = delete;
  current_task_guard& operator=(const current_task_guard&) = delete;

 private:
  std::uint64_t prev_id_;
  const std::string* prev_name_;
};

}  // namespace detail

// Returns the calling task's id. Never blocks, never throws. Stable for the task's lifetime and
// different from every other task's id. A thread not started by weft::os (main, a foreign thread)
// is given a fresh id on its first call and keeps it.
inline task_id current_id() noexcept {
  if (detail::tl_task_id == 0) detail::tl_task_id = detail::next_task_id();
  return task_id(detail::tl_task_id);
}

// Returns the calling task's name (spawn_options::name), or "" for an unnamed task and for threads
// not started by weft::os. The view stays valid until the calling task ends. Never throws.
inline std::string_view current_name() noexcept {
  return detail::tl_task_name != nullptr ? std::string_view(*detail::tl_task_name)
                                         : std::string_view();
}

// Offers the rest of the calling thread's time slice to the OS scheduler
// (std::this_thread::yield). A hint: it may return at once. Never throws.
inline void yield() noexcept {
  std::this_thread::yield();
}

// Blocks the calling OS thread for at least `d`, measured on a steady clock; returns at once for
// d <= 0. May oversleep (OS scheduling). Throws only what the duration's arithmetic throws.
template <class Rep, class Period>
void sleep_for(const std::chrono::duration<Rep, Period>& d) {
  std::this_thread::sleep_for(d);
}

// Blocks the calling OS thread until Clock::now() >= t, for any clock meeting the Clock
// requirements (steady, system, a user clock); returns at once if t has passed. With a clock that
// can be adjusted (system_clock) the wait follows the standard library's rules for that clock.
template <class Clock, class Duration>
void sleep_until(const std::chrono::time_point<Clock, Duration>& t) {
  std::this_thread::sleep_until(t);
}

}  // namespace weft::os
