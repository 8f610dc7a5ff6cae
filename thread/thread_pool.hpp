// weft::os::thread_pool — a fixed set of OS threads running queued jobs (the Rust book's
// chapter 20 ThreadPool, with its drop semantics).
//
//   weft::os::thread_pool pool(4);
//   for (int i = 0; i < 8; ++i) pool.execute([i] { std::printf("job %d\n", i); });
//   // ~thread_pool: runs every queued job, then joins the 4 workers
#pragma once

#include <atomic>
#include <concepts>
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <deque>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <weft/model.hpp>
#include <weft/thread/join_handle.hpp>
#include <weft/thread/spawn.hpp>
#include <weft/thread/task_body.hpp>
#include <weft/thread/unique_job.hpp>

namespace weft::os {

class thread_pool;

namespace detail {
// The pool whose job the calling thread is running, if any: lets shutdown() refuse to join the
// worker it runs on. A plain pointer, constant-initialised (no TLS init guard).
inline thread_local const thread_pool* tl_current_pool = nullptr;
}  // namespace detail

class thread_pool {
 public:
  // Starts n worker tasks named "<name>/0" .. "<name>/<n-1>" (what current_name() returns inside
  // a job). Throws std::invalid_argument("weft::os::thread_pool: thread count must be > 0") for
  // n == 0, and std::system_error if a thread cannot be started (the workers already started are
  // shut down and joined first).
  explicit thread_pool(std::size_t n, std::string name = "thread_pool") : name_(std::move(name)) {
    if (n == 0) throw std::invalid_argument("weft::os::thread_pool: thread count must be > 0");
    workers_.reserve(n);  // so that push_back below cannot throw with a started thread in hand
    try {
      for (std::size_t i = 0; i < n; ++i) {
        workers_.push_back(
            os::spawn(spawn_options{.name = detail::str_cat({name_, "/", std::to_string(i)})},
                      [this] { worker_loop(); }));
      }
    } catch (...) {
      shutdown();
      throw;
    }
  }

  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;

  // Stops accepting work, runs every job already queued, then joins the workers: shutdown().
  // Blocks until then. Destroying the pool from one of its own jobs is a deadlock: it prints a
  // message and calls std::terminate.
  ~thread_pool() {
    if (detail::tl_current_pool == this) {
      std::fprintf(stderr,
                   "weft: thread_pool '%s' destroyed by one of its own jobs (it would join "
                   "itself)\n",
                   name_.c_str());
      std::terminate();
    }
    shutdown();
  }

  // Queues f to run once on one of the workers, in FIFO order of execute() calls (with n > 1
  // workers, jobs queued in order may still run concurrently). f is decay-copied; its result is
  // discarded. Thread-safe; callable from jobs. Never blocks on running jobs (only briefly on
  // the queue's mutex).
  // If f throws, the exception is reported on stderr ("weft: thread_pool '<name>': a job threw:
  // <what>"), counted in failed_jobs(), and the worker goes on with the next job.
  // Throws std::logic_error once shutdown has started (destructor or shutdown()), and
  // std::bad_alloc or what copying f throws; f is not queued then.
  template <detail::job_callable F>
  void execute(F&& f) {
    detail::unique_job job(std::forward<F>(f));  // allocate outside the lock
    {
      std::lock_guard lock(mutex_);
      if (stopping_) {
        throw std::logic_error(detail::str_cat({"weft::os::thread_pool::execute: pool '", name_,
                                                "' is shutting down and accepts no new jobs"}));
      }
      queue_.push_back(std::move(job));
    }
    work_available_.notify_one();
  }

  // Stops accepting jobs, lets the workers run every queued job, and joins them. Blocks until
  // then. Idempotent and thread-safe: a second caller waits for the first to finish joining.
  // Throws std::logic_error if called from one of this pool's jobs (the worker would join
  // itself).
  void shutdown() {
    if (detail::tl_current_pool == this) {
      throw std::logic_error(
          detail::str_cat({"weft::os::thread_pool::shutdown: called from a job of pool '", name_,
                           "' (a worker cannot join itself)"}));
    }
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    work_available_.notify_all();
    std::lock_guard join_lock(join_mutex_);
    for (auto& worker : workers_) {
      if (worker.joinable()) worker.join();
    }
  }

  // The number of worker threads (n). Never throws.
  [[nodiscard]] std::size_t size() const noexcept { return workers_.size(); }

  // The pool's name, used for its workers' names and in diagnostics.
  [[nodiscard]] std::string_view name() const noexcept { return name_; }

  // How many jobs have ended with an exception so far. Never blocks.
  [[nodiscard]] std::size_t failed_jobs() const noexcept {
    // relaxed: a statistic; a caller that needs a particular job counted synchronises with that
    // job's end by other means (a later job's signal, shutdown()'s join).
    return failed_jobs_.load(std::memory_order_relaxed);
  }

 private:
  // One worker: take the oldest job, run it outside the lock, repeat; exit once stopping_ is set
  // and the queue is empty (so shutdown drains every queued job first).
  void worker_loop() {
    detail::tl_current_pool = this;
    for (;;) {
      detail::unique_job job;
      {
        std::unique_lock lock(mutex_);
        work_available_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping_ and drained
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      run_job(job);
    }
  }

  void run_job(detail::unique_job& job) noexcept {
    try {
      job();
    } catch (...) {
      // relaxed: see failed_jobs().
      failed_jobs_.fetch_add(1, std::memory_order_relaxed);
      report_failure(std::current_exception());
    }
  }

  void report_failure(const std::exception_ptr& error) const noexcept {
    try {
      const std::string text =
          detail::str_cat({"weft: thread_pool '", name_,
                           "': a job threw: ", detail::describe_exception(error), "\n"});
      std::fputs(text.c_str(), stderr);
    } catch (...) {
      std::fputs("weft: thread_pool: a job threw\n", stderr);
    }
  }

  const std::string name_;
  std::mutex mutex_;                         // guards queue_ and stopping_
  std::condition_variable work_available_;   // signalled on push and on stopping_
  std::deque<detail::unique_job> queue_;     // FIFO
  bool stopping_ = false;                    // set once, by shutdown()
  std::atomic<std::size_t> failed_jobs_{0};  // jobs that threw
  std::mutex join_mutex_;                    // serialises joining workers_ in shutdown()
  // Filled by the constructor only; afterwards only shutdown() touches the handles (under
  // join_mutex_), and size() reads the (then fixed) count.
  std::vector<join_handle<void>> workers_;
};

}  // namespace weft::os
