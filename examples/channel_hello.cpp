// The Rust book, chapter 16 (seed 000, Listing 16-8): one message across a channel. The spawned
// task moves a String into the channel; the main task blocks in recv() until it arrives.
//
//   channel_hello [--model=os|fiber]        prints "Got: hi"
#include <cstdio>
#include <string>
#include <utility>

#include "select_model.hpp"

namespace {

template <weft::model M>
int run() {
  auto [tx, rx] = M::template channel<std::string>();
  auto h = M::spawn([tx = std::move(tx)] {
    std::string val = "hi";
    tx.send(std::move(val));  // val is moved into the channel, as in Rust
  });
  const std::string received = rx.recv().value();  // value(): Rust's unwrap()
  std::printf("Got: %s\n", received.c_str());
  h.join();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return examples::run_on_model(argc, argv, []<weft::model M>() { return run<M>(); });
}
