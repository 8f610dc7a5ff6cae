// Context creation, the first-entry trampoline and the sanitizer annotations of every switch.
// The switch itself is inline in context.hpp.
#include "context.hpp"

#include <cxxabi.h>

#include <cstdio>
#include <cstdlib>

#if WEFT_ASAN
#include <sanitizer/common_interface_defs.h>
#endif
#if WEFT_TSAN
extern "C" {
void* __tsan_get_current_fiber(void);
void* __tsan_create_fiber(unsigned flags);
void __tsan_destroy_fiber(void* fiber);
void __tsan_switch_to_fiber(void* fiber, unsigned flags);
}
#endif

namespace weft::ctx {

namespace bc = boost::context::detail;

static_assert(sizeof(eh_state) == 2 * sizeof(void*), "eh_state mirrors __cxa_eh_globals");

namespace {
// This thread's record, looked up once: __cxa_get_globals() is a call into the shared C++
// runtime and a general-dynamic TLS access, a few nanoseconds on every switch otherwise.
[[gnu::tls_model("initial-exec")]] thread_local eh_state* tl_eh = nullptr;

eh_state* live_eh() noexcept {
  eh_state* live = tl_eh;
  if (live == nullptr) [[unlikely]]
    live = tl_eh = reinterpret_cast<eh_state*>(abi::__cxa_get_globals());
  return live;
}
}  // namespace

[[gnu::noipa]] eh_state context::take_eh() noexcept {
  return *live_eh();
}

[[gnu::noipa]] void context::put_eh(const eh_state& e) noexcept {
  *live_eh() = e;
}

context::context() noexcept {
#if WEFT_TSAN
  tsan_fiber_ = __tsan_get_current_fiber();
#endif
}

context::context(void* stack_top, void* stack_limit, entry_fn entry) noexcept : entry_(entry) {
  const auto size =
      static_cast<std::size_t>(static_cast<char*>(stack_top) - static_cast<char*>(stack_limit));
  fctx_ = bc::make_fcontext(stack_top, size, &context::trampoline);
#if WEFT_ASAN
  asan_bottom_ = stack_limit;
  asan_size_ = size;
#endif
#if WEFT_TSAN
  tsan_fiber_ = __tsan_create_fiber(0);
  tsan_owned_ = true;
#endif
}

context::~context() {
#if WEFT_TSAN
  if (tsan_owned_) __tsan_destroy_fiber(tsan_fiber_);
#endif
}

void context::trampoline(bc::transfer_t t) noexcept {
  transfer first = arrive(t, eh_state{});  // a new context has caught nothing yet
  first.to->entry_(&first);
  // entry_ ends in exit_to(); returning would run off the top of the stack.
  std::fputs("weft: a fiber entry function returned instead of switching away\n", stderr);
  std::abort();
}

void context::exit_to(transfer& t) noexcept {
  // The departing record is dropped (its handlers have all ended); the arriving side puts its
  // own back.
#if WEFT_ASAN || WEFT_TSAN
  before_switch(*t.from, *t.to, true);
#endif
  bc::jump_fcontext(t.to->fctx_, &t);
  std::fputs("weft: an exited fiber was resumed\n", stderr);
  std::abort();
}

void context::before_switch([[maybe_unused]] context& from, [[maybe_unused]] context& to,
                            [[maybe_unused]] bool from_exits) noexcept {
#if WEFT_ASAN
  // A null save slot tells ASan the departing stack is gone for good, freeing its fake frames.
  __sanitizer_start_switch_fiber(from_exits ? nullptr : &from.asan_fake_stack_, to.asan_bottom_,
                                 to.asan_size_);
#endif
#if WEFT_TSAN
  // Flag 0: the switch itself is a synchronisation point, as it is for the hardware.
  __tsan_switch_to_fiber(to.tsan_fiber_, 0);
#endif
}

void context::after_switch([[maybe_unused]] transfer& t) noexcept {
#if WEFT_ASAN
  const void* old_bottom = nullptr;
  std::size_t old_size = 0;
  __sanitizer_finish_switch_fiber(t.to->asan_fake_stack_, &old_bottom, &old_size);
  // A thread's own context learns its stack bounds here, the first time it is left.
  t.from->asan_bottom_ = old_bottom;
  t.from->asan_size_ = old_size;
#endif
}

}  // namespace weft::ctx
