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

#include <weft/model.hpp>

namespace weft::os {

struct task_id_tag {};
using task_id = weft::basic_id<task_id_tag>;

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
