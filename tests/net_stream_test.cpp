// tcp_stream, tcp_listener and descriptor waits, typed over both models and every policy: echo
// round trips (IPv4 and IPv6), end of stream, deadlines on read/accept/connect, errors carrying
// their errno (refused, reset, broken pipe), shutdown waking blocked tasks, several acceptors on
// one listener, back-pressure on writes, and wait_readable on a pipe.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <weft/fiber.hpp>
#include <weft/os.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <string>
#include <system_error>
#include <vector>

#include "net_support.hpp"
#include "support.hpp"

namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using weft::net::address;
using namespace net_test;

template <class E>
class NetStream : public ::testing::Test {};
TYPED_TEST_SUITE(NetStream, all_envs, env_name);

// Runs `f` and returns the std::system_error it throws (fails the test if it throws none).
template <class F>
std::system_error error_of(F&& f) {
  try {
    f();
  } catch (const std::system_error& e) {
    return e;
  }
  ADD_FAILURE() << "no std::system_error was thrown";
  return std::system_error(std::error_code());
}

// An echo of one connection: what it reads it writes back, until the end of the stream.
template <class Stream>
void echo(Stream& s) {
  std::array<std::byte, 1024> buf;
  while (const std::size_t n = s.read(buf)) s.write_all(buf.data(), n);
}

template <class M>
void echo_round_trip(const address& where) {
  auto l = M::tcp_listener::bind(where);
  auto server = M::spawn([&l] {
    auto s = l.accept(10s);
    echo(s);
  });
  auto c = M::tcp_stream::connect(l.local_address(), 10s);
  c.set_nodelay();
  EXPECT_EQ(c.peer_address(), l.local_address());
  EXPECT_EQ(c.local_address().family(), where.family());
  for (const std::string& msg : std::vector<std::string>{"hello", "weft", std::string(5000, 'x')}) {
    c.write_all(bytes_of(msg));
    std::string back(msg.size(), '\0');
    c.read_exact(std::as_writable_bytes(std::span(back)), 10s);
    EXPECT_EQ(back, msg);
  }
  c.shutdown(weft::net::shutdown_how::write);  // the server sees the end and closes
  std::byte b[1];
  EXPECT_EQ(c.read(b, 10s), 0u);
  server.join();
}

TYPED_TEST(NetStream, EchoRoundTripIpv4) {
  weft_test::watchdog wd("NetStream.EchoRoundTripIpv4", 60s);
  TypeParam::run([] { echo_round_trip<typename TypeParam::M>(address::loopback_v4(0)); });
}

TYPED_TEST(NetStream, EchoRoundTripIpv6) {
  if (!ipv6_loopback_available()) GTEST_SKIP() << "no IPv6 loopback here";
  weft_test::watchdog wd("NetStream.EchoRoundTripIpv6", 60s);
  TypeParam::run([] { echo_round_trip<typename TypeParam::M>(address::loopback_v6(0)); });
}

TYPED_TEST(NetStream, ReadTimesOutWithErrnoAndAddress) {
  weft_test::watchdog wd("NetStream.ReadTimesOutWithErrnoAndAddress", 60s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    auto [c, s] = connected_pair<M>();
    std::byte b[16];
    const auto start = std::chrono::steady_clock::now();
    const auto e = error_of([&] { c.read(b, 50ms); });
    EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
    EXPECT_EQ(e.code(), std::errc::timed_out);
    EXPECT_THAT(e.what(), HasSubstr("read from " + s.local_address().to_string()));
    // The stream is still usable after a timeout; an absolute deadline works the same way.
    s.write_all(bytes_of("z"));
    EXPECT_EQ(c.read(b, std::chrono::steady_clock::now() + 10s), 1u);
    EXPECT_EQ(error_of([&] { c.read_exact(b, std::chrono::system_clock::now() + 20ms); }).code(),
              std::errc::timed_out);
  });
}

TYPED_TEST(NetStream, AcceptTimesOut) {
  weft_test::watchdog wd("NetStream.AcceptTimesOut", 60s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    auto l = M::tcp_listener::bind(address::loopback_v4(0));
    const auto e = error_of([&] { l.accept(30ms); });
    EXPECT_EQ(e.code(), std::errc::timed_out);
    EXPECT_THAT(e.what(), HasSubstr("accept on " + l.local_address().to_string()));
    // A zero timeout only takes what is pending.
    EXPECT_EQ(error_of([&] { l.accept(0s); }).code(), std::errc::timed_out);
    auto c = M::tcp_stream::connect(l.local_address(), 10s);
    auto s = l.accept(10s);
    EXPECT_EQ(s.peer_address(), c.local_address());
  });
}

TYPED_TEST(NetStream, ConnectRefusedCarriesErrno) {
  weft_test::watchdog wd("NetStream.ConnectRefusedCarriesErrno", 60s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    address closed;
    {
      auto l = M::tcp_listener::bind(address::loopback_v4(0));
      closed = l.local_address();
    }
    const auto e = error_of([&] { M::tcp_stream::connect(closed, 10s); });
    EXPECT_EQ(e.code(), std::errc::connection_refused);
    EXPECT_THAT(e.what(), HasSubstr("connect to " + closed.to_string()));
  });
}

TYPED_TEST(NetStream, PeerResetIsReportedOnReadAndWrite) {
  weft_test::watchdog wd("NetStream.PeerResetIsReportedOnReadAndWrite", 60s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    auto [c, s] = connected_pair<M>();
    auto [c2, s2] = connected_pair<M>();
    // Closing with a zero linger time sends a reset instead of a FIN.
    const linger abort_close{1, 0};
    ASSERT_EQ(
        ::setsockopt(s.native_handle(), SOL_SOCKET, SO_LINGER, &abort_close, sizeof abort_close),
        0);
    ASSERT_EQ(
        ::setsockopt(s2.native_handle(), SOL_SOCKET, SO_LINGER, &abort_close, sizeof abort_close),
        0);
    s.close();
    s2.close();
    std::byte b[16];
    const auto e = error_of([&] { c.read(b, 10s); });
    EXPECT_EQ(e.code(), std::errc::connection_reset);
    EXPECT_THAT(e.what(), HasSubstr("read from"));
    // Writing to a reset connection fails (EPIPE or ECONNRESET) and raises no SIGPIPE.
    const std::vector<std::byte> big(1 << 16);
    const auto w = error_of([&] {
      for (int i = 0; i < 100; ++i) c2.write_all(big, 10s);
    });
    EXPECT_TRUE(w.code() == std::errc::broken_pipe || w.code() == std::errc::connection_reset)
        << w.what();
    EXPECT_THAT(w.what(), HasSubstr("write to"));
  });
}

TYPED_TEST(NetStream, EndOfStreamAndShortReadExact) {
  weft_test::watchdog wd("NetStream.EndOfStreamAndShortReadExact", 60s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    auto [c, s] = connected_pair<M>();
    s.write_all(bytes_of("abc"));
    s.close();
    std::array<std::byte, 8> buf{};
    const auto e = error_of([&] { c.read_exact(buf, 10s); });
    EXPECT_EQ(e.code(), weft::net::error::unexpected_eof);
    EXPECT_EQ(static_cast<char>(buf[2]), 'c');  // what arrived is there
    EXPECT_EQ(c.read(buf, 10s), 0u);            // and the end of stream stays
    EXPECT_EQ(c.read(buf, 10s), 0u);
  });
}

// A short read that stops at the peer's FIN: the next read must return 0 at once, though no
// readiness edge follows (the fiber model's read skips a recv after a short read only while no
// hang-up has been reported: tcp_stream::read, fiber_io::read_would_block).
TYPED_TEST(NetStream, EndOfStreamRightAfterAShortRead) {
  weft_test::watchdog wd("NetStream.EndOfStreamRightAfterAShortRead", 60s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    for (const bool reader_parked : {false, true}) {
      // (No SCOPED_TRACE: gtest keeps it per thread, and a fiber may change workers.)
      const char* variant = reader_parked ? "data and FIN while the reader waits"
                                          : "data and FIN dispatched before the reader reads";
      auto [c, s] = connected_pair<M>();
      std::array<std::byte, 64> buf{};
      // A first short read, after a wait (the descriptor is registered by then).
      auto first = M::spawn([&] {
        M::sleep_for(20ms);
        s.write_all(bytes_of("x"));
      });
      ASSERT_EQ(c.read(buf, 10s), 1u);
      first.join();
      auto last = M::spawn([&] {
        if (reader_parked) M::sleep_for(20ms);  // the reader is waiting (or about to) by then
        s.write_all(bytes_of("abc"));
        s.close();  // FIN right after the data
      });
      if (!reader_parked) {
        last.join();
        M::sleep_for(50ms);  // the edge (data + hang-up) is dispatched while nobody waits
      }
      EXPECT_EQ(c.read(buf, 10s), 3u) << variant;  // short: it stops at the FIN
      EXPECT_EQ(static_cast<char>(buf[2]), 'c') << variant;
      EXPECT_EQ(c.read(buf, 5s), 0u) << variant;  // the end of the stream, at once
      EXPECT_EQ(c.read(buf, 5s), 0u) << variant;
      if (reader_parked) last.join();
    }
  });
}

TYPED_TEST(NetStream, ShutdownWakesABlockedReaderAndWriter) {
  weft_test::watchdog wd("NetStream.ShutdownWakesABlockedReaderAndWriter", 60s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    auto [c, s] = connected_pair<M>();
    std::atomic<bool> reading{false};
    auto reader = M::spawn([&c, &reading] {
      std::byte b[16];
      reading = true;
      return c.read(b);  // no deadline: only the shutdown ends it
    });
    while (!reading) M::yield();
    M::sleep_for(20ms);  // let it block
    c.shutdown();
    EXPECT_EQ(reader.join(), 0u);
    // A writer blocked on a full buffer (the peer never reads) wakes with an error.
    auto [c2, s2] = connected_pair<M>();
    auto writer = M::spawn([&c2] {
      const std::vector<std::byte> big(1 << 20);
      try {
        for (;;) c2.write_all(big);
      } catch (const std::system_error& e) {
        return e.code();
      }
    });
    M::sleep_for(50ms);
    c2.shutdown();
    EXPECT_EQ(writer.join(), std::errc::broken_pipe);
  });
}

TYPED_TEST(NetStream, ListenerShutdownWakesEveryAcceptor) {
  weft_test::watchdog wd("NetStream.ListenerShutdownWakesEveryAcceptor", 60s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    auto l = M::tcp_listener::bind(address::loopback_v4(0));
    std::atomic<int> canceled{0};
    std::vector<typename M::template join_handle<void>> acceptors;
    for (int i = 0; i < 3; ++i) {
      acceptors.push_back(M::spawn([&] {
        try {
          l.accept();
        } catch (const std::system_error& e) {
          if (e.code() == std::errc::operation_canceled) ++canceled;
        }
      }));
    }
    M::sleep_for(30ms);
    l.shutdown();
    for (auto& h : acceptors) h.join();
    EXPECT_EQ(canceled.load(), 3);
    EXPECT_EQ(error_of([&] { l.accept(1s); }).code(), std::errc::operation_canceled);
  });
}

TYPED_TEST(NetStream, SeveralAcceptorsShareOneListener) {
  weft_test::watchdog wd("NetStream.SeveralAcceptorsShareOneListener", 60s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    auto l = M::tcp_listener::bind(address::loopback_v4(0));
    constexpr int clients = 40;
    std::atomic<int> accepted{0};
    std::vector<typename M::template join_handle<void>> acceptors;
    for (int i = 0; i < 4; ++i) {
      acceptors.push_back(M::spawn([&] {
        try {
          for (;;) {
            auto s = l.accept();
            ++accepted;
            s.write_all(bytes_of("!"));
          }
        } catch (const std::system_error& e) {
          EXPECT_EQ(e.code(), std::errc::operation_canceled);
        }
      }));
    }
    for (int i = 0; i < clients; ++i) {
      auto c = M::tcp_stream::connect(l.local_address(), 10s);
      std::byte b[1];
      c.read_exact(b, 10s);  // served by one of them
    }
    EXPECT_EQ(accepted.load(), clients);
    l.shutdown();
    for (auto& h : acceptors) h.join();
  });
}

TYPED_TEST(NetStream, WritesWaitForTheReaderAndArriveIntact) {
  weft_test::watchdog wd("NetStream.WritesWaitForTheReaderAndArriveIntact", 120s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    auto [c, s] = connected_pair<M>();
    const std::size_t total = (8u << 20) / static_cast<std::size_t>(weft_test::scale);
    std::vector<std::byte> data(total);
    for (std::size_t i = 0; i < total; ++i)
      data[i] = static_cast<std::byte>((i * 7 + i / 251) & 0xff);
    auto writer = M::spawn([&] {
      c.write_all(data, 60s);  // far more than the socket buffers: it must wait for the reader
      c.shutdown(weft::net::shutdown_how::write);
    });
    std::vector<std::byte> got;
    got.reserve(total);
    std::array<std::byte, 4096> buf;
    int pauses = 0;
    try {
      while (const std::size_t n = s.read(buf, 60s)) {
        got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
        if (pauses < 5 && got.size() > total / 8 * static_cast<std::size_t>(pauses + 1)) {
          ++pauses;
          M::sleep_for(5ms);  // a slow reader now and then: the writer fills the buffers
        }
      }
    } catch (const std::exception& e) {
      ADD_FAILURE() << "reader: " << e.what() << " after " << got.size() << " bytes";
      s.shutdown();  // unblocks the writer
    }
    writer.join();
    EXPECT_EQ(got.size(), total);
    EXPECT_TRUE(got == data);
  });
}

TYPED_TEST(NetStream, WaitReadableOnAPipe) {
  weft_test::watchdog wd("NetStream.WaitReadableOnAPipe", 60s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    int p[2];
    ASSERT_EQ(::pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    EXPECT_FALSE(M::wait_readable(p[0], 20ms));  // nothing written: the deadline passes
    EXPECT_TRUE(M::wait_writable(p[1], 1s));     // an empty pipe has room
    auto writer = M::spawn([&] {
      M::sleep_for(20ms);
      const char x = 'x';
      EXPECT_EQ(::write(p[1], &x, 1), 1);
    });
    EXPECT_TRUE(M::wait_readable(p[0], 10s));
    char got = 0;
    EXPECT_EQ(::read(p[0], &got, 1), 1);
    EXPECT_EQ(got, 'x');
    writer.join();
    // Readiness that arrived before the wait counts: no new edge is needed.
    EXPECT_EQ(::write(p[1], "y", 1), 1);
    M::sleep_for(5ms);
    EXPECT_TRUE(M::wait_readable(p[0], 10s));
    EXPECT_TRUE(M::wait_readable(p[0], 10s));
    ::close(p[0]);
    ::close(p[1]);
  });
}

TYPED_TEST(NetStream, FdWaiterWaitsRepeatedly) {
  weft_test::watchdog wd("NetStream.FdWaiterWaitsRepeatedly", 60s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    int p[2];
    ASSERT_EQ(::pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    constexpr int rounds = 200;
    {
      typename M::fd_waiter w(p[0]);
      auto writer = M::spawn([&] {
        for (int i = 0; i < rounds; ++i) {
          const auto b = static_cast<unsigned char>(i);
          EXPECT_EQ(::write(p[1], &b, 1), 1);
          if (i % 16 == 0) M::sleep_for(1ms);
        }
      });
      int next = 0;
      while (next < rounds) {
        ASSERT_TRUE(w.wait_readable(10s));
        unsigned char b = 0;
        while (::read(p[0], &b, 1) == 1) {
          EXPECT_EQ(b, static_cast<unsigned char>(next));  // in order, none lost
          ++next;
        }
      }
      writer.join();
      EXPECT_FALSE(w.wait_readable(10ms));
    }
    ::close(p[0]);
    ::close(p[1]);
  });
}

TYPED_TEST(NetStream, StreamWaitReadable) {
  weft_test::watchdog wd("NetStream.StreamWaitReadable", 60s);
  TypeParam::run([] {
    using M = typename TypeParam::M;
    auto [c, s] = connected_pair<M>();
    EXPECT_FALSE(c.wait_readable(20ms));
    EXPECT_TRUE(c.wait_writable(1s));
    s.write_all(bytes_of("ping"));
    EXPECT_TRUE(c.wait_readable(10s));
    std::array<std::byte, 4> buf;
    c.read_exact(buf, 1s);
  });
}

TYPED_TEST(NetStream, MisuseIsReportedByName) {
  TypeParam::run([] {
    using M = typename TypeParam::M;
    typename M::tcp_stream s;
    std::byte b[1];
    EXPECT_FALSE(s.is_open());
    try {
      s.read(b);
      ADD_FAILURE() << "read on a closed stream did not throw";
    } catch (const std::logic_error& e) {
      EXPECT_THAT(e.what(), HasSubstr("tcp_stream::read"));
    }
    EXPECT_THROW(s.write(b), std::logic_error);
    s.close();     // idempotent
    s.shutdown();  // a no-op
    typename M::tcp_listener l;
    EXPECT_THROW(l.accept(), std::logic_error);
  });
}

TEST(NetAddress, ParsesAndPrints) {
  EXPECT_EQ(address::parse("127.0.0.1:8080").to_string(), "127.0.0.1:8080");
  EXPECT_EQ(address::parse("[::1]:443").to_string(), "[::1]:443");
  EXPECT_TRUE(address::parse("[::1]:443").is_v6());
  EXPECT_EQ(address::parse("10.1.2.3:0").port(), 0);
  EXPECT_EQ(address("::1", 7), address::loopback_v6(7));
  EXPECT_FALSE(address::loopback_v4(7) == address::loopback_v4(8));
  EXPECT_EQ(address().to_string(), "(no address)");
  EXPECT_TRUE(address::parse("127.3.4.5:1").is_loopback());
  EXPECT_TRUE(address::loopback_v6(1).is_loopback());
  EXPECT_FALSE(address::parse("10.1.2.3:1").is_loopback());
  EXPECT_FALSE(address::parse("[::2]:1").is_loopback());
  EXPECT_FALSE(address().is_loopback());
  for (const char* bad : {"localhost:80", "127.0.0.1", "127.0.0.1:", "127.0.0.1:99999", "::1:80",
                          "[::1]80", "1.2.3.4:8x"}) {
    try {
      address::parse(bad);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_THAT(e.what(), HasSubstr(bad));
    }
  }
}

}  // namespace
