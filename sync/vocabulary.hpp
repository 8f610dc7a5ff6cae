// The blocking-primitive part of the weft::model concept (include/weft/model.hpp requires it):
// the names sync::primitives gives a model tag, each with the operations generic code uses.
// Standard library only (the 1:1 side includes it).
#pragma once

#include <chrono>
#include <concepts>
#include <condition_variable>
#include <mutex>
#include <shared_mutex>

namespace weft::sync {

namespace vocabulary_detail {
struct probe {  // a callable for call_once in unevaluated context
  void operator()() const {}
};
}  // namespace vocabulary_detail

template <class M>
concept sync_vocabulary =
    requires(typename M::mutex& m, typename M::shared_mutex& sm, typename M::condition_variable& cv,
             std::unique_lock<typename M::mutex>& lk, typename M::template synchronized<int>& s,
             typename M::template counting_semaphore<4>& sem, typename M::binary_semaphore& bin,
             typename M::latch& l, typename M::template barrier<>& b, typename M::wait_group& wg,
             typename M::once_flag& once, typename M::event& ev, std::chrono::nanoseconds d,
             std::chrono::steady_clock::time_point t, vocabulary_detail::probe f) {
  requires std::default_initializable<typename M::mutex>;
  m.lock();
  m.unlock();
  { m.try_lock() } -> std::same_as<bool>;
  { m.try_lock_for(d) } -> std::same_as<bool>;
  { m.try_lock_until(t) } -> std::same_as<bool>;
  requires std::default_initializable<typename M::shared_mutex>;
  sm.lock();
  sm.unlock();
  sm.lock_shared();
  sm.unlock_shared();
  { sm.try_lock_shared() } -> std::same_as<bool>;
  requires std::default_initializable<typename M::condition_variable>;
  cv.wait(lk);
  { cv.wait_for(lk, d) } -> std::same_as<std::cv_status>;
  { cv.wait_until(lk, t) } -> std::same_as<std::cv_status>;
  cv.notify_one();
  cv.notify_all();
  { *s.lock() } -> std::same_as<int&>;
  sem.acquire();
  sem.release();
  { bin.try_acquire_for(d) } -> std::same_as<bool>;
  l.count_down();
  l.wait();
  b.arrive_and_wait();
  wg.add(1);
  wg.done();
  wg.wait();
  M::call_once(once, f);
  ev.set();
  ev.wait();
  { ev.wait_for(d) } -> std::same_as<bool>;
};

}  // namespace weft::sync
