// weft::os::scope: borrowing, joining on exit, early joins, exception rules, nested spawns.
#include <array>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <weft/os.hpp>

namespace {

namespace os = weft::os;
using namespace std::chrono_literals;

TEST(OsScope, TasksBorrowLocalsAndAreJoinedOnExit) {
  std::array<int, 8> slots{};  // plain ints: the scope's joins order every write before the reads
  os::scope([&](os::scope_t& s) {
    for (int i = 0; i < 8; ++i) {
      s.spawn([&slots, i] {
        os::sleep_for(1ms);
        slots[i] = i * i;
      });
    }
  });
  for (int i = 0; i < 8; ++i) EXPECT_EQ(slots[i], i * i) << "slot " << i;
}

TEST(OsScope, ReturnsFnsValue) {
  const int v = os::scope([](os::scope_t& s) {
    auto h = s.spawn([] { return 20; });
    return h.join() + 22;
  });
  EXPECT_EQ(v, 42);
  auto p = os::scope([](os::scope_t&) { return std::make_unique<int>(5); });
  EXPECT_EQ(*p, 5);
}

TEST(OsScope, EarlyJoinReturnsValueOrRethrows) {
  os::scope([](os::scope_t& s) {
    auto ok = s.spawn([] { return std::string("early"); });
    auto bad = s.spawn([]() -> int { throw std::runtime_error("joined early"); });
    EXPECT_TRUE(ok.joinable());
    EXPECT_EQ(ok.join(), "early");
    EXPECT_FALSE(ok.joinable());
    try {
      (void)bad.join();
      ADD_FAILURE() << "join() did not rethrow";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "joined early");
    }
    try {
      (void)ok.join();
      ADD_FAILURE() << "second join() did not throw";
    } catch (const std::logic_error& e) {
      EXPECT_THAT(e.what(), ::testing::HasSubstr("already joined"));
    }
  });  // the exception taken through bad.join() is not rethrown here
}

TEST(OsScope, UnjoinedTaskExceptionIsRethrownAfterAllTasksFinished) {
  constexpr int kTasks = 8;
  std::atomic<int> finished{0};
  std::atomic<bool> five_is_throwing{false};
  try {
    os::scope([&](os::scope_t& s) {
      for (int i = 0; i < kTasks; ++i) {
        s.spawn([&, i] {
          if (i == 5) {
            finished.fetch_add(1);
            five_is_throwing.store(true);
            throw std::runtime_error("five");
          }
          if (i == 2) {
            // Usually completes after task 5: the earliest-spawned failure must still win.
            while (!five_is_throwing.load()) os::yield();
            finished.fetch_add(1);
            throw std::runtime_error("two");
          }
          os::sleep_for(2ms);
          finished.fetch_add(1);
        });
      }
    });
    FAIL() << "scope() did not rethrow";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "two");
    EXPECT_EQ(finished.load(), kTasks);
  }
}

TEST(OsScope, FnExceptionWinsAndTasksAreStillJoined) {
  constexpr int kTasks = 4;
  std::atomic<int> finished{0};
  try {
    os::scope([&](os::scope_t& s) {
      for (int i = 0; i < kTasks; ++i) {
        s.spawn([&finished](std::stop_token st) {
          while (!st.stop_requested()) os::yield();  // ends because fn's throw requests stop
          finished.fetch_add(1);
        });
      }
      s.spawn([] { throw std::runtime_error("task"); });
      throw std::logic_error("fn");
    });
    FAIL() << "scope() did not rethrow";
  } catch (const std::logic_error& e) {
    EXPECT_STREQ(e.what(), "fn");
    EXPECT_EQ(finished.load(), kTasks);
  }
}

TEST(OsScope, RequestStopReachesTasks) {
  const int n = os::scope([](os::scope_t& s) {
    auto h = s.spawn(
        [](std::stop_token st, int base) {
          while (!st.stop_requested()) os::yield();
          return base + 1;
        },
        41);
    EXPECT_FALSE(s.get_stop_token().stop_requested());
    EXPECT_TRUE(s.request_stop());
    return h.join();
  });
  EXPECT_EQ(n, 42);
}

TEST(OsScope, TasksSpawnOntoTheSameScope) {
  static constexpr int kParents = 4;
  static constexpr int kChildren = 4;
  std::array<int, kParents * kChildren> child_slots{};
  std::array<int, kParents> parent_slots{};
  os::scope([&](os::scope_t& s) {
    for (int p = 0; p < kParents; ++p) {
      s.spawn([&, p] {
        for (int c = 0; c < kChildren; ++c) {
          s.spawn([&child_slots, p, c] {
            os::sleep_for(1ms);
            child_slots[p * kChildren + c] = 1;
          });
        }
        parent_slots[p] = 1;
      });
    }
  });  // fn returns at once; the children are spawned while the scope is joining
  for (int v : parent_slots) EXPECT_EQ(v, 1);
  for (int v : child_slots) EXPECT_EQ(v, 1);
}

TEST(OsScope, NestedTaskExceptionIsRethrown) {
  EXPECT_THROW(os::scope([](os::scope_t& s) {
                 s.spawn([&s] { s.spawn([] { throw std::out_of_range("grandchild"); }); });
               }),
               std::out_of_range);
}

TEST(OsScope, ArgumentsNamesAndIds) {
  os::scope([](os::scope_t& s) {
    auto h = s.spawn(
        weft::spawn_options{.name = "scoped"},
        [](std::unique_ptr<int> p) {
          return std::string(os::current_name()) + "=" + std::to_string(*p);
        },
        std::make_unique<int>(3));
    auto id_task = s.spawn([] { return os::current_id(); });
    EXPECT_EQ(h.name(), "scoped");
    EXPECT_EQ(h.join(), "scoped=3");
    const os::task_id id = id_task.id();
    EXPECT_EQ(id_task.join(), id);
    EXPECT_NE(id, os::current_id());
  });
}

TEST(OsScope, HandleOutlivingTheScopeStillJoins) {
  auto h = os::scope([](os::scope_t& s) { return s.spawn([] { return 9; }); });
  EXPECT_TRUE(h.joinable());
  EXPECT_EQ(h.join(), 9);
}

TEST(OsScope, EmptyScopedHandle) {
  os::scoped_join_handle<int> h;
  EXPECT_FALSE(h.joinable());
  EXPECT_EQ(h.id(), os::task_id());
  try {
    (void)h.join();
    FAIL() << "join() on an empty handle did not throw";
  } catch (const std::logic_error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("empty handle"));
  }
}

TEST(OsScope, JoiningYourselfThrows) {
  const std::string message = os::scope([](os::scope_t& s) {
    std::promise<os::scoped_join_handle<std::string>*> self;
    auto h = s.spawn([f = self.get_future()]() mutable {
      try {
        (void)f.get()->join();
        return std::string("joined itself?!");
      } catch (const std::logic_error& e) {
        return std::string(e.what());
      }
    });
    self.set_value(&h);
    return h.join();
  });
  EXPECT_THAT(message, ::testing::HasSubstr("cannot join itself"));
}

TEST(OsScope, TaskJoinsASiblingEarly) {
  const int v = os::scope([](os::scope_t& s) {
    auto sibling = s.spawn([] {
      os::sleep_for(1ms);
      return 40;
    });
    auto joiner = s.spawn([&sibling] { return sibling.join() + 2; });
    return joiner.join();
  });
  EXPECT_EQ(v, 42);
}

TEST(OsScope, ManyTasksConcurrentSpawnersCountExactlyOnce) {
  static constexpr int kSpawners = 4;
  static constexpr int kPerSpawner = 16;
  std::vector<std::atomic<int>> hits(kSpawners * kPerSpawner);
  os::scope([&](os::scope_t& s) {
    for (int a = 0; a < kSpawners; ++a) {
      s.spawn([&, a] {
        for (int b = 0; b < kPerSpawner; ++b) {
          s.spawn([&hits, a, b] { hits[a * kPerSpawner + b].fetch_add(1); });
        }
      });
    }
  });
  for (const auto& h : hits) EXPECT_EQ(h.load(), 1);
}

TEST(OsScope, EmptyScopeReturnsAtOnce) {
  os::scope([](os::scope_t&) {});
  SUCCEED();
}

}  // namespace
