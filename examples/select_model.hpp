// Shared by the examples: pick the concurrency model from the command line and run the example's
// template on it.
//
//   int main(int argc, char** argv) {
//     return examples::run_on_model(argc, argv, []<weft::model M>() { return run<M>(); });
//   }
//
// --model=os (the default) instantiates weft::os::model; --model=fiber instantiates
// weft::fiber::model, whose fibers run on the default runtime (started on first spawn).
#pragma once

#include <cstdio>
#include <string_view>

#include <weft/fiber.hpp>
#include <weft/model.hpp>
#include <weft/os.hpp>

namespace examples {

template <class Program>
int run_on_model(int argc, char** argv, Program program) {
  std::string_view model = "os";
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.starts_with("--model=")) {
      model = arg.substr(8);
    } else {
      std::fprintf(stderr, "usage: %s [--model=os|fiber]\n", argv[0]);
      return 2;
    }
  }
  if (model == "os") return program.template operator()<weft::os::model>();
  if (model == "fiber") return program.template operator()<weft::fiber::model>();
  std::fprintf(stderr, "%s: unknown model '%.*s' (expected os or fiber)\n", argv[0],
               static_cast<int>(model.size()), model.data());
  return 2;
}

}  // namespace examples
