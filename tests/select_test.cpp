// select over channels, typed over weft::os and weft::fiber under every scheduling policy: the
// ready case fires, default and timeout, parked selects woken by a send, a receive or a
// disconnection, mixed types, the same channel twice, two selects meeting, fairness among ready
// cases, exactly one case under contention (with timeouts racing notifiers), cancellation.
#include <weft/fiber.hpp>
#include <weft/os.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "channel_support.hpp"
#include "support.hpp"

namespace {

using namespace std::chrono_literals;
using namespace channel_test;  // on_recv, status, ... (channel_support.hpp)
using weft_test::watchdog;

template <class E>
class Select : public watched<E> {};
TYPED_TEST_SUITE(Select, channel_test::all_envs, channel_test::env_name);

TYPED_TEST(Select, TheReadyCaseFiresAndTheOthersAreUntouched) {
  using M = typename TypeParam::M;
  TypeParam::run([] {
    auto [atx, arx] = M::template channel<int>();
    auto [btx, brx] = M::template channel<std::string>();
    atx.send(1);
    int handlers = 0;
    const std::size_t k = M::select(on_recv(brx, [&](recv_result<std::string>) { ++handlers; }),
                                    on_recv(arx, [&](recv_result<int> r) {
                                      ++handlers;
                                      EXPECT_EQ(*r, 1);
                                    }));
    EXPECT_EQ(k, 1u);
    EXPECT_EQ(handlers, 1);
    EXPECT_EQ(arx.try_recv().status(), status::empty);
    EXPECT_EQ(brx.try_recv().status(), status::empty);
  });
}

TYPED_TEST(Select, DefaultFiresOnlyWhenNothingIsReady) {
  using M = typename TypeParam::M;
  TypeParam::run([] {
    auto [tx, rx] = M::template sync_channel<int>(1);
    bool defaulted = false;
    EXPECT_EQ(M::select(on_recv(rx), on_default([&] { defaulted = true; })), 1u);
    EXPECT_TRUE(defaulted);
    // A send with room is ready; default does not fire.
    EXPECT_EQ(M::select(on_send(tx, 5), on_default()), 0u);
    EXPECT_EQ(M::select(on_send(tx, 6), on_default()), 1u) << "full now";
    int got = 0;
    EXPECT_EQ(M::select(on_default(), on_recv(rx, [&](recv_result<int> r) { got = *r; })), 1u);
    EXPECT_EQ(got, 5);
  });
}

TYPED_TEST(Select, TimeoutFiresOnlyIfNothingComesInTime) {
  using M = typename TypeParam::M;
  TypeParam::run([] {
    auto [tx, rx] = M::template sync_channel<int>(0);
    bool timed_out = false;
    EXPECT_EQ(M::select(on_recv(rx), on_timeout(5ms, [&] { timed_out = true; })), 1u);
    EXPECT_TRUE(timed_out);
    EXPECT_EQ(M::select(on_recv(rx), on_timeout(-5ms)), 1u) << "a past deadline only polls";
    EXPECT_EQ(M::select(on_recv(rx), weft::chan::on_deadline(std::chrono::system_clock::now())),
              1u);
    auto h = M::spawn([tx = tx] {
      M::sleep_for(5ms);
      EXPECT_TRUE(tx.send(8));  // rendezvous: returns once the parked select took it
    });
    int got = 0;
    EXPECT_EQ(M::select(on_recv(rx, [&](recv_result<int> r) { got = *r; }), on_timeout(30s)), 0u);
    EXPECT_EQ(got, 8);
    h.join();
  });
}

TYPED_TEST(Select, AParkedSendCaseCompletesWhenAReceiverComes) {
  using M = typename TypeParam::M;
  TypeParam::run([] {
    auto [tx, rx] = M::template sync_channel<std::unique_ptr<int>>(0);
    auto [otx, orx] = M::template channel<int>();
    auto h = M::spawn([&] {
      bool sent = false;
      const std::size_t k = M::select(
          on_recv(orx),
          on_send(tx, std::make_unique<int>(5),
                  [&](send_result<std::unique_ptr<int>> r) { sent = static_cast<bool>(r); }));
      EXPECT_TRUE(sent);
      return k;
    });
    M::sleep_for(10ms);
    EXPECT_EQ(*rx.recv().value(), 5);
    EXPECT_EQ(h.join(), 1u);
  });
}

TYPED_TEST(Select, DisconnectionIsReadyForReceivesAndSends) {
  using M = typename TypeParam::M;
  TypeParam::run([] {
    auto [atx, arx] = M::template channel<int>();
    auto [btx, brx] = M::template channel<int>();
    atx = {};
    status seen = status::ok;
    EXPECT_EQ(M::select(on_recv(brx), on_recv(arx, [&](recv_result<int> r) { seen = r.status(); })),
              1u);
    EXPECT_EQ(seen, status::disconnected);

    // A parked select woken by the last sender going away.
    auto [ctx, crx] = M::template channel<int>();
    auto h = M::spawn([&] {
      status s = status::ok;
      const std::size_t k =
          M::select(on_recv(brx), on_recv(crx, [&](recv_result<int> r) { s = r.status(); }));
      return k == 1 && s == status::disconnected;
    });
    M::sleep_for(10ms);
    ctx = {};
    EXPECT_TRUE(h.join());

    // A send case to a channel without receivers fires with the value handed back; so does a
    // parked one when the last receiver goes.
    auto [dtx, drx] = M::template sync_channel<std::unique_ptr<int>>(0);
    auto g = M::spawn([&] {
      int back = 0;
      M::select(on_recv(brx),
                on_send(dtx, std::make_unique<int>(3), [&](send_result<std::unique_ptr<int>> r) {
                  if (r.status() == status::disconnected) back = *r.unsent();
                }));
      return back;
    });
    M::sleep_for(10ms);
    drx = {};
    EXPECT_EQ(g.join(), 3);
    int back = 0;
    M::select(on_send(dtx, std::make_unique<int>(4),
                      [&](send_result<std::unique_ptr<int>> r) { back = *r.unsent(); }));
    EXPECT_EQ(back, 4);
  });
}

TYPED_TEST(Select, AnUnsentValueStaysInItsCase) {
  using M = typename TypeParam::M;
  TypeParam::run([] {
    auto [tx, rx] = M::template sync_channel<std::unique_ptr<int>>(0);  // nobody receives
    auto [otx, orx] = M::template channel<int>();
    otx.send(1);
    auto send = on_send(tx, std::make_unique<int>(9));
    EXPECT_EQ(M::select(send, on_recv(orx)), 1u);
    ASSERT_TRUE(send.unsent().has_value());
    EXPECT_EQ(**send.unsent(), 9);
    auto timed = on_send(tx, std::make_unique<int>(10));
    EXPECT_EQ(M::select(timed, on_timeout(2ms)), 1u);
    ASSERT_TRUE(timed.unsent().has_value()) << "a parked send case gets its value back";
    EXPECT_EQ(**timed.unsent(), 10);
  });
}

TYPED_TEST(Select, MixedTypesAndTheSameChannelTwice) {
  using M = typename TypeParam::M;
  TypeParam::run([] {
    auto [itx, irx] = M::template sync_channel<int>(1);
    // Both directions of one channel in one select: only the send is ready while it is empty,
    // only the receive once it is full.
    EXPECT_EQ(M::select(on_recv(irx), on_send(itx, 1)), 1u);
    int got = 0;
    EXPECT_EQ(M::select(on_send(itx, 2), on_recv(irx, [&](recv_result<int> r) { got = *r; })), 1u);
    EXPECT_EQ(got, 1);
    // Three types in one select, each case fed by another task in turn.
    auto [stx, srx] = M::template channel<std::string>();
    auto [ptx, prx] = M::template sync_channel<std::unique_ptr<double>>(0);
    auto feeder = M::spawn([&, itx = itx, stx = stx] {
      for (int i = 0; i < 30; ++i) {
        if (i % 3 == 0) itx.send(i);
        if (i % 3 == 1) stx.send(std::to_string(i));
        if (i % 3 == 2) {
          EXPECT_EQ(*prx.recv().value(), 0.5);
        }
      }
    });
    int ints = 0, strings = 0, sends = 0;
    for (int i = 0; i < 30; ++i) {
      M::select(on_recv(irx, [&](recv_result<int> r) { ints += r ? 1 : 0; }),
                on_recv(srx, [&](recv_result<std::string> r) { strings += r ? 1 : 0; }),
                on_send(ptx, std::make_unique<double>(0.5),
                        [&](send_result<std::unique_ptr<double>> r) { sends += r ? 1 : 0; }));
    }
    feeder.join();
    EXPECT_EQ(ints, 10);
    EXPECT_EQ(strings, 10);
    EXPECT_EQ(sends, 10);
  });
}

TYPED_TEST(Select, TwoSelectsMeetOnARendezvous) {
  using M = typename TypeParam::M;
  TypeParam::run([] {
    auto [tx, rx] = M::template sync_channel<int>(0);
    auto [qtx, qrx] = M::template channel<int>();  // never used: a second case for each side
    const int n = 2000 / weft_test::scale;
    auto sender = M::spawn([&] {
      for (int i = 0; i < n; ++i) EXPECT_EQ(M::select(on_recv(qrx), on_send(tx, i)), 1u);
    });
    for (int i = 0; i < n; ++i) {
      int got = -1;
      EXPECT_EQ(M::select(on_recv(rx, [&](recv_result<int> r) { got = *r; }), on_recv(qrx)), 0u);
      ASSERT_EQ(got, i);
    }
    sender.join();
  });
}

TYPED_TEST(Select, AmongReadyCasesTheChoiceIsFair) {
  using M = typename TypeParam::M;
  TypeParam::run([] {
    auto [atx, arx] = M::template channel<int>();
    auto [btx, brx] = M::template channel<int>();
    atx.send(0);
    btx.send(0);
    const int n = 100'000 / weft_test::scale;
    int wins[2] = {0, 0};
    for (int i = 0; i < n; ++i) {
      const std::size_t k = M::select(on_recv(arx, [&](recv_result<int>) { atx.send(0); }),
                                      on_recv(brx, [&](recv_result<int>) { btx.send(0); }));
      ++wins[k];
    }
    EXPECT_EQ(wins[0] + wins[1], n);
    EXPECT_GE(wins[0], n * 4 / 10) << wins[0] << " vs " << wins[1];
    EXPECT_GE(wins[1], n * 4 / 10) << wins[0] << " vs " << wins[1];
    // A ready send against a ready receive, too.
    auto [ctx, crx] = M::template channel<int>();
    int sends = 0;
    for (int i = 0; i < n; ++i)
      if (M::select(on_send(ctx, i), on_recv(arx, [&](recv_result<int>) { atx.send(0); })) == 0)
        ++sends;
    EXPECT_GE(sends, n * 4 / 10);
    EXPECT_LE(sends, n * 6 / 10);
  });
}

// Producers offer values with short timeouts on rendezvous channels to selectors that also time
// out: notifiers keep losing races to timers, so hand-overs are undone often. Exactly the values
// whose send reported ok are received, each once.
TYPED_TEST(Select, ExactlyOneCaseUnderContentionWithTimeouts) {
  using M = typename TypeParam::M;
  TypeParam::run([] {
    auto [atx, arx] = M::template sync_channel<int>(0);
    auto [btx, brx] = M::template sync_channel<int>(0);
    constexpr int producers = 4, selectors = 3;
    const int per = 3000 / weft_test::scale;
    std::vector<std::atomic<int>> received(producers * per);
    std::vector<std::atomic<int>> sent_ok(producers * per);
    std::atomic<bool> done{false};
    std::vector<typename M::template join_handle<void>> hs;
    for (int p = 0; p < producers; ++p)
      hs.push_back(M::spawn([&, p, a = atx, b = btx] {
        for (int i = 0; i < per; ++i) {
          const int v = p * per + i;
          auto r = (v % 2 == 0 ? a : b).send_for(v, std::chrono::microseconds(50 + v % 200));
          if (r) {
            sent_ok[v].store(1);
          } else {
            EXPECT_EQ(r.unsent(), v);
          }
        }
      }));
    for (int s = 0; s < selectors; ++s)
      hs.push_back(M::spawn([&] {
        auto take = [&](recv_result<int> r) {
          if (r) received[*r].fetch_add(1);
        };
        while (!done.load()) M::select(on_recv(arx, take), on_recv(brx, take), on_timeout(100us));
      }));
    for (int p = 0; p < producers; ++p) hs[p].join();
    done.store(true);
    for (auto& h : hs)
      if (h.joinable()) h.join();
    int ok = 0;
    for (int v = 0; v < producers * per; ++v) {
      ASSERT_EQ(received[v].load(), sent_ok[v].load()) << "value " << v;
      ok += sent_ok[v].load();
    }
    EXPECT_GT(ok, 0);
  });
}

TYPED_TEST(Select, EmptyHandlesThrow) {
  using M = typename TypeParam::M;
  TypeParam::run([] {
    typename M::template receiver<int> none;
    EXPECT_THROW(M::select(on_recv(none), on_default()), std::logic_error);
  });
}

TEST(FiberSelect, APlainThreadSelectsOverFiberChannels) {
  watchdog dog("thread select", 60s);
  weft::runtime rt{{.workers = 2}};
  auto [atx, arx] = weft::fiber::sync_channel<int>(0);
  auto [btx, brx] = weft::fiber::sync_channel<int>(0);
  const int n = 2000 / weft_test::scale;
  auto producer = rt.spawn([&, a = std::move(atx), b = std::move(btx)] {
    for (int i = 0; i < n; ++i) (i % 2 ? a : b).send(i);
  });
  long sum = 0;
  int count = 0;
  std::thread t([&] {
    for (bool open = true; open;)
      weft::fiber::select(on_recv(arx,
                                  [&](recv_result<int> r) {
                                    if (r)
                                      sum += *r, ++count;
                                    else
                                      open = false;
                                  }),
                          on_recv(brx, [&](recv_result<int> r) {
                            if (r)
                              sum += *r, ++count;
                            else
                              open = false;
                          }));
  });
  t.join();
  producer.join();
  EXPECT_EQ(count, n);
  EXPECT_EQ(sum, static_cast<long>(n) * (n - 1) / 2);
}

TEST(FiberSelect, ShutdownCancelsAParkedSelect) {
  watchdog dog("cancelled select", 60s);
  auto [atx, arx] = weft::fiber::channel<int>();
  auto [btx, brx] = weft::fiber::sync_channel<int>(0);
  std::atomic<bool> cancelled{false};
  {
    weft::runtime rt{{.workers = 1, .shutdown_grace = 20ms}};
    auto h = rt.spawn([&] {
      try {
        weft::fiber::select(on_recv(arx), on_send(btx, 1));
      } catch (const weft::fiber::cancelled&) {
        cancelled.store(true);
        throw;
      }
    });
    h.detach();
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(cancelled.load());
  // No waiter of the cancelled select is left behind in either channel.
  EXPECT_EQ(brx.try_recv().status(), status::empty);
  EXPECT_TRUE(atx.send(2));
  EXPECT_EQ(arx.try_recv().value(), 2);
}

}  // namespace
