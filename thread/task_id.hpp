// weft::os::task_id — the identity of one 1:1 task (and of any thread that asks for its id).
//
// Ids are small process-unique integers, never reused, so diagnostics can say "task #7" instead
// of printing a pthread handle. A thread not started by weft (main, a foreign thread) gets its id
// lazily, on its first current_id() call, from the same counter.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>

namespace weft::os {

class task_id {
 public:
  // The "no task" id: what an empty join_handle reports. Never equal to a real task's id.
  constexpr task_id() noexcept = default;
  constexpr explicit task_id(std::uint64_t value) noexcept : value_(value) {}

  // The numeric id; 0 only for the "no task" id.
  [[nodiscard]] constexpr std::uint64_t value() const noexcept { return value_; }

  friend constexpr bool operator==(task_id, task_id) noexcept = default;
  friend constexpr auto operator<=>(task_id, task_id) noexcept = default;

  // Streams the numeric id (like std::thread::id, without decoration).
  template <class CharT, class Traits>
  friend std::basic_ostream<CharT, Traits>& operator<<(std::basic_ostream<CharT, Traits>& out,
                                                       task_id id) {
    return out << id.value_;
  }

 private:
  std::uint64_t value_ = 0;
};

// The 1:1 model's id type, the name the weft::model concept asks for.
using id = task_id;

namespace detail {

// Source of task ids. Starts at 1 so that 0 stays "no task"; 2^64 ids never wrap in practice.
inline std::atomic<std::uint64_t> next_task_id_counter{1};

inline std::uint64_t next_task_id() noexcept {
  // relaxed: only uniqueness is needed; the id is published to other threads by whatever hands
  // them the task (std::thread start, the join_handle), not by this counter.
  return next_task_id_counter.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace detail
}  // namespace weft::os

template <>
struct std::hash<weft::os::task_id> {
  std::size_t operator()(weft::os::task_id id) const noexcept {
    return std::hash<std::uint64_t>{}(id.value());
  }
};
