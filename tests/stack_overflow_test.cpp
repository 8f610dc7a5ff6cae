// Stack overflow in a fiber is reported by name and aborts, in a child process; faults that are
// not guard-page hits still reach the default action.
#include <weft/fiber/fiber.hpp>

#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>

namespace {

using weft::ctx::coroutine;

volatile int keep_going = 1;

// Each frame holds 1 KiB that the compiler cannot elide; the volatile test keeps the recursion
// from being provably infinite.
[[gnu::noinline]] int recurse(int depth) {
  volatile char pad[1024];
  pad[0] = static_cast<char>(depth);
  if (keep_going == 0) return pad[0];
  return recurse(depth + 1) + pad[0];
}

TEST(StackOverflowDeathTest, GuardPageHitIsReportedByName) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        coroutine c([](coroutine::self&) { recurse(0); },
                    {.name = "deep-recursion", .stack_size = 64 * 1024});
        c.resume();
      },
      "weft: fiber 'deep-recursion' overflowed its 64 KiB stack \\(guard page hit\\)");
}

TEST(StackOverflowDeathTest, UnnamedFiberIsReportedById) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        coroutine c([](coroutine::self&) { recurse(0); }, {.stack_size = 32 * 1024});
        c.resume();
      },
      "weft: fiber #[0-9]+ overflowed its 32 KiB stack \\(guard page hit\\)");
}

TEST(StackOverflowDeathTest, SmashedCanaryIsReportedAtSwitchOut) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        ::setenv("WEFT_STACK_GUARDS", "0", 1);
        coroutine c(
            [](coroutine::self& self) {
              // Stand-in for frames that ran past the stack's end: a write just below it.
              *reinterpret_cast<volatile char*>(self.stack().limit - 1) = 0;
              self.suspend();
            },
            {.name = "canary-victim", .stack_size = 64 * 1024});
        c.resume();
      },
      "weft: fiber 'canary-victim' overflowed its 64 KiB stack \\(canary overwritten");
}

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
// Under the sanitizers their own handler reports the fault; the chaining is checked in release.
TEST(StackOverflowDeathTest, OtherFaultsKeepTheirDefaultAction) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        coroutine c([](coroutine::self&) {});
        c.resume();  // installs weft's handler
        volatile int* volatile nowhere = nullptr;
        *nowhere = 1;
      },
      ::testing::KilledBySignal(SIGSEGV), "");
}
#endif

}  // namespace
