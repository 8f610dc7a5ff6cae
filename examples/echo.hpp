// The echo service shared by examples/echo_server and bench/echo_bench: the seed's Tokio echo
// server, whose connection task is
//
//   let mut buf = [0; 1024];
//   loop {
//       let n = socket.read(&mut buf).await?;  // 0: the client closed
//       if n == 0 { return; }
//       socket.write_all(&buf[0..n]).await?;
//   }
//
// written once over the model: a thread per connection on weft::os, a fiber per connection on
// weft::fiber. Plus the small flag parser the echo programs share.
#pragma once

#include <array>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <weft/model.hpp>

namespace examples {

template <weft::model M>
void echo_session(typename M::tcp_stream& s) {
  std::array<std::byte, 1024> buf;
  while (const std::size_t n = s.read(buf)) s.write_all(buf.data(), n);
}

// "--name=value" flags: value_of(arg, "--port=") gives "8080", or nullptr if arg is another flag.
inline const char* value_of(std::string_view arg, std::string_view prefix) {
  return arg.starts_with(prefix) ? arg.data() + prefix.size() : nullptr;
}

// A whole number from `text` in [lo, hi], or exit(2) with a message naming `flag`.
inline long long number_flag(const char* text, const char* flag, long long lo, long long hi) {
  char* end = nullptr;
  const long long v = std::strtoll(text, &end, 10);
  if (end == text || *end != '\0' || v < lo || v > hi) {
    std::fprintf(stderr, "%s=%s: expected a whole number from %lld to %lld\n", flag, text, lo, hi);
    std::exit(2);
  }
  return v;
}

}  // namespace examples
