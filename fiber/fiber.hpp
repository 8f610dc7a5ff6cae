// A fiber: a context plus the stack it runs on, with its control block at the top of that stack
// (emplace) or apart from it (emplace_apart: the scheduler's tasks, see task_memory.hpp).
//
// Memory layout of one fiber stack (addresses grow upwards):
//
//     top  ->  stack_header   {magic, owner}  fixed place: the overflow handler finds it from the
//                                             faulting stack alone
//              T : fiber      the control block (a coroutine's frame; a task's lives apart)
//              ...            the fiber's own frames, growing down
//     limit -> [canary word just below, in the lower neighbour's reserved top bytes, on
//               canary-protected stacks; a guard page below, on guard-protected stacks]
//
// So creating a fiber is a pooled stack (and, for a task, a pooled block) plus a placement-new:
// no heap allocation on the hot path.
//
// This file also holds `coroutine`, a fiber driven by hand (resume until it suspends or ends),
// used by tests, benchmarks and generators; the scheduler builds its tasks on `fiber` directly.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <new>
#include <string_view>
#include <type_traits>
#include <utility>

#include "context.hpp"
#include "stack.hpp"

namespace weft::ctx {

class fiber;

struct stack_header {
  static constexpr std::uint64_t magic_value = 0x7765667466696272ull;  // "weftfibr"
  std::uint64_t magic;
  fiber* owner;
};

// Where a T is constructed on a fiber stack; handed to fiber's constructor.
struct placement {
  ctx::stack stack;
  void* usable_top;  // the fiber's frames start below this address (16-byte aligned)
};

class fiber : public context {
 public:
  using id_type = std::uint64_t;
  static constexpr std::size_t name_capacity = 47;

  id_type id() const noexcept { return id_; }
  // The name given at creation, truncated to name_capacity bytes; empty if none.
  std::string_view name() const noexcept { return {name_, name_len_}; }
  const ctx::stack& stack() const noexcept { return stack_; }

  // Aborts with the overflow message if this fiber's stack is found overflowed: its canary is
  // gone, or its saved stack pointer lies below the stack. Call on a suspended fiber at every
  // switch-out; it is a compare or two for guard-page stacks.
  void check_stack_after_switch_out() const noexcept {
    if (stack_.protection == stack_protection::canary || saved_sp() < stack_.limit) [[unlikely]]
      check_stack_slow();
  }

  // Constructs a T (derived from fiber) at the top of `s`. T's constructor takes a `placement`
  // first and passes it on to fiber's constructor. Never throws unless T's constructor does;
  // then `s` is left to the caller.
  template <class T, class... Args>
  static T* emplace(ctx::stack s, Args&&... args) {
    static_assert(std::is_base_of_v<fiber, T>);
    static_assert(alignof(T) <= 64, "a control block is aligned to at most 64 bytes");
    auto top = reinterpret_cast<std::uintptr_t>(s.top()) - sizeof(stack_header);
    auto at = (top - sizeof(T)) & ~std::uintptr_t{63};
    void* usable_top = reinterpret_cast<void*>((at - color_offset(s)) & ~std::uintptr_t{15});
    T* t = ::new (reinterpret_cast<void*>(at))
        T(placement{s, usable_top}, std::forward<Args>(args)...);
    ::new (reinterpret_cast<void*>(top)) stack_header{stack_header::magic_value, t};
    return t;
  }

  // Constructs a T (derived from fiber) in `storage` — sizeof(T) bytes, 64-byte aligned, owned
  // by the caller — to run on `s`; only the stack header is written at the top of `s`. The
  // block then outlives the stack if its owner wants (the scheduler releases a task's stack when
  // the fiber ends and its block when it is joined). Throws what T's constructor throws; then
  // `s` and `storage` are left to the caller.
  template <class T, class... Args>
  static T* emplace_apart(void* storage, ctx::stack s, Args&&... args) {
    static_assert(std::is_base_of_v<fiber, T>);
    auto top = reinterpret_cast<std::uintptr_t>(s.top()) - sizeof(stack_header);
    void* usable_top = reinterpret_cast<void*>((top - color_offset(s)) & ~std::uintptr_t{15});
    T* t = ::new (storage) T(placement{s, usable_top}, std::forward<Args>(args)...);
    ::new (reinterpret_cast<void*>(top)) stack_header{stack_header::magic_value, t};
    return t;
  }

  // Cache colouring: how far below its top a stack's frames start, 0 to 960 bytes in steps of a
  // cache line, fixed per stack (a hash of its address). Stacks are page-aligned, so without it
  // the hot top frames of every fiber share the same offsets within their pages and compete for
  // the same few sets of the L1 and L2 caches (index bits below 4 KiB are the offset): 1,000
  // parked fibers' top 512 bytes would fight over an eighth of the L2. The cost is under 1 KiB of
  // each stack's reserve; the frames still end within the stack's top page for shallow fibers.
  static std::uintptr_t color_offset(const ctx::stack& s) noexcept {
    const auto page = static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(s.top()) >> 12);
    return std::uintptr_t{((page * 0x9E3779B1u) >> 28) & 15u} * 64;
  }

  // The header at the top of `s`, or nullptr if `s` holds no fiber.
  static const stack_header* header_of(const ctx::stack& s) noexcept;

 protected:
  fiber(placement p, std::string_view name, entry_fn entry) noexcept;
  ~fiber() = default;

 private:
  void check_stack_slow() const noexcept;

  ctx::stack stack_;
  id_type id_;
  char name_[name_capacity + 1];
  std::uint8_t name_len_;
};

// A fiber driven by hand. resume() runs it on the calling thread until it calls suspend() or
// its function returns. Values pass each way as void*: resume(in) is what suspend() returns
// inside, suspend(out) is what resume() returns outside.
//
//   ctx::coroutine gen([](ctx::coroutine::self& self) {
//     for (std::uintptr_t i = 0; i < 3; ++i) self.suspend(reinterpret_cast<void*>(i));
//   });
//   while (!gen.finished()) gen.resume();
class coroutine {
 public:
  class self;

  struct options {
    std::string_view name = {};
    std::size_t stack_size = 0;  // 0: default_stack_size
    stack_pool* pool = nullptr;  // nullptr: stack_pool::global()
  };

  // Prepares `fn(self&)` on a pooled stack; nothing runs until resume(). Throws
  // std::invalid_argument for a stack size below min_stack_size.
  template <class F>
  explicit coroutine(F&& fn, const options& opt = {});

  // If the coroutine is suspended mid-way, it is resumed once with a forced unwind: the
  // suspend() it waits in throws ctx::forced_unwind, so its destructors run. Then the stack goes
  // back to the pool.
  ~coroutine();

  coroutine(coroutine&& other) noexcept : frame_(std::exchange(other.frame_, nullptr)) {}
  coroutine& operator=(coroutine&&) = delete;

  // Runs the coroutine until it suspends (returns the value it passed) or ends (returns
  // nullptr). If its function ended by throwing, the exception is rethrown here. Blocks the
  // calling thread (or fiber) for as long as the coroutine runs.
  // Precondition: !finished(), and not already running. Violations throw std::logic_error.
  void* resume(void* in = nullptr);

  bool finished() const noexcept;
  fiber::id_type id() const noexcept;
  std::string_view name() const noexcept;

 private:
  struct frame;
  template <class F>
  struct frame_of;
  frame* frame_;
};

// Thrown out of self::suspend() when a suspended coroutine is destroyed; caught at the
// coroutine's base. Code that catches (...) inside a coroutine must rethrow it.
struct forced_unwind {};

struct coroutine::frame : fiber {
  frame(placement p, std::string_view name, stack_pool* pool) noexcept
      : fiber(p, name, &frame::entry), pool_(pool) {}
  virtual ~frame() = default;
  virtual void invoke(coroutine::self& s) = 0;

  static void entry(transfer* first);

  stack_pool* pool_;
  context* resumer_ = nullptr;  // who to switch back to on suspend / end
  std::exception_ptr error_;
  bool started_ = false;
  bool running_ = false;
  bool finished_ = false;
  bool unwinding_ = false;
};

class coroutine::self {
 public:
  // Switches back to whoever called resume(); returns the value of the next resume(in).
  // Throws forced_unwind if the coroutine is being destroyed.
  void* suspend(void* out = nullptr);
  // The value carried by the latest resume(in): the first one's, before any suspend().
  void* received() const noexcept { return received_; }
  fiber::id_type id() const noexcept { return frame_->id(); }
  std::string_view name() const noexcept { return frame_->name(); }
  const ctx::stack& stack() const noexcept { return frame_->stack(); }

 private:
  friend struct coroutine::frame;
  self(frame* f, void* first) : frame_(f), received_(first) {}
  frame* frame_;
  void* received_;
};

template <class F>
struct coroutine::frame_of final : coroutine::frame {
  template <class G>
  frame_of(placement p, std::string_view name, stack_pool* pool, G&& g)
      : frame(p, name, pool), fn_(std::forward<G>(g)) {}
  void invoke(coroutine::self& s) override { fn_(s); }
  F fn_;
};

template <class F>
coroutine::coroutine(F&& fn, const options& opt) {
  using Fn = std::decay_t<F>;
  static_assert(std::is_invocable_v<Fn&, self&>, "a coroutine's function takes coroutine::self&");
  stack_pool* pool = opt.pool != nullptr ? opt.pool : &stack_pool::global();
  ctx::stack s = pool->allocate(opt.stack_size);
  try {
    frame_ = fiber::emplace<frame_of<Fn>>(s, opt.name, pool, std::forward<F>(fn));
  } catch (...) {
    pool->release(s);
    throw;
  }
}

}  // namespace weft::ctx
