// Workload 8, runtime size: the smallest spawn-join-print program, built once per model
// (-DWEFT_MINIMAL_FIBER selects weft::fiber) and linked dynamically and statically. The report
// measures each binary's stripped size, its start-up-to-exit time and its peak RSS: the Rust
// book's "the green-threading M:N model requires a larger language runtime", made concrete.
#ifdef WEFT_MINIMAL_FIBER
#include <weft/fiber.hpp>
namespace model = weft::fiber;
#else
#include <weft/os.hpp>
namespace model = weft::os;
#endif

#include <cstdio>

int main() {
  auto h = model::spawn([] { std::puts("hello from a task"); });
  h.join();
  std::puts("joined");
  return 0;
}
