// Seed 003's tokio::select! example as a select over channels (Go's select): two timers, one
// after 1 s and one after 2 s, each a task that sleeps and then sends; the select takes
// whichever comes first. Before that, a select with a 500 ms timeout finds nothing ready.
//
//   channel_select [--model=os|fiber]       prints "no message within 500 ms", then "1s passed"
#include <chrono>
#include <cstdio>
#include <utility>

#include "select_model.hpp"

namespace {

template <weft::model M>
int run() {
  using namespace std::chrono_literals;
  // A channel that delivers one value after `d`, like Go's time.After.
  auto after = [](std::chrono::milliseconds d) {
    auto [tx, rx] = M::template sync_channel<int>(1);
    auto h = M::spawn([d, tx = std::move(tx)] {
      M::sleep_for(d);
      tx.send(0);  // buffered: the timer task never waits for a reader
    });
    return std::pair(std::move(rx), std::move(h));
  };
  auto [one_second, t1] = after(1000ms);
  auto [two_seconds, t2] = after(2000ms);

  M::select(weft::chan::on_recv(one_second, [](auto) { std::puts("1s passed"); }),
            weft::chan::on_recv(two_seconds, [](auto) { std::puts("2s passed"); }),
            weft::chan::on_timeout(500ms, [] { std::puts("no message within 500 ms"); }));
  const std::size_t fired =
      M::select(weft::chan::on_recv(one_second, [](auto) { std::puts("1s passed"); }),
                weft::chan::on_recv(two_seconds, [](auto) { std::puts("2s passed"); }));
  t1.join();
  t2.join();
  return fired == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  return examples::run_on_model(argc, argv, []<weft::model M>() { return run<M>(); });
}
