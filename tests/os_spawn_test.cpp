// weft::os::spawn / join_handle / this-task functions: values, exceptions, detach, drop rule,
// stop tokens, argument passing, names and ids.
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <weft/os.hpp>

namespace {

namespace os = weft::os;
using namespace std::chrono_literals;

// gtest death tests fork; "threadsafe" re-executes the binary, which is what a process that has
// started threads needs.
class OsSpawnDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

// Misuse is rejected by spawn's constraints, not deep inside std::thread.
template <class... A>
concept can_spawn = requires(A&&... a) {
  os::spawn(std::forward<A>(a)...);
};
using takes_int = decltype([](int) {});
using takes_unique = decltype([](std::unique_ptr<int>) {});
using wants_token = decltype([](std::stop_token, int) { return 1; });
static_assert(can_spawn<takes_int, int>);
static_assert(!can_spawn<takes_int>);                            // missing argument
static_assert(!can_spawn<takes_int, std::string>);               // wrong argument type
static_assert(can_spawn<takes_unique, std::unique_ptr<int>>);    // moved in
static_assert(!can_spawn<takes_unique, std::unique_ptr<int>&>);  // lvalue: would need a copy
static_assert(can_spawn<weft::spawn_options&, takes_int, int>);  // options overload
static_assert(!can_spawn<int>);                                  // not callable
static_assert(std::is_same_v<os::spawn_result_t<wants_token, int>, int>);
static_assert(std::is_same_v<os::spawn_result_t<takes_int, int>, void>);

TEST(OsSpawn, JoinReturnsInt) {
  auto h = os::spawn([] { return 6 * 7; });
  EXPECT_TRUE(h.joinable());
  EXPECT_EQ(h.join(), 42);
  EXPECT_FALSE(h.joinable());
}

TEST(OsSpawn, JoinReturnsString) {
  auto h = os::spawn([] { return std::string("hello from a task"); });
  EXPECT_EQ(h.join(), "hello from a task");
}

TEST(OsSpawn, JoinReturnsMoveOnlyValue) {
  auto h = os::spawn([] { return std::make_unique<int>(7); });
  std::unique_ptr<int> p = h.join();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 7);
}

TEST(OsSpawn, JoinVoidWaitsForTheTask) {
  int written = 0;  // plain int: join() must order the task's write before the read below
  auto h = os::spawn([&written] {
    os::sleep_for(1ms);
    written = 1;
  });
  static_assert(std::is_same_v<decltype(h.join()), void>);
  h.join();
  EXPECT_EQ(written, 1);
}

TEST(OsSpawn, JoinReturnsReference) {
  int target = 5;
  auto h = os::spawn([&target]() -> int& { return target; });
  int& r = h.join();
  EXPECT_EQ(&r, &target);
}

TEST(OsSpawn, JoinRethrowsTheTasksException) {
  auto h = os::spawn([]() -> int { throw std::runtime_error("task failed: disk on fire"); });
  try {
    (void)h.join();
    FAIL() << "join() did not rethrow";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "task failed: disk on fire");
  }
  EXPECT_FALSE(h.joinable());
}

TEST(OsSpawn, JoinRethrowsTheExactExceptionType) {
  auto h = os::spawn([] { throw std::out_of_range("index 9 of 3"); });
  EXPECT_THROW(h.join(), std::out_of_range);
}

TEST(OsSpawn, JoinRethrowsNonStdException) {
  auto h = os::spawn([] { throw 17; });
  try {
    h.join();
    FAIL() << "join() did not rethrow";
  } catch (int v) {
    EXPECT_EQ(v, 17);
  }
}

TEST(OsSpawn, JoinTwiceThrowsLogicErrorNamingTheTask) {
  auto h = os::spawn(weft::spawn_options{.name = "twice"}, [] {});
  h.join();
  try {
    h.join();
    FAIL() << "second join() did not throw";
  } catch (const std::logic_error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("join"));
    EXPECT_THAT(e.what(), ::testing::HasSubstr("'twice'"));
    EXPECT_THAT(e.what(), ::testing::HasSubstr("not joinable"));
  }
  EXPECT_THROW(h.detach(), std::logic_error);
}

TEST(OsSpawn, UnnamedTaskIsNamedByIdInErrors) {
  auto h = os::spawn([] {});
  const std::string expected = "'#" + std::to_string(h.id().value()) + "'";
  h.join();
  try {
    h.join();
    FAIL() << "second join() did not throw";
  } catch (const std::logic_error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr(expected));
  }
}

TEST(OsSpawn, EmptyHandleIsNotJoinable) {
  os::join_handle<int> h;
  EXPECT_FALSE(h.joinable());
  EXPECT_EQ(h.id(), os::task_id());
  EXPECT_EQ(h.name(), "");
  EXPECT_FALSE(h.request_stop());
  EXPECT_FALSE(h.get_stop_token().stop_possible());
  try {
    (void)h.join();
    FAIL() << "join() on an empty handle did not throw";
  } catch (const std::logic_error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("empty handle"));
  }
  EXPECT_THROW(h.detach(), std::logic_error);
}

TEST(OsSpawn, DetachedTaskKeepsRunning) {
  std::promise<void> release;
  std::promise<int> result;
  auto released = release.get_future();
  auto done = result.get_future();
  auto h = os::spawn(
      [](std::future<void> go, std::promise<int> out) {
        go.wait();  // still blocked when the handle detaches
        out.set_value(99);
      },
      std::move(released), std::move(result));
  h.detach();
  EXPECT_FALSE(h.joinable());
  EXPECT_NE(h.id(), os::task_id());  // id survives detach
  release.set_value();
  EXPECT_EQ(done.get(), 99);
  EXPECT_THROW(h.detach(), std::logic_error);
  EXPECT_THROW(h.join(), std::logic_error);
}

// An exception type whose destruction (when the last exception_ptr to it goes) signals the test,
// so the test knows the detached task's state has been released, i.e. its report was written.
struct signalling_error : std::runtime_error {
  signalling_error(const char* what, std::shared_ptr<std::promise<void>> gone)
      : std::runtime_error(what), gone(std::move(gone)) {}
  signalling_error(const signalling_error&) = default;
  ~signalling_error() override {
    if (gone.use_count() == 1) gone->set_value();
  }
  std::shared_ptr<std::promise<void>> gone;
};

TEST(OsSpawn, DetachedTaskExceptionIsReportedNotLost) {
  auto gone = std::make_shared<std::promise<void>>();
  auto gone_future = gone->get_future();
  std::promise<void> release;
  ::testing::internal::CaptureStderr();
  auto h = os::spawn(weft::spawn_options{.name = "lonely"},
                     [gone, released = release.get_future()]() mutable {
                       released.wait();
                       auto signal = std::move(gone);
                       throw signalling_error("nobody joins me", std::move(signal));
                     });
  gone.reset();
  h.detach();
  h = os::join_handle<void>();  // drop the handle's share of the task state
  release.set_value();
  gone_future.wait();
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(err, ::testing::HasSubstr(
                       "weft: detached task 'lonely' ended with an exception: nobody joins me"));
}

TEST(OsSpawn, StopTokenIsDeliveredAndRequestStopIsObserved) {
  std::atomic<bool> started{false};
  auto h = os::spawn([&started](std::stop_token st) {
    started.store(true);
    int spins = 0;
    while (!st.stop_requested()) {
      os::yield();
      ++spins;
    }
    return spins >= 0 ? 42 : -1;
  });
  while (!started.load()) os::yield();
  EXPECT_FALSE(h.get_stop_token().stop_requested());
  EXPECT_TRUE(h.request_stop());
  EXPECT_FALSE(h.request_stop());  // already requested
  EXPECT_TRUE(h.get_stop_token().stop_requested());
  EXPECT_EQ(h.join(), 42);
}

TEST(OsSpawn, StopTokenComesBeforeArguments) {
  auto h = os::spawn(
      [](std::stop_token st, int a, std::string b) {
        return st.stop_possible() ? b + std::to_string(a) : std::string("no token");
      },
      7, std::string("seven="));
  EXPECT_EQ(h.join(), "seven=7");
}

TEST(OsSpawn, CallableWithoutTokenParameterGetsNoToken) {
  auto h = os::spawn([](int a) { return a + 1; }, 1);
  EXPECT_EQ(h.join(), 2);
}

TEST(OsSpawn, MoveOnlyArgumentsAreMovedIn) {
  auto p = std::make_unique<int>(40);
  auto h = os::spawn([](std::unique_ptr<int> q, std::string s) { return *q + int(s.size()); },
                     std::move(p), std::string("ab"));
  EXPECT_EQ(p, nullptr);
  EXPECT_EQ(h.join(), 42);
}

TEST(OsSpawn, ArgumentsAreCopiedUnlessWrappedInRef) {
  int copied = 1;
  int shared = 1;
  auto h1 = os::spawn(
      [](int v) {
        v = 100;
        return v;
      },
      copied);
  auto h2 = os::spawn([](int& v) { v = 100; }, std::ref(shared));
  EXPECT_EQ(h1.join(), 100);
  h2.join();
  EXPECT_EQ(copied, 1);
  EXPECT_EQ(shared, 100);
}

TEST(OsSpawn, FreeFunctionAndMemberFunction) {
  struct counter {
    int add(int v) const { return base + v; }
    int base = 10;
  };
  counter c;
  auto h1 = os::spawn(&counter::add, &c, 5);
  auto h2 = os::spawn(
      +[](int v) { return v * 2; }, 21);
  EXPECT_EQ(h1.join(), 15);
  EXPECT_EQ(h2.join(), 42);
}

TEST(OsSpawn, NamesAreVisibleInsideAndOnTheHandle) {
  EXPECT_EQ(os::current_name(), "");  // the test's main thread is not a named task
  auto named = os::spawn(weft::spawn_options{.name = "worker-7"},
                         [] { return std::string(os::current_name()); });
  auto unnamed = os::spawn([] { return std::string(os::current_name()); });
  EXPECT_EQ(named.name(), "worker-7");
  EXPECT_EQ(unnamed.name(), "");
  EXPECT_EQ(named.join(), "worker-7");
  EXPECT_EQ(unnamed.join(), "");
  EXPECT_EQ(named.name(), "worker-7");  // still available after join
}

TEST(OsSpawn, StackSizeAndPinnedAreAccepted) {
  auto h = os::spawn(weft::spawn_options{.name = "big", .stack_size = 1 << 20, .pinned = true},
                     [] { return 1; });
  EXPECT_EQ(h.join(), 1);
}

TEST(OsSpawn, IdsIdentifyTasks) {
  const os::task_id main_id = os::current_id();
  EXPECT_EQ(os::current_id(), main_id);  // stable
  EXPECT_NE(main_id, os::task_id());
  auto a = os::spawn([] { return os::current_id(); });
  auto b = os::spawn([] { return os::current_id(); });
  const os::task_id a_id = a.id();
  const os::task_id b_id = b.id();
  EXPECT_EQ(a.join(), a_id);
  EXPECT_EQ(b.join(), b_id);
  EXPECT_NE(a_id, b_id);
  EXPECT_NE(a_id, main_id);
  std::unordered_set<os::task_id> ids{main_id, a_id, b_id};
  EXPECT_EQ(ids.size(), 3u);
  std::ostringstream out;
  out << a_id;
  EXPECT_EQ(out.str(), std::to_string(a_id.value()));
}

TEST(OsSpawn, ManyTasks) {
  std::vector<os::join_handle<int>> handles;
  for (int i = 0; i < 32; ++i) handles.push_back(os::spawn([i] { return i; }));
  int sum = 0;
  for (auto& h : handles) sum += h.join();
  EXPECT_EQ(sum, 31 * 32 / 2);
}

TEST(OsSpawn, MoveTransfersOwnership) {
  auto a = os::spawn([] { return 3; });
  const os::task_id id = a.id();
  os::join_handle<int> b = std::move(a);
  EXPECT_FALSE(a.joinable());  // NOLINT(bugprone-use-after-move): moved-from state is specified
  EXPECT_TRUE(b.joinable());
  EXPECT_EQ(b.id(), id);
  os::join_handle<int> c;
  c = std::move(b);
  EXPECT_EQ(c.join(), 3);
}

TEST(OsSpawn, JoiningYourselfThrowsInsteadOfDeadlocking) {
  std::promise<os::join_handle<std::string>*> self;
  auto h = os::spawn([f = self.get_future()]() mutable {
    os::join_handle<std::string>* me = f.get();
    try {
      (void)me->join();
      return std::string("joined itself?!");
    } catch (const std::logic_error& e) {
      return std::string(e.what());
    }
  });
  self.set_value(&h);
  const std::string message = h.join();
  EXPECT_THAT(message, ::testing::HasSubstr("cannot join itself"));
}

TEST(OsSpawn, SleepForWaitsAtLeastTheRequestedTime) {
  const auto start = std::chrono::steady_clock::now();
  os::sleep_for(5ms);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 5ms);
  os::sleep_for(-1ms);  // returns at once
  os::sleep_for(0s);
}

TEST(OsSpawn, SleepUntilAnyClock) {
  const auto steady_deadline = std::chrono::steady_clock::now() + 3ms;
  os::sleep_until(steady_deadline);
  EXPECT_GE(std::chrono::steady_clock::now(), steady_deadline);
  const auto system_deadline = std::chrono::system_clock::now() + 3ms;
  os::sleep_until(system_deadline);
  EXPECT_GE(std::chrono::system_clock::now(), system_deadline);
  os::sleep_until(std::chrono::steady_clock::now() - 1s);  // in the past: returns at once
}

TEST(OsSpawn, YieldReturns) {
  for (int i = 0; i < 10; ++i) os::yield();
  SUCCEED();
}

TEST_F(OsSpawnDeathTest, DroppingAJoinableHandleTerminatesWithItsName) {
  EXPECT_DEATH(
      {
        auto h = os::spawn(weft::spawn_options{.name = "dropper"}, [] {});
        (void)h;
      },
      "weft: join_handle of task 'dropper' destroyed while joinable \\(join\\(\\) or "
      "detach\\(\\) it\\)");
}

TEST_F(OsSpawnDeathTest, DroppingAnUnnamedHandleNamesItsId) {
  EXPECT_DEATH(
      {
        auto h = os::spawn([] {});
        (void)h;
      },
      "weft: join_handle of task '#[0-9]+' destroyed while joinable");
}

TEST_F(OsSpawnDeathTest, AssigningOverAJoinableHandleTerminates) {
  EXPECT_DEATH(
      {
        auto h = os::spawn(weft::spawn_options{.name = "overwritten"}, [] {});
        h = os::spawn([] {});
        h.join();
      },
      "weft: join_handle of task 'overwritten' destroyed while joinable");
}

}  // namespace
