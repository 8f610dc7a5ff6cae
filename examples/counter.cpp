// The Rust book, Listing 16-15: ten tasks share a counter through Arc<Mutex<i32>> — here a
// std::shared_ptr<synchronized<int>>, whose data is reachable only while its lock is held.
//
//   counter [--model=os|fiber]
#include <cstdio>
#include <memory>
#include <vector>

#include <weft/os.hpp>

#include "select_model.hpp"

namespace {

template <weft::model M>
int run() {
  auto counter = std::make_shared<typename M::template synchronized<int>>(0);
  std::vector<typename M::template join_handle<void>> handles;
  for (int i = 0; i < 10; ++i) {
    handles.push_back(M::spawn([counter] {
      auto num = counter->lock();
      *num += 1;
    }));
  }
  for (auto& handle : handles) handle.join();
  std::printf("Result: %d\n", *counter->lock());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return examples::run_on_model(argc, argv, []<weft::model M>() { return run<M>(); });
}
