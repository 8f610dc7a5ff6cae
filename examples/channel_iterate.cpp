// The Rust book, chapter 16 (seed 000, Listing 16-10): several values with a pause between
// them, received by iterating over the receiver. The loop ends when the sender is gone.
//
//   channel_iterate [--model=os|fiber]      prints "Got: 1hi" ... "Got: 4hi", one per second
#include <chrono>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "select_model.hpp"

namespace {

template <weft::model M>
int run() {
  using namespace std::chrono_literals;
  auto [tx, rx] = M::template channel<std::string>();
  auto h = M::spawn([tx = std::move(tx)] {
    std::vector<std::string> vals = {"1hi", "2hi", "3hi", "4hi"};
    for (std::string& val : vals) {
      tx.send(std::move(val));
      M::sleep_for(1s);
    }
  });  // the task's end destroys tx: the channel disconnects and the loop below ends
  for (const std::string& received : rx) std::printf("Got: %s\n", received.c_str());
  h.join();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return examples::run_on_model(argc, argv, []<weft::model M>() { return run<M>(); });
}
