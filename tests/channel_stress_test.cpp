// Channels under load, typed over weft::os and weft::fiber under every scheduling policy:
// 4 producers x 1,000,000 messages into 4 consumers (unbounded and bounded; every message
// exactly once, per-producer order preserved), timeouts racing hand-overs (the undo paths),
// and ends dropped while the other side is blocked.
#include <weft/fiber.hpp>
#include <weft/os.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "channel_support.hpp"
#include "support.hpp"

namespace {

using namespace std::chrono_literals;
using namespace channel_test;  // on_recv, status, ... (channel_support.hpp)
using weft_test::watchdog;

template <class E>
class ChannelStress : public watched<E> {};
TYPED_TEST_SUITE(ChannelStress, channel_test::all_envs, channel_test::env_name);

// A message: producer index in the high half, its sequence number in the low half.
constexpr std::uint64_t msg(std::uint64_t producer, std::uint64_t seq) {
  return producer << 32 | seq;
}

template <class M>
void mpmc(std::size_t capacity, int per_producer) {
  constexpr int producers = 4, consumers = 4;
  auto [tx, rx] = capacity == SIZE_MAX ? M::template channel<std::uint64_t>()
                                       : M::template sync_channel<std::uint64_t>(capacity);
  std::vector<std::atomic<std::uint8_t>> seen(static_cast<std::size_t>(producers) * per_producer);
  std::atomic<long> disorder{0}, duplicates{0};
  std::vector<typename M::template join_handle<long>> cs;
  for (int c = 0; c < consumers; ++c)
    cs.push_back(M::spawn([&, rx1 = rx] {
      long mine = 0;
      std::int64_t last[producers] = {-1, -1, -1, -1};
      for (std::uint64_t m : rx1) {
        const auto p = static_cast<int>(m >> 32);
        const auto seq = static_cast<std::int64_t>(m & 0xffffffffu);
        // relaxed (both counters): only read after the consumers were joined
        if (seq <= last[p]) disorder.fetch_add(1, std::memory_order_relaxed);
        last[p] = seq;
        if (seen[static_cast<std::size_t>(p) * per_producer + seq].fetch_add(1) != 0)
          duplicates.fetch_add(1, std::memory_order_relaxed);
        ++mine;
      }
      return mine;
    }));
  rx = {};
  std::vector<typename M::template join_handle<void>> ps;
  for (int p = 0; p < producers; ++p)
    ps.push_back(M::spawn([p, per_producer, tx1 = tx] {
      for (int i = 0; i < per_producer; ++i)
        if (!tx1.send(msg(p, i))) return;  // cannot happen: the consumers are alive
    }));
  tx = {};
  for (auto& h : ps) h.join();
  long total = 0;
  for (auto& h : cs) total += h.join();
  EXPECT_EQ(total, static_cast<long>(producers) * per_producer);
  EXPECT_EQ(duplicates.load(), 0);
  EXPECT_EQ(disorder.load(), 0) << "a consumer saw one producer's messages out of order";
  for (std::size_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i].load(), 1) << "message " << i;
}

TYPED_TEST(ChannelStress, FourProducersMillionEachIntoFourConsumersUnbounded) {
  TypeParam::run([] { mpmc<typename TypeParam::M>(SIZE_MAX, 1'000'000 / weft_test::scale); });
}

TYPED_TEST(ChannelStress, FourProducersMillionEachIntoFourConsumersBounded) {
  TypeParam::run([] { mpmc<typename TypeParam::M>(1024, 1'000'000 / weft_test::scale); });
}

TYPED_TEST(ChannelStress, FourProducersIntoFourConsumersRendezvous) {
  TypeParam::run([] { mpmc<typename TypeParam::M>(0, 50'000 / weft_test::scale); });
}

// Receivers park with deadlines of a few microseconds while senders hand over: some hand-overs
// lose their notify() to the timer and must be taken back (into the buffer or the next
// receiver). Nothing is lost or duplicated.
TYPED_TEST(ChannelStress, TimedReceiversRacingSenders) {
  using M = typename TypeParam::M;
  TypeParam::run([] {
    const int n = 200'000 / weft_test::scale;
    auto [tx, rx] = M::template channel<int>();
    std::vector<std::atomic<std::uint8_t>> seen(n);
    std::atomic<int> received{0};
    std::atomic<bool> stop{false};
    std::vector<typename M::template join_handle<void>> hs;
    for (int r = 0; r < 3; ++r)
      hs.push_back(M::spawn([&, r, rx1 = rx] {
        // relaxed: a stop hint; the values themselves are published by the channel's lock
        for (int i = 0; !stop.load(std::memory_order_relaxed); ++i) {
          auto v = rx1.recv_for(std::chrono::microseconds((i + r) % 4));
          if (v) {
            seen[*v].fetch_add(1);
            received.fetch_add(1);
          }
        }
      }));
    auto producer = M::spawn([&, tx1 = tx] {
      for (int i = 0; i < n; ++i) {
        tx1.send(i);
        if (i % 64 == 0) M::yield();  // let the receivers park again
      }
    });
    producer.join();  // every value is now received or buffered (unbounded: sends never wait)
    stop.store(true);
    for (auto& h : hs) h.join();
    while (auto v = rx.try_recv()) {
      seen[*v].fetch_add(1);
      received.fetch_add(1);
    }
    EXPECT_EQ(received.load(), n);
    for (int i = 0; i < n; ++i) ASSERT_EQ(seen[i].load(), 1) << "value " << i;
  });
}

// Senders with microsecond deadlines on full bounded and rendezvous channels, receivers that
// block or time out themselves: a receiver that took a parked sender's value (into the freed
// buffer slot, or for itself) and then lost the notify() must give it back. A send reported ok
// is received exactly once; a send reported timeout hands back its own value and is never
// received.
TYPED_TEST(ChannelStress, TimedSendersRacingReceivers) {
  using M = typename TypeParam::M;
  TypeParam::run([] {
    for (std::size_t cap : {std::size_t{1}, std::size_t{0}}) {
      const int per = 30'000 / weft_test::scale;
      constexpr int senders = 3;
      auto [tx, rx] = M::template sync_channel<int>(cap);
      std::vector<std::atomic<std::uint8_t>> ok(senders * per), seen(senders * per);
      std::vector<typename M::template join_handle<void>> hs;
      for (int s = 0; s < senders; ++s)
        hs.push_back(M::spawn([&, s, tx1 = tx] {
          for (int i = 0; i < per; ++i) {
            const int v = s * per + i;
            auto r = tx1.send_for(v, std::chrono::microseconds(i % 5));
            if (r)
              ok[v].store(1);
            else if (r.status() != status::timeout || r.unsent() != v)
              ADD_FAILURE() << "send of " << v << ": " << to_string(r.status());
          }
        }));
      tx = {};
      auto receiver = M::spawn([&, rx1 = rx] {
        for (int i = 0;; ++i) {
          auto v = i % 2 ? rx1.recv() : rx1.recv_for(std::chrono::microseconds(i % 7));
          if (v.status() == status::disconnected) return;
          if (v) seen[*v].fetch_add(1);
        }
      });
      for (auto& h : hs) h.join();
      receiver.join();
      for (int v = 0; v < senders * per; ++v)
        ASSERT_EQ(seen[v].load(), ok[v].load()) << "value " << v << ", capacity " << cap;
    }
  });
}

// Ends dropped while the other side is blocked, over and over: the blocked side always wakes
// with disconnected (a sender with its value), and every value is destroyed exactly once.
TYPED_TEST(ChannelStress, EndsDroppedUnderBlockedParties) {
  using M = typename TypeParam::M;
  TypeParam::run([] {
    const long before = counted::live().load();
    const int rounds = 300 / weft_test::scale;
    for (int round = 0; round < rounds; ++round) {
      const std::size_t cap = static_cast<std::size_t>(round % 3);  // 0, 1, 2
      auto [tx, rx] = M::template sync_channel<counted>(cap);
      for (std::size_t i = 0; i < cap; ++i) tx.send(counted(-1));  // full
      std::vector<typename M::template join_handle<bool>> hs;
      for (int s = 0; s < 3; ++s)
        hs.push_back(M::spawn([s, tx1 = tx] {
          auto r = tx1.send(counted(s));
          return r.status() == status::disconnected && r.unsent().value() == s;
        }));
      auto [etx, erx] = M::template channel<counted>();
      auto blocked_rx = M::spawn(
          [erx1 = std::move(erx)] { return erx1.recv().status() == status::disconnected; });
      if (round % 2) M::yield();  // sometimes before they park, sometimes after
      rx = {};
      etx = {};
      for (auto& h : hs) EXPECT_TRUE(h.join()) << "round " << round;
      EXPECT_TRUE(blocked_rx.join());
    }
    EXPECT_EQ(counted::live().load(), before);
  });
}

}  // namespace
