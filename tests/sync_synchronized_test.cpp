// synchronized<T, Mutex> (sync/synchronized.hpp) over both models' mutexes (the fiber one under
// every policy): the Rust book's counter, exact counts through lock() and with(), guards,
// try_lock, shared read access over a shared_mutex, std::mutex as the lock.
#include <weft/fiber.hpp>
#include <weft/os.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "support.hpp"
#include "sync_support.hpp"

namespace {

using namespace std::chrono_literals;
using sync_test::run_tasks;
using weft_test::watchdog;

template <class E>
class Synchronized : public ::testing::Test {};
TYPED_TEST_SUITE(Synchronized, sync_test::envs, sync_test::env_name);

// The Rust book, Listing 16-15: Arc<Mutex<i32>> shared by 10 threads.
TYPED_TEST(Synchronized, TheCounterOfTheRustBook) {
  TypeParam::run([] {
    using M = typename TypeParam::M;
    auto counter = std::make_shared<typename M::template synchronized<int>>(0);
    std::vector<typename M::template join_handle<void>> handles;
    for (int i = 0; i < 10; ++i)
      handles.push_back(M::spawn([counter] {
        auto num = counter->lock();
        *num += 1;
      }));
    for (auto& h : handles) h.join();
    EXPECT_EQ(*counter->lock(), 10);
  });
}

TYPED_TEST(Synchronized, SixteenTasksIncrementExactly) {
  watchdog dog("synchronized 16 x 100k", 120s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::template synchronized<long> counter(0);
    const int per_task = 100'000 / weft_test::scale;
    run_tasks<M>(16, [&](int t) {
      for (int i = 0; i < per_task; ++i) {
        if (t % 2 == 0)
          ++*counter.lock();
        else
          counter.with([](long& n) { ++n; });
      }
    });
    EXPECT_EQ(counter.with([](const long& n) { return n; }), 16L * per_task);
  });
}

TYPED_TEST(Synchronized, GuardsTryLockAndWith) {
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::template synchronized<std::string> s("abc");
    {
      auto g = s.lock();
      EXPECT_EQ(g->size(), 3u);
      g->append("d");
      auto elsewhere = M::spawn([&s] { return s.try_lock().has_value(); });
      EXPECT_FALSE(elsewhere.join()) << "held by the guard";
      auto moved = std::move(g);
      EXPECT_EQ(*moved, "abcd");
      EXPECT_THROW((void)*g, std::logic_error) << "a moved-from guard holds nothing";
    }
    if (auto again = s.try_lock())
      **again += "e";
    else
      ADD_FAILURE() << "free, yet try_lock failed";
    EXPECT_EQ(s.with([](const std::string& v) { return v.size(); }), 5u);
    const auto& cs = s;
    EXPECT_EQ(*cs.lock(), "abcde");
    static_assert(std::is_same_v<decltype(*cs.lock()), const std::string&>);
  });
}

// Over a shared_mutex, const access takes the shared lock: several readers are inside at once.
TYPED_TEST(Synchronized, ConstAccessIsSharedOverASharedMutex) {
  watchdog dog("shared reads", 60s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    const weft::sync::synchronized<int, typename M::shared_mutex> s(7);
    std::atomic<int> inside{0};
    constexpr int n = 4;
    run_tasks<M>(n, [&](int) {
      auto g = s.lock();
      inside.fetch_add(1);
      sync_test::wait_until<M>([&] { return inside.load() == n; });
      EXPECT_EQ(*g, 7);
    });
    EXPECT_EQ(inside.load(), n);
  });
}

TEST(SynchronizedStd, WorksOverAStandardMutex) {
  weft::os::synchronized<std::vector<int>, std::mutex> v;
  v.lock()->push_back(1);
  v.with([](std::vector<int>& x) { x.push_back(2); });
  EXPECT_EQ(v.with([](const std::vector<int>& x) { return x.size(); }), 2u);
}

}  // namespace
