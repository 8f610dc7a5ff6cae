// The fiber control block and the hand-driven coroutine.
#include "fiber.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>

#include "overflow.hpp"

namespace weft::ctx {
namespace {

std::atomic<fiber::id_type> next_fiber_id{1};

// Ids are handed out in per-thread blocks: one shared RMW per 1024 fibers instead of a locked
// increment of one contended cache line on every spawn. Ids stay unique, not dense or ordered.
constexpr fiber::id_type id_block = 1024;
[[gnu::tls_model("initial-exec")]] thread_local fiber::id_type tl_next_id = 0;
[[gnu::tls_model("initial-exec")]] thread_local fiber::id_type tl_id_end = 0;

fiber::id_type new_fiber_id() noexcept {
  if (tl_next_id == tl_id_end) [[unlikely]] {
    // relaxed: ids only need to be unique; nothing is published with them.
    tl_next_id = next_fiber_id.fetch_add(id_block, std::memory_order_relaxed);
    tl_id_end = tl_next_id + id_block;
  }
  return tl_next_id++;
}

// The context running on this thread as far as coroutines know: the thread's own context until
// a coroutine is resumed on it. Null until the first resume on this thread; a trivially
// destructible initial-exec variable, so the hot path has no TLS init guard.
[[gnu::tls_model("initial-exec")]] thread_local context* tl_running = nullptr;

[[gnu::noinline]] context* first_resume_on_this_thread() noexcept {
  prepare_thread_for_fibers();
  thread_local context native;
  tl_running = &native;
  return &native;
}

}  // namespace

fiber::fiber(placement p, std::string_view name, entry_fn entry) noexcept
    : context(p.usable_top, p.stack.limit, entry),
      stack_(p.stack),
      id_(new_fiber_id()),
      name_len_(static_cast<std::uint8_t>(std::min(name.size(), name_capacity))) {
  if (name_len_ > 0) std::memcpy(name_, name.data(), name_len_);  // data() may be null
  name_[name_len_] = '\0';
}

const stack_header* fiber::header_of(const ctx::stack& s) noexcept {
  auto* h = reinterpret_cast<const stack_header*>(s.top() - sizeof(stack_header));
  return h->magic == stack_header::magic_value ? h : nullptr;
}

void fiber::check_stack_slow() const noexcept {
  if (saved_sp() < stack_.limit) report_overflow(*this, "stack pointer below its stack");
  if (!canary_intact(stack_)) report_overflow(*this, "canary overwritten, found at switch-out");
}

void coroutine::frame::entry(transfer* first) {
  auto* f = static_cast<frame*>(first->to);
  {
    self s(f, first->arg);
    try {
      if (!f->unwinding_) f->invoke(s);
    } catch (const forced_unwind&) {
      // The coroutine is being destroyed; its frames are now unwound.
    } catch (...) {
      f->error_ = std::current_exception();
    }
  }
  f->finished_ = true;
  transfer t{f, f->resumer_, nullptr, nullptr};
  context::exit_to(t);
}

void* coroutine::self::suspend(void* out) {
  frame* f = frame_;
  transfer t{f, f->resumer_, nullptr, out};
  const transfer in = context::switch_to(t);
  if (f->unwinding_) throw forced_unwind{};
  received_ = in.arg;
  return received_;
}

void* coroutine::resume(void* in) {
  if (frame_ == nullptr) throw std::logic_error("weft: resume() of a moved-from coroutine");
  if (frame_->finished_)
    throw std::logic_error("weft: resume() of coroutine #" + std::to_string(frame_->id()) +
                           " which has finished");
  if (frame_->running_)
    throw std::logic_error("weft: resume() of coroutine #" + std::to_string(frame_->id()) +
                           " from inside itself");
  context* from = tl_running != nullptr ? tl_running : first_resume_on_this_thread();
  frame_->resumer_ = from;
  frame_->started_ = frame_->running_ = true;
  tl_running = frame_;
  transfer t{from, frame_, nullptr, in};
  const transfer back = context::switch_to(t);
  tl_running = from;
  frame_->running_ = false;
  frame_->check_stack_after_switch_out();
  if (frame_->finished_ && frame_->error_)
    std::rethrow_exception(std::exchange(frame_->error_, {}));
  return back.arg;
}

bool coroutine::finished() const noexcept {
  return frame_ == nullptr || frame_->finished_;
}
fiber::id_type coroutine::id() const noexcept {
  return frame_->id();
}
std::string_view coroutine::name() const noexcept {
  return frame_->name();
}

coroutine::~coroutine() {
  if (frame_ == nullptr) return;
  if (frame_->started_ && !frame_->finished_) {
    frame_->unwinding_ = true;
    try {
      resume();
    } catch (...) {
      // A destructor that threw while unwinding; nowhere to report it but here.
      std::fputs("weft: exception while unwinding a destroyed coroutine\n", stderr);
    }
    if (!frame_->finished_) {
      std::fprintf(stderr,
                   "weft: coroutine #%llu swallowed forced_unwind (a catch (...) that does not "
                   "rethrow) and cannot be destroyed\n",
                   static_cast<unsigned long long>(frame_->id()));
      std::terminate();
    }
  }
  ctx::stack s = frame_->stack();
  stack_pool* pool = frame_->pool_;
  frame_->~frame();
  pool->release(s);
}

}  // namespace weft::ctx
