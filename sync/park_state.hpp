// The parking seam's state machine: who may wake a parked task, exactly once.
//
// Design essay
// ------------
// Every blocking operation in weft is: put a waiter (a record on the blocked task's own stack)
// into a primitive's wait list, park, and let whoever changes the primitive's state wake the
// waiter. Three parties can end one park: a notifier (the primitive), a timer (a *_for/_until
// deadline) and the runtime's shutdown cancellation. Exactly one of them must win, and the
// losers must not touch the task afterwards — it may already be running, or gone.
//
// The arbiter is one atomic word per parkable task (a fiber, or a plain thread's parker):
//
//            park()                       hook done
//   RUNNING --------> PREPARING ---------------------------> PARKED (or PARKED_NO_CANCEL)
//                        |  notify(): NOTIFIED_EARLY            |  notify():  NOTIFIED  + wake
//                        |  (the parker, seeing its CAS         |  timeout:   TIMED_OUT + wake
//                        |   fail, wakes itself)                |  cancel:    CANCELLED + wake
//                                                               |  (cancel: from PARKED only)
//
// PREPARING covers the window in which the task is committed to parking but its park is not
// complete: for a fiber, it has switched out and its "after" hook is publishing the waiter on
// the scheduler's side. A notifier that finds the waiter during that window claims it with
// NOTIFIED_EARLY and does nothing more: the parking side will see its PREPARING -> PARKED CAS
// fail and make the task runnable itself. That is how "a fiber is resumed by at most one worker,
// and only after its context was saved" holds without the notifier ever waiting. Timers and
// cancellation only claim from PARKED, so they never race with the hook.
//
// Lifetime rule for notifiers: a notifier may only call notify() while the waiter is reachable
// under the primitive's own protection (its lock, or an atomic it owns): a task that was woken
// by a timeout or cancellation removes its waiter under that same protection before returning,
// so it cannot leave while a notifier still holds it.
//
// Rejected designs: (1) a wake-up permit (Rust's park/unpark token): simpler, but a stale permit
// from a lost race makes a later, unrelated park return early, and a notifier racing a timeout
// could touch a task that had already exited; (2) a per-primitive CAS on the waiter plus a
// separate permit in the task: two atomics per wake where one does.
#pragma once

#include <atomic>
#include <cstdint>

namespace weft::sync {

// Why a park ended.
enum class wake_reason : std::uint8_t { notified, timed_out, cancelled };

class park_state {
 public:
  enum : std::uint32_t {
    running = 0,
    preparing,
    parked,
    parked_no_cancel,  // a park that shutdown must not cancel (e.g. join: its target ends first)
    notified_early,
    notified,
    timed_out,
    cancelled,
  };

  // Parking side, before the hook: the task is committed to parking.
  void begin_park() noexcept {
    // relaxed: the hook that publishes the waiter comes after, and its publication (a lock
    // release or a release store) orders this store before any notifier's CAS.
    word_.store(preparing, std::memory_order_relaxed);
  }

  // Parking side, after the hook. Returns true if the park stands (someone will wake the task);
  // false if a notifier claimed it during the hook, in which case the caller wakes it.
  bool finish_park(bool cancellable = true) noexcept {
    std::uint32_t expected = preparing;
    // acq_rel: release pairs with a notifier's/timer's acquire CAS (the task's saved state and
    // the hook's writes are visible to whoever wins); acquire pairs with notify()'s release.
    return word_.compare_exchange_strong(expected, cancellable ? parked : parked_no_cancel,
                                         std::memory_order_acq_rel, std::memory_order_acquire);
  }

  // Notifier side. Returns:
  //   claim::wake   — the notifier won and must now wake the task;
  //   claim::early  — the notifier won during PREPARING; the parking side wakes the task;
  //   claim::lost   — a timeout or cancellation won; pick another waiter.
  enum class claim : std::uint8_t { wake, early, lost };
  claim notify() noexcept {
    std::uint32_t s = word_.load(std::memory_order_acquire);  // acquire: pairs with finish_park
    for (;;) {
      if (s == parked || s == parked_no_cancel) {
        // acq_rel: acquire pairs with finish_park's release; release publishes what the
        // notifier handed over (a value, a lock) to the woken task's acquire in reason().
        if (word_.compare_exchange_weak(s, notified, std::memory_order_acq_rel,
                                        std::memory_order_acquire))
          return claim::wake;
      } else if (s == preparing) {
        // release: pairs with finish_park's acquire on failure, which then wakes the task.
        if (word_.compare_exchange_weak(s, notified_early, std::memory_order_release,
                                        std::memory_order_acquire))
          return claim::early;
      } else {
        return claim::lost;
      }
    }
  }

  // Timer side: claims a parked task as timed out. True if won; the caller must wake the task.
  bool claim_timeout() noexcept {
    std::uint32_t s = word_.load(std::memory_order_relaxed);  // relaxed: the CAS decides
    while (s == parked || s == parked_no_cancel) {
      // acq_rel: pairs with finish_park (acquire) and the woken task's end_park (release).
      if (word_.compare_exchange_weak(s, timed_out, std::memory_order_acq_rel,
                                      std::memory_order_relaxed))
        return true;
    }
    return false;
  }

  // Canceller side (runtime shutdown): claims a cancellable parked task. True if won; the
  // caller must wake the task.
  bool claim_cancel() noexcept {
    std::uint32_t expected = parked;
    // acq_rel: pairs with finish_park (acquire) and the woken task's end_park (release).
    return word_.compare_exchange_strong(expected, cancelled, std::memory_order_acq_rel,
                                         std::memory_order_relaxed);
  }

  // Parking side, once running again: why the park ended. Resets the word to RUNNING.
  wake_reason end_park() noexcept {
    // acquire: pairs with the winner's release, so what it handed over is visible. A load and a
    // store, not an exchange: once a park is claimed nobody else writes the word (timers and
    // cancellation only CAS from PARKED), so no update can be lost in between.
    const std::uint32_t s = word_.load(std::memory_order_acquire);
    word_.store(running, std::memory_order_relaxed);  // relaxed: only the task itself reads it
    if (s == timed_out) return wake_reason::timed_out;
    if (s == cancelled) return wake_reason::cancelled;
    return wake_reason::notified;
  }

  // True while the task is parked and its park is not yet claimed (for diagnostics/shutdown).
  bool is_parked() const noexcept {
    const std::uint32_t s = word_.load(std::memory_order_relaxed);  // relaxed: a hint only
    return s == parked || s == parked_no_cancel;
  }

 private:
  std::atomic<std::uint32_t> word_{running};
};

}  // namespace weft::sync
