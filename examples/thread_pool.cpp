// The Rust book, chapter 20: a pool of 4 OS threads executes 8 jobs; dropping the pool runs the
// queued jobs and joins the workers. The jobs are submitted by an "acceptor" task of the chosen
// model (the book's connection loop), so a fiber can hand work to the OS pool as well.
//
//   thread_pool [--model=os|fiber]
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <string>

#include <weft/os.hpp>

#include "select_model.hpp"

namespace {

template <weft::model M>
int run() {
  using namespace std::chrono_literals;
  {
    weft::os::thread_pool pool(4, "pool");
    auto acceptor = M::spawn([&pool] {
      for (std::size_t job = 0; job < 8; ++job) {
        pool.execute([job] {
          const std::string worker(weft::os::current_name());
          std::printf("Worker %s got job %zu; executing.\n", worker.c_str(), job);
          weft::os::sleep_for(10ms);
        });
      }
    });
    acceptor.join();
    std::printf("Shutting down.\n");
  }  // ~thread_pool: every queued job runs, then the 4 workers are joined
  std::printf("All workers shut down.\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return examples::run_on_model(argc, argv, []<weft::model M>() { return run<M>(); });
}
