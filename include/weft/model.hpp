// weft::model — what a concurrency model provides, as one C++20 concept.
//
// weft has two models with one vocabulary: weft::os (1:1, one std::thread per task) and
// weft::fiber (M:N, stackful fibers over a work-stealing runtime). Each model exposes a tag
// type, `weft::os::model` / `weft::fiber::model`, whose static members forward to the model's
// namespace. Generic code — tests, benchmarks, examples — is written once as a template over
// `weft::model M` and instantiated for both:
//
//   template <weft::model M> int sum_in_task() {
//     auto h = M::spawn([] { return 1 + 2; });
//     return h.join();
//   }
//
// This header is standard-library only: the 1:1 side includes it, so it must never pull in
// anything of fiber/ or scheduler/.
#pragma once

#include <chrono>
#include <compare>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <utility>

#include <weft/channel/vocabulary.hpp>
#include <weft/net/vocabulary.hpp>
#include <weft/sync/vocabulary.hpp>

namespace weft {

// Options for spawning one task. Fields a model cannot honour are documented by that model
// (weft::os ignores stack_size and pinned: std::thread offers neither).
struct spawn_options {
  std::string name;            // shown in diagnostics (terminate-on-drop, crash reports)
  std::size_t stack_size = 0;  // 0: the model's default
  bool pinned = false;         // fibers: never migrate to another worker
};

// A task's identity: a small process-unique number, never reused; 0 means "no task". One
// type per model (Tag), so an os id never compares equal to a fiber id by accident.
// Comparable, hashable (std::hash), and printed as the bare number.
template <class Tag>
class basic_id {
 public:
  constexpr basic_id() noexcept = default;
  constexpr explicit basic_id(std::uint64_t value) noexcept : value_(value) {}
  [[nodiscard]] constexpr std::uint64_t value() const noexcept { return value_; }
  friend constexpr bool operator==(basic_id, basic_id) noexcept = default;
  friend constexpr auto operator<=>(basic_id, basic_id) noexcept = default;
  template <class CharT, class Traits>
  friend std::basic_ostream<CharT, Traits>& operator<<(std::basic_ostream<CharT, Traits>& out,
                                                       basic_id id) {
    return out << id.value_;
  }

 private:
  std::uint64_t value_ = 0;
};

namespace model_detail {
// Callables used only to probe the concept in unevaluated context.
struct returns_int {
  int operator()() const { return 0; }
};
struct returns_void {
  void operator()() const {}
};
}  // namespace model_detail

// The concept every model satisfies. It names the task vocabulary; later layers (sync/,
// channel/) add their names to the model tags and to this concept as they land.
template <class M>
concept model = requires(std::chrono::nanoseconds d, std::chrono::steady_clock::time_point t,
                         model_detail::returns_int fi, model_detail::returns_void fv,
                         spawn_options opts) {
  typename M::template join_handle<int>;
  typename M::template join_handle<void>;
  typename M::id;
  { M::name } -> std::convertible_to<const char*>;
  { M::spawn(fi) } -> std::same_as<typename M::template join_handle<int>>;
  { M::spawn(fv) } -> std::same_as<typename M::template join_handle<void>>;
  { M::spawn(opts, fi) } -> std::same_as<typename M::template join_handle<int>>;
  { M::yield() } -> std::same_as<void>;
  { M::sleep_for(d) } -> std::same_as<void>;
  { M::sleep_until(t) } -> std::same_as<void>;
  { M::current_id() } -> std::same_as<typename M::id>;
  requires std::equality_comparable<typename M::id>;
  requires std::movable<typename M::template join_handle<int>>;
  requires !std::copyable<typename M::template join_handle<int>>;
  requires chan::channel_vocabulary<M>;  // channel/vocabulary.hpp
  requires sync::sync_vocabulary<M>;     // sync/vocabulary.hpp
  requires net::socket_vocabulary<M>;    // net/vocabulary.hpp
};

}  // namespace weft

template <class Tag>
struct std::hash<weft::basic_id<Tag>> {
  std::size_t operator()(weft::basic_id<Tag> id) const noexcept {
    return std::hash<std::uint64_t>{}(id.value());
  }
};
