// weft::net::address — an IPv4 or IPv6 socket address (numeric host and port). Standard library
// and POSIX only (the 1:1 side includes it). No name resolution: weft's sockets take numeric
// addresses, so no call here ever blocks on DNS.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <charconv>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

namespace weft::net {

class address {
 public:
  // No address (family() == AF_UNSPEC); what a default-constructed stream reports.
  address() noexcept { std::memset(&u_, 0, sizeof u_); }

  // A numeric host ("127.0.0.1", "::1", "fe80::1%2" is not accepted) and a port. Throws
  // std::invalid_argument naming the text if the host is neither IPv4 nor IPv6 notation.
  address(std::string_view host, std::uint16_t port) : address() {
    const std::string h(host);
    if (::inet_pton(AF_INET, h.c_str(), &u_.v4.sin_addr) == 1) {
      u_.v4.sin_family = AF_INET;
      u_.v4.sin_port = htons(port);
    } else if (::inet_pton(AF_INET6, h.c_str(), &u_.v6.sin6_addr) == 1) {
      u_.v6.sin6_family = AF_INET6;
      u_.v6.sin6_port = htons(port);
    } else {
      throw std::invalid_argument("weft::net::address: '" + h +
                                  "' is not a numeric IPv4 or IPv6 address");
    }
  }

  // "host:port" with an IPv4 host, or "[host]:port" with an IPv6 host. Throws
  // std::invalid_argument naming the text if it is neither.
  static address parse(std::string_view text) {
    auto bad = [&](const char* why) {
      return std::invalid_argument("weft::net::address::parse: '" + std::string(text) + "' " + why);
    };
    std::string_view host;
    std::string_view port;
    if (text.starts_with('[')) {
      const auto close = text.find(']');
      if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
        throw bad("is not [IPv6]:port");
      host = text.substr(1, close - 1);
      port = text.substr(close + 2);
    } else {
      const auto colon = text.rfind(':');
      if (colon == std::string_view::npos) throw bad("has no ':port'");
      host = text.substr(0, colon);
      port = text.substr(colon + 1);
      if (host.find(':') != std::string_view::npos) throw bad("needs brackets around an IPv6 host");
    }
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value > 65535)
      throw bad("has no port number from 0 to 65535");
    try {
      return address(host, static_cast<std::uint16_t>(value));
    } catch (const std::invalid_argument&) {
      throw bad("has no numeric IPv4 or IPv6 host");
    }
  }

  // 127.0.0.1:port and [::1]:port.
  static address loopback_v4(std::uint16_t port) { return address("127.0.0.1", port); }
  static address loopback_v6(std::uint16_t port) { return address("::1", port); }

  // From a kernel-filled sockaddr (accept, getsockname); AF_UNSPEC if it is not IPv4 or IPv6.
  static address from_native(const sockaddr* sa, socklen_t len) noexcept {
    address a;
    if (sa->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in)))
      std::memcpy(&a.u_.v4, sa, sizeof(sockaddr_in));
    else if (sa->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6)))
      std::memcpy(&a.u_.v6, sa, sizeof(sockaddr_in6));
    return a;
  }

  int family() const noexcept { return u_.any.sa_family; }
  bool is_v4() const noexcept { return family() == AF_INET; }
  bool is_v6() const noexcept { return family() == AF_INET6; }
  // 127.0.0.0/8 or ::1.
  bool is_loopback() const noexcept {
    if (is_v4()) return (ntohl(u_.v4.sin_addr.s_addr) >> 24) == 127;
    return is_v6() && IN6_IS_ADDR_LOOPBACK(&u_.v6.sin6_addr);
  }

  std::uint16_t port() const noexcept {
    if (is_v4()) return ntohs(u_.v4.sin_port);
    if (is_v6()) return ntohs(u_.v6.sin6_port);
    return 0;
  }

  // "127.0.0.1:8080", "[::1]:8080", or "(no address)".
  std::string to_string() const {
    if (!is_v4() && !is_v6()) return "(no address)";
    char buf[INET6_ADDRSTRLEN] = {};
    if (is_v4())
      ::inet_ntop(AF_INET, &u_.v4.sin_addr, buf, sizeof buf);
    else
      ::inet_ntop(AF_INET6, &u_.v6.sin6_addr, buf, sizeof buf);
    // Appended piecewise: `"[" + std::string(buf)` trips a bogus GCC 12 -O3 -Wrestrict.
    std::string s;
    if (is_v6()) s += '[';
    s += buf;
    s += is_v6() ? "]:" : ":";
    s += std::to_string(port());
    return s;
  }

  const sockaddr* native() const noexcept { return &u_.any; }
  socklen_t native_size() const noexcept {
    return is_v6() ? sizeof(sockaddr_in6) : is_v4() ? sizeof(sockaddr_in) : 0;
  }

  // Same family, host and port (IPv6 flow info and scope are not compared).
  friend bool operator==(const address& a, const address& b) noexcept {
    if (a.family() != b.family() || a.port() != b.port()) return false;
    if (a.is_v4()) return a.u_.v4.sin_addr.s_addr == b.u_.v4.sin_addr.s_addr;
    if (a.is_v6()) return std::memcmp(&a.u_.v6.sin6_addr, &b.u_.v6.sin6_addr, 16) == 0;
    return true;
  }

 private:
  union {
    sockaddr any;
    sockaddr_in v4;
    sockaddr_in6 v6;
  } u_;
};

}  // namespace weft::net
