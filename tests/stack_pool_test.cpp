// The stack pool: sizes, reuse, statistics, guard pages, canaries, cross-thread release.
#include <weft/fiber/fiber.hpp>
#include <weft/fiber/stack.hpp>

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

namespace {

using weft::ctx::stack;
using weft::ctx::stack_pool;
using weft::ctx::stack_protection;

std::size_t page() {
  return static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

TEST(StackPool, DefaultAndRoundedSizes) {
  auto& pool = stack_pool::global();
  stack d = pool.allocate();
  EXPECT_EQ(d.size, weft::ctx::default_stack_size);
  stack odd = pool.allocate(weft::ctx::min_stack_size + 1);
  EXPECT_EQ(odd.size, weft::ctx::min_stack_size + page());
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(odd.limit) % page(), 0u);
  pool.release(d);
  pool.release(odd);
}

TEST(StackPool, BelowMinimumThrowsNamingTheMinimum) {
  try {
    stack_pool::global().allocate(weft::ctx::min_stack_size - 1);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("below the minimum"), std::string::npos) << e.what();
  }
}

TEST(StackPool, ReleasedStackComesBack) {
  auto& pool = stack_pool::global();
  stack a = pool.allocate(128 * 1024);
  std::byte* limit = a.limit;
  pool.release(a);
  stack b = pool.allocate(128 * 1024);
  EXPECT_EQ(b.limit, limit);
  pool.release(b);
}

TEST(StackPool, InUseCountsAndSteadyStateMapsNothing) {
  auto& pool = stack_pool::global();
  const auto before = pool.snapshot();
  std::vector<stack> held;
  for (int i = 0; i < 100; ++i) held.push_back(pool.allocate(32 * 1024));
  EXPECT_EQ(pool.snapshot().stacks_in_use, before.stacks_in_use + 100);
  std::set<std::byte*> distinct;
  for (auto& s : held) distinct.insert(s.limit);
  EXPECT_EQ(distinct.size(), 100u);
  for (auto& s : held) pool.release(s);
  EXPECT_EQ(pool.snapshot().stacks_in_use, before.stacks_in_use);
  const auto mapped = pool.snapshot().stacks_mapped;
  for (int round = 0; round < 10; ++round) {
    held.clear();
    for (int i = 0; i < 100; ++i) held.push_back(pool.allocate(32 * 1024));
    for (auto& s : held) pool.release(s);
  }
  EXPECT_EQ(pool.snapshot().stacks_mapped, mapped) << "reuse must not map new stacks";
}

TEST(StackPool, WholeStackIsUsableAndGuardPageIsFound) {
  auto& pool = stack_pool::global();
  stack s = pool.allocate(64 * 1024);
  ASSERT_EQ(s.protection, stack_protection::guard_page);
  std::memset(s.limit, 0xAB, s.size);  // every usable byte is mapped read-write
  stack found;
  EXPECT_TRUE(pool.find_guarded_stack(s.limit - 1, &found));
  EXPECT_EQ(found.limit, s.limit);
  EXPECT_EQ(found.size, s.size);
  EXPECT_TRUE(pool.find_guarded_stack(s.limit - page(), &found));
  EXPECT_FALSE(pool.find_guarded_stack(s.limit, &found)) << "usable memory is not a guard page";
  EXPECT_FALSE(pool.find_guarded_stack(&found, &found)) << "a thread stack is not ours";
  pool.release(s);
}

TEST(StackPool, ReleaseFromAnotherThread) {
  auto& pool = stack_pool::global();
  const auto before = pool.snapshot().stacks_in_use;
  std::vector<stack> made;
  std::thread producer([&] {
    for (int i = 0; i < 200; ++i) made.push_back(pool.allocate(48 * 1024));
  });
  producer.join();
  std::thread consumer([&] {
    for (auto& s : made) pool.release(s);
  });
  consumer.join();
  EXPECT_EQ(pool.snapshot().stacks_in_use, before);
  // The consumer's cache went back to the shared pool at its exit: this thread can reuse them.
  const auto mapped = pool.snapshot().stacks_mapped;
  std::vector<stack> again;
  for (int i = 0; i < 200; ++i) again.push_back(pool.allocate(48 * 1024));
  EXPECT_EQ(pool.snapshot().stacks_mapped, mapped);
  for (auto& s : again) pool.release(s);
}

// With the guard budget at zero every stack is canary-protected. Runs in a fresh process (the
// death-test child re-executes this binary) so the pool is created under the variable.
TEST(StackPoolDeathTest, CanaryStacksBeyondTheGuardBudget) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        ::setenv("WEFT_STACK_GUARDS", "0", 1);
        auto& pool = stack_pool::global();
        stack s = pool.allocate(32 * 1024);
        bool ok = s.protection == stack_protection::canary && weft::ctx::canary_intact(s) &&
                  pool.snapshot().guarded == 0 && pool.snapshot().canary_only > 0;
        s.limit[-3] = std::byte{0};  // an overflow's write, just below the usable region
        ok = ok && !weft::ctx::canary_intact(s);
        pool.release(s);  // re-arms the canary
        stack t = pool.allocate(32 * 1024);
        ok = ok && t.limit == s.limit && weft::ctx::canary_intact(t);
        std::exit(ok ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
