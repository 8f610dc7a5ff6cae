// The blocking primitives of sync/ instantiated for one parker P, as member names: the model
// tags inherit them (weft::os::model from primitives<std_parker>, weft::fiber::model from
// primitives<sched::fiber_parker>), so generic code writes `typename M::mutex`.
#pragma once

#include "condition_variable.hpp"
#include "mutex.hpp"
#include "parker.hpp"

namespace weft::sync {

template <parker P>
struct primitives {
  using mutex = basic_mutex<P>;
  using condition_variable = basic_condition_variable<P>;
};

}  // namespace weft::sync
