// How a primitive reports misuse that cannot be an exception: destroying it while tasks still
// wait on it. The waiters' records live on their own stacks and point into the primitive, so
// carrying on would be a use-after-free in another task, far from the cause; the process stops
// here instead, with a message naming the primitive (house rule: name the problem, then
// std::terminate).
#pragma once

#include <cstddef>
#include <cstdio>
#include <exception>

namespace weft::sync {

// Prints "weft: <what> at <self> destroyed while <n> task(s) wait on it" to stderr and calls
// std::terminate. `what` names the primitive ("mutex", "condition_variable" ...).
[[noreturn]] inline void destroyed_with_waiters(const char* what, const void* self,
                                                std::size_t n) noexcept {
  std::fprintf(stderr,
               "weft: %s at %p destroyed while %zu task%s wait%s on it (a blocked task would "
               "touch freed memory; destroy it only once nobody can be waiting)\n",
               what, self, n, n == 1 ? "" : "s", n == 1 ? "s" : "");
  std::terminate();
}

}  // namespace weft::sync
