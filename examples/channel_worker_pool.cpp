// Seed 003's worker pool: 4 workers take jobs from one channel. In Rust the receiver must be
// wrapped in Arc<Mutex<Receiver>>; weft's receivers are copyable (MPMC), so each worker simply
// gets its own copy and the channel hands every job to exactly one of them.
//
//   channel_worker_pool [--model=os|fiber]  prints "Worker w processed: i" for i = 0..9
#include <chrono>
#include <cstdio>
#include <utility>
#include <vector>

#include "select_model.hpp"

namespace {

template <weft::model M>
int run() {
  using namespace std::chrono_literals;
  auto [tx, rx] = M::template channel<int>();
  std::vector<typename M::template join_handle<int>> workers;
  for (int w = 0; w < 4; ++w) {
    workers.push_back(M::spawn([w, rx = rx] {  // a copy of the receiver per worker
      int done = 0;
      for (int job : rx) {  // ends once the sender is gone and the queue is drained
        std::printf("Worker %d processed: %d\n", w, job);
        M::sleep_for(10ms);  // the work; meanwhile the other workers take the next jobs
        ++done;
      }
      return done;
    }));
  }
  rx = {};  // main keeps no receiver of its own
  for (int i = 0; i < 10; ++i) tx.send(i);
  tx = {};  // Rust's drop(tx): closes the channel
  int total = 0;
  for (auto& w : workers) total += w.join();
  std::printf("%d jobs processed by 4 workers\n", total);
  return total == 10 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  return examples::run_on_model(argc, argv, []<weft::model M>() { return run<M>(); });
}
