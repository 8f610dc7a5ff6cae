// The Rust book, chapter 16 (Listing 16-11; seed 003's multi-producer example): two producers,
// one of them with a copy of the sender, pausing between messages; the receiver iterates until
// both senders are gone.
//
//   channel_producers [--model=os|fiber]    prints the 8 messages, the two streams interleaved
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
  auto tx1 = tx;  // Rust's Sender::clone: the channel now has two senders
  auto send_all = [](typename M::template sender<std::string> to, std::vector<std::string> vals) {
    for (std::string& val : vals) {
      to.send(std::move(val));
      M::sleep_for(1s);
    }
  };
  auto a =
      M::spawn(send_all, std::move(tx1), std::vector<std::string>{"hi", "from", "the", "thread"});
  auto b =
      M::spawn(send_all, std::move(tx), std::vector<std::string>{"more", "messages", "for", "you"});
  for (const std::string& received : rx) std::printf("Got: %s\n", received.c_str());
  a.join();
  b.join();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return examples::run_on_model(argc, argv, []<weft::model M>() { return run<M>(); });
}
