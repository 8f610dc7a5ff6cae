// Model-based tests, typed over weft::os and weft::fiber under every scheduling policy.
//
// 1. One task, random operations (every non-blocking operation, select with a default, handle
//    copies and drops, close) on a channel of random capacity, each result compared exactly
//    with a sequential reference: a std::deque plus the handle counts.
// 2. Several tasks, random operations on two channels (blocking, try, timed, select over both),
//    checked for what must hold whatever the interleaving: every value whose send reported ok is
//    received exactly once, a value whose send failed is handed back and never received, and
//    each consumer sees each producer's values on one channel in the order they were sent.
#include <weft/fiber.hpp>
#include <weft/os.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "channel_support.hpp"
#include "support.hpp"

namespace {

using namespace std::chrono_literals;
using namespace channel_test;  // on_recv, status, ... (channel_support.hpp)
using weft_test::watchdog;

template <class E>
class ChannelModel : public watched<E> {};
TYPED_TEST_SUITE(ChannelModel, channel_test::all_envs, channel_test::env_name);

// The sequential reference of one channel.
struct reference {
  std::size_t cap;
  std::deque<int> buf;
  int senders = 1, receivers = 1;
  bool closed = false;

  bool send_disconnected() const { return closed || receivers == 0; }
  bool recv_disconnected() const { return buf.empty() && (closed || senders == 0); }
  bool has_room() const { return buf.size() < cap; }  // one task: no receiver ever waits
};

template <class M>
void sequential_run(std::uint32_t seed) {
  std::mt19937 rng(seed);
  const std::size_t caps[] = {0, 1, 2, 3, 8, SIZE_MAX};
  reference ref{caps[rng() % 6]};
  auto [tx0, rx0] = M::template sync_channel<int>(ref.cap);
  std::vector<typename M::template sender<int>> txs;
  std::vector<typename M::template receiver<int>> rxs;
  txs.push_back(std::move(tx0));
  rxs.push_back(std::move(rx0));
  int next = 0;
  const std::string where =
      "seed " + std::to_string(seed) + ", capacity " +
      (ref.cap == SIZE_MAX ? std::string("unbounded") : std::to_string(ref.cap));

  // Any live handle of a kind (the channel does not care which one is used).
  auto some_tx = [&]() -> const typename M::template sender<int>* {
    return txs.empty() ? nullptr : &txs[rng() % txs.size()];
  };
  auto some_rx = [&]() -> const typename M::template receiver<int>* {
    return rxs.empty() ? nullptr : &rxs[rng() % rxs.size()];
  };
  auto expect_recv = [&](const recv_result<int>& r, status when_nothing, const char* op) {
    if (!ref.buf.empty()) {
      ASSERT_EQ(r.status(), status::ok) << op << ", " << where;
      ASSERT_EQ(*r, ref.buf.front()) << op << ", " << where;
      ref.buf.pop_front();
    } else {
      ASSERT_EQ(r.status(), ref.recv_disconnected() ? status::disconnected : when_nothing)
          << op << ", " << where;
    }
  };
  auto expect_send = [&](const send_result<int>& r, int v, status when_full, const char* op) {
    if (ref.send_disconnected()) {
      ASSERT_EQ(r.status(), status::disconnected) << op << ", " << where;
      ASSERT_EQ(r.unsent(), v);
    } else if (ref.has_room()) {
      ASSERT_EQ(r.status(), status::ok) << op << ", " << where;
      ref.buf.push_back(v);
    } else {
      ASSERT_EQ(r.status(), when_full) << op << ", " << where;
      ASSERT_EQ(r.unsent(), v);
    }
  };

  for (int step = 0; step < 300; ++step) {
    const auto* tx = some_tx();
    const auto* rx = some_rx();
    switch (rng() % 12) {
      case 0:
        if (tx) expect_send(tx->try_send(next), next, status::full, "try_send"), ++next;
        break;
      case 1:
        if (tx) expect_send(tx->send_for(next, 0ms), next, status::timeout, "send_for"), ++next;
        break;
      case 2:  // a blocking send, only where the reference says it cannot block
        if (tx && (ref.send_disconnected() || ref.has_room()))
          expect_send(tx->send(next), next, status::full, "send"), ++next;
        break;
      case 3:
        if (rx) expect_recv(rx->try_recv(), status::empty, "try_recv");
        break;
      case 4:
        if (rx)
          expect_recv(rx->recv_until(std::chrono::steady_clock::now()), status::timeout,
                      "recv_until");
        break;
      case 5:
        if (rx && (!ref.buf.empty() || ref.recv_disconnected()))
          expect_recv(rx->recv(), status::empty, "recv");
        break;
      case 6: {  // select with a default: a receive and a send, both or neither may be ready
        if (!tx || !rx) break;
        const bool recv_ready = !ref.buf.empty() || ref.recv_disconnected();
        const bool send_ready = ref.send_disconnected() || ref.has_room();
        std::optional<recv_result<int>> got;
        std::optional<send_result<int>> put;
        const int v = next++;
        const std::size_t k = M::select(
            on_recv(*rx, [&](recv_result<int> r) { got.emplace(std::move(r)); }),
            on_send(*tx, v, [&](send_result<int> r) { put.emplace(std::move(r)); }), on_default());
        if (!recv_ready && !send_ready) {
          ASSERT_EQ(k, 2u) << "select, " << where;
        } else if (k == 0) {
          ASSERT_TRUE(recv_ready && got && !put) << where;
          expect_recv(*got, status::empty, "select recv");
        } else {
          ASSERT_EQ(k, 1u) << where;
          ASSERT_TRUE(send_ready && put && !got) << where;
          expect_send(*put, v, status::full, "select send");
        }
        break;
      }
      case 7:
        if (tx && txs.size() < 4) txs.push_back(*tx), ++ref.senders;
        break;
      case 8:
        if (rx && rxs.size() < 4) rxs.push_back(*rx), ++ref.receivers;
        break;
      case 9:
        if (!txs.empty() && rng() % 4 == 0) {
          txs.erase(txs.begin() + static_cast<long>(rng() % txs.size()));
          --ref.senders;
        }
        break;
      case 10:
        if (!rxs.empty() && rng() % 6 == 0) {
          rxs.erase(rxs.begin() + static_cast<long>(rng() % rxs.size()));
          if (--ref.receivers == 0) ref.buf.clear();  // destroyed with the last receiver
        }
        break;
      case 11:
        if (tx && rng() % 8 == 0) tx->close(), ref.closed = true;
        break;
    }
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TYPED_TEST(ChannelModel, SingleTaskMatchesTheSequentialReference) {
  TypeParam::run([] {
    for (std::uint32_t seed = 1; seed <= 300; ++seed) {
      sequential_run<typename TypeParam::M>(seed);
      if (::testing::Test::HasFatalFailure()) return;
    }
  });
}

// --- concurrent ----------------------------------------------------------------------------

// A value: producer in bits 24..31, its sequence number on that channel below.
constexpr int value_of(int producer, int seq) {
  return producer << 24 | seq;
}
constexpr int producer_of(int v) {
  return v >> 24;
}
constexpr int seq_of(int v) {
  return v & 0xffffff;
}

template <class M>
void concurrent_run(std::uint32_t seed, int ops_per_task) {
  constexpr int producers = 3, consumers = 3, channels = 2;
  std::mt19937 pick(seed);
  const std::size_t caps[] = {0, 1, 4, SIZE_MAX};
  std::vector<typename M::template sender<int>> tx;
  std::vector<typename M::template receiver<int>> rx;
  for (int c = 0; c < channels; ++c) {
    auto [t, r] = M::template sync_channel<int>(caps[pick() % 4]);
    tx.push_back(std::move(t));
    rx.push_back(std::move(r));
  }
  // sent[c][p]: the sequence numbers producer p's sends on channel c reported ok.
  std::vector<std::vector<std::vector<int>>> sent(channels,
                                                  std::vector<std::vector<int>>(producers));
  // got[k][c]: what consumer k received on channel c, in order.
  std::vector<std::vector<std::vector<int>>> got(consumers,
                                                 std::vector<std::vector<int>>(channels));
  std::atomic<int> bad_handback{0};

  std::vector<typename M::template join_handle<void>> hs;
  for (int p = 0; p < producers; ++p)
    hs.push_back(M::spawn([&, p, txs = tx, seed] {
      std::mt19937 rng(seed * 31 + static_cast<std::uint32_t>(p));
      int seq[channels] = {0, 0};
      auto note = [&](int c, int v, const send_result<int>& r) {
        if (r)
          sent[c][p].push_back(seq_of(v));
        else if (r.unsent() != v)
          bad_handback.fetch_add(1);
      };
      for (int i = 0; i < ops_per_task; ++i) {
        const int c = static_cast<int>(rng() % channels);
        const int v = value_of(p, seq[c]++);
        switch (rng() % 5) {
          case 0:
            note(c, v, txs[c].send(v));
            break;
          case 1:
            note(c, v, txs[c].try_send(v));
            M::yield();
            break;
          case 2:
            note(c, v, txs[c].send_for(v, std::chrono::microseconds(rng() % 50)));
            break;
          default: {  // offer on both channels, take whichever is ready first
            const int w = value_of(p, seq[1 - c]++);
            auto a = on_send(txs[c], v, [&](send_result<int> r) { note(c, v, r); });
            auto b = on_send(txs[1 - c], w, [&](send_result<int> r) { note(1 - c, w, r); });
            if (rng() % 2)
              M::select(a, b, on_timeout(std::chrono::microseconds(rng() % 50)));
            else
              M::select(a, b);
            if (a.unsent() && *a.unsent() != v) bad_handback.fetch_add(1);
            if (b.unsent() && *b.unsent() != w) bad_handback.fetch_add(1);
          }
        }
      }
    }));
  for (int k = 0; k < consumers; ++k)
    hs.push_back(M::spawn([&, k, rxs = rx, seed] {
      std::mt19937 rng(seed * 57 + static_cast<std::uint32_t>(k));
      bool open[channels] = {true, true};
      auto take = [&](int c, const recv_result<int>& r) {
        if (r)
          got[k][c].push_back(*r);
        else if (r.status() == status::disconnected)
          open[c] = false;
      };
      while (open[0] || open[1]) {
        const int c = open[0] && open[1] ? static_cast<int>(rng() % channels) : open[0] ? 0 : 1;
        // A blocking receive on one channel only once the other is disconnected (then every
        // producer is done): otherwise all consumers could wait on one channel while every
        // producer waits to send on the other.
        const bool both = open[0] && open[1];
        switch (rng() % 4) {
          case 0:
            if (both)
              M::select(on_recv(rxs[0], [&](recv_result<int> r) { take(0, r); }),
                        on_recv(rxs[1], [&](recv_result<int> r) { take(1, r); }));
            else
              take(c, rxs[c].recv());
            break;
          case 1:
            take(c, rxs[c].try_recv());
            M::yield();
            break;
          case 2:
            take(c, rxs[c].recv_for(std::chrono::microseconds(rng() % 50)));
            break;
          default:
            if (both)
              M::select(on_recv(rxs[0], [&](recv_result<int> r) { take(0, r); }),
                        on_recv(rxs[1], [&](recv_result<int> r) { take(1, r); }),
                        on_timeout(std::chrono::microseconds(rng() % 50)));
            else
              take(c, rxs[c].recv_for(std::chrono::microseconds(rng() % 50)));
        }
      }
    }));
  tx.clear();  // the producers' copies are the last senders: consumers end once they finish
  rx.clear();
  for (auto& h : hs) h.join();

  EXPECT_EQ(bad_handback.load(), 0) << "a failed send handed back the wrong value";
  for (int c = 0; c < channels; ++c)
    for (int p = 0; p < producers; ++p) {
      std::vector<int> received;
      for (int k = 0; k < consumers; ++k) {
        int last = -1;
        for (int v : got[k][c]) {
          if (producer_of(v) != p) continue;
          ASSERT_GT(seq_of(v), last) << "consumer " << k << " saw producer " << p
                                     << " out of order on channel " << c << ", seed " << seed;
          last = seq_of(v);
          received.push_back(seq_of(v));
        }
      }
      std::sort(received.begin(), received.end());
      ASSERT_EQ(received, sent[c][p]) << "channel " << c << ", producer " << p << ", seed " << seed
                                      << ": lost, duplicated or phantom values";
    }
}

TYPED_TEST(ChannelModel, ConcurrentTasksLoseNothingDuplicateNothingKeepOrder) {
  TypeParam::run([] {
    // Under TSan (50x slower) fewer seeds, but runs long enough to interleave.
    const int seeds = weft_test::under_tsan ? 6 : 40;
    const int ops = weft_test::under_tsan ? 1000 : 2000 / weft_test::scale;
    for (std::uint32_t seed = 1; seed <= static_cast<std::uint32_t>(seeds); ++seed) {
      concurrent_run<typename TypeParam::M>(seed, ops);
      if (::testing::Test::HasFatalFailure()) return;
    }
  });
}

}  // namespace
