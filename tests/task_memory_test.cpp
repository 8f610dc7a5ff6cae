// The task block pool (scheduler/task_memory): alignment, size classes, reuse, no block handed out
// twice, releases from other threads and from exiting threads, blocks above the pooled sizes.
#include <weft/scheduler/task_memory.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

namespace {

namespace tm = weft::sched::task_memory;

bool aligned(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p) % tm::block_alignment == 0;
}

TEST(TaskMemory, BlocksAreAlignedAndWritableToTheirFullSize) {
  for (std::size_t bytes :
       {std::size_t{1}, std::size_t{63}, std::size_t{64}, std::size_t{65}, std::size_t{300},
        tm::max_pooled_bytes, tm::max_pooled_bytes + 1, std::size_t{100000}}) {
    void* p = tm::allocate(bytes);
    ASSERT_NE(p, nullptr);
    EXPECT_TRUE(aligned(p)) << bytes << " bytes";
    std::memset(p, 0xAB, bytes);  // ASan reports any byte the block does not own
    tm::release(p, bytes);
  }
}

TEST(TaskMemory, LiveBlocksNeverOverlapAndReleasedOnesAreReused) {
  constexpr int n = 5000;  // well past a thread's cache, so refills and spills happen
  for (std::size_t bytes : {std::size_t{200}, std::size_t{1000}}) {
    std::vector<std::byte*> live;
    for (int i = 0; i < n; ++i) {
      auto* p = static_cast<std::byte*>(tm::allocate(bytes));
      std::memset(p, i & 0xFF, bytes);
      live.push_back(p);
    }
    std::vector<std::byte*> sorted = live;
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t i = 1; i < sorted.size(); ++i)
      ASSERT_GE(sorted[i] - sorted[i - 1], static_cast<std::ptrdiff_t>(bytes)) << "overlap";
    for (int i = 0; i < n; ++i)  // nobody wrote into another's block
      ASSERT_EQ(live[i][bytes - 1], static_cast<std::byte>(i & 0xFF));
    for (auto* p : live) tm::release(p, bytes);
    // The same number again comes from what was released: nothing new is carved.
    const std::size_t carved = tm::carved_blocks();
    std::vector<std::byte*> again;
    for (int i = 0; i < n; ++i) again.push_back(static_cast<std::byte*>(tm::allocate(bytes)));
    EXPECT_EQ(tm::carved_blocks(), carved);
    for (auto* p : again) tm::release(p, bytes);
  }
}

TEST(TaskMemory, BlocksReleasedOnOtherAndExitedThreadsComeBack) {
  // Fewer than a thread's cache holds, of a size no other test uses: the consumer spills none of
  // them while it runs, so only its exit can hand them on.
  constexpr int n = 100;
  constexpr std::size_t bytes = 1984;
  std::vector<void*> blocks;
  for (int i = 0; i < n; ++i) blocks.push_back(tm::allocate(bytes));
  // A consumer thread releases them all and exits: its cache goes to the shared pool.
  std::thread([&] {
    for (void* p : blocks) tm::release(p, bytes);
  }).join();
  // A fresh thread allocates as many: the shared pool hands back the consumer's blocks, so
  // nothing new is carved (had the exiting consumer kept its cache, they would be lost).
  const std::size_t carved = tm::carved_blocks();
  std::thread([&] {
    std::vector<void*> got;
    for (int i = 0; i < n; ++i) got.push_back(tm::allocate(bytes));
    for (void* p : got) tm::release(p, bytes);
  }).join();
  EXPECT_EQ(tm::carved_blocks(), carved);
}

TEST(TaskMemory, ConcurrentAllocateAndCrossThreadReleaseStress) {
  // Two producers allocate and stamp blocks, a consumer checks and releases them: no block is
  // handed out twice while live (the stamp would be overwritten) and nothing is lost.
  constexpr int per_producer = 100000;
  constexpr std::size_t bytes = 128;
  struct slot {
    std::atomic<std::uint64_t*> p{nullptr};
  };
  std::vector<slot> ring(2 * per_producer);
  auto producer = [&](int id) {
    for (int i = 0; i < per_producer; ++i) {
      auto* p = static_cast<std::uint64_t*>(tm::allocate(bytes));
      p[0] = static_cast<std::uint64_t>(id) << 32 | static_cast<std::uint32_t>(i);
      p[15] = p[0];
      ring[static_cast<std::size_t>(id * per_producer + i)].p.store(
          p, std::memory_order_release);  // release: the consumer's acquire sees the stamps
    }
  };
  std::uint64_t checked = 0, bad = 0;
  std::thread consumer([&] {
    for (std::size_t k = 0; k < ring.size(); ++k) {
      std::uint64_t* p;
      // acquire: pairs with the producer's release.
      while ((p = ring[k].p.load(std::memory_order_acquire)) == nullptr) std::this_thread::yield();
      const std::uint64_t want =
          static_cast<std::uint64_t>(k / per_producer) << 32 | (k % per_producer);
      bad += (p[0] != want || p[15] != want) ? 1 : 0;
      ++checked;
      tm::release(p, bytes);
    }
  });
  std::thread a(producer, 0), b(producer, 1);
  a.join();
  b.join();
  consumer.join();
  EXPECT_EQ(checked, ring.size());
  EXPECT_EQ(bad, 0u);
}

}  // namespace
