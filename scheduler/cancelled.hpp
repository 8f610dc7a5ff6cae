// weft::fiber::cancelled: how the runtime's shutdown ends a fiber's blocking call.
#pragma once

#include <exception>

namespace weft::fiber {

// Thrown out of a blocking call (sleep, and the sync/channel waits) of a fiber that the runtime
// cancels during its shutdown, so the fiber's stack unwinds and its destructors run. A fiber
// may catch it to clean up; it should then end rather than block again.
class cancelled : public std::exception {
 public:
  const char* what() const noexcept override {
    return "weft::fiber::cancelled: the runtime is shutting down";
  }
};

}  // namespace weft::fiber
