// The blocking primitives of sync/ instantiated for one parker P, as member names: the model
// tags inherit them (weft::os::model from primitives<std_parker>, weft::fiber::model from
// primitives<sched::fiber_parker>), so generic code writes `typename M::mutex`,
// `typename M::template synchronized<int>`, `M::call_once(flag, f)`.
#pragma once

#include <cstddef>
#include <utility>

#include "barrier.hpp"
#include "condition_variable.hpp"
#include "event.hpp"
#include "latch.hpp"
#include "mutex.hpp"
#include "once.hpp"
#include "parker.hpp"
#include "semaphore.hpp"
#include "shared_mutex.hpp"
#include "synchronized.hpp"
#include "wait_group.hpp"

namespace weft::sync {

template <parker P>
struct primitives {
  using mutex = basic_mutex<P>;
  using shared_mutex = basic_shared_mutex<P>;
  using condition_variable = basic_condition_variable<P>;
  template <class T>
  using synchronized = sync::synchronized<T, mutex>;
  template <std::ptrdiff_t Max = semaphore_max>
  using counting_semaphore = basic_counting_semaphore<P, Max>;
  using binary_semaphore = counting_semaphore<1>;
  using latch = basic_latch<P>;
  template <class CompletionFunction = noop_completion>
  using barrier = basic_barrier<P, CompletionFunction>;
  using wait_group = basic_wait_group<P>;
  using once_flag = basic_once_flag<P>;
  using event = basic_event<P>;

  // sync::call_once (once.hpp).
  template <class F, class... Args>
  static void call_once(once_flag& flag, F&& f, Args&&... args) {
    sync::call_once(flag, std::forward<F>(f), std::forward<Args>(args)...);
  }
};

}  // namespace weft::sync
