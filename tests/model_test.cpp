// The one vocabulary, checked once for both models: every case here runs on weft::os (a thread
// per task) and weft::fiber (fibers on the default runtime) through the weft::model concept.
#include <weft/fiber.hpp>
#include <weft/os.hpp>

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;

template <class M>
class Model : public ::testing::Test {};

struct model_names {
  template <class M>
  static std::string GetName(int) {
    return M::name;
  }
};
using Models = ::testing::Types<weft::os::model, weft::fiber::model>;
TYPED_TEST_SUITE(Model, Models, model_names);

static_assert(weft::model<weft::os::model>);
static_assert(weft::model<weft::fiber::model>);

TYPED_TEST(Model, JoinReturnsValuesOfEveryKind) {
  using M = TypeParam;
  EXPECT_EQ(M::spawn([] { return 7; }).join(), 7);
  EXPECT_EQ(M::spawn([](std::string a, std::string b) { return a + b; }, "con", "cat").join(),
            "concat");
  auto up = M::spawn([] { return std::make_unique<int>(5); }).join();
  EXPECT_EQ(*up, 5);
  auto moved_in = std::make_unique<int>(9);
  EXPECT_EQ(M::spawn([](std::unique_ptr<int> p) { return *p; }, std::move(moved_in)).join(), 9);
  int side = 0;
  M::spawn([&side] { side = 3; }).join();
  EXPECT_EQ(side, 3);
}

TYPED_TEST(Model, JoinRethrowsTheTasksException) {
  using M = TypeParam;
  auto h = M::spawn([]() -> int { throw std::invalid_argument("no such thing"); });
  try {
    h.join();
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "no such thing");
  }
  EXPECT_FALSE(h.joinable());
  EXPECT_THROW(h.join(), std::logic_error);
}

TYPED_TEST(Model, DetachedTaskStillRuns) {
  using M = TypeParam;
  std::atomic<bool> ran{false};
  auto h = M::spawn([&ran] { ran.store(true); });
  h.detach();
  EXPECT_FALSE(h.joinable());
  for (int i = 0; i < 2000 && !ran.load(); ++i) std::this_thread::sleep_for(1ms);
  EXPECT_TRUE(ran.load());
}

// What a task owns through its callable and arguments is released when the task ends, not when
// it is joined (a sender moved into a producer closes its channel as the producer ends).
TYPED_TEST(Model, CallableAndArgumentsDieWhenTheTaskEnds) {
  using M = TypeParam;
  std::atomic<int> destroyed{0};
  struct probe {
    std::atomic<int>* count;
    explicit probe(std::atomic<int>* c) : count(c) {}
    probe(probe&& o) noexcept : count(std::exchange(o.count, nullptr)) {}
    ~probe() {
      if (count != nullptr) count->fetch_add(1);
    }
  };
  auto h = M::spawn([p = probe(&destroyed)](probe arg) { return arg.count != nullptr; },
                    probe(&destroyed));
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (destroyed.load() < 2 && std::chrono::steady_clock::now() < until) M::yield();
  EXPECT_EQ(destroyed.load(), 2) << "the finished task still holds its callable or argument";
  EXPECT_TRUE(h.join());
  EXPECT_EQ(destroyed.load(), 2);
}

TYPED_TEST(Model, NamesIdsAndStopTokens) {
  using M = TypeParam;
  auto h = M::spawn(weft::spawn_options{.name = "worker-7"},
                    [] { return std::string(M::current_name()); });
  EXPECT_EQ(h.name(), "worker-7");
  EXPECT_EQ(h.join(), "worker-7");

  auto a = M::spawn([] { return M::current_id(); });
  auto b = M::spawn([] { return M::current_id(); });
  const auto ida = a.id(), idb = b.id();
  EXPECT_EQ(a.join(), ida);
  EXPECT_EQ(b.join(), idb);
  EXPECT_NE(ida, idb);
  EXPECT_NE(ida, M::current_id());

  auto s = M::spawn(
      [](std::stop_token tok, int limit) {
        int spins = 0;
        while (!tok.stop_requested() && spins < limit) {
          M::sleep_for(1ms);
          ++spins;
        }
        return tok.stop_requested();
      },
      100000);
  EXPECT_TRUE(s.request_stop());
  EXPECT_TRUE(s.join());
}

TYPED_TEST(Model, SleepForWaitsAtLeastTheDuration) {
  using M = TypeParam;
  auto h = M::spawn([] {
    const auto t0 = std::chrono::steady_clock::now();
    M::sleep_for(20ms);
    const auto slept = std::chrono::steady_clock::now() - t0;
    M::sleep_until(std::chrono::steady_clock::now() + 5ms);
    M::yield();
    return slept;
  });
  EXPECT_GE(h.join(), 20ms);
}

TYPED_TEST(Model, ScopeBorrowsLocalsAndJoinsAll) {
  using M = TypeParam;
  std::array<int, 16> slots{};
  const int total = M::scope([&](typename M::scope_t& s) {
    for (int i = 0; i < 16; ++i) s.spawn([&slots, i] { slots[i] = i * i; });
    auto early = s.spawn([] { return 100; });
    return early.join();
  });
  EXPECT_EQ(total, 100);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(slots[i], i * i);
}

TYPED_TEST(Model, ScopeRethrowsFirstErrorAfterAllFinished) {
  using M = TypeParam;
  std::atomic<int> finished{0};
  try {
    M::scope([&](typename M::scope_t& s) {
      s.spawn([&] {
        M::sleep_for(5ms);
        finished.fetch_add(1);
        throw std::runtime_error("first");
      });
      for (int i = 0; i < 4; ++i)
        s.spawn([&] {
          M::sleep_for(20ms);
          finished.fetch_add(1);
        });
      s.spawn([&] {
        M::sleep_for(10ms);
        finished.fetch_add(1);
        throw std::runtime_error("second");
      });
    });
    FAIL() << "scope must rethrow";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "first");
  }
  EXPECT_EQ(finished.load(), 6) << "every task ended before the rethrow";
}

TYPED_TEST(Model, ScopeTasksMaySpawnIntoTheScope) {
  using M = TypeParam;
  std::atomic<int> n{0};
  M::scope([&](typename M::scope_t& s) {
    for (int i = 0; i < 4; ++i)
      s.spawn([&] {
        for (int k = 0; k < 4; ++k) s.spawn([&] { n.fetch_add(1); });
      });
  });
  EXPECT_EQ(n.load(), 16);
}

TYPED_TEST(Model, ManyTasksEachCounted) {
  using M = TypeParam;
  std::atomic<int> n{0};
  std::vector<typename M::template join_handle<int>> hs;
  for (int i = 0; i < 200; ++i)
    hs.push_back(M::spawn([&n, i] {
      n.fetch_add(1);
      return i;
    }));
  long sum = 0;
  for (auto& h : hs) sum += h.join();
  EXPECT_EQ(n.load(), 200);
  EXPECT_EQ(sum, 199 * 200 / 2);
}

}  // namespace
