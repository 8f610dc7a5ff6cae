// Channel semantics, typed over weft::os and weft::fiber under every scheduling policy: hand-off,
// buffering, rendezvous, try/for/until results, disconnection both ways, close, ranges, MPMC,
// move-only values, destruction with blocked parties, and threads meeting fibers.
#include <weft/fiber.hpp>
#include <weft/os.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <numeric>
#include <ranges>
#include <stdexcept>
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
class Channel : public watched<E> {};
TYPED_TEST_SUITE(Channel, channel_test::all_envs, channel_test::env_name);

static_assert(std::ranges::input_range<weft::os::receiver<int>>);
static_assert(std::ranges::input_range<weft::fiber::receiver<std::unique_ptr<int>>>);
static_assert(std::copyable<weft::os::sender<int>> && std::copyable<weft::os::receiver<int>>);

TYPED_TEST(Channel, OneMessageAcross) {
  using M = typename TypeParam::M;
  TypeParam::run([] {
    auto [tx, rx] = M::template channel<std::string>();
    auto h = M::spawn([tx = std::move(tx)] { EXPECT_TRUE(tx.send(std::string("hi"))); });
    auto got = rx.recv();
    ASSERT_TRUE(got);
    EXPECT_EQ(got.status(), status::ok);
    EXPECT_EQ(*got, "hi");
    h.join();
    EXPECT_EQ(rx.recv().status(), status::disconnected) << "the only sender is gone";
  });
}

TYPED_TEST(Channel, UnboundedKeepsFifoOrderAndNeverBlocks) {
  using M = typename TypeParam::M;
  TypeParam::run([] {
    auto [tx, rx] = M::template channel<int>();
    EXPECT_EQ(tx.capacity(), SIZE_MAX);
    for (int i = 0; i < 10'000; ++i) ASSERT_TRUE(tx.try_send(i));  // grows, never full
    for (int i = 0; i < 10'000; ++i) ASSERT_EQ(rx.try_recv().value(), i);
    EXPECT_EQ(rx.try_recv().status(), status::empty);
  });
}

TYPED_TEST(Channel, MoveOnlyValuesTravelOnEveryKind) {
  using M = typename TypeParam::M;
  TypeParam::run([] {
    for (std::size_t cap : {SIZE_MAX, std::size_t{1}, std::size_t{0}}) {
      auto [tx, rx] = cap == SIZE_MAX ? M::template channel<std::unique_ptr<int>>()
                                      : M::template sync_channel<std::unique_ptr<int>>(cap);
      auto h = M::spawn([&tx] {
        for (int i = 0; i < 100; ++i) ASSERT_TRUE(tx.send(std::make_unique<int>(i)));
      });
      for (int i = 0; i < 100; ++i) {
        auto p = rx.recv();
        ASSERT_TRUE(p) << "capacity " << cap;
        EXPECT_EQ(**p, i);
      }
      h.join();
    }
  });
}

TYPED_TEST(Channel, TryRecvTellsEmptyFromDisconnected) {
  using M = typename TypeParam::M;
  TypeParam::run([] {
    auto [tx, rx] = M::template channel<int>();
    EXPECT_EQ(rx.try_recv().status(), status::empty);
    tx.send(4);
    EXPECT_EQ(rx.try_recv().value(), 4);
    tx = {};  // the last sender goes
    EXPECT_EQ(rx.try_recv().status(), status::disconnected);
    EXPECT_EQ(rx.recv().status(), status::disconnected);
  });
}

TYPED_TEST(Channel, RecvForTellsTimeoutFromDisconnected) {
  using M = typename TypeParam::M;
  TypeParam::run([] {
    auto [tx, rx] = M::template channel<int>();
    EXPECT_EQ(rx.recv_for(5ms).status(), status::timeout);
    EXPECT_EQ(rx.recv_for(-1ms).status(), status::timeout) << "a past deadline only polls";
    EXPECT_EQ(rx.recv_until(std::chrono::steady_clock::now() + 2ms).status(), status::timeout);
    EXPECT_EQ(rx.recv_until(std::chrono::system_clock::now() + 2ms).status(), status::timeout);
    auto h = M::spawn([tx = tx] {
      M::sleep_for(5ms);
      tx.send(9);
    });
    auto r = rx.recv_for(30s);  // a timeout that does not fire: the value comes first
    EXPECT_EQ(r.status(), status::ok);
    EXPECT_EQ(*r, 9);
    h.join();
    tx = {};
    EXPECT_EQ(rx.recv_for(30s).status(), status::disconnected);
  });
}

TYPED_TEST(Channel, ReceiversDrainAfterTheLastSenderIsGone) {
  using M = typename TypeParam::M;
  TypeParam::run([] {
    auto [tx, rx] = M::template sync_channel<int>(8);
    auto tx2 = tx;
    for (int i = 0; i < 3; ++i) tx.send(i);
    tx2.send(3);
    tx = {};
    EXPECT_EQ(rx.try_recv().value(), 0) << "one sender left: not disconnected";
    tx2 = {};
    EXPECT_EQ(rx.recv().value(), 1);
    EXPECT_EQ(rx.recv_for(1s).value(), 2);
    EXPECT_EQ(rx.try_recv().value(), 3);
    EXPECT_EQ(rx.recv().status(), status::disconnected);
    EXPECT_EQ(rx.try_recv().status(), status::disconnected);
  });
}

TYPED_TEST(Channel, CloseDrainsThenDisconnectsAndRefusesSends) {
  using M = typename TypeParam::M;
  TypeParam::run([] {
    auto [tx, rx] = M::template channel<std::unique_ptr<int>>();
    tx.send(std::make_unique<int>(1));
    tx.close();
    tx.close();  // idempotent
    auto p = std::make_unique<int>(2);
    int* const raw = p.get();
    auto r = tx.send(std::move(p));
    EXPECT_FALSE(r);
    EXPECT_EQ(r.status(), status::disconnected);
    EXPECT_EQ(r.unsent().get(), raw) << "the very value comes back";
    EXPECT_EQ(tx.try_send(std::make_unique<int>(3)).status(), status::disconnected);
    EXPECT_EQ(*rx.recv().value(), 1);
    EXPECT_EQ(rx.recv().status(), status::disconnected);
  });
}

TYPED_TEST(Channel, SendToAChannelWithoutReceiversHandsTheValueBack) {
  using M = typename TypeParam::M;
  TypeParam::run([] {
    for (std::size_t cap : {SIZE_MAX, std::size_t{4}, std::size_t{0}}) {
      auto [tx, rx] = M::template sync_channel<std::unique_ptr<int>>(cap);
      rx = {};
      auto p = std::make_unique<int>(7);
      int* const raw = p.get();
      auto r = tx.send(std::move(p));
      ASSERT_EQ(r.status(), status::disconnected);
      EXPECT_EQ(r.unsent().get(), raw);
      EXPECT_EQ(tx.send_for(std::make_unique<int>(1), 1s).status(), status::disconnected);
    }
  });
}

TYPED_TEST(Channel, BoundedChannelBlocksWhenFullAndKeepsOrder) {
  using M = typename TypeParam::M;
  TypeParam::run([] {
    auto [tx, rx] = M::template sync_channel<int>(2);
    EXPECT_EQ(tx.capacity(), 2u);
    EXPECT_TRUE(tx.try_send(1));
    EXPECT_TRUE(tx.try_send(2));
    auto full = tx.try_send(3);
    EXPECT_EQ(full.status(), status::full);
    EXPECT_EQ(full.unsent(), 3);
    auto late = tx.send_for(3, 5ms);
    EXPECT_EQ(late.status(), status::timeout);
    EXPECT_EQ(late.unsent(), 3);
    std::atomic<int> sent{0};
    auto h = M::spawn([&, tx = tx] {
      for (int v = 3; v <= 6; ++v) {
        EXPECT_TRUE(tx.send(v));  // blocks until a slot frees
        sent.fetch_add(1);
      }
    });
    M::sleep_for(20ms);
    EXPECT_EQ(sent.load(), 0) << "a full channel must block the sender";
    for (int v = 1; v <= 6; ++v) EXPECT_EQ(rx.recv().value(), v);
    h.join();
    EXPECT_EQ(sent.load(), 4);
  });
}

TYPED_TEST(Channel, RendezvousSendReturnsOnlyOnceTheValueWasTaken) {
  using M = typename TypeParam::M;
  TypeParam::run([] {
    auto [tx, rx] = M::template sync_channel<int>(0);
    EXPECT_EQ(tx.capacity(), 0u);
    EXPECT_EQ(tx.try_send(1).status(), status::full) << "no receiver waiting";
    EXPECT_EQ(tx.send_for(1, 2ms).status(), status::timeout);
    EXPECT_EQ(rx.try_recv().status(), status::empty) << "no sender waiting";
    std::atomic<bool> returned{false};
    auto h = M::spawn([&, tx = tx] {
      EXPECT_TRUE(tx.send(42));
      returned.store(true);
    });
    M::sleep_for(20ms);
    EXPECT_FALSE(returned.load()) << "nothing received yet, so send must still be blocked";
    EXPECT_EQ(rx.recv().value(), 42);
    h.join();
    EXPECT_TRUE(returned.load());
    // The other direction: the receiver waits first, the sender hands over directly.
    auto r = M::spawn([&rx] { return rx.recv().value(); });
    M::sleep_for(5ms);
    EXPECT_TRUE(tx.send(43));
    EXPECT_EQ(r.join(), 43);
  });
}

TYPED_TEST(Channel, CopiedSendersDisconnectOnlyWhenAllAreGone) {
  using M = typename TypeParam::M;
  TypeParam::run([] {
    auto [tx, rx] = M::template channel<std::string>();
    std::vector<typename M::template join_handle<void>> hs;
    for (int p = 0; p < 3; ++p) {
      hs.push_back(M::spawn([p, tx1 = tx] {
        for (int i = 0; i < 100; ++i) tx1.send(std::string(2, static_cast<char>('0' + p)));
      }));
    }
    tx = {};
    int per[3] = {0, 0, 0};
    for (std::string s : rx) ++per[s[0] - '0'];  // ends when the three copies are gone
    for (auto& h : hs) h.join();
    EXPECT_EQ(per[0], 100);
    EXPECT_EQ(per[1], 100);
    EXPECT_EQ(per[2], 100);
  });
}

TYPED_TEST(Channel, CopiedReceiversShareTheWork) {
  using M = typename TypeParam::M;
  TypeParam::run([] {
    auto [tx, rx] = M::template sync_channel<int>(4);
    constexpr int n = 2000;
    std::vector<std::atomic<int>> seen(n);
    std::vector<typename M::template join_handle<int>> workers;
    for (int w = 0; w < 4; ++w)
      workers.push_back(M::spawn([&seen, rx1 = rx] {
        int mine = 0;
        for (int v : rx1) {
          seen[v].fetch_add(1);
          ++mine;
        }
        return mine;
      }));
    rx = {};
    for (int i = 0; i < n; ++i) ASSERT_TRUE(tx.send(i));
    tx = {};
    int total = 0;
    for (auto& w : workers) total += w.join();
    EXPECT_EQ(total, n);
    for (int i = 0; i < n; ++i) ASSERT_EQ(seen[i].load(), 1) << "value " << i;
  });
}

TYPED_TEST(Channel, ReceiverIsARangeThatEndsAtDisconnection) {
  using M = typename TypeParam::M;
  TypeParam::run([] {
    auto [tx, rx] = M::template channel<std::unique_ptr<int>>();
    auto h = M::spawn([tx = std::move(tx)] {
      for (int i = 0; i < 5; ++i) {
        tx.send(std::make_unique<int>(i));
        M::sleep_for(1ms);
      }
    });
    std::vector<int> got;
    for (auto p : rx) got.push_back(*p);
    h.join();
    EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3, 4}));
    auto it = rx.begin();
    EXPECT_TRUE(it == rx.end()) << "a disconnected channel is an empty range";
  });
}

TYPED_TEST(Channel, DroppingTheLastSenderWakesBlockedReceivers) {
  using M = typename TypeParam::M;
  TypeParam::run([] {
    auto [tx, rx] = M::template sync_channel<int>(0);
    std::vector<typename M::template join_handle<status>> hs;
    for (int i = 0; i < 3; ++i) hs.push_back(M::spawn([rx1 = rx] { return rx1.recv().status(); }));
    M::sleep_for(10ms);
    tx = {};
    for (auto& h : hs) EXPECT_EQ(h.join(), status::disconnected);
  });
}

TYPED_TEST(Channel, DroppingTheLastReceiverWakesBlockedSendersWithTheirValues) {
  using M = typename TypeParam::M;
  TypeParam::run([] {
    for (std::size_t cap : {std::size_t{0}, std::size_t{1}}) {
      auto [tx, rx] = M::template sync_channel<std::unique_ptr<int>>(cap);
      if (cap == 1) tx.send(std::make_unique<int>(0));  // fill it
      std::vector<typename M::template join_handle<bool>> hs;
      for (int i = 1; i <= 3; ++i)
        hs.push_back(M::spawn([i, tx1 = tx] {
          auto r = tx1.send(std::make_unique<int>(i));
          return r.status() == status::disconnected && *r.unsent() == i;
        }));
      M::sleep_for(10ms);
      rx = {};
      for (auto& h : hs) EXPECT_TRUE(h.join()) << "capacity " << cap;
    }
  });
}

TYPED_TEST(Channel, CloseWakesEveryBlockedParty) {
  using M = typename TypeParam::M;
  TypeParam::run([] {
    auto [tx, rx] = M::template sync_channel<std::unique_ptr<int>>(1);
    tx.send(std::make_unique<int>(0));  // full: the next senders block
    std::vector<typename M::template join_handle<bool>> senders;
    for (int i = 1; i <= 2; ++i)
      senders.push_back(M::spawn([i, tx1 = tx] {
        auto r = tx1.send(std::make_unique<int>(i));
        return r.status() == status::disconnected && *r.unsent() == i;
      }));
    auto [etx, erx] = M::template channel<int>();
    auto receiver = M::spawn([&erx] { return erx.recv().status(); });
    M::sleep_for(10ms);
    tx.close();
    etx.close();
    for (auto& s : senders) EXPECT_TRUE(s.join());
    EXPECT_EQ(receiver.join(), status::disconnected);
    EXPECT_EQ(*rx.recv().value(), 0) << "what was buffered before close() is still received";
    EXPECT_EQ(rx.recv().status(), status::disconnected);
  });
}

TYPED_TEST(Channel, TimeoutsTooLongToRepresentWaitForever) {
  using M = typename TypeParam::M;
  TypeParam::run([] {
    auto [tx, rx] = M::template sync_channel<int>(0);
    auto h = M::spawn([&tx] { return tx.send_for(5, std::chrono::hours::max()).status(); });
    EXPECT_EQ(rx.recv_for(std::chrono::nanoseconds::max()).value(), 5);
    EXPECT_EQ(h.join(), status::ok);
  });
}

TYPED_TEST(Channel, BufferedValuesAreDestroyedOnceWhenTheChannelDies) {
  using M = typename TypeParam::M;
  TypeParam::run([] {
    const long before = counted::live().load();
    {
      auto [tx, rx] = M::template channel<counted>();
      for (int i = 0; i < 100; ++i) tx.send(counted(i));
      EXPECT_EQ(rx.recv().value().value(), 0);
    }
    EXPECT_EQ(counted::live().load(), before);
    {
      auto [tx, rx] = M::template sync_channel<counted>(10);
      for (int i = 0; i < 10; ++i) tx.send(counted(i));
      rx = {};  // the last receiver: buffered values can never be received, they go now
      EXPECT_EQ(counted::live().load(), before);
      EXPECT_EQ(tx.send(counted(11)).unsent().value(), 11);
    }
    EXPECT_EQ(counted::live().load(), before);
  });
}

// A value whose destructor uses the very channel it was buffered in: the channel must destroy
// buffered values outside its lock (this would self-deadlock otherwise).
struct on_destroy {
  std::function<void()> f;
  explicit on_destroy(std::function<void()> fn) : f(std::move(fn)) {}
  on_destroy(on_destroy&&) noexcept = default;
  ~on_destroy() {
    if (f) f();
  }
};

TYPED_TEST(Channel, BufferedValuesMayUseTheChannelFromTheirDestructor) {
  using M = typename TypeParam::M;
  watchdog dog("destructor re-enters the channel", 60s);
  TypeParam::run([] {
    auto [tx, rx] = M::template channel<on_destroy>();
    std::atomic<int> ran{0};
    tx.send(on_destroy([&ran, tx1 = tx] {
      EXPECT_EQ(tx1.try_send(on_destroy(nullptr)).status(), status::disconnected);
      ran.fetch_add(1);
    }));
    rx = {};
    EXPECT_EQ(ran.load(), 1);
  });
}

TYPED_TEST(Channel, EmptyHandlesAndUncheckedResultsThrow) {
  using M = typename TypeParam::M;
  TypeParam::run([] {
    typename M::template sender<int> tx;
    typename M::template receiver<int> rx;
    EXPECT_FALSE(tx);
    EXPECT_THROW(tx.send(1), std::logic_error);
    EXPECT_THROW(rx.recv(), std::logic_error);
    EXPECT_THROW((void)rx.begin(), std::logic_error);
    try {
      (void)rx.try_recv();
      FAIL();
    } catch (const std::logic_error& e) {
      EXPECT_NE(std::string(e.what()).find("receiver::try_recv"), std::string::npos) << e.what();
    }
    auto [t2, r2] = M::template channel<int>();
    try {
      (void)r2.try_recv().value();
      FAIL();
    } catch (const weft::chan::bad_result_access& e) {
      EXPECT_NE(std::string(e.what()).find("empty"), std::string::npos) << e.what();
    }
    EXPECT_THROW((void)t2.send(1).unsent(), weft::chan::bad_result_access) << "it was sent";
    EXPECT_EQ(r2.try_recv().value_or(-1), 1);
    EXPECT_EQ(r2.try_recv().value_or(-1), -1);
    auto moved = std::move(t2);
    EXPECT_THROW(t2.close(), std::logic_error) << "moved-from";
    EXPECT_TRUE(moved == moved);
  });
}

// --- hybrid and cancellation: fiber model only -------------------------------------------------

TEST(FiberChannel, PlainThreadsAndFibersShareOneChannel) {
  watchdog dog("thread<->fiber channel", 120s);
  weft::runtime rt{{.workers = 2}};
  const int n = 20'000 / weft_test::scale;
  auto [to_fiber, fiber_rx] = weft::fiber::sync_channel<int>(0);
  auto [to_thread, thread_rx] = weft::fiber::channel<int>();
  auto echo = rt.spawn([&] {
    for (int v : fiber_rx) to_thread.send(v * 2);
  });
  std::thread producer([&, tx = std::move(to_fiber)] {
    for (int i = 0; i < n; ++i) ASSERT_TRUE(tx.send(i));  // a thread blocking on a fiber channel
  });
  long sum = 0;
  for (int i = 0; i < n; ++i) sum += thread_rx.recv().value();
  producer.join();
  echo.join();
  EXPECT_EQ(sum, 2L * n * (n - 1) / 2);
}

TEST(FiberChannel, ShutdownCancelsABlockedReceiveAndTheChannelSurvives) {
  watchdog dog("cancelled recv", 60s);
  auto [tx, rx] = weft::fiber::channel<int>();
  std::atomic<bool> cancelled{false};
  {
    weft::runtime rt{{.workers = 1, .shutdown_grace = 20ms}};
    auto h = rt.spawn([&cancelled, rx1 = std::move(rx)] {
      try {
        (void)rx1.recv();
      } catch (const weft::fiber::cancelled&) {
        cancelled.store(true);
        throw;
      }
    });
    h.detach();
    std::this_thread::sleep_for(10ms);
  }  // ~runtime cancels the parked fiber; its receiver copy is destroyed while unwinding
  EXPECT_TRUE(cancelled.load());
  EXPECT_EQ(tx.send(1).status(), status::disconnected) << "no receiver left, no waiter left";
}

}  // namespace
