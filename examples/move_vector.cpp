// The Rust book, Listing 16-5: the task takes ownership of a vector (captured by move, like a
// `move` closure), so main cannot use it afterwards and the task cannot outlive it.
//
//   move_vector [--model=os|fiber]
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include <weft/os.hpp>

#include "select_model.hpp"

namespace {

std::string to_string(const std::vector<int>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i != 0) out += ", ";
    out += std::to_string(v[i]);
  }
  return out + "]";
}

template <weft::model M>
int run() {
  std::vector<int> v{1, 2, 3};
  auto handle =
      M::spawn([v = std::move(v)] { std::printf("Here's a vector: %s\n", to_string(v).c_str()); });
  handle.join();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return examples::run_on_model(argc, argv, []<weft::model M>() { return run<M>(); });
}
