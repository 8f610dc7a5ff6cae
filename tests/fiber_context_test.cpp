// One stackful fiber driven by hand: values each way, exceptions, unwinding, nesting, and pooled
// stacks coming back.
#include <weft/fiber/fiber.hpp>
#include <weft/fiber/stack.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using weft::ctx::coroutine;

void* as_ptr(std::uintptr_t v) {
  return reinterpret_cast<void*>(v);
}
std::uintptr_t as_int(void* p) {
  return reinterpret_cast<std::uintptr_t>(p);
}

TEST(Coroutine, RunsOnlyWhenResumed) {
  int steps = 0;
  coroutine c([&](coroutine::self& self) {
    ++steps;
    self.suspend();
    ++steps;
  });
  EXPECT_EQ(steps, 0);
  EXPECT_FALSE(c.finished());
  c.resume();
  EXPECT_EQ(steps, 1);
  EXPECT_FALSE(c.finished());
  c.resume();
  EXPECT_EQ(steps, 2);
  EXPECT_TRUE(c.finished());
}

TEST(Coroutine, ManySwitchesPassValuesBothWays) {
  constexpr std::uintptr_t rounds = 200000;
  std::uintptr_t inside_sum = 0;
  coroutine c([&](coroutine::self& self) {
    std::uintptr_t got = as_int(self.received());
    for (std::uintptr_t i = 0; i < rounds; ++i) {
      inside_sum += got;
      got = as_int(self.suspend(as_ptr(got * 2)));
    }
  });
  std::uintptr_t outside_sum = 0;
  for (std::uintptr_t i = 1; i <= rounds; ++i) outside_sum += as_int(c.resume(as_ptr(i)));
  EXPECT_EQ(inside_sum, rounds * (rounds + 1) / 2);
  EXPECT_EQ(outside_sum, rounds * (rounds + 1));
  EXPECT_FALSE(c.finished());
  EXPECT_EQ(c.resume(as_ptr(0)), nullptr);
  EXPECT_TRUE(c.finished());
}

TEST(Coroutine, ExceptionIsHandedToTheResumer) {
  coroutine c([](coroutine::self& self) {
    self.suspend();
    throw std::runtime_error("boom in fiber");
  });
  c.resume();
  try {
    c.resume();
    FAIL() << "expected the fiber's exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "boom in fiber");
  }
  EXPECT_TRUE(c.finished());
}

TEST(Coroutine, ResumeAfterFinishIsALogicError) {
  coroutine c([](coroutine::self&) {});
  c.resume();
  EXPECT_THROW(c.resume(), std::logic_error);
}

TEST(Coroutine, DestroyingASuspendedCoroutineUnwindsItsStack) {
  int destroyed = 0;
  struct guard {
    int* n;
    ~guard() { ++*n; }
  };
  {
    coroutine c([&](coroutine::self& self) {
      guard g{&destroyed};
      self.suspend();
      ADD_FAILURE() << "must not continue after destruction";
    });
    c.resume();
    EXPECT_EQ(destroyed, 0);
  }
  EXPECT_EQ(destroyed, 1);
}

// The caught-exception record is per fiber: a coroutine suspended inside a catch handler still
// sees its own exception after the resumer threw and caught others meanwhile.
TEST(Coroutine, CaughtExceptionIsPerFiber) {
  std::string seen_after_resume;
  bool rethrow_reached_own = false;
  coroutine c([&](coroutine::self& self) {
    try {
      throw std::runtime_error("mine");
    } catch (const std::exception&) {
      self.suspend();
      try {
        throw;  // rethrows the exception being handled: must still be "mine"
      } catch (const std::runtime_error& again) {
        rethrow_reached_own = true;
        seen_after_resume = again.what();
      }
    }
  });
  c.resume();
  bool resumer_kept_its_own = false;
  try {
    throw std::logic_error("theirs");
  } catch (const std::logic_error&) {
    c.resume();  // resumed while the resumer is itself inside a handler
    try {
      throw;
    } catch (const std::logic_error&) {
      resumer_kept_its_own = true;
    }
  }
  EXPECT_TRUE(c.finished());
  EXPECT_TRUE(rethrow_reached_own);
  EXPECT_EQ(seen_after_resume, "mine");
  EXPECT_TRUE(resumer_kept_its_own);
  EXPECT_FALSE(std::current_exception()) << "the resumer handles no exception here";
}

TEST(Coroutine, NestedCoroutinesReturnToTheirResumer) {
  std::vector<int> order;
  coroutine outer([&](coroutine::self& self) {
    coroutine inner([&](coroutine::self& s) {
      order.push_back(2);
      s.suspend();
      order.push_back(4);
    });
    order.push_back(1);
    inner.resume();
    order.push_back(3);
    self.suspend();
    inner.resume();
    order.push_back(5);
  });
  outer.resume();
  order.push_back(30);
  outer.resume();
  EXPECT_TRUE(outer.finished());
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 30, 4, 5}));
}

TEST(Coroutine, NamesAndDistinctIds) {
  coroutine a([](coroutine::self&) {}, {.name = "alpha"});
  coroutine b([](coroutine::self&) {}, {.name = std::string(100, 'x')});
  EXPECT_EQ(a.name(), "alpha");
  EXPECT_EQ(b.name().size(), weft::ctx::fiber::name_capacity);
  EXPECT_NE(a.id(), b.id());
  a.resume();
  b.resume();
}

TEST(Coroutine, UsesMostOfItsStack) {
  constexpr std::size_t size = 256 * 1024;
  bool ran = false;
  coroutine c(
      [&](coroutine::self&) {
        volatile char buf[size / 2];
        std::memset(const_cast<char*>(buf), 1, sizeof buf);
        ran = buf[size / 4] == 1;
      },
      {.stack_size = size});
  c.resume();
  EXPECT_TRUE(ran);
}

// pthread_self() is declared const, so the compiler may fold two get_id() calls in one function
// into one, across a switch — the same hazard as a cached thread_local address (see DESIGN.md,
// "Fibers migrate"). noipa keeps this helper opaque to that folding.
[[gnu::noipa]] std::thread::id running_thread() {
  return std::this_thread::get_id();
}

TEST(Coroutine, ResumedFromAnotherThread) {
  std::vector<std::thread::id> seen;
  coroutine c([&](coroutine::self& self) {
    seen.push_back(running_thread());
    self.suspend();
    seen.push_back(running_thread());
  });
  c.resume();
  std::thread([&] { c.resume(); }).join();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_NE(seen[0], seen[1]);
}

// TSan tracks each fiber like a thread and allows ~8k at once; it checks the same code at 6k.
#if defined(__SANITIZE_THREAD__)
constexpr std::uintptr_t live_fibers = 6000;
#else
constexpr std::uintptr_t live_fibers = 10000;
#endif

TEST(Coroutine, TenThousandFibersReturnAllStacks) {
  auto& pool = weft::ctx::stack_pool::global();
  const auto before = pool.snapshot();
  {
    std::vector<coroutine> live;
    live.reserve(live_fibers);
    std::uintptr_t sum = 0;
    for (std::uintptr_t i = 0; i < live_fibers; ++i) {
      live.emplace_back([i](coroutine::self& self) { self.suspend(as_ptr(i)); },
                        coroutine::options{.stack_size = 16 * 1024});
      sum += as_int(live.back().resume());
    }
    EXPECT_EQ(sum, live_fibers * (live_fibers - 1) / 2);
    EXPECT_EQ(pool.snapshot().stacks_in_use, before.stacks_in_use + live_fibers);
    for (auto& c : live) c.resume();
    for (auto& c : live) EXPECT_TRUE(c.finished());
  }
  const auto after = pool.snapshot();
  EXPECT_EQ(after.stacks_in_use, before.stacks_in_use);
  // A second wave reuses the first wave's stacks.
  {
    std::vector<coroutine> again;
    again.reserve(live_fibers);
    for (std::uintptr_t i = 0; i < live_fibers; ++i)
      again.emplace_back([](coroutine::self&) {}, coroutine::options{.stack_size = 16 * 1024});
    for (auto& c : again) c.resume();
  }
  EXPECT_EQ(pool.snapshot().stacks_mapped, after.stacks_mapped);
}

}  // namespace
