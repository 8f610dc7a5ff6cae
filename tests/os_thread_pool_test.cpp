// weft::os::thread_pool: every job runs exactly once, draining on shutdown/destruction, argument
// checks, job exceptions, names.
#include <atomic>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <weft/os.hpp>

namespace {

namespace os = weft::os;

::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

TEST(OsThreadPool, RunsEveryJobExactlyOnce) {
  constexpr int kJobs = 1000;
  std::vector<std::atomic<int>> runs(kJobs);
  std::atomic<int> total{0};
  {
    os::thread_pool pool(4);
    EXPECT_EQ(pool.size(), 4u);
    for (int i = 0; i < kJobs; ++i) {
      pool.execute([&runs, &total, i] {
        runs[i].fetch_add(1);
        total.fetch_add(1);
      });
    }
  }  // destructor drains the queue and joins
  EXPECT_EQ(total.load(), kJobs);
  for (int i = 0; i < kJobs; ++i) EXPECT_EQ(runs[i].load(), 1) << "job " << i;
}

TEST(OsThreadPool, ConcurrentSubmitters) {
  constexpr int kSubmitters = 4;
  constexpr int kPerSubmitter = 250;
  std::vector<std::atomic<int>> runs(kSubmitters * kPerSubmitter);
  {
    os::thread_pool pool(3);
    std::vector<os::join_handle<void>> submitters;
    for (int s = 0; s < kSubmitters; ++s) {
      submitters.push_back(os::spawn([&pool, &runs, s] {
        for (int j = 0; j < kPerSubmitter; ++j) {
          pool.execute([&runs, s, j] { runs[s * kPerSubmitter + j].fetch_add(1); });
        }
      }));
    }
    for (auto& h : submitters) h.join();
  }
  for (const auto& r : runs) EXPECT_EQ(r.load(), 1);
}

// Deterministic drain: the only worker is blocked while shutdown() starts, so all queued jobs are
// still in the queue when shutdown begins, and shutdown() must run them before it returns.
TEST(OsThreadPool, ShutdownDrainsQueuedWork) {
  constexpr int kQueued = 100;
  std::atomic<int> ran{0};
  std::promise<void> gate;
  os::thread_pool pool(1);
  pool.execute([g = gate.get_future()] { g.wait(); });
  for (int i = 0; i < kQueued; ++i) pool.execute([&ran] { ran.fetch_add(1); });
  // Opens the gate once shutdown has started, which execute() reports by throwing.
  auto opener = os::spawn([&pool, &gate] {
    for (;;) {
      try {
        pool.execute([] {});
      } catch (const std::logic_error&) {
        break;
      }
      os::yield();
    }
    gate.set_value();
  });
  pool.shutdown();
  opener.join();
  EXPECT_EQ(ran.load(), kQueued);
}

TEST(OsThreadPool, DestructorDrainsQueuedWork) {
  constexpr int kQueued = 100;
  std::atomic<int> ran{0};
  std::promise<void> gate;
  {
    os::thread_pool pool(2);
    auto opened = gate.get_future().share();
    pool.execute([opened] { opened.wait(); });
    pool.execute([opened] { opened.wait(); });
    for (int i = 0; i < kQueued; ++i) pool.execute([&ran] { ran.fetch_add(1); });
    gate.set_value();
  }
  EXPECT_EQ(ran.load(), kQueued);
}

TEST(OsThreadPool, ZeroThreadsIsRejected) {
  try {
    os::thread_pool pool(0);
    FAIL() << "thread_pool(0) did not throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "weft::os::thread_pool: thread count must be > 0");
  }
}

TEST(OsThreadPool, ExecuteAfterShutdownThrows) {
  os::thread_pool pool(2, "closed");
  pool.shutdown();
  pool.shutdown();  // idempotent
  try {
    pool.execute([] {});
    FAIL() << "execute() after shutdown() did not throw";
  } catch (const std::logic_error& e) {
    EXPECT_TRUE(Contains(e.what(), "'closed'"));
    EXPECT_TRUE(Contains(e.what(), "shutting down"));
  }
}

TEST(OsThreadPool, ThrowingJobIsReportedAndTheWorkerSurvives) {
  os::thread_pool pool(1, "fragile");
  std::promise<std::string> after;
  auto after_future = after.get_future();
  ::testing::internal::CaptureStderr();
  pool.execute([] { throw std::runtime_error("job exploded"); });
  // Same single worker: this runs only if the worker survived the exception, and after the
  // report was written and counted.
  pool.execute([&after] { after.set_value(std::string(os::current_name())); });
  EXPECT_EQ(after_future.get(), "fragile/0");
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(Contains(err, "weft: thread_pool 'fragile': a job threw: job exploded"));
  EXPECT_EQ(pool.failed_jobs(), 1u);
}

TEST(OsThreadPool, ShutdownFromAJobThrows) {
  os::thread_pool pool(1, "self");
  std::promise<std::string> message;
  auto message_future = message.get_future();
  pool.execute([&pool, &message] {
    try {
      pool.shutdown();
      message.set_value("no exception");
    } catch (const std::logic_error& e) {
      message.set_value(e.what());
    }
  });
  EXPECT_TRUE(Contains(message_future.get(), "cannot join itself"));
}

TEST(OsThreadPool, JobsMayBeMoveOnlyAndMayExecuteMoreJobs) {
  std::promise<int> result;
  auto result_future = result.get_future();
  os::thread_pool pool(2);
  pool.execute([&pool, p = std::make_unique<int>(41), &result]() mutable {
    pool.execute([q = std::move(p), &result] { result.set_value(*q + 1); });
  });
  EXPECT_EQ(result_future.get(), 42);
}

TEST(OsThreadPool, WorkersAreNamedAfterThePool) {
  std::promise<std::string> name;
  auto name_future = name.get_future();
  os::thread_pool pool(3, "io");
  EXPECT_EQ(pool.name(), "io");
  pool.execute([&name] { name.set_value(std::string(os::current_name())); });
  const std::string n = name_future.get();
  EXPECT_TRUE(n == "io/0" || n == "io/1" || n == "io/2") << n;
}

}  // namespace
