// The channel vocabulary for one parker P, as member names: the model tags inherit it
// (weft::os::model from channels<sync::std_parker>, weft::fiber::model from
// channels<sched::fiber_parker>), so generic code writes `M::template channel<T>()`,
// `typename M::template sender<T>` and `M::select(...)`. Contracts: endpoints.hpp, select.hpp.
#pragma once

#include <cstddef>
#include <utility>

#include <weft/sync/parker.hpp>

#include "endpoints.hpp"
#include "select.hpp"

namespace weft::chan {

template <sync::parker P>
struct channels {
  template <class T>
  using sender = basic_sender<T, P>;
  template <class T>
  using receiver = basic_receiver<T, P>;

  // An unbounded channel. Throws std::bad_alloc.
  template <class T>
  static std::pair<sender<T>, receiver<T>> channel() {
    return make_unbounded<T, P>();
  }

  // A channel buffering at most n values; n == 0 is a rendezvous. Throws std::bad_alloc.
  template <class T>
  static std::pair<sender<T>, receiver<T>> sync_channel(std::size_t n) {
    return make_channel<T, P>(n);
  }

  // chan::select over this model's channels.
  template <class... Cases>
  static std::size_t select(Cases&&... cases) {
    return chan::select(std::forward<Cases>(cases)...);
  }
};

}  // namespace weft::chan
