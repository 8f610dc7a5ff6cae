// The Rust book, Listing 16-2: a spawned task and the main task print in turns; join() makes
// main wait until the spawned task has printed all nine lines.
//
//   spawn_join [--model=os|fiber]
#include <chrono>
#include <cstdio>

#include <weft/os.hpp>

#include "select_model.hpp"

namespace {

template <weft::model M>
int run() {
  using namespace std::chrono_literals;
  auto handle = M::spawn([] {
    for (int i = 1; i < 10; ++i) {
      std::printf("hi number %d from the spawned thread!\n", i);
      M::sleep_for(1ms);
    }
  });
  for (int i = 1; i < 5; ++i) {
    std::printf("hi number %d from the main thread!\n", i);
    M::sleep_for(1ms);
  }
  handle.join();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return examples::run_on_model(argc, argv, []<weft::model M>() { return run<M>(); });
}
