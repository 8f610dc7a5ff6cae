// basic_shared_mutex<P>: a readers/writer lock for both models (SharedLockable: works with
// std::shared_lock, std::unique_lock, std::lock_guard), writer-preferring.
//
// Design essay
// ------------
// Go's sync.RWMutex, on weft's own mutex and semaphores:
//
//   readers_    readers holding or waiting to read; a writer that wants the lock subtracts
//               max_readers, so a negative value says "a writer is pending or holds it"
//   departing_  readers the pending writer still waits for
//   writers_    basic_mutex: serialises writers (with its barging and starvation hand-off)
//   reader_sem_ where readers blocked by a writer wait; the writer releases one permit each
//   writer_sem_ where the pending writer waits for the last departing reader
//
//   lock_shared:   if (++readers_ < 0) wait on reader_sem_                  (one RMW if no writer)
//   unlock_shared: if (--readers_ < 0 && --departing_ == 0) post writer_sem_  (one RMW if none)
//   lock:          writers_.lock(); r = readers_ (swap in -max_readers);
//                  if r readers hold it and they have not all left yet, wait on writer_sem_
//   unlock:        r = readers_ += max_readers (the readers that blocked meanwhile);
//                  post r permits to reader_sem_; writers_.unlock()
//
// Policy: writer-preferring — once a writer is pending, arriving readers block, so a stream of
// overlapping readers cannot starve it; the writer waits only for the readers already inside.
// When it unlocks, the readers that blocked on it are admitted together, before the next writer
// can announce itself, so readers do not starve either. Writers among themselves get the
// mutex's policy (barging, and hand-off to a waiter starved for 1 ms).
//
// Uncontended: lock_shared and unlock_shared are one atomic RMW each; lock and unlock are the
// mutex's CAS/RMW plus one RMW. The semaphores' hand-off (semaphore.hpp) means a woken reader or
// writer owns its permit and does not compete for it again.
//
// Cancellation (fiber runtime shutdown) of a wait on one of the semaphores cannot simply leave:
// the permit meant for the cancelled task would be released later and admit some other task
// early (a reader while a writer holds, or a writer while readers do). So such a wait keeps
// waiting until it is granted, then undoes its acquisition (unlocks) and throws the cancellation.
// A wait for writers_ (the mutex) is cancelled normally: nothing was announced yet.
//
// Rejected designs: (1) one word plus explicit reader/writer queues with hand-off on every
// contended acquisition: fair, but under write contention every lock becomes a park and a wake
// (a convoy), an order of magnitude slower than the mutex-serialised writers here;
// (2) reader-preferring (readers join current readers while a writer waits): writers starve.
//
// Debug builds: unlock() by a task that does not hold the write lock, lock()/lock_shared() by
// the task that holds it, and unlock_shared() with no reader inside throw std::system_error.
// Every build: destruction while tasks wait terminates with a message (misuse.hpp).
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <system_error>

#include "misuse.hpp"
#include "mutex.hpp"
#include "owner.hpp"
#include "parker.hpp"
#include "semaphore.hpp"

namespace weft::sync {

template <parker P>
class basic_shared_mutex {
 public:
  // At most this many tasks may hold or wait for the shared lock at once.
  static constexpr std::int32_t max_readers = 1 << 30;

  basic_shared_mutex() noexcept = default;
  basic_shared_mutex(const basic_shared_mutex&) = delete;
  basic_shared_mutex& operator=(const basic_shared_mutex&) = delete;

  // Precondition: nobody waits for it. Waiting tasks: prints a message naming it, terminates.
  ~basic_shared_mutex() {
    const std::int32_t r = readers_.load(std::memory_order_relaxed);  // relaxed: last access
    const std::int32_t blocked_readers = r < 0 ? r + max_readers : 0;
    const int pending_writer = departing_.load(std::memory_order_relaxed) > 0 ? 1 : 0;  // relaxed
    if (blocked_readers + pending_writer != 0)
      destroyed_with_waiters("shared_mutex", this,
                             static_cast<std::size_t>(blocked_readers + pending_writer));
  }

  // Exclusive ownership: blocks (a fiber parks) until no reader or writer holds it. Throws the
  // model's cancellation exception at runtime shutdown (having undone any partial acquisition);
  // debug builds throw std::system_error if the caller holds the write lock.
  void lock() {
    owner_.check_not_held_by_caller("shared_mutex");
    writers_.lock();
    // acq_rel: acquire pairs with unlock_shared()'s release (the readers' accesses are done
    // before we write); release orders our announcement before our later accesses.
    const std::int32_t active = readers_.fetch_sub(max_readers, std::memory_order_acq_rel);
    if (active != 0 &&
        departing_.fetch_add(active, std::memory_order_acq_rel) + active != 0) {  // see below
      // acq_rel on departing_: pairs with the last departing reader's fetch_sub.
      if (std::exception_ptr cancelled = acquire_granted(writer_sem_)) {
        owner_.acquired();
        unlock();
        std::rethrow_exception(cancelled);
      }
    }
    owner_.acquired();
  }

  // Takes the write lock if nobody holds it or waits for it. Never blocks or throws.
  [[nodiscard]] bool try_lock() noexcept {
    if (!writers_.try_lock()) return false;
    std::int32_t none = 0;
    // acquire: pairs with unlock_shared()'s release.
    if (!readers_.compare_exchange_strong(none, -max_readers, std::memory_order_acquire,
                                          std::memory_order_relaxed)) {
      writers_.unlock();
      return false;
    }
    owner_.acquired();
    return true;
  }

  // Releases the write lock: admits the readers that blocked on it, then the next writer.
  // Precondition: the caller holds the write lock (debug builds: else std::system_error). Never
  // blocks.
  void unlock() {
    owner_.releasing("shared_mutex");
    // release: pairs with the blocked readers' acquire (via the semaphore) and new readers' RMW.
    const std::int32_t blocked =
        readers_.fetch_add(max_readers, std::memory_order_release) + max_readers;
    if (blocked > 0) reader_sem_.release(blocked);
    writers_.unlock();
  }

  // Shared ownership: blocks (a fiber parks) while a writer holds the lock or is pending.
  // Throws as lock().
  void lock_shared() {
    owner_.check_not_held_by_caller("shared_mutex");
    // acquire: pairs with unlock()'s release (the last writer's writes are visible).
    if (readers_.fetch_add(1, std::memory_order_acquire) + 1 < 0) {
      if (std::exception_ptr cancelled = acquire_granted(reader_sem_)) {
        unlock_shared();
        std::rethrow_exception(cancelled);
      }
    }
  }

  // Takes the shared lock if no writer holds it or is pending. Never blocks or throws.
  [[nodiscard]] bool try_lock_shared() noexcept {
    std::int32_t r = readers_.load(std::memory_order_relaxed);  // relaxed: the CAS decides
    while (r >= 0) {
      // acquire: as in lock_shared().
      if (readers_.compare_exchange_weak(r, r + 1, std::memory_order_acquire,
                                         std::memory_order_relaxed))
        return true;
    }
    return false;
  }

  // Releases a shared hold; the last reader a pending writer waits for lets it in. Never blocks.
  // Precondition: the caller holds it shared (debug builds: std::system_error if no reader does).
  void unlock_shared() {
#ifndef NDEBUG
    const std::int32_t r = readers_.load(std::memory_order_relaxed);  // relaxed: a check only
    if (r == 0 || r == -max_readers)
      throw std::system_error(std::make_error_code(std::errc::operation_not_permitted),
                              "weft: shared_mutex: unlock_shared while no reader holds it");
#endif
    // release: pairs with a writer's acquire of readers_.
    if (readers_.fetch_sub(1, std::memory_order_release) - 1 < 0) {
      // A writer is pending: the last of the readers it waits for lets it in. acq_rel: pairs
      // with the writer's fetch_add of departing_.
      if (departing_.fetch_sub(1, std::memory_order_acq_rel) - 1 == 0) writer_sem_.release();
    }
  }

 private:
  // Waits for a permit of `sem`, even through cancellation (see the essay). Returns the
  // cancellation exception if one was thrown meanwhile, else null.
  template <class Sem>
  static std::exception_ptr acquire_granted(Sem& sem) {
    std::exception_ptr cancelled;
    for (;;) {
      try {
        sem.acquire();
        return cancelled;
      } catch (...) {
        cancelled = std::current_exception();
      }
    }
  }

  std::atomic<std::int32_t> readers_{0};
  std::atomic<std::int32_t> departing_{0};
  [[no_unique_address]] owner_record<P> owner_;
  basic_mutex<P> writers_;
  basic_counting_semaphore<P> reader_sem_{0};
  basic_counting_semaphore<P, 1> writer_sem_{0};
};

}  // namespace weft::sync
