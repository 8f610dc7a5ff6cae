// The weft::model concept and the model tags. The typed tests use only the concept's names, so
// they run unchanged once weft::fiber::model joins the type list.
#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

#include <gtest/gtest.h>
#include <weft/model.hpp>
#include <weft/os.hpp>

namespace {

using namespace std::chrono_literals;

static_assert(weft::model<weft::os::model>);
static_assert(std::string_view(weft::os::model::name) == "os");

// Negative checks: the concept rejects types that lack the vocabulary.
struct not_a_model {};
static_assert(!weft::model<not_a_model>);
static_assert(!weft::model<int>);

template <class M>
class ModelTest : public ::testing::Test {};

using Models = ::testing::Types<weft::os::model>;

// Prints "os" instead of "0" in test names.
class ModelNames {
 public:
  template <class M>
  static std::string GetName(int) {
    return M::name;
  }
};

TYPED_TEST_SUITE(ModelTest, Models, ModelNames);

TYPED_TEST(ModelTest, SpawnJoinReturnsValue) {
  using M = TypeParam;
  auto h = M::spawn([] { return 6 * 7; });
  static_assert(std::is_same_v<decltype(h), typename M::template join_handle<int>>);
  EXPECT_EQ(h.join(), 42);
}

TYPED_TEST(ModelTest, SpawnWithArgumentsAndOptions) {
  using M = TypeParam;
  weft::spawn_options opts;
  opts.name = "typed";
  auto h = M::spawn(
      opts, [](int a, std::string b) { return b + std::to_string(a); }, 7, std::string("x="));
  EXPECT_EQ(h.join(), "x=7");
}

TYPED_TEST(ModelTest, VoidTaskAndException) {
  using M = TypeParam;
  int written = 0;
  auto v = M::spawn([&written] { written = 1; });
  v.join();
  EXPECT_EQ(written, 1);
  auto e = M::spawn([]() -> int { throw std::runtime_error("typed failure"); });
  try {
    (void)e.join();
    FAIL() << "join() did not rethrow";
  } catch (const std::runtime_error& err) {
    EXPECT_STREQ(err.what(), "typed failure");
  }
}

TYPED_TEST(ModelTest, CurrentIdDiffersBetweenTasks) {
  using M = TypeParam;
  const typename M::id here = M::current_id();
  EXPECT_EQ(M::current_id(), here);
  auto a = M::spawn([] { return M::current_id(); });
  auto b = M::spawn([] { return M::current_id(); });
  const typename M::id a_id = a.join();
  const typename M::id b_id = b.join();
  EXPECT_NE(a_id, b_id);
  EXPECT_NE(a_id, here);
  EXPECT_NE(b_id, here);
}

TYPED_TEST(ModelTest, YieldAndSleep) {
  using M = TypeParam;
  auto h = M::spawn([] {
    M::yield();
    const auto start = std::chrono::steady_clock::now();
    M::sleep_for(2ms);
    const auto slept = std::chrono::steady_clock::now() - start;
    const auto deadline = std::chrono::steady_clock::now() + 2ms;
    M::sleep_until(deadline);
    return slept >= 2ms && std::chrono::steady_clock::now() >= deadline;
  });
  EXPECT_TRUE(h.join());
}

TYPED_TEST(ModelTest, HandlesAreMoveOnly) {
  using M = TypeParam;
  using handle = typename M::template join_handle<int>;
  static_assert(std::is_nothrow_move_constructible_v<handle>);
  static_assert(!std::is_copy_constructible_v<handle>);
  handle h = M::spawn([] { return 1; });
  handle moved = std::move(h);
  EXPECT_EQ(moved.join(), 1);
}

}  // namespace
