// Who holds a lock, recorded two ways, for two different readers.
//
// holder_hint (every build): the OS thread that last acquired the lock, as the address of a
// thread_local byte. A task that finds the lock held spins only if the holder may be running right
// now on another CPU. Fibers are cooperative, so a fiber whose worker thread is the holder's
// thread knows the holder is not running (it is suspended on this very worker: spinning would
// only delay it). A hint: written with a relaxed store after the acquiring CAS, so a spinner may
// read the previous holder's thread; the worst outcome is a spin that did not pay off, or a park
// that a spin would have saved.
//
// owner_record<P> (debug builds, !NDEBUG): the identity of the holding task (fiber or thread),
// so that unlocking a lock one does not hold, or re-locking one's own, throws std::system_error
// naming the problem instead of corrupting the lock. In release builds it is an empty member and
// every call compiles to nothing.
//
// The task identity folds the bytes of P::waker for the calling task. The parker concept
// promises that waker is a handle on the task, not that two handles compare equal; both parkers
// build it from the same pointers every time, which the static_asserts below pin down as far as
// the type system can (no padding, trivially copyable).
#pragma once

#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <string>
#include <system_error>
#include <type_traits>

namespace weft::sync {

// The calling OS thread, as the address of a constant-initialized thread_local (no TLS guard).
inline const void* this_thread_tag() noexcept {
  static thread_local const char tag = 0;
  return &tag;
}

class holder_hint {
 public:
  // Called by the task that just acquired the lock.
  void acquired() noexcept {
    // relaxed: a hint for spinners, read without ordering; stale values are harmless.
    thread_.store(this_thread_tag(), std::memory_order_relaxed);
  }
  // False if the holder is known not to be running: it acquired on the caller's own thread, so
  // (being cooperative, or being the caller) it cannot run while the caller spins.
  bool may_be_running_elsewhere() const noexcept {
    return thread_.load(std::memory_order_relaxed) != this_thread_tag();  // relaxed: a hint
  }

 private:
  std::atomic<const void*> thread_{nullptr};
};

// A number identifying the calling task of parker P (never 0).
template <class P>
std::uintptr_t task_identity() noexcept {
  using W = typename P::waker;
  static_assert(std::is_trivially_copyable_v<W> && std::has_unique_object_representations_v<W> &&
                    sizeof(W) % sizeof(std::uintptr_t) == 0,
                "task identity reads a waker's bytes: it must be a plain record of pointers");
  const auto words =
      std::bit_cast<std::array<std::uintptr_t, sizeof(W) / sizeof(std::uintptr_t)>>(P::current());
  std::uintptr_t id = 0;
  for (const std::uintptr_t w : words) id = id * 0x9E3779B97F4A7C15u + w;
  return id == 0 ? 1 : id;
}

template <class P>
class owner_record {
 public:
#ifndef NDEBUG
  // Before blocking: throws std::system_error (resource_deadlock_would_occur) if the caller
  // already holds the lock.
  void check_not_held_by_caller(const char* what) const {
    if (owner_.load(std::memory_order_relaxed) == task_identity<P>())  // relaxed: own writes
      throw std::system_error(std::make_error_code(std::errc::resource_deadlock_would_occur),
                              std::string("weft: ") + what +
                                  ": lock by the task that already holds it (it would deadlock)");
  }
  void acquired() noexcept {
    // relaxed: read only by the owner itself (the checks above and below); another task's
    // reading a stale value can only make its check fail when it is misusing the lock anyway.
    owner_.store(task_identity<P>(), std::memory_order_relaxed);
  }
  // Throws std::system_error (operation_not_permitted) unless the caller holds the lock.
  void releasing(const char* what) {
    const std::uintptr_t owner = owner_.load(std::memory_order_relaxed);  // relaxed: see above
    if (owner != task_identity<P>())
      throw std::system_error(std::make_error_code(std::errc::operation_not_permitted),
                              std::string("weft: ") + what +
                                  ": unlock by a task that does not hold it (" +
                                  (owner == 0 ? "it is not locked)" : "another task holds it)"));
    owner_.store(0, std::memory_order_relaxed);  // relaxed: as in acquired()
  }

 private:
  std::atomic<std::uintptr_t> owner_{0};
#else
  void check_not_held_by_caller(const char*) const noexcept {}
  void acquired() noexcept {}
  void releasing(const char*) noexcept {}
#endif
};

}  // namespace weft::sync
